"""Appendix B.1 and B.3: cost-based tariffs (Prop 8), value-scale types (Lemma 5, Assumption 2, Prop 10).

References are closed forms (eqs. 56, 61-63 via Lemma 3; Def 4 via the exact discrete menu), independent
numerical minimisations (SLSQP over tokens) and buyer simulations; the numerical side is the contractible
cvxpy program.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize

from mechdesign import ProblemSpecError, Uniform, cobb_douglas, load_problem
from mechdesign.analytic.cost_based import (
    cost_based_tariff,
    joint_profiles,
    separability_gap,
    separable_profiles,
)
from mechdesign.analytic.taskcaps import simulate_task_caps, task_cap_menu
from mechdesign.analytic.value_scale import (
    ValueScaleTypes,
    assumption2,
    flat_virtual_value_types,
    observable_scale_menu,
    scale_cost,
    scale_cost_numeric,
    scale_marginal_cost,
    scale_quality,
)
from mechdesign.settings.contractible import solve_contractible
from mechdesign.settings.value_scale import ValueScaleProblem

from .conftest import TECHNOLOGIES

PROBLEMS = __import__("pathlib").Path(__file__).resolve().parents[1] / "problems"
VS_TECH = cobb_douglas([0.4], [1.0], [0.2], [1.0])  # issue 5: g = x^0.4 z^0.2, c = c_hat = 1
DIRECTIONS = np.array([[1.0, 0.2, 0.1], [0.2, 1.0, 0.5], [0.5, 0.5, 1.0]])
MU3 = np.array([0.5, 0.3, 0.2])


# ------------------------------------------------------------------------------------------ costs
@pytest.mark.parametrize("name", ["cobb_douglas", "ces_complements", "no_finetuning"])
def test_profile_cost_is_lemma3_for_one_segment_and_numeric_otherwise(name: str) -> None:
    tech = TECHNOLOGIES[name]
    Q = np.array([[0.05], [0.7], [3.0]])
    val, grad, _ = tech.profile_cost(Q, np.ones(1))
    np.testing.assert_allclose(val, tech.cost(Q[:, 0]), rtol=1e-12)          # Lemma 3 closed form
    np.testing.assert_allclose(grad[:, 0], tech.marginal_cost(Q[:, 0]), rtol=1e-12)
    q = np.array([[0.2, 0.5, 0.1]])
    val, grad, hess = tech.profile_cost(q, MU3)
    X, Z = tech.profile_tokens(q, MU3)
    # the tokens deliver q on every segment and cost exactly the value
    np.testing.assert_allclose(tech.gain(X[0], np.repeat(Z, 3, axis=0) if tech.K else None), q[0], rtol=1e-10)
    spent = float((X[0] @ tech.c) @ MU3) + (float(Z[0] @ tech.c_hat) if tech.K else 0.0)
    assert spent == pytest.approx(val[0], rel=1e-12)
    if tech.K:  # independent minimum: a bounded scalar search over the shared fine-tuning index
        e, _, eh, _ = tech.unit_costs()

        def total(yh: float) -> float:
            return float(MU3 @ (e * (q[0] / yh**tech.sigma_hat) ** (1 / tech.sigma))) + eh * yh

        best = optimize.minimize_scalar(lambda u: total(float(np.exp(u))), bounds=(-30, 10), method="bounded",
                                        options={"xatol": 1e-12})
        assert best.fun == pytest.approx(val[0], rel=1e-8)
    eps = 1e-6  # gradient and Hessian against central differences
    for t in range(3):
        dq = np.zeros_like(q)
        dq[0, t] = eps
        vp, gp, _ = tech.profile_cost(q + dq, MU3)
        vm, gm, _ = tech.profile_cost(q - dq, MU3)
        assert (vp - vm)[0] / (2 * eps) == pytest.approx(grad[0, t], rel=1e-6)
        np.testing.assert_allclose((gp - gm)[0] / (2 * eps), hess[0, t], rtol=1e-5, atol=1e-9)


def test_lemma5_scale_cost_against_numeric_minimisation() -> None:
    # eq. (56) in closed form (s C_{c_hat/s}(q/s)) against SLSQP over the tokens; Lemma 5's shape.
    for q, s in ((0.05, 0.25), (0.3, 0.6), (1.0, 1.0)):
        assert float(scale_cost(VS_TECH, np.array(q), s)) == pytest.approx(scale_cost_numeric(VS_TECH, q, s), rel=1e-6)
    qq = np.geomspace(1e-3, 1.0, 30)
    C = np.array([scale_cost(VS_TECH, qq, s) for s in (0.25, 0.5, 0.75, 1.0)])
    Cq = np.array([scale_marginal_cost(VS_TECH, qq, s) for s in (0.25, 0.5, 0.75, 1.0)])
    assert np.all(np.diff(C, axis=1) > 0) and np.all(np.diff(Cq, axis=1) > 0)   # increasing, convex in q
    assert np.all(np.diff(C, axis=0) < 0) and np.all(np.diff(Cq, axis=0) < 0)   # decreasing, submodular in s
    # eq. (62) inverted: C_q(q(w, s), s) = phi
    q = scale_quality(VS_TECH, np.array([0.3, 0.7]), 0.5)
    np.testing.assert_allclose(scale_marginal_cost(VS_TECH, q, 0.5), [0.3, 0.7], rtol=1e-10)


# ------------------------------------------------------------------------------------------ Prop 10
def test_value_scale_types_become_task_profiles_of_eq54() -> None:
    types = ValueScaleTypes(Uniform(0, 1).discretize(3), [0.25, 0.75], [0.5, 0.5])
    prof = types.to_profiles()
    np.testing.assert_allclose(prof.measures, [0.25, 0.5, 0.25])  # last segment (0.75, 1] valued by nobody
    w = types.w.theta
    np.testing.assert_allclose(prof.w[1], [w[1], 0, 0])
    np.testing.assert_allclose(prof.w[4], [w[1], w[1], 0])
    assert prof.prob.sum() == pytest.approx(1.0)
    with pytest.raises(ProblemSpecError, match="types.s"):
        ValueScaleTypes(Uniform(0, 1).discretize(3), [0.5, 1.5], [0.5, 0.5])


def test_prop10_value_scale_problem_matches_observable_scale_benchmark() -> None:
    # issue 5's value_scale.toml: Assumption 2 holds; the contractible optimum equals the benchmark of
    # eqs. (61)-(63) (closed form per scale) and only within-scale ICs bind for types with rent.
    p = load_problem(PROBLEMS / "value_scale.toml")
    assert isinstance(p, ValueScaleProblem)
    r = p.solve()
    c = r.comparison
    assert r.status == "optimal" and r.numeric.audit.passed and r.assumption2.holds
    assert abs(c["profit_gap_rel"]) < 1e-6
    assert c["quality_rel_error"] < 1e-6 and c["transfer_rel_error"] < 1e-6
    assert c["active_cross_positive_rent"] == 0 and c["active_within"] > 0
    assert c["benchmark_cross_scale_gain_rel"] <= 1e-12
    # contracting on tasks beats the best menu of token budgets for theta(w, s) = w s^(1 - sigma)
    assert r.budget_menu_profit < r.numeric.profit
    assert "value_scale" in r.summary() and r.to_dict()["analytic"]["assumption2"]["holds"] is True


def test_assumption2_fails_instance_has_a_strict_gap() -> None:
    p = load_problem(PROBLEMS / "value_scale_a2_fails.toml")
    assert isinstance(p, ValueScaleProblem)
    r = p.solve()
    c = r.comparison
    assert not r.assumption2.holds and r.assumption2.min_slack < -1e-3
    assert c["benchmark_cross_scale_gain_rel"] > 1e-4          # the benchmark menu is not IC across scales
    assert c["profit_gap_rel"] > 1e-5                          # so the contractible program earns strictly less
    assert c["active_cross_positive_rent"] > 0                 # and cross-scale ICs bind
    assert r.numeric.profit <= r.benchmark.profit


def test_flat_virtual_values() -> None:
    w = np.linspace(0.2, 1.0, 6)
    types = flat_virtual_value_types(w, 0.15)
    phi = types.virtual_values()
    np.testing.assert_allclose(phi[:-1], 0.15, rtol=1e-12)
    assert phi[-1] == pytest.approx(1.0)
    with pytest.raises(ProblemSpecError, match="level"):
        flat_virtual_value_types(w, 0.3)


def test_assumption2_holds_for_uniform_values_and_cobb_douglas() -> None:
    # q(w, s) ~ s^{(1-a)/(1-a-b)} phi^{(a+b)/(1-a-b)}: with phi = 2w - 1 the rent grows slowly enough
    rep = assumption2(VS_TECH, Uniform(0, 1).discretize(400), 0.25, 1.0)
    assert rep.holds
    bench = observable_scale_menu(VS_TECH, ValueScaleTypes(Uniform(0, 1).discretize(20), [0.25, 0.5, 0.75, 1.0],
                                                           [0.25] * 4))
    assert bench.cross_scale_gain()[0] <= 1e-15


def test_task_caps_implement_the_menu_and_are_needed() -> None:
    S = np.array([0.25, 0.5, 0.75, 1.0])
    w = np.tile(np.linspace(0.0, 1.0, 101), S.size)
    s = np.repeat(S, 101)
    errs = []
    for n in (50, 200):
        sim = simulate_task_caps(task_cap_menu(VS_TECH, Uniform(0, 1), S, n), w, s, caps=True)
        assert sim.own_scale_share == 1.0
        errs.append(max(sim.quality_rel_error, sim.payment_rel_error))
    assert errs[1] < errs[0] / 2.5 and errs[1] < 5e-3       # first order in the item spacing
    loose = simulate_task_caps(task_cap_menu(VS_TECH, Uniform(0, 1), S, 50), w, s, caps=False)
    assert loose.own_scale_share < 1.0 and loose.quality_rel_error > 0.1


# ------------------------------------------------------------------------------------------ Prop 8
def test_prop8_separable_profit_equals_cost_based_tariff() -> None:
    tech = TECHNOLOGIES["cobb_douglas"]
    types = separable_profiles([0.4, 0.7, 1.0, 1.3], [0.3, 0.3, 0.2, 0.2], DIRECTIONS, [0.5, 0.3, 0.2], MU3,
                               tech.sigma)
    assert separability_gap(types, tech.sigma) < 1e-12
    r = solve_contractible(tech, types)
    assert r.cost_based is not None
    assert abs(r.contracting_gain_rel) < 1e-6
    # the tariff implements the menu: every profile buys Q(theta(w)) from the budget menu (simulation)
    _, quality, profit = r.cost_based.simulate(types)
    assert profit == pytest.approx(r.cost_based.profit, rel=1e-9)
    _, idx = types.aggregate(tech.sigma)
    np.testing.assert_allclose(quality, r.cost_based.menu.quality[idx], rtol=1e-9, atol=1e-14)


def test_nonseparable_distribution_gains_from_contracting() -> None:
    tech = TECHNOLOGIES["cobb_douglas"]
    joint = np.array([[0.3, 0.02, 0.1], [0.1, 0.05, 0.05], [0.05, 0.1, 0.03], [0.02, 0.15, 0.03]])
    types = joint_profiles([0.4, 0.7, 1.0, 1.3], DIRECTIONS, joint / joint.sum(), MU3, tech.sigma)
    assert separability_gap(types, tech.sigma) > 0.05
    r = solve_contractible(tech, types)
    assert r.contracting_gain_rel > 1e-3
    assert cost_based_tariff(tech, types).profit < r.profit


def test_profiles_validation() -> None:
    with pytest.raises(ProblemSpecError, match="types.joint"):
        joint_profiles([0.4, 0.7], DIRECTIONS, np.ones((3, 3)) / 9, MU3, 0.5)
    with pytest.raises(ProblemSpecError, match="types.directions"):
        joint_profiles([0.4, 0.7], np.zeros((2, 3)), np.ones((2, 2)) / 4, MU3, 0.5)
    with pytest.raises(ProblemSpecError, match="types.size_prob"):
        separable_profiles([0.4, 0.7], [0.5, 0.6], DIRECTIONS, [0.5, 0.3, 0.2], MU3, 0.5)


def test_profile_formulation_gives_the_same_menu() -> None:
    # the least-cost-of-profile formulation against explicit token variables (same program otherwise)
    tech = TECHNOLOGIES["cobb_douglas"]
    types = separable_profiles([0.5, 1.0], [0.6, 0.4], DIRECTIONS[:2], [0.5, 0.5], MU3, tech.sigma)
    a = solve_contractible(tech, types, formulation="tokens")
    b = solve_contractible(tech, types, formulation="profile")
    assert b.profit == pytest.approx(a.profit, rel=1e-8)
    np.testing.assert_allclose(b.quality, a.quality, rtol=0, atol=1e-7 * a.quality.max())
    with pytest.raises(ProblemSpecError, match="formulation"):
        solve_contractible(tech, types, formulation="bogus")
