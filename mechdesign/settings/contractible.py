r"""The contractible-task screening program (BBS Appendix B): a quality per task segment per type.

Type :math:`n` has task values :math:`w_n` over :math:`T` segments of measure :math:`\mu_t`; an item
gives per-segment qualities :math:`q_{n,t}` produced by per-segment inference tokens
:math:`x_{n,t} \in R^J` and one fine-tuning vector :math:`z_n \in R^K` shared by all segments:

.. math::
    \max \sum_n f_n\Big(t_n - \sum_t \mu_t\, c\cdot x_{n,t} - \hat c\cdot z_n\Big)
    \ \text{s.t.}\ \Psi(x_{n,t})\Phi(z_n) \ge q_{n,t},\;
    \sum_t \mu_t w_{n,t} q_{n,t} - t_n \ge \sum_t \mu_t w_{n,t} q_{m,t} - t_m,\;
    \sum_t \mu_t w_{n,t} q_{n,t} - t_n \ge 0.

It is the engine of :mod:`mechdesign.engine.program` with type vectors :math:`v_n = \mu\circ w_n`
(D = T) and the cost model below; every answer is audited against all IC pairs. The result it returns,
:class:`ContractibleResult`, lives in :mod:`mechdesign.settings.contractible_result`.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import cvxpy as cp
import numpy as np

from mechdesign import _validate as V
from mechdesign.analytic.contractible import binary_menu
from mechdesign.analytic.cost_based import cost_based_tariff, separability_gap
from mechdesign.engine.audit import AUDIT_RTOL, AuditReport, audit_menu
from mechdesign.engine.certificate import Certificate, null_menu_certificate, profile_conjugate
from mechdesign.engine.program import ScreeningProgram, all_pairs
from mechdesign.exceptions import (
    AuditError,
    MechDesignError,
    ProblemSpecError,
    SolverError,
    TimeLimitError,
    UncertifiedWarning,
)
from mechdesign.problemreaders import TECHNOLOGY_FILE_SCHEMA, read_technology_file
from mechdesign.settings.base import DEFAULT_IC, DEFAULT_SOLVER, SolveOptions, decide_status, resolves_options
from mechdesign.settings.contractible_result import ContractibleResult
from mechdesign.settings.costs import (
    ces_hypograph,
    geo_mean_hypograph,
    power_cone,
    program_units,
    scaled_profile_cost,
)
from mechdesign.settings.spec import SettingSpec
from mechdesign.settings.vector_pipeline import solve_audit_certify
from mechdesign.technology import BaselineFineTuning, CESFineTuning, NoFineTuning, Technology
from mechdesign.types import TaskProfileTypes, aggregate_type

FloatArray = np.ndarray

#: how the contractible program writes the technology: ``tokens`` (token variables per type and
#: segment, g(x, z) >= q as cone trees) or ``profile`` (the least cost of each quality profile)
FORMULATIONS = ("tokens", "profile")
#: Clarabel's settings in the final rounds of the profile formulation (see ScreeningProgram.final_options)
PROFILE_FINAL_OPTIONS: dict[str, object] = {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12,
                                            "max_iter": 500}
#: the adaptive strategy's search-round formulations (None: the final formulation itself)
SEARCHES = ("auto", "profile", "tokens")
#: IC strategies of the contractible program (types are vectors: no 'local')
IC_STRATEGIES = ("all", "adaptive")


def check_technology(tech: Technology) -> None:
    """Raise :class:`ProblemSpecError` unless the technology's fine-tuning is supported here.

    Contractible tasks need the least cost of a quality *profile* with shared fine-tuning, which has a
    closed form only for homogeneous fine-tuning (:meth:`Technology.profile_cost`).
    """
    ft = tech.finetuning
    if not isinstance(ft, (NoFineTuning, CESFineTuning)):
        kind = ft.kind if isinstance(ft, BaselineFineTuning) else type(ft).__name__
        raise ProblemSpecError(
            "finetuning.kind", kind,
            "contractible tasks (Appendix B) support fine-tuning kinds 'none' and 'ces' (homogeneous, "
            "Assumption 1) only: the shared fine-tuning of a quality profile has no closed-form cost with "
            "the baseline form (b + z)^gamma",
        )


def _as_matrix(q: cp.Expression) -> cp.Expression:
    """The engine passes a flat allocation when D = 1 (one task segment): make it (N, 1)."""
    return cp.reshape(q, (q.shape[0], 1), order="C") if q.ndim == 1 else q


@dataclass
class ContractibleCostModel:
    """Per-segment tokens and shared fine-tuning; quality in units of ``q_ref``, money of ``money_ref``."""

    tech: Technology
    measures: FloatArray
    q_ref: float
    money_ref: float
    formulation: str = "tokens"

    def __post_init__(self) -> None:
        self.formulation = V.one_of("formulation", self.formulation, FORMULATIONS)
        check_technology(self.tech)
        X, Z = self.tech.budgets(np.array(self.q_ref))
        self.x_ref = np.maximum(X, 1e-300)
        self.z_ref = np.maximum(Z, 1e-300)
        self.q_scale = float(self.tech.gain(X, Z if self.tech.K else None))

    def conjugate(self, s: FloatArray, f: FloatArray) -> FloatArray:
        r""":math:`\sup_{q \ge 0} s_n\cdot q - f_n c(q)` per type, in these units (the profile cost of
        Appendix B, eq. (56): :func:`mechdesign.engine.certificate.profile_conjugate`)."""
        tech = self.tech
        K, _, _, _ = tech._profile_constants()
        beta = 1.0 / (tech.sigma + tech.sigma_hat)
        kappa = float(np.exp(np.log(K) + beta * np.log(self.q_ref) - np.log(self.money_ref)))
        return profile_conjugate(kappa, beta, self.measures, tech.sigma)(s, f)

    def build(self, q: cp.Expression) -> tuple[list[cp.Constraint], cp.Expression, dict[str, cp.Variable]]:
        q = _as_matrix(q)
        return self._build_profile(q) if self.formulation == "profile" else self._build_tokens(q)

    def _build_tokens(self, q: cp.Expression) -> tuple[list[cp.Constraint], cp.Expression, dict[str, cp.Variable]]:
        tech = self.tech
        N, T = q.shape
        rows = N * T
        X = cp.Variable((rows, tech.J), nonneg=True, name="X")
        y = cp.Variable(rows, nonneg=True)
        cons = ces_hypograph(tech.inference.reweighted(self.x_ref), X, y)
        terms: list[cp.Expression] = [y]
        weights = [tech.sigma]
        tokens: dict[str, cp.Variable] = {"X": X}
        row_cost = cp.reshape(X @ (tech.c * self.x_ref), (N, T), order="C") @ self.measures
        cost = row_cost
        ft = tech.finetuning
        if isinstance(ft, CESFineTuning):
            Z = cp.Variable((N, tech.K), nonneg=True, name="Z")
            yh = cp.Variable(N, nonneg=True)
            cons += ces_hypograph(ft.aggregator.reweighted(self.z_ref), Z, yh)
            terms.append(yh[np.repeat(np.arange(N), T)])
            weights.append(ft.sigma_hat)
            tokens["Z"] = Z
            cost = cost + Z @ (ft.c_hat * self.z_ref)
        terms.append(cp.Constant(np.ones(rows)))
        weights.append(1.0 - sum(weights))
        q_flat = cp.reshape(q, (rows,), order="C")
        cons += geo_mean_hypograph(terms, weights, q_flat * (self.q_ref / self.q_scale))
        cons.append(q_flat >= 0)
        return cons, cost / self.money_ref, tokens

    def _build_profile(self, q: cp.Expression) -> tuple[list[cp.Constraint], cp.Expression, dict[str, cp.Variable]]:
        r"""The least token cost of each type's profile written directly (:meth:`Technology.profile_cost`).

        :math:`K S^p` with :math:`S = \sum_t \mu_t q_t^{1/\sigma}`, i.e.
        :math:`K \lVert \mu^\sigma \circ q\rVert_{1/\sigma}^{1/(\sigma+\hat\sigma)}`: a p-norm per type and
        one power, instead of a cone tree per (type, segment) with token variables. Tokens are recovered
        from the solution in closed form (:meth:`smooth_tokens`).

        Written with exact cones whose exponents are the technology's own, :math:`\sigma` and
        :math:`\sigma+\hat\sigma` (:func:`~mechdesign.settings.costs.power_cone`: SOC trees for decimal exponents,
        3-D power cones otherwise; never a rational approximation), in scaled units
        :math:`x = \mu^\sigma\circ q`:

        * without fine-tuning (:math:`p = 1`): :math:`s_{nt} \ge q_{nt}^{1/\sigma}`, i.e.
          :math:`q_{nt} \le s_{nt}^\sigma 1^{1-\sigma}`, and cost :math:`\kappa\sum_t \mu_t s_{nt}`;
        * with it: the norm :math:`u_n \ge \lVert x_n\rVert_{1/\sigma}` as
          :math:`x_{nt} \le r_{nt}^\sigma u_n^{1-\sigma}`, :math:`\sum_t r_{nt} \le u_n` (for
          :math:`\sigma = 1/2` one second-order cone per type), and the cost
          :math:`k_n \ge \kappa u_n^{1/(\sigma+\hat\sigma)}` as
          :math:`u_n \le (k_n/\kappa)^{\sigma+\hat\sigma}`,

        with :math:`\kappa = K\,\bar q^{1/(\sigma+\hat\sigma)}/M` (:math:`\bar q`, :math:`M`: ``q_ref``, ``money_ref``).
        """
        tech = self.tech
        K, p, _, _ = tech._profile_constants()
        s = tech.sigma
        N, T = q.shape
        cons: list[cp.Constraint] = [q >= 0]
        if p == 1.0:
            kappa = K * self.q_ref ** (1.0 / s) / self.money_ref
            S = cp.Variable((N, T), nonneg=True, name="S")
            q_flat, S_flat = cp.reshape(q, (N * T,), order="C"), cp.reshape(S, (N * T,), order="C")
            cons += power_cone(S_flat, cp.Constant(np.ones(N * T)), q_flat, s)
            return cons, kappa * (S @ self.measures), {}
        total = s + tech.sigma_hat
        kappa = K * self.q_ref ** (1.0 / total) / self.money_ref
        x = cp.multiply(q, np.broadcast_to(self.measures**s, (N, T)))
        u = cp.Variable(N, nonneg=True, name="norm")
        k = cp.Variable(N, nonneg=True, name="cost")
        if s == 0.5:  # the 2-norm: one second-order cone per type
            cons.append(cp.norm(x, 2, axis=1) <= u)
        else:
            r = cp.Variable((N, T), nonneg=True, name="share")
            rows = np.repeat(np.arange(N), T)
            cons += power_cone(cp.reshape(r, (N * T,), order="C"), u[rows], cp.reshape(x, (N * T,), order="C"), s)
            cons.append(cp.sum(r, axis=1) <= u)
        cons += power_cone(k / kappa, cp.Constant(np.ones(N)), u, total)
        return cons, k, {}

    def smooth_cost(self, a: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Scaled cost of scaled per-segment qualities ``a`` (N, T), gradient and Hessian (for the refinement).

        Evaluated at the natural qualities ``q_ref a``; where that overflows (``q_ref`` far from one,
        e.g. 1e-22 with sigma = 0.19 and token costs ~30: the Hessian's factor S^(p-2) is inf and the
        refinement's Newton step crashed on inf/NaN), by homogeneity of degree
        :math:`b = 1/(\\sigma+\\hat\\sigma)` in scaled units: cost(q_ref a) / M = profile_cost(a) q_ref^b / M.
        """
        with np.errstate(over="ignore", invalid="ignore"):
            v, g, h = scaled_profile_cost(self.tech, a, self.measures, self.q_ref, self.money_ref)
        if np.all(np.isfinite(v)) and np.all(np.isfinite(g)) and np.all(np.isfinite(h)):
            return v, g, h
        tech = self.tech
        b = 1.0 / (tech.sigma + tech.sigma_hat)
        factor = float(np.exp(b * np.log(self.q_ref) - np.log(self.money_ref)))
        v, g, h = tech.profile_cost(np.asarray(a, dtype=float), self.measures)
        return v * factor, g * factor, h * factor

    def smooth_tokens(self, a: FloatArray) -> dict[str, FloatArray]:
        """Scaled cost-minimising tokens for scaled qualities ``a`` (shapes of :meth:`build`'s variables)."""
        X, Z = self.tech.profile_tokens(np.asarray(a) * self.q_ref, self.measures)
        out = {"X": X.reshape(-1, self.tech.J) / self.x_ref}
        if self.tech.K:
            out["Z"] = Z / self.z_ref
        return out


def solve_contractible(tech: Technology, types: TaskProfileTypes, ic: str = DEFAULT_IC["contractible"],
                       solver: str = DEFAULT_SOLVER, name: str = "contractible problem",
                       formulation: str = "auto", search: str | None = "auto",
                       time_limit: float | None = None) -> ContractibleResult:
    r"""Solve the contractible program for task-profile types, audit every IC pair and certify the menu.

    Parameters
    ----------
    ic : {"adaptive", "all"}
        Constraint generation from the all-pairs audit (default; first pairs: each type's nearest
        neighbours in :math:`\mu\circ w`), or every IC pair written out.
    formulation : {"auto", "tokens", "profile"}
        ``tokens`` writes token variables per (type, segment) and the technology as cones; ``profile``
        writes each type's least cost :math:`K\lVert\mu^\sigma\circ q\rVert_{1/\sigma}^{1/(\sigma+\hat\sigma)}`
        directly (much smaller; tokens recovered in closed form). Both give the same menu. The runs, in
        order, until one is certified (each from the previous run's pairs): with ``ic="adaptive"``, the
        chosen formulation in rent variables with every type free in the final rounds (``auto``: ``profile``,
        aiming at 1e-12), then ``tokens`` in rents, then ``tokens`` in transfers with the polish and the
        refinement; with ``ic="all"``, the transfer path first (``auto``: ``tokens``), then rents.
        ``solver["attempts"]`` lists the runs.
    search : {"auto", "profile", "tokens", None}
        Formulation of the adaptive strategy's *search* rounds (first-pass accuracy), which only decide
        which IC pairs to add; the final rounds use ``formulation`` at the final accuracy and are audited.
        ``"auto"``: ``profile`` when ``ic="adaptive"``; None searches with the final formulation itself.

    Notes
    -----
    Types whose profile values no segment (:math:`w_n = 0`) are served the null item; when every type
    is such, the null menu is the (unique) optimum and is returned without a solve. Raises
    :class:`~mechdesign.exceptions.ProblemSpecError` for unsupported inputs (the baseline fine-tuning
    form, unknown strategies or formulations). Timings: ``mechdesign bench contractible`` (benchmarks/RESULTS.md).
    """
    check_technology(tech)
    ic = V.one_of("ic", ic, IC_STRATEGIES)
    formulation = V.one_of("formulation", formulation, ("auto",) + FORMULATIONS)
    if search is not None:
        search = V.one_of("search", search, SEARCHES)
    w, mu = types.w, types.measures
    theta = aggregate_type(w, mu, tech.sigma)
    th_max = float(theta.max())
    final = ("profile" if ic == "adaptive" else "tokens") if formulation == "auto" else formulation
    if search == "auto":
        search = "profile" if ic == "adaptive" else None
    if not np.any(w > 0):
        return _null_menu(tech, types, name, ic, final, search)
    if not th_max > 0.0:  # values that are positive but underflow in the aggregate type
        raise ProblemSpecError("types.w", float(np.max(w)), "gives an aggregate type that underflows double "
                               "precision (eq. 7); measure the values in other units")
    program_units(tech, th_max)  # refuses magnitudes double precision cannot represent
    deadline = None if time_limit is None else time.perf_counter() + V.positive("time_limit", time_limit)

    def left() -> float | None:
        return None if deadline is None else max(deadline - time.perf_counter(), 1e-3)

    # the runs, in order, until one is certified: (formulation, rent variables). Adaptive: the profile
    # formulation in rents (final rounds every type free, aiming at 1e-12), then tokens in rents, then
    # tokens in transfers with the polish and the refinement (the path before rent variables). Every pair
    # ("all"): that last path first — its polish and Newton refinement pin the allocations of flat
    # optima (value-scale types) to 1e-6 of Prop 10's benchmark, where a free interior-point finish
    # leaves 1.6e-6..7e-6 (`mechdesign validate --only prop10 assumption2`) — then tokens in rents.
    if ic == "adaptive":
        plan = [(final, True)] + ([("tokens", True)] if final == "profile" else []) + [("tokens", False)]
    else:
        plan = [(final, False), (final, True)] if formulation != "auto" else [("tokens", False), ("tokens", True)]
    attempts: list[dict[str, object]] = []
    run: _Run | None = None
    failure: MechDesignError | None = None
    for form, rent in plan:
        if run is not None and (run.certificate.passed or (deadline is not None and time.perf_counter() >= deadline)):
            break
        try:
            alt = _contractible_run(tech, types, th_max, ic, solver, form, search if run is None else None,
                                    fix_null=False, time_limit=left(), rent=rent,
                                    pairs=run.sol.ic_pairs if ic == "adaptive" and run is not None else None)
        except TimeLimitError as exc:
            if run is None:
                raise
            # a menu is at hand (audited, not certified): return it rather than lose it to the limit
            attempts.append({"formulation": form, "variables": "rents" if rent else "transfers",
                             "error": str(exc)[:200]})
            break
        except (SolverError, AuditError) as exc:  # a numerical failure: the next run of the plan
            failure = exc
            attempts.append({"formulation": form, "variables": "rents" if rent else "transfers",
                             "error": str(exc)[:200]})
            continue
        attempts.append(alt.summary())
        if run is None or alt.certificate.passed or alt.certificate.gap_rel < run.certificate.gap_rel:
            run = alt
    if run is None:
        assert failure is not None
        raise failure
    return _contractible_result(tech, types, name, ic, run, attempts)


@dataclass
class _Run:
    """One solve of the contractible program, audited and certified (natural units)."""

    formulation: str
    search: str | None
    sol: Any
    quality: FloatArray
    transfer: FloatArray
    token_cost: FloatArray
    profit: float
    audit: AuditReport
    certificate: Certificate
    wall_s: float
    rent: bool = True

    def summary(self) -> dict[str, object]:
        return {"formulation": self.formulation, "search": self.search, "rounds": self.sol.rounds,
                "variables": "rents" if self.rent else "transfers",
                "pairs": len(self.sol.ic_pairs), "null_fixed": self.sol.solver_stats.get("null_fixed", 0),
                "certified": self.certificate.passed, "gap_rel": self.certificate.gap_rel, "wall_s": self.wall_s}


def _contractible_run(tech: Technology, types: TaskProfileTypes, th_max: float, ic: str, solver: str,
                      formulation: str, search: str | None, fix_null: bool, time_limit: float | None,
                      pairs: FloatArray | None = None, rent: bool | None = None) -> _Run:
    """Scale, solve (:class:`ScreeningProgram`), unscale, audit and certify one formulation."""
    t0 = time.perf_counter()
    w, f, mu = types.w, types.prob, types.measures
    values = w * mu[None, :]
    # the units themselves as before (the last digits of q_ref move every solver iterate: keep them fixed)
    q_ref = float(tech.efficient_quality(np.array([th_max]))[0])
    money = th_max * q_ref
    model = ContractibleCostModel(tech, mu, q_ref, money, formulation)
    search_model = None if search is None else ContractibleCostModel(tech, mu, q_ref, money, search)
    prog = ScreeningProgram(values / th_max, f, model, search_model=search_model, fix_null=fix_null, rent=rent,
                            final_options=PROFILE_FINAL_OPTIONS if formulation == "profile" else None)
    conj = model.conjugate

    costs: dict[str, FloatArray] = {}

    def menu_cost(_a: FloatArray, sol: Any) -> FloatArray:
        """Each type's token cost (token variables, or their closed form) in money units; kept for the profit."""
        X = sol.tokens["X"].reshape(len(f), -1, tech.J) * model.x_ref
        cost = (X @ tech.c) @ mu
        if "Z" in sol.tokens:
            cost = cost + (sol.tokens["Z"] * model.z_ref) @ tech.c_hat
        costs["natural"] = np.asarray(cost)
        return costs["natural"] / money

    done = solve_audit_certify(prog, values, q_ref, money, conj, menu_cost, lambda a: model.smooth_cost(a)[1],
                               "contractible", ic=ic, solver=solver, time_limit=time_limit, pairs=pairs)
    sol, quality, transfer, audit, certificate = done.sol, done.quality, done.transfer, done.audit, done.certificate
    token_cost = costs["natural"]
    profit = float(f @ (transfer - token_cost))
    return _Run(formulation, search, sol, quality, transfer, token_cost, profit, audit, certificate,
                time.perf_counter() - t0, bool(prog.rent))


def _contractible_result(tech: Technology, types: TaskProfileTypes, name: str, ic: str, run: _Run,
                         attempts: list[dict[str, object]]) -> ContractibleResult:
    """The result of the chosen run: status from its certificate, Prop 9 for two types, the cost-based tariff."""
    w, f, mu = types.w, types.prob, types.measures
    sol, certificate = run.sol, run.certificate
    status = decide_status(run.audit.passed, certificate.passed)
    if status != "optimal":
        warnings.warn(f"the contractible menu is not certified optimal: {certificate.line()}", UncertifiedWarning,
                      stacklevel=3)
    result = ContractibleResult(name, w, f, mu, run.quality, run.transfer, run.profit, run.audit, sol.ic_pairs,
                                sol.ic_duals, sol.ir_duals, status, certificate=certificate, cost=run.token_cost,
                                solver={"name": sol.solver, "status": sol.status, "ic": ic, "times": sol.times,
                                        "formulation": run.formulation, "search": run.search, "rounds": sol.rounds,
                                        "polish": sol.solver_stats.get("polish"),
                                        "refine": sol.solver_stats.get("refine"),
                                        "finish": sol.solver_stats.get("finish"), "attempts": attempts},
                                cost_based=cost_based_tariff(tech, types),
                                separability_gap=_separability_gap(types, tech.sigma))
    if len(f) == 2:
        an = binary_menu(tech, w, f, mu)
        result.analytic = an
        result.comparison = {
            "profit_rel_error": abs(run.profit - an.profit) / max(abs(an.profit), 1e-300),
            "quality_rel_error": float(np.abs(run.quality - an.quality).max() / max(an.quality.max(), 1e-300)),
            "transfer_rel_error": float(np.abs(run.transfer - an.transfer).max()
                                        / max(np.abs(an.transfer).max(), 1e-300)),
        }
    return result


def _separability_gap(types: TaskProfileTypes, sigma: float) -> float:
    # a zero profile has no direction (0/0): it is its own cell of the grid, without a warning
    with np.errstate(invalid="ignore", divide="ignore"):
        return separability_gap(types, sigma)


def _null_menu(tech: Technology, types: TaskProfileTypes, name: str, ic: str, formulation: str,
               search: str | None) -> ContractibleResult:
    """Every profile is zero: nobody values any quality, so the null menu (profit 0) is optimal."""
    w, f, mu = types.w, types.prob, types.measures
    N = len(f)
    quality, transfer = np.zeros(w.shape), np.zeros(N)
    pairs = all_pairs(N) if ic == "all" else np.zeros((0, 2), dtype=int)
    note = "every task profile is zero: the null menu is optimal (no solve)"
    audit = audit_menu(w * mu[None, :], quality, transfer, rtol=AUDIT_RTOL)
    result = ContractibleResult(name, w, f, mu, quality, transfer, 0.0, audit, pairs,
                                np.zeros(len(pairs)), np.zeros(N), "optimal", cost=np.zeros(N),
                                certificate=null_menu_certificate(w * mu[None, :], f, audit),
                                solver={"name": None, "status": "optimal", "ic": ic, "times": {},
                                        "formulation": formulation, "search": search, "rounds": 0,
                                        "polish": None, "refine": None, "note": note},
                                cost_based=cost_based_tariff(tech, types),
                                separability_gap=_separability_gap(types, tech.sigma))
    if N == 2:
        an = binary_menu(tech, w, f, mu)
        result.analytic = an
        result.comparison = {"profit_rel_error": abs(an.profit), "quality_rel_error": float(np.abs(an.quality).max()),
                             "transfer_rel_error": float(np.abs(an.transfer).max())}
    return result


@dataclass
class ContractibleProblem:
    """A contractible-task problem (Appendix B): technology and task-profile types."""

    technology: Technology
    types: TaskProfileTypes
    name: str = "contractible problem"
    source: dict[str, object] = field(default_factory=dict)

    #: the problem-file kind and the solve options this setting honours
    kind: ClassVar[str] = "contractible"
    options: ClassVar[tuple[str, ...]] = ("ic", "solver", "formulation", "time_limit")

    @resolves_options
    def solve(self, options: SolveOptions | None = None, /, **kwargs: Any) -> ContractibleResult:
        """Solve, certify, audit and (for two types) compare with Prop 9.

        Options (a :class:`~mechdesign.settings.base.SolveOptions` and/or keywords): ``ic`` ('adaptive',
        the default, or 'all'), ``solver``, ``formulation`` ('auto', the default, 'tokens' or 'profile'),
        ``time_limit``; any other option is refused. The problem file's ``[solve]`` table gives the options
        the caller does not (:func:`~mechdesign.settings.base.resolve_options`).
        """
        o = SolveOptions.make(options, **kwargs)  # resolved by @resolves_options
        return solve_contractible(self.technology, self.types, ic=o.ic or DEFAULT_IC[self.kind],
                                  solver=o.solver or DEFAULT_SOLVER, name=self.name,
                                  formulation=o.formulation or "auto", time_limit=o.time_limit)


#: ``types.kind`` values a contractible file accepts (task profiles)
TYPE_KINDS = ("task_profiles", "separable", "joint")


def read_contractible(data: Mapping[str, object], kind: str, name: str, source: str) -> ContractibleProblem:
    """The contractible problem of a parsed file: ``[technology]``, ``[types]`` (task profiles), ``[solve]``."""
    f = read_technology_file(data, kind, source, TYPE_KINDS, ContractibleProblem.options)
    assert isinstance(f.types, TaskProfileTypes)
    return ContractibleProblem(f.technology, f.types, name=name, source=f.source)


SPEC = SettingSpec(
    kind="contractible", word="contractible", problem=ContractibleProblem, result=ContractibleResult,
    reader=read_contractible, verbs=("solve", "plot", "sweep"), type_kinds=TYPE_KINDS,
    schema={**TECHNOLOGY_FILE_SCHEMA, "paper": "App. B.1-B.2", "tables": "technology, types, solve"},
    defaults={"ic": DEFAULT_IC["contractible"], "solver": DEFAULT_SOLVER}, types_words="task-profile types "
    "(types.w lists them)")
