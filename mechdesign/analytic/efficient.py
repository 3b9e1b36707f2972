r"""Efficient allocation and the buyer's indirect utility (BBS §3: Prop 1, Prop 2, Cor 1)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mechdesign.technology import Technology
from mechdesign.types import aggregate_type

FloatArray = np.ndarray


@dataclass(frozen=True)
class EfficientAllocation:
    """First-best allocation for aggregate type ``theta`` (Prop 1 with Lemma 3)."""

    theta: float
    quality: float
    X: FloatArray
    Z: FloatArray
    cost: float
    surplus: float


def efficient_allocation(tech: Technology, theta: float) -> EfficientAllocation:
    r"""Efficient quality :math:`Q^*` with :math:`\theta = C'(Q^*)` and its token budgets (Prop 1).

    Total surplus is :math:`\theta Q^* - C(Q^*)`. For homogeneous technologies,
    :math:`Q^* = (\theta(\sigma+\hat\sigma)/C_0)^{(\sigma+\hat\sigma)/(1-\sigma-\hat\sigma)}` (eq. 23).
    """
    q = float(tech.efficient_quality(np.array([theta]))[0])
    X, Z = tech.budgets(np.array(q))
    cost = float(tech.cost(np.array(q)))
    return EfficientAllocation(float(theta), q, X, Z, cost, float(theta * q - cost))


def efficient_task_tokens(tech: Technology, w: FloatArray, measures: FloatArray) -> FloatArray:
    r"""Per-task inference tokens of the efficient allocation (Prop 1).

    Tokens on segment :math:`t` are :math:`x_t = (w_t/\theta(w))^{1/(1-\sigma)} X^*`, i.e.
    proportional to :math:`w_t^{1/(1-\sigma)}` with the totals :math:`\sum_t\mu_t x_t = X^*`.
    Returns shape ``(T, J)``.
    """
    w = np.asarray(w, dtype=float)
    theta = float(aggregate_type(w, measures, tech.sigma))
    X = efficient_allocation(tech, theta).X
    return ((w / theta) ** (1.0 / (1.0 - tech.sigma)))[:, None] * X[None, :]


def indirect_utility(tech: Technology, w: FloatArray, measures: FloatArray, X: FloatArray,
                     Z: FloatArray | None = None) -> float:
    r"""Buyer's indirect utility from budgets :math:`(X, Z)`: :math:`\theta(w)\Psi(X)\Phi(Z)` (Prop 2)."""
    theta = float(aggregate_type(np.asarray(w, dtype=float), measures, tech.sigma))
    return theta * float(tech.gain(np.asarray(X, dtype=float), Z))


def buyer_allocation(tech: Technology, w: FloatArray, measures: FloatArray, X: FloatArray) -> FloatArray:
    r"""The buyer's optimal split of budget :math:`X` over task segments (proof of Prop 2).

    :math:`x_t = y_t d` with :math:`d = X/\sum_j X_j` and
    :math:`y_t \propto w_t^{1/(1-\sigma)}` scaled so that :math:`\sum_t \mu_t x_t = X`.
    Returns shape ``(T, J)``.
    """
    w = np.asarray(w, dtype=float)
    mu = np.asarray(measures, dtype=float)
    X = np.asarray(X, dtype=float)
    r = w ** (1.0 / (1.0 - tech.sigma))
    return (r / float(mu @ r))[:, None] * X[None, :]
