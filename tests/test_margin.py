"""Margin harnesses: every certified menu sits at the rounding level, on every path a user can select.

A certificate that only just meets its tolerance changes with the machine and the size (the issue that
made CI fail on a fresh machine: a two-type problem ``uncertified`` at gap 1.6e-7 on one CPU and certified on
another). Here every path that goes through the interior-point program must end ``optimal`` with its gap at
the rounding level (:attr:`Certificate.has_margin`: within 1e-12 of the profit, or within the floating-point
floor of the profit's own cancellation where that is larger), equal to an independent answer computed in
the test, and with the same status when the units move by 1 + 1e-12.

Independent answers:

- single model, ``method="conic"`` under each formulation and IC strategy: the exact discrete menu of Prop 3
  (discrete, ironed virtual values by the lower convex hull; Lemma 3's C0 written out) of
  :mod:`tests.test_harness_single`;
- multidim with power costs ``p`` in (1, 4): the all-pairs program in transfer form of
  :func:`tests.test_multidim.reference_profit` (exact power cones, one exponent per dimension);
- contractible tasks: the independent program of :mod:`tests.test_harness_contractible`.

A sample runs in the default suite; the slow step runs a few hundred instances of each.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mechdesign import DiscreteTypes, SingleModelProblem
from mechdesign.exceptions import ProblemSpecError, SolverError
from mechdesign.settings.multidim import MultiDimProblem, VectorTypes
from mechdesign.settings.vector_costs import SeparablePowerCost

from .test_harness_contractible import random_instance as contractible_instance
from .test_harness_contractible import reference_solve
from .test_harness_single import draw_instance, exact_menu
from .test_multidim import reference_profit

#: the conic single-model paths: (formulation, ic)
CONIC_PATHS = [("auto", "adaptive"), ("auto", "all"), ("auto", "local"), ("tokens", "adaptive"), ("tokens", "all")]
#: the exact discrete menu is met to this (relative to the largest quality / transfer)
EXACT_RTOL = 1e-8


def _margin(cert: object) -> str:
    return f"gap {cert.gap_rel:.2e}, rounding floor {cert.rounding_rel:.2e}"  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------ single model
def check_conic(seed: int, formulation: str, ic: str) -> str:
    """One random single-model instance through the conic program; 'optimal' or 'refused'."""
    tech, types, N, info = draw_instance(seed)
    problem = SingleModelProblem(tech, types, n=N)  # type: ignore[arg-type]
    try:
        dt = problem.discrete_types()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = problem.solve(method="conic", formulation=formulation, ic=ic, compare=False)
    except ProblemSpecError:
        return "refused"  # unrepresentable magnitudes (tests.test_harness_single checks that claim)
    except SolverError:
        # measured: extreme exponents and prices (seed 4: sigma = 0.08, CES rho = 0.73, token prices 1e-2 .. 8e2,
        # token formulation; seed 11 with ic='all') stall Clarabel in its first iterations whatever its
        # settings: a clear error, never a wrong menu; the harness bounds how often
        return "solver error"
    assert r.status == "optimal", f"seed {seed} {formulation}/{ic}: {r.status} ({_margin(r.certificate)})"
    assert r.certificate.has_margin, f"seed {seed} {formulation}/{ic}: {_margin(r.certificate)}"
    # the conic program's own menu (before the finish) earns the optimum to its tolerance (relative to the largest
    # gross payoff, the scale its tolerances refer to; measured up to 2e-5 of the profit on seed 42, tokens/all,
    # where the profit is a small share of the scale): the program itself is checked, not only the finish (which
    # ends at the chain relaxation's optimum whatever it starts from)
    assert abs(r.solver["finish"]["solver_profit_rel"]) <= 1e-6, f"seed {seed}: {r.solver['finish']}"
    q, t, _ = exact_menu(dt.theta, dt.prob, info["lc0"], info["beta"])
    assert np.max(np.abs(r.quality - q)) <= EXACT_RTOL * q.max(), f"seed {seed}: quality"
    assert np.max(np.abs(r.transfer - t)) <= EXACT_RTOL * max(np.abs(t).max(), 1e-300), f"seed {seed}: transfer"
    # the same status when the unit of the types moves by 1 + 1e-12
    moved = SingleModelProblem(tech, DiscreteTypes(dt.theta * (1.0 + 1e-12), dt.prob))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r2 = moved.solve(method="conic", formulation=formulation, ic=ic, compare=False)
    assert r2.status == r.status and r2.certificate.has_margin, f"seed {seed}: units moved: {_margin(r2.certificate)}"
    return "optimal"


@pytest.mark.parametrize(("formulation", "ic"), CONIC_PATHS)
def test_conic_single_model_sample(formulation: str, ic: str) -> None:
    outcomes = [check_conic(s, formulation, ic) for s in range(6)]
    assert outcomes.count("optimal") >= 4 and outcomes.count("solver error") <= 1


@pytest.mark.slow
@pytest.mark.parametrize(("formulation", "ic"), CONIC_PATHS)
def test_conic_single_model_many(formulation: str, ic: str) -> None:
    outcomes = [check_conic(s, formulation, ic) for s in range(6, 106)]
    assert outcomes.count("solver error") <= 5, outcomes.count("solver error")


def test_regression_two_types_tokens_formulation_certified_with_margin() -> None:
    """The CI failure of 2026-12-07: the tokens formulation of a baseline fine-tuning technology on two types
    ended ``uncertified`` (gap 1.6e-7, Clarabel's reduced-accuracy stop) on one machine, certified on another.
    The exact finish makes the verdict independent of where the interior point stops: the menu equals the
    exact discrete menu of the structured solver (the chain, an independent algorithm) to rounding."""
    from .conftest import TECHNOLOGIES

    problem = SingleModelProblem(TECHNOLOGIES["ces_substitutes_baseline"], DiscreteTypes([0.5, 1.0], [0.5, 0.5]))
    r = problem.solve(formulation="auto")
    assert r.solver["formulation"] == "tokens" and r.solver["finish"]["applied"]
    assert r.status == "optimal" and r.certificate.has_margin, _margin(r.certificate)
    exact = problem.solve(method="structured")
    np.testing.assert_allclose(r.quality, exact.quality, rtol=1e-12, atol=0)
    assert r.profit == pytest.approx(exact.profit, rel=1e-13)


# ------------------------------------------------------------------------------------------ multidim power
def power_instance(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7000 + seed)
    N, D = int(rng.integers(4, 16)), int(rng.integers(2, 4))
    pts = rng.uniform(0.3, 2.0, (N, D))
    prob = rng.uniform(0.2, 1.0, N)
    return pts, prob / prob.sum(), rng.uniform(0.5, 2.0, D), rng.uniform(1.1, 4.0, D)


def check_power(seed: int) -> list[str]:
    """Both IC strategies on one instance; each outcome 'margin', 'certified' (within the tolerance, not at the
    rounding level), 'uncertified' or 'error' (a clear SolverError). A certified menu earns the independent
    optimum (to the independent program's own tolerance), none earns more, and every bound is valid."""
    pts, prob, c, p = power_instance(seed)
    ref = reference_profit(pts, prob, "power", {"c": c, "p": p})
    out = []
    for ic in ("all", "adaptive"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = MultiDimProblem(VectorTypes(pts, prob), SeparablePowerCost(c, p)).solve(ic=ic)
        except SolverError:
            out.append("error")
            continue
        # the independent program stops at its own tolerance (1e-10): a certified menu earns its optimum to that,
        # an uncertified one no more than it; every bound is valid
        tol = 1e-7 * max(abs(ref), 1e-3)
        if r.status == "optimal":
            assert r.profit == pytest.approx(ref, abs=tol), f"seed {seed} p={p} {ic}"
        assert r.profit <= ref + tol and r.certificate.bound >= ref - tol, f"seed {seed} p={p} {ic}"
        out.append("uncertified" if r.status != "optimal" else "margin" if r.certificate.has_margin else "certified")
    return out


@pytest.mark.parametrize("seed", range(4))
def test_power_costs_any_exponent_sample(seed: int) -> None:
    assert check_power(seed) == ["margin", "margin"]


@pytest.mark.slow
def test_power_costs_any_exponent_many() -> None:
    """100 instances x 2 IC strategies. Measured 2026-12-07, session 5: 200 of 200 certified with margin (session
    4: 188, with 9 uncertified up to 0.4 % below the optimum and 3 Clarabel failures, all with an exponent near 1
    beside one far from it -- one allocation unit for goods whose efficient allocations differ 400-fold; the
    program now takes one unit per good, :meth:`SeparablePowerCost.units`)."""
    outcomes = [o for seed in range(4, 104) for o in check_power(seed)]
    counts = {k: outcomes.count(k) for k in ("margin", "certified", "uncertified", "error")}
    assert counts["uncertified"] + counts["error"] == 0 and counts["margin"] >= 198, counts


def test_regression_power_exponent_below_two_on_a_weighted_grid() -> None:
    """The issue's reproducer: 8 x 8 types on [0.5, 2]^2 with non-uniform weights, c = (1, 2), p = (2.5, 1.5)
    ("CLARABEL failed" with ic all or adaptive). Certified with margin, equal to the independent program."""
    rng = np.random.default_rng(0)
    g = (np.arange(8) + 0.5) / 8 * 1.5 + 0.5
    pts = np.array([[x, y] for x in g for y in g])
    w = rng.uniform(0.5, 1.5, 64)
    prob = w / w.sum()
    c, p = np.array([1.0, 2.0]), np.array([2.5, 1.5])
    ref = reference_profit(pts, prob, "power", {"c": c, "p": p})
    for ic in ("all", "adaptive"):
        r = MultiDimProblem(VectorTypes(pts, prob), SeparablePowerCost(c, p)).solve(ic=ic)
        assert r.status == "optimal" and r.certificate.has_margin, _margin(r.certificate)
        assert r.profit == pytest.approx(ref, rel=1e-7)


@pytest.mark.parametrize("seed", [18, 41, 51, 75])
def test_regression_power_exponents_near_one_beside_far_from_it(seed: int) -> None:
    """Harness instances that ended uncertified (18, 41: seed 18 0.4 % below the optimum), or with a Clarabel failure
    (51, 75), while one allocation unit served goods whose efficient allocations differ 50 to 600-fold (exponents
    1.2 .. 1.3 beside 3 .. 3.8). Both IC strategies: certified with margin, earning the independent all-pairs
    program's optimum (tests/test_multidim.py::reference_profit, in its own per-good units)."""
    assert check_power(seed) == ["margin", "margin"]


# ------------------------------------------------------------------------------------------ contractible
def check_contractible(seed: int) -> str:
    inst = contractible_instance(seed)
    from mechdesign.exceptions import MechDesignError
    from mechdesign.settings.contractible import solve_contractible

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = solve_contractible(inst.technology(), inst.types(), ic=inst.ic, formulation=inst.formulation)
    except MechDesignError:
        return "error"  # (the baseline fine-tuning form is refused: tests.test_harness_contractible)
    assert r.certificate is not None, inst.describe()
    ref = reference_solve(inst)
    gross = max(float(np.max(np.sum(inst.w * inst.mu[None, :] * r.quality, axis=1))), 1e-300)
    assert abs(r.profit - ref.profit) <= 1e-7 * gross, f"{inst.describe()}: {r.profit} vs {ref.profit}"
    if r.status != "optimal":
        return "uncertified"
    return "margin" if r.certificate.has_margin else "certified"


@pytest.mark.parametrize("seed", range(0, 40, 4))
def test_contractible_sample(seed: int) -> None:
    assert check_contractible(seed) in ("margin", "error")


@pytest.mark.slow
def test_contractible_many() -> None:
    """400 instances. Measured 2026-12-07 (session 7): 382 with margin, 4 certified without (gaps 7e-12 .. 1.7e-10
    of the profit: tiny N, tokens formulation or an excluded type; seed 104 has margin since the finish also tries
    the finer null set), 1 uncertified, the rest refused (baseline
    fine-tuning). The uncertified one (seed 235: N = 5, T = 3, ic = all, tokens) was 'optimal' before the
    certificate required feasibility to rounding: its finished menu violates an IR row by 1.5e-8 of the largest
    gross payoff, within the audit's 1e-7 (issue 20, open). The bounds keep that from getting worse."""
    outcomes = [check_contractible(s) for s in range(400)]
    counts = {k: outcomes.count(k) for k in ("margin", "certified", "uncertified", "error")}
    assert counts["uncertified"] <= 1 and counts["certified"] <= 4, counts


@pytest.mark.slow
def test_regression_ces_conic_at_3200_types_equals_the_exact_menu() -> None:
    """Issue 20's example of 'optimal' looser than documented: CES inference rho = 0.5, alpha = (0.6, 0.4),
    sigma = 0.45, c = (2, 0.5), CES fine-tuning sigma_hat = 0.2, c_hat = 1.5, theta ~ Beta(3, 2) on [0, 1],
    N = 3,200, ``method="conic"``: it was 'optimal' with qualities 1.1e-3 (of the top) from the exact discrete
    menu and 9 types served below the exact cutoff. Now: certified with margin and equal to the chain solver's
    menu (the exact discrete menu of Prop 3, an independent algorithm) to 1e-8 of the top quality."""
    import tomllib
    from pathlib import Path

    from mechdesign.problemfile import problem_from_dict

    d = tomllib.loads((Path(__file__).resolve().parents[1] / "problems" / "single_model_beta.toml").read_text())
    d["technology"]["sigma"] = 0.45
    d["technology"]["inference"].update(alpha=[0.6, 0.4], rho=0.5, cost=[2.0, 0.5])
    d["technology"]["finetuning"].update(sigma_hat=0.2, cost=[1.5])
    d["types"]["n"] = 3200
    d["types"]["distribution"].update(a=3.0, b=2.0)
    problem = problem_from_dict(d)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = problem.solve(method="conic", compare=False)
    assert r.status == "optimal" and r.certificate.has_margin, _margin(r.certificate)
    exact = problem.solve(method="structured", compare=False)
    top = float(np.max(exact.quality))
    assert float(np.max(np.abs(r.quality - exact.quality))) <= 1e-8 * top
    assert int(np.sum(r.quality > 0)) == int(np.sum(exact.quality > 0))
    assert r.profit == pytest.approx(exact.profit, rel=1e-12)


def issue_contractible_instance(seed: int) -> tuple[object, object]:
    """Issue 20's kind of contractible instance: N = 30 .. 80 task profiles, T = 3 .. 6 segments, a fifth of the
    (type, segment) values zero, unequal masses; the bench's Cobb-Douglas technology."""
    from mechdesign.technology import cobb_douglas
    from mechdesign.types import TaskProfileTypes

    rng = np.random.default_rng(100 + seed)
    N, T = int(rng.integers(30, 81)), int(rng.integers(3, 7))
    w = rng.uniform(0.0, 1.2, (N, T)) * (rng.random((N, T)) < 0.8)
    f = rng.uniform(0.5, 1.5, N)
    return cobb_douglas([0.3, 0.2], [1.0, 3.0], [0.25], [2.0]), TaskProfileTypes(w, f / f.sum(), np.full(T, 1.0 / T))


@pytest.mark.slow
def test_contractible_issue_instances() -> None:
    """10 instances x ic in (adaptive, all). Measured 2026-12-07 (session 2): 19 of 20 with margin, 1 certified at
    3.5e-12 (seed 3, adaptive: a type at the null item should be served with a tiny quality and its re-entry
    cycles); no quality on a segment the type does not value (the issue saw up to 4.9 %). Every
    certified profit is bounded by the Lagrangian bound of the all-pairs program (the certificate) and none
    is above the other strategy's certified profit by more than its tolerance."""
    from mechdesign.settings.contractible import solve_contractible

    outcomes = []
    for seed in range(10):
        tech, types = issue_contractible_instance(seed)
        profits = {}
        for ic in ("adaptive", "all"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = solve_contractible(tech, types, ic=ic)  # type: ignore[arg-type]
            unvalued = np.where(types.w == 0, r.quality, 0.0)  # type: ignore[attr-defined]
            assert float(np.max(unvalued)) == 0.0, (seed, ic)
            if r.status == "optimal":
                profits[ic] = r.profit
            outcomes.append("uncertified" if r.status != "optimal" else
                            "margin" if r.certificate.has_margin else "certified")
        if len(profits) == 2:
            assert profits["adaptive"] == pytest.approx(profits["all"], rel=1e-9), seed
    counts = {k: outcomes.count(k) for k in ("margin", "certified", "uncertified")}
    assert counts["margin"] >= 18 and counts["uncertified"] <= 1, counts


def test_the_finish_stops_where_the_callers_certificate_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Contractible seed 3 (adaptive): the flows into the null types do not certify the finish's first point, so the
    refiner lets null types re-enter (rounds of Newton steps). The caller's ``accept`` is asked at that point: when
    it holds (True) the finish ends there, with no re-entry round; when not (False), the rounds run as before, and
    the finish from the finer null set after them."""
    import copy

    from mechdesign.engine.program import ScreeningProgram
    from mechdesign.settings.contractible import solve_contractible

    seen: dict[str, object] = {}
    finish = ScreeningProgram.finish

    def spy(self: ScreeningProgram, sol: object, accept: object = None) -> object:
        seen["prog"], seen["sol"] = self, copy.deepcopy(sol)
        return finish(self, sol, accept)  # type: ignore[arg-type]

    monkeypatch.setattr(ScreeningProgram, "finish", spy)
    tech, types = issue_contractible_instance(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        solve_contractible(tech, types, ic="adaptive")
    prog, sol = seen["prog"], seen["sol"]
    asked: list[bool] = []
    runs = {}
    for answer in (False, True):
        out = finish(prog, copy.deepcopy(sol), accept=lambda c, a=answer: (asked.append(a), a)[1])  # type: ignore[arg-type, misc]
        runs[answer] = out.solver_stats["refine"]
    # asked at the first uncertified point: True ends the finish; False lets the re-entry rounds run, and then the
    # finish from the finer null set (FINISH_NULL_TOL) asks again at its own first uncertified point
    assert asked == [False, False, True]
    assert "holds with margin" in runs[True]["active_set"] and len(runs[True]["rejected"]) == 1
    assert "finer_null_set_attempt" not in runs[True] and "coarse_null_set_attempt" not in runs[True]
    assert "certificate decides" in runs[False]["active_set"] and len(runs[False]["rejected"]) > 1
    assert "finer_null_set_attempt" in runs[False] or "coarse_null_set_attempt" in runs[False]
    coarse = runs[False].get("coarse_null_set_attempt", runs[False])
    assert any("re-enter" in k for k in coarse["rejected"])  # the re-entry rounds ran


def test_newton_passes_end_at_the_rounding_floor_of_their_kkt_system(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rochet-Chone 20 x 20 (quadratic cost: Newton on a fixed active set is exact in one step) finished from a
    1e-8 interior point: the Newton steps fall to about 1e-11 (the KKT system's condition times rounding) and stay
    there. Every pass that ends stationary ends within a few steps (measured: 4-5), not after
    REFINE_PASS_MAX_STEPS = 40 steps of noise, which spent the finish's whole budget (it was 40, 40, 40, 30)."""
    import mechdesign.engine.refine as refine
    import mechdesign.engine.solver_adapter as adapter
    from mechdesign.problemfile import load_problem

    for key in ("tol_gap_abs", "tol_gap_rel", "tol_feas"):
        monkeypatch.setitem(adapter.CLARABEL_OPTIONS, key, 1e-8)
    steps: list[int] = []
    newton = refine.Refiner._newton_steps

    def spy(self: refine.Refiner, *args: object, **kwargs: object) -> object:
        out = newton(self, *args, **kwargs)  # type: ignore[arg-type]
        if out[0] is None:  # a pass that ended stationary
            steps.append(out[2])
        return out

    monkeypatch.setattr(refine.Refiner, "_newton_steps", spy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        load_problem("multidim/rochet_chone_20x20").solve()
    assert steps and max(steps) <= 10, steps


@pytest.mark.parametrize("grid", [20, pytest.param(40, marks=pytest.mark.slow)])
def test_rochet_chone_from_a_1e8_interior_point_is_certified_by_the_finish(grid: int) -> None:
    """A user's ``solver_options`` at 1e-8 (every interior-point round stops there): the finish certifies the
    menu. In the bunching region the active IC rows are massively dependent, and the sparse path's Newton
    multipliers (near the least-norm ones) were negative where a non-negative combination of the same rows exists:
    every such row was dropped, and the next point violated IC by up to 7e-2 of the scale (40 x 40). Now a
    non-negative fit (an LP over the active rows) keeps the rows it needs. Before: 20 x 20 `uncertified`, gap 7.7e-9
    (5.7 s); 40 x 40 `uncertified`, gap 9.2e-9 (47 s). Reference: the default path's menu (interior point at
    1e-14, certified by its own multipliers), an independent computation of the same optimum."""
    from mechdesign.problemfile import load_problem

    loose = {"tol_gap_abs": 1e-8, "tol_gap_rel": 1e-8, "tol_feas": 1e-8}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = load_problem(f"multidim/rochet_chone_{grid}x{grid}").solve(solver_options=loose)
        ref = load_problem(f"multidim/rochet_chone_{grid}x{grid}").solve()
    assert r.status == "optimal" and ref.status == "optimal"
    assert r.certificate.gap_rel <= 1e-12, r.certificate.gap_rel
    assert abs(r.profit - ref.profit) <= 1e-12 * abs(ref.profit), (r.profit, ref.profit)
