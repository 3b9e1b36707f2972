r"""Structured exact solver for screening with scalar types (the default single-model path).

For scalar types :math:`0 \le \theta_1 < \dots < \theta_N` with probabilities :math:`f_n`, a convex
cost :math:`c(x)` of the allocation with :math:`c(0) = c'(0) = 0`, and zero outside options, the
*chain relaxation* keeps the local downward IC rows, the lowest type's IR row and monotonicity
:math:`x_n \ge x_{n-1}` (implied by the IC pairs :math:`(n, n-1)` and :math:`(n-1, n)` together,
because :math:`\theta` is strictly increasing), so it is a relaxation of the all-pairs program:

.. math::
    \max_{x, t}\ \sum_n f_n (t_n - c(x_n))\ \ \text{s.t.}\ \
    \theta_n (x_n - x_{n-1}) \ge t_n - t_{n-1},\ \theta_1 x_1 \ge t_1,\ 0 \le x_1 \le \dots \le x_N .

Its objective increases in every transfer, so each transfer row binds (raise :math:`t_N, \dots, t_n`
together); eliminating :math:`t` leaves a separable concave objective under a chain order,

.. math::
    \max_{0 \le x_1 \le \dots \le x_N} \sum_n \big(\psi_n x_n - f_n c(x_n)\big),\qquad
    \psi_n = \theta_n f_n - (\theta_{n+1} - \theta_n)\textstyle\sum_{k > n} f_k ,

which the generalised pool-adjacent-violators algorithm solves exactly: a block of consecutive
types shares one allocation, the maximiser :math:`c'^{-1}(\sum\psi/\sum f)` (or 0), and adjacent
blocks whose maximisers are out of order are merged (Best, Chakravarti & Ubhaya 2000). This is
:math:`O(N)` plus one inverse marginal cost per type.

The solver is checked, not trusted: its multipliers (:func:`chain_multipliers`: tail masses on the
local downward rows plus the monotonicity multipliers, written as multipliers of the IC pairs
:math:`(n, n-1)` and :math:`(n-1, n)`) give a Lagrangian upper bound for the *all-pairs* program
(:mod:`mechdesign.engine.certificate`), and the menu must pass the all-pairs audit. The conic program of
:mod:`mechdesign.engine.program` solves the same problem without this structure and is its cross-check in
the tests. The module knows nothing about LLMs: the cost enters through :class:`ScalarCost`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from mechdesign.engine.certificate import Conjugate

FloatArray = np.ndarray


class ScalarCost(Protocol):
    """A convex cost of a scalar allocation with :math:`c(0) = c'(0) = 0` (program units)."""

    def value(self, x: FloatArray) -> FloatArray:
        """:math:`c(x)`."""
        ...

    def marginal(self, x: FloatArray) -> FloatArray:
        """:math:`c'(x)`."""
        ...

    def inverse_marginal(self, r: FloatArray) -> FloatArray:
        """The :math:`x \\ge 0` with :math:`c'(x) = r` (0 for :math:`r \\le 0`)."""
        ...

    @property
    def conjugate(self) -> Conjugate:
        """:math:`(s, f) \\mapsto \\sup_{x \\ge 0} s x - f c(x)` per type."""
        ...


@dataclass(frozen=True)
class PowerCost:
    r""":math:`c(x) = \kappa x^\beta`, :math:`\beta > 1` (Lemma 3's :math:`C_0 Q^{1/(\sigma+\hat\sigma)}` in program units)."""

    kappa: float
    beta: float

    def value(self, x: FloatArray) -> FloatArray:
        return self.kappa * np.maximum(np.asarray(x, dtype=float), 0.0) ** self.beta

    def marginal(self, x: FloatArray) -> FloatArray:
        return self.kappa * self.beta * np.maximum(np.asarray(x, dtype=float), 0.0) ** (self.beta - 1.0)

    def inverse_marginal(self, r: FloatArray) -> FloatArray:
        r = np.asarray(r, dtype=float)
        out = np.zeros(r.shape)
        pos = r > 0
        out[pos] = (r[pos] / (self.kappa * self.beta)) ** (1.0 / (self.beta - 1.0))
        return out

    @property
    def conjugate(self) -> Conjugate:
        from mechdesign.engine.certificate import power_conjugate

        return power_conjugate(self.kappa, self.beta)


@dataclass
class ChainSolution:
    """The exact optimum of the chain relaxation and the multipliers that certify it."""

    allocation: FloatArray
    transfer: FloatArray
    objective: float
    #: first type of each pooled block (blocks of one type included)
    block_starts: FloatArray
    pairs: FloatArray
    multipliers: FloatArray
    merges: int


def chain_coefficients(theta: FloatArray, prob: FloatArray) -> FloatArray:
    r""":math:`\psi_n = \theta_n f_n - (\theta_{n+1}-\theta_n)\sum_{k>n} f_k` (the allocation's linear profit coefficient)."""
    th = np.asarray(theta, dtype=float)
    f = np.asarray(prob, dtype=float)
    tail = np.cumsum(f[::-1])[::-1]  # sum_{k >= n} f_k
    psi = th * f
    psi[:-1] -= np.diff(th) * tail[1:]
    return psi


def pool_adjacent_violators(r: FloatArray, w: FloatArray) -> tuple[FloatArray, FloatArray, int]:
    """Weighted isotonic (non-decreasing) fit of ``r`` with weights ``w`` > 0.

    Returns the fitted value per entry, the start index of each block and the number of merges.
    Adjacent blocks are merged while the earlier one's weighted mean is at least the later one's.
    """
    r = np.asarray(r, dtype=float)
    w = np.asarray(w, dtype=float)
    N = r.size
    if N == 0 or bool(np.all(np.diff(r) > 0)):
        return r.copy(), np.arange(N), 0
    sums: list[float] = []
    weights: list[float] = []
    starts: list[int] = []
    merges = 0
    rw = (r * w).tolist()
    wl = w.tolist()
    for i in range(N):
        s, ww, st = rw[i], wl[i], i
        while sums and sums[-1] * ww >= s * weights[-1]:  # mean_prev >= mean_cur (weights > 0)
            s += sums.pop()
            ww += weights.pop()
            st = starts.pop()
            merges += 1
        sums.append(s)
        weights.append(ww)
        starts.append(st)
    st_arr = np.asarray(starts, dtype=int)
    means = np.asarray(sums) / np.asarray(weights)
    lengths = np.diff(np.append(st_arr, N))
    return np.repeat(means, lengths), st_arr, merges


def chain_multipliers(theta: FloatArray, prob: FloatArray, x: FloatArray,
                      cost: ScalarCost) -> tuple[FloatArray, FloatArray, float]:
    r"""IC-pair multipliers of the all-pairs program derived from an allocation ``x`` (any ``x``).

    The chain relaxation's KKT conditions give, from the top type down,
    :math:`\mu_n = \sum_{k \ge n} (f_k c'(x_k) - \psi_k)` for the monotonicity row :math:`x_n \ge x_{n-1}`
    and the tail mass :math:`\bar F_n = \sum_{k\ge n} f_k` for the local downward IC row. As
    multipliers of the IC pairs: :math:`\lambda_{n,n-1} = \bar F_n + m_n`, :math:`\lambda_{n-1,n} = m_n`
    with :math:`m_n = \mu_n^+/(\theta_n - \theta_{n-1})` (the two rows sum to
    :math:`(\theta_n-\theta_{n-1})(x_n - x_{n-1}) \ge 0`). Negative :math:`\mu_n` (an allocation that is not
    optimal) are clipped at zero, which keeps the flow balance exact and the bound valid.
    Returns ``(pairs, multipliers, most negative mu_n relative to the largest |mu_n| or 1)``.
    """
    th = np.asarray(theta, dtype=float)
    f = np.asarray(prob, dtype=float)
    N = th.size
    psi = chain_coefficients(th, f)
    g = f * cost.marginal(x) - psi
    mu = np.cumsum(g[::-1])[::-1][1:]  # mu_n for n = 1..N-1 (0-based)
    tail = np.cumsum(f[::-1])[::-1][1:]
    raw_min = min(float(np.min(mu, initial=0.0)), 0.0) / max(float(np.max(np.abs(mu), initial=0.0)), 1.0)
    m = np.maximum(mu, 0.0) / np.diff(th)
    k = np.arange(1, N)
    pairs = np.concatenate([np.column_stack([k, k - 1]), np.column_stack([k - 1, k])])
    return pairs, np.concatenate([tail + m, m]), raw_min


def solve_chain(theta: FloatArray, prob: FloatArray, cost: ScalarCost) -> ChainSolution:
    """Solve the chain relaxation exactly (see the module docstring); transfers from the binding rows."""
    th = np.asarray(theta, dtype=float)
    f = np.asarray(prob, dtype=float)
    psi = chain_coefficients(th, f)
    ratio, starts, merges = pool_adjacent_violators(psi / f, f)
    x = cost.inverse_marginal(ratio)
    x[ratio <= 0] = 0.0
    t = np.cumsum(th * np.diff(x, prepend=0.0))
    pairs, lam, _ = chain_multipliers(th, f, x, cost)
    objective = float(f @ (t - cost.value(x)))
    return ChainSolution(allocation=x, transfer=t, objective=objective, block_starts=starts,
                         pairs=pairs, multipliers=lam, merges=merges)
