r"""The contractible-task screening program (BBS Appendix B): a quality per task segment per type.

Type :math:`n` has task values :math:`w_n` over :math:`T` segments of measure :math:`\mu_t`; an item
gives per-segment qualities :math:`q_{n,t}` produced by per-segment inference tokens
:math:`x_{n,t} \in R^J` and one fine-tuning vector :math:`z_n \in R^K` shared by all segments:

.. math::
    \max \sum_n f_n\Big(t_n - \sum_t \mu_t\, c\cdot x_{n,t} - \hat c\cdot z_n\Big)
    \ \text{s.t.}\ \Psi(x_{n,t})\Phi(z_n) \ge q_{n,t},\ 
    \sum_t \mu_t w_{n,t} q_{n,t} - t_n \ge \sum_t \mu_t w_{n,t} q_{m,t} - t_m,\ 
    \sum_t \mu_t w_{n,t} q_{n,t} - t_n \ge 0.

It is the engine of :mod:`mechdesign.program` with type vectors :math:`v_n = \mu\circ w_n`
(D = T) and the cost model below; every answer is audited against all IC pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from .audit import AUDIT_RTOL, AuditReport, audit_menu
from .conic import ces_hypograph, geo_mean_hypograph
from .exceptions import AuditError
from .program import ScreeningProgram
from .technology import CESFineTuning, NoFineTuning, Technology
from .types import TaskProfileTypes

FloatArray = np.ndarray


@dataclass
class ContractibleCostModel:
    """Per-segment tokens and shared fine-tuning; quality in units of ``q_ref``, money of ``money_ref``."""

    tech: Technology
    measures: FloatArray
    q_ref: float
    money_ref: float

    def __post_init__(self) -> None:
        ft = self.tech.finetuning
        if not isinstance(ft, (NoFineTuning, CESFineTuning)):
            raise NotImplementedError("contractible tasks support none or homogeneous CES fine-tuning")
        X, Z = self.tech.budgets(np.array(self.q_ref))
        self.x_ref = np.maximum(X, 1e-300)
        self.z_ref = np.maximum(Z, 1e-300)
        self.q_scale = float(self.tech.gain(X, Z if self.tech.K else None))

    def build(self, q: cp.Expression) -> tuple[list[cp.Constraint], cp.Expression, dict[str, cp.Variable]]:
        tech = self.tech
        N, T = q.shape
        rows = N * T
        X = cp.Variable((rows, tech.J), nonneg=True, name="X")
        y = cp.Variable(rows, nonneg=True)
        cons = ces_hypograph(tech.inference.reweighted(self.x_ref), X, y)
        terms: list[cp.Expression] = [y]
        weights = [tech.sigma]
        tokens: dict[str, cp.Variable] = {"X": X}
        row_cost = cp.reshape(X @ (tech.c * self.x_ref), (N, T), order="C") @ self.measures
        cost = row_cost
        ft = tech.finetuning
        if isinstance(ft, CESFineTuning):
            Z = cp.Variable((N, tech.K), nonneg=True, name="Z")
            yh = cp.Variable(N, nonneg=True)
            cons += ces_hypograph(ft.aggregator.reweighted(self.z_ref), Z, yh)
            terms.append(yh[np.repeat(np.arange(N), T)])
            weights.append(ft.sigma_hat)
            tokens["Z"] = Z
            cost = cost + Z @ (ft.c_hat * self.z_ref)
        terms.append(cp.Constant(np.ones(rows)))
        weights.append(1.0 - sum(weights))
        q_flat = cp.reshape(q, (rows,), order="C")
        cons += geo_mean_hypograph(terms, weights, q_flat * (self.q_ref / self.q_scale))
        cons.append(q_flat >= 0)
        return cons, cost / self.money_ref, tokens


@dataclass
class ContractibleResult:
    """Numeric contractible menu: per-segment qualities (N, T), transfers, profit, audit, IC duals."""

    quality: FloatArray
    transfer: FloatArray
    profit: float
    audit: AuditReport
    ic_pairs: FloatArray
    ic_duals: FloatArray
    ir_duals: FloatArray
    status: str


def solve_contractible(tech: Technology, types: TaskProfileTypes, ic: str = "all",
                       solver: str = "CLARABEL") -> ContractibleResult:
    """Solve the contractible program for task-profile types (``ic``: 'all' or 'adaptive')."""
    w, f, mu = types.w, types.prob, types.measures
    values = w * mu[None, :]
    theta = np.asarray([float((mu @ row ** (1 / (1 - tech.sigma))) ** (1 - tech.sigma)) for row in w])
    th_max = float(theta.max())
    q_ref = float(tech.efficient_quality(np.array([th_max]))[0])
    money = th_max * q_ref
    model = ContractibleCostModel(tech, mu, q_ref, money)
    prog = ScreeningProgram(values / th_max, f, model)
    sol = prog.solve(ic=ic, solver=solver)
    quality = sol.allocation * q_ref
    transfer = sol.transfer * money
    audit = audit_menu(values, quality, transfer, rtol=AUDIT_RTOL)
    if not audit.passed:
        raise AuditError(f"the contractible menu fails the all-pairs audit (max IC violation "
                         f"{audit.max_ic_violation_rel:.2e} relative)")
    X = sol.tokens["X"].reshape(len(f), -1, tech.J) * model.x_ref
    token_cost = (X @ tech.c) @ mu
    if "Z" in sol.tokens:
        token_cost = token_cost + (sol.tokens["Z"] * model.z_ref) @ tech.c_hat
    return ContractibleResult(quality, transfer, float(f @ (transfer - token_cost)), audit, sol.ic_pairs,
                              sol.ic_duals, sol.ir_duals, sol.status)
