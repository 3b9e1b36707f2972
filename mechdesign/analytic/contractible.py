r"""Contractible tasks with two types (BBS Appendix B.2, Prop 9), closed forms.

With contractible tasks a menu item specifies a quality per task segment, :math:`q = (q_t)_t`. For a
(possibly virtual) task profile :math:`v` the efficient profile follows Prop 1 task by task: with
:math:`v^+ = \max(v, 0)` and :math:`\theta^+ = \theta(v^+)` (eq. 7),

.. math::
    q_t = (v^+_t/\theta^+)^{\sigma/(1-\sigma)}\,Q^*(\theta^+),\qquad \text{cost } C(Q^*(\theta^+)),

so that :math:`\sum_t \mu_t v_t q_t = \theta^+ Q^*`. Segments with :math:`v_t \le 0` get no tokens:
Prop 9 states the low type is "efficient with respect to a virtual type"; where that virtual value
is negative, efficiency means zero quality on the segment (checked numerically in the tests).

Prop 9: the high type H is the one with the larger aggregate type. If condition (52),
:math:`\sum_t \mu_t (w_{H,t} - w_{L,t}) w_{L,t}^{\sigma/(1-\sigma)} \le 0`, holds, both types get
efficient profiles and pay their full value (full surplus extraction). Otherwise H is efficient, L is
efficient for the virtual type :math:`w_L - (w_H - w_L) f_H / f_L`, IR of L and IC of H bind.

**Correction (found by ``mechdesign validate``).** Prop 9 omits a third case. H's rent in the
second case is :math:`U_H = \sum_t \mu_t (w_{H,t} - w_{L,t}) q_{L,t}`, which can be *negative* when
the types are horizontally differentiated: distorting :math:`q_L` toward the virtual type can remove
H's envy entirely. Then H's IR binds as well, and L is efficient for
:math:`w_L - \lambda (w_H - w_L)` with :math:`\lambda \in (0, f_H/f_L)` chosen so that
:math:`U_H = 0` (the kink of :math:`\max(0, \sum_t \mu_t (w_H - w_L) q_L)` in the seller's
objective). Both rents are zero but L's allocation is distorted. :func:`binary_menu` implements all
three cases; the contractible program confirms them (tests/test_contractible.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from mechdesign.technology import Technology
from mechdesign.types import aggregate_type

FloatArray = np.ndarray


def efficient_profile(tech: Technology, v: FloatArray, measures: FloatArray) -> tuple[FloatArray, float]:
    """Efficient per-segment qualities for task profile ``v`` (negative entries get zero) and their cost."""
    vp = np.maximum(np.asarray(v, dtype=float), 0.0)
    th = float(aggregate_type(vp, measures, tech.sigma))
    if th <= 0:
        return np.zeros_like(vp), 0.0
    Q = float(tech.efficient_quality(np.array([th]))[0])
    return (vp / th) ** (tech.sigma / (1.0 - tech.sigma)) * Q, float(tech.cost(np.array(Q)))


@dataclass(frozen=True)
class BinaryMenu:
    """Prop 9's optimal menu for two task-profile types (index order as given)."""

    high: int
    full_extraction: bool
    condition_52: float
    kink: bool
    lam: float
    quality: FloatArray
    transfer: FloatArray
    cost: FloatArray
    prob: FloatArray

    @property
    def profit(self) -> float:
        return float(self.prob @ (self.transfer - self.cost))


def binary_menu(tech: Technology, w: FloatArray, prob: FloatArray, measures: FloatArray) -> BinaryMenu:
    """Prop 9 in closed form for types ``w[0], w[1]`` with probabilities ``prob``."""
    w = np.asarray(w, dtype=float)
    prob = np.asarray(prob, dtype=float)
    mu = np.asarray(measures, dtype=float)
    th = aggregate_type(w, mu, tech.sigma)
    H = int(np.argmax(th))
    L = 1 - H
    s = tech.sigma
    cond = float(mu @ ((w[H] - w[L]) * w[L] ** (s / (1.0 - s))))
    qH, cH = efficient_profile(tech, w[H], mu)
    full = cond <= 0
    if full:
        qL, cL = efficient_profile(tech, w[L], mu)
        tL = float(mu @ (w[L] * qL))
        tH = float(mu @ (w[H] * qH))
    lam, kink = 0.0, False
    if not full:
        def envy(x: float) -> float:
            return float(mu @ ((w[H] - w[L]) * efficient_profile(tech, w[L] - x * (w[H] - w[L]), mu)[0]))

        lam = float(prob[H] / prob[L])
        if envy(lam) < 0:  # the virtual-type menu would violate H's IR: U_H = 0 at the kink
            kink = True
            lam = float(optimize.brentq(envy, 0.0, lam, xtol=1e-15, rtol=1e-15))
        qL, cL = efficient_profile(tech, w[L] - lam * (w[H] - w[L]), mu)
        tL = float(mu @ (w[L] * qL))
        tH = float(mu @ (w[H] * qH)) - max(float(mu @ ((w[H] - w[L]) * qL)), 0.0)
    quality = np.zeros_like(w)
    quality[H], quality[L] = qH, qL
    transfer = np.zeros(2)
    transfer[H], transfer[L] = tH, tL
    cost = np.zeros(2)
    cost[H], cost[L] = cH, cL
    return BinaryMenu(H, full, cond, kink, lam, quality, transfer, cost, prob)
