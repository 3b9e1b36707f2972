r"""The screening program with a linear cost on a polytope, solved at a simplex vertex (HiGHS dual simplex).

With :math:`c(a) = k\cdot a` and allocations in the box :math:`[0, \bar a]^D` or the simplex
:math:`\{a \ge 0, \sum_d a_d \le \bar a\}` the screening program of :mod:`mechdesign.engine.program` is a
linear program (bundling: Manelli and Vincent 2006; Rochet and Choné 1998 with a linear technology). An
interior-point solve stops at a point of the optimal face, to its tolerance; the engine's exact finish
(Newton on the active set, :mod:`mechdesign.engine.refine`) needs the cost's curvature, which a linear
cost lacks. Here the same program, in rent variables :math:`u_n = v_n\cdot a_n - t_n`,

.. math::
    \max_{a, u}\ \sum_n f_n\big((v_n - k)\cdot a_n - u_n\big)\quad\text{s.t.}\quad
    (v_n - v_m)\cdot a_m + u_m - u_n \le 0\ \ (n, m) \in P,\qquad u \ge 0,\qquad a_n \in \text{domain},

is solved by a dual simplex method (``scipy.optimize.linprog``, HiGHS) on a pair set :math:`P` (the
interior-point solve's final pairs), with the pairs that the all-pairs audit finds violated at the vertex
added until none is. A vertex is a basic solution: its menu and its row multipliers (the IC rows'
:math:`\lambda \ge 0`) solve the basis's equations to rounding, so the Lagrangian bound of
:mod:`mechdesign.engine.certificate` with the cost's exact conjugate meets the vertex's profit to the
rounding level. The caller certifies; nothing here trusts the solver's status beyond returning it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sps

from mechdesign.engine.audit import audit_menu
from mechdesign.engine.certificate import VIOLATION_RTOL
from mechdesign.engine.pairs import top_pairs

FloatArray = np.ndarray

#: the LP domains: the box [0, cap]^D and the simplex {a >= 0, sum a <= cap}
VERTEX_DOMAINS = ("box", "simplex")
#: the dual simplex's primal and dual feasibility tolerances (scaled units: payoffs at most about one)
VERTEX_FEAS_TOL = 1e-10
#: an IC pair is added when the vertex violates it by more than this share of the largest gross payoff: the
#: certificate's feasibility rule (:data:`~mechdesign.engine.certificate.VIOLATION_RTOL`), so that a vertex this
#: accepts is one the certificate can call feasible whatever the payoffs' scale
VERTEX_ADD_TOL = VIOLATION_RTOL
#: pairs added per violating type and round (its most tempting items)
VERTEX_PER_TYPE = 8
#: rounds of adding violated pairs at most
VERTEX_MAX_ROUNDS = 30


@dataclass
class VertexSolution:
    """A vertex of the linear screening program: menu (scaled units), pairs and their multipliers.

    ``status`` is ``"optimal"`` when the last LP was solved and the all-pairs audit at the vertex finds no
    pair violated by more than :data:`VERTEX_ADD_TOL` of the largest gross payoff; otherwise it says what stopped."""

    allocation: FloatArray
    transfer: FloatArray
    objective: float
    ic_pairs: FloatArray
    ic_duals: FloatArray
    ir_duals: FloatArray
    status: str
    rounds: int
    info: dict[str, object] = field(default_factory=dict)


def vertex_solve(values: FloatArray, prob: FloatArray, k: FloatArray, cap: float, domain: str,
                 pairs: FloatArray, time_limit: float | None = None,
                 max_rounds: int = VERTEX_MAX_ROUNDS) -> VertexSolution | None:
    """Solve the linear screening program at a vertex, starting from the IC pairs ``pairs``.

    Parameters
    ----------
    values : (N, D)
        Types (scaled units).
    prob : (N,)
        Their probabilities.
    k : (D,)
        Marginal costs (scaled), non-negative.
    cap : float
        The domain's size.
    domain : {"box", "simplex"}
        The allocation domain.
    pairs : (P, 2) int
        The first IC pair set (rows ``(n, m)``: type n must not prefer item m).
    time_limit : float, optional
        Seconds for all the LPs together (None: no limit, and no clock enters a decision).

    Returns
    -------
    VertexSolution or None
        None when an LP fails (infeasible, unbounded, numerical trouble or the time limit): the caller keeps
        its interior-point menu.
    """
    from scipy.optimize import linprog

    if domain not in VERTEX_DOMAINS:
        raise ValueError(f"domain must be one of {VERTEX_DOMAINS}, got {domain!r}")
    v = np.asarray(values, dtype=float)
    v = v[:, None] if v.ndim == 1 else v
    N, D = v.shape
    f = np.asarray(prob, dtype=float)
    kk = np.asarray(k, dtype=float).reshape(D)
    pairs = np.unique(np.asarray(pairs, dtype=int).reshape(-1, 2), axis=0)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    seen = set(map(tuple, pairs.tolist()))
    # minimise -sum f ((v - k).a - u): variables a (N*D, row-major) then u (N)
    c = np.concatenate([-(f[:, None] * (v - kk)).reshape(-1), f])
    upper_a = cap if domain == "box" else None
    bounds = [(0.0, upper_a)] * (N * D) + [(0.0, None)] * N
    if domain == "simplex":
        cap_rows = sps.hstack([sps.kron(sps.identity(N), np.ones((1, D))), sps.csr_matrix((N, N))]).tocsr()
    t_start = time.perf_counter()
    info: dict[str, object] = {"lp_solves": 0, "pairs_added": 0, "iterations": 0}
    for rounds in range(1, max_rounds + 1):
        A_ic = _ic_rows(v, pairs)
        A_ub = A_ic if domain == "box" else sps.vstack([A_ic, cap_rows]).tocsr()
        b_ub = np.zeros(A_ub.shape[0])
        if domain == "simplex":
            b_ub[len(pairs):] = cap
        options: dict[str, object] = {"primal_feasibility_tolerance": VERTEX_FEAS_TOL,
                                      "dual_feasibility_tolerance": VERTEX_FEAS_TOL}
        if time_limit is not None:
            left = time_limit - (time.perf_counter() - t_start)
            if left <= 0:
                info["stopped"] = "time limit"
                return None
            options["time_limit"] = left
        try:
            res = linprog(c, A_ub=A_ub, b_ub=b_ub, bounds=bounds, method="highs-ds", options=options)
        except ValueError as exc:
            info["stopped"] = f"linprog refused the LP: {exc}"
            return None
        info["lp_solves"] = int(info["lp_solves"]) + 1  # type: ignore[call-overload]
        info["iterations"] = int(info["iterations"]) + int(getattr(res, "nit", 0) or 0)  # type: ignore[call-overload]
        if res.status != 0 or res.x is None:
            info["stopped"] = f"HiGHS status {res.status}: {res.message}"
            return None
        a = res.x[:N * D].reshape(N, D)
        u = res.x[N * D:]
        transfer = np.sum(v * a, axis=1) - u
        rep = audit_menu(v, a, transfer)
        add_tol = VERTEX_ADD_TOL * rep.scale
        bad = np.flatnonzero(rep.ic_violation > add_tol)
        new = top_pairs(v, a, transfer, bad, VERTEX_PER_TYPE, add_tol, seen) if bad.size else \
            np.zeros((0, 2), dtype=int)
        if len(new) == 0:
            lam = np.maximum(-np.asarray(res.ineqlin.marginals, dtype=float)[:len(pairs)], 0.0)
            nu = np.maximum(np.asarray(res.lower.marginals, dtype=float)[N * D:], 0.0)
            info["time"] = time.perf_counter() - t_start
            return VertexSolution(a, transfer, -float(res.fun), pairs, lam, nu,
                                  "optimal" if bad.size == 0 else "violations below the pair tolerance remain",
                                  rounds, info)
        info["pairs_added"] = int(info["pairs_added"]) + len(new)  # type: ignore[call-overload]
        pairs = np.concatenate([pairs, new])
    info["stopped"] = f"pairs still violated after {max_rounds} rounds"
    return None


def _ic_rows(v: FloatArray, pairs: FloatArray) -> sps.csr_matrix:
    """IC rows :math:`(v_n - v_m)\\cdot a_m + u_m - u_n \\le 0` over the variables (a row-major, u)."""
    N, D = v.shape
    P = len(pairs)
    n, m = pairs[:, 0], pairs[:, 1]
    rows = np.concatenate([np.repeat(np.arange(P), D), np.arange(P), np.arange(P)])
    cols = np.concatenate([(m[:, None] * D + np.arange(D)[None, :]).reshape(-1), N * D + m, N * D + n])
    vals = np.concatenate([(v[n] - v[m]).reshape(-1), np.ones(P), -np.ones(P)])
    return sps.coo_matrix((vals, (rows, cols)), shape=(P, N * D + N)).tocsr()
