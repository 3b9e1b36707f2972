r"""Two-part tariffs with task caps: the indirect implementation of Prop 10 (BBS Appendix B.3), simulated.

Item :math:`(F, m, \bar s)`: a fixed fee :math:`F`, every token sold at :math:`m` times its marginal
cost, and at most :math:`\bar s` tasks processed. A buyer :math:`(w, s)` processes
:math:`s' = \min(s, \bar s)` tasks; buying tokens at proportional prices he picks the cost-minimising
mix, so he chooses the quality :math:`q` maximising :math:`w q - m\,C(q, s') - F`, i.e.
:math:`w = m\,C_q(q, s')`. The item designed for :math:`(w, s)` has :math:`\bar s = s`,
:math:`m = w/\varphi(w)` (so that :math:`C_q = \varphi(w)`, eq. 62) and
:math:`F = t(w, s) - m\,C(q(w, s), s)` (eq. 63).

The implementation is exact for a continuum of values (the tariff menu is the envelope of the
Mussa-Rosen tariff within each scale). With finitely many items a buyer re-optimises the quality at the
item's price, which a direct deviation cannot, so binding downward ICs tip buyers to the item just
below theirs (the discrete-type caveat of issue 3's two-part format): :func:`simulate_task_caps`
measures how closely buyers between grid items are served, with and without the caps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mechdesign.analytic.value_scale import scale_cost, scale_quality
from mechdesign.technology import Technology
from mechdesign.types import Distribution

FloatArray = np.ndarray


@dataclass(frozen=True)
class TaskCapMenu:
    """Items for the values ``w_items`` at every scale in ``scales``; arrays of shape ``(M, N)``."""

    tech: Technology
    dist: Distribution
    w_items: FloatArray
    scales: FloatArray
    fee: FloatArray
    markup: FloatArray
    quality: FloatArray
    transfer: FloatArray


def continuous_quality(tech: Technology, dist: Distribution, w: FloatArray, s: float) -> FloatArray:
    """:math:`q(w, s)` of eq. (62) for a continuous value distribution (zero where :math:`\\varphi \\le 0`)."""
    return scale_quality(tech, np.maximum(dist.virtual_value(np.asarray(w, dtype=float)), 0.0), s)


def continuous_transfer(tech: Technology, dist: Distribution, w: FloatArray, s: float,
                        nodes: int = 4001) -> FloatArray:
    """:math:`t(w, s) = w q(w, s) - \\int_{lo}^w q(r, s) dr` of eq. (63) (trapezoid rule on ``nodes`` points)."""
    w = np.asarray(w, dtype=float)
    grid = np.linspace(dist.lo, dist.hi, nodes)
    q = continuous_quality(tech, dist, grid, s)
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (q[1:] + q[:-1]) * np.diff(grid))])
    return w * continuous_quality(tech, dist, w, s) - np.interp(w, grid, cum)


def task_cap_menu(tech: Technology, dist: Distribution, scales: FloatArray, n_items: int = 200) -> TaskCapMenu:
    """Two-part tariffs with task caps for items at ``n_items`` values spread over the served range."""
    scales = np.asarray(scales, dtype=float)
    grid = np.linspace(dist.lo, dist.hi, 20001)
    served = grid[dist.virtual_value(grid) > 0]
    w_items = np.linspace(served[0], dist.hi, n_items)
    phi = dist.virtual_value(w_items)
    markup = np.where(phi > 0, w_items / np.maximum(phi, 1e-300), np.inf)
    rows = []
    for s in scales:
        q = continuous_quality(tech, dist, w_items, float(s))
        t = continuous_transfer(tech, dist, w_items, float(s))
        fee = np.where(phi > 0, t - markup * scale_cost(tech, q, float(s)), 0.0)
        rows.append((fee, q, t))
    fee, q, t = (np.array(x) for x in zip(*rows))
    return TaskCapMenu(tech, dist, w_items, scales, fee, np.tile(markup, (scales.size, 1)), q, t)


@dataclass(frozen=True)
class TaskCapSimulation:
    """Buyers ``(w, s)``: chosen item's scale, quality obtained, and comparison with eqs. (62)-(63)."""

    w: FloatArray
    s: FloatArray
    chosen_scale: FloatArray
    quality: FloatArray
    payment: FloatArray
    quality_rel_error: float
    payment_rel_error: float
    own_scale_share: float


def simulate_task_caps(menu: TaskCapMenu, w: FloatArray, s: FloatArray, caps: bool = True) -> TaskCapSimulation:
    """Let buyers ``(w[i], s[i])`` pick their best item (``caps=False`` drops the task caps)."""
    tech = menu.tech
    w = np.asarray(w, dtype=float)
    s = np.asarray(s, dtype=float)
    N = menu.fee.shape[1]
    best_u = np.zeros(w.size)
    best_q = np.zeros(w.size)
    best_pay = np.zeros(w.size)
    best_s = np.full(w.size, np.nan)
    for m_i, cap in enumerate(menu.scales):
        for n in range(N):
            m, F = menu.markup[m_i, n], menu.fee[m_i, n]
            if not np.isfinite(m):
                continue
            eff = np.minimum(s, cap) if caps else s
            q, cost = np.empty(w.size), np.empty(w.size)
            for e in np.unique(eff):
                idx = eff == e
                q[idx] = scale_quality(tech, w[idx] / m, float(e))
                cost[idx] = scale_cost(tech, q[idx], float(e))
            u = w * q - m * cost - F
            better = u > best_u + 1e-15
            best_u = np.where(better, u, best_u)
            best_q = np.where(better, q, best_q)
            best_pay = np.where(better, F + m * cost, best_pay)
            best_s = np.where(better, cap, best_s)
    q_ref, t_ref = np.empty(w.size), np.empty(w.size)
    for e in np.unique(s):
        idx = s == e
        q_ref[idx] = continuous_quality(tech, menu.dist, w[idx], float(e))
        t_ref[idx] = continuous_transfer(tech, menu.dist, w[idx], float(e))
    served = q_ref > 0
    own = np.isclose(best_s[served], s[served])
    return TaskCapSimulation(
        w, s, best_s, best_q, best_pay,
        float(np.abs(best_q - q_ref).max() / max(q_ref.max(), 1e-300)),
        float(np.abs(best_pay - t_ref).max() / max(np.abs(t_ref).max(), 1e-300)),
        float(own.mean()) if own.size else 1.0,
    )
