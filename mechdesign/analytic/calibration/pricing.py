r"""Pricing formats as posted items, simulated type by type; the best simple formats (BBS Defs 1-2, Prop 4).

Every format is simulated type by type (ties broken toward the seller), never assumed. A buyer at an item
``(F, p, Q0, cap)`` pays :math:`F + p\,\max(0, C(Q) - C(Q_0))` for :math:`Q \in [Q_0, \text{cap}]`
(token prices :math:`p` times marginal cost beyond the included quality :math:`Q_0`): maximum spend
(:math:`F = T_k`, :math:`Q_0 = \text{cap} = Q_k`), minimum spend (:math:`F = T_k`, :math:`p = r_k`,
:math:`Q_0 = Q_k` since :math:`r_k C(Q_k) = T_k`), an allowance with a flat overage price :math:`p_o`
(:math:`p = p_o/\lambda`; Copilot), and two-part tariffs with or without quantity caps.

**Capped two-part tariffs** (fee :math:`F_k`, per-token price :math:`p_k` times marginal cost, cap
:math:`Q_k`): with :math:`F_k = T_k - p_k C(Q_k)`, every type whose unconstrained demand at
:math:`p_k` reaches the cap gets exactly :math:`\theta Q_k - T_k` from tariff k, its payoff from item k of
the direct menu. With ``pricing="floor"``, :math:`p_k = \theta_{\min}/C'(Q_k)` (lowest served type), the
cap binds for every served type, so the direct menu's IC and IR carry over and the discrete optimum is
reproduced exactly; types below :math:`\theta_{\min}` get at most :math:`\theta_{\min}Q_k - T_k \le 0`.
With ``pricing="markup"``, :math:`p_k = m_k` (eq. 14 at the lowest type buying item k); this is exact
when the :math:`m_k` are non-increasing (Prop 4's condition; a type :math:`\theta_j \in [\theta_i,
\theta_{i+1}]` on tariff k then demands at least :math:`Q_i`). Without caps a two-part menu never
reproduces a discrete optimum: type :math:`k+1` on tariff k buys beyond :math:`Q_k` and gets
:math:`U_k + \int_{\theta_k}^{\theta_{k+1}} Q^k(s)ds > U_k + (\theta_{k+1}-\theta_k)Q_k = U_{k+1}`.


The optimal menus with fewer items, one linear price and one two-part tariff are the benchmarks of
:func:`mechdesign.analytic.calibration.counterfactual.counterfactuals`.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize

from ... import _validate as V
from ...exceptions import ProblemSpecError
from ...technology import Technology
from .data import FloatArray

#: payoffs within this share of the largest gross payoff are ties (broken toward the seller)
TIE_RTOL = 1e-10
#: brute-force block menus up to this many types
MAX_BLOCK_TYPES = 14


# ------------------------------------------------------------------------- formats and simulation
@dataclass(frozen=True)
class Items:
    r"""Posted items: fee :math:`F`, price multiplier :math:`p` on marginal cost beyond the included
    quality :math:`Q_0`, and a cap. A buyer pays :math:`F + p\max(0, C(Q) - C(Q_0))`,
    :math:`Q \in [Q_0, \text{cap}]`."""

    kind: str
    fee: FloatArray
    price: FloatArray
    included: FloatArray
    cap: FloatArray

    @property
    def size(self) -> int:
        return int(self.fee.size)


def _respond(items: Items, tech: Technology, th: float) -> tuple[FloatArray, FloatArray]:
    p = items.price
    with np.errstate(divide="ignore", invalid="ignore"):
        target = np.where(np.isfinite(p) & (p > 0), th / np.where(p > 0, p, 1.0), np.inf)
    want = np.where(
        np.isfinite(target), tech.inverse_marginal_cost(np.where(np.isfinite(target), target, 0.0)), np.inf
    )
    Q = np.clip(want, items.included, items.cap)
    extra = tech.cost(Q) - tech.cost(items.included)
    pay = items.fee + np.where(extra > 0, np.where(np.isfinite(p), p, 0.0) * np.maximum(extra, 0.0), 0.0)
    return Q, pay


def simulate_items(items: Items, tech: Technology, theta: FloatArray) -> pd.DataFrame:
    """Each type takes its best item or nothing (ties within :data:`TIE_RTOL` go to the seller)."""
    theta = np.asarray(theta, dtype=float)
    q_top, _ = _respond(items, tech, float(theta.max()))
    finite = q_top[np.isfinite(q_top)]
    scale = max(float(theta.max()) * float(finite.max(initial=0.0)), 1e-300)
    rows = []
    for th in theta:
        q, pay = _respond(items, tech, float(th))
        q, pay = np.append(q, 0.0), np.append(pay, 0.0)
        payoff = th * q - pay
        profit = pay - tech.cost(q)
        best = float(payoff.max())
        near = np.flatnonzero(payoff >= best - TIE_RTOL * scale)
        pick = int(near[np.argmax(profit[near])])
        rows.append(
            {
                "theta": th,
                "item": pick if pick < items.size else -1,
                "quality": q[pick],
                "payment": pay[pick],
                "payoff": payoff[pick],
                "profit": profit[pick],
            }
        )
    return pd.DataFrame(rows)


def _menu_items(Q: FloatArray, T: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Distinct served items of a per-type direct menu: (Q, T, index of the lowest type taking each)."""
    Q, T = np.asarray(Q, dtype=float), np.asarray(T, dtype=float)
    qmax = max(float(Q.max(initial=0.0)), 1e-300)
    served = np.flatnonzero(Q > 1e-12 * qmax)
    keep: list[int] = []
    for i in served:
        if not keep or abs(Q[i] - Q[keep[-1]]) > 1e-12 * qmax:
            keep.append(int(i))
    idx = np.array(keep, dtype=int)
    return Q[idx], T[idx], idx


def max_spend_items(tech: Technology, Q: FloatArray, T: FloatArray) -> Items:
    """Def 1: fee T_k for a budget C(Q_k) at marginal cost (hard cap)."""
    q, t, _ = _menu_items(Q, T)
    return Items("max-spend", t, np.full(q.size, np.inf), q, q)


def min_spend_items(tech: Technology, Q: FloatArray, T: FloatArray) -> Items:
    r"""Def 2 (proof of Prop 4): commit to T_k at prices :math:`r_k = T_k/C(Q_k)` times marginal cost."""
    q, t, _ = _menu_items(Q, T)
    return Items("min-spend", t, t / tech.cost(q), q, np.full(q.size, np.inf))


def overage_items(tech: Technology, Q: FloatArray, T: FloatArray, multiplier: float) -> Items:
    """An allowance C(Q_k) for T_k plus a flat overage price ``multiplier`` times marginal cost (Copilot)."""
    q, t, _ = _menu_items(Q, T)
    return Items("allowance+overage", t, np.full(q.size, float(multiplier)), q, np.full(q.size, np.inf))


def two_part_items(
    tech: Technology,
    theta: FloatArray,
    Q: FloatArray,
    T: FloatArray,
    capped: bool = True,
    pricing: str = "markup",
) -> Items:
    r"""Two-part tariffs ``(F_k, p_k)`` with (``capped``) or without a quantity cap :math:`Q_k`.

    ``pricing="markup"``: :math:`p_k = m_k = \theta/C'(Q_k)` at the lowest type taking item k (eq. 14);
    ``"floor"``: :math:`p_k = \theta_{\min}/C'(Q_k)` with :math:`\theta_{\min}` the lowest served type.
    :math:`F_k = T_k - p_k C(Q_k)`. See the module docstring for when each reproduces the menu.
    """
    pricing = V.one_of("pricing", pricing, ("markup", "floor"))
    theta = np.asarray(theta, dtype=float)
    q, t, idx = _menu_items(Q, T)
    low = theta[idx] if pricing == "markup" else np.full(q.size, theta[idx[0]])
    p = low / tech.marginal_cost(q)
    return Items(
        f"two-part{' capped' if capped else ''} ({pricing})",
        t - p * tech.cost(q),
        p,
        np.zeros(q.size),
        q if capped else np.full(q.size, np.inf),
    )


@dataclass(frozen=True)
class Reproduction:
    """Whether a simulated format reproduces a direct menu (errors relative to the largest Q and T)."""

    kind: str
    quality_error: float
    payment_error: float
    missorted: list[int]
    profit: float
    consumer_surplus: float

    @property
    def exact(self) -> bool:
        return not self.missorted


def reproduces(
    items: Items,
    tech: Technology,
    theta: FloatArray,
    prob: FloatArray,
    Q: FloatArray,
    T: FloatArray,
    rtol: float = 1e-9,
) -> Reproduction:
    """Simulate ``items`` for every type and compare quality and payment with the direct menu ``(Q, T)``."""
    sim = simulate_items(items, tech, theta)
    Q, T, prob = (np.asarray(a, dtype=float) for a in (Q, T, prob))
    dq = np.abs(sim["quality"].to_numpy() - Q) / max(float(np.abs(Q).max()), 1e-300)
    dt = np.abs(sim["payment"].to_numpy() - T) / max(float(np.abs(T).max()), 1e-300)
    bad = np.flatnonzero((dq > rtol) | (dt > rtol) | ~np.isfinite(dq))
    return Reproduction(
        items.kind,
        float(np.nanmax(dq)),
        float(np.nanmax(dt)),
        [int(i) for i in bad],
        float(prob @ sim["profit"].to_numpy()),
        float(prob @ sim["payoff"].to_numpy()),
    )


# ------------------------------------------------------------------------- optimal simple formats
@dataclass(frozen=True)
class BlockMenu:
    """An optimal menu with at most a given number of items over discrete types (contiguous blocks)."""

    quality: FloatArray
    transfer: FloatArray
    blocks: list[tuple[int, int]]
    profit: float
    consumer_surplus: float

    @property
    def surplus(self) -> float:
        return self.profit + self.consumer_surplus


def best_item_menu(tech: Technology, theta: FloatArray, prob: FloatArray, n_items: int) -> BlockMenu:
    r"""The profit-maximising menu with at most ``n_items`` items (exhaustive over contiguous blocks).

    Blocks :math:`[s_i, s_{i+1})` of types share an item; types below :math:`s_1` are excluded. For a
    partition, profit is :math:`\sum_i (a_i Q_i - F_i C(Q_i))` with :math:`F_i` the block mass,
    :math:`a_i = F_i\theta_{s_i} - (\theta_{s_{i+1}}-\theta_{s_i}) S_{s_{i+1}}` (discrete virtual surplus),
    so :math:`Q_i = (C')^{-1}(a_i/F_i)`; partitions with non-increasing :math:`Q` are skipped (their
    monotone optimum is a coarser partition, also enumerated). Transfers: the lowest type of each block is
    indifferent to the block below, the lowest served type has zero rent.
    """
    theta, prob = np.asarray(theta, dtype=float), np.asarray(prob, dtype=float)
    N = theta.size
    if N > MAX_BLOCK_TYPES:
        raise ProblemSpecError("types", N, f"at most {MAX_BLOCK_TYPES} types for the exhaustive block search")
    n_items = V.integer("n_items", n_items, 1)
    tail = np.append(np.cumsum(prob[::-1])[::-1], 0.0)  # tail[j] = sum_{n >= j} f_n
    th_ext = np.append(theta, theta[-1])
    best = BlockMenu(np.zeros(0), np.zeros(0), [], 0.0, 0.0)
    for m in range(1, min(n_items, N) + 1):
        for starts in itertools.combinations(range(N), m):
            ends = list(starts[1:]) + [N]
            F = np.array([tail[s] - tail[e] for s, e in zip(starts, ends, strict=True)])
            a = np.array(
                [
                    F[i] * theta[s] - (th_ext[e] - theta[s]) * tail[e]
                    for i, (s, e) in enumerate(zip(starts, ends, strict=True))
                ]
            )
            if np.any(a <= 0):
                continue
            Q = tech.inverse_marginal_cost(a / F)
            if np.any(np.diff(Q) <= 0):
                continue
            t = np.empty(m)
            rent_low = 0.0
            for i, s in enumerate(starts):
                if i:
                    rent_low += (theta[s] - theta[starts[i - 1]]) * Q[i - 1]
                t[i] = theta[s] * Q[i] - rent_low
            profit = float(F @ (t - tech.cost(Q)))
            if profit > best.profit:
                cs = 0.0
                for i, (s, e) in enumerate(zip(starts, ends, strict=True)):
                    cs += float(prob[s:e] @ (theta[s:e] * Q[i] - t[i]))
                best = BlockMenu(Q, t, list(zip(starts, ends, strict=True)), profit, cs)
    return best


def linear_price(tech: Technology, theta: FloatArray, prob: FloatArray) -> dict[str, float]:
    r"""One price :math:`k` times marginal cost for every token; for :math:`C = C_0Q^b` the optimum is
    :math:`k = b` (profit :math:`\propto (k-1)k^{-b/(b-1)}`), checked by a bounded scalar search."""
    theta, prob = np.asarray(theta, dtype=float), np.asarray(prob, dtype=float)

    def outcome(k: float) -> tuple[float, float]:
        q = tech.inverse_marginal_cost(theta / k)
        c = tech.cost(q)
        return float(prob @ ((k - 1) * c)), float(prob @ (theta * q - k * c))

    res = optimize.minimize_scalar(
        lambda lk: -outcome(math.exp(lk))[0],
        bounds=(0.0, math.log(200.0)),
        method="bounded",
        options={"xatol": 1e-12},
    )
    k = math.exp(float(res.x))
    if tech.is_homogeneous and outcome(tech.cost_exponent)[0] >= outcome(k)[0]:
        k = tech.cost_exponent
    prof, cs = outcome(k)
    return {"markup": k, "profit": prof, "consumer_surplus": cs}


def single_two_part(tech: Technology, theta: FloatArray, prob: FloatArray) -> dict[str, float]:
    r"""One fee :math:`p_0` and one markup :math:`k` for everyone. For each candidate lowest buyer i the fee
    is i's gross gain :math:`G_i(k) = \max_Q \theta_i Q - kC(Q)`; profit
    :math:`S_i G_i(k) + (k-1)\sum_{j\ge i} f_j C(Q_j(k))` is maximised over :math:`k` by bounded search."""
    theta, prob = np.asarray(theta, dtype=float), np.asarray(prob, dtype=float)
    tail = np.cumsum(prob[::-1])[::-1]

    def profit(i: int, k: float) -> float:
        q = tech.inverse_marginal_cost(theta[i:] / k)
        c = tech.cost(q)
        gain = theta[i] * q[0] - k * c[0]
        return float(tail[i] * gain + (k - 1) * (prob[i:] @ c))

    best = (-math.inf, 0, 1.0)
    for i in range(theta.size):
        res = optimize.minimize_scalar(
            lambda lk, i=i: -profit(i, math.exp(lk)),
            bounds=(math.log(0.2), math.log(200.0)),
            method="bounded",
            options={"xatol": 1e-12},
        )
        val = -float(res.fun)
        if val > best[0]:
            best = (val, i, math.exp(float(res.x)))
    _, i, k = best
    q = tech.inverse_marginal_cost(theta / k)
    gain = theta * q - k * tech.cost(q)
    fee = float(gain[i])
    buy = np.arange(theta.size) >= i
    return {
        "fee": fee,
        "markup": k,
        "profit": best[0],
        "consumer_surplus": float(prob @ np.where(buy, gain - fee, 0.0)),
        "lowest_buyer": float(i),
    }
