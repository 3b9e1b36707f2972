r"""Numerical checks of Props 1-2 and Cor 1: the buyer's and the planner's task-level programs in cvxpy.

These solve the task-level problems of BBS §3 directly, over per-segment token variables, and are
compared with the closed forms of :mod:`mechdesign.analytic.efficient`:

* :func:`solve_buyer_allocation` — eq. (8): the buyer splits budgets :math:`(X, Z)` over T task
  segments, :math:`\max \sum_t \mu_t w_t \Psi(x_t)\Phi(Z)` s.t. :math:`\sum_t \mu_t x_t = X`;
  Prop 2 says the value is :math:`\theta(w)\Psi(X)\Phi(Z)`.
* :func:`solve_efficient_tasks` — eq. (5): the planner's problem over per-segment inference tokens
  and a shared fine-tuning vector; Prop 1 says tokens on segment t are proportional to
  :math:`w_t^{1/(1-\sigma)}` and totals depend on w only through :math:`\theta(w)`.
* :func:`solve_constrained_efficient` — Cor 1: the aggregate planner's problem with capacities; its
  solution is the efficient allocation at costs inflated by the capacity duals.
"""

from __future__ import annotations

from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from mechdesign.engine.solver_adapter import CLARABEL_FIRST_PASS, CLARABEL_OPTIONS, solve_quietly
from mechdesign.exceptions import SolverError
from mechdesign.settings.costs import ces_hypograph, geo_mean_hypograph
from mechdesign.technology import BaselineFineTuning, CESFineTuning, NoFineTuning, Technology

FloatArray = np.ndarray


def _solve(prob: cp.Problem, what: str) -> None:
    """Solve at the final accuracy; if Clarabel stalls there, retry at first-pass accuracy."""
    try:
        solve_quietly(prob, "CLARABEL", CLARABEL_OPTIONS)
    except cp.error.SolverError:
        try:
            solve_quietly(prob, "CLARABEL", CLARABEL_FIRST_PASS)
        except cp.error.SolverError as exc:
            raise SolverError(f"CLARABEL failed on {what}: {exc}") from None
    if prob.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
        raise SolverError(f"CLARABEL returned status {prob.status} on {what}")


def _phi_terms(tech: Technology, Z: cp.Expression, n: int, z_unit: FloatArray,
               anchor: float | None = None) -> tuple[list[cp.Constraint], list[cp.Expression], list[float]]:
    """Fine-tuning factor as geo-mean terms, Z in units of ``z_unit``.

    Phi is normalised to 1 at ``z_unit`` (at ``anchor`` fine-tuning tokens for the baseline form,
    default ``z_unit``), matching the quality unit of the caller."""
    ft = tech.finetuning
    if isinstance(ft, NoFineTuning):
        return [], [], []
    if isinstance(ft, CESFineTuning):
        yh = cp.Variable(n, nonneg=True)
        return ces_hypograph(ft.aggregator.reweighted(z_unit), Z, yh), [yh], [ft.sigma_hat]
    assert isinstance(ft, BaselineFineTuning)
    base = float(z_unit[0]) if anchor is None else anchor
    return [], [(ft.b + z_unit[0] * Z[:, 0]) / (ft.b + base)], [ft.gamma]


@dataclass(frozen=True)
class TaskAllocation:
    """Solution of a task-level program: value, per-segment tokens (T, J), fine-tuning tokens."""

    value: float
    x: FloatArray
    z: FloatArray
    status: str


def solve_buyer_allocation(tech: Technology, w: FloatArray, measures: FloatArray, X: FloatArray,
                           Z: FloatArray | None = None) -> TaskAllocation:
    r"""Solve eq. (8) numerically: the buyer's best split of budget X over the task segments.

    Returns the value :math:`\sum_t \mu_t w_t \Psi(x_t)\Phi(Z)` and the split; Prop 2 predicts
    :math:`\theta(w)\Psi(X)\Phi(Z)`.
    """
    w = np.asarray(w, dtype=float)
    mu = np.asarray(measures, dtype=float)
    X = np.asarray(X, dtype=float)
    T, J = w.size, tech.J
    phi = float(tech.phi(None if tech.K == 0 else np.asarray(Z, dtype=float)))
    x = cp.Variable((T, J), nonneg=True)  # in units of X
    y = cp.Variable(T, nonneg=True)
    s = cp.Variable(T)
    cons = ces_hypograph(tech.inference.reweighted(X), x, y)
    cons += geo_mean_hypograph([y, cp.Constant(np.ones(T))], [tech.sigma, 1 - tech.sigma], s)
    cons += [mu @ x == np.ones(J)]
    unit = float(tech.psi(X))  # Psi(X o x) = Psi(X) * psi_tilde(x)
    prob = cp.Problem(cp.Maximize((mu * w) @ s), cons)
    _solve(prob, "the buyer's allocation program (8)")
    return TaskAllocation(float(prob.value) * unit * phi, np.asarray(x.value) * X[None, :],
                          np.zeros(0) if Z is None else np.asarray(Z, dtype=float), prob.status)


def solve_efficient_tasks(tech: Technology, w: FloatArray, measures: FloatArray,
                          unit_quality: float) -> TaskAllocation:
    r"""Solve the planner's problem (5) over per-segment inference tokens and shared fine-tuning.

    ``unit_quality`` sets the units the solver sees (any quality of the right order; the budgets that
    reach it cost-minimally are the unit bundle). Returns total surplus and the allocation.
    """
    w = np.asarray(w, dtype=float)
    mu = np.asarray(measures, dtype=float)
    T, J, K = w.size, tech.J, tech.K
    Xu, Zu = tech.budgets(np.array(unit_quality))
    zu = np.maximum(Zu, 1e-300) if K else Zu
    if isinstance(tech.finetuning, BaselineFineTuning):
        zu = np.array([max(float(Zu[0]), tech.finetuning.b)])
    q_unit = float(tech.gain(Xu, Zu if K else None))
    x = cp.Variable((T, J), nonneg=True)
    y = cp.Variable(T, nonneg=True)
    s = cp.Variable(T)
    cons = ces_hypograph(tech.inference.reweighted(Xu), x, y)
    Zv = cp.Variable((1, max(K, 1)), nonneg=True)
    terms: list[cp.Expression] = [y]
    weights = [tech.sigma]
    if K:
        # Phi normalised at the cost-minimising budget Zu, so that quality is in units of q_unit
        ft_cons, ft_terms, ft_w = _phi_terms(tech, Zv, 1, zu, anchor=float(Zu[0]))
        cons += ft_cons
        terms.append(cp.reshape(cp.hstack([ft_terms[0]] * T), (T,), order="C"))
        weights += ft_w
    terms.append(cp.Constant(np.ones(T)))
    weights.append(1 - sum(weights))
    cons += geo_mean_hypograph(terms, weights, s)
    cost = (mu @ x) @ (tech.c * Xu)
    if K:
        cost = cost + Zv[0] @ (tech.c_hat * zu)
    prob = cp.Problem(cp.Maximize((mu * w) @ s - cost / q_unit), cons)  # money in units of q_unit
    _solve(prob, "the planner's task-level program (5)")
    z = np.asarray(Zv.value)[0] * zu if K else np.zeros(0)
    return TaskAllocation(float(prob.value) * q_unit, np.asarray(x.value) * Xu[None, :], z, prob.status)


@dataclass(frozen=True)
class ConstrainedEfficient:
    """Cor 1: the capacity-constrained efficient allocation and the capacity shadow prices."""

    quality: float
    X: FloatArray
    Z: FloatArray
    shadow_x: FloatArray
    shadow_z: FloatArray
    surplus: float


def solve_constrained_efficient(tech: Technology, theta: float, X_cap: FloatArray,
                                Z_cap: FloatArray | None = None) -> ConstrainedEfficient:
    r"""Solve :math:`\max \theta\Psi(X)\Phi(Z) - c\cdot X - \hat c\cdot Z` s.t. :math:`X \le \bar X`,
    :math:`Z \le \bar Z` (Cor 1, aggregated by Prop 2) and return the capacity duals
    :math:`\lambda, \hat\lambda \ge 0`. Cor 1 says the solution is efficient at costs
    :math:`c+\lambda, \hat c+\hat\lambda`.
    """
    Xc = np.asarray(X_cap, dtype=float)
    Zc = np.zeros(0) if Z_cap is None else np.asarray(Z_cap, dtype=float)
    K = tech.K
    x = cp.Variable((1, tech.J), nonneg=True)  # in units of the caps
    y = cp.Variable(1, nonneg=True)
    q = cp.Variable(1)
    cons = ces_hypograph(tech.inference.reweighted(Xc), x, y)
    terms: list[cp.Expression] = [y]
    weights = [tech.sigma]
    zv = cp.Variable((1, max(K, 1)), nonneg=True)
    if K:
        ft_cons, ft_terms, ft_w = _phi_terms(tech, zv, 1, Zc)
        cons += ft_cons
        terms += ft_terms
        weights += ft_w
    terms.append(cp.Constant(np.ones(1)))
    weights.append(1 - sum(weights))
    cons += geo_mean_hypograph(terms, weights, q)
    q_unit = float(tech.gain(Xc, Zc if K else None))
    money = max(theta * q_unit, 1e-300)
    cap_x = x[0] <= 1
    cons.append(cap_x)
    cost = x[0] @ (tech.c * Xc)
    cap_z = zv[0] <= 1
    if K:
        cons.append(cap_z)
        cost = cost + zv[0] @ (tech.c_hat * Zc)
    prob = cp.Problem(cp.Maximize((theta * q_unit * q[0] - cost) / money), cons)
    _solve(prob, "the capacity-constrained planner's problem (Cor 1)")
    # dual of x_j <= 1 in scaled units is d(objective/money)/d(cap in units) -> per token: * money / Xc
    lam = np.asarray(cap_x.dual_value, dtype=float) * (money / Xc)
    lam_z = np.asarray(cap_z.dual_value, dtype=float) * (money / Zc) if K else np.zeros(0)
    X = np.asarray(x.value)[0] * Xc
    Z = np.asarray(zv.value)[0] * Zc if K else np.zeros(0)
    return ConstrainedEfficient(float(np.asarray(q.value)[0]) * q_unit, X, Z, lam, lam_z, float(prob.value) * money)
