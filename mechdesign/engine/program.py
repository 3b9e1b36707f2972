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

import copy
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import cvxpy as cp
import numpy as np

from mechdesign import _validate as Vd
from mechdesign.engine.audit import audit_menu
from mechdesign.engine.pairs import (  # noqa: F401 (re-exported: the engine's pair sets)
    KNN_PAIRS,
    _best_items,
    _chunk_rows,
    adjacent_pairs,
    all_pairs,
    downward_pairs,
    ic_matrix,
    knn_pairs,
    rent_ic_matrix,
    top_pairs,
)
from mechdesign.engine.refine import REFINE_FIRST_MIN_N, Refiner
from mechdesign.engine.solution import ProgramSolution
from mechdesign.engine.solver_adapter import DEFAULT_SOLVER_NAME, SolverAdapter, get_adapter, solve_quietly
from mechdesign.exceptions import (
    ProblemSpecError,
    SolverError,
    SolverInaccurateWarning,
    TimeLimitError,
)

FloatArray = np.ndarray

IC_STRATEGIES = ("all", "local", "adaptive")

#: after the adaptive strategy's search rounds, the IC pairs whose slack at the search's menu exceeds
#: this (scaled payoff units, the largest gross payoff being about one) are dropped
SEARCH_KEEP_SLACK = 1e-3
#: ... and add, for every type, its this many tightest pairs at the search's menu (slack at most
#: SEARCH_KEEP_SLACK), so that the full formulation's rounds find fewer missing pairs
SEARCH_NEAR_PER_TYPE = 3
#: the search stops when a round adds at most this share of the pairs it has
SEARCH_STOP_SHARE = 0.01
#: a pair is added by the adaptive strategy when its violation exceeds this (scaled payoff units, where
#: the largest gross payoff is about one). It sits above the first pass's numerical noise near the
#: exclusion cutoff (1e-10 to 1e-8) and ten times below the audit tolerance (1e-7).
ADAPTIVE_ADD_TOL = 1e-8
ADAPTIVE_MAX_ROUNDS = 60
#: a type whose gross payoff and transfer are below this share of the largest gross payoff sits at
#: the null item (interior-point solutions leave excluded types near 1e-7 of the scale, not at zero)
NULL_TOL = 1e-6
#: the exact finish (:mod:`mechdesign.engine.refine`) starts from a finer null set: only types whose gross payoff and
#: transfer are below this share sit at the null item, the others (the first pass's noise near the cutoff among them)
#: are free and Newton holds at zero what should be. With costs near linear (value-scale, cost exponent about 1.2)
#: the optimum serves types near the cutoff at 1e-12 .. 1e-6 of the top quality, and NULL_TOL there left out types
#: worth 3e-8 .. 4e-6 of the profit: the finish's point earned less and was rejected (measured on the value-scale
#: harness's near-linear seeds 5, 7, 21 and 23: uncertified at NULL_TOL, certified at 1e-9)
FINISH_NULL_TOL = 1e-9
#: the polished re-solve may not lose more than this share of the first solve's objective
POLISH_RTOL = 1e-8
#: the polish is repeated while the set of null types changes, at most this many times
POLISH_MAX_PASSES = 3
#: vector types: the adaptive strategy adds, for each violating type, its nearest tempting items (see _top_pairs)
NEAREST_PAIRS = True


class CostModel(Protocol):
    """Turns the scaled allocation into convex constraints and a per-type cost expression."""

    def build(self, q: cp.Expression) -> tuple[list[cp.Constraint], cp.Expression, dict[str, cp.Variable]]:
        ...


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
    #: write the program in rent variables :math:`u_n = v_n\cdot a_n - t_n` (:func:`rent_ic_matrix`);
    #: None: when types are vectors (D > 1), where it makes the interior point's KKT factor sparser
    rent: bool | None = None
    #: rent formulation with a search formulation (adaptive): keep the types that the search's menu leaves
    #: at the null item there in the final rounds. No effect without a search formulation; not used by the
    #: settings (measured on the contractible profile formulation, N = 200-400 x T = 10: it earns as much
    #: as the free final rounds, but its multipliers do not certify). Kept for experiments.
    fix_null: bool = False
    #: Clarabel's settings in the final rounds instead of its adapter's (None: those; other solvers ignore
    #: them, see :mod:`mechdesign.engine.solver_adapter`); the user's solver_options still win. Measured on the contractible profile formulation (N = 400, T = 10): aiming
    #: at 1e-14 with reduced tolerances of 1e-8 the iterates lose primal feasibility (residual 1e-10 ->
    #: 1e-3) and Clarabel stops with NumericalError; aiming at 1e-12 with its default reduced tolerances
    #: it returns a menu that the setting's certificate certifies to 9e-13 (the certificate, not the
    #: solver's status, is the verdict).
    final_options: dict[str, object] | None = None
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
        if self.rent is None:
            self.rent = self.values.shape[1] > 1

    @property
    def n(self) -> int:
        return int(self.values.shape[0])

    def solve(self, ic: str = "adaptive", solver: str = DEFAULT_SOLVER_NAME,
              solver_options: dict[str, object] | None = None, verbose: bool = False,
              max_rounds: int = ADAPTIVE_MAX_ROUNDS, polish: bool = True,
              time_limit: float | None = None, pairs: FloatArray | None = None) -> ProgramSolution:
        """Solve with the chosen IC strategy; raise :class:`SolverError` subclasses on failure.

        With ``polish=True`` (default) the IC strategy runs at first-pass accuracy, then the program is
        re-solved at the final accuracy (the solver adapter's final settings,
        :data:`mechdesign.engine.solver_adapter.CLARABEL_OPTIONS` for Clarabel) on the final IC set, with the types
        that the first solution leaves at the null item (zero allocation and transfer, to
        :data:`NULL_TOL`) fixed there. Interior-point methods converge slowly to that corner (a cone's
        apex, with a degenerate block of tight IC constraints among excluded types). The re-solve is a
        restriction of the same program, so it is kept only when its all-pairs audit passes and its
        profit is not below the first solve's (less :data:`POLISH_RTOL`); it is repeated while the null
        set changes. ``solver_stats['polish']`` says what happened.

        ``pairs`` (adaptive strategy only; the others write their own pair sets) is the first pair set
        instead of the default one, e.g. a previous solve's final pairs.

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
        given = None if pairs is None else np.asarray(pairs, dtype=int).reshape(-1, 2)
        if ic == "local" and D != 1:
            raise ProblemSpecError("ic", ic, "'local' needs scalar types (D = 1); use 'all' or 'adaptive'")
        if ic == "all":
            pairs = all_pairs(N)
        elif ic == "local":
            pairs = downward_pairs(N)
        elif given is not None:  # the caller's first pair set (e.g. a previous solve's final pairs)
            pairs = given
        elif D > 1:  # vectors: binding pairs join nearby types
            pairs = knn_pairs(self.values)
        else:
            pairs = adjacent_pairs(N)
        times = {"build": 0.0, "solve": 0.0, "audit": 0.0}
        adapter = get_adapter(solver)
        final = adapter.options(solver_options, final=True, final_settings=self.final_options)
        # rent formulation (vector types): the final formulation's rounds run at the final accuracy
        # with every type free, and no polish follows. Measured (contractible, N = 200 and 400, T = 10):
        # fixing the excluded types at the null item left multipliers that do not certify (gap 3e-4 of
        # the scale) and cost a re-solve; the free final rounds certify (gap < 1e-9) in less time.
        direct = polish and bool(self.rent)
        first = final if (not polish or direct) else adapter.options(solver_options, final=False)
        search_options = adapter.options(solver_options, final=False)

        rounds = 0
        search_model = self.search_model if ic == "adaptive" else None
        searching = search_model is not None
        seen = set(map(tuple, pairs.tolist())) if ic == "adaptive" else set()
        active: FloatArray | None = None
        unrestricted: ProgramSolution | None = None
        null_fixed = 0  # types held at the null item in the final rounds (fix_null)
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
                        sol = self._solve_once(pairs, False, solver, search_options, verbose, times,
                                               active=active, model=search_model)
                    except TimeLimitError:
                        raise
                    except SolverError:  # the search formulation failed: search with the full one
                        searching, search_model = False, None
                if not searching:
                    sol = self._solve_once(pairs, ic == "local", solver, first, verbose, times, active=active)
            if ic != "adaptive":
                break
            if polish and not direct and rounds == 1 and not searching:
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
                if direct and self.fix_null:
                    null = self._null_types(sol)
                    if 0 < null.sum() < N and not np.any(np.asarray(self.outside)[null] > 0):
                        active = ~null
                        null_fixed = int(null.sum())
                continue
            if len(new) == 0:
                if active is None or direct:  # direct: the setting's certificate checks the restriction
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
        if direct:
            sol.solver_stats["polish"] = {"applied": False, "skipped": "rent formulation: the final rounds ran "
                                          "at the final accuracy" + (f" with {null_fixed} null types fixed" if null_fixed
                                                                     else " with every type free")}
            sol.solver_stats["null_fixed"] = null_fixed
        elif polish:
            times["refine"] = 0.0
            first_attempt: dict[str, object] | None = None
            if N >= REFINE_FIRST_MIN_N:
                # large problems: try to certify the first pass directly (sparse Newton), which makes the
                # polish's second interior-point solve unnecessary when it succeeds
                t0 = time.perf_counter()
                sol = self._refine(sol, "the refinement of the first pass")
                times["refine"] += time.perf_counter() - t0
                first_attempt = sol.solver_stats["refine"]  # type: ignore[assignment]
            if first_attempt is not None and first_attempt["applied"] and first_attempt.get("null_types_certified", True):
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

    def finish(self, sol: ProgramSolution,
               accept: Callable[[ProgramSolution], bool] | None = None) -> ProgramSolution:
        """The exact finish of a solved program: Newton's method on the KKT system of the active set read
        from ``sol`` (:meth:`_refine`, a :class:`~mechdesign.engine.refine.Refiner`); the finished menu and its multipliers
        (:attr:`ProgramSolution.finish_multipliers`) replace the solver's only when the all-pairs audit
        passes and non-negative multipliers certify stationarity. ``solver_stats['refine']`` says what
        happened. The caller certifies the result (:func:`mechdesign.engine.certificate.certify_menu`); its
        ``accept(candidate)`` (:attr:`~mechdesign.engine.refine.Refiner.accept`), when given, may end the finish
        early at a point its certificate holds with margin.

        The active set starts from the null set read at :data:`NULL_TOL`; when that set is not certified (the finish
        is rejected, or the flows into its null types leave a positive virtual value and the caller's certificate
        does not hold with margin there), the finish runs again from the solver's point with the finer null set of
        :data:`FINISH_NULL_TOL`, and the better of the two is kept (applied, then certified null set, then profit)."""
        t0 = time.perf_counter()
        start = copy.copy(sol)  # the solver's point, for the finer null set's attempt
        start.solver_stats, start.times = dict(sol.solver_stats), dict(sol.times)
        sol = self._refine(sol, "the exact finish", accept)
        info: dict[str, object] = sol.solver_stats.get("refine", {})  # type: ignore[assignment]
        if not info.get("skipped") and (not info.get("applied") or (
                info.get("null_types_certified") is False and not info.get("caller_accepted"))):
            # the null set read at NULL_TOL is not certified: again from the solver's point with the finer one
            fine = self._refine(start, "the exact finish (finer null set)", accept, null_tol=FINISH_NULL_TOL)
            fine_info: dict[str, object] = fine.solver_stats.get("refine", {})  # type: ignore[assignment]
            # an applied point over none; one whose null set is certified (or the caller's certificate holds with
            # margin) over one that is not; else the higher profit (both pass the all-pairs audit to rounding)
            def rank(s: ProgramSolution, i: dict[str, object]) -> tuple[bool, bool, float]:
                return (bool(i.get("applied")), bool(i.get("null_types_certified") or i.get("caller_accepted")),
                        float(s.objective))

            if rank(fine, fine_info) > rank(sol, info):
                fine_info["coarse_null_set_attempt"] = info
                fine.times = sol.times
                sol = fine
            else:
                info["finer_null_set_attempt"] = fine_info
        sol.times["finish"] = sol.times.get("finish", 0.0) + time.perf_counter() - t0
        return sol

    def _refine(self, sol: ProgramSolution, stage: str = "the refinement",
                accept: Callable[[ProgramSolution], bool] | None = None,
                null_tol: float = NULL_TOL) -> ProgramSolution:
        """:meth:`mechdesign.engine.refine.Refiner.refine` of ``sol`` by a refiner of this program (its types,
        cost model, null types and time limit); the refiner keeps its own budgets. A cost model that says it is
        not refinable (``refinable = False``: a linear cost, with no curvature for Newton's method, finished at
        a simplex vertex by :mod:`mechdesign.engine.lp_vertex`; allocations free in sign, where the refiner's
        active set of components held at zero does not apply) is left as it is, and
        ``solver_stats['refine']`` says so."""
        if not getattr(self.cost_model, "refinable", True):
            sol.solver_stats["refine"] = {"applied": False, "skipped": "the cost model is not refinable (a linear "
                                                                       "cost, or allocations free in sign)"}
            return sol
        return Refiner(self.values, self.prob, self.outside, self.cost_model,
                       null_types=lambda x: self._null_types(x, null_tol),
                       check_time=self._check_time_in, accept=accept).refine(sol, stage)

    def _check_time_in(self, stage: str) -> None:
        """:meth:`_check_time` with ``stage`` as where the solve is (for the message)."""
        self._stage = stage
        self._check_time()

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

    def _timed_options(self, adapter: SolverAdapter, options: dict[str, object]) -> dict[str, object]:
        """``options`` with the solver's own time limit (if it has one) set to the time left (see
        :meth:`mechdesign.engine.solver_adapter.SolverAdapter.with_time_limit`)."""
        if self._deadline is None or not adapter.has_time_limit:
            return options
        left = self._deadline - time.perf_counter()
        if left <= 0:
            raise TimeLimitError(self._time_limit_message())
        return adapter.with_time_limit(options, left)

    def _null_types(self, sol: ProgramSolution, tol: float = NULL_TOL) -> FloatArray:
        """The types whose gross payoff and transfer are below ``tol`` of the largest gross payoff."""
        gross = np.sum(self.values * sol.allocation, axis=1)
        ref = max(float(np.max(np.abs(gross), initial=0.0)), 1e-300)
        return (np.abs(gross) <= tol * ref) & (np.abs(sol.transfer) <= tol * ref)

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
        nearest = self.values.shape[1] > 1 and NEAREST_PAIRS
        return self._top_pairs(sol, bad, per_type, ADAPTIVE_ADD_TOL, seen, nearest=nearest)

    def _top_pairs(self, sol: ProgramSolution, types: FloatArray, per_type: int, min_gain: float,
                   seen: set[tuple[int, int]], chunk_entries: int | None = None,
                   nearest: bool = False) -> FloatArray:
        """:func:`mechdesign.engine.pairs.top_pairs` at the solution's menu."""
        return top_pairs(self.values, sol.allocation, sol.transfer, types, per_type, min_gain, seen,
                         chunk_entries=chunk_entries, nearest=nearest)

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
        # the second block of variables: transfers, or rents u = v.a - t (rent formulation)
        t = cp.Variable(S, name="rent" if self.rent else "transfer")
        alloc = a if D == 1 else cp.reshape(a, (S, D), order="C")
        model = self.cost_model if model is None else model
        subset = getattr(model, "subset", None)  # cost models with per-type data restrict themselves
        if active is not None and subset is not None:
            model = subset(act)
        cons, cost, tokens = model.build(alloc)
        A_a, A_t = (rent_ic_matrix if self.rent else ic_matrix)(self.values, pairs)
        rows = np.ones(len(pairs), dtype=bool)
        if active is not None:
            cols_a = np.flatnonzero(np.repeat(act, D))
            A_a, A_t = A_a[:, cols_a], A_t[:, np.flatnonzero(act)]
            rows = (A_a.getnnz(axis=1) + A_t.getnnz(axis=1)) > 0
            A_a, A_t = A_a[rows], A_t[rows]
        ic_con = A_a @ a + A_t @ t <= 0
        gross = cp.multiply(vals[:, 0], a) if D == 1 else cp.sum(cp.multiply(vals, alloc), axis=1)
        ir_con = t >= u0 if self.rent else gross - t >= u0
        extra = [ic_con, ir_con]
        mono = cp.diff(a) >= 0 if monotone and S > 1 else None
        if mono is not None:
            extra.append(mono)
        revenue = gross - t if self.rent else t
        prob = cp.Problem(cp.Maximize(prob_w @ (revenue - cost)), cons + extra)
        times["build"] += time.perf_counter() - t0
        t1 = time.perf_counter()
        retried = False
        adapter = get_adapter(solver)
        run_options = self._timed_options(adapter, options)
        try:
            solve_quietly(prob, solver, run_options, verbose)
        except cp.error.SolverError as exc:
            retries = adapter.retries(options)
            if not retries:
                raise SolverError(adapter.failure_message(str(exc))) from None
            retried = True
            failures = [str(exc)]
            for retry in retries:  # Clarabel: shorter steps; then a looser aim, which the exact finish completes
                self._check_time()
                run_options = self._timed_options(adapter, dict(options, **retry))
                try:
                    solve_quietly(prob, solver, run_options, verbose)
                    break
                except cp.error.SolverError as exc2:
                    failures.append(str(exc2))
            else:
                raise SolverError(adapter.failure_message(failures[-1], retries)) from None
        times["solve"] += time.perf_counter() - t1
        stats = prob.solver_stats
        stop = adapter.time_limit_stop(prob, run_options)  # a time-dependent answer: an error
        if stop is not None:
            limit, iters = stop
            user = options.get("time_limit")
            what = (f"the time_limit of {limit:g} s in solver_options"
                    if user is not None and float(user) <= limit else "")  # type: ignore[arg-type]
            raise TimeLimitError(self._time_limit_message(
                f"{solver} stopped at its time_limit setting of {limit:.3g} s after {iters} iterations", what))
        status = adapter.status(prob, options)
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
        if self.rent:  # t = v.a - u
            transfer[act] = np.sum(vals * alloc_val[act], axis=1) - transfer[act]
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
