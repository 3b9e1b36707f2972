r"""Screening over lotteries for one-dimensional types with any payoff: an LP with column and row generation.

For types :math:`\theta_1, \dots, \theta_N` (probabilities :math:`f_n`), a payoff :math:`u(\theta, q)`
with :math:`u(\theta, 0) = 0` (the outside option, as in Lemma 4's normalisation, eq. 31) and a linear
cost :math:`c\,q`, a menu of lotteries gives type :math:`n` a distribution :math:`\pi_n` over quantities and
a transfer :math:`t_n`. The seller's problem

.. math::
    \max \sum_n f_n\big(t_n - c\,\mathbb E_{\pi_n} q\big) \quad\text{s.t.}\quad
    \mathbb E_{\pi_n} u(\theta_n, q) - t_n \ge \mathbb E_{\pi_m} u(\theta_n, q) - t_m,\;\;
    \mathbb E_{\pi_n} u(\theta_n, q) - t_n \ge 0

is linear in :math:`(\pi, t)` whatever the shape of :math:`u`: no single-crossing condition is needed, so
every IC pair is enforced, not only the local ones. This is what §5.3 needs when
:math:`\hat\sigma_F > 0` (eq. 29 has no closed form and single crossing fails in the top-up region).

**Lower bound (a feasible menu).** The LP on a finite pool of quantities, solved by HiGHS. Rows (IC
pairs) are generated: start from the adjacent pairs, add every pair the all-pairs audit of the LP's
menu finds violated, re-solve; the final menu passes the audit on every pair.

**Upper bound (a certificate for every quantity, not only the pool's).** With the LP's multipliers
:math:`\lambda_{nm}\ge 0` (IC) and :math:`\mu_n \ge 0` (IR), the Lagrangian separates by type:

.. math::
    \text{profit} \le \sum_n \max_{q \in [0, \bar q]} h_n(q) + \sum_n |\rho_n|\,\bar t, \qquad
    h_n(q) = \Big(\mu_n + \sum_m \lambda_{nm}\Big) u(\theta_n, q) - \sum_m \lambda_{mn} u(\theta_m, q) - f_n c q,

where :math:`\rho_n = f_n - \mu_n - \sum_m \lambda_{nm} + \sum_m \lambda_{mn}` is the (round-off) residual
of the transfers' dual constraint and :math:`\bar t` bounds :math:`|t_n|` (the largest payoff on
:math:`[0, \bar q]`; every IR menu has :math:`t_n \le \bar t`, and the bound assumes no type is paid more
than that). Each :math:`h_n` is maximised on a dense logarithmic grid and refined by golden section
around its best points. Columns are generated: a quantity with :math:`h_n(q)` above type :math:`n`'s dual
price enters the pool (the pricing problem of column generation), until upper and lower bounds meet
within ``gap_tol`` (relative to the bound, or to :math:`10^{-9}` times the largest payoff when the
bound is about zero, e.g. when selling nothing is optimal). The bound holds for lotteries and hence for
deterministic menus (Lemma 4's :math:`q \mapsto (q, t)` menus are the degenerate lotteries).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize, sparse

from mechdesign.exceptions import SolverError

FloatArray = np.ndarray
Payoff = Callable[[FloatArray, FloatArray], FloatArray]

_GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0


@dataclass
class LotteryMenu:
    """The LP's menu, its bounds and how it was found.

    ``probs[n, k]`` is the probability that type ``n`` receives ``pool[k]`` (``pool[0] = 0``, the null
    item); ``deterministic`` is true when every type gets one quantity with probability
    ``>= 1 - 1e-7``.
    """

    pool: FloatArray
    probs: FloatArray
    transfer: FloatArray
    profit: float
    upper_bound: float
    max_ic_violation_rel: float
    rounds: int
    n_ic_rows: int
    n_columns: int
    scale_floor: float = 1e-300

    @property
    def expected_quantity(self) -> FloatArray:
        return self.probs @ self.pool

    @property
    def deterministic(self) -> bool:
        return bool(np.all(self.probs.max(axis=1) >= 1.0 - 1e-7))

    @property
    def quantity(self) -> FloatArray:
        """Each type's most likely quantity (its only one when the menu is deterministic)."""
        return self.pool[np.argmax(self.probs, axis=1)]

    @property
    def gap(self) -> float:
        """Relative gap between the bounds (relative to ``scale_floor`` when the bound is about zero)."""
        return (self.upper_bound - self.profit) / max(abs(self.upper_bound), self.scale_floor)


def golden_max(h: Callable[[FloatArray], FloatArray], lo: FloatArray, hi: FloatArray,
                iters: int = 45) -> tuple[FloatArray, FloatArray]:
    """Golden-section search on many brackets at once (``h`` maps a vector of points to their values)."""
    a, b = lo.copy(), hi.copy()
    for _ in range(iters):
        c1, c2 = b - _GOLDEN * (b - a), a + _GOLDEN * (b - a)
        left = h(c1) >= h(c2)
        a, b = np.where(left, a, c1), np.where(left, c2, b)
    x = 0.5 * (a + b)
    return x, h(x)


class _Pricing:
    """Maximise every type's Lagrangian term :math:`h_n` over :math:`[0, \\bar q]` (grid, then golden)."""

    def __init__(self, u: Payoff, theta: FloatArray, prob: FloatArray, cost: float, q_hi: float,
                 fine: int) -> None:
        self.u, self.theta, self.prob, self.cost = u, theta, prob, cost
        self.grid = np.concatenate([[0.0], np.geomspace(q_hi * 1e-10, q_hi, fine)])
        self.Ug = u(theta[:, None], self.grid[None, :])
        self.t_bar = float(np.max(np.abs(self.Ug)))

    def maximise(self, C: sparse.csr_matrix, pool: FloatArray, Upool: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Arg max and max of :math:`h_n(q) = \\sum_j C_{nj} u(\\theta_j, q) - f_n c q`, every n."""
        N = self.theta.size
        Hg = np.asarray(C @ self.Ug) - (self.prob * self.cost)[:, None] * self.grid[None, :]
        Hp = np.asarray(C @ Upool) - (self.prob * self.cost)[:, None] * pool[None, :]
        best_q = np.zeros(N)
        best_v = np.full(N, -np.inf)
        coo = C.tocoo()
        rows, cols, vals = coo.row, coo.col, coo.data

        def h(qs: FloatArray, sel: FloatArray) -> FloatArray:
            # h_n at qs[n] for the types n in sel (qs indexed like sel)
            pos = np.full(N, -1)
            pos[sel] = np.arange(sel.size)
            keep = pos[rows] >= 0
            r, c_, v = pos[rows[keep]], cols[keep], vals[keep]
            terms = v * self.u(self.theta[c_], qs[r])
            return np.bincount(r, weights=terms, minlength=sel.size) - self.prob[sel] * self.cost * qs

        for H, pts in ((Hg, self.grid), (Hp, pool)):
            i = np.argmax(H, axis=1)
            better = H[np.arange(N), i] > best_v
            best_v = np.where(better, H[np.arange(N), i], best_v)
            best_q = np.where(better, pts[i], best_q)
        # refine around the grid's two best points per type (h may have a kink where top-up stops)
        order = np.argsort(Hg, axis=1)[:, ::-1][:, :2]
        sel = np.arange(N)
        for j in range(order.shape[1]):
            i = order[:, j]
            lo = self.grid[np.maximum(i - 1, 0)]
            hi = self.grid[np.minimum(i + 1, self.grid.size - 1)]
            x, v = golden_max(lambda q: h(q, sel), lo, hi)
            better = v > best_v
            best_v = np.where(better, v, best_v)
            best_q = np.where(better, x, best_q)
        return best_q, best_v


def implementing_transfers(U: FloatArray) -> FloatArray | None:
    r"""The largest transfers that make a deterministic allocation IC and IR, or None if none do.

    ``U[n, m]`` is type n's payoff from type m's quantity (outside option 0). The constraints
    :math:`t_n - t_m \le U_{nn} - U_{nm}` and :math:`t_n \le U_{nn}` are a shortest-path system from the
    null item: the pointwise largest solution is the vector of shortest distances (Bellman-Ford, at most
    N rounds of relaxation over every pair), which maximises every transfer at once and hence the
    revenue. A negative cycle (distances still falling after N rounds) means the allocation is not
    implementable (it violates cyclic monotonicity).
    """
    N = U.shape[0]
    own = np.diag(U)
    W = own[None, :] - U.T                 # W[m, n]: bound on t_n - t_m
    dist = own.copy()                      # the edge null -> n
    tol = 1e-14 * max(float(np.max(np.abs(U))), 1e-300)
    for _ in range(N + 1):
        new = np.minimum(dist, np.min(dist[:, None] + W, axis=0))
        if np.all(dist - new <= tol):      # no distance fell (beyond round-off): shortest paths found
            return new
        dist = new
    return None


def solve_lottery_lp(u: Payoff, theta: FloatArray, prob: FloatArray, cost: float, q_hi: float,
                     q_init: FloatArray | None = None, gap_tol: float = 1e-8, max_rounds: int = 200,
                     fine: int = 3000, audit_rtol: float = 1e-9) -> LotteryMenu:
    r"""Optimal menu of lotteries over :math:`[0, \bar q]` with a certified optimality gap (module docstring).

    Parameters
    ----------
    u : callable
        ``u(theta[:, None], q[None, :])`` -> payoff matrix, with ``u(theta, 0) = 0``.
    theta, prob : arrays
        Increasing types and their probabilities.
    cost : float
        Marginal cost of quantity.
    q_hi : float
        Upper end :math:`\bar q` of the quantities considered (both bounds are over :math:`[0, \bar q]`).
    q_init : array, optional
        A starting quantity per type (e.g. a relaxation's allocation).
    gap_tol : float
        Stop when the relative gap between the bounds is at most this and no IC pair is violated.
    """
    theta = np.asarray(theta, dtype=float)
    prob = np.asarray(prob, dtype=float)
    N = theta.size
    pricing = _Pricing(u, theta, prob, cost, q_hi, fine)
    init = np.zeros(N) if q_init is None else np.clip(np.asarray(q_init, dtype=float), 0.0, q_hi)
    pool = np.unique(np.concatenate([[0.0], init]))
    Upool = u(theta[:, None], pool[None, :])
    active: set[tuple[int, int]] = {(n, 0) for n in range(N)}
    active |= {(n, int(np.searchsorted(pool, init[k]))) for n in range(N) for k in (n - 1, n, n + 1) if 0 <= k < N}
    pairs: set[tuple[int, int]] = {(n, n + s) for n in range(N) for s in (-1, 1) if 0 <= n + s < N}
    scale = max(float(np.max(np.abs(pricing.Ug))), 1e-300)
    lb = ub = np.nan
    viol = np.inf
    for rounds in range(1, max_rounds + 1):
        cols = sorted(active)
        col_n = np.array([c[0] for c in cols])
        col_k = np.array([c[1] for c in cols])
        P = len(cols)
        prs = sorted(pairs)
        pn = np.array([p[0] for p in prs])
        pm = np.array([p[1] for p in prs])
        R = len(prs)
        # IC row r = (n, m): sum_k pi_mk U[n,k] - t_m - sum_k pi_nk U[n,k] + t_n <= 0; IR row n
        own_r, own_c, own_v = [], [], []
        for r_, (n, m) in enumerate(prs):
            sel_n = np.flatnonzero(col_n == n)
            sel_m = np.flatnonzero(col_n == m)
            own_r += [r_] * (sel_n.size + sel_m.size + 2)
            own_c += list(sel_n) + list(sel_m) + [P + n, P + m]
            own_v += list(-Upool[n, col_k[sel_n]]) + list(Upool[n, col_k[sel_m]]) + [1.0, -1.0]
        own_r += list(R + col_n) + list(R + np.arange(N))
        own_c += list(np.arange(P)) + list(P + np.arange(N))
        own_v += list(-Upool[col_n, col_k]) + [1.0] * N
        A_ub = sparse.csr_matrix((own_v, (own_r, own_c)), shape=(R + N, P + N))
        A_eq = sparse.csr_matrix((np.ones(P), (col_n, np.arange(P))), shape=(N, P + N))
        c = np.concatenate([prob[col_n] * cost * pool[col_k], -prob])
        bounds = [(0, None)] * P + [(None, None)] * N
        res = optimize.linprog(c, A_ub=A_ub, b_ub=np.zeros(R + N), A_eq=A_eq, b_eq=np.ones(N), bounds=bounds,
                               method="highs", options={"primal_feasibility_tolerance": 1e-10,
                                                        "dual_feasibility_tolerance": 1e-10})
        if res.status != 0:
            raise SolverError(f"HiGHS did not solve the lottery LP (round {rounds}): {res.message}")
        x = res.x
        probs = np.zeros((N, pool.size))
        np.add.at(probs, (col_n, col_k), np.maximum(x[:P], 0.0))
        probs /= probs.sum(axis=1, keepdims=True)
        t = x[P:]
        lb = float(prob @ (t - cost * (probs @ pool)))
        # all-pairs audit of the LP's menu
        pay = Upool @ probs.T - t[None, :]            # pay[n, m]: type n taking item m
        own = np.diag(pay).copy()
        excess = np.maximum(pay - own[:, None], 0.0)
        np.fill_diagonal(excess, 0.0)
        viol = max(float(excess.max()), float(np.max(-own, initial=0.0)), 0.0) / scale
        new_pairs = {(int(n), int(m)) for n, m in np.argwhere(excess > audit_rtol * scale)} - pairs
        # Lagrangian upper bound from the multipliers (lambda = -marginals >= 0)
        lam = np.maximum(-res.ineqlin.marginals[:R], 0.0)
        mu = np.maximum(-res.ineqlin.marginals[R:], 0.0)
        nu = -res.eqlin.marginals
        # row n of C: coefficient of u(theta_j, .) in h_n: +lam_nm on j = n, -lam_mn on j = m (pairs (m, n))
        C = sparse.csr_matrix((np.concatenate([lam, -lam, mu]),
                               (np.concatenate([pn, pm, np.arange(N)]), np.concatenate([pn, pn, np.arange(N)]))),
                              shape=(N, N))
        out_flow = np.bincount(pn, weights=lam, minlength=N)
        in_flow = np.bincount(pm, weights=lam, minlength=N)
        rho = prob - mu - out_flow + in_flow
        q_best, h_best = pricing.maximise(C, pool, Upool)
        ub = float(h_best.sum() + np.abs(rho).sum() * pricing.t_bar)
        gap = (ub - lb) / max(abs(ub), 1e-9 * scale)   # absolute floor: a zero-profit optimum (no sales)
        if not new_pairs and gap <= gap_tol:
            break
        pairs |= new_pairs
        add = np.flatnonzero(h_best - nu > 1e-3 * gap_tol * max(abs(ub), 1e-300) / N)
        fresh = np.setdiff1d(q_best[add], pool)
        if fresh.size:
            pool = np.concatenate([pool, fresh])
            Upool = np.concatenate([Upool, u(theta[:, None], fresh[None, :])], axis=1)
        index = {float(q): k for k, q in enumerate(pool)}
        fresh_cols = {(int(n), index[float(q_best[n])]) for n in add} - active
        active |= fresh_cols
        if not new_pairs and not fresh_cols:   # nothing left to add: the gap cannot close further
            break
    else:
        raise SolverError(f"lottery LP: no certificate after {max_rounds} rounds (gap {gap:.2e}, "
                          f"IC violation {viol:.2e}); raise max_rounds or loosen gap_tol")
    return LotteryMenu(pool, probs, t, lb, max(ub, lb), viol, rounds, len(pairs), len(active),
                       scale_floor=1e-9 * scale)
