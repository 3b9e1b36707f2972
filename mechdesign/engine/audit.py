r"""Independent IC/IR audit of any menu, and binding sets from slacks and duals.

The audit never looks at the solver's constraints: for types :math:`v_n` and items
:math:`(a_m, t_m)` it forms the payoff matrix :math:`U_{nm} = v_n\cdot a_m - t_m` (in row chunks, so
memory stays :math:`O(N\cdot\text{chunk})`) and reports, for every type, the best deviation and its
gain over the own item, and the IR shortfall against the outside option :math:`u^0_n`. Violations
are also reported relative to the largest gross payoff :math:`\max_n |v_n\cdot a_n|`, the natural
scale of a menu whose values may be of order 1e-3.

Sign conventions: a *slack* is own payoff minus deviation payoff (>= 0 when IC holds); a
*violation* is ``max(0, -slack)``. Duals are the solver's multipliers, >= 0, in units of expected
profit per unit of payoff.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

FloatArray = np.ndarray

#: default relative tolerance of the audit (violation / largest gross payoff)
AUDIT_RTOL = 1e-7
#: default relative tolerance for calling a constraint tight (slack / largest gross payoff)
TIGHT_RTOL = 1e-7
#: default threshold for calling a constraint active (dual multiplier)
ACTIVE_TOL = 1e-7

#: payoff entries per chunk of the all-pairs audit (measured at N = 40,000, D = 2 on 2 cores: 4e6 entries a chunk
#: 0.32e9 pairs/s, 2.5e5 in one reused buffer 0.84e9)
_CHUNK_ENTRIES = 250_000
#: the JSON output lists the tight IC pairs only up to this many (the set is quadratic in the size of
#: excluded and pooled blocks); above it, counts (``BindingSets.to_dict(max_pairs=None)`` lists all)
JSON_MAX_PAIRS = 20_000


@dataclass(frozen=True)
class AuditReport:
    """Result of auditing a menu against all :math:`N^2` IC and :math:`N` IR constraints."""

    scale: float
    ic_violation: FloatArray
    best_deviation: FloatArray
    ir_violation: FloatArray
    rtol: float

    @property
    def max_ic_violation(self) -> float:
        """Largest absolute IC violation (payoff units)."""
        return float(self.ic_violation.max(initial=0.0))

    @property
    def max_ir_violation(self) -> float:
        """Largest absolute IR violation (payoff units)."""
        return float(self.ir_violation.max(initial=0.0))

    @property
    def max_ic_violation_rel(self) -> float:
        """Largest IC violation relative to the largest gross payoff."""
        return self.max_ic_violation / self.scale

    @property
    def max_ir_violation_rel(self) -> float:
        """Largest IR violation relative to the largest gross payoff."""
        return self.max_ir_violation / self.scale

    @property
    def worst_ic(self) -> tuple[int, int]:
        """The (type, item) pair of the largest IC violation."""
        n = int(np.argmax(self.ic_violation))
        return n, int(self.best_deviation[n])

    @property
    def passed(self) -> bool:
        """True when both relative violations are within ``rtol``."""
        return self.max_ic_violation_rel <= self.rtol and self.max_ir_violation_rel <= self.rtol

    def table(self) -> pd.DataFrame:
        """One row per type: best deviation, IC violation, IR violation."""
        return pd.DataFrame({
            "best_deviation": self.best_deviation,
            "ic_violation": self.ic_violation,
            "ir_violation": self.ir_violation,
        })

    def to_dict(self) -> dict[str, object]:
        n, m = self.worst_ic
        return {
            "max_ic_violation": self.max_ic_violation,
            "max_ir_violation": self.max_ir_violation,
            "max_ic_violation_rel": self.max_ic_violation_rel,
            "max_ir_violation_rel": self.max_ir_violation_rel,
            "scale": self.scale,
            "worst_ic_pair": [n, m],
            "rtol": self.rtol,
            "passed": self.passed,
        }


def _as2d(a: FloatArray) -> FloatArray:
    a = np.asarray(a, dtype=float)
    return a[:, None] if a.ndim == 1 else a


#: scalar types at or above this count are audited by the upper envelope of lines (O(N log N))
ENVELOPE_MIN_N = 2000


def upper_envelope_best(theta: FloatArray, slope: FloatArray, intercept: FloatArray) -> tuple[FloatArray, FloatArray]:
    r"""For each :math:`\theta_n`, the best item :math:`\arg\max_m (\text{slope}_m\theta_n + \text{intercept}_m)`.

    The scalar-type audit: a type's best deviation is the upper envelope of the items' payoff lines
    :math:`\theta Q_m - t_m` evaluated at its own :math:`\theta` (convex-hull trick: sort the lines by
    slope, keep the hull, sweep the sorted types), :math:`O(N \log N)` instead of :math:`O(N^2)`.
    Returns the best item index and value per type.
    """
    th = np.asarray(theta, dtype=float)
    k = np.asarray(slope, dtype=float)
    c = np.asarray(intercept, dtype=float)
    order = np.lexsort((c, k))  # by slope, then intercept
    hull: list[int] = []
    for m in order:
        # equal slopes: the later (larger intercept) line dominates
        while hull and k[hull[-1]] == k[m]:
            hull.pop()
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            # b is useless if the intersection of a and m lies left of (or at) that of a and b
            if (c[m] - c[a]) * (k[b] - k[a]) >= (c[b] - c[a]) * (k[m] - k[a]):
                hull.pop()
            else:
                break
        hull.append(int(m))
    H = np.array(hull)
    if H.size > 1:  # breakpoints between consecutive hull lines
        with np.errstate(over="ignore", divide="ignore"):  # nearly equal slopes: breakpoints at +-inf
            xs = (c[H[:-1]] - c[H[1:]]) / (k[H[1:]] - k[H[:-1]])
        seg = np.searchsorted(xs, th, side="right")
    else:
        seg = np.zeros(th.size, dtype=int)
    best = H[seg]
    val = k[best] * th + c[best]
    # guard against rounding at breakpoints: also try the neighbouring hull lines
    for shift in (-1, 1):
        alt = H[np.clip(seg + shift, 0, H.size - 1)]
        alt_val = k[alt] * th + c[alt]
        better = alt_val > val
        best = np.where(better, alt, best)
        val = np.where(better, alt_val, val)
    return best, val


def audit_menu(values: FloatArray, alloc: FloatArray, transfer: FloatArray,
               outside: FloatArray | None = None, rtol: float = AUDIT_RTOL) -> AuditReport:
    r"""Audit a direct menu: type ``n`` gets item ``n``; check all IC pairs and every IR.

    Parameters
    ----------
    values : array, shape (N,) or (N, D)
        Type vectors :math:`v_n` (scalar :math:`\theta_n` when D = 1).
    alloc : array, shape (N,) or (N, D)
        Allocations :math:`a_n` (quality).
    transfer : array, shape (N,)
        Transfers :math:`t_n`.
    outside : array, shape (N,), optional
        Outside options :math:`u^0_n` (default 0).

    Notes
    -----
    Scalar types with N >= :data:`ENVELOPE_MIN_N` are audited by :func:`upper_envelope_best`
    (:math:`O(N\log N)`); otherwise every pair is evaluated in chunks.
    """
    v, a = _as2d(values), _as2d(alloc)
    t = np.asarray(transfer, dtype=float)
    N = v.shape[0]
    u0 = np.zeros(N) if outside is None else np.asarray(outside, dtype=float)
    gross = np.sum(v * a, axis=1)
    own = gross - t
    if v.shape[1] == 1 and N >= ENVELOPE_MIN_N:
        best, best_val = upper_envelope_best(v[:, 0], a[:, 0], -t)
    else:
        best = np.empty(N, dtype=int)
        best_val = np.empty(N)
        step = max(1, min(_CHUNK_ENTRIES // max(N, 1), N))
        aT = np.ascontiguousarray(a.T)
        buf = np.empty((step, N))  # one buffer for every chunk (small enough to stay in cache)
        for s in range(0, N, step):
            k = min(step, N - s)
            U = buf[:k]
            np.matmul(v[s:s + k], aT, out=U)
            U -= t[None, :]
            rows = slice(s, s + k)
            best[rows] = np.argmax(U, axis=1)
            best_val[rows] = U[np.arange(k), best[rows]]
    ic = np.maximum(best_val - own, 0.0)
    ir = np.maximum(u0 - own, 0.0)
    # the menu's own scale, with no absolute floor: the largest gross payoff, or (when nothing is
    # delivered) the largest transfer or outside option; a menu of zeros with zero outside options
    # cannot violate anything, and only then is the scale 1
    scale = float(np.max(np.abs(gross), initial=0.0))
    if scale <= 0:
        scale = max(float(np.max(np.abs(t), initial=0.0)), float(np.max(np.abs(u0), initial=0.0)))
    if not scale > 0:
        scale = 1.0
    return AuditReport(scale, ic, best, ir, rtol)


def tight_pairs(values: FloatArray, alloc: FloatArray, transfer: FloatArray, atol: float,
                max_pairs: int = 5_000_000) -> FloatArray:
    """All IC pairs ``(n, m)``, ``n != m``, whose slack is at most ``atol``; shape ``(P, 2)``.

    Raises ``MemoryError`` with advice if more than ``max_pairs`` pairs are tight (large pooled or
    excluded blocks make the tight set quadratic in N).
    """
    v, a = _as2d(values), _as2d(alloc)
    t = np.asarray(transfer, dtype=float)
    N = v.shape[0]
    own = np.sum(v * a, axis=1) - t
    out: list[FloatArray] = []
    count = 0
    step = max(1, _CHUNK_ENTRIES // max(N, 1))
    for s in range(0, N, step):
        U = v[s:s + step] @ a.T - t[None, :]
        slack = own[s:s + step, None] - U
        n_idx, m_idx = np.nonzero(slack <= atol)
        n_idx = n_idx + s
        keep = n_idx != m_idx
        pairs = np.column_stack([n_idx[keep], m_idx[keep]])
        count += len(pairs)
        if count > max_pairs:
            raise MemoryError(
                f"more than {max_pairs} IC pairs are tight; pass binding='local' to skip the full tight set"
            )
        out.append(pairs)
    return np.concatenate(out) if out else np.zeros((0, 2), dtype=int)


def ic_slacks(values: FloatArray, alloc: FloatArray, transfer: FloatArray, pairs: FloatArray) -> FloatArray:
    """Slack of each IC pair ``(n, m)``: own payoff of n minus n's payoff from item m."""
    v, a = _as2d(values), _as2d(alloc)
    t = np.asarray(transfer, dtype=float)
    pairs = np.asarray(pairs, dtype=int).reshape(-1, 2)
    n, m = pairs[:, 0], pairs[:, 1]
    return np.sum(v[n] * a[n], axis=1) - t[n] - (np.sum(v[n] * a[m], axis=1) - t[m])


def classify_pairs(pairs: FloatArray) -> FloatArray:
    """Label IC pairs of sorted scalar types: 'local_down' (n -> n-1), 'local_up' (n -> n+1), 'other'."""
    pairs = np.asarray(pairs, dtype=int).reshape(-1, 2)
    d = pairs[:, 1] - pairs[:, 0]
    return np.where(d == -1, "local_down", np.where(d == 1, "local_up", "other"))


@dataclass(frozen=True)
class BindingSets:
    """Binding constraints, reported as *tight* (slack <= tol) and *active* (dual > tol).

    ``ic_tight`` and ``ic_active`` are ``(P, 2)`` arrays of ``[type, item]`` pairs (0-based type
    indices); ``ic_active_duals`` are the multipliers of ``ic_active``; ``ir_*`` are type indices.
    Tight is measured with ``tight_atol`` (absolute payoff units) and active with ``active_tol``.
    ``ic_tight`` is ``None`` when the full tight set was not computed (``binding='local'``).
    """

    ic_tight: FloatArray | None
    ic_active: FloatArray
    ic_active_duals: FloatArray
    ir_tight: FloatArray
    ir_active: FloatArray
    ir_active_duals: FloatArray
    tight_atol: float
    active_tol: float

    def groups(self) -> pd.DataFrame:
        """Counts of tight and active constraints by group (local downward IC, local upward IC, other IC, IR)."""
        rows = []
        for grp in ("local_down", "local_up", "other"):
            tight = None if self.ic_tight is None else int(np.sum(classify_pairs(self.ic_tight) == grp))
            active = int(np.sum(classify_pairs(self.ic_active) == grp))
            rows.append({"group": f"IC {grp.replace('_', ' ')}", "tight": tight, "active": active})
        rows.append({"group": "IR", "tight": len(self.ir_tight), "active": len(self.ir_active)})
        return pd.DataFrame(rows).set_index("group")

    def to_dict(self, max_pairs: int | None = JSON_MAX_PAIRS) -> dict[str, object]:
        """JSON-ready binding sets; ``ic_tight`` is listed when it has at most ``max_pairs`` pairs (None:
        always), else it is ``null`` and ``ic_tight_count`` and the group counts say how many there are."""
        count = None if self.ic_tight is None else len(self.ic_tight)
        listed = self.ic_tight is not None and (max_pairs is None or len(self.ic_tight) <= max_pairs)
        return {
            "ic_tight": np.asarray(self.ic_tight).tolist() if listed else None,
            "ic_tight_count": count,
            "ic_tight_listed": bool(listed),
            "groups": {str(k): {"tight": None if pd.isna(r["tight"]) else int(r["tight"]), "active": int(r["active"])}
                       for k, r in self.groups().iterrows()},
            "ic_active": np.asarray(self.ic_active).tolist(),
            "ic_active_duals": np.asarray(self.ic_active_duals).tolist(),
            "ir_tight": np.asarray(self.ir_tight).tolist(),
            "ir_active": np.asarray(self.ir_active).tolist(),
            "ir_active_duals": np.asarray(self.ir_active_duals).tolist(),
            "tight_atol": self.tight_atol,
            "active_tol": self.active_tol,
            "sign_convention": "slack = own payoff - deviation payoff >= 0; duals >= 0 per unit of payoff",
        }
