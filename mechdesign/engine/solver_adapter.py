"""The solver adapter of the engine: Clarabel/SCS settings, the quiet solve, and the status map.

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
