r"""Identified sets: the cost exponents, or an unpublished allowance, at which a menu passes (C7).

(C7) of :mod:`mechdesign.analytic.calibration.core` (BBS §4, Prop 3, discrete types) is free of the cost
scale and :math:`C_0`, so what a menu identifies is a set of :math:`\sigma+\hat\sigma = 1/b`. Each
restriction is monotone in :math:`\sigma+\hat\sigma`, so the set is an interval whose ends are roots of
single restrictions, found exactly (not on a grid).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize

from ... import _validate as V
from ...exceptions import ProblemSpecError
from .consistency import _checked, _exponent, _margin, _slacks, allowance_factors
from .data import FloatArray, ObservedMenu

#: sigma + sigma_hat used when no cost exponent is given and the identified set is empty (BBS Fig. 1: 1/2)
DEFAULT_SIGMA_TOTAL = 0.5
#: scan of sigma + sigma_hat for the identified set
SCAN_LO, SCAN_HI, SCAN_N = 0.01, 0.99, 197


# -------------------------------------------------------------------------------- identified set
@dataclass(frozen=True)
class IdentifiedSet:
    r"""The cost exponents :math:`b = 1/(\sigma+\hat\sigma)` at which the posted menu can be optimal."""

    intervals_sigma_total: list[tuple[float, float]]
    grid_sigma_total: FloatArray = field(repr=False)
    margin: FloatArray = field(repr=False)
    binding: list[str] = field(repr=False)

    @property
    def empty(self) -> bool:
        return not self.intervals_sigma_total

    @property
    def intervals_cost_exponent(self) -> list[tuple[float, float]]:
        return [(1.0 / hi, 1.0 / lo) for lo, hi in self.intervals_sigma_total]

    def midpoint(self) -> float | None:
        """Midpoint in sigma + sigma_hat of the widest interval (None if empty)."""
        if self.empty:
            return None
        lo, hi = max(self.intervals_sigma_total, key=lambda iv: iv[1] - iv[0])
        return 0.5 * (lo + hi)

    def describe(self) -> str:
        if self.empty:
            worst = self.binding[int(np.argmax(self.margin))]
            return (
                f"empty: no sigma + sigma_hat in [{SCAN_LO}, {SCAN_HI}] makes the menu optimal "
                f"(closest at sigma + sigma_hat = {self.grid_sigma_total[int(np.argmax(self.margin))]:.3g}, "
                f"where {worst} fails by {-100 * float(np.max(self.margin)):.3g}%)"
            )
        parts = [
            f"sigma + sigma_hat in ({lo:.4f}, {hi:.4f}), i.e. b in ({1 / hi:.4f}, {1 / lo:.4f})"
            for lo, hi in self.intervals_sigma_total
        ]
        return "; ".join(parts)

    def to_dict(self) -> dict[str, object]:
        return {
            "sigma_total": [list(iv) for iv in self.intervals_sigma_total],
            "cost_exponent": [list(iv) for iv in self.intervals_cost_exponent],
            "empty": self.empty,
            "scan": [SCAN_LO, SCAN_HI, SCAN_N],
        }


def _binding_name(T: FloatArray, A: FloatArray, b: float, names: list[str], lam: float | None) -> str:
    s = _slacks(T, A, b, lam)
    best, label = math.inf, ""
    for kind, v in s.items():
        if v.size and float(np.min(v)) < best:
            best = float(np.min(v))
            i = int(np.argmin(v))
            tier = {
                "ic": names[min(i + 1, len(names) - 1)],
                "markup": names[i],
                "top": names[-1],
                "positive": names[0],
            }[kind]
            label = f"{'distortion' if kind == 'markup' else kind} at tier {tier!r}"
    return label


def _intervals(grid: FloatArray, inside: FloatArray, root: Callable[[float, float], float]) -> list[tuple[float, float]]:
    """The maximal runs of ``inside`` on a scan ``grid`` as intervals, each end refined by ``root`` (a bisection
    between the two grid points where membership changes)."""
    out: list[tuple[float, float]] = []
    start = float(grid[0]) if inside[0] else None
    for i in range(1, grid.size):
        if inside[i] and not inside[i - 1]:
            start = root(float(grid[i - 1]), float(grid[i]))
        elif not inside[i] and inside[i - 1]:
            assert start is not None
            out.append((start, root(float(grid[i - 1]), float(grid[i]))))
            start = None
    if start is not None:
        out.append((start, float(grid[-1])))
    return out


def _components(T: FloatArray, A: FloatArray, s: float, lam: float | None) -> FloatArray:
    r"""The slacks of (C7) at :math:`\sigma+\hat\sigma = s`, one per restriction, each monotone in ``s``.

    * IC at tier k: :math:`\theta_{k+1}/\theta_k - 1 = \frac{\Delta T_{k+1}}{\Delta T_k}
      \frac{A_k^s - A_{k-1}^s}{A_{k+1}^s - A_k^s} - 1`; with :math:`u, v` the log gaps of the allowances the
      allowance factor is :math:`(1 - e^{-sv})/(e^{su} - 1)`, whose log-derivative
      :math:`v/(e^{sv}-1) - u/(1-e^{-su}) \le 1/s - 1/s = 0`: non-increasing in s.
    * distortion at tier k < K: :math:`m_k - 1` with :math:`m_k \propto D_K/D_k`,
      :math:`D_k = A_k\int_0^{L_k} e^{-st}dt` (:math:`L_k = \log(A_k/A_{k-1})`), so :math:`\log m_k` has
      derivative :math:`E_k[t] - E_K[t]` (means of the truncated exponential law on :math:`[0, L]`, which rise
      with L): one sign for all s. With :math:`\lambda` given, :math:`m_k \propto 1/D_k`, increasing.
    * with :math:`\lambda` given, the top's :math:`|m_K - 1| \le 10^{-9}` as two monotone slacks.
    * :math:`T_1 > 0`: constant in s.
    """
    b = 1.0 / s
    sl = _slacks(T, A, b, lam)
    parts = [sl["positive"], sl["ic"], sl["markup"]]
    if lam is not None:
        dT = np.diff(np.concatenate([[0.0], T]))
        mK = float(dT[-1] / (lam * allowance_factors(A, b)[-1]))
        parts.append(np.array([mK - (1.0 - 1e-9), (1.0 + 1e-9) - mK]))
    return np.concatenate(parts)


def _exact_set(
    T: FloatArray, A: FloatArray, lam: float | None, grid: FloatArray
) -> list[tuple[float, float]]:
    """The set where every slack of :func:`_components` is positive, its ends exact (Brent, 1e-15).

    Each slack is monotone in sigma + sigma_hat, so it changes sign at most once; a change between two
    scan points is located by Brent's method on that slack alone (not on the smallest slack, whose
    positive part may fall between scan points, e.g. a set narrower than the scan step). The roots cut
    the scan range into pieces; a piece belongs to the set when every slack is positive at its midpoint.
    """
    vals = np.array([_components(T, A, float(s), lam) for s in grid])
    cuts = {float(grid[0]), float(grid[-1])}
    for j in range(vals.shape[1]):
        col = vals[:, j]
        for i in range(grid.size - 1):
            if np.isfinite(col[i]) and np.isfinite(col[i + 1]) and (col[i] > 0) != (col[i + 1] > 0):
                def f(s: float, j: int = j) -> float:
                    return float(_components(T, A, s, lam)[j])

                if f(float(grid[i])) == 0.0:
                    cuts.add(float(grid[i]))
                    continue
                cuts.add(optimize.brentq(f, float(grid[i]), float(grid[i + 1]), xtol=1e-15, rtol=1e-15))
    pts = sorted(cuts)
    out: list[tuple[float, float]] = []
    for lo, hi in itertools.pairwise(pts):
        if hi <= lo:
            continue
        mid = 0.5 * (lo + hi)
        if float(np.nanmin(_components(T, A, mid, lam))) > 0:
            if out and out[-1][1] == lo:
                out[-1] = (out[-1][0], hi)
            else:
                out.append((lo, hi))
    return out


def identified_set(menu: ObservedMenu, cost_scale: float | None = None, n: int = SCAN_N) -> IdentifiedSet:
    r"""The range of :math:`\sigma+\hat\sigma` (hence :math:`b`) for which the menu passes (C7).

    Every restriction of (C7) is monotone in :math:`\sigma+\hat\sigma` (:func:`_components`), so the
    set is an intersection of half-lines, an interval; its ends are the roots of the individual
    restrictions, found exactly (Brent's method to 1e-15) wherever a restriction changes sign between
    two of the ``n`` scan points of :math:`[0.01, 0.99]`. A set narrower than the scan step is found too.
    Interval ends touching the scan range are reported as the scan bounds (the set may extend beyond them).
    The scan's smallest slack (``margin``) is kept for the figures and the description of an empty set.
    """
    T, A, names = _checked(menu)
    lam = None if cost_scale is None else V.positive("cost_scale", cost_scale)
    grid = np.linspace(SCAN_LO, SCAN_HI, int(n))
    margin = np.array([_margin(T, A, 1.0 / s, lam) for s in grid])
    binding = [_binding_name(T, A, 1.0 / s, names, lam) for s in grid]
    return IdentifiedSet(_exact_set(T, A, lam, grid), grid, margin, binding)


# ------------------------------------------------------------------- identified set over an allowance
#: scan of an unpublished allowance for its identified set: 1.01 times the allowance of the tier below (or
#: 1/1000 of the smallest known one), up to the tier above divided by 1.01 (or 1000 times the largest)
ALLOWANCE_LO, ALLOWANCE_HI, ALLOWANCE_N = 1.01, 1000.0, 121


def _sup_margin(T: FloatArray, A: FloatArray, n: int = 99) -> tuple[float, float]:
    """Largest smallest-slack of (C7) over sigma + sigma_hat in [SCAN_LO, SCAN_HI]: ``(margin, argmax)``.

    A grid, then a bounded scalar search in the cells around the best grid point."""
    grid = np.linspace(SCAN_LO, SCAN_HI, n)
    vals = np.array([_margin(T, A, 1.0 / s) for s in grid])
    i = int(np.nanargmax(vals))
    best, arg = float(vals[i]), float(grid[i])
    lo, hi = float(grid[max(i - 1, 0)]), float(grid[min(i + 1, n - 1)])
    r = optimize.minimize_scalar(
        lambda s: -_margin(T, A, 1.0 / s), bounds=(lo, hi), method="bounded", options={"xatol": 1e-12}
    )
    if -float(r.fun) > best:
        best, arg = -float(r.fun), float(r.x)
    return best, arg


@dataclass(frozen=True)
class AllowanceSet:
    r"""The values :math:`M` of one tier's unpublished allowance at which the posted menu can be optimal.

    ``intervals``: some :math:`\sigma+\hat\sigma \in [0.01, 0.99]` passes (C7) (the union over :math:`b` of
    the identified sets); ``intervals_at_b``: (C7) holds at the fixed exponent ``cost_exponent``. Both by a
    log-spaced scan of ``[lo, hi]`` and bisection (60 steps) at every change; ends touching the scan range
    are reported as the scan bounds (the set may extend beyond them).
    """

    menu: ObservedMenu
    tier: str
    lo: float
    hi: float
    intervals: list[tuple[float, float]]
    cost_exponent: float
    cost_exponent_source: str
    intervals_at_b: list[tuple[float, float]]
    grid: FloatArray = field(repr=False)
    sup_margin: FloatArray = field(repr=False)
    margin_at_b: FloatArray = field(repr=False)

    @property
    def empty(self) -> bool:
        return not self.intervals

    def _fmt(self, ivs: list[tuple[float, float]]) -> str:
        if not ivs:
            return "empty"
        out = []
        for a, z in ivs:
            left = f"[{a:.6g}" if a == self.lo else f"({a:.6g}"
            right = f"{z:.6g}] (scan bound; may extend beyond)" if z == self.hi else f"{z:.6g})"
            out.append(f"{left}, {right}")
        return " U ".join(out)

    def sigma_range(self, M: float) -> IdentifiedSet:
        """The identified set of sigma + sigma_hat at one value of the allowance."""
        return identified_set(self.menu.with_allowances({self.tier: M}))

    def describe(self) -> str:
        unit = self.menu.unit
        lines = [
            (
                f"identified set over the unpublished allowance of tier {self.tier!r} "
                f"({unit}; scan M in [{self.lo:g}, {self.hi:g}]):"
            ),
            f"  for some sigma + sigma_hat in [{SCAN_LO}, {SCAN_HI}]: M in {self._fmt(self.intervals)}",
            (
                f"  at b = {self.cost_exponent:.6g} (sigma + sigma_hat = {1 / self.cost_exponent:.6g}, "
                f"{self.cost_exponent_source}): M in {self._fmt(self.intervals_at_b)}"
            ),
        ]
        for M in self._examples():
            lines.append(f"  at M = {M:g}: " + self.sigma_range(M).describe())
        lines.append(
            f"  not identified: the posted fees cannot pin M down. Publishing tier {self.tier!r}'s allowance "
            "(its multiple of the reference unit) pins it; so would a known cost exponent b together with the "
            "marginal cost lambda of one unit (--cost-exponent with --cost-scale; the top's no-distortion "
            "condition (C4) then gives M)."
        )
        return "\n".join(lines)

    def _examples(self) -> list[float]:
        if self.empty:
            return []
        a, z = self.intervals[0]
        return sorted({float(f"{math.sqrt(a * z):.3g}"), float(f"{min(2 * a, z):.3g}")})

    def to_dict(self) -> dict[str, object]:
        return {
            "tier": self.tier,
            "unit": self.menu.unit,
            "scan": [self.lo, self.hi, int(self.grid.size)],
            "intervals_some_b": [list(iv) for iv in self.intervals],
            "cost_exponent": self.cost_exponent,
            "cost_exponent_source": self.cost_exponent_source,
            "intervals_at_b": [list(iv) for iv in self.intervals_at_b],
            "empty": self.empty,
            "examples": {f"{M:g}": self.sigma_range(M).to_dict() for M in self._examples()},
        }

    def table(self) -> pd.DataFrame:
        """The scan: M, the largest slack over sigma + sigma_hat, the slack at the fixed b."""
        return pd.DataFrame(
            {
                "allowance": self.grid,
                "max_slack_over_b": self.sup_margin,
                "consistent_for_some_b": self.sup_margin > 0,
                "slack_at_b": self.margin_at_b,
                "consistent_at_b": self.margin_at_b > 0,
            }
        )


def _allowance_bounds(menu: ObservedMenu, tier: str) -> tuple[float, float]:
    """Default scan of an unknown allowance: between the allowances of the tiers with the next lower and the
    next higher fee (a menu is monotone), times 1.01 inside; a factor 1000 beyond the known ones at an end
    (OpenAI's Pro above Plus = 1: [1.01, 1000]; a low tier below Plus: [0.001, 1/1.01])."""
    fee = next(t.fee for t in menu.tiers if t.name == tier)
    known = [(t.fee, float(t.allowance)) for t in menu.tiers if t.allowance is not None]
    below = [a for f, a in known if f < fee]
    above = [a for f, a in known if f > fee]
    lo = max(below) * ALLOWANCE_LO if below else min(a for _, a in known) / ALLOWANCE_HI
    hi = min(above) / ALLOWANCE_LO if above else max(a for _, a in known) * ALLOWANCE_HI
    return lo, hi


def allowance_identified_set(
    menu: ObservedMenu,
    tier: str | None = None,
    cost_exponent: float | None = None,
    lo: float | None = None,
    hi: float | None = None,
    n: int = ALLOWANCE_N,
) -> AllowanceSet:
    r"""The identified set over one tier's unpublished allowance :math:`M` (e.g. OpenAI's Pro multiple).

    (C7) at a given :math:`M` depends on :math:`b` only, so :math:`M` is consistent iff the identified set
    of :math:`\sigma+\hat\sigma` at :math:`M` (:func:`identified_set`) is non-empty; the largest smallest
    slack over :math:`\sigma+\hat\sigma` (a grid plus a bounded search) is bisected in :math:`\log M`.
    At a fixed :math:`b` (``cost_exponent``, default :data:`DEFAULT_SIGMA_TOTAL`) the smallest slack is
    bisected directly. For OpenAI's two tiers (Plus 20 USD / 1, Pro 200 USD / M) in closed form:
    :math:`m_1 = (M/9)(1-M^{-s}) > 1` and IC :math:`M^s < 10`, :math:`s = \sigma+\hat\sigma`, so the set
    is :math:`M > 10` as :math:`s \to 1` (the scan stops at :math:`s = 0.99`), and at :math:`b = 2`,
    :math:`(\tfrac{1+\sqrt{37}}{2})^2 < M < 100`.
    """
    unknown = [t.name for t in menu.tiers if t.allowance is None]
    if tier is None:
        if len(unknown) != 1:
            raise ProblemSpecError(
                "tier",
                unknown,
                "name the tier whose allowance is scanned (exactly one tier may be unstated)",
            )
        tier = unknown[0]
    if tier not in menu.names:
        raise ProblemSpecError("tier", tier, "must name a tier: " + ", ".join(repr(t) for t in menu.names))
    others = [u for u in unknown if u != tier]
    if others:
        raise ProblemSpecError(
            "allowance", others, "every other tier needs an allowance before scanning " + repr(tier)
        )
    dlo, dhi = _allowance_bounds(menu, tier)
    lo = dlo if lo is None else V.positive("allowance_lo", lo)
    hi = dhi if hi is None else V.positive("allowance_hi", hi)
    if not hi > lo:
        raise ProblemSpecError("allowance_hi", hi, f"must exceed allowance_lo = {lo:g}")
    if cost_exponent is None:
        b, source = 1.0 / DEFAULT_SIGMA_TOTAL, f"default sigma + sigma_hat = {DEFAULT_SIGMA_TOTAL}"
    else:
        b_given = _exponent(cost_exponent, None, None)
        assert b_given is not None
        b, source = b_given, "given"

    def arrays(M: float) -> tuple[FloatArray, FloatArray] | None:
        try:
            T, A, _ = _checked(menu.with_allowances({tier: M}))
        except ProblemSpecError:  # M equal to another tier's allowance, or a dominated order
            return None
        return T, A

    def some_b(M: float) -> float:
        ta = arrays(M)
        return -1.0 if ta is None else _sup_margin(*ta)[0]

    def at_b(M: float) -> float:
        ta = arrays(M)
        return -1.0 if ta is None else _margin(ta[0], ta[1], b)

    grid = np.geomspace(lo, hi, int(n))

    def scan(g: object) -> tuple[FloatArray, list[tuple[float, float]]]:
        vals = np.array([g(M) for M in grid])  # type: ignore[operator]
        inside = vals > 0

        def root(a: float, z: float) -> float:
            ga = g(a) > 0  # type: ignore[operator]
            la, lz = math.log(a), math.log(z)
            for _ in range(60):
                mid = 0.5 * (la + lz)
                if (g(math.exp(mid)) > 0) == ga:  # type: ignore[operator]
                    la = mid
                else:
                    lz = mid
            return math.exp(0.5 * (la + lz))

        return vals, _intervals(grid, inside, root)

    sup, ivs = scan(some_b)
    mb, ivs_b = scan(at_b)
    return AllowanceSet(
        menu, tier, float(grid[0]), float(grid[-1]), ivs, float(b), source, ivs_b, grid, sup, mb
    )
