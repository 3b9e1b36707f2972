r"""The linear screening program, written out in cvxpy and solved by a conic solver (Clarabel default).

.. math::
    \max_{a, t, \text{tokens}} \; \sum_{n=1}^N f_n \big(t_n - \text{cost}_n(\text{tokens}_n)\big)
    \quad\text{s.t.}\quad
    \begin{cases}
      v_n\cdot a_n - t_n \ge v_n\cdot a_m - t_m & (n, m) \in P \quad\text{(IC)}\\
      v_n\cdot a_n - t_n \ge u^0_n & n = 1..N \quad\text{(IR)}\\
      \text{technology}(\text{tokens}_n) \ge a_n & \text{(convex, from the cost model)}
    \end{cases}

The engine knows nothing about LLMs: a *cost model* turns the allocation variable into convex
constraints on its own variables and a per-type cost. The IC set :math:`P` depends on the strategy:

``all``
    every ordered pair :math:`n \ne m` (the reference formulation);
``local``
    each type's IC against the next type down plus monotonicity :math:`a_{n+1} \ge a_n` (scalar types
    sorted ascending, non-negative values; valid under single crossing, Mussa-Rosen: at the optimum the
    local downward constraints bind, and with monotonicity they imply every other IC; the audit checks);
``adaptive``
    constraint generation: start with adjacent pairs, solve, audit all :math:`N^2` pairs, add the
    violated ones, repeat until the audit finds none.

All IC rows are one sparse constant matrix, so building the model is :math:`O(|P|)`. Whatever the
strategy, the returned menu is audited against every pair by :func:`mechdesign.engine.audit.audit_menu`.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Protocol

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from mechdesign import _validate as Vd
from mechdesign.engine.audit import audit_menu
from mechdesign.exceptions import (
    InfeasibleProgramError,
    ProblemSpecError,
    SolverError,
    SolverInaccurateWarning,
    TimeLimitError,
    UnboundedProgramError,
)

FloatArray = np.ndarray

IC_STRATEGIES = ("all", "local", "adaptive")

#: Accuracy a solution must reach to be called optimal (gap and feasibility, scaled units): Clarabel's own default.
REQUIRED_TOL = 1e-8
#: Clarabel settings: aim at 1e-14 (allocations are accurate to about the square root of the gap when the objective is flat near the optimum), require REQUIRED_TOL. Clarabel reports "AlmostSolved" (cvxpy:
#: optimal_inaccurate) when it stops short of the aim but meets its *reduced* tolerances, which are set
#: to REQUIRED_TOL here; such a solution is therefore reported as optimal (``solver_status`` keeps the
#: raw status). The program is scaled so that payoffs are of order one.
CLARABEL_OPTIONS: dict[str, object] = {
    "tol_gap_abs": 1e-14, "tol_gap_rel": 1e-14, "tol_feas": 1e-14, "tol_ktratio": 1e-10,
    "reduced_tol_gap_abs": REQUIRED_TOL, "reduced_tol_gap_rel": REQUIRED_TOL, "reduced_tol_feas": REQUIRED_TOL,
    "max_iter": 500,
}
#: Clarabel settings of the first pass when a polish follows (its solution is provisional)
CLARABEL_FIRST_PASS: dict[str, object] = {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10, "max_iter": 500}
#: after the adaptive strategy's search rounds, the IC pairs whose slack at the search's menu exceeds
#: this (scaled payoff units, the largest gross payoff being about one) are dropped
SEARCH_KEEP_SLACK = 1e-3
#: ... and add, for every type, its this many tightest pairs at the search's menu (slack at most
#: SEARCH_KEEP_SLACK), so that the full formulation's rounds find fewer missing pairs
SEARCH_NEAR_PER_TYPE = 3
#: the search stops when a round adds at most this share of the pairs it has
SEARCH_STOP_SHARE = 0.01
#: when Clarabel stops with InsufficientProgress (badly scaled instances: a nearly linear cost, types
#: whose qualities differ by orders of magnitude), the solve is retried once with shorter steps
CLARABEL_RETRY: dict[str, object] = {"max_step_fraction": 0.9}
SCS_OPTIONS: dict[str, object] = {"eps_abs": 1e-9, "eps_rel": 1e-9, "max_iters": 200_000}

#: a pair is added by the adaptive strategy when its violation exceeds this (scaled payoff units, where
#: the largest gross payoff is about one). It sits above the first pass's numerical noise near the
#: exclusion cutoff (1e-10 to 1e-8) and ten times below the audit tolerance (1e-7).
ADAPTIVE_ADD_TOL = 1e-8
ADAPTIVE_MAX_ROUNDS = 60
#: a type whose gross payoff and transfer are below this share of the largest gross payoff sits at
#: the null item (interior-point solutions leave excluded types near 1e-7 of the scale, not at zero)
NULL_TOL = 1e-6
#: the polished re-solve may not lose more than this share of the first solve's objective
POLISH_RTOL = 1e-8
#: the polish is repeated while the set of null types changes, at most this many times
POLISH_MAX_PASSES = 3
#: active-set Newton refinement (see :meth:`ScreeningProgram._refine`): dense KKT systems (pivoted QR,
#: LU, NNLS certificate) up to this many free variables plus active rows, sparse ones (SuperLU,
#: Newton multipliers as the certificate) above for scalar types, skipped above REFINE_SPARSE_MAX_DIM
#: (and, for multidimensional types, above REFINE_MAX_DIM)
REFINE_MAX_DIM = 1500
#: from this many types on, the refinement is tried on the first pass before the polish (measured: at
#: N = 10,000 it certifies the first pass and saves the polish's second solve; on small problems the
#: first pass is too coarse near the exclusion cutoff and the attempt only costs time)
REFINE_FIRST_MIN_N = 5000
REFINE_SPARSE_MAX_DIM = 5_000_000
#: Newton steps the refinement may take over all its attempts, and in any one attempt (counts, never
#: seconds: a result may not depend on the machine's speed or load). An attempt also stops after
#: REFINE_MAX_PASSES active-set passes, the sparse path (large N) tries one candidate set per
#: attempt, and REFINE_MAX_WORK caps the linear algebra, so the refinement's work is bounded by
#: counts alone.
REFINE_MAX_STEPS = 150
REFINE_ATTEMPT_MAX_STEPS = 80
REFINE_MAX_PASSES = 30
#: Newton steps per active-set pass
REFINE_PASS_MAX_STEPS = 40
#: linear algebra the refinement may do over all its attempts, in floating-point operations counted
#: from the matrices (never timed): 2/3 m^3 per dense LU of an m x m KKT matrix, 4 m^3 more for the
#: least-squares fallback on a singular one, 10 m n min(m, n) per pivoted QR of an m x n matrix
#: (mostly matrix-vector work), m n min(m, n) per NNLS certificate, and per sparse LU the sum over k
#: of nnz(L[:, k]) nnz(U[k, :]) plus nnz(K). About a second of this project's 2-core machine when
#: unloaded (a dense KKT system near REFINE_MAX_DIM costs about 2e9 a step, a sparse one of a
#: local-strategy problem with N = 10,000 about 1e5, one of ic='all' with N = 200 about 5e7).
REFINE_MAX_WORK = 2e10
#: candidate active sets: IC/IR constraints whose multiplier exceeds these shares of the largest one
#: (an interior-point method leaves multipliers of about gap/slack on inactive constraints), and the
#: constraints with slack below REFINE_SLACK_TOL (scaled units)
REFINE_DUAL_RELS = (1e-4, 1e-6, 1e-2)
REFINE_SLACK_TOL = 1e-9
#: allocation components below this share of the largest stay at zero
REFINE_ZERO_TOL = 1e-9
#: the refined point must satisfy stationarity with non-negative multipliers to this relative residual
REFINE_KKT_TOL = 1e-7
#: numerical failures of a refinement attempt (singular or non-finite systems); the attempt is
#: rejected and the solver's menu kept
_REFINE_NUMERICAL_ERRORS = (np.linalg.LinAlgError, ValueError, RuntimeError, FloatingPointError, ZeroDivisionError)
#: entries (types x items) of one chunk of the dense payoff matrices built to pick IC pairs (as in
#: :mod:`mechdesign.engine.audit`): memory stays O(N x chunk) however many types violate
PAIR_CHUNK_ENTRIES = 4_000_000


class CostModel(Protocol):
    """Turns the scaled allocation into convex constraints and a per-type cost expression."""

    def build(self, q: cp.Expression) -> tuple[list[cp.Constraint], cp.Expression, dict[str, cp.Variable]]:
        ...


@dataclass
class ProgramSolution:
    """Raw solution of the scaled program (before unscaling and reporting)."""

    allocation: FloatArray
    transfer: FloatArray
    tokens: dict[str, FloatArray]
    objective: float
    status: str
    ic_pairs: FloatArray
    ic_duals: FloatArray
    ir_duals: FloatArray
    rounds: int
    times: dict[str, float]
    solver: str
    solver_stats: dict[str, object] = field(default_factory=dict)
    #: multipliers of the monotonicity rows a_k <= a_{k+1} (local strategy only)
    mono_duals: FloatArray = field(default_factory=lambda: np.zeros(0))


def adjacent_pairs(n: int) -> FloatArray:
    """Pairs (k, k+1) and (k+1, k) for k = 0..n-2."""
    k = np.arange(n - 1)
    return np.concatenate([np.column_stack([k + 1, k]), np.column_stack([k, k + 1])])


def downward_pairs(n: int) -> FloatArray:
    """Pairs (k+1, k) for k = 0..n-2: each type's IC against the next type down."""
    k = np.arange(n - 1)
    return np.column_stack([k + 1, k])


def all_pairs(n: int) -> FloatArray:
    """Every ordered pair (i, j), i != j."""
    i, j = np.nonzero(~np.eye(n, dtype=bool))
    return np.column_stack([i, j])


def ic_matrix(values: FloatArray, pairs: FloatArray) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    r"""Sparse rows :math:`v_n\cdot(a_m - a_n) - (t_m - t_n) \le 0` as ``(A_alloc, A_transfer)``.

    ``values`` is ``(N, D)``; the allocation is flattened row-major (index ``n*D + d``).
    """
    N, D = values.shape
    P = len(pairs)
    n, m = pairs[:, 0], pairs[:, 1]
    rows = np.repeat(np.arange(P), 2 * D)
    cols = np.column_stack([m[:, None] * D + np.arange(D), n[:, None] * D + np.arange(D)]).reshape(-1)
    data = np.column_stack([values[n], -values[n]]).reshape(-1)
    A_a = sp.csr_matrix((data, (rows, cols)), shape=(P, N * D))
    rows_t = np.repeat(np.arange(P), 2)
    cols_t = np.column_stack([m, n]).reshape(-1)
    data_t = np.tile([-1.0, 1.0], P)
    A_t = sp.csr_matrix((data_t, (rows_t, cols_t)), shape=(P, N))
    return A_a, A_t


def _chunk_rows(n_cols: int, chunk_entries: int | None = None) -> int:
    """Rows of a chunk of a dense ``rows x n_cols`` matrix with at most ``chunk_entries`` entries (at least one row)."""
    entries = PAIR_CHUNK_ENTRIES if chunk_entries is None else int(chunk_entries)
    return max(1, entries // max(n_cols, 1))


def _best_items(v: FloatArray, a: FloatArray, t: FloatArray, rows: FloatArray,
                chunk_entries: int | None = None) -> FloatArray:
    """For each type in ``rows``, the item it likes best (first on ties), computed in row chunks."""
    rows = np.asarray(rows, dtype=int)
    out = np.empty(rows.size, dtype=int)
    step = _chunk_rows(a.shape[0], chunk_entries)
    for s in range(0, rows.size, step):
        out[s:s + step] = np.argmax(v[rows[s:s + step]] @ a.T - t[None, :], axis=1)
    return out


def _sparse_lu_work(lu: object) -> float:
    """Floating-point operations of a sparse LU factorisation, counted from its factors: sum over k of
    nnz(L[:, k]) nnz(U[k, :])."""
    L, U = lu.L.tocsc(), lu.U.tocsr()  # type: ignore[attr-defined]
    return float(np.diff(L.indptr).astype(float) @ np.diff(U.indptr).astype(float))


def _solver_options(solver: str, user: dict[str, object] | None, final: bool = True) -> dict[str, object]:
    base: dict[str, object] = {}
    if solver == "CLARABEL":
        base = dict(CLARABEL_OPTIONS if final else CLARABEL_FIRST_PASS)
    elif solver == "SCS":
        base = dict(SCS_OPTIONS)
    base.update(user or {})
    return base


def solve_quietly(prob: cp.Problem, solver: str, options: dict[str, object], verbose: bool = False) -> None:
    """``prob.solve`` without cvxpy's generic "may be inaccurate" warning: mechdesign maps the status
    itself and warns with :class:`SolverInaccurateWarning` when the final answer is inaccurate."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Solution may be inaccurate", category=UserWarning)
        prob.solve(solver=solver, verbose=verbose, **options)


def _check_status(prob: cp.Problem, solver: str, options: dict[str, object]) -> str:
    status = prob.status
    if status == cp.OPTIMAL:
        return "optimal"
    if status == cp.OPTIMAL_INACCURATE:
        reduced = [options.get(k, 1.0) for k in ("reduced_tol_gap_abs", "reduced_tol_gap_rel", "reduced_tol_feas")]
        if solver == "CLARABEL" and max(float(r) for r in reduced) <= REQUIRED_TOL:  # type: ignore[arg-type]
            return "optimal"
        return "optimal_inaccurate"
    if status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
        raise InfeasibleProgramError(
            f"{solver} reports the screening program infeasible (status {status}). With zero outside "
            "options the null menu is feasible, so check the outside options and the technology."
        )
    if status in (cp.UNBOUNDED, cp.UNBOUNDED_INACCURATE):
        raise UnboundedProgramError(
            f"{solver} reports the screening program unbounded (status {status}); check that the "
            "technology has decreasing returns (sigma + sigma_hat < 1)."
        )
    raise SolverError(
        f"{solver} returned status {status!r}. Try another solver (solver='SCS'), fewer types, or "
        "verbose=True to see the solver log."
    )


@dataclass
class ScreeningProgram:
    r"""The linear screening program for types ``values`` (N, D) with probabilities ``prob``.

    Inputs are expected in scaled units (payoffs of order one); see
    :class:`mechdesign.settings.single_model.SingleModelProblem` for the scaling used by the LLM settings.
    """

    values: FloatArray
    prob: FloatArray
    cost_model: CostModel
    outside: FloatArray | None = None
    #: an optional cheaper formulation of the same technology for the adaptive strategy's search rounds
    #: (which only decide which IC pairs to add); the final rounds always use ``cost_model``
    search_model: CostModel | None = None
    _refine_budget: int = field(default=0, init=False, repr=False)
    _refine_work: float = field(default=0.0, init=False, repr=False)
    #: the user's time limit (seconds) and its deadline on time.perf_counter's clock (None: no limit,
    #: and then no clock enters any decision); ``_stage`` says where the solve is, for the message
    _time_limit: float | None = field(default=None, init=False, repr=False)
    _deadline: float | None = field(default=None, init=False, repr=False)
    _stage: str = field(default="", init=False, repr=False)

    def __post_init__(self) -> None:
        v = np.asarray(self.values, dtype=float)
        self.values = v[:, None] if v.ndim == 1 else v
        self.prob = np.asarray(self.prob, dtype=float)
        if self.outside is None:
            self.outside = np.zeros(self.values.shape[0])

    @property
    def n(self) -> int:
        return int(self.values.shape[0])

    def solve(self, ic: str = "adaptive", solver: str = "CLARABEL",
              solver_options: dict[str, object] | None = None, verbose: bool = False,
              max_rounds: int = ADAPTIVE_MAX_ROUNDS, polish: bool = True,
              time_limit: float | None = None) -> ProgramSolution:
        """Solve with the chosen IC strategy; raise :class:`SolverError` subclasses on failure.

        With ``polish=True`` (default) the IC strategy runs at first-pass accuracy, then the program is
        re-solved at the final accuracy (:data:`CLARABEL_OPTIONS`) on the final IC set, with the types
        that the first solution leaves at the null item (zero allocation and transfer, to
        :data:`NULL_TOL`) fixed there. Interior-point methods converge slowly to that corner (a cone's
        apex, with a degenerate block of tight IC constraints among excluded types). The re-solve is a
        restriction of the same program, so it is kept only when its all-pairs audit passes and its
        profit is not below the first solve's (less :data:`POLISH_RTOL`); it is repeated while the null
        set changes. ``solver_stats['polish']`` says what happened.

        ``time_limit`` (seconds, optional) bounds the whole solve: each Clarabel solve gets the
        remaining time as its own ``time_limit`` setting, and the remaining time is checked between
        adaptive rounds, polish passes and refinement attempts; when it runs out,
        :class:`TimeLimitError` says what was reached. A Clarabel solve that its time limit stops is
        an error too, even when its answer meets the reduced tolerances, so the result is either the
        one computed without the limit or the error. Without it no clock enters any decision
        (internal budgets count iterations and steps), so results do not depend on the machine's load.
        """
        ic = Vd.one_of("ic", ic, IC_STRATEGIES)
        self._time_limit = None if time_limit is None else Vd.positive("time_limit", time_limit)
        self._deadline = None if self._time_limit is None else time.perf_counter() + self._time_limit
        self._stage = "the setup"
        solver = str(solver).upper()
        if solver not in cp.installed_solvers():
            raise ProblemSpecError(
                "solver", solver, "must be an installed cvxpy solver: " + ", ".join(cp.installed_solvers())
            )
        N, D = self.values.shape
        if ic == "local" and D != 1:
            raise ProblemSpecError("ic", ic, "'local' needs scalar types (D = 1); use 'all' or 'adaptive'")
        if ic == "all":
            pairs = all_pairs(N)
        elif ic == "local":
            pairs = downward_pairs(N)
        else:
            pairs = adjacent_pairs(N)
        times = {"build": 0.0, "solve": 0.0, "audit": 0.0}
        final = _solver_options(solver, solver_options, final=True)
        first = _solver_options(solver, solver_options, final=not polish)
        rounds = 0
        search_model = self.search_model if ic == "adaptive" else None
        searching = search_model is not None
        seen = set(map(tuple, pairs.tolist())) if ic == "adaptive" else set()
        active: FloatArray | None = None
        unrestricted: ProgramSolution | None = None
        last_audit = ""  # for the time limit's message: how far the last round's menu was from IC
        while True:
            rounds += 1
            if ic == "adaptive":
                self._stage = (f"{'search ' if searching else ''}adaptive round {rounds} "
                               f"({len(pairs):,} IC pairs{last_audit})")
            else:
                self._stage = f"the solve with ic='{ic}' ({len(pairs):,} IC pairs)"
            self._check_time()
            if unrestricted is not None:  # the verification solve below found a better menu: go on from it
                sol, unrestricted = unrestricted, None
            else:
                if searching:
                    try:
                        sol = self._solve_once(pairs, False, solver, first, verbose, times, active=active,
                                               model=search_model)
                    except TimeLimitError:
                        raise
                    except SolverError:  # the search formulation failed: search with the full one
                        searching, search_model = False, None
                if not searching:
                    sol = self._solve_once(pairs, ic == "local", solver, first, verbose, times, active=active)
            if ic != "adaptive":
                break
            if polish and rounds == 1 and not searching:
                # later rounds keep the first round's null types at the null item, so that the
                # first pass's noise near the apex (1e-8 violations among excluded types of tiny
                # mass) does not drive the constraint generation; the polish re-checks the result
                null = self._null_types(sol)
                if 0 < null.sum() < N and not np.any(np.asarray(self.outside)[null] > 0):
                    active = ~null
            t0 = time.perf_counter()
            rep = audit_menu(self.values, sol.allocation, sol.transfer, self.outside)
            last_audit = (f"; round {rounds}'s menu violates IC by up to {rep.max_ic_violation_rel:.1e} "
                          "of the largest gross payoff")
            new = self._violated_pairs(sol, rep.ic_violation, seen)
            times["audit"] += time.perf_counter() - t0
            if searching and len(new) <= SEARCH_STOP_SHARE * len(pairs):
                # the search has (nearly) converged: go on with the full formulation, whose rounds
                # add whatever the search left (its tail rounds add a handful of pairs each)
                pairs = np.concatenate([pairs, new])
                searching = False
                # keep the pairs that are (nearly) tight at the search's menu; the others rarely bind
                # and make every interior-point iteration dearer. A dropped pair that the full
                # formulation's menu violates is found by the audit and added back.
                keep = self._pair_slack(sol, pairs) <= SEARCH_KEEP_SLACK
                seen.difference_update(map(tuple, pairs[~keep].tolist()))
                pairs = pairs[keep]
                near = self._near_pairs(sol, seen)   # and every type's tightest pairs at the search's menu
                pairs = np.concatenate([pairs, near])
                continue
            if len(new) == 0:
                if active is None:
                    break
                # the first round's null types were kept at the null item: check with every type free
                # on the final pairs that this restriction costs nothing (else go on without it)
                self._stage = f"the adaptive strategy's check with every type free ({len(pairs):,} IC pairs)"
                self._check_time()
                full = self._solve_once(pairs, False, solver, first, verbose, times)
                tol = POLISH_RTOL * max(abs(sol.objective), 1e-12)
                active = None
                if full.objective <= sol.objective + tol:
                    sol.solver_stats["adaptive_null_check"] = {"restricted": sol.objective, "free": full.objective}
                    break
                unrestricted = full
                continue
            if rounds >= max_rounds:
                raise SolverError(
                    f"adaptive IC generation did not converge in {max_rounds} rounds "
                    f"({len(pairs)} pairs, worst remaining violation {rep.max_ic_violation:.3g}); use ic='all'."
                )
            pairs = np.concatenate([pairs, new])
        sol.rounds = rounds
        if polish:
            times["refine"] = 0.0
            first_attempt: dict[str, object] | None = None
            if N >= REFINE_FIRST_MIN_N:
                # large problems: try to certify the first pass directly (sparse Newton), which makes the
                # polish's second interior-point solve unnecessary when it succeeds
                t0 = time.perf_counter()
                sol = self._refine(sol, "the refinement of the first pass")
                times["refine"] += time.perf_counter() - t0
                first_attempt = sol.solver_stats["refine"]  # type: ignore[assignment]
            if first_attempt is not None and first_attempt["applied"]:
                sol.status = "optimal"
                sol.solver_stats["polish"] = {"applied": False, "skipped": "the refined first pass is certified"}
            else:
                sol = self._polish(sol, ic, solver, final, verbose, times)
                t0 = time.perf_counter()
                sol = self._refine(sol, "the refinement")
                times["refine"] += time.perf_counter() - t0
                if first_attempt is not None:
                    sol.solver_stats["refine"]["first_pass_attempt"] = first_attempt  # type: ignore[index]
        sol.times = times
        smooth_tokens = getattr(self.cost_model, "smooth_tokens", None)
        if not sol.tokens and smooth_tokens is not None:  # cost models without token variables
            sol.tokens = smooth_tokens(sol.allocation)
        if sol.status != "optimal":
            warnings.warn(
                f"{solver} stopped at reduced accuracy (status {sol.status}); the menu is returned with "
                "that status: check its audit, or try another solver.",
                SolverInaccurateWarning, stacklevel=2,
            )
        return sol

    def _check_time(self) -> None:
        """Raise :class:`TimeLimitError` when the user's time limit has run out (no-op without one)."""
        if self._deadline is not None and time.perf_counter() >= self._deadline:
            raise TimeLimitError(self._time_limit_message())

    def _time_limit_message(self, detail: str = "", what: str = "") -> str:
        what = what or f"time limit of {self._time_limit:g} s"
        msg = f"{what} reached in {self._stage}"
        if detail:
            msg += f" ({detail})"
        return msg + "; raise the time limit, use fewer types or another IC strategy"

    def _timed_options(self, solver: str, options: dict[str, object]) -> dict[str, object]:
        """``options`` with Clarabel's own ``time_limit`` set to the time left (and the user's, if lower)."""
        if self._deadline is None or solver != "CLARABEL":
            return options
        left = self._deadline - time.perf_counter()
        if left <= 0:
            raise TimeLimitError(self._time_limit_message())
        user = options.get("time_limit")
        if user is not None:
            left = min(left, float(user))  # type: ignore[arg-type]
        return dict(options, time_limit=left)

    def _null_types(self, sol: ProgramSolution) -> FloatArray:
        gross = np.sum(self.values * sol.allocation, axis=1)
        ref = max(float(np.max(np.abs(gross), initial=0.0)), 1e-300)
        return (np.abs(gross) <= NULL_TOL * ref) & (np.abs(sol.transfer) <= NULL_TOL * ref)

    def _polish(self, sol: ProgramSolution, ic: str, solver: str, options: dict[str, object],
                verbose: bool, times: dict[str, float]) -> ProgramSolution:
        """Re-solve at the final accuracy with null types fixed; repeat while the null set changes."""
        assert self.outside is not None
        info: dict[str, object] = {"applied": False, "passes": 0, "null_types": 0, "first_status": sol.status}
        best, prev = sol, None
        for npass in range(1, POLISH_MAX_PASSES + 1):
            self._stage = f"polish pass {npass} ({len(best.ic_pairs):,} IC pairs)"
            self._check_time()
            null = self._null_types(best)
            if prev is not None and np.array_equal(null, prev):
                break
            k = int(null.sum())
            if k == len(null) or np.any(self.outside[null] > 0) or (ic == "local" and not np.all(null[:k])):
                info["skipped"] = "null types are all types, have positive outside options, or are not the lowest"
                break
            try:
                new = self._solve_once(best.ic_pairs, ic == "local", solver, options, verbose, times,
                                       active=None if k == 0 else ~null)
            except TimeLimitError:
                raise
            except SolverError as exc:
                info["skipped"] = f"re-solve failed: {exc}"
                break
            rep = audit_menu(self.values, new.allocation, new.transfer, self.outside)
            if not rep.passed or new.objective < best.objective - POLISH_RTOL * max(abs(best.objective), 1e-12):
                info["skipped"] = "re-solve did not pass the audit or lost objective"
                break
            info.update(applied=True, passes=int(info["passes"]) + 1, null_types=k,  # type: ignore[call-overload]
                        objective_change=new.objective - sol.objective)
            best, prev = new, null
        best.rounds = sol.rounds
        best.solver_stats["polish"] = info
        return best

    def _refine(self, sol: ProgramSolution, stage: str = "the refinement") -> ProgramSolution:
        """:meth:`_refine_once` with dense linear algebra on one thread: the refinement's LAPACK calls are small,
        and on a loaded 2-core machine BLAS threads made them 20-60x slower (the result is the same)."""
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"):
            return self._refine_once(sol, stage)

    def _refine_once(self, sol: ProgramSolution, stage: str = "the refinement") -> ProgramSolution:
        r"""Active-set Newton refinement of the interior-point answer (kept only when certified).

        The profit is flat near the optimum, so an interior-point method that closes the duality gap to
        :math:`\epsilon` pins the allocation only to about :math:`\sqrt{\epsilon}`. Here the IC/IR
        constraints that the solution makes tight (multiplier or slack, see :data:`REFINE_DUAL_RELS`)
        are imposed as equalities, allocation components at zero stay at zero, and Newton's method on
        the KKT system of the resulting smooth problem (the cost model's exact cost, gradient and
        Hessian) converges quadratically. The refined point replaces the solver's only if (i) the
        all-pairs audit passes, (ii) non-negative multipliers certify stationarity (NNLS, relative
        residual below :data:`REFINE_KKT_TOL`; components held at zero must not want to rise), and
        (iii) the profit is not lower. ``solver_stats['refine']`` says what happened. Cost models
        without ``smooth_cost`` (the baseline fine-tuning form) are not refined.

        The work is bounded by counts alone (:data:`REFINE_MAX_STEPS` Newton steps in all,
        :data:`REFINE_ATTEMPT_MAX_STEPS` per attempt, :data:`REFINE_MAX_PASSES` active-set passes per
        attempt, :data:`REFINE_MAX_WORK` floating-point operations of linear algebra in all, counted
        from the matrices), so the result does not depend on the machine's speed or load. A numerical
        failure (singular or non-finite KKT system, non-finite cost derivatives) rejects the attempt,
        and the solver's menu is kept.
        """
        info: dict[str, object] = {"applied": False}
        sol.solver_stats["refine"] = info
        self._refine_budget = REFINE_MAX_STEPS
        self._refine_work = 0.0
        self._stage = stage
        self._check_time()
        model = self.cost_model
        smooth = getattr(model, "smooth_cost", None)
        N, D = self.values.shape
        a0 = sol.allocation.reshape(N, D)
        try:
            has_smooth = smooth is not None and smooth(a0) is not None
        except _REFINE_NUMERICAL_ERRORS as exc:
            info["skipped"] = f"numerical failure of the smooth cost at the solver's menu ({type(exc).__name__}: {exc})"
            return sol
        if not has_smooth:
            info["skipped"] = "the cost model has no smooth cost"
            return sol
        if not (np.all(np.isfinite(a0)) and np.all(np.isfinite(sol.transfer))):
            info["skipped"] = "the solver's menu is not finite"
            return sol
        assert self.outside is not None
        v, u0 = self.values, np.asarray(self.outside, dtype=float)
        null = self._null_types(sol)
        amax = max(float(a0.max(initial=0.0)), 1e-300)
        # a component the type itself does not value only costs and tempts others: it is zero at an optimum
        # types at the null item stay there (as in the polish; a type wrongly left out makes the refined
        # profit fall below the solver's, and the refinement is rejected)
        free_a = (a0 > REFINE_ZERO_TOL * amax) & ~null[:, None] & (v > 0)
        free_t = ~null
        size = int(free_a.sum() + free_t.sum())
        if size > REFINE_SPARSE_MAX_DIM or (D > 1 and size > REFINE_MAX_DIM):
            # the sparse path is for scalar types (tested there); multidimensional ones stay dense
            info["skipped"] = (f"{size} free variables > "
                               f"{'REFINE_SPARSE_MAX_DIM' if D == 1 else 'REFINE_MAX_DIM (types with D > 1)'}")
            return sol
        scale = max(float(np.max(np.abs(np.sum(v * a0, axis=1)), initial=0.0)), 1e-300)
        own = np.sum(v * a0, axis=1) - sol.transfer
        pairs = np.asarray(sol.ic_pairs, dtype=int).reshape(-1, 2)
        ic_duals = sol.ic_duals
        if sol.mono_duals.size:  # local strategy: a binding a_k <= a_{k+1} is the upward IC (k, k+1) binding
            k = np.arange(N - 1)
            pairs = np.concatenate([pairs, np.column_stack([k, k + 1])])
            ic_duals = np.concatenate([ic_duals, sol.mono_duals])
        dev = np.sum(v[pairs[:, 0]] * a0[pairs[:, 1]], axis=1) - sol.transfer[pairs[:, 1]]
        slack = own[pairs[:, 0]] - dev
        dmax = max(float(np.max(ic_duals, initial=0.0)), float(np.max(sol.ir_duals, initial=0.0)), 1e-300)
        tight = slack <= REFINE_SLACK_TOL * scale
        rules = {  # candidate active sets (multipliers relative to the largest), tried in turn
            f"multiplier > {rel:g} max": (ic_duals > rel * dmax, sol.ir_duals > rel * dmax) for rel in REFINE_DUAL_RELS
        }
        rules["tight and multiplier > 1e-9 max"] = (tight & (ic_duals > 1e-9 * dmax),
                                                    (own - u0 <= REFINE_SLACK_TOL * scale) & (sol.ir_duals > 1e-9 * dmax))
        tried: dict[str, str] = {}
        # first let the null types on the edge of the served set (an active IC links them to a served
        # type) re-enter with a tiny allocation: the polish's NULL_TOL can only tell a quality from zero
        # to 1e-6 of the scale, the refinement's certificate decides
        strong = ic_duals > REFINE_DUAL_RELS[0] * dmax
        edge = np.zeros(N, dtype=bool)
        link = strong & (null[pairs[:, 0]] != null[pairs[:, 1]])
        edge[pairs[link].ravel()] = True
        edge &= null & (u0 <= 0)
        attempts = [("edge types re-enter", edge), ("null types fixed", np.zeros(N, dtype=bool))]
        if not edge.any():
            attempts = attempts[1:]
        sparse = int(free_a.sum() + free_t.sum()) > REFINE_MAX_DIM
        if sparse:  # one candidate set per attempt
            rules = dict(list(rules.items())[:1])
        done = False
        for label, reenter in attempts:
            start = a0.copy()
            start[reenter] = np.where(v[reenter] > 0, 1e-6 * amax, 0.0)
            fa = free_a | (reenter[:, None] & (v > 0))
            ft = free_t | reenter
            nl = null & ~reenter
            for rule, (act, act_ir) in rules.items():
                act = act & ~(nl[pairs[:, 0]] & nl[pairs[:, 1]])
                act_ir = (act_ir | reenter) & ~nl
                key = f"{label}, {rule}"
                spent = self._refine_spent()
                if spent:
                    tried[key] = spent
                    continue
                self._stage = f"{stage} (attempt '{key}')"
                self._check_time()
                try:
                    # overflow and invalid values are caught by the finiteness checks, which reject the attempt
                    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                        out = self._newton(sol, start, fa, ft, pairs[act], np.flatnonzero(act_ir), smooth, sparse)
                    if isinstance(out, str):
                        tried[key] = out
                        continue
                    a, t, objective, stats = out
                    if objective < sol.objective - 1e-9 * max(abs(sol.objective), 1e-12):
                        tried[key] = (f"the refined point earns less than the solver's "
                                      f"({(objective - sol.objective) / max(abs(sol.objective), 1e-12):.1e} relative)")
                        continue
                    tokens = model.smooth_tokens(a)  # type: ignore[attr-defined]
                except _REFINE_NUMERICAL_ERRORS as exc:
                    tried[key] = f"numerical failure ({type(exc).__name__}: {exc})"
                    continue
                info.update(stats, applied=True, active_set=key, objective_change=objective - sol.objective,
                            max_allocation_change=float(np.max(np.abs(a - a0))) / amax)
                sol.allocation = a
                sol.transfer = t
                sol.objective = objective
                sol.tokens = tokens
                done = True
                break
            if done:
                break
        if tried:
            info["rejected"] = tried
        return sol

    def _refine_spent(self) -> str:
        """Why the refinement's budgets (Newton steps, dense work) are spent, or "" while they last."""
        if self._refine_budget <= 0:
            return f"the Newton step budget (REFINE_MAX_STEPS = {REFINE_MAX_STEPS}) is spent"
        if self._refine_work >= REFINE_MAX_WORK:
            return f"the linear-algebra budget (REFINE_MAX_WORK = {REFINE_MAX_WORK:.0e} operations) is spent"
        return ""

    def _newton(self, sol: ProgramSolution, a0: FloatArray, free_a: FloatArray, free_t: FloatArray,
                act_pairs: FloatArray, act_ir: FloatArray, smooth: object,
                force_sparse: bool = False) -> tuple[FloatArray, FloatArray, float, dict[str, object]] | str:
        r"""Newton on the KKT system with the given active set; the refined point or why it was rejected.

        Bounds :math:`a \ge 0`: steps stop short of the boundary (fraction 0.9); components driven to
        zero are held there and Newton restarts (at most :data:`REFINE_MAX_PASSES` passes and
        :data:`REFINE_ATTEMPT_MAX_STEPS` steps). The stationary point is certified by non-negative
        multipliers on the active rows and on the held bounds (NNLS over every transfer and every valued
        allocation component); a held component whose bound cannot absorb the gradient is released.
        """
        from scipy import optimize

        assert self.outside is not None and callable(smooth)
        v, f = self.values, self.prob
        N, D = v.shape
        free_a = free_a.copy()
        a, t = a0.copy(), sol.transfer.copy()
        amax = max(float(a0.max(initial=0.0)), 1e-300)
        n_ic, n_ir = len(act_pairs), len(act_ir)
        if n_ic + n_ir == 0:
            return "no active constraints"
        if int(free_a.sum() + free_t.sum()) + n_ic + n_ir > REFINE_SPARSE_MAX_DIM:
            return f"the KKT system is larger than REFINE_SPARSE_MAX_DIM = {REFINE_SPARSE_MAX_DIM}"
        steps = 0
        seen: set[bytes] = set()
        for _ in range(REFINE_MAX_PASSES):
            spent = self._refine_spent()
            if spent:
                return spent
            if steps >= REFINE_ATTEMPT_MAX_STEPS:
                return f"no certified point in REFINE_ATTEMPT_MAX_STEPS = {REFINE_ATTEMPT_MAX_STEPS} Newton steps"
            self._check_time()
            key = free_a.tobytes() + act_pairs.tobytes() + act_ir.tobytes()
            if key in seen:
                return "the active-set iterations cycle"
            seen.add(key)
            sparse = force_sparse or int(free_a.sum() + free_t.sum()) + n_ic + n_ir > REFINE_MAX_DIM
            E, b, ia, na, nv = self._active_rows(free_a, free_t, act_pairs, act_ir)
            x = np.concatenate([a[free_a], t[free_t]])
            stationary, x, k, lam = self._newton_steps(x, E, b, free_a, free_t, ia, na, nv, smooth, sparse,
                                                       min(REFINE_PASS_MAX_STEPS, REFINE_ATTEMPT_MAX_STEPS - steps))
            steps += k
            if isinstance(stationary, str):  # a numerical failure: reject the attempt
                return stationary
            a = np.zeros((N, D))
            a[free_a] = x[:na]
            t = np.zeros(N)
            t[free_t] = x[na:]
            if isinstance(stationary, np.ndarray):  # blocked at zero: hold those components
                free_a &= ~stationary
                a[stationary] = 0.0
                # a type left with nothing it values sits at the null item: its IR binds
                continue
            # certificate over every transfer and valued allocation component of the types not at the
            # null item: multipliers mu >= 0 on the active IC/IR rows and nu >= 0 on the bounds of the
            # components held at zero (types the polish put at the null item stay there)
            _, g, _ = smooth(a)
            grad_a = -f[:, None] * g
            cert = free_t[:, None] & (v > 0)
            E_all, _, _, _, _ = self._active_rows(cert, free_t, act_pairs, act_ir)
            grad = np.concatenate([grad_a[cert], f[free_t]])
            gnorm = max(float(np.max(np.abs(grad))), 1e-300)
            held_cols = np.flatnonzero((~free_a)[cert])
            bounds = sp.csr_matrix((np.ones(held_cols.size), (held_cols, np.arange(held_cols.size))),
                                   shape=(len(grad), held_cols.size))
            if sparse:
                # the Newton multipliers, made non-negative, and the bounds' multipliers they imply
                neg = lam < -REFINE_KKT_TOL * gnorm
                if neg.any():  # a row the solution wants to leave: drop it and go on (active-set step)
                    act_pairs, act_ir = act_pairs[~neg[:n_ic]], act_ir[~neg[n_ic:]]
                    n_ic, n_ir = len(act_pairs), len(act_ir)
                    continue
                lam_p = np.maximum(lam, 0.0)
                nu = np.maximum(-(E_all.T @ lam_p + grad)[held_cols], 0.0)
                mu = np.concatenate([lam_p, nu])
                M = sp.hstack([E_all.T, bounds]).tocsr()
            else:
                Md = np.hstack([E_all.T.toarray(), bounds.toarray()])
                self._refine_work += float(Md.shape[0]) * Md.shape[1] * min(Md.shape)
                mu, _ = optimize.nnls(Md, -grad, maxiter=50 * Md.shape[1])
                M = sp.csr_matrix(Md)
            r = M @ mu + grad
            resid = float(np.max(np.abs(r))) / gnorm
            stats: dict[str, object] = {"newton_steps": steps, "active_ic": n_ic, "active_ir": n_ir,
                                        "held_at_zero": int(held_cols.size), "kkt_residual": resid,
                                        "linear_algebra": "sparse" if sparse else "dense"}
            if resid > REFINE_KKT_TOL:
                # release the held component of a served type whose bound cannot absorb the push
                r_held = r[held_cols] / gnorm
                cols = np.argwhere(cert)[held_cols]
                served = free_t[cols[:, 0]] if len(cols) else np.zeros(0, dtype=bool)
                if served.any() and float(r_held[served].max()) > REFINE_KKT_TOL:
                    i = int(np.flatnonzero(served)[np.argmax(r_held[served])])
                    free_a[tuple(cols[i])] = True
                    a[tuple(cols[i])] = 1e3 * REFINE_ZERO_TOL * amax
                    continue
                return f"no non-negative multipliers certify the refined point (residual {resid:.1e})"
            if not (np.all(np.isfinite(a)) and np.all(np.isfinite(t))):
                return "the refined point is not finite"
            rep = audit_menu(v, a, t, self.outside)
            if not rep.passed:  # constraints outside the active set bind now: add them and go on
                bad = np.flatnonzero(rep.ic_violation > 0)
                best = _best_items(v, a, t, bad)
                new = np.column_stack([bad, best])
                known = set(map(tuple, act_pairs.tolist()))
                new = np.array([p for p in new.tolist() if tuple(p) not in known], dtype=int).reshape(-1, 2)
                ir_new = np.setdiff1d(np.flatnonzero(rep.ir_violation > 0), act_ir)
                if len(new) == 0 and ir_new.size == 0:
                    return "the refined menu fails the all-pairs audit"
                act_pairs = np.concatenate([act_pairs, new])
                act_ir = np.concatenate([act_ir, ir_new])
                n_ic, n_ir = len(act_pairs), len(act_ir)
                continue
            val, _, _ = smooth(a)
            objective = float(f @ (t - val))
            if not np.isfinite(objective):
                return "the refined point's profit is not finite"
            return a, t, objective, stats
        return f"the active-set iterations did not settle in REFINE_MAX_PASSES = {REFINE_MAX_PASSES} passes"

    def _active_rows(self, free_a: FloatArray, free_t: FloatArray, act_pairs: FloatArray,
                     act_ir: FloatArray) -> tuple[sp.csr_matrix, FloatArray, FloatArray, int, int]:
        """Rows (sparse) of the active IC (own - deviation) and IR constraints over the free variables."""
        assert self.outside is not None
        v, u0 = self.values, np.asarray(self.outside, dtype=float)
        N, D = v.shape
        na, nt = int(free_a.sum()), int(free_t.sum())
        nv = na + nt
        ia = -np.ones((N, D), dtype=int)
        ia[free_a] = np.arange(na)
        it = -np.ones(N, dtype=int)
        it[free_t] = na + np.arange(nt)
        n_ic, n_ir = len(act_pairs), len(act_ir)
        r_ic = np.arange(n_ic)
        r_ir = n_ic + np.arange(n_ir)
        n_i, m_i = act_pairs[:, 0], act_pairs[:, 1]
        rows, cols, vals = [], [], []

        def put(r: FloatArray, c: FloatArray, x: FloatArray) -> None:
            ok = c >= 0
            rows.append(r[ok])
            cols.append(c[ok])
            vals.append(np.broadcast_to(x, r.shape)[ok])

        for d in range(D):  # own(n) - dev(n -> m) >= 0: +v_n a_n - t_n - v_n a_m + t_m
            put(r_ic, ia[n_i, d], v[n_i, d])
            put(r_ic, ia[m_i, d], -v[n_i, d])
            put(r_ir, ia[act_ir, d], v[act_ir, d])
        put(r_ic, it[n_i], np.array(-1.0))
        put(r_ic, it[m_i], np.array(1.0))
        put(r_ir, it[act_ir], np.array(-1.0))
        E = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(n_ic + n_ir, nv))  # duplicates (a pair with n = m never occurs) are summed
        b = np.concatenate([np.zeros(n_ic), u0[act_ir]])
        return E, b, ia, na, nv

    def _hessian(self, h: FloatArray, free_a: FloatArray, ia: FloatArray, nv: int) -> sp.csr_matrix:
        """Sparse block-diagonal Hessian of the profit over the free variables (transfers enter linearly)."""
        f = self.prob
        n, d1, d2 = np.nonzero(free_a[:, :, None] & free_a[:, None, :])
        return sp.csr_matrix((-f[n] * h[n, d1, d2], (ia[n, d1], ia[n, d2])), shape=(nv, nv))

    def _newton_steps(self, x: FloatArray, E: sp.csr_matrix, b: FloatArray, free_a: FloatArray, free_t: FloatArray,
                      ia: FloatArray, na: int, nv: int, smooth: object, sparse: bool,
                      max_steps: int = REFINE_PASS_MAX_STEPS) -> tuple[FloatArray | str | None, FloatArray, int, FloatArray]:
        """Newton steps on the equality-constrained problem; (blocked components or None, x, steps, multipliers).

        At most ``max_steps`` steps, each charged to the refinement's step budget. A numerical failure
        (non-finite cost derivatives, a singular or non-finite KKT system, a non-finite step) returns
        its reason (a string) in place of the blocked components.

        Dense (small systems): linearly independent rows by pivoted QR, then LU. Sparse (large
        systems): the KKT matrix with a tiny negative regularisation of the multiplier block (which
        absorbs dependent rows) factorised by SuperLU. The multipliers are those of the last step,
        on every row of ``E`` (zero on rows dropped as dependent).
        """
        from scipy import linalg
        from scipy.sparse import linalg as splinalg

        assert callable(smooth)
        f = self.prob
        N, D = self.values.shape
        m = E.shape[0]
        keep = np.arange(m)
        Ed: FloatArray | None = None
        if not sparse:
            Ed = E.toarray()
            if m:  # keep linearly independent rows (pivoted QR once), then LU in every step
                self._refine_work += 10.0 * m * nv * min(m, nv)
                _, R, piv = linalg.qr(Ed.T, mode="economic", pivoting=True)
                diag = np.abs(np.diag(R))
                rank = int(np.sum(diag > 1e-10 * max(float(diag.max(initial=0.0)), 1e-300)))
                keep = np.sort(piv[:rank])
        Ek, bk = E[keep], b[keep]
        lam = np.zeros(m)
        amax = max(float(np.max(x[:na], initial=0.0)), 1e-300)
        k = 0
        while k < max_steps:
            if self._refine_spent():
                break
            self._refine_budget -= 1
            k += 1
            a = np.zeros((N, D))
            a[free_a] = x[:na]
            _, g, h = smooth(a)
            grad = np.concatenate([(-f[:, None] * g)[free_a], f[free_t]])
            H = self._hessian(h, free_a, ia, nv)
            if not np.all(np.isfinite(grad)):  # on the free components
                return "the cost's gradient is not finite at a Newton iterate", x, k, lam
            rhs = np.concatenate([-grad, bk - Ek @ x])
            if sparse:
                reg = 1e-14 * max(float(np.max(np.abs(H.diagonal()), initial=0.0)), 1.0)
                K = sp.bmat([[H, Ek.T], [Ek, -reg * sp.identity(len(keep))]], format="csc")
                try:
                    lu = splinalg.splu(K)
                except RuntimeError:  # exactly singular
                    break
                self._refine_work += _sparse_lu_work(lu) + K.nnz
                sol = lu.solve(rhs)
            else:
                assert Ed is not None
                K = np.block([[H.toarray(), Ed[keep].T], [Ed[keep], np.zeros((len(keep), len(keep)))]])
                self._refine_work += 2.0 / 3.0 * float(K.shape[0]) ** 3
                try:
                    with warnings.catch_warnings():  # the certificate, not the condition number, decides
                        warnings.simplefilter("ignore", linalg.LinAlgWarning)
                        sol = linalg.solve(K, rhs, check_finite=False)
                    if not np.all(np.isfinite(sol)):
                        raise linalg.LinAlgError("non-finite solution")
                except (linalg.LinAlgError, ValueError):
                    self._refine_work += 4.0 * float(K.shape[0]) ** 3
                    try:
                        sol = linalg.lstsq(K, rhs, lapack_driver="gelsy")[0]
                    except (linalg.LinAlgError, ValueError) as exc:
                        return f"the KKT system cannot be solved ({type(exc).__name__}: {exc})", x, k, lam
            if not np.all(np.isfinite(sol)):
                return "the Newton step is not finite (singular KKT system)", x, k, lam
            dx = sol[:nv]
            lam = np.zeros(m)
            lam[keep] = sol[nv:]
            neg = dx[:na] < 0
            step = 1.0
            if np.any(neg):  # fraction to the boundary: the cost is far from quadratic near zero
                step = min(1.0, 0.9 * float(np.min(-x[:na][neg] / dx[:na][neg])))
            x = x + step * dx
            if not np.all(np.isfinite(x)):
                return "a Newton iterate is not finite", x, k, lam
            blocked = x[:na] <= 1e-3 * REFINE_ZERO_TOL * amax
            if np.any(blocked):  # driven to zero: hold those components there
                x[:na][blocked] = 0.0
                held = np.zeros((N, D), dtype=bool)
                held[free_a] = blocked
                return held, x, k, lam
            if step == 1.0 and float(np.max(np.abs(dx))) <= 1e-13 * max(1.0, float(np.max(np.abs(x)))):
                break
        return None, x, k, lam

    def _near_pairs(self, sol: ProgramSolution, seen: set[tuple[int, int]],
                    per_type: int = SEARCH_NEAR_PER_TYPE) -> FloatArray:
        """Each type's ``per_type`` tightest IC pairs (slack below :data:`SEARCH_KEEP_SLACK`) not in ``seen``."""
        return self._top_pairs(sol, np.arange(self.n), per_type, -SEARCH_KEEP_SLACK, seen)

    def _pair_slack(self, sol: ProgramSolution, pairs: FloatArray) -> FloatArray:
        """IC slack of each pair (n, m) at the menu: type n's payoff from its item minus from m's."""
        v, a, t = self.values, sol.allocation, sol.transfer
        n, m = pairs[:, 0], pairs[:, 1]
        return np.sum(v[n] * (a[n] - a[m]), axis=1) - t[n] + t[m]

    def _violated_pairs(self, sol: ProgramSolution, ic_violation: FloatArray,
                        seen: set[tuple[int, int]], per_type: int = 5) -> FloatArray:
        bad = np.flatnonzero(ic_violation > ADAPTIVE_ADD_TOL)
        return self._top_pairs(sol, bad, per_type, ADAPTIVE_ADD_TOL, seen)

    def _top_pairs(self, sol: ProgramSolution, types: FloatArray, per_type: int, min_gain: float,
                   seen: set[tuple[int, int]], chunk_entries: int | None = None) -> FloatArray:
        """For each of ``types``, the ``per_type`` items it gains most from taking instead of its own,
        kept when that gain exceeds ``min_gain`` and the pair is not in ``seen`` (which is updated).

        The gains are computed for chunks of ``types`` (at most ``chunk_entries`` entries each, default
        :data:`PAIR_CHUNK_ENTRIES`), so memory stays O(N x chunk); each row's result does not depend
        on the chunking."""
        k = min(per_type, self.n - 1)
        types = np.asarray(types, dtype=int)
        if types.size == 0 or k <= 0:
            return np.zeros((0, 2), dtype=int)
        v, a, t = self.values, sol.allocation, sol.transfer
        out = []
        step = _chunk_rows(self.n, chunk_entries)
        for s in range(0, types.size, step):
            chunk = types[s:s + step]
            own = np.sum(v[chunk] * a[chunk], axis=1) - t[chunk]
            gain = v[chunk] @ a.T - t[None, :] - own[:, None]
            gain[np.arange(chunk.size), chunk] = -np.inf
            top = np.argpartition(-gain, k - 1, axis=1)[:, :k]
            for row, n in enumerate(chunk):
                for m in top[row]:
                    if gain[row, m] > min_gain and (int(n), int(m)) not in seen:
                        seen.add((int(n), int(m)))
                        out.append((int(n), int(m)))
        return np.array(out, dtype=int).reshape(-1, 2)

    def _solve_once(self, pairs: FloatArray, monotone: bool, solver: str,
                    options: dict[str, object], verbose: bool,
                    times: dict[str, float], active: FloatArray | None = None,
                    model: CostModel | None = None) -> ProgramSolution:
        """One solve; types outside ``active`` are fixed to the null item (zero allocation and transfer).

        ``model`` replaces :attr:`cost_model` for this solve (the search rounds' formulation)."""
        t0 = time.perf_counter()
        N, D = self.values.shape
        act = np.ones(N, dtype=bool) if active is None else np.asarray(active, dtype=bool)
        S = int(act.sum())
        vals, prob_w, u0 = self.values[act], self.prob[act], np.asarray(self.outside)[act]
        a = cp.Variable(S * D, name="allocation")
        t = cp.Variable(S, name="transfer")
        alloc = a if D == 1 else cp.reshape(a, (S, D), order="C")
        model = self.cost_model if model is None else model
        subset = getattr(model, "subset", None)  # cost models with per-type data restrict themselves
        if active is not None and subset is not None:
            model = subset(act)
        cons, cost, tokens = model.build(alloc)
        A_a, A_t = ic_matrix(self.values, pairs)
        rows = np.ones(len(pairs), dtype=bool)
        if active is not None:
            cols_a = np.flatnonzero(np.repeat(act, D))
            A_a, A_t = A_a[:, cols_a], A_t[:, np.flatnonzero(act)]
            rows = (A_a.getnnz(axis=1) + A_t.getnnz(axis=1)) > 0
            A_a, A_t = A_a[rows], A_t[rows]
        ic_con = A_a @ a + A_t @ t <= 0
        gross = cp.multiply(vals[:, 0], a) if D == 1 else cp.sum(cp.multiply(vals, alloc), axis=1)
        ir_con = gross - t >= u0
        extra = [ic_con, ir_con]
        mono = cp.diff(a) >= 0 if monotone and S > 1 else None
        if mono is not None:
            extra.append(mono)
        prob = cp.Problem(cp.Maximize(prob_w @ (t - cost)), cons + extra)
        times["build"] += time.perf_counter() - t0
        t1 = time.perf_counter()
        retried = False
        run_options = self._timed_options(solver, options)
        try:
            solve_quietly(prob, solver, run_options, verbose)
        except cp.error.SolverError as exc:
            if solver != "CLARABEL" or "max_step_fraction" in options:
                raise SolverError(
                    f"{solver} failed on the screening program ({exc}). Try another solver (solver='SCS') "
                    "or verbose=True to see the solver log."
                ) from None
            retried = True
            self._check_time()
            run_options = self._timed_options(solver, dict(options, **CLARABEL_RETRY))
            try:
                solve_quietly(prob, solver, run_options, verbose)
            except cp.error.SolverError as exc2:
                raise SolverError(
                    f"{solver} failed on the screening program ({exc2}), also with shorter steps "
                    f"({CLARABEL_RETRY}). Try another solver (solver='SCS') or verbose=True to see the solver log."
                ) from None
        times["solve"] += time.perf_counter() - t1
        stats = prob.solver_stats
        if solver == "CLARABEL" and "time_limit" in run_options:
            # Clarabel stopped by its time limit (the user's time_limit, or one in solver_options) reads
            # as user_limit (MaxTime, like MaxIterations) or, when its reduced tolerances happen to be
            # met, as optimal_inaccurate (AlmostSolved): a time-dependent answer either way, so an error
            limit = float(run_options["time_limit"])  # type: ignore[arg-type]
            iters = getattr(stats, "num_iters", None)
            max_iter = int(run_options.get("max_iter", 200))  # type: ignore[call-overload]
            solve_time = getattr(stats, "solve_time", None)
            stopped = (prob.status == cp.USER_LIMIT and (iters is None or iters < max_iter)) or (
                solve_time is not None and float(solve_time) >= limit)
            if stopped:
                user = options.get("time_limit")
                what = (f"the time_limit of {limit:g} s in solver_options"
                        if user is not None and float(user) <= limit else "")  # type: ignore[arg-type]
                raise TimeLimitError(self._time_limit_message(
                    f"{solver} stopped at its time_limit setting of {limit:.3g} s after {iters} iterations", what))
        status = _check_status(prob, solver, options)
        info = {
            "solver_status": prob.status,
            "solve_time": getattr(stats, "solve_time", None),
            "iterations": getattr(stats, "num_iters", None),
            "setup_time": getattr(stats, "setup_time", None),
            "retried_with_shorter_steps": retried,
        }
        alloc_val = np.zeros((N, D))
        alloc_val[act] = np.asarray(a.value, dtype=float).reshape(S, D)
        transfer = np.zeros(N)
        transfer[act] = np.asarray(t.value, dtype=float)
        tok: dict[str, FloatArray] = {}
        for k, var in tokens.items():
            # token variables have a whole number of rows per active type (one, or one per segment)
            val = np.asarray(var.value, dtype=float)
            per = val.shape[0] // S
            full = np.zeros((N * per,) + val.shape[1:])
            full[np.repeat(act, per)] = val
            tok[k] = full
        ic_duals = np.zeros(len(pairs))
        ic_duals[rows] = np.maximum(np.asarray(ic_con.dual_value, dtype=float).reshape(-1), 0.0)
        ir_duals = np.zeros(N)
        ir_duals[act] = np.maximum(np.asarray(ir_con.dual_value, dtype=float).reshape(-1), 0.0)
        return ProgramSolution(
            allocation=alloc_val,
            transfer=transfer,
            tokens=tok,
            objective=float(prob.value),
            status=status,
            ic_pairs=pairs,
            ic_duals=ic_duals,
            ir_duals=ir_duals,
            rounds=1,
            times=times,
            solver=solver,
            solver_stats=info,
            mono_duals=self._mono_duals(mono, act) if mono is not None else np.zeros(0),
        )

    @staticmethod
    def _mono_duals(mono: cp.Constraint, act: FloatArray) -> FloatArray:
        """Multipliers of a_k <= a_{k+1} over all N - 1 adjacent pairs (0 where a type was fixed at null)."""
        out = np.zeros(len(act) - 1)
        idx = np.flatnonzero(act)
        d = np.maximum(np.asarray(mono.dual_value, dtype=float).reshape(-1), 0.0)
        keep = np.diff(idx) == 1  # active types are a top block for the local strategy
        out[idx[:-1][keep]] = d[keep]
        return out
