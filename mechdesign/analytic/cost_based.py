r"""Cost-based tariffs and separable type distributions (BBS Appendix B.1, Defs 4-6, Prop 8).

A **cost-based tariff** (Def 4) is a menu of monetary budgets and fees :math:`\{(B_n, T_n)\}`: the
buyer pays :math:`T_n` and may spend :math:`B_n` on tokens priced at marginal cost. Demand is
separable (Def 5) in this model: by Prop 2 a budget :math:`B` is worth
:math:`V(w, B) = \theta(w)\,C^{-1}(B)` to type :math:`w`, so a cost-based tariff is the optimal menu of
token budgets for the induced distribution of the aggregate type :math:`\theta(w)` (eq. 7), with
:math:`B_n = C(Q_n)`. For discrete types that menu is the exact discrete menu of
:mod:`mechdesign.analytic.monopoly`; :func:`cost_based_tariff` builds it and :meth:`CostBasedTariff.simulate`
lets every task profile pick its best item.

A distribution is **type separable** (Def 6) when the size :math:`\theta(w)` and the direction
:math:`w/\theta(w)` are independent. :func:`separable_profiles` builds such a discrete distribution
(every size on every ray, product probabilities); :func:`joint_profiles` builds an arbitrary joint
law on the same grid (non-separable unless the matrix has rank one).

**Prop 8 on discrete types.** Armstrong's argument goes through exactly: relaxing the ICs between
rays leaves, on every ray, the same one-dimensional discrete problem (cost of ray quality :math:`C`
because :math:`\theta(d) = 1`, and size probabilities proportional to the same marginal), whose
solution the cost-based tariff implements. So the contractible program's profit equals the tariff's;
without separability it can be strictly larger.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mechdesign import _validate as V
from mechdesign.analytic.monopoly import DiscreteMenu, discrete_menu
from mechdesign.exceptions import ProblemSpecError
from mechdesign.technology import Technology
from mechdesign.types import DiscreteTypes, TaskProfileTypes, aggregate_type

FloatArray = np.ndarray


def _directions(directions: FloatArray, measures: FloatArray, sigma: float) -> FloatArray:
    d = np.asarray(directions, dtype=float)
    if d.ndim != 2 or d.shape[1] != measures.size or np.any(d < 0) or not np.all(np.isfinite(d)):
        raise ProblemSpecError("types.directions", d.tolist(),
                               f"must be a list of non-negative task profiles of length {measures.size}")
    norm = aggregate_type(d, measures, sigma)
    if np.any(norm <= 0):
        raise ProblemSpecError("types.directions", d.tolist(), "every direction needs a positive entry")
    return d / norm[:, None]


def joint_profiles(sizes: FloatArray, directions: FloatArray, joint: FloatArray, measures: FloatArray,
                   sigma: float) -> TaskProfileTypes:
    r"""Profiles :math:`w = \theta_k d_r` with joint probabilities ``joint[k, r]`` (cells with 0 are dropped).

    Directions are normalised so that :math:`\theta(d_r) = 1` (eq. 7); the size of :math:`w` is then
    exactly :math:`\theta_k`.
    """
    mu = V.weights("types.measures", measures)
    th = V.vector("types.sizes", sizes)
    if np.any(th <= 0):
        raise ProblemSpecError("types.sizes", th.tolist(), "sizes must be > 0")
    d = _directions(directions, mu, sigma)
    P = np.asarray(joint, dtype=float)
    if P.shape != (th.size, d.shape[0]) or np.any(P < 0) or abs(P.sum() - 1.0) > V.PROB_SUM_TOL:
        raise ProblemSpecError("types.joint", P.tolist(),
                               f"must be a {th.size} x {d.shape[0]} matrix of probabilities summing to 1")
    k, r = np.nonzero(P > 0)
    return TaskProfileTypes(th[k, None] * d[r], P[k, r], mu)


def separable_profiles(sizes: FloatArray, size_prob: FloatArray, directions: FloatArray,
                       direction_prob: FloatArray, measures: FloatArray, sigma: float) -> TaskProfileTypes:
    """A type-separable distribution (Def 6): independent sizes and directions."""
    ps = V.vector("types.size_prob", size_prob, length=np.size(sizes))
    pd_ = V.vector("types.direction_prob", direction_prob, length=np.shape(directions)[0])
    for name, p in (("types.size_prob", ps), ("types.direction_prob", pd_)):
        if np.any(p <= 0) or abs(p.sum() - 1.0) > V.PROB_SUM_TOL:
            raise ProblemSpecError(name, p.tolist(), f"must be > 0 and sum to 1 (sum {p.sum():.12g})")
    return joint_profiles(sizes, directions, np.outer(ps, pd_), measures, sigma)


def separability_gap(types: TaskProfileTypes, sigma: float) -> float:
    r"""Largest :math:`|P(\theta, d) - P(\theta)P(d)|` on the support grid (0 for a separable law)."""
    th = aggregate_type(types.w, types.measures, sigma)
    d = np.round(types.w / th[:, None], 10)
    _, ti = np.unique(np.round(th, 10), return_inverse=True)
    _, di = np.unique(d, axis=0, return_inverse=True)
    P = np.zeros((ti.max() + 1, di.max() + 1))
    np.add.at(P, (ti, di.ravel()), types.prob)
    return float(np.abs(P - np.outer(P.sum(1), P.sum(0))).max())


@dataclass(frozen=True)
class CostBasedTariff:
    """Optimal cost-based tariff (Def 4): budgets ``B`` and fees ``T`` for the induced aggregate types."""

    tech: Technology
    menu: DiscreteMenu
    budget: FloatArray
    fee: FloatArray

    @property
    def profit(self) -> float:
        return self.menu.profit

    def simulate(self, types: TaskProfileTypes) -> tuple[FloatArray, FloatArray, float]:
        r"""Each profile picks the item maximising :math:`\theta(w) C^{-1}(B_n) - T_n` (or nothing).

        Returns the chosen item (-1 = nothing), the quality each profile obtains and the profit.
        """
        th = aggregate_type(types.w, types.measures, self.tech.sigma)
        Q = self.tech.inverse_cost(self.budget)
        pay = th[:, None] * Q[None, :] - self.fee[None, :]
        best = np.argmax(pay, axis=1)
        # ties go to the seller: among items within 1e-12 of the best, take the most profitable one
        margin = self.fee - self.budget
        top = pay >= pay[np.arange(len(th)), best][:, None] - 1e-12 * max(1.0, float(np.abs(pay).max()))
        best = np.argmax(np.where(top, margin[None, :], -np.inf), axis=1)
        gain = pay[np.arange(len(th)), best]
        choice = np.where(gain >= -1e-12, best, -1)
        quality = np.where(choice >= 0, Q[np.maximum(choice, 0)], 0.0)
        profit = float(types.prob @ np.where(choice >= 0, margin[np.maximum(choice, 0)], 0.0))
        return choice, quality, profit


def cost_based_tariff(tech: Technology, types: TaskProfileTypes) -> CostBasedTariff:
    """The optimal cost-based tariff for task-profile types (= optimal budget menu for their theta law)."""
    scalar: DiscreteTypes = types.aggregate(tech.sigma)[0]
    menu = discrete_menu(tech, scalar)
    return CostBasedTariff(tech, menu, menu.cost, menu.transfer)
