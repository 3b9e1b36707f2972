"""Value-scale harness (BBS Appendix B.3): every menu certified with margin, checked against Prop 10's benchmark.

Independent answer: the observable-scale benchmark of eqs. (61)-(63) (one exact discrete Mussa-Rosen menu per
scale, :func:`mechdesign.analytic.value_scale.observable_scale_menu`, closed forms with the lower convex hull;
it never calls the program). It drops the cross-scale IC rows, so its profit bounds the contractible optimum
from above; under Assumption 2 the two coincide (Prop 10) and the menus are equal. Instances are seeded draws of
the technology (sigma, sigma_hat, costs), the value grid (n_w up to 60 cells of a uniform distribution) and the
scales (n_s up to 6), solved with the default options. A sample runs in the default suite, the rest in the slow
step (``pytest -m slow tests/test_value_scale_margin.py``).
"""

from __future__ import annotations

import tomllib
import warnings
from pathlib import Path

import numpy as np
import pytest

from mechdesign.problemfile import problem_from_dict

PROBLEMS = Path(__file__).resolve().parents[1] / "problems"
#: Prop 10: under Assumption 2 the program's profit equals the benchmark's to this (relative), its qualities to
#: QUALITY_RTOL of the largest (the profit is flat at the optimum: qualities are pinned to about its square root)
PROFIT_RTOL = 1e-11
QUALITY_RTOL = 1e-6


def draw(seed: int) -> dict[str, object]:
    """Problem-file tables of instance ``seed`` (every draw from ``numpy.random.default_rng(seed)``)."""
    rng = np.random.default_rng(seed)
    d = tomllib.loads((PROBLEMS / "value_scale.toml").read_text())
    sigma = round(float(rng.uniform(0.2, 0.7)), 2)
    sigma_hat = round(float(rng.uniform(0.0, min(0.4, 0.95 - sigma))), 2)
    d["technology"]["sigma"] = sigma
    d["technology"]["inference"]["cost"] = [round(float(rng.uniform(0.5, 2.0)), 3)]
    if sigma_hat > 0:
        d["technology"]["finetuning"]["sigma_hat"] = sigma_hat
        d["technology"]["finetuning"]["cost"] = [round(float(rng.uniform(0.5, 2.0)), 3)]
    else:
        d["technology"]["finetuning"] = {"kind": "none"}
    lo = round(float(rng.uniform(0.0, 0.5)), 2)
    d["types"]["w"]["n"] = int(rng.integers(5, 61))
    d["types"]["w"]["distribution"] = {"kind": "uniform", "lo": lo, "hi": round(lo + float(rng.uniform(0.5, 2.0)), 2)}
    n_s = int(rng.integers(2, 7))
    s = np.sort(rng.choice(np.arange(1, 21), size=n_s, replace=False)) / 20.0
    p = rng.uniform(0.5, 1.5, size=n_s)
    p = np.round(p / p.sum(), 6)
    p[-1] = round(1.0 - float(p[:-1].sum()), 6)
    d["types"]["s"] = {"values": s.tolist(), "prob": p.tolist()}
    return d


#: costs this close to linear (sigma + sigma_hat >= NEAR_LINEAR, cost exponent 1/(sigma + sigma_hat) <= 1.33) are
#: not all certified with margin yet (issue 20, open): the harness counts them
NEAR_LINEAR = 0.75


def check(seed: int) -> str:
    """Solve instance ``seed`` with the default options: 'a2 holds', 'a2 fails' or 'near linear, no margin'."""
    return solve_and_check(seed)[0]


def solve_and_check(seed: int) -> tuple[str, object]:
    """:func:`check`'s verdict and the result it checked."""
    d = draw(seed)
    tech = d["technology"]
    total = float(tech["sigma"]) + float(tech["finetuning"].get("sigma_hat", 0.0))  # type: ignore[union-attr]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = problem_from_dict(d).solve()
    cert = r.numeric.certificate
    if total >= NEAR_LINEAR and not (r.status == "optimal" and cert.has_margin):
        # counted, not passed: 'uncertified', or certified without margin. Never a menu above Prop 10's bound called
        # optimal (seed 21, sigma + sigma_hat = 0.81, was 'optimal' at gap 3e-10 with IC violated by 6e-10 within the
        # audit's tolerance; a certified menu now violates nothing beyond VIOLATION_RTOL = 1e-10)
        assert r.status in ("optimal", "uncertified") and (r.status == "optimal") == cert.passed, (seed, cert.line())
        if r.status == "optimal":
            assert r.comparison["profit_gap_rel"] >= -PROFIT_RTOL, (seed, r.comparison["profit_gap_rel"])
        return "near linear, no margin", r
    assert r.status == "optimal", (seed, cert.line())
    assert cert.has_margin, (seed, cert.gap_rel, cert.rounding_rel)
    assert abs(cert.gap_rel) <= 1e-12 or abs(cert.gap_rel) <= cert.rounding_rel, (seed, cert.gap_rel)
    c = r.comparison
    # the benchmark drops the cross-scale rows: an upper bound always (eqs. 61-63)
    assert c["profit_gap_rel"] >= -PROFIT_RTOL, (seed, c["profit_gap_rel"])
    if r.assumption2.holds and c["benchmark_cross_scale_gain_rel"] <= 1e-12:
        assert abs(c["profit_gap_rel"]) <= PROFIT_RTOL, (seed, c)
        assert c["quality_rel_error"] <= QUALITY_RTOL, (seed, c)
        return "a2 holds", r
    return "a2 fails", r


def test_shipped_problem_at_40_values_is_certified_with_margin_and_equals_prop10() -> None:
    """The issue's reproducer: value_scale.toml with types.w.n = 40 (160 types) ended uncertified (gap 1.2e-6)."""
    d = tomllib.loads((PROBLEMS / "value_scale.toml").read_text())
    d["types"]["w"]["n"] = 40
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = problem_from_dict(d).solve()
    assert r.status == "optimal" and r.numeric.certificate.has_margin
    assert abs(r.numeric.certificate.gap_rel) <= 1e-12
    assert abs(r.comparison["profit_gap_rel"]) <= PROFIT_RTOL  # Prop 10: Assumption 2 holds for this file
    assert r.comparison["quality_rel_error"] <= QUALITY_RTOL


@pytest.mark.parametrize("seed", [0, 3, 4])
def test_value_scale_sample(seed: int) -> None:
    assert check(seed) == "a2 holds"


@pytest.mark.slow
@pytest.mark.parametrize("seed", [21, 23])
def test_regression_near_linear_costs_finished_from_the_finer_null_set(seed: int) -> None:
    """Near-linear costs (seed 23: sigma + sigma_hat = 0.81, seed 21: 0.81): the optimum serves the types near the
    cutoff at 1e-12 .. 1e-6 of the top quality (Prop 10's menu: the allocation grows as the virtual value to the
    power (sigma + sigma_hat) / (1 - sigma - sigma_hat), about 4), so the null set read at the program's NULL_TOL
    (1e-6 of the largest gross payoff) left out types the optimum serves; the finished point earned less than the
    solver's and was rejected, and both instances ended uncertified (gap 8e-11 and 3e-10 with IC violated by 3e-10
    and 6e-10 of the largest gross payoff). The finish now tries the null set read at FINISH_NULL_TOL too; checked
    against Prop 10's benchmark menu (eqs. 61-63, closed forms) to PROFIT_RTOL. (Slow step: 12 s each; the default
    suite's test of the finer null set's attempt is tests/test_margin.py::test_the_finish_stops_where_the_callers_
    certificate_holds.)"""
    d = draw(seed)
    tech = d["technology"]
    assert float(tech["sigma"]) + float(tech["finetuning"]["sigma_hat"]) >= NEAR_LINEAR  # type: ignore[index]
    kind, r = solve_and_check(seed)
    assert kind == "a2 holds"  # certified with margin, equal to Prop 10's menu
    finish = r.numeric.solver["finish"]  # type: ignore[attr-defined]
    assert finish["kept"] and "coarse_null_set_attempt" in finish, finish.get("active_set")


@pytest.mark.slow
def test_value_scale_harness() -> None:
    """30 seeded instances: certified with margin and, where Assumption 2 holds, equal to Prop 10's menu; near-
    linear costs may end without margin. Measured 2026-12-07 (round 4, session 7): 24 with margin, 2 certified
    without (seeds 5 and 7, gaps 6.1e-11 and 5.5e-12), 4 uncertified (1, 13, 15, 28), all with sigma + sigma_hat
    >= 0.81; before the finer null set of the finish, 8 near linear without margin (21 and 23 too)."""
    kinds = [check(seed) for seed in range(30)]
    assert kinds.count("a2 holds") >= 10  # the comparison with the benchmark's menu really runs
    assert kinds.count("near linear, no margin") <= 6


@pytest.mark.slow
@pytest.mark.parametrize("n_w", [100, 200])
def test_shipped_problem_at_100_and_200_values(n_w: int) -> None:
    d = tomllib.loads((PROBLEMS / "value_scale.toml").read_text())
    d["types"]["w"]["n"] = n_w
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = problem_from_dict(d).solve()
    cert = r.numeric.certificate
    assert r.status == "optimal" and cert.has_margin and abs(cert.gap_rel) <= 1e-12, cert.line()
    assert abs(r.comparison["profit_gap_rel"]) <= PROFIT_RTOL
