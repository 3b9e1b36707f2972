"""The pipeline every vector-type setting shares: solve the scaled program, unscale, audit, certify.

Contractible tasks (BBS Appendix B) and generic multidimensional screening solve the engine's program in
units ``q_ref`` (allocations) and ``money`` (payoffs), so that payoffs are of order one; this module turns
the solution back into the file's units, audits every IC pair (:func:`mechdesign.engine.audit.audit_menu`,
an :class:`~mechdesign.exceptions.AuditError` when it fails) and certifies it with the Lagrangian bound of
the all-pairs program (:func:`mechdesign.engine.certificate.certify_menu`), in the file's units.
"""

from __future__ import annotations

import copy
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mechdesign.engine.audit import AUDIT_RTOL, AuditReport, audit_menu
from mechdesign.engine.certificate import Certificate, Conjugate, certify_menu
from mechdesign.engine.program import ProgramSolution, ScreeningProgram
from mechdesign.exceptions import AuditError, SolverInaccurateWarning

FloatArray = np.ndarray


@dataclass
class VectorSolve:
    """A solved, audited and certified vector-type menu in the file's units."""

    sol: ProgramSolution
    quality: FloatArray
    transfer: FloatArray
    audit: AuditReport
    certificate: Certificate


def solve_audit_certify(prog: ScreeningProgram, values: FloatArray, q_ref: float | FloatArray, money: float,
                        conjugate: Conjugate, scaled_cost: Callable[[FloatArray, ProgramSolution], FloatArray],
                        gradient: Callable[[FloatArray], FloatArray], what: str, hint: str = "",
                        **solve_options: Any) -> VectorSolve:
    """Solve ``prog`` (types ``values * q_ref / money``), unscale, audit against ``values`` and certify.

    ``scaled_cost(a, sol)`` is each type's cost of the scaled allocations ``a`` in money units (the
    menu's own costs: a setting with token variables prices its tokens), ``gradient(a)`` the cost's
    gradient there (the KKT fit of the certificate). ``what`` names the menu in the audit's error.
    """
    with warnings.catch_warnings():  # the solver's own accuracy is not the verdict: the certificate is
        warnings.simplefilter("ignore", SolverInaccurateWarning)
        sol = prog.solve(**solve_options)
    finishing = solve_options.get("polish", True) is not False
    # the solver's own multipliers first; the fitted ones (least squares, an LP) only after the exact finish
    done = _audit_certify(prog, sol, values, q_ref, money, conjugate, scaled_cost, gradient, fallbacks=not finishing)
    if finishing and not done.certificate.has_margin:
        # the exact finish (Newton on the active set), kept when it certifies with a smaller gap
        trial = copy.copy(sol)  # its own stats and times: a rejected finish leaves the solver's record as it was
        trial.solver_stats, trial.times = copy.deepcopy(sol.solver_stats), dict(sol.times)

        accepted: list[VectorSolve] = []

        def margin(candidate: ProgramSolution) -> bool:
            """The finish may stop where the certificate (fitted multipliers too) holds with margin; that
            certificate is kept for the finished menu (re-certifying it with the finish's multipliers alone
            would lose it)."""
            vs = _audit_certify(prog, candidate, values, q_ref, money, conjugate, scaled_cost, gradient)
            if vs.certificate.has_margin:
                accepted.append(vs)
            return vs.certificate.has_margin

        finished = prog.finish(trial, accept=margin)
        if accepted and accepted[-1].sol.allocation is finished.allocation:  # the finish ended at that point
            vs = accepted[-1]
            alt = VectorSolve(finished, vs.quality, vs.transfer, vs.audit, vs.certificate)
            if alt.audit.passed and abs(alt.certificate.gap_rel) < abs(done.certificate.gap_rel):
                done = alt
        elif finished.finish_multipliers is not None:
            alt = _audit_certify(prog, finished, values, q_ref, money, conjugate, scaled_cost, gradient,
                                 fallbacks=False)
            if alt.audit.passed and (alt.certificate.passed or not done.certificate.passed) and \
                    abs(alt.certificate.gap_rel) < abs(done.certificate.gap_rel):
                done = alt
        if not done.certificate.has_margin:  # the fitted multipliers, at both menus: the better certificate is kept
            candidates = [_audit_certify(prog, sol, values, q_ref, money, conjugate, scaled_cost, gradient)]
            if done.sol is finished:
                candidates.append(_audit_certify(prog, finished, values, q_ref, money, conjugate, scaled_cost,
                                                 gradient))
            for alt in candidates:
                if alt.audit.passed and (alt.certificate.passed or not done.certificate.passed) and \
                        (abs(alt.certificate.gap_rel) < abs(done.certificate.gap_rel) or done.sol is alt.sol):
                    done = alt
        done.sol.solver_stats["finish"] = {**dict(finished.solver_stats.get("refine", {})),  # type: ignore[call-overload]
                                           "kept": done.sol is finished}
    if not done.audit.passed:
        raise AuditError(f"the {what} menu fails the all-pairs audit (max IC violation "
                         f"{done.audit.max_ic_violation_rel:.2e} relative){hint}")
    return done


def _audit_certify(prog: ScreeningProgram, sol: ProgramSolution, values: FloatArray, q_ref: float | FloatArray, money: float,
                   conjugate: Conjugate, scaled_cost: Callable[[FloatArray, ProgramSolution], FloatArray],
                   gradient: Callable[[FloatArray], FloatArray], fallbacks: bool = True) -> VectorSolve:
    """Unscale, audit and certify one solution of ``prog`` (the audit's verdict is the caller's);
    ``fallbacks``: of :func:`~mechdesign.engine.certificate.certify_menu`. The vector settings have no outside
    options (the audit and the bound take them as zero): a program with any is refused here."""
    if prog.outside is not None and np.any(np.asarray(prog.outside) != 0):
        raise ValueError("the vector-type pipeline certifies programs with zero outside options only")
    # allocations in R^D_+ lose the solver's rounding below zero; a cost free in sign keeps them as they are
    a = sol.allocation if getattr(prog.cost_model, "signed", False) else np.maximum(sol.allocation, 0.0)
    quality, transfer = a * q_ref, sol.transfer * money
    audit = audit_menu(values, quality, transfer, rtol=AUDIT_RTOL)
    t0 = time.perf_counter()
    cert = certify_menu(prog.values, prog.prob, a, sol.transfer, scaled_cost(a, sol), sol.ic_pairs, sol.ic_duals,
                        sol.ir_duals, conjugate, gradient(a), audit, finish=sol.finish_multipliers,
                        fallbacks=fallbacks).in_units(money)
    sol.times["certificate"] = sol.times.get("certificate", 0.0) + time.perf_counter() - t0
    return VectorSolve(sol, quality, transfer, audit, cert)


def solve_vertex_certify(prog: ScreeningProgram, values: FloatArray, q_ref: float | FloatArray, money: float, model: Any,
                         what: str, hint: str = "", **solve_options: Any) -> VectorSolve:
    """:func:`solve_audit_certify` for a linear cost on a polytope (``model.linear``: a linear program).

    The interior-point solve (``prog`` with its IC strategy, at the final accuracy, without the polish and
    the Newton refinement, which need the cost's curvature) is certified with its own multipliers and the
    cost's exact conjugate (``model.conjugate``: cost plus the domain's indicator). When that gap is not at
    the rounding level (:attr:`~mechdesign.engine.certificate.Certificate.has_margin`), the same program is
    solved at a simplex vertex from the solve's IC pairs (:func:`mechdesign.engine.lp_vertex.vertex_solve`,
    adding the pairs the all-pairs audit finds violated there) and certified with the vertex's LP
    multipliers, the LP's crossover; the better certificate is kept, and when neither has the margin the
    fitted multipliers of :func:`~mechdesign.engine.certificate.certify_menu` are tried at the
    interior-point menu. ``solver_stats['vertex']`` says what ran and which menu was kept.
    """
    from mechdesign.engine.certificate import lagrangian_certificate
    from mechdesign.engine.lp_vertex import vertex_solve

    time_limit = solve_options.get("time_limit")
    t0 = time.perf_counter()
    with warnings.catch_warnings():  # the solver's own accuracy is not the verdict: the certificate is
        warnings.simplefilter("ignore", SolverInaccurateWarning)
        sol = prog.solve(**dict(solve_options, polish=False))

    def smooth(a: FloatArray, _sol: ProgramSolution) -> FloatArray:
        return model.smooth_cost(a)[0]  # type: ignore[no-any-return]

    def grad(a: FloatArray) -> FloatArray:
        return model.smooth_cost(a)[1]  # type: ignore[no-any-return]

    done = _audit_certify(prog, sol, values, q_ref, money, model.conjugate, smooth, grad, fallbacks=False)
    record: dict[str, object] = {"ran": False, "applied": False}
    if not (done.audit.passed and done.certificate.has_margin):
        left = None if time_limit is None else max(float(time_limit) - (time.perf_counter() - t0), 1e-3)
        t1 = time.perf_counter()
        vert = vertex_solve(prog.values, prog.prob, model.k, model.cap, model.domain, sol.ic_pairs, time_limit=left)
        sol.times["vertex"] = time.perf_counter() - t1
        record["ran"] = True
        if vert is not None:
            record.update(status=vert.status, rounds=vert.rounds, pairs=len(vert.ic_pairs), **vert.info)
            vsol = ProgramSolution(vert.allocation, vert.transfer, {}, vert.objective, "optimal", vert.ic_pairs,
                                   vert.ic_duals, vert.ir_duals, sol.rounds, sol.times, sol.solver,
                                   dict(sol.solver_stats))
            quality, transfer = vert.allocation * q_ref, vert.transfer * money
            audit = audit_menu(values, quality, transfer, rtol=AUDIT_RTOL)
            t2 = time.perf_counter()
            cert = lagrangian_certificate(
                prog.values, prog.prob, vert.allocation, vert.transfer, smooth(vert.allocation, vsol), vert.ic_pairs,
                vert.ic_duals, model.conjugate, audit, scale=1.0,
                method="the simplex vertex's IC multipliers (HiGHS dual simplex; IR multipliers from the flow "
                       "balance), Lagrangian bound of the all-pairs program with the exact conjugate of the "
                       "linear cost on its domain").in_units(money)
            sol.times["certificate"] = sol.times.get("certificate", 0.0) + time.perf_counter() - t2
            alt = VectorSolve(vsol, quality, transfer, audit, cert)
            if alt.audit.passed and (alt.certificate.passed or not done.certificate.passed) and \
                    (abs(alt.certificate.gap_rel) < abs(done.certificate.gap_rel) or not done.audit.passed):
                done = alt
        else:
            record["stopped"] = "the vertex solve failed (the interior-point menu is kept)"
        if not done.certificate.has_margin:  # the fitted multipliers at the interior-point menu
            alt = _audit_certify(prog, sol, values, q_ref, money, model.conjugate, smooth, grad)
            if alt.audit.passed and (alt.certificate.passed or not done.certificate.passed) and \
                    abs(alt.certificate.gap_rel) < abs(done.certificate.gap_rel):
                done = alt
    record["applied"] = done.sol is not sol
    done.sol.solver_stats["vertex"] = record
    if not done.audit.passed:
        raise AuditError(f"the {what} menu fails the all-pairs audit (max IC violation "
                         f"{done.audit.max_ic_violation_rel:.2e} relative){hint}")
    return done
