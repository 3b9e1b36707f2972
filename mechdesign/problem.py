r"""Single-model screening problems (BBS §3-4): a technology and a type distribution -> optimal menu.

The numerical program (``SingleModelProblem.solve``) is the linear screening program of
:mod:`mechdesign.program` with the buyer's payoff :math:`\theta Q - t` (Prop 2) and the cost of
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
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import _validate as V
from .analytic.monopoly import ContinuousMenu, DiscreteMenu, continuous_menu, discrete_menu
from .audit import (
    ACTIVE_TOL,
    AUDIT_RTOL,
    TIGHT_RTOL,
    BindingSets,
    audit_menu,
    tight_pairs,
)
from .compare import Comparison, compare_continuous, compare_discrete
from .conic import QualityCostModel, TokenCostModel
from .exceptions import AuditError, DiscretisationWarning, ProblemSpecError
from .program import ScreeningProgram
from .results import MenuResult
from .technology import Technology
from .types import NEGLIGIBLE_MASS, DiscreteTypes, Distribution, TaskProfileTypes

FloatArray = np.ndarray

#: the full set of tight IC pairs is computed up to this many types (binding="auto"); the set is
#: quadratic in the size of the excluded block, and comparing it with theory dominates the wall time above this
FULL_BINDING_MAX_N = 1000
#: how the single-model program writes the technology (see :meth:`SingleModelProblem.solve`)
FORMULATIONS = ("auto", "quality", "tokens")


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
    n: int = 200
    name: str = "single-model problem"
    inference_names: list[str] = field(default_factory=list)
    finetuning_names: list[str] = field(default_factory=list)
    source: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.n = V.integer("n", self.n, 2)
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
        """The exact optimal menu of the discrete problem (closed form; Prop 3, discrete)."""
        return discrete_menu(self.technology, self.discrete_types(n))

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
    def solve(self, n: int | None = None, ic: str = "adaptive", solver: str = "CLARABEL",
              solver_options: dict[str, object] | None = None, verbose: bool = False,
              binding: str = "auto", compare: bool = True, audit_rtol: float = AUDIT_RTOL,
              polish: bool = True, formulation: str = "auto", time_limit: float | None = None) -> MenuResult:
        r"""Solve the discretised screening program and audit, compare and report the menu.

        Parameters
        ----------
        n : int, optional
            Number of cells (continuous distributions only; default ``self.n``).
        ic : {'adaptive', 'all', 'local'}
            IC strategy (see :mod:`mechdesign.program`).
        solver : str
            Any installed cvxpy conic solver (default Clarabel).
        binding : {'auto', 'full', 'local'}
            Compute the full set of tight IC pairs ('auto': when N <= 1000).
        compare : bool
            Compute the analytic menus and the comparison.
        audit_rtol : float
            Tolerance of the all-pairs audit, relative to the largest gross payoff.
        polish : bool
            Re-solve at the final accuracy with the excluded types fixed, then refine (see
            :meth:`mechdesign.program.ScreeningProgram.solve`).
        formulation : {'auto', 'quality', 'tokens'}
            How the program writes the technology: ``tokens`` (token variables per type and
            :math:`\Psi(X)\Phi(Z) \ge Q`, eq. 9; independent of Lemma 3), ``quality`` (Lemma 3's
            :math:`C(Q) = C_0 Q^{1/(\sigma+\hat\sigma)}`, one cone per type, tokens recovered in closed form;
            several times faster), ``auto`` (``quality`` for homogeneous technologies, else ``tokens``).
        time_limit : float, optional
            Seconds the solve may take (:class:`~mechdesign.exceptions.TimeLimitError` when they run
            out; see :meth:`mechdesign.program.ScreeningProgram.solve`). Default: no limit.

        Raises
        ------
        AuditError
            When the menu violates IC or IR by more than ``audit_rtol``.
        SolverError
            When the solver fails (infeasible, unbounded, error).
        """
        binding = V.one_of("binding", binding, ("auto", "full", "local"))
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
        q_ref = float(tech.efficient_quality(np.array([th_max]))[0])
        money = th_max * q_ref
        formulation = V.one_of("formulation", formulation, FORMULATIONS)
        if formulation == "auto":
            formulation = "quality" if tech.is_homogeneous else "tokens"
        cost_model = (QualityCostModel if formulation == "quality" else TokenCostModel)(tech, q_ref, money)
        program = ScreeningProgram(theta / th_max, prob, cost_model)
        sol = program.solve(ic=ic, solver=solver, solver_options=solver_options, verbose=verbose, polish=polish,
                            time_limit=time_limit)

        t0 = time.perf_counter()
        quality = sol.allocation[:, 0] * q_ref
        transfer = sol.transfer * money
        X, Z = cost_model.unscale(sol.tokens)
        X, Z, rescale = _tighten_tokens(tech, quality, X, Z)
        if rescale > 1e-6:
            notes.append(f"token budgets rescaled by up to {rescale:.2e} so that g(X, Z) = Q exactly "
                         "(the solver leaves slack where it barely moves profit: near the exclusion cutoff, or types of negligible mass)")
        cost = tech.token_cost(X, Z)
        delivered = tech.gain(X, Z if tech.K else None)
        audit = audit_menu(theta, delivered, transfer, rtol=audit_rtol)
        times = dict(sol.times)
        times["audit"] = times.get("audit", 0.0) + time.perf_counter() - t0
        if not audit.passed:
            n_, m_ = audit.worst_ic
            raise AuditError(
                f"the menu from {sol.solver} (status {sol.status}) fails the all-pairs audit: max IC "
                f"violation {audit.max_ic_violation_rel:.2e} (type {n_} prefers item {m_}), max IR "
                f"violation {audit.max_ir_violation_rel:.2e}, relative to the largest gross payoff; "
                f"tolerance {audit_rtol:g}. Try ic='all', tighter solver_options or another solver."
            )
        rent = theta * delivered - transfer
        atol = TIGHT_RTOL * audit.scale
        full = binding == "full" or (binding == "auto" and types.n <= FULL_BINDING_MAX_N)
        ic_tight = tight_pairs(theta, delivered, transfer, atol) if full else None
        act = sol.ic_duals > ACTIVE_TOL
        binding_sets = BindingSets(
            ic_tight=ic_tight,
            ic_active=sol.ic_pairs[act],
            ic_active_duals=sol.ic_duals[act],
            ir_tight=np.flatnonzero(rent <= atol),
            ir_active=np.flatnonzero(sol.ir_duals > ACTIVE_TOL),
            ir_active_duals=sol.ir_duals[sol.ir_duals > ACTIVE_TOL],
            tight_atol=atol,
            active_tol=ACTIVE_TOL,
        )
        menu = pd.DataFrame({"theta": theta, "prob": prob, "quality": delivered, "transfer": transfer,
                             "rent": rent})
        for j, name in enumerate(self.inference_names):
            menu[f"X_{name}"] = X[:, j]
        for k, name in enumerate(self.finetuning_names):
            menu[f"Z_{name}"] = Z[:, k]
        menu["cost"] = cost
        menu.index.name = "type"
        profit = float(prob @ (transfer - cost))
        surplus = float(prob @ (theta * delivered - cost))

        analytic = cont = None
        comparison: Comparison | None = None
        if compare:
            analytic = discrete_menu(tech, types)
            comparison = compare_discrete(theta, delivered, transfer, profit, binding_sets, sol.ic_pairs,
                                          sol.ic_duals, analytic)
            if isinstance(self.types, Distribution):
                cont = continuous_menu(tech, self.types)
                comparison.continuous = compare_continuous(theta, delivered, transfer, profit, cont)
        solver_info: dict[str, object] = {
            "name": sol.solver, "status": sol.status, "ic": ic, "formulation": formulation, "rounds": sol.rounds,
            "ic_pairs": len(sol.ic_pairs), "objective_scaled": sol.objective,
            "times": times, **sol.solver_stats,
            "scaling": {"quality_unit": q_ref, "money_unit": money},
        }
        return MenuResult(
            problem_name=self.name, problem_info=self.describe(), status=sol.status, menu=menu,
            profit=profit, surplus=surplus, consumer_surplus=float(prob @ rent), audit=audit,
            binding=binding_sets, solver=solver_info, analytic=analytic, continuous=cont,
            comparison=comparison, notes=notes,
        )


def _tighten_tokens(tech: Technology, quality: FloatArray, X: FloatArray,
                    Z: FloatArray) -> tuple[FloatArray, FloatArray, float]:
    r"""Rescale inference budgets so that :math:`g(X_n, Z_n) = Q_n` exactly.

    :math:`\Psi` is homogeneous of degree :math:`\sigma`, so multiplying :math:`X_n` by
    :math:`(Q_n/g_n)^{1/\sigma}` hits :math:`Q_n`. The solver leaves :math:`g > Q` (wasted tokens)
    only where the waste is below its tolerance, i.e. for types of negligible mass, and
    :math:`g < Q` only by its feasibility tolerance. Types with :math:`Q_n = 0` get no tokens.
    Returns the new budgets and the largest relative change of any budget.
    """
    X = np.maximum(X, 0.0)
    Z = np.maximum(Z, 0.0)
    g = tech.gain(X, Z if tech.K else None)
    served = (quality > 0) & (g > 0)
    factor = np.ones_like(quality)
    factor[served] = (quality[served] / g[served]) ** (1.0 / tech.sigma)
    X = X * factor[:, None]
    X[~served] = 0.0
    if tech.K:
        Z = Z.copy()
        Z[quality <= 0] = 0.0
    change = float(np.max(np.abs(factor[served] - 1.0), initial=0.0))
    return X, Z, change
