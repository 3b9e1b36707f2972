"""Closed forms: Prop 3 (continuous and discrete), Props 1-2 and Cor 1 against task-level programs."""

from __future__ import annotations

import numpy as np
import pytest

from mechdesign import (
    Technology,
    Uniform,
    aggregate_type,
    audit_menu,
    buyer_allocation,
    continuous_menu,
    discrete_menu,
    efficient_allocation,
    efficient_task_tokens,
    indirect_utility,
)
from mechdesign.validation.checks import (
    solve_buyer_allocation,
    solve_constrained_efficient,
    solve_efficient_tasks,
)

from .conftest import TASK_RTOL

W = np.array([0.2, 0.9, 0.5, 1.0])
MU = np.array([0.1, 0.2, 0.3, 0.4])


def test_prop3_uniform_closed_form(shipped_tech: Technology) -> None:
    # U[0,1]: phi = 2 theta - 1, cutoff 1/2 (eq. 11); eq. (12) with C = C0 Q^k, k = 4/3:
    # Q = ((2 theta - 1)/(k C0))^{1/(k-1)}; eq. (13): t = theta Q - int_{1/2}^theta Q.
    C0, k = shipped_tech.C0, 4 / 3
    menu = continuous_menu(shipped_tech, Uniform())
    th = np.array([0.3, 0.55, 0.8, 1.0])
    a = (1 / (k * C0)) ** 3  # Q = a (2 theta - 1)^3 for theta >= 1/2
    Q = np.where(th > 0.5, a * np.maximum(2 * th - 1, 0) ** 3, 0.0)
    t = th * Q - a * np.maximum(2 * th - 1, 0) ** 4 / 8
    assert menu.cutoff == pytest.approx(0.5, abs=1e-9)
    np.testing.assert_allclose(menu.quality(th), Q, rtol=1e-12, err_msg="Q(theta), eq. 12")
    np.testing.assert_allclose(menu.transfer(th), t, rtol=1e-10, atol=1e-18, err_msg="t(theta), eq. 13")
    # profit = int_{1/2}^1 (t - C0 Q^k) d theta = a (1/(k C0))... evaluated by quadrature here:
    grid = np.linspace(0.5, 1, 20001)
    Qg = a * (2 * grid - 1) ** 3
    tg = grid * Qg - a * (2 * grid - 1) ** 4 / 8
    assert menu.profit() == pytest.approx(np.trapezoid(tg - C0 * Qg**k, grid), rel=1e-6)


def test_discrete_menu_is_ic_with_local_downward_binding(shipped_tech: Technology) -> None:
    types = Uniform().discretize(40)
    m = discrete_menu(shipped_tech, types)
    rep = audit_menu(types.theta, m.quality, m.transfer)
    assert rep.max_ic_violation_rel < 1e-12 and rep.max_ir_violation_rel < 1e-12
    # local downward IC binds: U_n - U_{n-1} = (theta_n - theta_{n-1}) Q_{n-1}
    U = types.theta * m.quality - m.transfer
    np.testing.assert_allclose(np.diff(U), np.diff(types.theta) * m.quality[:-1], atol=1e-18)
    low = m.lowest_served
    assert low is not None and U[low] == pytest.approx(0.0, abs=1e-18)
    # virtual values are exact for the uniform grid: phi_n = theta_n - h (1 - F_n)/f_n
    assert m.phi[-1] == pytest.approx(types.theta[-1])


def test_one_type_gets_first_best_with_full_extraction(shipped_tech: Technology) -> None:
    # Nested special case: a single type is served efficiently (eq. 23) and pays its whole value.
    from mechdesign import DiscreteTypes

    m = discrete_menu(shipped_tech, DiscreteTypes(np.array([0.8]), np.array([1.0])))
    eff = efficient_allocation(shipped_tech, 0.8)
    assert m.quality[0] == pytest.approx(eff.quality, rel=1e-12)
    assert m.transfer[0] == pytest.approx(0.8 * eff.quality, rel=1e-12)


def test_prop2_buyer_indirect_utility(any_tech: Technology) -> None:
    # Prop 2: max over task splits of sum mu w Psi(x_t) Phi(Z) = theta(w) Psi(X) Phi(Z); the split is
    # x_t proportional to w_t^{1/(1-sigma)} along the direction X (proof of Prop 2).
    X = np.array([0.3, 0.1, 0.2][: any_tech.J])
    Z = np.array([0.4, 0.2][: any_tech.K]) if any_tech.K else None
    sol = solve_buyer_allocation(any_tech, W, MU, X, Z)
    assert sol.value == pytest.approx(indirect_utility(any_tech, W, MU, X, Z), rel=TASK_RTOL)
    np.testing.assert_allclose(sol.x, buyer_allocation(any_tech, W, MU, X), rtol=0,
                               atol=TASK_RTOL * X.max(), err_msg="per-task split")


def test_prop1_efficient_allocation(any_tech: Technology) -> None:
    # Prop 1: the planner's task-level optimum has tokens proportional to w^{1/(1-sigma)}, totals and
    # surplus that depend on w only through theta(w) (eq. 23 with Lemma 3).
    theta = float(aggregate_type(W, MU, any_tech.sigma))
    eff = efficient_allocation(any_tech, theta)
    sol = solve_efficient_tasks(any_tech, W, MU, eff.quality)
    assert sol.value == pytest.approx(eff.surplus, rel=TASK_RTOL)
    np.testing.assert_allclose(sol.x, efficient_task_tokens(any_tech, W, MU), rtol=0,
                               atol=TASK_RTOL * eff.X.max(), err_msg="tokens per task")
    if any_tech.K:
        np.testing.assert_allclose(sol.z, eff.Z, rtol=0, atol=TASK_RTOL * max(eff.Z.max(), eff.X.max()))
    # a different profile with the same aggregate type consumes the same totals
    w2 = np.full(4, theta)
    sol2 = solve_efficient_tasks(any_tech, w2, MU, eff.quality)
    np.testing.assert_allclose(MU @ sol2.x, MU @ sol.x, rtol=0, atol=TASK_RTOL * eff.X.max())


def test_cor1_constrained_efficient_is_efficient_at_inflated_costs(any_tech: Technology) -> None:
    # Cor 1: the capacity-constrained solution equals the efficient one at costs c + lambda.
    theta = 3.0  # high enough that the baseline form (b + z)^gamma fine-tunes
    eff = efficient_allocation(any_tech, theta)
    assert any_tech.K == 0 or eff.Z.min() > 0
    caps_x = 0.5 * eff.X
    caps_z = 2.0 * eff.Z if any_tech.K else None
    ce = solve_constrained_efficient(any_tech, theta, caps_x, caps_z)
    assert np.all(ce.shadow_x > 0)  # inference capacities bind
    inflated = any_tech.with_costs(any_tech.c + ce.shadow_x, any_tech.c_hat + ce.shadow_z if any_tech.K else None)
    eff2 = efficient_allocation(inflated, theta)
    np.testing.assert_allclose(ce.X, eff2.X, rtol=TASK_RTOL, err_msg="X at inflated costs")
    if any_tech.K:
        np.testing.assert_allclose(ce.Z, eff2.Z, rtol=TASK_RTOL, atol=1e-12, err_msg="Z at inflated costs")
