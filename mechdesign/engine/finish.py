r"""The exact finish of an interior-point menu for scalar types: its active set, solved exactly.

An interior-point method that closes the duality gap to :math:`\epsilon` leaves a menu that is optimal
only to about :math:`\epsilon` in profit and :math:`\sqrt\epsilon` in the allocation, with its excluded
types near (not at) the null item and its pooled types nearly (not exactly) equal. The finish reads the
*active set* off that menu and solves the smooth problem it defines exactly:

1. **Active set.** Types whose allocations differ by at most ``tol`` (relative to the largest) form one
   pooled block (both IC rows between neighbours bind); the local downward IC row binds between blocks;
   the lowest type's IR row binds; a block whose optimal allocation is not positive is excluded. The
   reading is deliberately fine (see :data:`FINISH_TOLS`): step 3 merges what it splits.
2. **Exact solve.** With that active set the transfers are eliminated (each binding row is an equality)
   and the profit is :math:`\sum_B (\Psi_B x_B - F_B c(x_B))` over blocks :math:`B`, with
   :math:`\Psi_B = \sum_{n\in B}\psi_n` and :math:`\psi_n = \theta_n f_n - (\theta_{n+1}-\theta_n)\sum_{k>n}f_k`
   (BBS eq. 13 in discrete form), so each block's allocation is the stationary point
   :math:`c'(x_B) = \Psi_B / F_B` — one inverse marginal cost per block, no iteration.
3. **Update.** Blocks whose allocations come out of order violate the implied monotonicity: they are
   merged (a multiplier of the wrong sign says the row should leave the active set), which can only
   shrink the number of blocks, so the loop ends after at most N merges and cannot cycle.
4. **Check.** The caller certifies the result independently (all-pairs audit, Lagrangian bound of the
   all-pairs program, :mod:`mechdesign.engine.certificate`); when it fails, the finish is run again from
   a finer reading of the active set (``tol`` in :data:`FINISH_TOLS`), a finite, deterministic sequence.

When the reading refines the optimum's pools (always for the last reading), the profit is exact to
rounding: the gap between the menu's profit and the Lagrangian bound is at the level of floating-point error
(about 1e-15 of the profit), not the interior point's tolerance. Because the merges restore every pool, the
finished menu is the chain relaxation's optimum (:mod:`mechdesign.engine.chain`) whatever the solver's menu
was: the solver contributes its exact ties, and its own menu is reported beside the finished one
(``solver['finish']['solver_profit_rel']``) so that the conic program stays a check of its own. The module
knows nothing about LLMs: the cost enters through :class:`mechdesign.engine.chain.ScalarCost`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mechdesign.engine.chain import ScalarCost, chain_coefficients, pool_adjacent_violators

FloatArray = np.ndarray

#: readings of the active set, tried in turn until the caller's certificate holds: allocations within
#: ``tol`` of each other (relative to the largest) are one pooled block. A reading finer than the optimum's
#: pools is always safe (the merges of step 3 restore every pool: pool-adjacent-violators started from a
#: refinement of the optimal partition ends at the optimum), a coarser one is not: measured at N = 10,000
#: (single_model_cobb_douglas), neighbouring types' optimal allocations differ by less than 1e-9 of the
#: largest in places, and a reading at 1e-9 tied two types the optimum separates (qualities 3.6e-10 off,
#: though the profit was within 1e-15). So only exact ties of the solver's menu are read as pools (types the
#: polish held together), and the merges do the rest; a negative reading (every type its own block, the
#: solver's ties ignored) is the fallback when an exact tie was wrong, and is always exact.
FINISH_TOLS = (0.0, -1.0)


@dataclass
class ScalarFinish:
    """A menu solved exactly on an active set read from an approximate one (program units)."""

    allocation: FloatArray
    transfer: FloatArray
    #: first type of each pooled block after the merges
    block_starts: FloatArray
    #: blocks in the active set read from the approximate menu, and merges the update made
    blocks_read: int
    merges: int
    tol: float

    def info(self) -> dict[str, object]:
        """What the finish did, for ``solver_stats``."""
        return {"blocks_read": self.blocks_read, "merges": self.merges, "blocks": int(len(self.block_starts)),
                "pool_tol": self.tol}


def read_blocks(x: FloatArray, tol: float) -> FloatArray:
    """Start index of each block of consecutive types whose allocations are within ``tol`` (relative) of the
    block's first type. Types at zero (within ``tol``) are blocks of their own: types excluded together are
    not a pool (each one's stationary allocation is clipped at zero separately), and reading them as one
    could hide a type that the optimum serves."""
    x = np.asarray(x, dtype=float)
    if tol < 0:
        return np.arange(x.size)
    ref = max(float(np.max(np.abs(x), initial=0.0)), 1e-300)
    zero = np.abs(x) <= tol * ref
    starts = [0]
    for i in range(1, x.size):
        if zero[i] or abs(x[i] - x[starts[-1]]) > tol * ref:
            starts.append(i)
    return np.asarray(starts, dtype=int)


def finish_scalar(theta: FloatArray, prob: FloatArray, x: FloatArray, cost: ScalarCost,
                  tol: float = FINISH_TOLS[0]) -> ScalarFinish:
    r"""Solve the screening program exactly on the active set read from the allocation ``x``.

    Parameters
    ----------
    theta, prob : arrays (N,)
        Scalar types, strictly increasing and non-negative, and their probabilities (program units).
    x : array (N,)
        The approximate allocation (e.g. an interior-point menu's).
    cost : ScalarCost
        The convex cost of the allocation, :math:`c(0) = c'(0) = 0`.
    tol : float
        Allocations within ``tol`` of each other (relative to the largest) are read as pooled.

    Returns
    -------
    ScalarFinish
        Allocation :math:`x_B = c'^{-1}(\Psi_B/F_B)` per block (0 when :math:`\Psi_B \le 0`) and the
        transfers of the binding rows, :math:`t_n = \sum_{k\le n}\theta_k(x_k - x_{k-1})`.
    """
    th = np.asarray(theta, dtype=float)
    f = np.asarray(prob, dtype=float)
    psi = chain_coefficients(th, f)
    starts = read_blocks(x, tol)
    ends = np.append(starts[1:], th.size)
    # the blocks read, as (sum psi, sum f); neighbours whose stationary ratios are out of order are merged
    # (pool adjacent violators over the blocks, weighted by their mass)
    psi_b = np.add.reduceat(psi, starts)
    f_b = np.add.reduceat(f, starts)
    ratio_b, merged_starts, merges = pool_adjacent_violators(psi_b / f_b, f_b)
    first = starts[merged_starts]
    ratio = np.repeat(ratio_b, ends - starts)
    alloc = cost.inverse_marginal(ratio)
    alloc[ratio <= 0] = 0.0
    transfer = np.cumsum(th * np.diff(alloc, prepend=0.0))
    return ScalarFinish(allocation=alloc, transfer=transfer, block_starts=first, blocks_read=int(starts.size),
                        merges=merges, tol=tol)
