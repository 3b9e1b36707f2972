"""Calibration of posted menus to the discrete single-model screening model (issue 15, analytic part).

Equation references are to BBS (2026) and to (C1)-(C7) of mechdesign/analytic/calibration/core.py.
"""

from __future__ import annotations

import argparse
import ast
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize

import mechdesign as md
from mechdesign.analytic import calibration as cal
from mechdesign.analytic import leader_fringe as md_lf
from mechdesign.app import calibrate as calibrate_cli
from mechdesign.exceptions import ProblemSpecError

ROOT = Path(__file__).resolve().parents[1]
OBSERVED = ROOT / "problems" / "observed"
MENU_FILES = sorted(p for p in OBSERVED.glob("*.toml") if not p.name.startswith("api-"))
#: recovery of primitives from a forward-solved menu (issue acceptance: 1e-8 relative)
RECOVER_RTOL = 1e-8
#: capped two-part tariffs against the direct menu under the simulator (issue acceptance: 1e-9)
TARIFF_RTOL = 1e-9


def _regular_primitives(
    K: int, top: float, u_phi: list[float], u_th: list[float]
) -> tuple[np.ndarray, np.ndarray]:
    """Types and masses whose discrete virtual values are increasing and positive (no ironing, no exclusion).

    Built downward from theta_K = phi_K: phi_k = u phi_{k+1} and theta_k in (phi_k, theta_{k+1}); the masses
    follow from the discrete eq. (11), phi_k = theta_k - (theta_{k+1} - theta_k) S_{k+1} / f_k.
    """
    theta, phi = np.empty(K), np.empty(K)
    theta[-1] = phi[-1] = top
    for k in range(K - 2, -1, -1):
        phi[k] = u_phi[k] * phi[k + 1]
        theta[k] = phi[k] + u_th[k] * (theta[k + 1] - phi[k])
    S = np.empty(K)
    S[-1] = 1.0
    f = np.empty(K)
    f[-1] = 1.0
    for k in range(K - 2, -1, -1):
        f[k] = (theta[k + 1] - theta[k]) * S[k + 1] / (theta[k] - phi[k])
        S[k] = S[k + 1] + f[k]
    f = f / f.sum()
    # independent check with the package's discrete virtual values (eq. 11)
    np.testing.assert_allclose(md.DiscreteTypes(theta, f).virtual_values(), phi, rtol=1e-10)
    return theta, f


@st.composite
def primitives(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, float, float, float]:
    K = draw(st.integers(2, 8))
    u = st.floats(0.2, 0.9)
    theta, f = _regular_primitives(
        K,
        draw(st.floats(0.2, 20.0)),
        [draw(u) for _ in range(K - 1)],
        [draw(st.floats(0.25, 0.9)) for _ in range(K - 1)],
    )
    sigma_total = draw(st.floats(0.1, 0.9))
    c = draw(st.floats(0.1, 10.0))
    unit_cost = 10.0 ** draw(st.floats(-4.0, 3.0))  # USD of marginal cost per allowance unit (lambda)
    return theta, f, sigma_total, c, unit_cost


@settings(deadline=None, derandomize=True, max_examples=40)
@given(primitives())
def test_forward_menu_calibrates_back_to_its_primitives(prim: tuple) -> None:
    theta, f, s, c, lam = prim
    tech = md.cobb_douglas([s], [c])  # C(Q) = c Q^(1/s): Lemma 3 with b = 1/s, C0 = c
    out = md.SingleModelProblem(tech, md.DiscreteTypes(theta, f)).solve()
    assert out.status == "optimal"
    # posted as a maximum-spend menu (Def 1): allowance = budget C(Q_k) in units worth lam USD of cost each
    menu = cal.ObservedMenu.from_tiers("forward", out.transfer, tech.cost(out.quality) / lam, unit="points")
    res = cal.calibrate(menu, 1.0 / s, C0=c)
    assert res.consistent, res.verdict()
    np.testing.assert_allclose(res.theta, theta, rtol=RECOVER_RTOL)  # (C2)
    np.testing.assert_allclose(res.masses, f, rtol=RECOVER_RTOL)  # (C6)
    assert res.cost_scale == pytest.approx(lam, rel=RECOVER_RTOL)  # (C4)
    np.testing.assert_allclose(res.quality, out.quality, rtol=RECOVER_RTOL)  # (C1)
    # and the forward solve of the calibrated primitives returns the posted menu (round trip)
    rt = calibrate_cli.round_trip(res)
    assert rt["ok"], rt


def _consistent_menu(K: int = 4, s: float = 0.5) -> tuple[cal.ObservedMenu, np.ndarray, np.ndarray]:
    theta, f = _regular_primitives(K, 2.0, [0.6] * (K - 1), [0.5] * (K - 1))
    tech = md.cobb_douglas([s], [1.0])
    dm = md.discrete_menu(tech, md.DiscreteTypes(theta, f))
    menu = cal.ObservedMenu.from_tiers(
        "synthetic", dm.transfer, tech.cost(dm.quality), unit="USD of marginal cost"
    )
    return menu, theta, f


def test_ic_violation_names_the_tier() -> None:
    menu, _, _ = _consistent_menu()
    b = 2.0
    assert cal.calibrate(menu, b).consistent
    T, A = menu.fees.copy(), menu.allowances
    a = A ** (1 / b)
    # raise T_3 by eps so that theta_4 / theta_3 = 0.8 (theta_k ∝ dT_k / da_k, (C2)); solve for eps
    d3, d4 = a[2] - a[1], a[3] - a[2]
    eps = optimize.brentq(
        lambda e: ((T[3] - T[2] - e) / d4) / ((T[2] - T[1] + e) / d3) - 0.8, 0.0, T[3] - T[2]
    )
    T[2] += eps
    res = cal.calibrate(cal.calibrate_fees(menu, T), b)
    assert not res.consistent
    ic = [r for r in res.failures if r.kind == "ic"]
    assert [r.tier for r in ic] == ["Tier 4"]
    assert ic[0].shortfall == pytest.approx(0.2, rel=1e-9)
    assert "Tier 4" in res.verdict() and "IC fails" in res.verdict()
    # the nearest consistent menu (in fees) passes every restriction of (C7)
    assert res.nearest is not None
    assert cal.calibrate(cal.calibrate_fees(menu, res.nearest.fees), b).consistent


def test_given_cost_scale_tests_no_distortion_at_the_top() -> None:
    menu, _, _ = _consistent_menu()  # allowances in USD of marginal cost: true lambda = 1
    assert cal.calibrate(menu, 2.0, cost_scale=1.0).consistent  # eq. (12) at the top holds
    res = cal.calibrate(menu, 2.0, cost_scale=2.0)
    top = [r for r in res.failures if r.kind == "top"]
    assert top and top[0].tier == "Tier 4"


def test_constant_unit_price_is_never_optimal() -> None:
    # (C7) corollary: with T_k = p A_k the bottom markup is (1 - rho^(1/b)) / (1 - rho) < 1 for every b
    menu = cal.ObservedMenu.from_tiers(
        "linear", [2.0, 5.0, 20.0, 60.0], [1.0, 2.5, 10.0, 30.0], unit="points"
    )
    assert cal.identified_set(menu).empty
    for b in (1.2, 2.0, 5.0):
        res = cal.calibrate(menu, b)
        rho = 10.0 / 30.0
        assert res.m[0] == pytest.approx((1 - rho ** (1 / b)) / (1 - rho), rel=1e-12)
        assert any(r.kind == "distortion" and r.tier == "Tier 1" for r in res.failures)


def test_identified_set_copilot_paid_tiers_matches_closed_form() -> None:
    menu = cal.load_observed(OBSERVED / "github-copilot-2026.toml").paid_tiers()
    iset = cal.identified_set(menu)
    # Pro $10/300, Pro+ $39/1500: m_1 = (50/29)(1 - 0.2^s) > 1 and theta_2 > theta_1 <=> 5^s < 3.9
    lo, hi = math.log(21 / 50) / math.log(0.2), math.log(3.9) / math.log(5.0)
    assert len(iset.intervals_sigma_total) == 1
    assert iset.intervals_sigma_total[0] == pytest.approx((lo, hi), abs=1e-10)


def test_identified_set_anthropic_matches_closed_form() -> None:
    menu = cal.load_observed(OBSERVED / "anthropic-claude-2026-01.toml")
    iset = cal.identified_set(menu)
    # $20/1, $100/5, $200/20: m_1 = 4 (1 - 0.25^s) > 1; theta_3 > theta_2 <=> 100 (5^s - 1) > 80 (20^s - 5^s)
    lo = math.log(0.75) / math.log(0.25)
    hi = optimize.brentq(lambda s: 100 * (5**s - 1) - 80 * (20**s - 5**s), 0.22, 0.5, xtol=1e-14)
    assert iset.intervals_sigma_total == [pytest.approx((lo, hi), abs=1e-10)]


@pytest.mark.parametrize("path", MENU_FILES, ids=lambda p: p.stem)
def test_each_observed_menu_calibrates_with_a_verdict(path: Path) -> None:
    menu = cal.load_observed(path)
    assert menu.source and menu.effective_date and menu.unit_conversion
    assert all(t.source and t.effective_date for t in menu.tiers)
    unknown = [t.name for t in menu.tiers if t.allowance is None]
    if unknown:
        with pytest.raises(ProblemSpecError, match=unknown[0]):
            cal.calibrate(menu)
        aset = cal.allowance_identified_set(menu)
        assert aset.tier == unknown[0] and not aset.empty
        a, z = aset.intervals[0]  # an explicit assumption inside the identified set over the allowance
        menu = menu.with_allowances({unknown[0]: math.sqrt(a * z)})
    res = cal.calibrate(menu)
    assert res.verdict().startswith("CONSISTENT" if res.consistent else "INCONSISTENT")
    assert res.identified is not None
    assert res.consistent == (not res.identified.empty)
    if res.consistent:
        err = cal.round_trip_analytic(res)
        assert max(err.values()) < 1e-10
    else:
        assert res.failures and res.nearest is not None


def test_poe_and_copilot_verdicts() -> None:
    poe = cal.calibrate(cal.load_observed(OBSERVED / "poe-2025.toml"))
    assert poe.identified is not None and poe.identified.empty  # no b makes Table 1 optimal
    assert any(r.kind == "distortion" and r.tier == "Basic" for r in poe.failures)
    cop = cal.calibrate(cal.load_observed(OBSERVED / "github-copilot-2026.toml"), 2.0)
    assert [r.tier for r in cop.failures if r.kind == "ir"] == ["Free"]  # a free tier violates eq. (13)'s IR


def test_counterfactuals_consistent_menu() -> None:
    menu = cal.load_observed(OBSERVED / "github-copilot-credits-2026-06.toml")
    res = cal.calibrate(menu)
    tech, types = res.primitives()
    # the exhaustive K-item block search recovers the calibrated optimum (an independent check of Prop 3)
    best = cal.best_item_menu(tech, types.theta, types.prob, menu.K)
    assert best.profit == pytest.approx(res.profit, rel=1e-10)
    np.testing.assert_allclose(best.transfer, res.fees, rtol=1e-10)
    table, details = cal.counterfactuals(res)
    row = table.set_index("scheme")
    assert row.loc[f"optimal {menu.K - 1} tiers", "profit"] < res.profit
    assert row.loc["one linear price", "profit"] < row.loc["one two-part tariff", "profit"] < res.profit
    lin = cal.linear_price(tech, types.theta, types.prob)
    assert lin["markup"] == pytest.approx(res.cost_exponent, rel=1e-6)  # optimal uniform markup = b
    assert row.loc["maximum spend (Def 1)", "exact"]
    assert row.loc["two-part tariffs, capped (floor)", "exact"]
    assert not row.loc["two-part tariffs, no caps (markup)", "exact"]
    ov = details["overage"]
    assert ov["implied_min_spend_overage_usd_per_unit"]["Pro"] == pytest.approx(
        10 / 1500
    )  # r_k lambda = T_k/A_k
    assert ov["posted_overage_usd_per_unit"] == 0.01


@pytest.mark.parametrize("name", ["single_model_cobb_douglas", "single_model_beta", "single_model_ironing"])
def test_capped_two_part_tariffs_reproduce_shipped_menus(name: str) -> None:
    prob = md.load_problem(ROOT / "problems" / f"{name}.toml")
    out = prob.solve()
    assert out.status == "optimal"
    tech, th, f = prob.technology, out.menu["theta"].to_numpy(), out.menu["prob"].to_numpy()
    Q, T = out.quality, out.transfer
    # floor pricing: the cap binds for every served type, so the direct menu's IC/IR carry over exactly
    rep = cal.reproduces(
        cal.two_part_items(tech, th, Q, T, capped=True, pricing="floor"), tech, th, f, Q, T, rtol=TARIFF_RTOL
    )
    assert rep.exact and max(rep.quality_error, rep.payment_error) <= TARIFF_RTOL
    # plain two-part tariffs cannot: type k+1 strictly prefers tariff k, buying beyond Q_k
    plain = cal.reproduces(
        cal.two_part_items(tech, th, Q, T, capped=False, pricing="markup"), tech, th, f, Q, T
    )
    assert not plain.exact
    markup = cal.reproduces(
        cal.two_part_items(tech, th, Q, T, capped=True, pricing="markup"), tech, th, f, Q, T, rtol=TARIFF_RTOL
    )
    items, _, idx = cal._menu_items(Q, T)
    m = th[idx] / tech.marginal_cost(items)  # eq. (14) at each item's lowest type
    if np.all(np.diff(m) <= 0):  # Prop 4's condition: markups non-increasing -> exact with p_k = m_k
        assert markup.exact


def _write(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "menu.toml"
    p.write_text('[menu]\nname = "x"\nsource = "s"\neffective_date = "2026"\nunit_conversion = "u"\n' + body)
    return p


TIER = '[[tiers]]\nname = "{n}"\nfee = {f}\nallowance = {a}\nsource = "s"\neffective_date = "2026"\n'


@pytest.mark.parametrize(
    "body, field",
    [
        ('unit = "points"\n' + TIER.format(n="Lo", f=20, a=100) + TIER.format(n="Hi", f=10, a=200), "'Lo'"),
        ('unit = "points"\n' + TIER.format(n="Lo", f=5, a=0) + TIER.format(n="Hi", f=10, a=200), "'Lo'"),
        ('unit = "furlongs"\n' + TIER.format(n="Lo", f=5, a=1) + TIER.format(n="Hi", f=10, a=2), "menu.unit"),
        ('unit = "points"\n' + TIER.format(n="Only", f=5, a=1), "menu.tiers"),
        ('unit = "points"\n' + TIER.format(n="Lo", f=5, a=100) + TIER.format(n="Hi", f=10, a=100), "'Hi'"),
        ('unit = "points"\n[[tiers]]\nname = "Lo"\nfee = 5\nallowance = 1\n', "source"),
    ],
    ids=["dominated", "zero-allowance", "unknown-unit", "one-tier", "equal-allowance", "no-source"],
)
def test_bad_input_raises_problem_spec_error(tmp_path: Path, body: str, field: str) -> None:
    with pytest.raises(ProblemSpecError) as exc:
        cal.calibrate(cal.load_observed(_write(tmp_path, body)), 2.0)
    assert field in exc.value.field
    assert field.strip("'") in str(exc.value)


def test_bad_options_raise() -> None:
    menu, _, _ = _consistent_menu()
    with pytest.raises(ProblemSpecError, match="cost_exponent"):
        cal.calibrate(menu, 0.8)  # b = 1/(sigma + sigma_hat) > 1
    with pytest.raises(ProblemSpecError):
        cal.calibrate(menu, 2.0, sigma_total=0.5)
    with pytest.raises(ProblemSpecError, match="unit"):
        cal.ObservedMenu.from_tiers("x", [1, 2], [1, 2], unit="furlongs")


def test_api_prices_are_token_class_costs() -> None:
    prices = cal.load_api_prices(OBSERVED / "api-prices-2025-01.toml")
    assert len(prices) == 8 and set(prices["provider"]) == {"OpenAI", "Anthropic", "Google"}
    np.testing.assert_allclose(cal.api_costs(prices, "GPT-4o"), [2.5e-6, 10e-6])
    tech = cal.api_technology(prices, "Claude 3 Opus")
    np.testing.assert_allclose(tech.c, [15e-6, 75e-6])
    with pytest.raises(ProblemSpecError):
        cal.load_observed(OBSERVED / "api-prices-2025-01.toml")


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mechdesign")
    calibrate_cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["calibrate", *argv])
    return args.func(args)


def test_cli_codes_and_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = {k: tmp_path / f"r.{k}" for k in ("json", "csv", "png")}
    code = _cli(
        [
            str(OBSERVED / "anthropic-claude-2026-01.toml"),
            "--json",
            str(out["json"]),
            "--csv",
            str(out["csv"]),
            "--plot",
            str(out["png"]),
        ]
    )
    assert code == 0 and all(p.stat().st_size > 0 for p in out.values())
    assert "CONSISTENT" in capsys.readouterr().out
    assert _cli([str(OBSERVED / "poe-2025.toml"), "--cost-exponent", "2"]) == 1
    assert _cli([str(OBSERVED / "openai-chatgpt-2026-01.toml"), "--allowance", "Pro=20"]) == 0
    bad = tmp_path / "bad.json"
    with pytest.raises(ProblemSpecError, match="Pro"):
        _cli([str(OBSERVED / "openai-chatgpt-2026-01.toml"), "--allowance", "Pro=-3", "--json", str(bad)])
    assert not bad.exists()  # outputs are written only after everything succeeded


def test_openai_allowance_identified_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    menu = cal.load_observed(OBSERVED / "openai-chatgpt-2026-01.toml")
    aset = cal.allowance_identified_set(menu)
    assert aset.tier == "Pro" and len(aset.intervals) == 1
    lo, hi = aset.intervals[0]
    # closed form (Plus 20/1, Pro 200/M, s = sigma + sigma_hat): m_1 = (M/9)(1 - M^-s) > 1, IC M^s < 10;
    # the scan stops at s = 0.99, so the lower end solves M (1 - M^-0.99) = 9
    assert lo == pytest.approx(
        optimize.brentq(lambda M: M * (1 - M**-0.99) - 9, 9.5, 20, xtol=1e-14), rel=1e-9
    )
    assert 10 < lo < 10.1 and hi == aset.hi
    # at b = 2: M - sqrt(M) > 9 and sqrt(M) < 10
    assert aset.intervals_at_b == [pytest.approx((((1 + math.sqrt(37)) / 2) ** 2, 100.0), rel=1e-9)]
    # consistent with the --allowance path: just inside the set consistent, just outside not
    for M, ok in ((lo * (1 + 1e-6), True), (lo * (1 - 1e-6), False), (150.0, True), (5.0, False)):
        res = cal.calibrate(menu.with_allowances({"Pro": M}))
        assert res.consistent == ok, (M, res.verdict())
    for M, ok in ((12.5414 * 1.001, True), (12.5414 * 0.999, False), (99.9, True), (100.1, False)):
        assert cal.calibrate(menu.with_allowances({"Pro": M}), 2.0).consistent == ok, M
    out = {k: tmp_path / f"m.{k}" for k in ("json", "csv", "png")}
    args = [str(OBSERVED / "openai-chatgpt-2026-01.toml")]
    assert _cli([*args, "--json", str(out["json"]), "--csv", str(out["csv"]), "--plot", str(out["png"])]) == 0
    assert all(p.stat().st_size > 0 for p in out.values())
    text = capsys.readouterr().out
    assert "identified set over the unpublished allowance of tier 'Pro'" in text and "10.02" in text
    assert "Publishing" in text  # which assumption pins it down
    assert _cli([*args, "--allowance", "Pro=20"]) == 0  # the explicit assumption still calibrates


def test_multimodel_counterfactual() -> None:
    menu = cal.load_observed(OBSERVED / "openai-chatgpt-2026-01.toml").with_allowances({"Pro": 20.0})
    res = cal.calibrate(menu)
    # a prohibitively costly second model: Prop 6's menu is the calibrated single-model menu (Prop 3)
    mm = cal.multimodel_counterfactual(res, kappa_ratio=1e9)
    tiers = mm["tiers"]
    np.testing.assert_allclose(tiers["quality"], res.quality, rtol=1e-9)
    np.testing.assert_allclose(tiers["fee"], res.fees, rtol=1e-9)
    assert mm["profit"] == pytest.approx(res.profit, rel=1e-9) and mm["moved"] == []
    # a cheaper capable model: independent check, Prop 5 on the ironed discrete virtual values by hand
    mm = cal.multimodel_counterfactual(res, 0.1, 0.8)
    _tech, types = res.primitives()
    phi = types.virtual_values()
    d = np.array([res.sigma_total, res.sigma_total + 0.1])
    kap = np.array([res.C0, 0.8 * res.C0])
    u = (
        (1 - d[:, None])
        * (d[:, None] / kap[:, None]) ** (d[:, None] / (1 - d[:, None]))
        * phi ** (1 / (1 - d[:, None]))
    )
    pick = u.argmax(axis=0)
    Q = (phi * d[pick] / kap[pick]) ** (d[pick] / (1 - d[pick]))
    np.testing.assert_allclose(mm["tiers"]["quality"], Q, rtol=1e-12)
    fee = types.theta * Q - np.concatenate([[0.0], np.cumsum(np.diff(types.theta) * Q[:-1])])
    cost = np.min(kap[:, None] * Q ** (1 / d[:, None]), axis=0)
    assert mm["profit"] == pytest.approx(float(types.prob @ (fee - cost)), rel=1e-12)
    assert mm["moved"] == ["Pro"] and mm["profit"] > res.profit
    table, _details = cal.counterfactuals(res, kappa_ratio=0.8)
    assert "Pro" in table.set_index("scheme").loc["multi-model menu (Prop 6)", "note"]


def test_fringe_counterfactual() -> None:
    menu = cal.load_observed(OBSERVED / "openai-chatgpt-2026-01.toml").with_allowances({"Pro": 20.0})
    res = cal.calibrate(menu)
    # a prohibitively costly fringe: the leader's menu is the monopoly (calibrated) menu
    fr = cal.fringe_counterfactual(res, c_F_ratio=1e30)
    np.testing.assert_allclose(fr["tiers"]["leader_quality"], res.quality, rtol=1e-6)
    np.testing.assert_allclose(fr["tiers"]["fee"], res.fees, rtol=1e-6)
    assert fr["profit_share"] == pytest.approx(1.0, abs=1e-6) and fr["served"] == ["Plus", "Pro"]
    # the answer does not depend on the unit of quality used inside (c_F < c_L needs no rescale at 0.9)
    for ratio in (0.9, 30.0):
        fr = cal.fringe_counterfactual(res, c_F_ratio=ratio)
        assert fr["monotone"]
        sig, d = fr["assumptions"]["sigma"], res.sigma_total
        alpha = 1.0 if ratio < 1 else fr["assumptions"]["unit_rescale"]
        lf = md_lf.LeaderFringe(
            sig, d - sig, res.C0 * alpha**-res.cost_exponent, ratio * res.C0 * alpha ** (-1 / sig)
        )
        # independent: payoff net of the fringe option at the posted monopoly menu is below the posted rent
        q = np.asarray(fr["tiers"]["leader_quality"]) ** res.cost_exponent * alpha**res.cost_exponent
        assert np.all(q[fr["tiers"]["served"].to_numpy()] > 0)
        assert fr["profit"] <= res.profit * (1 + 1e-9)  # competition cannot raise the leader's profit
        th = res.theta / alpha
        # IR for the lowest served type binds: fee = u(theta, q) (Lemma 4, eq. 31)
        k = int(np.argmax(q > 0))
        assert fr["tiers"]["fee"].iloc[k] == pytest.approx(float(lf.u(th[k], q[k])), rel=1e-9)
    shares = [cal.fringe_counterfactual(res, c_F_ratio=r)["profit_share"] for r in (2.0, 10.0, 100.0, 1000.0)]
    assert np.all(np.diff(shares) > 0)  # a costlier fringe leaves the leader more


def test_figures(tmp_path: Path) -> None:
    res = cal.calibrate(cal.load_observed(OBSERVED / "poe-2025.toml"), 2.0, identify=True)
    for fn in (cal.plot_menu, cal.plot_types, cal.plot_markups):
        fn(res, tmp_path / f"{fn.__name__}.png")
    assert res.identified is not None
    cal.plot_identified_set(res.identified, tmp_path / "ident.png")
    assert len(list(tmp_path.glob("*.png"))) == 4


#: what the calibration package may import: the standard library, numpy/scipy/pandas/matplotlib, the pure
#: economics of ``mechdesign`` (its analytic siblings, primitives, checks and errors) and its own modules
CALIBRATION_IMPORTS = {
    "__future__",
    "itertools",
    "math",
    "re",
    "tomllib",
    "collections.abc",
    "dataclasses",
    "pathlib",
    "typing",
    "numpy",
    "pandas",
    "scipy",
    "matplotlib",
    "matplotlib.pyplot",
    "_validate",
    "exceptions",
    "technology",
    "types",
    "monopoly",
    "multimodel",
    "leader_fringe",
    "data",
    "consistency",
    "identified",
    "core",
    "pricing",
    "counterfactual",
    "figures",
    "history",
}


def _imported(source: str) -> set[str]:
    """Module names a source imports (a relative ``from .x import`` gives ``x``)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            found.add(node.module or ".".join(a.name for a in node.names))
    return found


def test_calibration_module_imports_no_solver() -> None:
    files = sorted((ROOT / "mechdesign" / "analytic" / "calibration").glob("*.py"))
    assert len(files) > 1 and any(f.name == "__init__.py" for f in files)
    for path in files:
        found = _imported(path.read_text())
        assert found <= CALIBRATION_IMPORTS, f"{path.name} imports {sorted(found - CALIBRATION_IMPORTS)}"
    # the check can fail: a solver or app import is outside the allow-list, absolute or relative
    for bad in ("import cvxpy", "from ...engine import program", "from mechdesign.app import cli"):
        assert not _imported(bad) <= CALIBRATION_IMPORTS, bad


# ------------------------------------------------------------------ issue 24: calibrate's edge cases
#: the reproducer of issue 24: an exactly optimal 2-tier menu whose identified set is narrower than a scan step
NARROW = ([205.36970036175347, 206.23763298750234], [10302.627730772814, 10389.240626229941])


def _two_tier_set(T: list[float], A: list[float]) -> tuple[float, float]:
    """Closed form of the identified set of a 2-tier menu, in s = sigma + sigma_hat (C2, C5, C7).

    theta_1 = T_1/A_1^s and theta_2 = dT/(A_2^s - A_1^s) (the factor (lambda/C0)^(-s) cancels): IC
    theta_2 > theta_1 <=> (A_2/A_1)^s < 1 + dT/T_1. Distortion m_1 = (T_1/D_1)/(dT/D_2) > 1 with
    D_1 = b A_1, D_2 = b A_2 (1 - rho^s), rho = A_1/A_2 <=> rho^s < 1 - dT A_1/(T_1 A_2).
    """
    dT, rho = T[1] - T[0], A[0] / A[1]
    lo = math.log(1 - dT * A[0] / (T[0] * A[1])) / math.log(rho)
    hi = math.log(1 + dT / T[0]) / math.log(1 / rho)
    return lo, hi


def test_narrow_identified_set_is_found_exactly(capsys: pytest.CaptureFixture[str]) -> None:
    menu = cal.ObservedMenu.from_tiers("narrow", *NARROW, unit="points", billing="hard-cap")
    lo, hi = _two_tier_set(*NARROW)
    assert (lo, hi) == pytest.approx((0.50166, 0.50375), abs=1e-5)  # the numbers
    iset = cal.identified_set(menu)
    assert iset.intervals_sigma_total == [pytest.approx((lo, hi), abs=1e-12)]
    res = cal.calibrate(menu)
    assert res.consistent, res.verdict()  # was INCONSISTENT, exit 1: the 0.005 scan stepped over the set
    assert lo < res.sigma_total < hi
    assert cal.round_trip_analytic(res)["transfer"] < 1e-9
    # the CLI: exit 0 with the same set
    path = ROOT / "tests" / "_narrow_tmp.toml"
    try:
        path.write_text(
            '[menu]\nname = "narrow"\nsource = "issue 24"\neffective_date = "2026"\nunit_conversion = "u"\n'
            'unit = "points"\nbilling = "hard-cap"\n'
            + "".join(
                TIER.format(n=f"Tier {i + 1}", f=repr(f), a=repr(a))
                for i, (f, a) in enumerate(zip(*NARROW, strict=True))
            )
        )
        assert _cli([str(path)]) == 0
    finally:
        path.unlink()
    assert "CONSISTENT" in capsys.readouterr().out


def test_identified_set_ends_are_roots_of_single_restrictions() -> None:
    # Copilot's paid tiers (closed form in test_identified_set_copilot_paid_tiers_matches_closed_form) at
    # a coarse scan: the ends do not depend on the scan step
    menu = cal.load_observed(OBSERVED / "github-copilot-2026.toml").paid_tiers()
    exact = cal.identified_set(menu).intervals_sigma_total
    for n in (3, 7, 50):
        assert cal.identified_set(menu, n=n).intervals_sigma_total == [pytest.approx(exact[0], abs=1e-12)]


@pytest.mark.parametrize(
    "fees, allowances, b",
    [([10.0, 10.02], [100.0, 100.3], 2.0), ([5.0, 10.0, 10.03], [1.0, 3.0, 3.01], 1.5)],
    ids=["two-tiers-0.3pct", "top-two-0.33pct"],
)
def test_near_tied_allowances_give_a_verdict_and_a_projection(
    fees: list[float], allowances: list[float], b: float
) -> None:
    menu = cal.ObservedMenu.from_tiers("tied", fees, allowances, unit="tokens")
    res = cal.calibrate(menu, b)  # used to raise "has no consistent fee vector ... (SLSQP failed)"
    assert res.verdict().startswith("INCONSISTENT")
    near = res.nearest
    assert near is not None
    # the largest margin any fee vector can carry (consistency.max_margin): (A_K/A_k)^((b-1)/(b(K-k+1)))
    A, K = np.array(allowances), len(allowances)
    dmax = min((A[-1] / A[k]) ** ((b - 1) / (b * (K - k))) - 1 for k in range(K - 1))  # k 0-based
    assert dmax < cal.NEAREST_MARGIN and near.margin == pytest.approx(dmax / 2, rel=1e-12)
    assert "margin lowered" in near.note and any("margin lowered" in n for n in res.notes)
    proj = cal.calibrate(cal.calibrate_fees(menu, near.fees), b)
    assert proj.consistent, proj.verdict()
    assert min(r.value for r in proj.restrictions if r.kind == "distortion") >= 1 + near.margin * (1 - 1e-6)


def test_optimal_menu_with_top_fee_raised_one_percent_at_b2() -> None:
    # an optimal menu with near-tied top allowances; its top fee raised 1% (the second reproducer)
    theta, f = _regular_primitives(3, 2.0, [0.6, 0.999], [0.5, 0.5])
    tech = md.cobb_douglas([0.5], [1.0])
    dm = md.discrete_menu(tech, md.DiscreteTypes(theta, f))
    T = dm.transfer.copy()
    T[-1] *= 1.01
    menu = cal.ObservedMenu.from_tiers("raised", T, tech.cost(dm.quality), unit="points")
    res = cal.calibrate(menu, 2.0)
    assert not res.consistent and res.nearest is not None
    assert cal.calibrate(cal.calibrate_fees(menu, res.nearest.fees), 2.0).consistent
    payload = res.to_dict()
    assert payload["consistent"] is False and payload["nearest_menu"]["margin"] > 0


def test_max_margin_none_below_resolution() -> None:
    menu = cal.ObservedMenu.from_tiers("same", [1.0, 2.0], [1.0, 1.0 + 1e-14], unit="tokens")
    res = cal.calibrate(menu, 2.0)
    assert not res.consistent and res.nearest is None
    assert any("no nearest consistent menu" in n for n in res.notes)


def test_pooling_is_disclosed() -> None:
    # theta = (1, 1.1, 2), f = (.5, .3, .2): phi = (0.9, 0.5, 2) is not monotone, types 1-2 pool (eq. 12)
    theta, f = np.array([1.0, 1.1, 2.0]), np.array([0.5, 0.3, 0.2])
    tech = md.cobb_douglas([0.5], [1.0])
    dm = md.discrete_menu(tech, md.DiscreteTypes(theta, f))
    assert dm.quality[0] == pytest.approx(dm.quality[1])  # pooled
    menu = cal.ObservedMenu.from_tiers(
        "pooled", dm.transfer[[0, 2]], tech.cost(dm.quality[[0, 2]]), unit="points"
    )
    res = cal.calibrate(menu, 2.0, C0=1.0)
    assert res.consistent
    # the pool looks like one type at its lowest theta carrying its mass: the ironed virtual value of the
    # pool, (f1 phi1 + f2 phi2)/(f1 + f2) = theta_1 - (theta_3 - theta_1) f_3 / (f1 + f2), is that type's
    np.testing.assert_allclose(res.theta, [1.0, 2.0], rtol=1e-10)
    np.testing.assert_allclose(res.masses, [0.8, 0.2], rtol=1e-10)
    assert cal.POOLING_NOTE in res.notes and res.to_dict()["pooling"] == cal.POOLING_NOTE
    assert "pool" in res.summary()


def test_duplicate_tier_names_refused(tmp_path: Path) -> None:
    body = 'unit = "points"\n' + TIER.format(n="Pro", f=5, a=1) + TIER.format(n="Pro", f=10, a=3)
    with pytest.raises(ProblemSpecError, match="unique") as exc:
        cal.load_observed(_write(tmp_path, body))
    assert "tiers[1].name" in exc.value.field
    with pytest.raises(ProblemSpecError, match="unique"):
        cal.ObservedMenu.from_tiers("x", [1, 2], [1, 2], unit="points", tier_names=["A", "A"])


def test_usd_of_marginal_cost_unit_is_explained() -> None:
    menu = cal.ObservedMenu.from_tiers("usd", [5.0, 12.0, 30.0], [1.0, 3.0, 10.0], unit="USD of marginal cost")
    res = cal.calibrate(menu)
    note = next(n for n in res.notes if "USD of marginal cost" in n)
    assert f"lambda = {res.cost_scale:.6g}" in note and "--cost-scale 1" in note
    # lambda(s) = dT_K / D_K runs from 18/(10 log(10/3)) at s -> 0 to 18/7 at s = 1 (C4): never 1
    assert 18 / (10 * math.log(10 / 3)) > 1 and "no sigma + sigma_hat" in note
    # the synthetic menus in USD of marginal cost (true lambda = 1): lambda = 1 is found
    menu, _, _ = _consistent_menu()
    res = cal.calibrate(menu, 2.0)
    assert res.cost_scale == pytest.approx(1.0) and any("the two agree" in n for n in res.notes)


def test_huge_fees_refused_clearly() -> None:
    menu = cal.ObservedMenu.from_tiers("huge", [1e307, 1.5e307], [1.0, 2.0], unit="points")
    with pytest.raises(ProblemSpecError, match="at most 1e\\+12 USD") as exc:
        cal.calibrate(menu, 2.0)
    assert "fee" in exc.value.field and "free tier" not in str(exc.value)


def _main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from mechdesign.app.cli import main

    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize(
    "opts, option",
    [
        (["--sigma-share", "2"], "--sigma-share"),
        (["--fringe-cost", "0"], "--fringe-cost"),
        (["--new-model", "-0.1", "2"], "--new-model"),
        (["--new-model", "0.9", "2"], "--new-model"),
        (["--new-model", "0.1", "0"], "--new-model"),
        (["--new-model", "0.6", "2", "--sigma-total", "0.5"], "--new-model"),
    ],
)
def test_invalid_counterfactual_options_exit_2(
    opts: list[str], option: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    js = tmp_path / "x.json"
    argv = ["calibrate", str(OBSERVED / "anthropic-claude-2026-01.toml"), "--counterfactuals", *opts]
    code, out, err = _main([*argv, "--json", str(js)], capsys)
    assert code == 2 and out == "" and not js.exists(), (out, err)  # before any work, no partial output
    assert err.count("\n") == 1 and option in err and "Traceback" not in err


def test_json_in_missing_folder_names_the_path(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _main(
        ["calibrate", str(OBSERVED / "anthropic-claude-2026-01.toml"), "--json", "/nonexistent-dir/x.json"],
        capsys,
    )
    assert code == 2 and out == ""
    assert "/nonexistent-dir/x.json" in err and ".tmp" not in err


@st.composite
def near_tied_primitives(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Regular primitives with one pair of adjacent virtual values within 0.01%-1% (near-tied allowances:
    Q_k / Q_{k+1} = (phi_k / phi_{k+1})^(1/(b-1)), eq. 12 and Lemma 3)."""
    K = draw(st.integers(2, 6))
    tie = draw(st.integers(0, K - 2))
    u_phi = [draw(st.floats(0.3, 0.9)) for _ in range(K - 1)]
    u_phi[tie] = 1.0 - draw(st.floats(1e-4, 1e-2))
    theta, f = _regular_primitives(K, draw(st.floats(0.5, 5.0)), u_phi,
                                   [draw(st.floats(0.25, 0.9)) for _ in range(K - 1)])
    return theta, f, draw(st.floats(0.15, 0.85)), tie


@settings(deadline=None, derandomize=True, max_examples=30)
@given(near_tied_primitives())
def test_round_trip_near_tied_allowances(prim: tuple) -> None:
    theta, f, s, tie = prim
    tech = md.cobb_douglas([s], [1.0])
    dm = md.discrete_menu(tech, md.DiscreteTypes(theta, f))  # closed-form discrete optimum (Prop 3)
    A = tech.cost(dm.quality)
    assert A[tie + 1] / A[tie] < 1.1  # near-tied by construction
    menu = cal.ObservedMenu.from_tiers("tied", dm.transfer, A, unit="points")
    res = cal.calibrate(menu, 1.0 / s, C0=1.0)
    assert res.consistent, res.verdict()
    np.testing.assert_allclose(res.theta, theta, rtol=1e-7)
    np.testing.assert_allclose(res.masses, f, rtol=1e-6)
    # the identified set, found exactly, holds the true exponent however narrow it is
    iset = cal.identified_set(menu)
    assert any(lo <= s <= hi for lo, hi in iset.intervals_sigma_total), (s, iset.describe())
    assert cal.calibrate(menu).consistent
    # perturbed by 1% at the top: a verdict and, when inconsistent, a consistent projection
    T = dm.transfer.copy()
    T[-1] *= 1.01
    bad = cal.calibrate(cal.calibrate_fees(menu, T), 1.0 / s)
    if not bad.consistent:
        assert bad.nearest is not None
        assert cal.calibrate(cal.calibrate_fees(menu, bad.nearest.fees), 1.0 / s).consistent


@settings(deadline=None, derandomize=True, max_examples=30)
@given(st.floats(0.1, 0.9), st.floats(1e-3, 0.05), st.floats(0.3, 0.95), st.floats(0.3, 0.9))
def test_round_trip_narrow_identified_sets(s: float, gap: float, u_th: float, top: float) -> None:
    # two types whose virtual values are close: the optimal menu's set in s is narrow; it must contain s and
    # its ends must be the closed form of _two_tier_set
    theta, f = _regular_primitives(2, top, [1.0 - gap], [u_th])
    tech = md.cobb_douglas([s], [1.0])
    dm = md.discrete_menu(tech, md.DiscreteTypes(theta, f))
    T, A = list(dm.transfer), list(tech.cost(dm.quality))
    lo, hi = _two_tier_set(T, A)
    assert lo < s < hi
    iset = cal.identified_set(cal.ObservedMenu.from_tiers("narrow", T, A, unit="points"))
    want = (max(lo, cal.SCAN_LO), min(hi, cal.SCAN_HI))
    assert iset.intervals_sigma_total == [pytest.approx(want, abs=1e-10)]


# ------------------------------------------------------------------ issue 24: dated snapshots as data
ALL_OBSERVED = sorted(OBSERVED.glob("*.toml"))


@pytest.mark.parametrize("path", ALL_OBSERVED, ids=lambda p: p.stem)
def test_every_shipped_snapshot_validates(path: Path) -> None:
    import re
    import tomllib

    raw = tomllib.loads(path.read_text())
    date = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
    if "prices" in raw:
        prices = cal.load_api_prices(path)
        assert all(date.match(d) for d in prices["effective_date"]) and prices["source"].str.len().min() > 0
        return
    menu = cal.load_observed(path)  # the schema: every key checked (data.load_observed)
    assert path.stem == menu.name  # one file per provider and date, named after the menu
    assert date.match(menu.effective_date) and path.stem.endswith(menu.effective_date[:7])  # provider-date
    entries = [*menu.tiers, *menu.extra_tiers]
    assert all(t.source.strip() and date.match(t.effective_date) for t in entries)
    assert all(m.source.strip() and date.match(m.effective_date) for m in menu.model_costs)
    assert len({t.name for t in menu.tiers}) == menu.K
    for d in menu.disagreements:  # both claims recorded, the choice stated and explained
        assert len(d.values) == len(d.sources) >= 2 and d.why.strip()
        tier = next(t for t in entries if t.name == d.tier)
        value = getattr(tier, d.field)
        assert (value is None) if d.used == "unknown" else value == pytest.approx(float(d.used))
    # every field no source gives is listed as unknown, and nothing unknown is filled in
    assert menu.unknown() == [f"allowance of tier {t.name!r}" for t in menu.tiers if t.allowance is None] + (
        ["overage price per allowance unit"] if menu.billing == "overage" and menu.overage_price is None else []
    )


def test_snapshot_history_is_dated() -> None:
    # providers with two snapshots (issue 24): an earlier and a later page of each
    hist: dict[str, list[str]] = {}
    for p in MENU_FILES:
        m = cal.load_observed(p)
        hist.setdefault(m.provider, []).append(m.effective_date)
    for provider in ("OpenAI", "Anthropic", "GitHub", "Google"):
        assert len(hist[provider]) >= 2, provider


@pytest.mark.parametrize(
    "extra, field, match",
    [
        ('effective_date = "May 2026"\n', "effective_date", "YYYY"),
        ("", "disagreements[0].used", "must equal"),
        ("one", "disagreements[0].values", "at least two"),
    ],
    ids=["bad-date", "used-mismatch", "one-value"],
)
def test_snapshot_schema_rejects(tmp_path: Path, extra: str, field: str, match: str) -> None:
    tier = TIER.format(n="Lo", f=5, a=1)
    hi = TIER.format(n="Hi", f=10, a=3)
    if extra.startswith("effective_date"):
        hi = hi.replace('effective_date = "2026"\n', extra)
        dis = ""
    else:
        values = '["10"]' if extra == "one" else '["10", "12"]'
        sources = '["a"]' if extra == "one" else '["a", "b"]'
        dis = (
            f'[[disagreements]]\ntier = "Hi"\nfield = "fee"\nvalues = {values}\nsources = {sources}\n'
            'used = "12"\nwhy = "w"\n'
        )
    with pytest.raises(ProblemSpecError, match=match) as exc:
        cal.load_observed(_write(tmp_path, 'unit = "points"\n' + tier + hi + dis))
    assert field in exc.value.field


def test_unknown_overage_price_is_said() -> None:
    res = cal.calibrate(cal.load_observed(OBSERVED / "anthropic-claude-2026-05.toml"))
    assert any("overage price per allowance unit is unknown" in n for n in res.notes)
    # the same tiers as January 2026 (BBS §6.1): the same identified set (closed form in
    # test_identified_set_anthropic_matches_closed_form)
    old = cal.identified_set(cal.load_observed(OBSERVED / "anthropic-claude-2026-01.toml"))
    assert res.identified is not None and res.identified.intervals_sigma_total == old.intervals_sigma_total


def test_unknown_go_allowance_scans_below_plus(capsys: pytest.CaptureFixture[str]) -> None:
    menu = cal.load_observed(OBSERVED / "openai-chatgpt-2026-04.toml")
    aset = cal.allowance_identified_set(menu)
    assert aset.tier == "Go" and aset.lo == pytest.approx(1e-3) and aset.hi == pytest.approx(1 / 1.01)
    assert _cli([str(OBSERVED / "openai-chatgpt-2026-04.toml")]) in (0, 1)
    assert "unpublished allowance of tier 'Go'" in capsys.readouterr().out


# ------------------------------------------------------------------ issue 24: out-of-sample tests
#: each provider's history: earlier page, later page, explicit assumptions (OpenAI publishes no Pro multiple
#: for January 2026; 20 is the assumption of the paper's §6.2 discussion and of the tests above)
HISTORIES = {
    "OpenAI": ("openai-chatgpt-2026-01", "openai-chatgpt-2026-04", ["--allowance", "Pro=20"]),
    "Anthropic": ("anthropic-claude-2026-01", "anthropic-claude-2026-05", []),
    "GitHub": ("github-copilot-2026", "github-copilot-credits-2026-06", []),
    "Google": ("google-ai-2025-09", "google-ai-2026-05", []),
}


def _forward_items(tech: md.Technology, theta: np.ndarray, prob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct served (quality, fee) of the optimal menu of (tech, theta, prob), by the package's solver."""
    out = md.SingleModelProblem(tech, md.DiscreteTypes(theta, prob)).solve()
    assert out.status == "optimal"
    Q, T = np.asarray(out.quality), np.asarray(out.transfer)
    keep = [0] if Q[0] > 1e-9 * Q.max() else []
    for i in range(1, Q.size):
        if Q[i] > 1e-9 * Q.max() and (not keep or Q[i] > Q[keep[-1]] * (1 + 1e-6)):
            keep.append(i)
    return Q[keep], T[keep]


@pytest.mark.parametrize("provider", sorted(HISTORIES))
def test_out_of_sample_history(provider: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    a, z, extra = HISTORIES[provider]
    out = {k: tmp_path / f"h.{k}" for k in ("json", "csv", "png")}
    argv = ["calibrate", f"observed/{a}", "--against", f"observed/{z}", *extra]
    code, text, err = _main([*argv, "--json", str(out["json"]), "--csv", str(out["csv"]), "--plot", str(out["png"])],
                            capsys)
    assert code == 0, err
    assert all(p.stat().st_size > 0 for p in out.values()) and "Out-of-sample test" in text
    payload = json.loads(out["json"].read_text())
    old = cal.load_observed(OBSERVED / f"{a}.toml")
    if extra:
        old = old.with_allowances({"Pro": 20.0})
    new = cal.load_observed(OBSERVED / f"{z}.toml")
    cmp = cal.out_of_sample(old, new)
    assert payload["answers"] == cmp.answers  # the CLI runs the same comparison
    base = cmp.base
    tech, types = base.primitives()
    b, lam, C0 = base.cost_exponent, base.cost_scale, base.C0
    # (1) the earlier primitives by the closed forms (C1)-(C2), (C4): Q = (lambda A / C0)^(1/b),
    # theta_k = dT_k/dQ_k, lambda = dT_K / (b A_K (1 - (A_{K-1}/A_K)^(1/b)))
    A1, T1 = base.allowances, base.fees
    assert lam == pytest.approx((T1[-1] - T1[-2]) / (b * A1[-1] * (1 - (A1[-2] / A1[-1]) ** (1 / b))), rel=1e-12)
    Q = (lam * base.allowances / C0) ** (1 / b)
    np.testing.assert_allclose(types.theta, np.diff(np.r_[0.0, base.fees]) / np.diff(np.r_[0.0, Q]), rtol=1e-10)
    # (2) the inserted types (insert_types): geometric middle / half a step beyond an end
    th = types.theta
    for lab, t in zip(cmp.type_labels, cmp.theta_ext, strict=True):
        if lab.startswith("new: "):
            bigger, smaller = th[th > t], th[th < t]
            if bigger.size and smaller.size:
                assert t == pytest.approx(math.sqrt(bigger.min() * smaller.max()), rel=1e-12)
            elif bigger.size:  # below the lowest
                assert t == pytest.approx(th[0] * math.sqrt(th[0] / th[1]), rel=1e-12)
            else:
                assert t == pytest.approx(th[-1] * math.sqrt(th[-1] / th[-2]), rel=1e-12)
    assert cmp.prob_ext.sum() == pytest.approx(1.0)
    # (3) the predicted optimal K'-tier menu is the forward solve of the enlarged population (one type per
    # new tier, so the K'-item bound does not bind): md.SingleModelProblem against the block search
    assert cmp.theta_ext.size == new.paid_tiers().K if any(t.fee <= 0 for t in new.tiers) else new.K
    Qf, Tf = _forward_items(tech, cmp.theta_ext, cmp.prob_ext)
    np.testing.assert_allclose(cmp.predicted_table["quality"], Qf, rtol=1e-5)
    np.testing.assert_allclose(cmp.predicted_table["fee"], Tf, rtol=1e-5)
    np.testing.assert_allclose(cmp.predicted_table["allowance_old"], C0 * Qf**b / lam, rtol=1e-4)  # (C1)
    # (4) no-cannibalisation fees: max_k theta_k Q' - U_k with U from the binding ICs (eq. 13)
    U = np.r_[0.0, np.cumsum(np.diff(th) * base.quality[:-1])]
    for _, row in cmp.tiers.iterrows():
        if np.isfinite(row["allowance_old"]):
            q = (lam * row["allowance_old"] / C0) ** (1 / b)
            assert row["no_cannibalisation_fee"] == pytest.approx(max(float(np.max(th * q - U)), 0.0), rel=1e-10)
    # (5) the later menu on the earlier population: each type takes its best tier or nothing
    tab = cmp.tiers[np.isfinite(cmp.tiers["allowance_old"].to_numpy(dtype=float))]
    Qn = (lam * tab["allowance_old"].to_numpy(dtype=float) / C0) ** (1 / b)
    Tn = tab["fee"].to_numpy(dtype=float)
    pay = th[:, None] * Qn[None, :] - Tn[None, :]
    margin = Tn - C0 * Qn**b
    tol = 1e-9 * float(th.max() * Qn.max())  # ties (binding ICs, eq. 13) go to the seller
    pick = []
    for row in pay:
        near = np.flatnonzero(row >= row.max() - tol)
        k = int(near[np.argmax(margin[near])])
        pick.append(k if row[k] >= -tol and not (abs(row[k]) <= tol and margin[k] < 0) else -1)
    profit = sum(types.prob[i] * (Tn[k] - C0 * Qn[k] ** b) for i, k in enumerate(pick) if k >= 0)
    assert cmp.new_on_old["profit"] == pytest.approx(profit, rel=1e-9)
    assert list(cmp.new_on_old["choices"].values()) == [tab["tier"].iloc[k] if k >= 0 else "none" for k in pick]
    # (6) the reverse question: the later cost scale by (C4) at the earlier b, against the earlier one
    later = new.paid_tiers() if any(t.fee <= 0 for t in new.tiers) else new
    later = replace(later, tiers=tuple(t for t in later.tiers if t.allowance is not None))
    T2, A2 = later.fees, later.allowances
    lam2 = (T2[-1] - T2[-2]) / (b * A2[-1] * (1 - (A2[-2] / A2[-1]) ** (1 / b)))
    prim = cmp.primitives.set_index("quantity")
    if cmp.scale:
        assert prim.loc["cost scale lambda at the earlier b", "later"] == pytest.approx(lam2 / cmp.scale, rel=1e-10)
    # what each history says (the docs page reports these)
    if provider == "Anthropic":  # the same tiers: the same primitives, nothing changed
        assert cmp.answers["same primitives"].startswith("yes")
        np.testing.assert_allclose(cmp.tiers["predicted_fee"], [20.0, 100.0, 200.0], rtol=1e-9)
    else:
        assert cmp.answers["same primitives"].startswith("no")
    if provider == "GitHub":  # the later page is consistent at the earlier b, but its cost scale moved
        assert cmp.new_at_old_b is not None and cmp.new_at_old_b.consistent
        assert cmp.new_with_old_scale is not None and not cmp.new_with_old_scale.consistent
    if provider == "Google":  # the earlier page is inconsistent: its nearest consistent menu is used
        assert not cmp.old.consistent and "nearest" in cmp.based_on
    if provider == "OpenAI":
        assert cmp.new_allowance_set is not None and cmp.new_allowance_set.tier == "Go"


def test_insert_types_masses_and_order() -> None:
    th, f = np.array([1.0, 4.0]), np.array([0.6, 0.4])
    th2, f2, idx = cal.insert_types(th, f, [0, 1, 2])
    np.testing.assert_allclose(th2, [0.5, 1.0, 2.0, 4.0, 8.0])  # half steps (x2) beyond, geometric middle
    raw = np.array([0.3, 0.6, 0.2, 0.4 - 0.2 - 0.2, 0.2])  # 0.5 of the neighbours' mass
    np.testing.assert_allclose(f2, raw / raw.sum())
    assert idx == [0, 2, 4]


def test_against_bad_allowance_names_the_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _main(
        ["calibrate", "observed/openai-chatgpt-2026-01", "--against", "observed/openai-chatgpt-2026-04"], capsys
    )
    assert code == 2 and out == "" and "--allowance" in err and "'Pro'" in err
    js = tmp_path / "h.json"
    code, out, err = _main(
        ["calibrate", "observed/anthropic-claude-2026-01", "--against", "observed/anthropic-claude-2026-05",
         "--allowance", "Nope=3", "--json", str(js)],
        capsys,
    )
    assert code == 2 and out == "" and "Nope" in err and not js.exists()
