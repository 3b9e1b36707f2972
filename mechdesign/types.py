r"""Buyer types: discrete scalar types, task profiles, continuous distributions, virtual values, ironing.

* :class:`DiscreteTypes` — scalar aggregate types :math:`\theta_1 < \dots < \theta_N` with
  probabilities :math:`f_n > 0` summing to one.
* :class:`TaskProfileTypes` — task-value profiles :math:`w` over :math:`T` task segments with
  measures :math:`\mu_t`; :func:`aggregate_type` is eq. (7),
  :math:`\theta(w) = (\sum_t \mu_t w_t^{1/(1-\sigma)})^{1-\sigma}`.
* Continuous distributions on :math:`[a, b]` (:class:`Uniform`, :class:`BetaDist`, :class:`Power`,
  :class:`Mixture`, :class:`Tabulated`), each with ``pdf``, ``cdf`` and ``discretize(N)``: N equal
  cells, each represented by its midpoint and carrying its exact probability mass.
* Virtual values, eq. (11): continuous :math:`\varphi(\theta)=\theta-(1-F(\theta))/f(\theta)`, and
  the discrete analogue :math:`\varphi_n = \theta_n - (\theta_{n+1}-\theta_n)(1-F_n)/f_n` that makes
  local downward IC bind (Mussa-Rosen with finitely many types).
* Myerson ironing: discrete by the lower convex hull of the revenue curve
  :math:`(F_n, \sum_{i\le n} f_i\varphi_i)`; continuous by the same hull in quantile space on a fine
  grid.

This module is pure economics: it never imports the solver layer.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
from scipy import integrate, stats

from mechdesign import _validate as V
from mechdesign.exceptions import ProblemSpecError

FloatArray = np.ndarray

#: cells whose probability is below this are reported by :class:`~mechdesign.exceptions.DiscretisationWarning`
NEGLIGIBLE_MASS = 1e-14


@dataclass(frozen=True)
class DiscreteTypes:
    """Scalar types ``theta`` (strictly increasing, >= 0) with probabilities ``prob`` (> 0, sum 1).

    ``fields`` names the two lists in error messages (the problem-file keys they come from; default
    ``types.theta`` and ``types.prob``, e.g. ``types.w.values`` and ``types.w.prob`` for value-scale files).
    """

    theta: FloatArray
    prob: FloatArray
    fields: tuple[str, str] = field(default=("types.theta", "types.prob"), compare=False, repr=False)

    def __post_init__(self) -> None:
        f_theta, f_prob = self.fields
        th = V.vector(f_theta, self.theta)
        pr = V.vector(f_prob, self.prob, length=th.size)
        if np.any(th < 0):
            raise ProblemSpecError(f_theta, th.tolist(), "every type must be >= 0")
        V.strictly_increasing(f_theta, th)
        if np.any(pr <= 0):
            i = int(np.flatnonzero(pr <= 0)[0])
            raise ProblemSpecError(
                f_prob, pr.tolist(), f"every probability must be > 0 (entry {i} is {pr[i]:g})",
                "Drop types with zero probability.",
            )
        total = float(pr.sum())
        if abs(total - 1.0) > V.PROB_SUM_TOL:
            raise ProblemSpecError(
                f_prob, pr.tolist(), f"must sum to 1 (they sum to {total:.12g})", "Normalise them."
            )
        object.__setattr__(self, "theta", th)
        object.__setattr__(self, "prob", pr)

    @property
    def n(self) -> int:
        """Number of types."""
        return int(self.theta.size)

    @property
    def cdf(self) -> FloatArray:
        """:math:`F_n = \\sum_{i \\le n} f_i`."""
        return np.cumsum(self.prob)

    def virtual_values(self) -> FloatArray:
        r"""Discrete virtual values :math:`\varphi_n = \theta_n - (\theta_{n+1}-\theta_n)(1-F_n)/f_n`.

        The discrete counterpart of eq. (11); :math:`\varphi_N = \theta_N`.
        """
        return discrete_virtual_values(self.theta, self.prob)


def discrete_virtual_values(theta: FloatArray, prob: FloatArray) -> FloatArray:
    r"""Discrete virtual values (counterpart of eq. 11); see :meth:`DiscreteTypes.virtual_values`."""
    theta = np.asarray(theta, dtype=float)
    prob = np.asarray(prob, dtype=float)
    # sum_{k > n} f_k summed from the top (1 - F_n loses the small tail masses to cancellation)
    tail = np.append(np.cumsum(prob[::-1])[::-1][1:], 0.0)
    gaps = np.append(np.diff(theta), 0.0)
    return theta - gaps * tail / prob


def iron_discrete(phi: FloatArray, prob: FloatArray) -> tuple[FloatArray, list[tuple[int, int]]]:
    r"""Myerson-iron discrete virtual values by the lower convex hull of the revenue curve.

    The revenue curve is the piecewise-linear function through :math:`(F_n, H_n)` with
    :math:`H_n = \sum_{i\le n} f_i \varphi_i` and :math:`(F_0, H_0) = (0, 0)`. The ironed value
    :math:`\bar\varphi_n` is the slope of its lower convex hull over :math:`[F_{n-1}, F_n]`.

    Returns
    -------
    phi_bar : ndarray
        Ironed virtual values (non-decreasing).
    blocks : list of (start, stop)
        Maximal index ranges ``[start, stop)`` of length > 1 on which the hull is one segment whose
        interior vertices lie strictly above it (pooled types).
    """
    phi = np.asarray(phi, dtype=float)
    prob = np.asarray(prob, dtype=float)
    F = np.concatenate([[0.0], np.cumsum(prob)])
    H = np.concatenate([[0.0], np.cumsum(prob * phi)])
    hull: list[int] = []  # indices into F/H (vertex 0..N)
    for k in range(F.size):
        while len(hull) >= 2:
            i, j = hull[-2], hull[-1]
            # drop j if it lies on or above the chord i -> k (non-strict: merges equal slopes too)
            cross = (F[j] - F[i]) * (H[k] - H[i]) - (H[j] - H[i]) * (F[k] - F[i])
            if cross <= 0:
                hull.pop()
            else:
                break
        hull.append(k)
    phi_bar = np.empty_like(phi)
    blocks: list[tuple[int, int]] = []
    for i, j in pairwise(hull):
        # the block's weighted mean from its own entries (differences of the cumulative sums lose
        # cells of tiny mass to cancellation); a block of one type keeps its virtual value exactly
        slope = float(phi[i]) if j - i == 1 else float(np.dot(prob[i:j], phi[i:j]) / np.sum(prob[i:j]))
        phi_bar[i:j] = slope
        if j - i > 1 and not np.allclose(phi[i:j], slope, rtol=0, atol=1e-14 * max(1.0, abs(slope))):
            blocks.append((i, j))
    return phi_bar, blocks


# ---------------------------------------------------------------------------------- task profiles
def aggregate_type(w: FloatArray, measures: FloatArray, sigma: float) -> FloatArray:
    r"""Aggregate type :math:`\theta(w) = (\sum_t \mu_t w_t^{1/(1-\sigma)})^{1-\sigma}`, eq. (7).

    ``w`` has shape ``(..., T)``; ``measures`` (:math:`\mu_t`) shape ``(T,)``.
    """
    w = np.asarray(w, dtype=float)
    mu = np.asarray(measures, dtype=float)
    return (np.sum(mu * w ** (1.0 / (1.0 - sigma)), axis=-1)) ** (1.0 - sigma)


@dataclass(frozen=True)
class TaskProfileTypes:
    r"""Task-profile types :math:`w_n \in [0,\infty)^T` with probabilities and segment measures.

    Parameters
    ----------
    w : array_like, shape (N, T)
        Value of performance on each task segment (eq. 2, discretised into T segments).
    prob : array_like, shape (N,)
        Probabilities (> 0, sum 1).
    measures : array_like, shape (T,)
        Segment measures :math:`\mu_t > 0` summing to one (the unit measure of tasks, §2.1).
    """

    w: FloatArray
    prob: FloatArray
    measures: FloatArray

    def __post_init__(self) -> None:
        try:
            w = np.asarray(self.w, dtype=float)
        except (TypeError, ValueError):  # ragged rows, strings, complex numbers
            raise ProblemSpecError("types.w", self.w, "must be a non-empty list of equal-length task profiles "
                                   "of real numbers >= 0") from None
        if w.ndim != 2 or w.shape[0] < 1 or w.shape[1] < 1:
            raise ProblemSpecError("types.w", self.w, "must be a non-empty list of equal-length task profiles")
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ProblemSpecError("types.w", w.tolist(), "entries must be finite and >= 0")
        pr = V.vector("types.prob", self.prob, length=w.shape[0])
        if np.any(pr <= 0) or abs(pr.sum() - 1.0) > V.PROB_SUM_TOL:
            raise ProblemSpecError("types.prob", pr.tolist(), f"must be > 0 and sum to 1 (sum {pr.sum():.12g})")
        mu = V.weights("types.measures", self.measures, length=w.shape[1])
        object.__setattr__(self, "w", w)
        object.__setattr__(self, "prob", pr)
        object.__setattr__(self, "measures", mu)

    def aggregate(self, sigma: float) -> tuple[DiscreteTypes, FloatArray]:
        r"""Reduce to scalar types by eq. (7); profiles with equal :math:`\theta(w)` are merged (Prop 1).

        Returns the scalar types and, for each profile, the index of its scalar type.
        """
        th = aggregate_type(self.w, self.measures, sigma)
        key = np.round(th, 12)
        uniq, inverse = np.unique(key, return_inverse=True)
        prob = np.bincount(inverse, weights=self.prob)
        theta = np.array([th[inverse == k].mean() for k in range(uniq.size)])
        return DiscreteTypes(theta, prob / prob.sum()), inverse


# ---------------------------------------------------------------------------------- distributions
class Distribution(ABC):
    """A continuous type distribution on ``[lo, hi]`` with a density that is positive inside."""

    lo: float
    hi: float

    @abstractmethod
    def pdf(self, x: FloatArray) -> FloatArray:
        """Density :math:`f`."""

    @abstractmethod
    def cdf(self, x: FloatArray) -> FloatArray:
        """Distribution function :math:`F`."""

    @abstractmethod
    def describe(self) -> dict[str, object]:
        """JSON-ready parameters."""

    def virtual_value(self, x: FloatArray) -> FloatArray:
        r""":math:`\varphi(\theta) = \theta - (1-F(\theta))/f(\theta)`, eq. (11)."""
        x = np.asarray(x, dtype=float)
        dens = np.asarray(self.pdf(x), dtype=float)
        tail = 1.0 - np.asarray(self.cdf(x), dtype=float)
        pos = dens > 0
        ratio = np.divide(tail, dens, out=np.full_like(dens, np.inf), where=pos)
        # where the density vanishes the hazard rate is zero: phi = -inf (never served) unless F = 1
        ratio[~pos & (tail <= 0)] = 0.0
        return x - ratio

    def discretize(self, n: int) -> DiscreteTypes:
        """N equal cells on ``[lo, hi]``: midpoints as types, exact cell masses as probabilities."""
        n = V.integer("n", n, 2)
        edges = np.linspace(self.lo, self.hi, n + 1)
        mids = 0.5 * (edges[:-1] + edges[1:])
        cdf = np.clip(self.cdf(edges), 0.0, 1.0)
        cdf[0], cdf[-1] = 0.0, 1.0
        prob = np.diff(cdf)
        if np.any(prob <= 0):
            raise ProblemSpecError(
                "n", n, f"gives {int(np.sum(prob <= 0))} cells of zero mass under {self.describe()}",
                "Use fewer cells or a density that is positive on the whole support.",
            )
        return DiscreteTypes(mids, prob / prob.sum())

    def ironed_virtual_value(self, grid_size: int = 20001) -> Callable[[FloatArray], FloatArray]:
        r"""Myerson-ironed :math:`\bar\varphi`, as a function (interpolated on a fine grid).

        If :math:`\varphi` is non-decreasing on the grid it is returned unchanged (exact). Otherwise
        :math:`\bar\varphi` is the slope of the lower convex hull of
        :math:`H(p)=\int_0^p \varphi(F^{-1}(s))ds`, computed on ``grid_size`` points.
        """
        x = np.linspace(self.lo, self.hi, grid_size)
        inner = x[1:-1]
        phi = self.virtual_value(inner)
        if np.all(np.diff(phi) >= 0):
            return self.virtual_value
        p = self.cdf(inner)
        dp = np.diff(np.concatenate([[0.0], p]))
        dp = np.maximum(dp, 1e-300)
        phi_bar, _ = iron_discrete(phi, dp / dp.sum())
        lo_v, hi_v = float(phi_bar[0]), float(phi_bar[-1])
        return lambda t: np.interp(np.asarray(t, dtype=float), inner, phi_bar, left=lo_v, right=hi_v)

    def ironing_intervals(self, grid_size: int = 20001) -> list[tuple[float, float]]:
        """Intervals of types pooled by ironing (empty for a regular distribution)."""
        x = np.linspace(self.lo, self.hi, grid_size)
        inner = x[1:-1]
        phi = self.virtual_value(inner)
        if np.all(np.diff(phi) >= 0):
            return []
        p = self.cdf(inner)
        dp = np.maximum(np.diff(np.concatenate([[0.0], p])), 1e-300)
        _, blocks = iron_discrete(phi, dp / dp.sum())
        return [(float(inner[i]), float(inner[j - 1])) for i, j in blocks]


@dataclass(frozen=True)
class Uniform(Distribution):
    """Uniform on ``[lo, hi]``."""

    lo: float = 0.0
    hi: float = 1.0

    def __post_init__(self) -> None:
        _check_support(self.lo, self.hi)

    def pdf(self, x: FloatArray) -> FloatArray:
        x = np.asarray(x, dtype=float)
        return np.where((x >= self.lo) & (x <= self.hi), 1.0 / (self.hi - self.lo), 0.0)

    def cdf(self, x: FloatArray) -> FloatArray:
        return np.clip((np.asarray(x, dtype=float) - self.lo) / (self.hi - self.lo), 0.0, 1.0)

    def describe(self) -> dict[str, object]:
        return {"kind": "uniform", "lo": self.lo, "hi": self.hi}


@dataclass(frozen=True)
class BetaDist(Distribution):
    """Beta(a, b) rescaled to ``[lo, hi]``."""

    a: float
    b: float
    lo: float = 0.0
    hi: float = 1.0

    def __post_init__(self) -> None:
        V.positive("distribution.a", self.a)
        V.positive("distribution.b", self.b)
        _check_support(self.lo, self.hi)

    def _frozen(self):  # type: ignore[no-untyped-def]
        return stats.beta(self.a, self.b, loc=self.lo, scale=self.hi - self.lo)

    def pdf(self, x: FloatArray) -> FloatArray:
        return self._frozen().pdf(np.asarray(x, dtype=float))

    def cdf(self, x: FloatArray) -> FloatArray:
        return self._frozen().cdf(np.asarray(x, dtype=float))

    def describe(self) -> dict[str, object]:
        return {"kind": "beta", "a": self.a, "b": self.b, "lo": self.lo, "hi": self.hi}


@dataclass(frozen=True)
class Power(Distribution):
    r"""Power distribution :math:`F(\theta) = ((\theta - lo)/(hi - lo))^k`, :math:`k > 0`."""

    k: float
    lo: float = 0.0
    hi: float = 1.0

    def __post_init__(self) -> None:
        V.positive("distribution.k", self.k)
        _check_support(self.lo, self.hi)

    def pdf(self, x: FloatArray) -> FloatArray:
        u = np.clip((np.asarray(x, dtype=float) - self.lo) / (self.hi - self.lo), 0.0, 1.0)
        with np.errstate(divide="ignore"):
            return self.k * u ** (self.k - 1.0) / (self.hi - self.lo)

    def cdf(self, x: FloatArray) -> FloatArray:
        u = np.clip((np.asarray(x, dtype=float) - self.lo) / (self.hi - self.lo), 0.0, 1.0)
        return u**self.k

    def describe(self) -> dict[str, object]:
        return {"kind": "power", "k": self.k, "lo": self.lo, "hi": self.hi}


@dataclass(frozen=True)
class Mixture(Distribution):
    """A finite mixture of distributions on a common support."""

    weights: FloatArray
    components: tuple[Distribution, ...]

    def __post_init__(self) -> None:
        if len(self.components) < 1:
            raise ProblemSpecError("distribution.components", self.components, "needs at least one component")
        w = V.weights("distribution.weights", self.weights, length=len(self.components))
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "components", tuple(self.components))
        los = {c.lo for c in self.components}
        his = {c.hi for c in self.components}
        if len(los) != 1 or len(his) != 1:
            raise ProblemSpecError(
                "distribution.components", [c.describe() for c in self.components],
                "must share one support [lo, hi]",
            )

    @property
    def lo(self) -> float:  # type: ignore[override]
        return self.components[0].lo

    @property
    def hi(self) -> float:  # type: ignore[override]
        return self.components[0].hi

    def pdf(self, x: FloatArray) -> FloatArray:
        return sum(w * c.pdf(x) for w, c in zip(self.weights, self.components))  # type: ignore[return-value]

    def cdf(self, x: FloatArray) -> FloatArray:
        return sum(w * c.cdf(x) for w, c in zip(self.weights, self.components))  # type: ignore[return-value]

    def describe(self) -> dict[str, object]:
        return {"kind": "mixture", "weights": self.weights.tolist(),
                "components": [c.describe() for c in self.components]}


class Tabulated(Distribution):
    """A user-supplied density: values at points (linearly interpolated) or a callable, normalised.

    Parameters
    ----------
    pdf : callable or None
        A density function on ``[lo, hi]`` (need not integrate to one).
    points, values : array_like, optional
        Alternatively, the density tabulated at increasing points spanning ``[lo, hi]``.
    """

    def __init__(
        self,
        pdf: Callable[[FloatArray], FloatArray] | None = None,
        *,
        lo: float | None = None,
        hi: float | None = None,
        points: Sequence[float] | None = None,
        values: Sequence[float] | None = None,
        grid_size: int = 20001,
    ) -> None:
        if pdf is None:
            if points is None or values is None:
                raise ProblemSpecError("distribution", None, "needs either a pdf callable or points and values")
            pts = V.vector("distribution.points", points, min_length=2)
            V.strictly_increasing("distribution.points", pts)
            vals = V.vector("distribution.values", values, length=pts.size)
            if np.any(vals < 0) or not np.any(vals > 0):
                raise ProblemSpecError("distribution.values", vals.tolist(), "must be >= 0 and not all zero")
            lo, hi = float(pts[0]), float(pts[-1])
            self._raw: Callable[[FloatArray], FloatArray] = lambda x: np.interp(x, pts, vals, left=0.0, right=0.0)
            self._spec: dict[str, object] = {"kind": "tabulated", "points": pts.tolist(), "values": vals.tolist()}
        else:
            if lo is None or hi is None:
                raise ProblemSpecError("distribution", None, "a pdf callable needs lo and hi")
            self._raw = pdf
            self._spec = {"kind": "callable", "lo": lo, "hi": hi}
        _check_support(lo, hi)
        self.lo, self.hi = float(lo), float(hi)
        grid = np.linspace(self.lo, self.hi, grid_size)
        dens = np.asarray(self._raw(grid), dtype=float)
        if np.any(dens < 0) or not np.all(np.isfinite(dens)):
            raise ProblemSpecError("distribution.pdf", "callable", "must be finite and >= 0 on [lo, hi]")
        cum = integrate.cumulative_trapezoid(dens, grid, initial=0.0)
        if cum[-1] <= 0:
            raise ProblemSpecError("distribution.pdf", "callable", "must have positive mass on [lo, hi]")
        self._grid, self._cum, self._mass = grid, cum / cum[-1], float(cum[-1])

    def pdf(self, x: FloatArray) -> FloatArray:
        return np.asarray(self._raw(np.asarray(x, dtype=float)), dtype=float) / self._mass

    def cdf(self, x: FloatArray) -> FloatArray:
        return np.interp(np.asarray(x, dtype=float), self._grid, self._cum, left=0.0, right=1.0)

    def describe(self) -> dict[str, object]:
        return dict(self._spec)


def _check_support(lo: float, hi: float) -> None:
    lo_f = V.as_float("distribution.lo", lo)
    hi_f = V.as_float("distribution.hi", hi)
    if lo_f < 0:
        raise ProblemSpecError("distribution.lo", lo, "must be >= 0 (types are values of quality)")
    if not hi_f > lo_f:
        raise ProblemSpecError("distribution.hi", hi, f"must be > lo = {lo_f:g}")
