r"""Numeric versus analytic menus: allocations, transfers, profit and binding sets.

Errors are reported relative to the scale of the analytic quantity (``max |x_analytic|``), because
excluded types have zero quality and near-cutoff types have qualities many orders of magnitude below
the top: a pointwise relative error would be meaningless there. The binding-set comparison follows
the structure of the exact discrete menu (:mod:`mechdesign.analytic.monopoly`):

* every pair theory says is tight (local downward IC; IC within pooled and excluded blocks) must be
  numerically tight, and every numerically tight pair must have a closed-form slack within the
  tolerance (near the exclusion cutoff, non-binding pairs have slacks of order ``h**4``);
* IR is tight at the excluded types and the lowest served type, and wherever else it is numerically
  tight the closed-form rent is within the tolerance;
* the local downward IC of every served type above the lowest served one is active (dual > tol);
  its multiplier, for unpooled types, is the tail mass :math:`\sum_{k \ge n} f_k` (stationarity in
  :math:`t_n`) — reported as ``multiplier_max_error``, not part of the agreement (with ``ic='all'``
  the multipliers of near-cutoff types are not unique);
* numerically pooled blocks (runs of served types with equal quality, to :data:`POOL_RTOL`) equal
  those of the exact menu at the same tolerance: its ironed blocks, and on fine grids the runs just
  above the exclusion cutoff whose qualities (of order :math:`h^3`) differ by less than the tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mechdesign.analytic.monopoly import ContinuousMenu, DiscreteMenu
from mechdesign.engine.audit import BindingSets, ic_slacks

FloatArray = np.ndarray

#: default tolerance for numeric-vs-analytic agreement (relative to the analytic scale)
COMPARE_RTOL = 1e-6
#: adjacent served types whose qualities differ by less than this share of the top quality are pooled
POOL_RTOL = 1e-7


def rel_error(numeric: FloatArray, analytic: FloatArray) -> float:
    """``max |numeric - analytic| / max |analytic|`` (absolute error if the analytic side is zero)."""
    numeric = np.asarray(numeric, dtype=float)
    analytic = np.asarray(analytic, dtype=float)
    scale = float(np.max(np.abs(analytic), initial=0.0))
    err = float(np.max(np.abs(numeric - analytic), initial=0.0))
    return err / scale if scale > 0 else err


def pooled_blocks(quality: FloatArray, rtol: float = POOL_RTOL) -> list[tuple[int, int]]:
    """Maximal runs ``[start, stop)`` (length > 1) of served types with equal quality (to ``rtol``)."""
    q = np.asarray(quality, dtype=float)
    top = float(np.max(np.abs(q), initial=0.0))
    if top <= 0:
        return []
    served = q > rtol * top * 10
    same = (np.abs(np.diff(q)) <= rtol * top) & served[1:] & served[:-1]
    blocks, start = [], None
    for i, s in enumerate(same):
        if s and start is None:
            start = i
        if not s and start is not None:
            blocks.append((start, i + 1))
            start = None
    if start is not None:
        blocks.append((start, len(q)))
    return blocks


@dataclass
class Comparison:
    """Numeric-vs-analytic errors and binding-set agreement for one solved menu."""

    profit_rel_error: float
    quality_rel_error: float
    transfer_rel_error: float
    tight_missing: int
    tight_unexpected: int
    ir_agree: bool
    multiplier_max_error: float
    local_down_inactive: int
    pooled_numeric: list[tuple[int, int]]
    pooled_analytic: list[tuple[int, int]]
    rtol: float = COMPARE_RTOL
    continuous: dict[str, float] = field(default_factory=dict)

    @property
    def binding_agree(self) -> bool:
        """Tight sets, IR set, multipliers and pooled blocks all agree with theory."""
        return (self.tight_missing == 0 and self.tight_unexpected == 0 and self.ir_agree
                and self.local_down_inactive == 0 and self.pooled_numeric == self.pooled_analytic)

    @property
    def agree(self) -> bool:
        """Values agree to ``rtol`` and binding sets agree."""
        return (max(self.profit_rel_error, self.quality_rel_error, self.transfer_rel_error) <= self.rtol
                and self.binding_agree)

    def to_dict(self) -> dict[str, object]:
        return {
            "profit_rel_error": self.profit_rel_error,
            "quality_rel_error": self.quality_rel_error,
            "transfer_rel_error": self.transfer_rel_error,
            "rtol": self.rtol,
            "tight_missing": self.tight_missing,
            "tight_unexpected": self.tight_unexpected,
            "ir_agree": self.ir_agree,
            "local_downward_multiplier_max_error": self.multiplier_max_error,
            "local_downward_inactive": self.local_down_inactive,
            "pooled_numeric": [list(b) for b in self.pooled_numeric],
            "pooled_analytic": [list(b) for b in self.pooled_analytic],
            "binding_agree": self.binding_agree,
            "agree": self.agree,
            "continuous": self.continuous,
        }


def compare_discrete(theta: FloatArray, quality: FloatArray, transfer: FloatArray, profit: float,
                     binding: BindingSets, ic_pairs: FloatArray, ic_duals: FloatArray,
                     menu: DiscreteMenu, rtol: float = COMPARE_RTOL) -> Comparison:
    """Compare a numeric single-model menu with the exact discrete analytic menu (Prop 3, discrete)."""
    N = len(theta)
    atol = binding.tight_atol
    # tight IC sets
    if binding.ic_tight is not None:
        pairs = np.asarray(binding.ic_tight, dtype=int).reshape(-1, 2)
        analytic_slack = ic_slacks(theta, menu.quality, menu.transfer, pairs)
        unexpected = int(np.sum(analytic_slack > 10 * atol))
        # predicted pairs: every local downward pair; pairs within a block of equal quality (pooled or
        # excluded); and the type just above a block mimicking any member of the block
        cand = [np.column_stack([np.arange(1, N), np.arange(N - 1)])]
        groups = menu.groups
        for g in np.unique(groups):
            idx = np.flatnonzero(groups == g)
            if idx.size > 1:
                i, j = np.meshgrid(idx, idx, indexing="ij")
                mask = i != j
                cand.append(np.column_stack([i[mask], j[mask]]))
                if idx[-1] + 1 < N:
                    cand.append(np.column_stack([np.full(idx.size, idx[-1] + 1), idx]))
        pred = np.concatenate(cand)
        pred = pred[menu.predicted_tight(pred)]
        codes = pairs[:, 0].astype(np.int64) * N + pairs[:, 1]
        pred_codes = np.unique(pred[:, 0].astype(np.int64) * N + pred[:, 1])
        missing = int(np.sum(~np.isin(pred_codes, codes)))
    else:
        unexpected, missing = 0, 0
    # IR
    low = menu.lowest_served
    pred_ir = set(range(N)) if low is None else set(range(low + 1))
    num_ir = set(np.asarray(binding.ir_tight, dtype=int).tolist())
    extra = np.array(sorted(num_ir - pred_ir), dtype=int)
    ir_agree = pred_ir <= num_ir and bool(np.all(menu.rent[extra] <= 10 * atol))
    # local downward multipliers = tail mass
    lam = menu.local_downward_multipliers()
    pairs = np.asarray(ic_pairs, dtype=int).reshape(-1, 2)
    dual_of = {tuple(p): d for p, d in zip(pairs.tolist(), np.asarray(ic_duals).tolist())}
    # types just above the numerically lowest served one are skipped: the solver cannot resolve a
    # quality of order h**3 above the cutoff, so its lowest served type may be one cell higher, and the
    # multiplier is then split with an IR constraint
    q = np.asarray(quality, dtype=float)
    served = q > 1e-6 * max(float(q.max(initial=0.0)), 1e-300)
    errs = [abs(dual_of.get((n, n - 1), 0.0) - lam[n]) for n in range(2, N)
            if np.isfinite(lam[n]) and served[n - 1] and served[n - 2]]
    mult_err = max(errs, default=0.0)
    # every served type above the lowest served one has an active local downward IC
    inactive = sum(1 for n in range(1, N) if served[n - 1] and served[n]
                   and dual_of.get((n, n - 1), 0.0) <= binding.active_tol)
    return Comparison(
        profit_rel_error=abs(profit - menu.profit) / max(abs(menu.profit), 1e-300),
        quality_rel_error=rel_error(quality, menu.quality),
        transfer_rel_error=rel_error(transfer, menu.transfer),
        tight_missing=missing,
        tight_unexpected=unexpected,
        ir_agree=ir_agree,
        multiplier_max_error=mult_err,
        local_down_inactive=inactive,
        pooled_numeric=pooled_blocks(quality),
        # the same tolerance on the exact menu: on fine grids, qualities just above the exclusion cutoff
        # (of order h**3) differ by less than POOL_RTOL without being ironed
        pooled_analytic=pooled_blocks(menu.quality),
        rtol=rtol,
    )


def compare_continuous(theta: FloatArray, quality: FloatArray, transfer: FloatArray, profit: float,
                       cont: ContinuousMenu) -> dict[str, float]:
    """Errors of the numeric menu against Prop 3's continuous closed form at the cell midpoints.

    These shrink with the discretisation (roughly like 1/N); they are reported, not asserted.
    """
    q_c = cont.quality(theta)
    t_c = cont.transfer(theta)
    p_c = cont.profit()
    return {
        "quality_rel_error": rel_error(quality, q_c),
        "transfer_rel_error": rel_error(transfer, t_c),
        "profit_rel_error": abs(profit - p_c) / max(abs(p_c), 1e-300),
        "profit_continuous": p_c,
        "cutoff": cont.cutoff,
    }
