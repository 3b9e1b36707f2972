r"""Indirect implementations of a single-model menu (BBS §4.2, Defs 1-3, Prop 4) and a buyer simulator.

Every format prices tokens proportionally to marginal cost, so a buyer facing price multiplier
:math:`k` buys quality :math:`Q` at cost :math:`k\,C(Q)` (cost-minimising token mix, Prop 2 and the
proof of Prop 4). For a direct menu :math:`(Q_n, t_n)`:

* **maximum-spend** (Def 1): prices :math:`p = (c, \hat c)`, budgets :math:`B_n = C(Q_n)`, fees
  :math:`T_n = t_n`;
* **minimum-spend** (Def 2): prices :math:`r_n (c, \hat c)` with :math:`r_n = t_n / C(Q_n)`,
  commitments :math:`T_n = t_n` (the buyer pays :math:`\max(\text{spend}, T_n)`);
* **two-part tariff** (Def 3): prices :math:`m_n (c, \hat c)` and fixed fee
  :math:`p_{0,n} = t_n - m_n C(Q_n)`. The markup is eq. (14), :math:`m = \theta/\bar\varphi(\theta)`;
  for discrete types we use its discrete analogue :math:`m_n = \theta_n / C'(Q_n)`, derived from the
  same first-order condition :math:`\theta_n = m_n C'(Q_n)` that makes type n choose :math:`Q_n` on
  its own tariff (for the exact discrete menu :math:`C'(Q_n) = \bar\varphi_n`, so
  :math:`m_n = \theta_n/\bar\varphi_n`).

:func:`simulate` lets every type pick its best item (or nothing), ties broken toward the seller, so
that whether a format reproduces the direct menu is checked, not assumed. Pure economics: no solver.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mechdesign import _validate as V
from mechdesign.technology import Technology

FloatArray = np.ndarray

FORMATS = ("max-spend", "min-spend", "two-part")

#: payoffs within this share of the largest gross payoff count as ties (broken toward the seller)
TIE_RTOL = 1e-10


@dataclass(frozen=True)
class PostedFormat:
    """A posted menu of items: fees, budgets and per-item price multipliers on marginal costs."""

    kind: str
    fee: FloatArray
    budget: FloatArray
    multiplier: FloatArray
    designed_for: FloatArray

    @property
    def size(self) -> int:
        return int(self.fee.size)

    def table(self, tech: Technology, inference_names: list[str], finetuning_names: list[str]) -> pd.DataFrame:
        """The pricing page: one row per tier (Tier 1..K), fee, budget and per-token prices by class."""
        rows: dict[str, object] = {"tier": [f"Tier {i + 1}" for i in range(self.size)]}
        label = {"max-spend": "upfront_fee", "min-spend": "committed_spend", "two-part": "fixed_fee"}[self.kind]
        rows[label] = self.fee
        if self.kind == "max-spend":
            rows["credit_budget"] = self.budget
        for j, name in enumerate(inference_names):
            rows[f"price_{name}"] = self.multiplier * tech.c[j]
        for k, name in enumerate(finetuning_names):
            rows[f"price_{name}"] = self.multiplier * tech.c_hat[k]
        rows["markup"] = self.multiplier
        return pd.DataFrame(rows)


def _served(Q: FloatArray, t: FloatArray) -> FloatArray:
    Q = np.asarray(Q, dtype=float)
    return np.flatnonzero(Q > 1e-12 * max(float(Q.max(initial=0.0)), 1e-300))


def _dedupe(fee: FloatArray, budget: FloatArray, mult: FloatArray, idx: FloatArray) -> tuple[FloatArray, ...]:
    key = np.round(np.column_stack([fee, np.nan_to_num(budget), mult]), 12)
    _, first = np.unique(key, axis=0, return_index=True)
    first = np.sort(first)
    return fee[first], budget[first], mult[first], idx[first]


def build_format(kind: str, tech: Technology, theta: FloatArray, Q: FloatArray, t: FloatArray) -> PostedFormat:
    """Construct the posted format ``kind`` (Defs 1-3) from a direct menu; one item per served type,
    identical items merged (pooled types)."""
    kind = V.one_of("format", kind, FORMATS)
    theta, Q, t = (np.asarray(a, dtype=float) for a in (theta, Q, t))
    idx = _served(Q, t)
    C = tech.cost(Q[idx])
    if kind == "max-spend":
        fee, budget, mult = t[idx], C, np.ones(idx.size)
    elif kind == "min-spend":
        fee, budget, mult = t[idx], np.full(idx.size, np.nan), t[idx] / C
    else:
        mult = theta[idx] / tech.marginal_cost(Q[idx])
        fee, budget = t[idx] - mult * C, np.full(idx.size, np.nan)
    fee, budget, mult, idx = _dedupe(fee, budget, mult, idx)
    return PostedFormat(kind, fee, budget, mult, idx)


def _responses(fmt: PostedFormat, tech: Technology, theta: float) -> tuple[FloatArray, FloatArray]:
    """Quality bought and payment made by type ``theta`` at each item."""
    k = fmt.multiplier
    if fmt.kind == "max-spend":
        return tech.inverse_cost(fmt.budget), fmt.fee.copy()
    q_free = tech.inverse_marginal_cost(theta / k)
    spend = k * tech.cost(q_free)
    if fmt.kind == "two-part":
        return q_free, fmt.fee + spend
    # minimum spend: pay max(spend, commitment); below the commitment, spend it all
    q_commit = tech.inverse_cost(fmt.fee / k)
    short = spend < fmt.fee
    return np.where(short, q_commit, q_free), np.where(short, fmt.fee, spend)


def simulate(fmt: PostedFormat, tech: Technology, theta: FloatArray) -> pd.DataFrame:
    """Each type picks its best item or nothing; ties (to :data:`TIE_RTOL`) go to the seller.

    Returns one row per type: ``item`` (-1 for no purchase), ``quality``, ``payment``, ``payoff``,
    ``profit`` (payment minus the cost :math:`C(Q)` of the tokens used).
    """
    theta = np.asarray(theta, dtype=float)
    rows = []
    q_top, _ = _responses(fmt, tech, float(theta.max(initial=0.0)))
    scale = max(float(theta.max(initial=0.0)) * float(q_top.max(initial=0.0)), 1e-300)
    for th in theta:
        q, pay = _responses(fmt, tech, float(th))
        q = np.append(q, 0.0)
        pay = np.append(pay, 0.0)
        payoff = th * q - pay
        profit = pay - tech.cost(q)
        best = payoff.max()
        near = np.flatnonzero(payoff >= best - TIE_RTOL * scale)
        pick = int(near[np.argmax(profit[near])])
        rows.append({"item": pick if pick < fmt.size else -1, "quality": q[pick], "payment": pay[pick],
                     "payoff": payoff[pick], "profit": profit[pick]})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class FormatCheck:
    """How well a simulated format reproduces the direct menu."""

    kind: str
    quality_rel_error: float
    payment_rel_error: float
    profit_rel_error: float
    missorted: FloatArray
    profit_loss: float

    def to_dict(self) -> dict[str, object]:
        return {"format": self.kind, "quality_rel_error": self.quality_rel_error,
                "payment_rel_error": self.payment_rel_error, "profit_rel_error": self.profit_rel_error,
                "missorted_types": [int(i) for i in self.missorted], "profit_loss": self.profit_loss}


def check_format(fmt: PostedFormat, tech: Technology, theta: FloatArray, prob: FloatArray, Q: FloatArray,
                 t: FloatArray, rtol: float = 1e-6) -> FormatCheck:
    """Simulate ``fmt`` and compare with the direct menu: errors relative to the largest Q and t, the
    types whose choice differs from their direct item (beyond ``rtol``), and the profit lost."""
    sim = simulate(fmt, tech, theta)
    Q, t, prob = (np.asarray(a, dtype=float) for a in (Q, t, prob))
    qs, ts = max(float(np.abs(Q).max()), 1e-300), max(float(np.abs(t).max()), 1e-300)
    dq = np.abs(sim["quality"].to_numpy() - Q) / qs
    dt = np.abs(sim["payment"].to_numpy() - t) / ts
    direct_profit = float(prob @ (t - tech.cost(Q)))
    fmt_profit = float(prob @ sim["profit"].to_numpy())
    return FormatCheck(fmt.kind, float(dq.max()), float(dt.max()),
                       abs(fmt_profit - direct_profit) / max(abs(direct_profit), 1e-300),
                       np.flatnonzero((dq > rtol) | (dt > rtol)), direct_profit - fmt_profit)


def markups(tech: Technology, theta: FloatArray, Q: FloatArray, t: FloatArray) -> pd.DataFrame:
    r"""Two-part markup :math:`m = \theta/C'(Q)` (eq. 14) and minimum-spend markup :math:`r = t/C(Q)`
    for served types. Prop 4's proof: :math:`m \le r`, and :math:`m` decreasing implies :math:`r`
    decreasing."""
    theta, Q, t = (np.asarray(a, dtype=float) for a in (theta, Q, t))
    idx = _served(Q, t)
    return pd.DataFrame({"type": idx, "theta": theta[idx], "m": theta[idx] / tech.marginal_cost(Q[idx]),
                         "r": t[idx] / tech.cost(Q[idx])})
