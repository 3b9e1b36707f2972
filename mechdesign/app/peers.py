r"""A first-order peer baseline for the benchmarks: PDHG with adaptive constraint generation.

This module is **not** the package's solver. It is a baseline written for the benchmark suite, in the
style of the first-order screening solvers of the literature, so that the certified optimum of the
package's convex programs can be compared with a primal-dual method run on the same discrete
instances (time to a given duality gap and IC violation, final profit).

The program is the discrete multidimensional screening problem with quadratic cost
:math:`c(q) = \tfrac12 q^\top A q` (``A`` symmetric positive definite). In rent variables
:math:`u_n = v_n\cdot q_n - t_n` it reads

.. math::
    \min_{u \ge 0,\ q \ge 0}\ F(u, q) = \sum_n f_n\,\big(u_n - v_n\cdot q_n + \tfrac12 q_n^\top A q_n\big)
    \quad\text{s.t.}\quad u_m - u_n + (v_n - v_m)\cdot q_m \le 0\ \ \text{for IC pairs } (n, m),

i.e. :math:`K x \le 0` with one row per IC pair of the current pair set. The saddle problem
:math:`\min_x \max_{\lambda \ge 0} F(x) + \lambda^\top K x` is solved by the primal-dual hybrid gradient
method of Chambolle and Pock (*A first-order primal-dual algorithm for convex problems with applications
to imaging*, J. Math. Imaging Vision 40, 2011), with scalar steps :math:`\tau\sigma\|K\|^2 < 1`. The
proximal map of :math:`F` separates by type: a shifted clip for the rent, and a small
:math:`D`-dimensional non-negative quadratic program for the allocation, solved exactly by enumerating
its active sets (vectorised over types).

The pair set is generated adaptively, as in the first-order primal-dual approach of Carlier, Dupuis,
Rochet and Thanassoulis to quasi-linear screening: it starts from the k-nearest-neighbour pairs in
type space (both directions) and, every ``check_every`` iterations, the IC violation of the current
menu over *all* pairs (computed in row chunks, never a dense :math:`N \times N` array for large
:math:`N`) adds each violating type's most violated pairs. This implementation follows the published
description of the method; it is not a copy of anyone's code.

Stopping uses a Lagrangian certificate: the menu with transfers :math:`t = v\cdot q - u` is scored
against the dual bound of the multipliers (IR multipliers from the flow balance, repaired to be
non-negative by :func:`mechdesign.engine.certificate.balance_multipliers` inside
:func:`~mechdesign.engine.certificate.lagrangian_certificate`), with the exact conjugate of the quadratic
cost. All decisions depend on iteration counts only (deterministic); wall time is only recorded.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sps
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

from mechdesign.engine.audit import AuditReport
from mechdesign.engine.certificate import Conjugate, lagrangian_certificate
from mechdesign.engine.program import knn_pairs
from mechdesign.settings.multidim import VectorTypes
from mechdesign.settings.vector_costs import QuadraticCost

FloatArray = np.ndarray

#: entries of one row chunk of the all-pairs payoff matrix
CHUNK_ENTRIES = 4_000_000
#: safety factor on the estimated operator norm
NORM_SAFETY = 1.02
#: product tau * sigma * ||K||^2 used (< 1)
STEP_PRODUCT = 0.95


@dataclass
class PDHGResult:
    """Outcome of :func:`pdhg_screening`.

    Attributes
    ----------
    allocation : ndarray, shape (N, D)
        Final allocations :math:`q_n`.
    transfer : ndarray, shape (N,)
        Transfers :math:`t_n = v_n\\cdot q_n - u_n`.
    rent : ndarray, shape (N,)
        Rents :math:`u_n \\ge 0`.
    profit : float
        Expected profit of the final menu.
    bound : float
        Lagrangian (dual) upper bound from the final multipliers.
    gap_rel : float
        ``(bound - profit)`` relative to the largest gross payoff.
    ic_violation_rel : float
        Largest IC violation over all pairs, relative to the largest gross payoff.
    iterations : int
        PDHG iterations done.
    n_pairs : int
        IC pairs in the final pair set.
    converged : bool
        Both tolerances met.
    pairs : ndarray, shape (P, 2)
        The final pair set (``(n, m)``: type n must not prefer item m).
    duals : ndarray, shape (P,)
        Multipliers of ``pairs`` in the program's units (before the flow-balance repair).
    history : list of dict
        One entry per check: ``iteration, seconds, profit, bound, gap_rel, ic_violation_rel, n_pairs``.
    """

    allocation: FloatArray
    transfer: FloatArray
    rent: FloatArray
    profit: float
    bound: float
    gap_rel: float
    ic_violation_rel: float
    iterations: int
    n_pairs: int
    converged: bool
    pairs: FloatArray
    duals: FloatArray
    history: list[dict[str, float]] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------------
# the per-type non-negative quadratic program (prox and conjugate)


def _subsets(D: int) -> list[tuple[int, ...]]:
    return [S for k in range(1, D + 1) for S in itertools.combinations(range(D), k)]


def _subset_inverses(A: FloatArray, a: FloatArray, d: FloatArray) -> list[FloatArray]:
    """Inverses of :math:`(a_n A + d_n I)_{SS}` per type, one (N, |S|, |S|) array per non-empty subset."""
    D = A.shape[0]
    out = []
    for S in _subsets(D):
        idx = np.array(S)
        M = a[:, None, None] * A[np.ix_(idx, idx)][None] + d[:, None, None] * np.eye(len(S))[None]
        out.append(np.linalg.inv(M))
    return out


def _nonneg_qp_solve(inverses: list[FloatArray], b: FloatArray) -> tuple[FloatArray, FloatArray]:
    r"""Exact :math:`\arg\min_{q \ge 0} \tfrac12 q^\top M_n q - b_n\cdot q` per type, and its value.

    ``inverses`` are from :func:`_subset_inverses` (same D). Every active set :math:`S` gives the
    reduced unconstrained minimiser :math:`q_S = M_{SS}^{-1} b_S` (value :math:`-\tfrac12 b_S\cdot q_S`);
    the minimiser is the feasible (:math:`q_S \ge 0`) candidate of least value, the empty set (q = 0,
    value 0) included: the true support's candidate is the minimiser, and every candidate is feasible.
    """
    N, D = b.shape
    best_q = np.zeros((N, D))
    best_val = np.zeros(N)
    for S, inv in zip(_subsets(D), inverses, strict=True):
        idx = list(S)
        bS = b[:, idx]
        qS = np.einsum("nij,nj->ni", inv, bS)
        val = -0.5 * np.sum(bS * qS, axis=1)
        better = np.all(qS >= 0.0, axis=1) & (val < best_val)
        if better.any():
            best_val = np.where(better, val, best_val)
            cand = np.zeros((N, D))
            cand[:, idx] = qS
            best_q[better] = cand[better]
    return best_q, best_val


def nonneg_qp(A: FloatArray, a: FloatArray, d: FloatArray, b: FloatArray) -> tuple[FloatArray, FloatArray]:
    r"""Solve :math:`\min_{q \ge 0} \tfrac12 q^\top (a_n A + d_n I) q - b_n\cdot q` for every type exactly.

    Parameters
    ----------
    A : ndarray, shape (D, D)
        Symmetric positive definite (D <= 3 keeps the active-set enumeration cheap).
    a, d : ndarray, shape (N,)
        Non-negative weights with :math:`a_n A + d_n I` positive definite.
    b : ndarray, shape (N, D)
        Linear terms.

    Returns
    -------
    q : ndarray, shape (N, D)
        The minimisers.
    value : ndarray, shape (N,)
        The minimum values (<= 0).
    """
    A = np.asarray(A, dtype=float)
    b = np.asarray(b, dtype=float)
    return _nonneg_qp_solve(_subset_inverses(A, np.asarray(a, float), np.asarray(d, float)), b)


def quadratic_conjugate(A: FloatArray) -> Conjugate:
    r"""Conjugate of :math:`c(q) = \tfrac12 q^\top A q` on :math:`q \ge 0` (the package's exact one,
    :meth:`mechdesign.settings.vector_costs.QuadraticCost.conjugate`), the form
    :func:`~mechdesign.engine.certificate.lagrangian_certificate` takes."""
    return QuadraticCost(np.asarray(A, dtype=float)).conjugate


# ---------------------------------------------------------------------------------------------------
# pair sets and the all-pairs scan


def _scan_violations(v: FloatArray, q: FloatArray, u: FloatArray, per_type: int, atol: float,
                     ) -> tuple[FloatArray, FloatArray, FloatArray]:
    r"""All-pairs IC scan in row chunks: per type, the largest violation and the best deviation, and the
    ``per_type`` most violated pairs with violation above ``atol``.

    Violation of ``(n, m)``: :math:`u_m + (v_n - v_m)\cdot q_m - u_n` (type n's payoff from item m minus
    its own).
    """
    N = v.shape[0]
    t = np.sum(v * q, axis=1) - u
    worst = np.empty(N)
    best = np.empty(N, dtype=np.int64)
    found: list[FloatArray] = []
    step = max(1, CHUNK_ENTRIES // max(N, 1))
    for s in range(0, N, step):
        U = v[s:s + step] @ q.T - t[None, :] - u[s:s + step, None]
        rows = np.arange(U.shape[0])
        U[rows, rows + s] = 0.0  # own item
        best[s:s + U.shape[0]] = np.argmax(U, axis=1)
        worst[s:s + U.shape[0]] = U[rows, best[s:s + U.shape[0]]]
        bad = np.nonzero(worst[s:s + U.shape[0]] > atol)[0]
        if bad.size and per_type > 0:
            kk = min(per_type, N)
            sub = U[bad]
            top = np.argpartition(-sub, kk - 1, axis=1)[:, :kk] if kk < N else np.tile(np.arange(N), (bad.size, 1))
            vals = np.take_along_axis(sub, top, axis=1)
            r, c = np.nonzero(vals > atol)
            found.append(np.column_stack([bad[r] + s, top[r, c]]))
    cand = np.concatenate(found).astype(np.int64) if found else np.zeros((0, 2), dtype=np.int64)
    return np.maximum(worst, 0.0), best, cand


def _constraint_matrix(v: FloatArray, pairs: FloatArray) -> sps.csr_matrix:
    """K: row p = (n, m) maps x = (u, q.ravel()) to u_m - u_n + (v_n - v_m).q_m."""
    N, D = v.shape
    P = pairs.shape[0]
    n, m = pairs[:, 0], pairs[:, 1]
    rows = np.concatenate([np.arange(P), np.arange(P), np.repeat(np.arange(P), D)])
    cols = np.concatenate([m, n, (N + m[:, None] * D + np.arange(D)[None, :]).reshape(-1)])
    vals = np.concatenate([np.ones(P), -np.ones(P), (v[n] - v[m]).reshape(-1)])
    return sps.csr_matrix((vals, (rows, cols)), shape=(P, N * (D + 1)))


def operator_norm(K: sps.spmatrix) -> float:
    """Largest singular value of ``K`` (dense when small, else Lanczos on K'K from a fixed start vector;
    deterministic; the Schur bound if Lanczos fails)."""
    P, n = K.shape
    if P == 0:
        return 0.0
    if min(P, n) <= 200:  # small: the exact 2-norm
        return float(np.linalg.norm(K.toarray(), 2))
    Kt = K.T.tocsr()
    op = LinearOperator((n, n), matvec=lambda x: Kt @ (K @ x), dtype=float)
    try:
        ev = eigsh(op, k=1, which="LA", v0=np.ones(n), tol=1e-8, return_eigenvectors=False)
        return float(np.sqrt(max(float(ev[0]), 0.0)))
    except ArpackNoConvergence:  # pragma: no cover - Lanczos failure: the Schur bound ||K||^2 <= ||K||_1 ||K||_inf
        absK = abs(K)
        return float(np.sqrt(absK.sum(axis=0).max() * absK.sum(axis=1).max()))


# ---------------------------------------------------------------------------------------------------
# the solver


def pdhg_screening(values: FloatArray, prob: FloatArray, A: FloatArray, *, knn: int = 8, tol_gap: float = 1e-4,
                   tol_ic: float = 1e-4, max_iter: int = 200_000, check_every: int = 50,
                   pairs: FloatArray | None = None, add_per_type: int = 3,
                   primal_weight: float = 0.03) -> PDHGResult:
    r"""Chambolle-Pock (PDHG) on the discrete screening program with quadratic cost, adaptive IC pairs.

    Parameters
    ----------
    values : ndarray, shape (N, D)
        Types :math:`v_n`.
    prob : ndarray, shape (N,)
        Probabilities :math:`f_n > 0`.
    A : ndarray, shape (D, D)
        Cost matrix of :math:`c(q) = \tfrac12 q^\top A q` (symmetric positive definite).
    knn : int
        Neighbours per type in the initial pair set (both directions).
    tol_gap, tol_ic : float
        Stop when the relative duality gap is at most ``tol_gap`` and the all-pairs IC violation is at
        most ``tol_ic`` (both relative to the largest gross payoff :math:`v_n\cdot q_n`).
    max_iter : int
        Iteration limit.
    check_every : int
        Iterations between checks (certificate, all-pairs scan, pair generation, history).
    pairs : ndarray, shape (P, 2), optional
        Initial pair set instead of the k-nearest-neighbour pairs (e.g. all pairs).
    add_per_type : int
        Most violated pairs added per violating type at each check.
    primal_weight : float
        :math:`\omega` in :math:`\tau = \omega / L`, :math:`\sigma = 0.95 / (\omega L)` (L: the estimated
        :math:`\|K\|`); the default was chosen on the 10 x 10 and 20 x 20 Rochet-Choné grids.

    Returns
    -------
    PDHGResult
        The final menu, its certificate numbers and the history of checks.

    Notes
    -----
    The objective is internally weighted by :math:`f_n / \bar f` (:math:`\bar f` the mean probability)
    so that its terms are of order one; multipliers are reported in the program's units.
    """
    t0 = time.perf_counter()
    v = np.asarray(values, dtype=float)
    v = v[:, None] if v.ndim == 1 else v
    N, D = v.shape
    f = np.asarray(prob, dtype=float).reshape(N)
    A = np.asarray(A, dtype=float).reshape(D, D)
    if np.any(f <= 0):
        raise ValueError("probabilities must be positive")
    if not np.allclose(A, A.T) or np.linalg.eigvalsh(0.5 * (A + A.T)).min() <= 0:
        raise ValueError("A must be symmetric positive definite")
    if check_every < 1:
        raise ValueError("check_every must be >= 1")
    fbar = float(f.mean())
    w = f / fbar
    conj = quadratic_conjugate(A)

    P0 = knn_pairs(v, knn) if pairs is None else np.unique(np.asarray(pairs, dtype=np.int64).reshape(-1, 2), axis=0)
    P0 = P0[P0[:, 0] != P0[:, 1]]
    pair_set = P0
    known = set(map(tuple, pair_set.tolist()))
    lam = np.zeros(pair_set.shape[0])

    def setup(pr: FloatArray) -> tuple[sps.csr_matrix, sps.csr_matrix, float, float, list[FloatArray]]:
        K = _constraint_matrix(v, pr)
        L = max(operator_norm(K) * NORM_SAFETY, 1e-12)
        tau = primal_weight / L
        sigma = STEP_PRODUCT / (primal_weight * L)
        inv = _subset_inverses(A, w, np.full(N, 1.0 / tau))
        return K, K.T.tocsr(), tau, sigma, inv

    K, Kt, tau, sigma, inv = setup(pair_set)
    u = np.zeros(N)
    q = np.zeros((N, D))
    x = np.zeros(N * (D + 1))
    history: list[dict[str, float]] = []
    it = 0
    converged = False
    profit = bound = gap_rel = ic_rel = float("nan")

    def certify(u: FloatArray, q: FloatArray, lam_s: FloatArray) -> tuple[float, float, float, float, FloatArray]:
        gross = np.sum(v * q, axis=1)
        t = gross - u
        scale = float(np.max(np.abs(gross), initial=0.0))
        scale = scale if scale > 0 else 1.0
        worst, best, cand = _scan_violations(v, q, u, add_per_type, tol_ic * scale)
        audit = AuditReport(scale, worst, best, np.maximum(-u, 0.0), tol_ic)
        cost = 0.5 * np.einsum("ni,ij,nj->n", q, A, q)
        cert = lagrangian_certificate(v, f, q, t, cost, pair_set, lam_s * fbar, conj, audit, scale)
        return cert.profit, cert.bound, cert.gap_rel, audit.max_ic_violation_rel, cand

    while True:
        if it % check_every == 0 or it >= max_iter:
            profit, bound, gap_rel, ic_rel, cand = certify(u, q, lam)
            history.append({"iteration": it, "seconds": time.perf_counter() - t0, "profit": profit,
                            "bound": bound, "gap_rel": gap_rel, "ic_violation_rel": ic_rel,
                            "n_pairs": int(pair_set.shape[0])})
            if gap_rel <= tol_gap and ic_rel <= tol_ic:
                converged = True
                break
            if it >= max_iter:
                break
            new = [p for p in map(tuple, cand.tolist()) if p not in known]
            if new:
                known.update(new)
                add = np.array(new, dtype=np.int64)
                pair_set = np.concatenate([pair_set, add])
                lam = np.concatenate([lam, np.zeros(add.shape[0])])
                K, Kt, tau, sigma, inv = setup(pair_set)
        # one Chambolle-Pock step
        y = x - tau * (Kt @ lam)
        u_new = np.maximum(y[:N] - tau * w, 0.0)
        q_new, _ = _nonneg_qp_solve(inv, y[N:].reshape(N, D) / tau + w[:, None] * v)
        x_new = np.concatenate([u_new, q_new.reshape(-1)])
        lam = np.maximum(lam + sigma * (K @ (2.0 * x_new - x)), 0.0)
        x, u, q = x_new, u_new, q_new
        it += 1

    gross = np.sum(v * q, axis=1)
    return PDHGResult(allocation=q, transfer=gross - u, rent=u, profit=profit, bound=bound, gap_rel=gap_rel,
                      ic_violation_rel=ic_rel, iterations=it, n_pairs=int(pair_set.shape[0]),
                      converged=converged, pairs=pair_set, duals=lam * fbar, history=history)


# ---------------------------------------------------------------------------------------------------
# benchmark instances


def rochet_chone_instance(grid: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The Rochet-Choné instance of the shipped problems (``problems/multidim/rochet_chone_*``): types
    uniform on [1, 2]^2 at the cell midpoints of a ``grid x grid`` grid, cost (1/2)|q|^2.

    Returns ``(values (N, 2), prob (N,), A = I)``.
    """
    types = VectorTypes.grid([1.0, 1.0], [2.0, 2.0], [grid, grid])
    return types.points, types.prob, np.eye(2)


def peer_case(grid: int, tol: float, **kwargs: Any) -> dict[str, Any]:
    """One benchmark row: PDHG on the Rochet-Choné ``grid x grid`` instance at ``tol_gap = tol_ic = tol``.

    Returns a dict with ``solver, grid, N, tol, seconds, iterations, profit, bound, gap_rel,
    ic_violation_rel, n_pairs, converged``; keyword arguments go to :func:`pdhg_screening`.
    """
    values, prob, A = rochet_chone_instance(grid)
    t0 = time.perf_counter()
    res = pdhg_screening(values, prob, A, tol_gap=tol, tol_ic=tol, **kwargs)
    seconds = time.perf_counter() - t0
    return {"solver": "pdhg-peer", "grid": grid, "N": int(values.shape[0]), "tol": tol, "seconds": seconds,
            "iterations": res.iterations, "profit": res.profit, "bound": res.bound, "gap_rel": res.gap_rel,
            "ic_violation_rel": res.ic_violation_rel, "n_pairs": res.n_pairs, "converged": res.converged}
