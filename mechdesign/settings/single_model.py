r"""Single-model screening problems (BBS §3-4): a technology and a type distribution -> optimal menu.

The numerical program (``SingleModelProblem.solve``) is the linear screening program of
:mod:`mechdesign.engine.program` with the buyer's payoff :math:`\theta Q - t` (Prop 2) and the cost of
quality written as token variables constrained by :math:`g(X_n, Z_n) \ge Q_n` (eq. 9):

.. math::
    \max_{Q, t, X, Z}\ \sum_n f_n\big(t_n - c\cdot X_n - \hat c\cdot Z_n\big)
    \ \text{s.t.}\ \theta_n Q_n - t_n \ge \theta_n Q_m - t_m,\ \theta_n Q_n - t_n \ge 0,\
    \Psi(X_n)\Phi(Z_n) \ge Q_n.

Units: quality is measured in units of the efficient quality of the top type and money in units
of :math:`\theta_{max}\bar Q`, token budgets in units of the cost-minimising budgets at
:math:`\bar Q` (these only set the scale the solver sees; the optimum does not depend on them).
The analytic side (:mod:`mechdesign.analytic`) is computed independently from the closed forms.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from mechdesign import _validate as V
from mechdesign.analytic.monopoly import ContinuousMenu, DiscreteMenu, continuous_menu, discrete_menu
from mechdesign.engine.audit import (
    ACTIVE_TOL,
    TIGHT_RTOL,
    BindingSets,
    audit_menu,
    tight_pairs,
)
from mechdesign.engine.certificate import Conjugate, lagrangian_certificate
from mechdesign.engine.chain import PowerCost, ScalarCost, chain_multipliers, solve_chain
from mechdesign.engine.finish import FINISH_TOLS, finish_scalar
from mechdesign.engine.program import ScreeningProgram
from mechdesign.exceptions import (
    AuditError,
    DiscretisationWarning,
    ProblemSpecError,
    SolverInaccurateWarning,
    TimeLimitError,
    UncertifiedWarning,
)
from mechdesign.problemreaders import TECHNOLOGY_FILE_SCHEMA, read_technology_file
from mechdesign.settings.base import (
    DEFAULT_IC,
    DEFAULT_N,
    DEFAULT_SOLVER,
    MAX_TYPES,
    SolveOptions,
    resolves_options,
)
from mechdesign.settings.comparisons import Comparison, compare_continuous, compare_discrete
from mechdesign.settings.costs import QualityCostModel, TokenCostModel, program_units
from mechdesign.settings.results import MenuResult
from mechdesign.settings.spec import ClosedForm, SettingSpec
from mechdesign.technology import Technology
from mechdesign.types import NEGLIGIBLE_MASS, DiscreteTypes, Distribution, TaskProfileTypes

FloatArray = np.ndarray

#: the full set of tight IC pairs is computed up to this many types (binding="auto"); the set is
#: quadratic in the size of the excluded block, and comparing it with theory dominates the wall time above this
FULL_BINDING_MAX_N = 1000
#: how the single-model program writes the technology (see :meth:`SingleModelProblem.solve`)
FORMULATIONS = ("auto", "quality", "tokens")
#: how the single-model problem is solved (see :meth:`SingleModelProblem.solve`)
METHODS = ("auto", "structured", "conic")


@dataclass
class SingleModelProblem:
    r"""A single-model token-budget screening problem (BBS §4, Prop 3).

    Parameters
    ----------
    technology : Technology
        :math:`g = \Psi\Phi` and token costs.
    types : DiscreteTypes, TaskProfileTypes or Distribution
        Scalar types with probabilities; task profiles (reduced by eq. 7); or a continuous
        distribution, discretised into ``n`` equal cells.
    n : int, optional
        Number of cells for a continuous distribution (default 200).
    name : str
        Used in summaries and JSON.
    inference_names, finetuning_names : list of str, optional
        Names of the token classes (default ``x1..xJ``, ``z1..zK``).
    """

    technology: Technology
    types: DiscreteTypes | TaskProfileTypes | Distribution
    n: int = DEFAULT_N
    name: str = "single-model problem"
    inference_names: list[str] = field(default_factory=list)
    finetuning_names: list[str] = field(default_factory=list)
    source: dict[str, object] = field(default_factory=dict)

    #: the problem-file kind and the solve options this setting honours
    kind: ClassVar[str] = "single_model"
    options: ClassVar[tuple[str, ...]] = ("n", "method", "ic", "solver", "solver_options", "formulation", "polish",
                                          "time_limit", "verbose", "compare", "binding", "audit_rtol")

    def __post_init__(self) -> None:
        self.n = V.integer("n", self.n, 2, MAX_TYPES)
        if not self.inference_names:
            self.inference_names = [f"x{j + 1}" for j in range(self.technology.J)]
        if not self.finetuning_names:
            self.finetuning_names = [f"z{k + 1}" for k in range(self.technology.K)]
        if len(self.inference_names) != self.technology.J:
            raise ProblemSpecError("inference.names", self.inference_names,
                                   f"must name each of the {self.technology.J} inference classes")
        if len(self.finetuning_names) != self.technology.K:
            raise ProblemSpecError("finetuning.names", self.finetuning_names,
                                   f"must name each of the {self.technology.K} fine-tuning classes")

    # ------------------------------------------------------------------ types
    def discrete_types(self, n: int | None = None) -> DiscreteTypes:
        """The scalar types the program is solved for (discretised if the types are continuous)."""
        if isinstance(self.types, DiscreteTypes):
            return self.types
        if isinstance(self.types, TaskProfileTypes):
            return self.types.aggregate(self.technology.sigma)[0]
        return self.types.discretize(self.n if n is None else n)

    def analytic(self, n: int | None = None) -> DiscreteMenu:
        """The exact optimal menu of the discrete problem (closed form; Prop 3, discrete).

        Refuses magnitudes that double precision cannot represent, as :meth:`solve` does."""
        types = self.discrete_types(n)
        if types.theta[-1] > 0:
            program_units(self.technology, float(types.theta[-1]))
        return discrete_menu(self.technology, types)

    def continuous(self) -> ContinuousMenu | None:
        """Prop 3's continuous-type menu, when the types are a continuous distribution."""
        if isinstance(self.types, Distribution):
            return continuous_menu(self.technology, self.types)
        return None

    def describe(self) -> dict[str, object]:
        """JSON-ready problem description."""
        types: dict[str, object]
        if isinstance(self.types, Distribution):
            types = {"distribution": self.types.describe(), "n": self.n}
        elif isinstance(self.types, TaskProfileTypes):
            types = {"task_profiles": len(self.types.prob), "segments": len(self.types.measures)}
        else:
            types = {"discrete": self.types.n}
        return {"kind": "single_model", "technology": self.technology.describe(), "types": types,
                "source": self.source}

    # ------------------------------------------------------------------ solve
    @resolves_options
    def solve(self, options: SolveOptions | None = None, /, **kwargs: Any) -> MenuResult:
        r"""Solve the discretised screening program, certify, audit, compare and report the menu.

        Options come as a :class:`~mechdesign.settings.base.SolveOptions` and/or keywords (all optional):

        Parameters
        ----------
        n : int, optional
            Number of cells (continuous distributions only; default ``self.n``).
        method : {'auto', 'structured', 'conic'}
            ``structured``: the exact chain solver of :mod:`mechdesign.engine.chain` (the relaxation with the
            local downward IC rows, the lowest IR row and monotonicity, solved exactly by pooling
            adjacent violators; :math:`O(N)`); ``conic``: the cvxpy program of
            :mod:`mechdesign.engine.program` with every constraint written out. ``auto`` (default):
            ``structured``, unless one of the conic program's options (``ic``, ``solver``,
            ``solver_options``, ``formulation``, ``polish``) is given. Either way the menu is audited
            against every IC pair and certified by a Lagrangian bound (:mod:`mechdesign.engine.certificate`).
        ic : {'adaptive', 'all', 'local'}, optional
            IC strategy of the conic program (default 'adaptive').
        solver : str, optional
            Any installed cvxpy conic solver (conic program; default Clarabel).
        binding : {'auto', 'full', 'local'}
            Compute the full set of tight IC pairs ('auto': when N <= 1000).
        compare : bool
            Compute the analytic menus and the comparison.
        audit_rtol : float
            Tolerance of the all-pairs audit, relative to the largest gross payoff.
        polish : bool, optional
            Conic program: re-solve at the final accuracy with the excluded types fixed, then refine
            (see :meth:`mechdesign.engine.program.ScreeningProgram.solve`), then the exact finish: the
            active set read from the solver's menu (its excluded types and exact pools) solved exactly
            and merged where out of order (:mod:`mechdesign.engine.finish`), kept when certified
            (``solver['finish']`` says what happened). Default True; False returns the solver's own menu.
        formulation : {'auto', 'quality', 'tokens'}, optional
            How the conic program writes the technology: ``tokens`` (token variables per type and
            :math:`\Psi(X)\Phi(Z) \ge Q`, eq. 9; independent of Lemma 3), ``quality`` (Lemma 3's
            :math:`C(Q) = C_0 Q^{1/(\sigma+\hat\sigma)}`, one cone per type, tokens recovered in closed form;
            several times faster), ``auto`` (``quality`` for homogeneous technologies, else ``tokens``).
        time_limit : float, optional
            Seconds; the conic program stops with :class:`TimeLimitError` when it runs out (the only
            use of the clock). Without it nothing depends on time.

        Returns
        -------
        MenuResult
            ``status`` is ``"optimal"`` only when the certificate holds (all-pairs audit, Lagrangian
            bound within :data:`mechdesign.engine.certificate.GAP_RTOL` of the profit), else ``"uncertified"``.

        Raises
        ------
        AuditError
            When the menu violates IC or IR by more than ``audit_rtol``.
        SolverError
            When the solver fails (infeasible, unbounded, error, time limit).
        ProblemSpecError
            Bad options, or magnitudes that double precision cannot represent.
        """
        o = SolveOptions.make(options, **kwargs)
        o.check("single_model", self.options)
        n, ic, solver, solver_options, formulation, polish = o.n, o.ic, o.solver, o.solver_options, o.formulation, o.polish
        method, time_limit, binding, compare, audit_rtol, verbose = (o.method, o.time_limit, o.binding, o.compare,
                                                                     o.audit_rtol, o.verbose)
        if n is not None and not isinstance(self.types, Distribution):
            raise ProblemSpecError("n", n, "sets the cells of a continuous type distribution; these types are "
                                   f"discrete ({self.discrete_types().n} types given)", "Drop n.")
        conic_opts = {"ic": ic, "solver": solver, "solver_options": solver_options, "formulation": formulation,
                      "polish": polish}
        given = [k for k, val in conic_opts.items() if val is not None]
        if method == "auto":
            method = "conic" if given else "structured"
        elif method == "structured" and given:
            raise ProblemSpecError(given[0], conic_opts[given[0]],
                                   "is an option of the conic program; drop it or use method='conic'")
        types = self.discrete_types(n)
        notes: list[str] = []
        if types.prob.min() < NEGLIGIBLE_MASS:
            msg = (f"{int(np.sum(types.prob < NEGLIGIBLE_MASS))} types have probability below "
                   f"{NEGLIGIBLE_MASS:g}; their items are pinned down only by other types' IC constraints")
            warnings.warn(msg, DiscretisationWarning, stacklevel=2)
            notes.append(msg)
        tech = self.technology
        theta, prob = types.theta, types.prob
        th_max = float(theta[-1])
        if th_max <= 0:
            raise ProblemSpecError("types.theta", theta.tolist(), "needs at least one type > 0")
        q_ref, money = program_units(tech, th_max)
        t0 = time.perf_counter()
        if method == "structured":
            cost = _scalar_cost(tech, q_ref, money)
            chain = solve_chain(theta / th_max, prob, cost)
            ir_mult = np.zeros(types.n)
            ir_mult[0] = 1.0  # the flow balance: the lowest type's IR row carries all the mass
            scaled = ScaledMenu(chain.allocation, chain.transfer, chain.pairs, chain.multipliers,
                                np.zeros(0), ir_mult)
            times = {"solve": time.perf_counter() - t0}
            if time_limit is not None and times["solve"] > time_limit:  # one pass, checked when it ends
                raise TimeLimitError(f"the structured solve of {types.n} types took {times['solve']:.3g} s, past "
                                     f"the time limit of {time_limit:g} s (time_limit / --time-limit); raise it "
                                     "or use fewer types")
            solver_info: dict[str, object] = {
                "name": "chain (pool adjacent violators)", "method": "structured", "status": "optimal",
                "ic": "chain relaxation (local downward IC, lowest IR, monotonicity)",
                "formulation": "quality" if tech.is_homogeneous else "cost function",
                "rounds": 1, "ic_pairs": len(chain.pairs), "pooling_merges": chain.merges,
            }
        else:
            ic = DEFAULT_IC[self.kind] if ic is None else ic
            formulation = V.one_of("formulation", "auto" if formulation is None else formulation, FORMULATIONS)
            if formulation == "auto":
                formulation = "quality" if tech.is_homogeneous else "tokens"
            cost_model = (QualityCostModel if formulation == "quality" else TokenCostModel)(tech, q_ref, money)
            program = ScreeningProgram(theta / th_max, prob, cost_model)
            with warnings.catch_warnings():  # the solver's own accuracy is not the verdict: the certificate is
                warnings.simplefilter("ignore", SolverInaccurateWarning)
                sol = program.solve(ic=ic, solver=DEFAULT_SOLVER if solver is None else solver,
                                    solver_options=solver_options, verbose=verbose,
                                    polish=True if polish is None else polish, time_limit=time_limit)
            scaled = ScaledMenu(sol.allocation[:, 0], sol.transfer, sol.ic_pairs, sol.ic_duals, sol.mono_duals,
                                sol.ir_duals)
            times = dict(sol.times)
            solver_info = {
                "name": sol.solver, "method": "conic", "status": sol.status, "ic": ic, "formulation": formulation,
                "rounds": sol.rounds, "ic_pairs": len(sol.ic_pairs), "objective_scaled": sol.objective,
                **sol.solver_stats,
            }
            if polish is not False:  # the exact finish (polish=False: the solver's own menu, unfinished)
                t1 = time.perf_counter()
                scaled, solver_info["finish"] = _exact_finish(theta / th_max, prob, scaled,
                                                              _scalar_cost(tech, q_ref, money))
                times["finish"] = time.perf_counter() - t1
            else:
                solver_info["finish"] = {"applied": False, "skipped": "polish=False: the solver's own menu"}
        solver_info["scaling"] = {"quality_unit": q_ref, "money_unit": money}
        return self._report(types, scaled, times, solver_info, notes, q_ref, money, binding, compare, audit_rtol)

    def _report(self, types: DiscreteTypes, scaled: ScaledMenu, times: dict[str, float],
                solver_info: dict[str, object], notes: list[str], q_ref: float, money: float, binding: str,
                compare: bool, audit_rtol: float) -> MenuResult:
        """Unscale, audit, certify, compare: the menu as a :class:`MenuResult`."""
        tech = self.technology
        theta, prob = types.theta, types.prob
        th_max = float(theta[-1])
        t0 = time.perf_counter()
        quality = scaled.allocation * q_ref
        transfer = scaled.transfer * money
        X, Z = tech.budgets(quality)
        cost = tech.token_cost(X, Z)
        audit = audit_menu(theta, quality, transfer, rtol=audit_rtol)
        times["audit"] = times.get("audit", 0.0) + time.perf_counter() - t0
        if not audit.passed:
            n_, m_ = audit.worst_ic
            raise AuditError(
                f"the menu from {solver_info['name']} (status {solver_info['status']}) fails the all-pairs "
                f"audit: max IC violation {audit.max_ic_violation_rel:.2e} (type {n_} prefers item {m_}), max IR "
                f"violation {audit.max_ir_violation_rel:.2e}, relative to the largest gross payoff; "
                f"tolerance {audit_rtol:g}. Try method='structured', ic='all', tighter solver_options or another solver."
            )
        t0 = time.perf_counter()
        scost = _scalar_cost(tech, q_ref, money)
        x = quality / q_ref
        pairs, lam, raw_min = chain_multipliers(theta / th_max, prob, x, scost)
        certificate = lagrangian_certificate(
            theta / th_max, prob, x, transfer / money, cost / money, pairs, lam, scost.conjugate, audit,
            scale=1.0, raw_min_multiplier=raw_min, method="chain multipliers derived from the menu (tail masses and monotonicity), "
                              "Lagrangian bound of the all-pairs program").in_units(money)
        times["certificate"] = time.perf_counter() - t0
        status = "optimal" if certificate.passed else "uncertified"
        if status != "optimal":
            msg = (f"the menu is not certified optimal: {certificate.line()}")
            warnings.warn(msg, UncertifiedWarning, stacklevel=3)
            notes.append(msg)
        rent = theta * quality - transfer
        atol = TIGHT_RTOL * audit.scale
        full = binding == "full" or (binding == "auto" and types.n <= FULL_BINDING_MAX_N)
        ic_tight = tight_pairs(theta, quality, transfer, atol) if full else None
        act = scaled.ic_duals > ACTIVE_TOL
        binding_sets = BindingSets(
            ic_tight=ic_tight,
            ic_active=scaled.ic_pairs[act],
            ic_active_duals=scaled.ic_duals[act],
            ir_tight=np.flatnonzero(rent <= atol),
            ir_active=np.flatnonzero(scaled.ir_duals > ACTIVE_TOL),
            ir_active_duals=scaled.ir_duals[scaled.ir_duals > ACTIVE_TOL],
            tight_atol=atol,
            active_tol=ACTIVE_TOL,
        )
        menu = pd.DataFrame({"theta": theta, "prob": prob, "quality": quality, "transfer": transfer,
                             "rent": rent})
        for j, name in enumerate(self.inference_names):
            menu[f"X_{name}"] = X[:, j]
        for k, name in enumerate(self.finetuning_names):
            menu[f"Z_{name}"] = Z[:, k]
        menu["cost"] = cost
        menu.index.name = "type"
        profit = float(prob @ (transfer - cost))
        surplus = float(prob @ (theta * quality - cost))

        analytic = cont = None
        comparison: Comparison | None = None
        if compare:
            analytic = discrete_menu(tech, types)
            comparison = compare_discrete(theta, quality, transfer, profit, binding_sets, scaled.ic_pairs,
                                          scaled.ic_duals, analytic)
            if isinstance(self.types, Distribution):
                cont = continuous_menu(tech, self.types)
                comparison.continuous = compare_continuous(theta, quality, transfer, profit, cont)
        solver_info["times"] = times
        return MenuResult(
            problem_name=self.name, problem_info=self.describe(), status=status, menu=menu,
            profit=profit, surplus=surplus, consumer_surplus=float(prob @ rent), audit=audit,
            binding=binding_sets, solver=solver_info, analytic=analytic, continuous=cont,
            comparison=comparison, notes=notes, certificate=certificate,
        )


def _exact_finish(theta: FloatArray, prob: FloatArray, scaled: ScaledMenu,
                  cost: ScalarCost) -> tuple[ScaledMenu, dict[str, object]]:
    """The conic program's menu finished exactly on its active set (:mod:`mechdesign.engine.finish`).

    The readings of :data:`~mechdesign.engine.finish.FINISH_TOLS` are tried in turn; the first finished
    menu that passes the all-pairs audit and whose Lagrangian bound certifies it (:data:`~mechdesign.engine.certificate.GAP_RTOL` of its profit) replaces
    the solver's menu, with the multipliers that certify it. Otherwise the solver's menu is kept and its
    own certificate decides its status.
    """
    solver_profit = float(prob @ (scaled.transfer - cost.value(scaled.allocation)))
    tried: dict[str, str] = {}
    for tol in FINISH_TOLS:
        fin = finish_scalar(theta, prob, scaled.allocation, cost, tol)
        x, t = fin.allocation, fin.transfer
        audit = audit_menu(theta, x, t)
        pairs, lam, raw_min = chain_multipliers(theta, prob, x, cost)
        cert = lagrangian_certificate(theta, prob, x, t, cost.value(x), pairs, lam, cost.conjugate, audit,
                                      scale=audit.scale, raw_min_multiplier=raw_min)
        if not cert.passed:  # (the solver's menu may earn more: it may violate IC by its tolerance)
            tried[f"pool_tol={tol:g}"] = cert.line()
            continue
        ir = np.zeros(theta.size)
        ir[0] = 1.0
        info: dict[str, object] = {"applied": True, **fin.info(), "gap_rel": cert.gap_rel,
                                   "profit_change": cert.profit - solver_profit,
                                   # the solver's own menu against the finished one (it may earn more by
                                   # violating IC within its tolerance): the conic program's own accuracy,
                                   # relative to the largest gross payoff (the scale its tolerances refer to)
                                   "solver_profit_rel": (solver_profit - cert.profit) / max(audit.scale, 1e-300)}
        if tried:
            info["rejected"] = tried
        return ScaledMenu(x, t, pairs, lam, np.zeros(0), ir), info
    return scaled, {"applied": False, "rejected": tried}


@dataclass
class ScaledMenu:
    """A solved menu in program units with the multipliers the binding sets report."""

    allocation: FloatArray
    transfer: FloatArray
    ic_pairs: FloatArray
    ic_duals: FloatArray
    mono_duals: FloatArray
    ir_duals: FloatArray


def _scalar_cost(tech: Technology, q_ref: float, money: float) -> ScalarCost:
    """The cost of quality :math:`C(Q)` (Lemma 3) in program units: quality / q_ref, money / money."""
    if tech.is_homogeneous:
        beta = tech.cost_exponent
        return PowerCost(float(np.exp(np.log(tech.C0) + beta * np.log(q_ref) - np.log(money))), beta)
    return TechnologyCost(tech, q_ref, money)


@dataclass(frozen=True)
class TechnologyCost:
    """:meth:`Technology.cost` (any technology, e.g. the baseline fine-tuning form) in program units."""

    tech: Technology
    q_ref: float
    money: float

    def value(self, x: FloatArray) -> FloatArray:
        return self.tech.cost(np.asarray(x) * self.q_ref) / self.money

    def marginal(self, x: FloatArray) -> FloatArray:
        return self.tech.marginal_cost(np.asarray(x) * self.q_ref) * (self.q_ref / self.money)

    def inverse_marginal(self, r: FloatArray) -> FloatArray:
        return self.tech.inverse_marginal_cost(np.asarray(r) * (self.money / self.q_ref)) / self.q_ref

    @property
    def conjugate(self) -> Conjugate:
        def conj(s: FloatArray, f: FloatArray) -> FloatArray:
            s = np.asarray(s, dtype=float).reshape(len(f), -1)[:, 0]
            x = self.inverse_marginal(s / f)
            return np.where(s > 0, s * x - f * self.value(x), 0.0)

        return conj


#: ``types.kind`` values a single-model file accepts
TYPE_KINDS = ("distribution", "discrete", "task_profiles", "separable", "joint")


def read_single_model(data: Mapping[str, object], kind: str, name: str, source: str) -> SingleModelProblem:
    """The single-model problem of a parsed file: ``[technology]``, ``[types]``, ``[solve]``."""
    f = read_technology_file(data, kind, source, TYPE_KINDS, SingleModelProblem.options)
    cells = {"n": f.n} if isinstance(f.types, Distribution) else {}  # n: the cells of a continuous distribution only
    assert isinstance(f.types, (DiscreteTypes, TaskProfileTypes, Distribution))
    return SingleModelProblem(f.technology, f.types, **cells, name=name, inference_names=f.inference_names,
                              finetuning_names=f.finetuning_names, source=f.source)


def closed_form(problem: SingleModelProblem, n: int | None) -> ClosedForm:
    """Prop 3: the exact discrete menu (and the continuous closed form for continuous types), for
    ``mechdesign analytic``."""
    menu = problem.analytic(n)
    tech = problem.technology
    table = pd.DataFrame({"theta": menu.types.theta, "prob": menu.types.prob, "virtual_value": menu.phi,
                          "ironed": menu.phi_bar, "quality": menu.quality, "transfer": menu.transfer,
                          "rent": menu.rent})
    for j, iname in enumerate(problem.inference_names):
        table[f"X_{iname}"] = menu.X[:, j]
    for k, fname in enumerate(problem.finetuning_names):
        table[f"Z_{fname}"] = menu.Z[:, k]
    table.index.name = "type"
    lines = [f"Exact discrete menu of {problem.name} (Prop 3, discrete virtual values, ironed)"]
    if tech.is_homogeneous:
        lines.append(f"C(Q) = {tech.C0:.10g} * Q^{tech.cost_exponent:.6g}  (Lemma 3)")
    lines.append(f"profit {menu.profit:.10g}, surplus {menu.surplus:.10g}, "
                 f"consumer surplus {menu.consumer_surplus:.10g}")
    low = menu.lowest_served
    lines.append("lowest served type: " + ("none" if low is None else f"{low} (theta = {menu.types.theta[low]:.6g})"))
    lines.append(f"pooled blocks (ironing): {menu.pooled_blocks or 'none'}")
    cont = problem.continuous()
    if cont is not None:
        lines.append(f"continuous closed form: exclusion cutoff {cont.cutoff:.8g}; ironing intervals "
                     f"{[(round(a, 6), round(b, 6)) for a, b in cont.pooled_intervals] or 'none'}; "
                     f"profit {cont.profit():.10g}")
    with pd.option_context("display.width", 140, "display.max_columns", 20, "display.float_format", "{:.6g}".format):
        shown = table if len(table) <= 20 else pd.concat([table.head(10), table.tail(10)])
        lines.append(shown.to_string())
    data = {"problem": {"name": problem.name, "kind": "single_model", "n": int(menu.types.n)},
            "analytic": {"kind": "Prop 3 (exact discrete menu, ironed virtual values)",
                         "profit": menu.profit, "surplus": menu.surplus,
                         "consumer_surplus": menu.consumer_surplus, "lowest_served": low,
                         "pooled_blocks": menu.pooled_blocks,
                         "cost": ({"C0": tech.C0, "exponent": tech.cost_exponent} if tech.is_homogeneous
                                  else None),
                         "continuous": (None if cont is None else
                                        {"cutoff": cont.cutoff, "pooled_intervals": cont.pooled_intervals,
                                         "profit": cont.profit()})},
            "menu": table.reset_index().to_dict(orient="records")}
    return ClosedForm("\n".join(lines), data, table)


SPEC = SettingSpec(
    kind="single_model", word="single-model", problem=SingleModelProblem, result=MenuResult,
    reader=read_single_model, verbs=("solve", "analytic", "price", "audit", "plot", "sweep"), type_kinds=TYPE_KINDS,
    schema={**TECHNOLOGY_FILE_SCHEMA, "paper": "§3-4", "tables": "technology, types, solve"},
    defaults={"n": DEFAULT_N, "ic": DEFAULT_IC["single_model"], "solver": DEFAULT_SOLVER, "method": "auto"},
    sweep_columns=("profit", "surplus", "consumer_surplus"), closed_form=closed_form, closed_form_table=True,
    figure="menu")
