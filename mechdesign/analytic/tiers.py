r"""What simpler price schedules leave on the table: K-item menus, one linear price, one two-part tariff.

**K-item menus.** With one-dimensional types and single crossing, the types buying the same item form
a contiguous block, and, as in the full menu, the lowest type of each block is indifferent to the
block below and the lowest served type has zero rent. For blocks :math:`[i, j)` followed by a block
starting at :math:`j`, expected profit is then separable:

.. math::
    \Pi = \sum_{\text{blocks}} \max_{Q\ge 0}\big(a_{ij} Q - F_{ij}\,C(Q)\big),\qquad
    a_{ij} = F_{ij}\,\theta_i - (\theta_j - \theta_i)\,S_j,

with :math:`F_{ij}` the block's mass and :math:`S_j = \sum_{n\ge j} f_n` the mass above it (the
discrete analogue of virtual surplus, Mussa-Rosen). :func:`best_k_item_menu` maximises it by dynamic
programming over block starts, :math:`O(K N^2)`. The result is checked to be monotone (hence IC).

**One linear price** :math:`k\,c` per token (a common markup :math:`k \ge 1`) and **one two-part
tariff** :math:`(p_0, k)` are optimised numerically (bounded scalar search; Nelder-Mead from a grid).
Pure economics: no conic solver.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from mechdesign import _validate as V
from mechdesign.technology import Technology
from mechdesign.types import DiscreteTypes

FloatArray = np.ndarray


@dataclass(frozen=True)
class TierMenu:
    """A K-item menu: items (quality, transfer), each type's item (-1 = none), profit and surpluses."""

    quality: FloatArray
    transfer: FloatArray
    assignment: FloatArray
    profit: float
    surplus: float
    consumer_surplus: float
    blocks: list[tuple[int, int]]


def _block_values(tech: Technology, types: DiscreteTypes) -> tuple[FloatArray, FloatArray]:
    th, f = types.theta, types.prob
    N = types.n
    cum = np.concatenate([[0.0], np.cumsum(f)])
    i = np.arange(N)[:, None]
    j = np.arange(1, N + 1)[None, :]
    F = cum[j] - cum[i]
    S = 1.0 - cum[j]
    th_next = np.append(th, th[-1])[j]
    a = F * th[i] - (th_next - th[i]) * np.maximum(S, 0.0)
    valid = j > i
    with np.errstate(invalid="ignore", divide="ignore"):
        price = np.where(valid & (F > 0), a / np.where(F > 0, F, 1.0), 0.0)
    Q = tech.inverse_marginal_cost(np.maximum(price, 0.0))
    val = np.where(valid, a * Q - F * tech.cost(Q), -np.inf)
    return val, Q


def menu_from_blocks(tech: Technology, types: DiscreteTypes, blocks: list[tuple[int, int]],
                     qualities: FloatArray) -> TierMenu:
    """Transfers, assignment and profit of a block menu (lowest type per block indifferent downward)."""
    th, f = types.theta, types.prob
    assign = np.full(types.n, -1)
    q_items = np.asarray(qualities, dtype=float)
    t_items = np.zeros(len(blocks))
    rent_low = 0.0
    for k, (i, j) in enumerate(blocks):
        if k > 0:
            rent_low += (th[i] - th[blocks[k - 1][0]]) * q_items[k - 1]
        t_items[k] = th[i] * q_items[k] - rent_low
        assign[i:j] = k
    served = assign >= 0
    q_n = np.where(served, q_items[np.maximum(assign, 0)], 0.0)
    t_n = np.where(served, t_items[np.maximum(assign, 0)], 0.0)
    cost = tech.cost(q_n)
    return TierMenu(q_items, t_items, assign, float(f @ (t_n - cost)), float(f @ (th * q_n - cost)),
                    float(f @ (th * q_n - t_n)), blocks)


def best_k_item_menu(tech: Technology, types: DiscreteTypes, K: int) -> TierMenu:
    """The profit-maximising menu with at most K items (dynamic programming over contiguous blocks).

    The state is the first block ``[i, j)``; a block may follow only if its unconstrained quality is
    at least the previous block's (IC needs monotone quality; when that binds, merging the two blocks
    is itself a partition the recursion considers, as in ironing). Cost O(K N^2 log N).
    """
    K = V.integer("tiers", K, 1)
    N = types.n
    val, Qb = _block_values(tech, types)  # val[i, j-1], Qb[i, j-1] for block [i, j)
    neg = -np.inf
    # cur[i, j-1]: best profit with at most k blocks whose first block is [i, j)
    cur = np.full((N, N), neg)
    cur[:, N - 1] = val[:, N - 1]
    nxt_choice: list[FloatArray] = []
    for _ in range(2, K + 1):
        new = cur.copy()
        choice = np.full((N, N), -1)
        for j in range(1, N):
            g = cur[j, j:]  # following block [j, l), l = j+1..N
            q_next = Qb[j, j:]
            order = np.argsort(-q_next, kind="stable")
            pref = np.maximum.accumulate(g[order])
            arg = np.zeros(order.size, dtype=int)
            best_idx = 0
            for r in range(order.size):
                if g[order[r]] >= g[order[best_idx]]:
                    best_idx = r
                arg[r] = order[best_idx]
            q_first = Qb[:j, j - 1]
            # number of following blocks with q_next >= q_first
            cnt = np.searchsorted(-q_next[order], -q_first, side="right")
            ok = cnt > 0
            cand = np.where(ok, val[:j, j - 1] + np.where(ok, pref[np.maximum(cnt - 1, 0)], neg), neg)
            better = cand > new[:j, j - 1]
            new[:j, j - 1] = np.where(better, cand, new[:j, j - 1])
            choice[:j, j - 1] = np.where(better, j + 1 + arg[np.maximum(cnt - 1, 0)], -1)
        nxt_choice.append(choice)
        cur = new
    i0, j0 = np.unravel_index(int(np.argmax(cur)), cur.shape)
    if not cur[i0, j0] > 0:
        return menu_from_blocks(tech, types, [], np.zeros(0))
    blocks = [(int(i0), int(j0) + 1)]
    k = K
    i, j = blocks[0]
    while j < N:
        # the value of first block [i, j) at level k came from the highest level <= k that chose a follower
        while k >= 2 and nxt_choice[k - 2][i, j - 1] < 0:
            k -= 1
        if k < 2:
            break
        l_end = int(nxt_choice[k - 2][i, j - 1])
        blocks.append((j, l_end))
        i, j, k = j, l_end, k - 1
    q = np.array([Qb[a, b - 1] for a, b in blocks])
    menu = menu_from_blocks(tech, types, blocks, q)
    if blocks[-1][1] != N or np.any(np.diff(q) < -1e-15 * max(q.max(), 1e-300)):
        raise RuntimeError("internal error: K-item recursion returned an invalid partition")
    return menu


def linear_price(tech: Technology, types: DiscreteTypes) -> tuple[float, float, float, float]:
    r"""Best single markup :math:`k \ge 1` on marginal cost for every token (uniform pricing).

    A type buys :math:`Q = (C')^{-1}(\theta/k)` and pays :math:`k\,C(Q)`. Returns
    ``(k, profit, surplus, consumer_surplus)``.
    """
    th, f = types.theta, types.prob

    def outcome(k: float) -> tuple[float, float, float]:
        q = tech.inverse_marginal_cost(th / k)
        c = tech.cost(q)
        return float(f @ ((k - 1) * c)), float(f @ (th * q - c)), float(f @ (th * q - k * c))

    res = optimize.minimize_scalar(lambda k: -outcome(k)[0], bounds=(1.0, 50.0), method="bounded",
                                   options={"xatol": 1e-12})
    k = float(res.x)
    return (k, *outcome(k))


def single_two_part(tech: Technology, types: DiscreteTypes) -> tuple[float, float, float, float, float]:
    r"""Best single two-part tariff: fee :math:`p_0` and markup :math:`k` for everyone.

    A type buys iff :math:`\max_Q \theta Q - k C(Q) \ge p_0`. Returns ``(p0, k, profit, surplus,
    consumer_surplus)``.
    """
    th, f = types.theta, types.prob

    def outcome(p0: float, k: float) -> tuple[float, float, float]:
        k = max(k, 1e-9)
        q = tech.inverse_marginal_cost(th / k)
        c = tech.cost(q)
        gain = th * q - k * c
        buy = gain >= p0
        return (float(f @ np.where(buy, p0 + (k - 1) * c, 0.0)), float(f @ np.where(buy, th * q - c, 0.0)),
                float(f @ np.where(buy, gain - p0, 0.0)))

    best = (-np.inf, 0.0, 1.0)
    for k in np.linspace(0.6, 3.0, 25):
        q = tech.inverse_marginal_cost(th / k)
        for p0 in th * q - k * tech.cost(q):  # candidate fees: each type's willingness to pay
            p = outcome(float(p0), float(k))[0]
            if p > best[0]:
                best = (p, float(p0), float(k))
    res = optimize.minimize(lambda x: -outcome(x[0], x[1])[0], np.array(best[1:]), method="Nelder-Mead",
                            options={"xatol": 1e-12, "fatol": 1e-16, "maxiter": 4000})
    p0, k = (float(v) for v in res.x) if -res.fun >= best[0] else best[1:]
    return (p0, k, *outcome(p0, k))
