"""The solver adapters of the engine: one object per solver (its settings, its own time limit, its retries,
how a time-limit stop reads, its status map), and the quiet solve. Nothing else in the engine names a solver:
:class:`~mechdesign.engine.program.ScreeningProgram` asks :func:`get_adapter` for the solver's adapter.

cvxpy's statuses become mechdesign's: ``optimal`` (Clarabel's AlmostSolved counts when its reduced
tolerances are the required accuracy), ``optimal_inaccurate``, or an exception
(:class:`~mechdesign.exceptions.InfeasibleProgramError`, :class:`~mechdesign.exceptions.UnboundedProgramError`,
:class:`~mechdesign.exceptions.SolverError`) with a message that says what to try.
"""

from __future__ import annotations

import warnings

import cvxpy as cp

from mechdesign.exceptions import InfeasibleProgramError, SolverError, UnboundedProgramError

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
#: when Clarabel stops with InsufficientProgress (badly scaled instances: a nearly linear cost, types
#: whose qualities differ by orders of magnitude), the solve is retried once with shorter steps
CLARABEL_RETRY: dict[str, object] = {"max_step_fraction": 0.9}
#: the retries in turn: shorter steps, then shorter steps accepting a stop at 1e-6 (measured: power costs with
#: an exponent below 2, whose curvature is unbounded at zero, lose progress near a relative gap of 5e-8 and
#: stopped with InsufficientProgress; the exact finish takes such a menu to the rounding level, and the
#: certificate, not the solver's status, decides what it is worth)
CLARABEL_RETRIES: tuple[dict[str, object], ...] = (
    CLARABEL_RETRY,
    {"max_step_fraction": 0.9, "tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10, "tol_ktratio": 1e-8,
     "reduced_tol_gap_abs": 1e-6, "reduced_tol_gap_rel": 1e-6, "reduced_tol_feas": 1e-6, "reduced_tol_ktratio": 1e-5},
)
SCS_OPTIONS: dict[str, object] = {"eps_abs": 1e-9, "eps_rel": 1e-9, "max_iters": 200_000}


def solve_quietly(prob: cp.Problem, solver: str, options: dict[str, object], verbose: bool = False) -> None:
    """``prob.solve`` without cvxpy's generic "may be inaccurate" warning: mechdesign maps the status
    itself and warns with :class:`SolverInaccurateWarning` when the final answer is inaccurate."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Solution may be inaccurate", category=UserWarning)
        prob.solve(solver=solver, verbose=verbose, **options)


class SolverAdapter:
    """A cvxpy solver as the screening program uses it: its settings (none of the engine's own for a solver
    without an adapter of its own), no time limit of its own, no retries, cvxpy's status map. The subclasses
    refine these per solver."""

    #: whether the solver takes the user's time limit as a setting of its own (:meth:`with_time_limit`)
    has_time_limit = False
    #: whether an ``optimal_inaccurate`` stop counts as optimal when the solver's reduced tolerances
    #: (``reduced_tol_*``) are at most :data:`REQUIRED_TOL`
    reduced_tolerances = False

    def __init__(self, name: str) -> None:
        self.name = name

    def settings(self, final: bool) -> dict[str, object]:
        """The engine's own settings: the final accuracy or (``final=False``) the first pass's."""
        return {}

    def options(self, user: dict[str, object] | None, final: bool = True,
                final_settings: dict[str, object] | None = None) -> dict[str, object]:
        """:meth:`settings` updated with the user's ``solver_options`` (which win). ``final_settings``
        replaces the final settings of a solver that takes them (Clarabel: the program's ``final_options``)."""
        base = dict(self.settings(final))
        base.update(user or {})
        return base

    def with_time_limit(self, options: dict[str, object], seconds: float) -> dict[str, object]:
        """``options`` with the solver's own time limit at ``seconds`` (unchanged without one)."""
        return options

    def retries(self, options: dict[str, object]) -> tuple[dict[str, object], ...]:
        """Settings that, in turn, update ``options`` for a retry after the solver failed (none here)."""
        return ()

    def failure_message(self, detail: str, retries: tuple[dict[str, object], ...] = ()) -> str:
        """What a :class:`SolverError` says when the solve failed with ``detail`` (after ``retries``)."""
        also = f", also with shorter steps and a looser aim ({retries})" if retries else ""
        return (f"{self.name} failed on the screening program ({detail}){also}. Try another solver "
                "(solver='SCS') or verbose=True to see the solver log.")

    def time_limit_stop(self, prob: cp.Problem, options: dict[str, object]) -> tuple[float, object] | None:
        """(the limit, the iterations) when the solver's own time limit in ``options`` stopped the solve, else None."""
        return None

    def status(self, prob: cp.Problem, options: dict[str, object]) -> str:
        """cvxpy's status as mechdesign's (``optimal``, ``optimal_inaccurate``), or the error it means."""
        solver = self.name
        status = prob.status
        if status == cp.OPTIMAL:
            return "optimal"
        if status == cp.OPTIMAL_INACCURATE:
            reduced = [options.get(k, 1.0) for k in ("reduced_tol_gap_abs", "reduced_tol_gap_rel", "reduced_tol_feas")]
            if self.reduced_tolerances and max(float(r) for r in reduced) <= REQUIRED_TOL:  # type: ignore[arg-type]
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


class ClarabelAdapter(SolverAdapter):
    """Clarabel (the default): :data:`CLARABEL_OPTIONS` (:data:`CLARABEL_FIRST_PASS` on a first pass), its own
    ``time_limit`` setting, the retries :data:`CLARABEL_RETRIES`, and AlmostSolved at reduced tolerances of
    :data:`REQUIRED_TOL` read as optimal."""

    has_time_limit = True
    reduced_tolerances = True

    def settings(self, final: bool) -> dict[str, object]:
        return CLARABEL_OPTIONS if final else CLARABEL_FIRST_PASS

    def options(self, user: dict[str, object] | None, final: bool = True,
                final_settings: dict[str, object] | None = None) -> dict[str, object]:
        if final and final_settings is not None:
            return dict(final_settings, **(user or {}))
        return super().options(user, final)

    def with_time_limit(self, options: dict[str, object], seconds: float) -> dict[str, object]:
        """``options`` with Clarabel's ``time_limit`` at ``seconds`` (and the user's, if lower)."""
        user = options.get("time_limit")
        if user is not None:
            seconds = min(seconds, float(user))  # type: ignore[arg-type]
        return dict(options, time_limit=seconds)

    def retries(self, options: dict[str, object]) -> tuple[dict[str, object], ...]:
        """:data:`CLARABEL_RETRIES`, unless the options already shorten the steps."""
        return () if "max_step_fraction" in options else CLARABEL_RETRIES

    def time_limit_stop(self, prob: cp.Problem, options: dict[str, object]) -> tuple[float, object] | None:
        # Clarabel stopped by its time limit (the user's time_limit, or one in solver_options) reads
        # as user_limit (MaxTime, like MaxIterations) or, when its reduced tolerances happen to be
        # met, as optimal_inaccurate (AlmostSolved): a time-dependent answer either way, so an error
        if "time_limit" not in options:
            return None
        stats = prob.solver_stats
        limit = float(options["time_limit"])  # type: ignore[arg-type]
        iters = getattr(stats, "num_iters", None)
        max_iter = int(options.get("max_iter", 200))  # type: ignore[call-overload]
        solve_time = getattr(stats, "solve_time", None)
        stopped = (prob.status == cp.USER_LIMIT and (iters is None or iters < max_iter)) or (
            solve_time is not None and float(solve_time) >= limit)
        return (limit, iters) if stopped else None


class SCSAdapter(SolverAdapter):
    """SCS: :data:`SCS_OPTIONS` (first pass and final alike), no time limit of its own, no retries."""

    def settings(self, final: bool) -> dict[str, object]:
        return SCS_OPTIONS


#: the adapters of the solvers the engine knows by name (any other installed cvxpy solver gets
#: :class:`SolverAdapter`)
ADAPTERS: dict[str, type[SolverAdapter]] = {"CLARABEL": ClarabelAdapter, "SCS": SCSAdapter}
#: the engine's default solver
DEFAULT_SOLVER_NAME = "CLARABEL"


def get_adapter(name: str) -> SolverAdapter:
    """The adapter of the cvxpy solver ``name`` (upper case, as cvxpy names it)."""
    return ADAPTERS.get(name, SolverAdapter)(name)
