"""Proposition checks of Appendix B (BBS App. B.1-B.3): contractible tasks (Props 8-9) and value-scale types
(Lemma 5, Prop 10, Assumption 2), each against an independent computation."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mechdesign.analytic.contractible import binary_menu
from mechdesign.analytic.cost_based import joint_profiles, separable_profiles
from mechdesign.analytic.taskcaps import simulate_task_caps, task_cap_menu
from mechdesign.analytic.value_scale import (
    ValueScaleTypes,
    flat_virtual_value_types,
    scale_cost,
    scale_cost_numeric,
    scale_marginal_cost,
)
from mechdesign.problemfile import load_problem
from mechdesign.settings.contractible import ContractibleProblem, solve_contractible
from mechdesign.settings.contractible_result import ContractibleResult
from mechdesign.settings.value_scale import CROSS_DUAL_TOL, RENT_TOL, ValueScaleProblem, solve_value_scale
from mechdesign.technology import CES, BaselineFineTuning, Technology, cobb_douglas
from mechdesign.types import BetaDist, TaskProfileTypes, Uniform, aggregate_type
from mechdesign.validation.instances import CheckResult, FloatArray, random_technologies


def check_prop9(rng: np.random.Generator, problems: Path) -> CheckResult:
    errs, agree = [], True
    mu = np.full(4, 0.25)
    cases = [np.array([[1, 1, 0.2, 0.2], [0.5, 0.5, 1.5, 1.5]]), np.array([[1, 1, 0.2, 0.2], [0.9, 1.4, 0.6, 0.6]])]
    cases += [rng.uniform(0.1, 1.5, (2, 4)) for _ in range(48)]
    tech = Technology(CES(np.array([1.0])), 0.5, np.array([1.0]))
    for w in cases:
        f = np.array([0.6, 0.4])
        an = binary_menu(tech, w, f, mu)
        r = solve_contractible(tech, TaskProfileTypes(w, f, mu), ic="all")
        errs.append(max(abs(r.profit - an.profit) / an.profit,
                        float(np.abs(r.quality - an.quality).max() / an.quality.max())))
        H, L = an.high, 1 - an.high
        duals = {tuple(p): d for p, d in zip(r.ic_pairs.tolist(), r.ic_duals)}
        if an.full_extraction:
            agree &= bool(r.ir_duals[H] > 1e-6 and r.ir_duals[L] > 1e-6)
        elif an.kink:  # corrected Prop 9: IC of H and both IRs bind
            agree &= bool(duals[(H, L)] > 1e-6 and r.ir_duals[L] > 1e-6 and r.ir_duals[H] > 1e-6)
        else:
            agree &= bool(duals[(H, L)] > 1e-6 and r.ir_duals[L] > 1e-6 and r.ir_duals[H] < 1e-7)
    return CheckResult("prop9", "binary contractible types: H efficient, L virtual-efficient, (52); kink case added",
                       len(cases), max(errs), 1e-6, agree, 0.0)



def check_lemma5(rng: np.random.Generator, problems: Path) -> CheckResult:
    """Lemma 5 on random technologies (homogeneous CES and baseline fine-tuning).

    C(q, s) of eq. (56) in closed form against SLSQP minimisation over the tokens; then, on a grid,
    strictly increasing and convex in q, decreasing in s, and C_q decreasing in s (submodularity).
    The error column is the largest relative closed-form error; a failed shape property counts 1.
    """
    techs = random_technologies(rng, 40)
    while len(techs) < 55:
        sigma = float(rng.uniform(0.2, 0.6))
        techs.append(Technology(CES(np.array([1.0])), sigma, rng.uniform(0.3, 3.0, 1),
                                BaselineFineTuning(float(rng.uniform(0.2, 2.0)),
                                                   float(rng.uniform(0.1, 0.9) * (1 - sigma)),
                                                   rng.uniform(0.3, 3.0, 1))))
    errs: list[float] = []
    q = np.geomspace(1e-3, 2.0, 40)
    s_grid = np.linspace(0.1, 1.0, 10)
    for tech in techs:
        for qq, ss in ((0.05, 0.3), (0.8, 0.7)):
            num = scale_cost_numeric(tech, qq, ss)
            errs.append(abs(float(scale_cost(tech, np.array(qq), ss)) - num) / num)
        C = np.array([scale_cost(tech, q, s) for s in s_grid])
        Cq = np.array([scale_marginal_cost(tech, q, s) for s in s_grid])
        shape_ok = (np.all(np.diff(C, axis=1) > 0) and np.all(np.diff(Cq, axis=1) > 0)
                    and np.all(np.diff(C, axis=0) < 0) and np.all(np.diff(Cq, axis=0) < 0))
        errs.append(0.0 if shape_ok else 1.0)
    return CheckResult("lemma5", "C(q,s) (56): closed form = numeric; increasing, convex in q; decreasing and "
                       "submodular in s", len(techs), max(errs), 1e-5, None, 0.0)


def _random_value_scale(rng: np.random.Generator, flat: bool = False) -> tuple[Technology, ValueScaleTypes]:
    """Random Cobb-Douglas technology and value-scale types: w from a discretised uniform or beta law, or
    (``flat``) with flat virtual values (:func:`flat_virtual_value_types`, where Assumption 2 may fail)."""
    a = float(rng.uniform(0.2, 0.5))
    b = float(rng.uniform(0.05, 0.8 - a))
    tech = cobb_douglas([a], rng.uniform(0.5, 2.0, 1), [b], rng.uniform(0.5, 2.0, 1))
    M = int(rng.integers(2, 5))
    S = np.sort(rng.choice(np.array([0.25, 0.5, 0.75, 1.0]), M, replace=False))
    sp = rng.uniform(0.2, 1.0, M)
    nw = int(rng.integers(5, 11))
    if flat:
        lo = float(rng.uniform(0.1, 0.3))
        w = flat_virtual_value_types(np.linspace(lo, 1.0, nw), float(rng.uniform(0.5, 0.9) * lo))
    else:
        dist = Uniform(0.0, 1.0) if rng.random() < 0.5 else BetaDist(float(rng.uniform(1, 3)), float(rng.uniform(1, 3)))
        w = dist.discretize(nw)
    return tech, ValueScaleTypes(w, S, sp / sp.sum())


def _value_scale_cases(problems: Path, pattern: str) -> list[tuple[Technology, ValueScaleTypes]]:
    cases: list[tuple[Technology, ValueScaleTypes]] = []
    for path in sorted(problems.glob(pattern)):
        p = load_problem(path)
        assert isinstance(p, ValueScaleProblem)
        cases.append((p.technology, p.types))
    return cases


def check_prop10(rng: np.random.Generator, problems: Path) -> CheckResult:
    """Prop 10 on value_scale.toml and 50 random instances (w from discretised uniform/beta laws).

    The contractible optimum must equal the observable-scale benchmark (eqs. 61-63): profit, total
    qualities and transfers within 1e-6 relative; Assumption 2 must hold, the benchmark must be IC across
    scales, and no cross-scale IC may bind (multiplier > 1e-5) for a type with positive rent.
    """
    cases = _value_scale_cases(problems, "value_scale.toml") + [_random_value_scale(rng) for _ in range(50)]
    errs, agree = [], True
    for tech, types in cases:
        r = solve_value_scale(tech, types)
        c = r.comparison
        errs.append(max(abs(float(c["profit_gap_rel"])), float(c["quality_rel_error"]),  # type: ignore[arg-type]
                        float(c["transfer_rel_error"])))  # type: ignore[arg-type]
        agree &= (c["active_cross_positive_rent"] == 0 and r.assumption2.holds
                  and float(c["benchmark_cross_scale_gain_rel"]) <= 1e-12)  # type: ignore[arg-type]
    return CheckResult("prop10", "value-scale: contractible optimum = observable-scale benchmark (61-63); "
                       "A2 holds; only within-scale ICs bind", len(cases), max(errs), 1e-6, agree, 0.0)


def check_assumption2(rng: np.random.Generator, problems: Path) -> CheckResult:
    """Assumption 2 and its failure: value_scale_a2_fails.toml and 50 random flat-virtual-value instances.

    Where the benchmark menu is IC across scales the contractible optimum must equal it (error column,
    1e-6); where it is not, the contractible profit must be strictly below it (and the note counts the
    instances where cross-scale ICs bind with multiplier > 1e-5 for a type with rent; tiny violations
    leave tiny multipliers). The note counts how often the discrete Assumption 2 check and the benchmark's
    cross-scale audit disagree: Assumption 2 is sufficient (Prop 10), not necessary, and with w on a grid
    the deviation to (w s / s', s') of the proof lands between grid points, so a small violation can
    survive it.
    """
    cases = _value_scale_cases(problems, "value_scale_a2*.toml") + [_random_value_scale(rng, flat=True)
                                                                     for _ in range(50)]
    errs, gaps, agree, a2_only, ic_only, cross_bind = [], [], True, [], 0, 0
    for tech, types in cases:
        r = solve_value_scale(tech, types)
        c = r.comparison
        gap = float(c["profit_gap_rel"])  # type: ignore[arg-type]
        ic_across = float(c["benchmark_cross_scale_gain_rel"]) <= 1e-12  # type: ignore[arg-type]
        if ic_across:
            errs.append(max(abs(gap), float(c["quality_rel_error"]),  # type: ignore[arg-type]
                            float(c["transfer_rel_error"])))  # type: ignore[arg-type]
            ic_only += int(not r.assumption2.holds)
        else:
            gaps.append(gap)
            agree &= gap > 1e-10
            cross_bind += int(int(c["active_cross_positive_rent"]) > 0)  # type: ignore[call-overload]
            if r.assumption2.holds:
                a2_only.append(gap)
    note = (f"{len(gaps)} instances with the benchmark not IC across scales: gap "
            f"{min(gaps, default=0):.1e}..{max(gaps, default=0):.1e}, cross-scale ICs bind for types with rent "
            f"in {cross_bind}; A2 fails but benchmark IC: {ic_only}; "
            f"A2 holds on the grid but benchmark not IC: {len(a2_only)} (gap <= {max(a2_only, default=0):.1e})")
    return CheckResult("assumption2", "A2 fails (flat virtual values): strict profit gap, cross-scale ICs bind; "
                       "else benchmark attained", len(cases), max(errs, default=0.0), 1e-6,
                       agree and len(gaps) > 0, 0.0, note)


def check_prop10_tariffs(rng: np.random.Generator, problems: Path) -> CheckResult:
    """Two-part tariffs with task caps (Appendix B.3) for value_scale.toml's technology, simulated.

    Buyers on a 401-point value grid at every scale pick from 800 items per scale; the error is the
    largest relative quality/payment difference from eqs. (62)-(63) (first order in the item spacing)
    and every served buyer must pick an item of its own scale. Without caps the check also confirms
    that buyers do move across scales (the caps are needed).
    """
    p = load_problem(problems / "value_scale.toml")
    assert isinstance(p, ValueScaleProblem)
    dist = Uniform(0.0, 1.0)
    S = p.types.s
    menu = task_cap_menu(p.technology, dist, S, 800)
    w = np.tile(np.linspace(0.0, 1.0, 401), S.size)
    s = np.repeat(S, 401)
    sim = simulate_task_caps(menu, w, s, caps=True)
    loose = simulate_task_caps(menu, w, s, caps=False)
    agree = sim.own_scale_share == 1.0 and loose.own_scale_share < 1.0
    return CheckResult("prop10_tariffs", "two-part tariffs with task caps implement (62)-(63) (800 items/scale; "
                       "error O(1/items)); caps needed", int(w.size), max(sim.quality_rel_error,
                                                                         sim.payment_rel_error),
                       2e-3, agree, 0.0)


def _within_ray(r: ContractibleResult, directions: FloatArray) -> bool:
    """No IC binds across rays for a type with positive rent (Prop 8's relaxation is tight)."""
    gross = np.sum(r.w * r.measures * r.quality, axis=1)
    rent = gross - r.transfer
    pos = rent > RENT_TOL * max(float(gross.max()), 1e-300)
    for (n, m), d in zip(r.ic_pairs.tolist(), r.ic_duals):
        if d > CROSS_DUAL_TOL and pos[n] and directions[n] != directions[m]:
            return False
    return True


def _ray_index(w: FloatArray, measures: FloatArray, sigma: float) -> FloatArray:
    d = np.round(w / aggregate_type(w, measures, sigma)[:, None], 9)
    return np.unique(d, axis=0, return_inverse=True)[1].ravel()


def check_prop8(rng: np.random.Generator, problems: Path) -> CheckResult:
    """Prop 8 on separable_cost_based.toml and 50 random separable instances; gap on non-separable ones.

    Separable: the contractible program's profit equals the best cost-based tariff's within 1e-6 and
    no IC binds across rays for a type with positive rent. Non-separable (the shipped counterexample and
    10 random ones): the contractible profit is at least the tariff's, and strictly more on the shipped one.
    """
    errs, agree = [], True
    shipped = load_problem(problems / "separable_cost_based.toml")
    assert isinstance(shipped, ContractibleProblem)
    cases: list[tuple[Technology, TaskProfileTypes]] = [(shipped.technology, shipped.types)]
    techs = random_technologies(rng, 50)
    for tech in techs[1:]:
        T = int(rng.integers(2, 5))
        K, R = int(rng.integers(2, 5)), int(rng.integers(2, 4))
        mu = rng.uniform(0.2, 1.0, T)
        cases.append((tech, separable_profiles(np.sort(rng.uniform(0.2, 1.5, K)) + np.arange(K) * 1e-3,
                                               rng.dirichlet(np.ones(K)), rng.uniform(0.05, 1.0, (R, T)),
                                               rng.dirichlet(np.ones(R)), mu / mu.sum(), tech.sigma)))
    for tech, types in cases:
        r = solve_contractible(tech, types)
        errs.append(abs(r.contracting_gain_rel))
        agree &= _within_ray(r, _ray_index(types.w, types.measures, tech.sigma))
    n = len(cases)
    gains = []
    ns = load_problem(problems / "nonseparable_contracting_gain.toml")
    assert isinstance(ns, ContractibleProblem)
    nonsep: list[tuple[Technology, TaskProfileTypes]] = [(ns.technology, ns.types)]
    for tech in techs[1:11]:
        d = rng.uniform(0.05, 1.0, (3, 3))
        P = rng.dirichlet(np.ones(9)).reshape(3, 3)
        nonsep.append((tech, joint_profiles(np.array([0.4, 0.8, 1.2]), d, P, np.full(3, 1 / 3), tech.sigma)))
    for tech, types in nonsep:
        gains.append(solve_contractible(tech, types).contracting_gain_rel)
    agree &= gains[0] > 1e-4 and min(gains) > -1e-6
    return CheckResult("prop8", "separable types: contractible profit = best cost-based tariff; strict gain on "
                       "the non-separable counterexample", n + len(nonsep), max(errs), 1e-6, agree, 0.0)
