r"""The optimal menu of token budgets (BBS §4.1, Prop 3, eqs. 11-13), continuous and discrete types.

Continuous types (Prop 3): types with :math:`\bar\varphi(\theta)\le 0` are excluded; the others get
:math:`Q(\theta)` with :math:`\bar\varphi(\theta) = C'(Q(\theta))` (eq. 12) and pay
:math:`t(\theta) = \theta Q(\theta) - \int_{\underline\theta}^{\theta} Q(r)\,dr` (eq. 13).

Discrete types :math:`\theta_1<\dots<\theta_N` (the exact optimum of the discretised problem): with
the discrete virtual values :math:`\varphi_n` ironed into :math:`\bar\varphi_n` (convex hull of the
revenue curve), :math:`Q_n = (C')^{-1}(\max(\bar\varphi_n, 0))`; local downward IC binds and IR
binds at the lowest type, so the rents are :math:`U_1 = 0`,
:math:`U_n = U_{n-1} + (\theta_n-\theta_{n-1})Q_{n-1}` (the discrete eq. 13) and
:math:`t_n = \theta_n Q_n - U_n`.

Why this is the exact discrete optimum: profit equals :math:`\sum_n f_n(\varphi_n Q_n - C(Q_n))` once
the local downward ICs and the lowest IR bind; maximising that over non-decreasing
:math:`Q \ge 0` with :math:`C` strictly convex gives :math:`C'(Q_n) = \bar\varphi_n` where
:math:`\bar\varphi` is the :math:`f`-weighted isotonic regression of :math:`\varphi`, which is the slope
of the convex hull (Myerson 1981; Mussa and Rosen 1978).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from mechdesign.technology import Technology
from mechdesign.types import DiscreteTypes, Distribution, iron_discrete

FloatArray = np.ndarray

_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(16)


@dataclass(frozen=True)
class DiscreteMenu:
    """Exact optimal menu of a discrete-type single-model problem (closed form, no solver)."""

    types: DiscreteTypes
    phi: FloatArray
    phi_bar: FloatArray
    quality: FloatArray
    transfer: FloatArray
    rent: FloatArray
    X: FloatArray
    Z: FloatArray
    cost: FloatArray
    pooled_blocks: list[tuple[int, int]]
    groups: FloatArray = field(repr=False)

    @property
    def excluded(self) -> FloatArray:
        """Boolean mask of excluded types (:math:`\\bar\\varphi_n \\le 0`)."""
        return self.phi_bar <= 0

    @property
    def lowest_served(self) -> int | None:
        """Index of the lowest served type (None if all are excluded)."""
        idx = np.flatnonzero(~self.excluded)
        return int(idx[0]) if idx.size else None

    @property
    def profit(self) -> float:
        """Expected profit :math:`\\sum_n f_n (t_n - C(Q_n))`."""
        return float(self.types.prob @ (self.transfer - self.cost))

    @property
    def surplus(self) -> float:
        """Expected total surplus :math:`\\sum_n f_n(\\theta_n Q_n - C(Q_n))`."""
        return float(self.types.prob @ (self.types.theta * self.quality - self.cost))

    @property
    def consumer_surplus(self) -> float:
        """Expected buyer rent :math:`\\sum_n f_n U_n`."""
        return float(self.types.prob @ self.rent)

    def predicted_tight(self, pairs: FloatArray) -> FloatArray:
        """Which IC pairs ``(n, m)`` (type n mimics m) theory says are tight; see :func:`predicted_tight_ic`."""
        return predicted_tight_ic(self.groups, pairs)

    def local_downward_multipliers(self) -> FloatArray:
        r"""Multipliers of the local downward ICs (n -> n-1) for served, unpooled types above the lowest.

        Stationarity in :math:`t_n` gives :math:`\lambda_n = f_n + \lambda_{n+1}`, i.e. the tail mass
        :math:`\lambda_n = \sum_{k\ge n} f_k` (in units of expected profit per unit of transfer).
        Entry ``n`` is ``nan`` where the multiplier is not pinned down by that argument
        (excluded or pooled types, the lowest served type).
        """
        out = np.full(self.types.n, np.nan)
        tail = np.cumsum(self.types.prob[::-1])[::-1]
        low = self.lowest_served
        if low is None:
            return out
        in_pool = np.zeros(self.types.n, dtype=bool)
        for i, j in self.pooled_blocks:
            in_pool[max(i - 1, 0):j + 1] = True
        for n in range(low + 1, self.types.n):
            if not in_pool[n]:
                out[n] = tail[n]
        return out


def discrete_menu(tech: Technology, types: DiscreteTypes) -> DiscreteMenu:
    """The exact optimal discrete menu (see the module docstring); the reference for the solver."""
    theta, prob = types.theta, types.prob
    phi = types.virtual_values()
    phi_bar, blocks = iron_discrete(phi, prob)
    quality = tech.inverse_marginal_cost(np.maximum(phi_bar, 0.0))
    rent = np.concatenate([[0.0], np.cumsum(np.diff(theta) * quality[:-1])])
    transfer = theta * quality - rent
    X, Z = tech.budgets(quality)
    cost = tech.cost(quality)
    groups = np.arange(types.n, dtype=float)
    for i, j in blocks:
        groups[i:j] = i
    excl = phi_bar <= 0
    if excl.any():
        groups[excl] = -1.0
    return DiscreteMenu(types, phi, phi_bar, quality, transfer, rent, X, Z, cost, blocks, groups)


def predicted_tight_ic(groups: FloatArray, pairs: FloatArray) -> FloatArray:
    r"""Tight IC pairs predicted by theory for a menu with quality groups ``groups``.

    With local downward IC binding, the slack of type :math:`n` mimicking :math:`m<n` is
    :math:`\sum_{i=m}^{n-1}(\theta_{i+1}-\theta_i)(Q_i-Q_m)`, and mimicking :math:`m>n` is
    :math:`\sum_{i=n}^{m-1}(\theta_{i+1}-\theta_i)(Q_m-Q_i)`. So ``(n, m)`` is tight iff quality is
    constant on ``[m, n-1]`` (downward) or on ``[n, m]`` (upward). ``groups[i]`` labels each type's
    quality level (equal labels = equal quality, contiguous); ``pairs`` has shape ``(P, 2)``.
    """
    pairs = np.asarray(pairs, dtype=int).reshape(-1, 2)
    n, m = pairs[:, 0], pairs[:, 1]
    g = np.asarray(groups)
    down = m < n
    out = np.zeros(len(pairs), dtype=bool)
    out[down] = g[m[down]] == g[n[down] - 1]
    out[~down] = g[n[~down]] == g[m[~down]]
    return out


@dataclass(frozen=True)
class ContinuousMenu:
    """The continuous-type optimal menu of Prop 3 as functions of :math:`\\theta`."""

    tech: Technology
    dist: Distribution
    phi_bar: Callable[[FloatArray], FloatArray]
    cutoff: float
    pooled_intervals: list[tuple[float, float]]

    def quality(self, theta: FloatArray) -> FloatArray:
        r""":math:`Q(\theta) = (C')^{-1}(\bar\varphi(\theta))` for served types, else 0 (eq. 12)."""
        th = np.asarray(theta, dtype=float)
        return self.tech.inverse_marginal_cost(np.maximum(self.phi_bar(th), 0.0))

    def transfer(self, theta: FloatArray) -> FloatArray:
        r""":math:`t(\theta) = \theta Q(\theta) - \int_{\underline\theta}^{\theta} Q(r)dr` (eq. 13).

        The integral is taken by 16-point Gauss-Legendre on the sub-intervals between the requested
        points and the exclusion cutoff (Q is smooth on each).
        """
        th = np.asarray(theta, dtype=float)
        flat = th.reshape(-1)
        order = np.argsort(flat)
        knots = np.unique(np.concatenate([[self.dist.lo, max(self.cutoff, self.dist.lo)], flat]))
        knots = knots[knots >= self.dist.lo]
        a, b = knots[:-1], knots[1:]
        mid, half = 0.5 * (a + b), 0.5 * (b - a)
        nodes = mid[:, None] + half[:, None] * _GL_NODES[None, :]
        pieces = half * (self.quality(nodes) @ _GL_WEIGHTS)
        cum = np.concatenate([[0.0], np.cumsum(pieces)])
        integral = np.interp(flat[order], knots, cum)
        out = np.empty_like(flat)
        out[order] = flat[order] * self.quality(flat[order]) - integral
        return out.reshape(th.shape)

    def budgets(self, theta: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Cost-minimising token budgets delivering :math:`Q(\\theta)` (Prop 3 with Lemma 3)."""
        return self.tech.budgets(self.quality(theta))

    def profit(self, grid_size: int = 4001) -> float:
        r"""Expected profit :math:`\int (t(\theta) - C(Q(\theta))) dF(\theta)` (Simpson on a fine grid)."""
        from scipy.integrate import simpson

        x = np.linspace(self.dist.lo, self.dist.hi, grid_size)
        integrand = (self.transfer(x) - self.tech.cost(self.quality(x))) * self.dist.pdf(x)
        return float(simpson(np.nan_to_num(integrand), x=x))


def continuous_menu(tech: Technology, dist: Distribution) -> ContinuousMenu:
    r"""Prop 3's optimal menu for a continuous distribution (ironed when :math:`\varphi` is not monotone).

    The exclusion cutoff is the lowest type with :math:`\bar\varphi(\theta) > 0` (found by bisection
    on the non-decreasing :math:`\bar\varphi`).
    """
    phi_bar = dist.ironed_virtual_value()
    lo, hi = dist.lo, dist.hi
    eps = 1e-12 * (hi - lo)
    if float(phi_bar(np.array(lo + eps))) > 0:
        cutoff = lo
    elif float(phi_bar(np.array(hi - eps))) <= 0:
        cutoff = hi
    else:
        a, b = lo + eps, hi - eps
        for _ in range(200):
            mid = 0.5 * (a + b)
            if float(phi_bar(np.array(mid))) > 0:
                b = mid
            else:
                a = mid
        cutoff = 0.5 * (a + b)
    return ContinuousMenu(tech, dist, phi_bar, cutoff, dist.ironing_intervals())
