"""§5: multiple models (Lemma 2, eq. 21, Props 5-6) and leader vs fringe (Lemma 4, Prop 7, App. A).

Closed forms (mechdesign.analytic.multimodel / leader_fringe) against independent numerical
computations: SLSQP over the buyer's task-to-model split, brute-force maximisation over quality grids,
and direct maximisation of eq. (28) over the fringe quantity.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize

from mechdesign.analytic.leader_fringe import LeaderFringe, topup_payoff_numeric
from mechdesign.analytic.multimodel import ModelSpec, MultiModel
from mechdesign.app.cli import main
from mechdesign.types import Uniform

PROBLEMS = Path(__file__).resolve().parents[1] / "problems"
TWO = MultiModel(0.5, (ModelSpec(0.1, 0.5, "base"), ModelSpec(0.3, 0.4, "reasoning")))  # issue 4's two models
FIG1 = LeaderFringe(0.5, 0.25, 1 / 8, 1 / 10)   # Figure 1: sigma = 1/2, sigma_hat_L = 1/4, c_L = 1/8, c_F = 1/10
NO_DETER = LeaderFringe(0.5, 0.25, 1 / 4, 1 / 10)


def test_lemma2_buyer_payoff_matches_numeric_task_assignment() -> None:
    # eq. (20) against the buyer's best split of T task segments across models (eq. 19, SLSQP)
    rng = np.random.default_rng(3)
    sigma, T = 0.5, 5
    w = rng.uniform(0.1, 1.5, T)
    mu = rng.dirichlet(np.ones(T))
    theta = float(np.sum(mu * w ** (1 / (1 - sigma))) ** (1 - sigma))
    Q = np.array([0.7, 1.3, 0.4])
    L = Q.size

    def neg(m: np.ndarray) -> float:
        m = m.reshape(L, T)
        return -float(np.sum(np.sum(m * w ** (1 / (1 - sigma)), axis=1) ** (1 - sigma) * Q))

    cons = [{"type": "eq", "fun": lambda m, t=t: m.reshape(L, T)[:, t].sum() - mu[t]} for t in range(T)]
    best = max((optimize.minimize(neg, x0, bounds=[(0, None)] * (L * T), constraints=cons, method="SLSQP",
                                  options={"ftol": 1e-14, "maxiter": 500})
                for x0 in (np.tile(mu, L) / L, rng.dirichlet(np.ones(L * T)) * mu.sum())), key=lambda r: -r.fun)
    assert -best.fun == pytest.approx(theta * np.sum(Q ** (1 / sigma)) ** sigma, rel=1e-6)
    assert TWO.payoff(theta, Q[:2]) == pytest.approx(theta * np.sum(Q[:2] ** 2) ** 0.5)


def test_eq21_cost_envelope_uses_one_model() -> None:
    # min over splits sum_l kappa_l Q_l^{1/d_l} s.t. sum Q_l^{1/sigma} = Q^{1/sigma} (numeric) = eq. (21)
    for Q in (0.3, 1.0, 3.0):
        def total(s: float, Q: float = Q) -> float:
            q1 = (s * Q ** 2) ** 0.5
            q2 = ((1 - s) * Q ** 2) ** 0.5
            return float(0.5 * q1 ** (1 / 0.6) + 0.4 * q2 ** (1 / 0.8))
        grid = np.linspace(0, 1, 20001)
        assert min(total(s) for s in grid) == pytest.approx(float(TWO.cost(np.array(Q))), rel=1e-9)


def test_prop5_efficient_allocation_and_switch() -> None:
    theta = np.linspace(0.05, 1.0, 40)
    _, Q = TWO.efficient(theta)
    grid = np.geomspace(1e-6, 50, 400001)
    for th, q in zip(theta, Q):   # brute force: max_Q theta Q - C(Q) with C the envelope (21)
        s = th * grid - TWO.cost(grid)
        assert q == pytest.approx(grid[np.argmax(s)], rel=1e-4)
    switches = TWO.switch_types()
    assert len(switches) == 1 and switches[0][1:] == (0, 1)   # both models are used
    th_s = switches[0][0]
    u = TWO.model_surplus(np.array(th_s))
    assert u[0] == pytest.approx(u[1], rel=1e-12)
    q = TWO.model_quality(np.array(th_s))
    assert q[1] / q[0] == pytest.approx(TWO.jump_ratio(0, 1)) and TWO.jump_ratio(0, 1) == pytest.approx(0.4 / 0.2)
    assert np.all(np.diff(Q) >= 0)                      # Q* increasing


def test_prop6_discrete_monopoly_is_pointwise_virtual_surplus_max() -> None:
    types = Uniform(0, 1).discretize(30)
    model, Q, t, _ = TWO.discrete_monopoly(types)
    assert set(model[model >= 0].tolist()) == {0, 1}
    phi = types.virtual_values()
    grid = np.concatenate([[0.0], np.geomspace(1e-8, 50, 200001)])
    for p, q in zip(phi, Q):
        best = grid[np.argmax(p * grid - TWO.cost(grid))]
        assert q == pytest.approx(best, rel=1e-4, abs=1e-12)
    U = types.theta * Q - t
    dev = types.theta[:, None] * Q[None, :] - t[None, :]
    assert np.all(dev <= U[:, None] + 1e-12) and np.all(U >= -1e-12)   # IC and IR of the menu


@pytest.mark.parametrize("theta", [0.2, 0.5, 0.9])
def test_lemma4_payoff_equals_direct_fringe_topup(theta: float) -> None:
    for q in (0.05, 0.5, 2.0, 10.0):
        direct, _ = topup_payoff_numeric(FIG1, theta, q)
        assert direct - float(FIG1.psi(theta)) == pytest.approx(float(FIG1.u(theta, q)), rel=1e-7, abs=1e-12)
    # with sigma_hat_F > 0 there is no closed form, but the numeric payoff is still increasing in q_L
    lf = LeaderFringe(0.5, 0.25, 1 / 8, 1 / 10, sigma_hat_F=0.1)
    vals = [topup_payoff_numeric(lf, theta, q)[0] for q in (0.1, 1.0, 5.0)]
    assert vals[0] < vals[1] < vals[2]
    with pytest.raises(Exception, match="fringe.sigma_hat"):
        lf.q_hat(theta)


@pytest.mark.parametrize("lf", [FIG1, NO_DETER], ids=["figure1", "no_deterrence"])
def test_prop7_regions_match_pointwise_maximisation(lf: LeaderFringe) -> None:
    U = Uniform(0, 1)
    th = np.linspace(0.01, 0.999, 250)
    qs = np.concatenate([[0.0], np.geomspace(1e-6, 5000, 60000)])
    qL, qF = lf.competition(th, U)
    for t, q in zip(th, qL):
        cand = np.append(qs, float(lf.q_hat(t)))
        best = cand[np.argmax(lf.profit_integrand(np.full_like(cand, t), cand, U))]
        assert best == pytest.approx(q, rel=5e-4, abs=1e-9)
    assert np.all(qF[qL > 0] == 0)


def test_figure1_cutoffs_and_footnote_11() -> None:
    c = FIG1.cutoffs(Uniform(0, 1))
    assert c["theta_hat"] < c["theta_1"] < c["theta_m"] < c["theta_2"] < 1   # the order in Figure 1
    s, sh = 0.5, 0.25
    ratio = (((1 - s) / (1 - s - sh)) ** (1 - s - sh) * (s / (s + sh)) ** (s + sh)) ** ((1 - s) / sh)
    assert c["theta_hat"] / c["theta_1"] == pytest.approx(ratio, rel=1e-12)       # footnote 11
    assert c["theta_m"] == pytest.approx((1 + c["theta_hat"]) / 2, rel=1e-12)     # App. A: phi = 2 theta - 1
    # App. A: theta_2 > theta_1 iff theta_1 < (sigma + sh)/(sigma + 2 sh); empty middle otherwise
    assert c["theta_1"] < (s + sh) / (s + 2 * sh)
    d = NO_DETER.cutoffs(Uniform(0, 1))
    assert d["theta_2"] < d["theta_1"] and d["entry"] == d["monopoly"] == d["theta_3"]


def test_cli_figure1_and_multimodel(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "fig1.png"
    assert main(["plot", str(PROBLEMS / "figure1_leader_fringe.toml"), "--out", str(png)]) == 0
    assert png.stat().st_size > 20_000 and "theta_1" in capsys.readouterr().out
    js = tmp_path / "f.json"
    assert main(["analytic", str(PROBLEMS / "figure1_leader_fringe.toml"), "--json", str(js)]) == 0
    an = json.loads(js.read_text())["analytic"]
    assert {"theta_hat", "theta_1", "theta_m", "theta_2"} <= set(an)
    js2 = tmp_path / "m.json"
    assert main(["analytic", str(PROBLEMS / "multimodel_two_models.toml"), "--json", str(js2)]) == 0
    mm = json.loads(js2.read_text())["analytic"]
    assert len(mm["switch_types"]) == 1 and {r["model"] for r in mm["menu"]} == {None, "base", "reasoning"}
    js3 = tmp_path / "lf.json"
    assert main(["solve", str(PROBLEMS / "leader_fringe_no_deterrence.toml"), "--n", "100", "--json", str(js3)]) == 0
    lf = json.loads(js3.read_text())
    assert lf["status"] == "optimal" and lf["certificate"]["gap_rel"] <= 1e-6
    assert {"theta_hat", "theta_1", "theta_m", "theta_2"} <= set(lf["analytic"])


@pytest.mark.parametrize(("n", "ic"), [(40, "all"), (200, "local"), (200, "adaptive")])
def test_multimodel_program_is_certified_and_matches_prop6(n: int, ic: str) -> None:
    # the convex-envelope relaxation + branch and bound against the exact discrete Prop 6 menu
    from mechdesign.settings.multimodel import solve_multimodel

    types = Uniform(0, 1).discretize(n)
    r = solve_multimodel(TWO, types, ic=ic)
    assert r.gap <= 1e-6 and r.audit.passed
    c = r.comparison
    assert c["profit_rel_error"] < 1e-6 and c["quality_rel_error"] < 1e-6 and c["transfer_rel_error"] < 1e-6
    assert c["models_agree"] and c["switch_cells_apart"] == 0
    # the monopoly switches where phi(theta) = 2 theta - 1 reaches the efficient switch (Prop 6)
    assert r.switch_types[0] == pytest.approx((1 + TWO.switch_types()[0][0]) / 2, abs=1.0 / n)


def test_branch_and_bound_at_a_tie() -> None:
    # a type exactly at the efficient switch: the relaxation may mix models; branching restores a single model
    from mechdesign.settings.multimodel import solve_multimodel
    from mechdesign.types import DiscreteTypes

    ts = TWO.switch_types()[0][0]
    r = solve_multimodel(TWO, DiscreteTypes(np.array([0.2, ts]), np.array([0.5, 0.5])), ic="all")
    assert r.gap <= 1e-7 and r.comparison["profit_rel_error"] < 1e-9
    assert r.model[0] == -1 and r.model[1] in (0, 1)


def test_cli_solves_multimodel_with_certificate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    js = tmp_path / "mm.json"
    assert main(["solve", str(PROBLEMS / "multimodel_two_models.toml"), "--json", str(js)]) == 0
    assert "gap" in capsys.readouterr().out
    d = json.loads(js.read_text())
    assert d["certificate"]["gap_rel"] <= 1e-6 and "switch_types" in d["analytic"]
    assert {row["model"] for row in d["menu"]} == {None, "base", "reasoning"}


@pytest.mark.parametrize("lf", [FIG1, NO_DETER], ids=["figure1", "no_deterrence"])
def test_leader_program_certified_and_converges_to_prop7(lf: LeaderFringe) -> None:
    # numeric leader menu: relaxation bound = audited menu (gap 0); cutoffs within one cell of Prop 7's;
    # quantities converge to the continuum closed form like 1/N
    from mechdesign.settings.leader_fringe import solve_leader

    U = Uniform(0, 1)
    errs = []
    for n in (50, 200):
        r = solve_leader(lf, U.discretize(n), U)
        assert r.certified and abs(r.gap) <= 1e-9
        c = r.comparison
        assert c["entry_cells_apart"] <= 1
        assert c["monopoly_cells_apart"] is None or c["monopoly_cells_apart"] <= 1
        errs.append(c["quantity_rel_error"])
        # against the exact discrete menu (Prop 7's case analysis on the grid: closed-form candidates,
        # LeaderFringe.discrete_menu), at the same discretisation
        assert c["discrete_profit_rel_error"] <= 1e-9
        assert c["discrete_quantity_rel_error"] <= 1e-6 and c["discrete_transfer_rel_error"] <= 1e-6
    assert errs[1] < errs[0] / 3
    if lf is FIG1:
        assert "deterrence" in r.region and "monopoly" in r.region
    else:
        assert "deterrence" not in r.region


def test_multimodel_file_accepts_full_technologies(tmp_path: Path) -> None:
    # a model given as a full technology enters through Lemma 3: (sigma_hat, kappa = C0)
    from mechdesign import Technology, load_problem
    from mechdesign.problemtables import technology_from_table

    text = (PROBLEMS / "multimodel_two_models.toml").read_text().replace(
        'name = "reasoning"\nsigma_hat = 0.3\nkappa = 0.4',
        'name = "reasoning"\n[models.technology.inference]\nalpha = [0.6, 0.4]\ncost = [1.0, 3.0]\n'
        '[models.technology.finetuning]\nkind = "ces"\nsigma_hat = 0.3\ncost = [2.0]')
    f = tmp_path / "mm.toml"
    f.write_text(text)
    p = load_problem(f)
    tech, _, _ = technology_from_table({"sigma": 0.5, "inference": {"alpha": [0.6, 0.4], "cost": [1.0, 3.0]},
                                        "finetuning": {"kind": "ces", "sigma_hat": 0.3, "cost": [2.0]}})
    assert isinstance(tech, Technology)
    spec = p.models.models[1]  # type: ignore[union-attr]
    assert spec.sigma_hat == pytest.approx(0.3) and spec.kappa == pytest.approx(tech.C0, rel=1e-14)
    r = p.solve(n=40)  # type: ignore[union-attr]
    assert r.gap <= 1e-6 and r.comparison["profit_rel_error"] < 1e-9


@pytest.mark.parametrize("sigma_hat_F", [0.0, 0.1, 0.2])
def test_topup_payoff_matches_brute_force_maximisation_of_eq28(sigma_hat_F: float) -> None:
    # eq. (28) net of the outside option: the two-root Newton solution against the brute-force grid +
    # bounded search of topup_payoff_numeric, and against Lemma 4's closed form (eq. 31) when sigma_hat_F = 0
    from mechdesign.analytic.leader_fringe import topup_payoff, topup_quantity

    lf = LeaderFringe(0.5, 0.25, 1 / 8, 1 / 10, sigma_hat_F=sigma_hat_F)
    dF = 0.5 + sigma_hat_F
    for theta in (0.05, 0.3, 0.8, 1.0):
        x = (theta * dF / 0.1) ** (1 / (1 - dF))
        psi = (1 - dF) * theta * x**dF                    # outside option max_x theta x^dF - c_F x
        q = np.array([0.0, 1e-3, 0.3, 1.0, 3.0, 30.0, 300.0])
        direct = np.array([topup_payoff_numeric(lf, theta, qq) for qq in q])
        np.testing.assert_allclose(topup_payoff(lf, theta, q), direct[:, 0] - psi, rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(topup_quantity(lf, theta, q), direct[:, 1], rtol=1e-5, atol=1e-9)
        if sigma_hat_F == 0.0:
            np.testing.assert_allclose(topup_payoff(lf, theta, q), lf.u(theta, q), rtol=1e-10, atol=1e-12)


def test_implementing_transfers_are_the_binding_local_ones_or_none() -> None:
    # Lemma 4 payoffs satisfy single crossing above q_hat: an increasing allocation there is priced by the
    # binding local downward ICs (t_n = t_{n-1} + u(n, q_n) - u(n, q_{n-1}), t_1 = u(1, q_1)); a decreasing
    # one is not implementable (cyclic monotonicity fails), which must come back as None
    from mechdesign.engine.lottery import implementing_transfers

    th = np.array([0.6, 0.7, 0.8, 0.9])
    q = np.array([30.0, 45.0, 70.0, 100.0])
    assert np.all(q > FIG1.q_hat(th))
    U = FIG1.u(th[:, None], q[None, :])
    t = [U[0, 0]]
    for n in range(1, 4):
        t.append(t[-1] + U[n, n] - U[n, n - 1])
    np.testing.assert_allclose(implementing_transfers(U), t, rtol=1e-12)
    assert implementing_transfers(FIG1.u(th[:, None], q[::-1][None, :])) is None


def test_lottery_lp_reproduces_the_exact_discrete_leader_menu() -> None:
    # an independent route: every IC pair, lotteries, column/row generation and a Lagrangian bound, against
    # LeaderFringe.discrete_menu (Prop 7's case analysis on the grid, closed-form candidates)
    from mechdesign.settings.leader_fringe import solve_leader

    for lf in (FIG1, NO_DETER):
        r = solve_leader(lf, Uniform(0, 1).discretize(40), method="lottery")
        assert r.lottery is not None and r.deterministic and r.certified and 0 <= r.gap <= 1e-6
        assert r.comparison["discrete_profit_rel_error"] < 1e-9
        assert r.comparison["discrete_quantity_rel_error"] < 1e-6


def test_leader_with_fine_tuned_fringe_is_solved_with_a_certificate() -> None:
    # sigma_hat_F > 0: eq. (29) has no closed form and single crossing fails in the top-up region, so the
    # local relaxation's menu violates non-local ICs; the lottery LP gives an audited menu and a bound
    from mechdesign.settings.leader_fringe import solve_leader

    lf = LeaderFringe(0.5, 0.25, 1 / 8, 1 / 10, sigma_hat_F=0.1)
    types = Uniform(0, 1).discretize(30)
    relaxed = solve_leader(lf, types, method="relaxation")
    assert not relaxed.certified and "NOT certified" in relaxed.summary()
    r = solve_leader(lf, types)
    assert "numerical only" in str(r.analytic["kind"]) and "lottery LP" in r.method
    assert r.certified and r.deterministic and 0 <= r.gap <= 1e-6
    assert r.upper_bound <= relaxed.upper_bound * (1 + 1e-12)     # a tighter bound than the relaxation's
    assert r.to_dict()["certificate"]["deterministic"] is True      # type: ignore[index]


def test_fine_tuned_fringe_menu_beats_every_menu_on_a_quantity_grid() -> None:
    """Brute force on 4 types: every 4-tuple of 10 quantities (a log grid, 0 and the solver's own menu),
    each priced by the largest IC/IR transfers (Floyd-Warshall written here, not the package's
    Bellman-Ford). No tuple may beat the certified menu by more than its gap, and none may exceed the
    upper bound."""
    import itertools

    from mechdesign import DiscreteTypes
    from mechdesign.analytic.leader_fringe import topup_payoff
    from mechdesign.settings.leader_fringe import solve_leader

    lf = LeaderFringe(0.5, 0.25, 1 / 8, 1 / 10, sigma_hat_F=0.15)
    th = np.array([0.3, 0.45, 0.6, 0.9])
    f = np.array([0.3, 0.3, 0.2, 0.2])
    r = solve_leader(lf, DiscreteTypes(th, f))
    assert r.certified
    grid = np.unique(np.concatenate([[0.0], np.geomspace(0.5, 2 * r.quantity.max(), 5), r.quantity]))
    tuples = np.array(list(itertools.product(range(grid.size), repeat=4)))
    Q = grid[tuples]                                                      # (T, 4)
    Ug = topup_payoff(lf, th[:, None], grid[None, :])                     # (4, K)
    U = Ug[np.arange(4)[None, :, None], tuples[:, None, :]]               # U[t, n, m] = u(theta_n, q_m)
    own = np.einsum("tnn->tn", U)
    # distances from the null node (index 4): edge m -> n weighs own_n - U[n, m]; null -> n weighs own_n
    D = np.full((len(Q), 5, 5), np.inf)
    D[:, :4, :4] = own[:, None, :] - np.transpose(U, (0, 2, 1))
    D[:, 4, :4] = own
    D[:, np.arange(5), np.arange(5)] = 0.0
    for k in range(5):
        D = np.minimum(D, D[:, :, k:k + 1] + D[:, k:k + 1, :])
    ok = np.all(np.einsum("tnn->tn", D) >= -1e-12, axis=1)               # no negative cycle
    profit = np.where(ok, (D[:, 4, :4] - lf.c_L * Q) @ f, -np.inf)
    best = float(profit.max())
    assert best <= r.upper_bound * (1 + 1e-12)
    assert best <= r.lower_bound + max(r.gap, 0.0) * abs(r.upper_bound) + 1e-12


def test_discrete_leader_menu_is_the_global_optimum_on_a_small_grid() -> None:
    """Independent check of LeaderFringe.discrete_menu on 4 types: brute force over every non-decreasing
    4-tuple of 40 quantities (incl. the kinks and the closed-form menu), each priced by the binding local
    downward ICs and kept only if it passes every IC/IR pair (Lemma 4 payoffs)."""
    import itertools

    from mechdesign import DiscreteTypes

    lf = FIG1
    th = np.array([0.3, 0.5, 0.7, 0.9])
    f = np.full(4, 0.25)
    q, _, profit = lf.discrete_menu(DiscreteTypes(th, f))
    grid = np.unique(np.concatenate([[0.0], np.geomspace(1e-3, 2.0 * q.max(), 30), lf.q_hat(th), q]))
    uu = np.array([lf.u(np.full(grid.size, x), grid) for x in th])  # uu[n, k] = u(theta_n, grid_k)
    idx = np.array(list(itertools.combinations_with_replacement(range(grid.size), 4)))  # (C, 4)
    n = np.arange(4)
    own = uu[n, idx]  # (C, 4): u(theta_n, x_n)
    tt = np.zeros(idx.shape)
    tt[:, 0] = own[:, 0]
    for k in range(1, 4):
        tt[:, k] = tt[:, k - 1] + own[:, k] - uu[k, idx[:, k - 1]]
    payoff = uu[:, idx].transpose(1, 0, 2) - tt[:, None, :]  # (C, type, item)
    rent = own - tt
    ok = np.all(rent >= payoff.max(axis=2) - 1e-12, axis=1) & np.all(rent >= -1e-12, axis=1)
    best = float(np.max(((tt - lf.c_L * grid[idx]) @ f)[ok]))
    assert ok.sum() > 1000
    assert best == pytest.approx(profit, rel=1e-12)
