r"""Active-set Newton refinement of an interior-point menu, and its certificate (engine).

An interior-point method that closes the duality gap to :math:`\epsilon` pins a flat optimum's allocation
only to about :math:`\sqrt\epsilon`. :class:`Refiner` (an object that
:class:`mechdesign.engine.program.ScreeningProgram` creates for each refinement) takes the constraints
the solver's menu makes tight as equalities and runs Newton's method on the KKT system of the resulting smooth problem (the cost model's
``smooth_cost``: value, gradient, Hessian); the refined menu replaces the solver's only when it passes
the all-pairs audit, earns no less, and non-negative multipliers certify stationarity. Every budget
counts steps, passes or floating-point operations (never seconds), and the dense linear algebra runs on
one BLAS thread. Like the rest of the engine it knows nothing about LLMs.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from mechdesign.engine.audit import audit_menu
from mechdesign.engine.certificate import VIOLATION_RTOL, balance_multipliers
from mechdesign.engine.null_flows import LP_TOL, null_type_flows
from mechdesign.engine.pairs import _best_items

if TYPE_CHECKING:
    from mechdesign.engine.solution import ProgramSolution

FloatArray = np.ndarray

#: active-set Newton refinement (see :meth:`Refiner.refine`): dense KKT systems (pivoted QR,
#: LU, NNLS certificate) up to this many free variables plus active rows, sparse ones (SuperLU,
#: Newton multipliers as the certificate, or an LP's where they are negative on dependent rows) above for scalar
#: types, skipped above REFINE_SPARSE_MAX_DIM
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
#: unloaded per 2e10 (a dense KKT system near REFINE_MAX_DIM costs about 2e9 a step, a sparse one of a
#: local-strategy problem with N = 10,000 about 1e5, one of ic='all' with N = 200 about 5e7).
REFINE_MAX_WORK = 2e11
#: candidate active sets: IC/IR constraints whose multiplier exceeds these shares of the largest one
#: (an interior-point method leaves multipliers of about gap/slack on inactive constraints), and the
#: constraints with slack below REFINE_SLACK_TOL (scaled units)
REFINE_DUAL_RELS = (1e-4, 1e-6, 1e-2)
REFINE_SLACK_TOL = 1e-9
#: allocation components below this share of the largest stay at zero
REFINE_ZERO_TOL = 1e-9
#: a full Newton step this small (relative to the iterate) that is not half the last one is at the floor that the
#: KKT system's condition sets for its solves' rounding: the pass has converged (the certificate decides)
NEWTON_FLOOR_RTOL = 1e-9
#: sparse Newton steps reuse the last factor (chord steps) while each full step is at most this share of the last
CHORD_CONTRACTION = 0.2
#: a component below this share of the largest that a full Newton step takes below zero is set to zero and held
#: (below the value a released component restarts from, 1e3 REFINE_ZERO_TOL, so a release is not undone at once)
REFINE_SNAP_TOL = 1e-7
#: the refined point is rejected when it earns less than the solver's menu by more than this share of the
#: solver's objective (the solver's menu may earn more than the optimum by about its tolerance, 1e-8, when it
#: violates IC by that much; a refined point lower by more than this comes from a wrong active set)
REFINE_PROFIT_SLACK = 1e-7
#: the refined point must satisfy stationarity with non-negative multipliers to this relative residual
REFINE_KKT_TOL = 1e-7
#: the sparse path looks for non-negative multipliers of dependent active rows (an LP, :meth:`Refiner._lp_multipliers`)
#: up to this many active rows, in at most REFINE_LP_ITER_PER_ROW simplex iterations per active row or held
#: bound, with null_flows' feasibility tolerances (LP_TOL). Measured: Rochet-Chone 40 x 40, 3,798 rows, 6,039 iterations, 1.4 s,
#: and it certifies; contractible 1,000 x 10, 5,271 independent rows with truly negative multipliers, 12-14 s an
#: LP that finds none (two spent the finish's budget); Rochet-Chone 100 x 100, 30,277 rows, about 200 s
REFINE_LP_MAX_ROWS = 4_000
REFINE_LP_ITER_PER_ROW = 3
#: rounds in which the null types whose virtual value stays positive are let back in (each shrinks the null set)
REFINE_REENTRY_ROUNDS = 8
#: why an attempt is rejected when the types held at the null item cannot be certified (see null_flows)
NULL_SET_WRONG = "no flows into the types at the null item make their virtual values non-positive"
#: numerical failures of a refinement attempt (singular or non-finite systems); the attempt is
#: rejected and the solver's menu kept
_REFINE_NUMERICAL_ERRORS = (np.linalg.LinAlgError, ValueError, RuntimeError, FloatingPointError, ZeroDivisionError)


def _sparse_lu_work(lu: object) -> float:
    """Floating-point operations of a sparse LU factorisation, counted from its factors: sum over k of
    nnz(L[:, k]) nnz(U[k, :])."""
    L, U = lu.L.tocsc(), lu.U.tocsr()  # type: ignore[attr-defined]
    return float(np.diff(L.indptr).astype(float) @ np.diff(U.indptr).astype(float))


#: proximal regularisation of the reduced KKT system's factor, relative to its largest diagonal entry
REDUCED_REG = 1e-8
#: refinement steps of a reduced solve (each two triangular solves with the factor), and the backward error
#: (residual relative to |R0| |y| + |rhs|, infinity norms) at which it has converged
REDUCED_REFINE_STEPS = 40
REDUCED_REFINE_TOL = 1e-15


class _FullKKT:
    """The whole KKT matrix factorised by SuperLU (no allocation variables to eliminate)."""

    def __init__(self, lu: object, nnz: int) -> None:
        self.lu = lu
        self.work = _sparse_lu_work(lu) + nnz
        self.solve_work = 2.0 * float(lu.L.nnz + lu.U.nnz)  # type: ignore[attr-defined]

    @classmethod
    def of(cls, H: sp.csr_matrix, E: sp.csr_matrix, reg: float) -> _FullKKT:
        r"""Factorise :math:`[[H, E^\top], [E, -\epsilon I]]` (RuntimeError when exactly singular)."""
        from scipy.sparse import linalg as splinalg

        K = sp.bmat([[H, E.T], [E, -reg * sp.identity(E.shape[0])]], format="csc")
        return cls(splinalg.splu(K), K.nnz)

    def solve(self, rhs: FloatArray) -> FloatArray:
        return self.lu.solve(rhs)  # type: ignore[attr-defined,no-any-return]


class _ReducedKKT:
    r"""The KKT system :math:`[[H, E^\top], [E, -\epsilon I]]` solved through its Schur complement on the transfers
    and multipliers.

    The profit's Hessian :math:`H` is block diagonal over the free allocation components (one block per
    type, of the size of its free components, negative definite where the cost is strictly convex), and the
    transfers enter linearly. Eliminating the allocation steps :math:`d_a = H^{-1}(r_a - E_a^\top\lambda)`
    leaves the system :math:`R_0 = [[0, E_t^\top], [E_t, -\epsilon I - E_a H^{-1} E_a^\top]]` of one unknown per
    served type and per active row. The blocks are inverted in batches (one per block size). A regularised
    copy of :math:`R_0` is factorised (:meth:`factorise`) and every solve is refined against the exact
    :math:`R_0` (:meth:`solve`), so a factor from an earlier Newton iterate serves as long as the refinement
    converges (:attr:`converged`): the chord steps then give exact steps and multipliers. The whole matrix
    with D x D blocks for a thousand types filled in far more (800 x 20: 5 s a factorisation).
    """

    def __init__(self, h: FloatArray, f: FloatArray, free_a: FloatArray, ia: FloatArray, na: int,
                 E: sp.csr_matrix, reg: float, lu: object | None = None, rho: float = 0.0) -> None:
        counts = free_a.sum(axis=1)
        rows, cols, vals = [], [], []
        work = 0.0
        order = np.argsort(~free_a, axis=1, kind="stable")  # each type's free components first, in order
        for k in np.unique(counts[counts > 0]):
            T = np.flatnonzero(counts == k)
            c = order[T, :k]
            blocks = -f[T, None, None] * h[T[:, None, None], c[:, :, None], c[:, None, :]]
            inv = np.linalg.inv(blocks)  # LinAlgError when singular: the caller falls back
            if not np.all(np.isfinite(inv)):
                raise np.linalg.LinAlgError("a Hessian block is not invertible")
            pos = ia[T[:, None], c]
            rows.append(np.broadcast_to(pos[:, :, None], inv.shape).ravel())
            cols.append(np.broadcast_to(pos[:, None, :], inv.shape).ravel())
            vals.append(inv.ravel())
            work += float(T.size) * float(k) ** 3
        if not vals:
            raise np.linalg.LinAlgError("no free allocation component")
        self.Hinv = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                                  shape=(na, na))
        self.na, self.reg = na, reg
        self.Ea = E[:, :na].tocsr()
        self.Et = E[:, na:].tocsc()
        self.nt = self.Et.shape[1]
        self.S = (self.Ea @ self.Hinv @ self.Ea.T).tocsc()
        m = E.shape[0]
        if self.nt + m == 0:
            raise np.linalg.LinAlgError("empty reduced system")
        self.R0 = sp.bmat([[None, self.Et.T], [self.Et, -reg * sp.identity(m) - self.S]], format="csr")
        self.r0_norm = float(np.max(np.asarray(abs(self.R0).sum(axis=1)).ravel(), initial=0.0))
        self.work = work + float(self.S.nnz) * float(max(1, self.Hinv.nnz // max(na, 1))) + self.R0.nnz
        self.lu, self.rho = lu, rho
        self.converged = False

    def factorise(self) -> None:
        """Factorise the regularised system (its factor then serves later iterates' solves)."""
        from scipy.sparse import linalg as splinalg

        m = self.R0.shape[0] - self.nt
        self.rho = max(REDUCED_REG * float(np.max(np.abs(self.S.diagonal()), initial=0.0)), 10.0 * self.reg)
        # quasi-definite: -rho on the transfers' block, +rho on the multipliers' (whose block -S is positive
        # semidefinite, H being negative definite): nonsingular whatever the rows, and factorisable with no
        # pivoting after any symmetric ordering (Vanderbei 1995), so a fill-reducing one (minimum degree on
        # R + R^T) keeps the factor sparse: at 1,000 x 10, 3e6 entries in 0.4 s, against 1e7 in 4 s with pivoting.
        # Its element growth (about |Et|^2 / rho) is not small: the refinement against R0 gives the accuracy
        R = sp.bmat([[-self.rho * sp.identity(self.nt), self.Et.T],
                     [self.Et, (self.rho - self.reg) * sp.identity(m) - self.S]], format="csc")
        self.lu = splinalg.splu(R, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                                options={"SymmetricMode": True})
        self.work += _sparse_lu_work(self.lu) + R.nnz

    @property
    def solve_work(self) -> float:
        """Counted operations of one refinement step (two triangular solves and a product with R0)."""
        lu = self.lu
        assert lu is not None
        return 2.0 * float(lu.L.nnz + lu.U.nnz + self.R0.nnz)  # type: ignore[attr-defined]

    def solve(self, rhs: FloatArray) -> FloatArray:
        """``[d_a, d_t, lambda]`` for the right-hand side ``[r_a, r_t, r_b]`` of the whole system: iterations
        ``y += F^-1 (r - R0 y)`` with the factor ``F``, from ``y = 0``, so that nothing enters the null space of
        ``R0`` (dependent active rows get multipliers near the least-norm ones); :attr:`converged` says
        whether they reached the rounding level within :data:`REDUCED_REFINE_STEPS`."""
        assert self.lu is not None
        na, nt = self.na, self.nt
        ra, rt, rb = rhs[:na], rhs[na:na + nt], rhs[na + nt:]
        Hr = self.Hinv @ ra
        r0 = np.concatenate([rt, rb - self.Ea @ Hr])
        y = self.lu.solve(r0)  # type: ignore[attr-defined]
        r_norm = float(np.max(np.abs(r0), initial=0.0))
        self.converged = False
        self.steps = 1
        for _ in range(REDUCED_REFINE_STEPS):
            res = r0 - self.R0 @ y
            # the backward error: the residual against the sizes that round in it
            if float(np.max(np.abs(res), initial=0.0)) <= REDUCED_REFINE_TOL * (
                    self.r0_norm * float(np.max(np.abs(y), initial=0.0)) + r_norm):
                self.converged = True
                break
            y = y + self.lu.solve(res)  # type: ignore[attr-defined]
            self.steps += 1
        lam = y[nt:]
        da = Hr - self.Hinv @ (self.Ea.T @ lam)
        return np.concatenate([da, y[:nt], lam])


@dataclass
class Refiner:
    """The refinement of one program's menus, and its budget state.

    The program (:class:`mechdesign.engine.program.ScreeningProgram`) creates one per refinement with its
    types (``values``, ``prob``, ``outside``), its ``cost_model``, and two callables: ``null_types(sol)``
    (the types the menu leaves at the null item) and ``check_time(stage)`` (the user's time limit; ``stage``
    says where the refinement is, for the message). ``budget`` (Newton steps left), ``work`` (counted
    floating-point operations), ``stage`` and ``null_violators`` are the refinement's own state."""

    values: FloatArray
    prob: FloatArray
    outside: FloatArray | None
    cost_model: object
    null_types: Callable[[ProgramSolution], FloatArray]
    check_time: Callable[[str], None]
    budget: int = field(default=REFINE_MAX_STEPS, init=False)
    work: float = field(default=0.0, init=False)
    stage: str = field(default="", init=False)
    null_violators: FloatArray = field(default_factory=lambda: np.zeros(0, dtype=int), init=False)
    #: the caller's certificate, asked (with the candidate solution) when the flows into the null types do not
    #: certify a point: True (it holds with margin there) ends the refinement at that point, before the re-entry
    #: rounds (which then only cost steps: measured at contractible 1,000 x 10, 60 s of 73)
    accept: Callable[[ProgramSolution], bool] | None = None

    def _accepts(self, candidate: ProgramSolution) -> bool:
        """The caller's :attr:`accept` (False when there is none, or when its certificate fails numerically)."""
        if self.accept is None:
            return False
        try:
            return bool(self.accept(candidate))
        except _REFINE_NUMERICAL_ERRORS:
            return False

    @staticmethod
    def _candidate(sol: ProgramSolution, a: FloatArray, t: FloatArray, objective: float,
                   tokens: dict[str, FloatArray], mult: tuple) -> ProgramSolution:  # type: ignore[type-arg]
        """A copy of ``sol`` at the refined point (its own stats and times)."""
        import copy

        cand = copy.copy(sol)
        cand.solver_stats, cand.times = dict(sol.solver_stats), dict(sol.times)
        cand.allocation, cand.transfer, cand.objective, cand.tokens = a, t, objective, tokens
        cand.finish_multipliers = mult
        return cand

    def refine(self, sol: ProgramSolution, stage: str = "the refinement") -> ProgramSolution:
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
        self.budget = REFINE_MAX_STEPS
        self.work = 0.0
        self.stage = stage
        self.check_time(self.stage)
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
        null = self.null_types(sol)
        amax = max(float(a0.max(initial=0.0)), 1e-300)
        # a component the type itself does not value only costs and tempts others: it is zero at an optimum
        # types at the null item stay there (as in the polish; a type wrongly left out makes the refined
        # profit fall below the solver's, and the refinement is rejected)
        free_a = (a0 > REFINE_ZERO_TOL * amax) & ~null[:, None] & (v > 0)
        free_t = ~null
        size = int(free_a.sum() + free_t.sum())
        if size > REFINE_SPARSE_MAX_DIM:
            info["skipped"] = f"{size} free variables > REFINE_SPARSE_MAX_DIM"
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
        # the null types on the edge of the served set (an active IC links them to a served type) may re-enter
        # with a tiny allocation: the polish's NULL_TOL can only tell a quality from zero to 1e-6 of the
        # scale, the refinement's certificate decides
        strong = ic_duals > REFINE_DUAL_RELS[0] * dmax
        edge = np.zeros(N, dtype=bool)
        link = strong & (null[pairs[:, 0]] != null[pairs[:, 1]])
        edge[pairs[link].ravel()] = True
        edge &= null & (u0 <= 0)
        # the null set as read first (its types are certified by flows into them, see null_flows), then the
        # edge types let back in when that fails
        # ... and, when the null types cannot be certified, those whose virtual value stays positive let in too
        # (an active-set step on the dual side: the null set only shrinks, so the rounds are finite)
        attempts = [("null types fixed", np.zeros(N, dtype=bool)), ("edge types re-enter", edge)]
        if not edge.any():
            attempts = attempts[:1]
        sparse = int(free_a.sum() + free_t.sum()) > REFINE_MAX_DIM
        if sparse:  # one candidate set per attempt
            rules = dict(list(rules.items())[:1])
        done = False
        fallback: tuple | None = None  # type: ignore[type-arg]
        reentries = 0
        i_attempt = 0
        accepted = False
        while i_attempt < len(attempts):
            label, reenter = attempts[i_attempt]
            i_attempt += 1
            self.null_violators = np.zeros(0, dtype=int)
            start = a0.copy()
            start[reenter] = np.where(v[reenter] > 0, 1e-6 * amax, 0.0)
            fa = free_a | (reenter[:, None] & (v > 0))
            ft = free_t | reenter
            nl = null & ~reenter
            for rule, (act, act_ir) in rules.items():
                act = act & ~(nl[pairs[:, 0]] & nl[pairs[:, 1]])
                # a re-entered type takes over the IR row of the served types whose active IC row leads to it
                # (in one dimension: the lowest served type moves down); the audit adds back any that binds
                above = np.zeros(N, dtype=bool)
                above[pairs[act & reenter[pairs[:, 1]] & ~reenter[pairs[:, 0]], 0]] = True
                act_ir = ((act_ir & ~above) | reenter) & ~nl
                key = f"{label}, {rule}"
                spent = self._spent()
                if spent:
                    tried[key] = spent
                    continue
                self.stage = f"{stage} (attempt '{key}')"
                self.check_time(self.stage)
                try:
                    # overflow and invalid values are caught by the finiteness checks, which reject the attempt
                    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                        out = self._newton(sol, start, fa, ft, pairs[act], np.flatnonzero(act_ir), smooth, sparse)
                    if isinstance(out, str):
                        tried[key] = out
                        continue
                    a, t, objective, stats, mult = out
                    # the solver's menu may earn more than the optimum by its own tolerance (it may violate
                    # IC by that much): only a clearly lower profit says the active set is wrong; the
                    # caller's certificate decides the rest. Payoffs are of order one in the program's units.
                    if objective < sol.objective - REFINE_PROFIT_SLACK * max(abs(sol.objective), 1e-12):
                        tried[key] = (f"the refined point earns less than the solver's "
                                      f"({(objective - sol.objective) / max(abs(sol.objective), 1e-12):.1e} "
                                      "relative)")
                        continue
                    smooth_tokens = getattr(model, "smooth_tokens", None)  # cost models with token variables
                    tokens = smooth_tokens(a) if smooth_tokens is not None else {}
                except _REFINE_NUMERICAL_ERRORS as exc:
                    tried[key] = f"numerical failure ({type(exc).__name__}: {exc})"
                    continue
                residual = float(stats["null_flow_residual"])  # type: ignore[arg-type]
                if residual > REFINE_KKT_TOL:
                    # a type held at the null item wants to be served: let those in (the null set shrinks), and
                    # keep this point in case no round settles (the certificate then decides, as for any menu)
                    tried[key] = f"{NULL_SET_WRONG} (residual {residual:.1e}): one of them should be served"
                    if fallback is None:
                        fallback = (key, a, t, objective, stats, mult, tokens)
                        if self._accepts(self._candidate(sol, a, t, objective, tokens, mult)):
                            # the caller's certificate holds with margin at this point: no re-entry rounds
                            accepted = True
                            break
                    bad = np.zeros(N, dtype=bool)
                    bad[self.null_violators] = True
                    if reentries < REFINE_REENTRY_ROUNDS and (bad & nl).any():
                        reentries += 1
                        attempts.insert(i_attempt, (f"{int((reenter | bad).sum())} null types re-enter "
                                                    f"(round {reentries})", reenter | bad))
                    break  # the null set is wrong whatever the rows: the next attempt lets types in
                done = True
                break
            if done or accepted:
                break
        if not done and fallback is not None:
            # not 'applied' for a caller that trusts the refinement alone (the first pass of a large problem skips
            # the polish on it): the finish hands it on, and the caller's certificate decides
            key, a, t, objective, stats, mult, tokens = fallback
            key += (" (the null types not certified by the flows into them: the caller's certificate holds with "
                    "margin)" if accepted else " (the null types not certified by the flows into them: the "
                    "certificate decides)")
            done = True
        if done:
            info.update(stats, applied=True, active_set=key, caller_accepted=accepted,
                        objective_change=objective - sol.objective,
                        max_allocation_change=float(np.max(np.abs(a - a0))) / amax)
            sol.allocation = a
            sol.transfer = t
            sol.objective = objective
            sol.tokens = tokens
            sol.finish_multipliers = mult
        if tried:
            info["rejected"] = tried
        info["linear_algebra_work"] = self.work  # counted operations (REFINE_MAX_WORK caps them)
        return sol

    def _spent(self) -> str:
        """Why the refinement's budgets (Newton steps, dense work) are spent, or "" while they last."""
        if self.budget <= 0:
            return f"the Newton step budget (REFINE_MAX_STEPS = {REFINE_MAX_STEPS}) is spent"
        if self.work >= REFINE_MAX_WORK:
            return f"the linear-algebra budget (REFINE_MAX_WORK = {REFINE_MAX_WORK:.0e} operations) is spent"
        return ""

    def _newton(self, sol: ProgramSolution, a0: FloatArray, free_a: FloatArray, free_t: FloatArray,
                act_pairs: FloatArray, act_ir: FloatArray, smooth: object,
                force_sparse: bool = False) -> tuple[FloatArray, FloatArray, float, dict[str, object],
                                                     tuple[FloatArray, FloatArray, FloatArray, FloatArray]] | str:
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
        u0 = np.asarray(self.outside, dtype=float)
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
            spent = self._spent()
            if spent:
                return spent
            if steps >= REFINE_ATTEMPT_MAX_STEPS:
                return f"no certified point in REFINE_ATTEMPT_MAX_STEPS = {REFINE_ATTEMPT_MAX_STEPS} Newton steps"
            self.check_time(self.stage)
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
                M = sp.hstack([E_all.T, bounds]).tocsr()
                lp_mu = self._lp_multipliers(M, grad, gnorm) if neg.any() and n_ic + n_ir <= REFINE_LP_MAX_ROWS else None
                if lp_mu is not None:
                    # dependent active rows (the bunching region's ties): Newton's multipliers are near the
                    # least-norm ones, negative where a non-negative combination of the same rows exists. The rows
                    # that combination leaves at zero go (its vertex's rows are independent: on them the next pass's
                    # multipliers are unique), the others stay
                    mu = lp_mu
                    unused = lp_mu[:n_ic + n_ir] == 0
                    if unused.any():
                        act_pairs, act_ir = act_pairs[~unused[:n_ic]], act_ir[~unused[n_ic:]]
                        n_ic, n_ir = len(act_pairs), len(act_ir)
                        continue
                elif neg.any():  # a row the solution wants to leave: drop it and go on (active-set step)
                    act_pairs, act_ir = act_pairs[~neg[:n_ic]], act_ir[~neg[n_ic:]]
                    n_ic, n_ir = len(act_pairs), len(act_ir)
                    continue
                else:
                    lam_p = np.maximum(lam, 0.0)
                    nu = np.maximum(-(E_all.T @ lam_p + grad)[held_cols], 0.0)
                    mu = np.concatenate([lam_p, nu])
            else:
                Md = np.hstack([E_all.T.toarray(), bounds.toarray()])
                self.work += float(Md.shape[0]) * Md.shape[1] * min(Md.shape)
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
            # the certificate's feasibility rule (rounding), not the audit's default 1e-7: a point violating a row
            # by more is not certifiable, and Newton with that row added moves it onto the row
            rep = audit_menu(v, a, t, self.outside, rtol=VIOLATION_RTOL)
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
            # the types at the null item: flows into them that make their virtual values non-positive (an LP;
            # their rows are tight whatever the menu, so they stay out of the Newton system)
            # a served type's row towards the null item restates its IR row (both items are worth 0 to the
            # others): its multiplier goes to that IR row, and the flows below route it on through the null types
            restates = free_t[act_pairs[:, 0]] & ~free_t[act_pairs[:, 1]] & (u0[act_pairs[:, 0]] == 0)
            lam_ic = np.where(restates, 0.0, np.asarray(mu[:n_ic], dtype=float))
            lam_b, nu, _ = balance_multipliers(f, act_pairs, lam_ic)
            if not np.all(np.isfinite(nu)):
                return "the refined multipliers cannot be balanced"
            zero_rent = np.sum(v * a, axis=1) - t - u0 <= REFINE_SLACK_TOL * max(float(np.max(np.abs(t))), 1e-300)
            zero_rent[act_ir] = True
            self.check_time(self.stage)
            # sources: served types whose IR binds at a zero outside option (their row to the null item restates it)
            flows = null_type_flows(v, f, ~free_t, zero_rent & free_t & (u0 == 0), act_pairs, lam_b, nu, grad0=g)
            self.work += flows.work
            stats["null_flow_residual"] = flows.residual
            stats["null_types_certified"] = flows.residual <= REFINE_KKT_TOL
            self.null_violators = flows.violators  # the caller lets these in when the residual is too large
            stats["null_flows"] = len(flows.pairs)
            mult = (np.concatenate([act_pairs, flows.pairs]), np.concatenate([lam_b, flows.lam]),
                    np.asarray(act_ir, dtype=int).copy(), np.asarray(mu[n_ic:n_ic + n_ir], dtype=float))
            return a, t, objective, stats, mult
        return f"the active-set iterations did not settle in REFINE_MAX_PASSES = {REFINE_MAX_PASSES} passes"

    def _lp_multipliers(self, M: sp.csr_matrix, grad: FloatArray, gnorm: float) -> FloatArray | None:
        r"""Non-negative multipliers :math:`\mu` with :math:`\|M\mu + g\|_\infty \le` :data:`REFINE_KKT_TOL`
        :math:`\|g\|_\infty` (stationarity over the certificate's columns, ``M`` the active rows' and held bounds'
        columns), or None when there are none: the LP :math:`\min \|M\mu + g\|_1` over :math:`\mu \ge 0` (HiGHS
        dual simplex: a vertex, whose active rows are linearly independent)."""
        from scipy.optimize import linprog

        n, k = M.shape
        eye = sp.identity(n, format="csr")
        A = sp.hstack([M, eye, -eye]).tocsc()
        b = -grad / gnorm
        c = np.concatenate([np.zeros(k), np.ones(2 * n)])
        try:
            res = linprog(c, A_eq=A, b_eq=b, bounds=(0, None), method="highs-ds",
                          options={"primal_feasibility_tolerance": LP_TOL, "dual_feasibility_tolerance": LP_TOL,
                                   "maxiter": REFINE_LP_ITER_PER_ROW * k})
        except ValueError:
            return None
        # counted from the simplex's iterations (deterministic), calibrated on Rochet-Chone 40 x 40: 6,039 iterations
        # over 31,476 entries took 1.4 s, about 2.8e10 of this module's operations
        self.work += 150.0 * float(getattr(res, "nit", 0) or 0) * float(A.nnz)
        if res.status != 0:
            return None
        mu = np.maximum(res.x[:k], 0.0)
        if float(np.max(np.abs(M @ mu - b), initial=0.0)) > REFINE_KKT_TOL:
            return None
        return mu * gnorm

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
        systems): the allocation steps eliminated block by block (:class:`_ReducedKKT`: the Schur
        complement on the transfers and multipliers, factorised by SuperLU with a quasi-definite
        regularisation and refined to the exact system; dependent rows get multipliers near the least-norm ones:
        exactly so in exact arithmetic, within about 1e-2 measured in floating point),
        or the whole KKT matrix when no allocation component is free. The multipliers are those of the
        last step, on every row of ``E`` (zero on rows dropped as dependent).
        """
        from scipy import linalg

        assert callable(smooth)
        f = self.prob
        N, D = self.values.shape
        m = E.shape[0]
        keep = np.arange(m)
        Ed: FloatArray | None = None
        if not sparse:
            Ed = E.toarray()
            if m:  # keep linearly independent rows (pivoted QR once), then LU in every step
                self.work += 10.0 * m * nv * min(m, nv)
                _, R, piv = linalg.qr(Ed.T, mode="economic", pivoting=True)
                diag = np.abs(np.diag(R))
                rank = int(np.sum(diag > 1e-10 * max(float(diag.max(initial=0.0)), 1e-300)))
                keep = np.sort(piv[:rank])
        Ek, bk = E[keep], b[keep]
        lam = np.zeros(m)
        amax = max(float(np.max(x[:na], initial=0.0)), 1e-300)
        k = 0
        lu: _ReducedKKT | _FullKKT | None = None  # the sparse factor, kept for the later steps of this pass
        contracting, factored, dxn_prev = False, True, None
        refresh = False  # the reduced system: a fresh factor at the solution, for the last multipliers
        while k < max_steps:
            if self._spent():
                break
            self.budget -= 1
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
                try:
                    if isinstance(lu, _ReducedKKT):
                        # this iterate's reduced system (same rows and free components: the same pass), solved with
                        # the last factor and refined to the exact system; factorised anew when that fails, and at
                        # the solution (the last multipliers from this iterate's own factor)
                        lu = _ReducedKKT(h, f, free_a, ia, na, Ek, reg, lu=lu.lu, rho=lu.rho)
                        self.work += lu.work
                        factored = False
                        if not refresh:
                            sol = lu.solve(rhs)
                            self.work += lu.steps * lu.solve_work
                        if refresh or not lu.converged:  # factorise this iterate's system
                            before = lu.work
                            lu.factorise()
                            sol = lu.solve(rhs)
                            self.work += lu.work - before + lu.steps * lu.solve_work
                            factored, refresh = True, False
                    elif isinstance(lu, _FullKKT) and contracting:  # the chord step (counted as a solve)
                        self.work += lu.solve_work
                        sol = lu.solve(rhs)
                        factored = False
                    elif na and D > 1:  # (scalar types: the whole system, as measured on the chain at N = 1e4)
                        reduced = _ReducedKKT(h, f, free_a, ia, na, Ek, reg)
                        reduced.factorise()
                        sol = reduced.solve(rhs)
                        self.work += reduced.work + reduced.steps * reduced.solve_work
                        lu, factored = reduced, True
                    else:
                        lu, factored = None, True
                    if lu is None or (isinstance(lu, _ReducedKKT) and not lu.converged):
                        # no allocation block to eliminate, or the refinement does not reach the exact reduced
                        # system from a fresh factor: it is singular (a free transfer that no active row fixes)
                        # or too ill-conditioned for the regularised factor, whose step would be wrong; the whole
                        # system is factorised (SuperLU refuses an exactly singular one)
                        lu = _FullKKT.of(H, Ek, reg)
                        self.work += lu.work
                        sol = lu.solve(rhs)
                except (RuntimeError, np.linalg.LinAlgError) as exc:  # exactly singular: reject the attempt
                    return f"the KKT system cannot be factorised ({type(exc).__name__}: {exc})", x, k, lam
            else:
                assert Ed is not None
                K = np.block([[H.toarray(), Ed[keep].T], [Ed[keep], np.zeros((len(keep), len(keep)))]])
                self.work += 2.0 / 3.0 * float(K.shape[0]) ** 3
                try:
                    with warnings.catch_warnings():  # the certificate, not the condition number, decides
                        warnings.simplefilter("ignore", linalg.LinAlgWarning)
                        sol = linalg.solve(K, rhs, check_finite=False)
                    if not np.all(np.isfinite(sol)):
                        raise linalg.LinAlgError("non-finite solution")
                except (linalg.LinAlgError, ValueError):
                    self.work += 4.0 * float(K.shape[0]) ** 3
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
            # a component already near zero that the full step takes below it goes to zero and is held there
            # (the certificate releases it if its bound cannot absorb the gradient): dragging it down by the
            # fraction to the boundary would cost a step per factor of ten
            # (vector types, where it was measured: contractible 400 x 10, 36 -> 19 steps; scalar types near their
            # exclusion cutoff have genuinely tiny allocations that a full step overshoots)
            crossing = neg & (x[:na] + dx[:na] <= 0) & (x[:na] <= REFINE_SNAP_TOL * amax) & (D > 1)
            if np.any(crossing):
                x[:na][crossing] = 0.0
                held = np.zeros((N, D), dtype=bool)
                held[free_a] = crossing
                return held, x, k, lam
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
            dxn = float(np.max(np.abs(dx)))
            xs = max(1.0, float(np.max(np.abs(x))))
            # converged: a step at the rounding level, or (a KKT system whose condition makes its solves' rounding
            # larger than that) a full step below NEWTON_FLOOR_RTOL that no longer shrinks; measured at Rochet-Chone
            # 40 x 40 from a 1e-8 interior point: steps of 1e-11 for 38 steps, the pass's whole budget
            floor = (dxn_prev is not None and dxn <= NEWTON_FLOOR_RTOL * xs and dxn > 0.5 * dxn_prev
                     and not contracting)
            if step == 1.0 and (dxn <= 1e-13 * xs or floor):
                # the last multipliers from an exact factor at the solution: a chord step of the whole system
                # (an earlier iterate's factor, not refined); a reduced solve refined to this iterate's exact
                # system (converged) already has them
                if sparse and not factored and not (isinstance(lu, _ReducedKKT) and lu.converged):
                    contracting, refresh = False, True
                    continue
                break
            # a chord step next only after a full step that shrank by CHORD_CONTRACTION (else refactor)
            contracting = step == 1.0 and dxn_prev is not None and dxn <= CHORD_CONTRACTION * dxn_prev
            dxn_prev = dxn
        return None, x, k, lam
