r"""The multi-model screening program (BBS §5.2) with a certificate of global optimality.

The discretised problem :math:`\max \sum_n f_n(t_n - C(Q_n))` s.t. IC/IR on :math:`(Q_n, t_n)` is not
convex: :math:`C(Q) = \min_l \kappa_l Q^{1/(\sigma+\hat\sigma_l)}` (eq. 21) is a minimum of convex
functions. Letting each type randomise over models replaces :math:`C` by its convex envelope

.. math::
    \breve C(Q) = \min\Big\{\sum_l \kappa_l \lambda_l^{1-k_l} Q_l^{k_l} :
    \sum_l Q_l = Q,\ \sum_l \lambda_l = 1,\ \lambda \ge 0\Big\},\qquad k_l = 1/(\sigma+\hat\sigma_l),

(the perspective of each model's power cost, written with 3-D power cones), so the relaxed program is
convex and its optimum is an **upper bound** on the true optimum. The relaxed menu is feasible for the
true problem (the IC/IR constraints only involve :math:`(Q, t)`), so charging it the true cost
:math:`C(Q_n)` gives a **lower bound**. Where the relaxed solution puts a type on one model the two
costs coincide; otherwise every type is put on its heaviest model and that convex program is solved
for a better lower bound (the incumbent), and the type farthest from one model is branched on (restricted
to one model, then to the others: best-first branch and bound). The result reports both bounds and the
relative gap.
"""

from __future__ import annotations

import heapq
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import cvxpy as cp
import numpy as np
import pandas as pd

from mechdesign import _validate as V
from mechdesign.analytic.multimodel import ModelSpec, MultiModel
from mechdesign.engine.audit import AUDIT_RTOL, AuditReport, audit_menu
from mechdesign.engine.certificate import VIOLATION_RTOL
from mechdesign.engine.program import ScreeningProgram
from mechdesign.exceptions import AuditError, ProblemSpecError, SolverError, SolverInaccurateWarning
from mechdesign.problemreaders import read_section5_head
from mechdesign.problemtables import only_keys, required_key, subtable, technology_from_table
from mechdesign.settings.base import (
    BOUND_GAP_RTOL,
    DEFAULT_IC,
    DEFAULT_N,
    SolveOptions,
    decide_status,
    resolves_options,
)
from mechdesign.settings.costs import check_units
from mechdesign.settings.results import ResultBase, contract, scalar_binding
from mechdesign.settings.spec import ClosedForm, SettingSpec
from mechdesign.types import DiscreteTypes, Distribution

FloatArray = np.ndarray

#: a type is on one model when its largest weight exceeds 1 - this
INTEGRAL_TOL = 1e-6


#: the model column of an excluded type in tables and CSV (the JSON contract writes null)
EXCLUDED = "none"

@dataclass
class EnvelopeCostModel:
    """Convex-envelope cost of aggregate quality (scaled units); ``allowed[n, l]`` restricts models."""

    mm: MultiModel
    q_ref: float
    money_ref: float
    allowed: FloatArray

    def subset(self, active: FloatArray) -> EnvelopeCostModel:
        """The same model for the types in ``active`` (the polish fixes null types outside the program)."""
        return EnvelopeCostModel(self.mm, self.q_ref, self.money_ref, np.asarray(self.allowed)[active])

    def build(self, q: cp.Expression) -> tuple[list[cp.Constraint], cp.Expression, dict[str, cp.Variable]]:
        N = q.shape[0]
        L = self.mm.L
        Ql = cp.Variable((N, L), nonneg=True, name="Q_model")
        lam = cp.Variable((N, L), nonneg=True, name="weight")
        tl = cp.Variable((N, L), nonneg=True, name="cost_model")
        k = 1.0 / self.mm.degrees
        cons: list[cp.Constraint] = [cp.sum(Ql, axis=1) == q, cp.sum(lam, axis=1) == 1]
        banned = ~np.asarray(self.allowed, dtype=bool)
        if banned.any():
            cons.append(lam[banned] == 0)
        for l in range(L):
            # t >= Q^k lam^{1-k}  <=>  t^{1/k} lam^{1-1/k} >= Q  (perspective of Q^k)
            cons.append(cp.PowCone3D(tl[:, l], lam[:, l], Ql[:, l], 1.0 / k[l]))
        scale = self.mm.kappas * self.q_ref ** k / self.money_ref
        cost = tl @ scale
        return cons, cost, {"Q_model": Ql, "weight": lam}


@dataclass
class MultiModelResult(ResultBase):
    """A certified multi-model menu: per type the model, quality, transfer; bounds and gap.

    ``status`` is ``"optimal"`` when the all-pairs audit passes, no IC or IR row is violated beyond rounding
    (:data:`~mechdesign.engine.certificate.VIOLATION_RTOL` of the largest gross payoff, as for every certified
    menu) and the relative gap between the convex-envelope bound and the menu's profit is at most
    :data:`~mechdesign.settings.base.BOUND_GAP_RTOL`.
    """

    name: str
    types: DiscreteTypes
    model: FloatArray
    quality: FloatArray
    transfer: FloatArray
    upper_bound: float
    lower_bound: float
    nodes: int
    audit: AuditReport
    seconds: float
    model_names: list[str]
    analytic: dict[str, object] = field(default_factory=dict)
    comparison: dict[str, object] = field(default_factory=dict)
    cost: FloatArray | None = None
    ic: str = DEFAULT_IC["multimodel"]

    @property
    def gap(self) -> float:
        """Relative gap (upper - lower) / |upper| of the certificate."""
        return (self.upper_bound - self.lower_bound) / max(abs(self.upper_bound), 1e-300)

    @property
    def profit(self) -> float:
        return self.lower_bound

    @property
    def feasible(self) -> bool:
        """IC and IR hold to rounding (:data:`~mechdesign.engine.certificate.VIOLATION_RTOL`)."""
        return max(self.audit.max_ic_violation_rel, self.audit.max_ir_violation_rel) <= VIOLATION_RTOL

    @property
    def status(self) -> str:
        return decide_status(self.audit.passed and self.feasible, self.gap <= BOUND_GAP_RTOL)

    @property
    def rent(self) -> FloatArray:
        return self.types.theta * self.quality - self.transfer

    @property
    def surplus(self) -> float:
        cost = np.zeros_like(self.quality) if self.cost is None else self.cost
        return float(self.types.prob @ (self.types.theta * self.quality - cost))

    @property
    def consumer_surplus(self) -> float:
        return float(self.types.prob @ self.rent)

    @property
    def switch_types(self) -> list[float]:
        """Types where the menu's model changes (midpoint of the two grid types)."""
        th, m = self.types.theta, self.model
        return [float(0.5 * (th[i] + th[i + 1])) for i in range(len(m) - 1) if m[i] >= 0 and m[i + 1] != m[i]]

    def to_frame(self) -> pd.DataFrame:
        """The menu table as shown and written to CSV: excluded types buy from model ``"none"``."""
        return self.table().fillna({"model": EXCLUDED})

    def sweep_row(self) -> dict[str, object]:
        return {"gap": self.gap, "switch": self.switch_types[0] if self.switch_types else None}

    def to_dict(self) -> dict[str, object]:
        """JSON contract: menu rows carry the ``model``; ``analytic`` the switch types; bounds and gap."""
        rows = self.table().reset_index().to_dict(orient="records")
        return contract(
            {"name": self.name, "kind": "multimodel"}, self.status, self.profit, self.surplus, self.consumer_surplus,
            rows, scalar_binding(self.types.theta, self.quality, self.transfer, self.audit), self.audit.to_dict(),
            {"method": "convex-envelope relaxation (lotteries over models) + branch and bound", "passed":
             self.status == "optimal", "upper_bound": self.upper_bound,
             "lower_bound": self.lower_bound, "gap_rel": self.gap, "gap_rtol": BOUND_GAP_RTOL, "nodes": self.nodes,
             "violation_rtol": VIOLATION_RTOL},
            {"name": "CLARABEL (cvxpy)", "status": self.status, "ic": self.ic, "nodes": self.nodes,
             "times": {"solve": self.seconds}},
            self.analytic or None, self.comparison or None, switch_types_menu=self.switch_types,
            options=dict(self.options))

    def table(self) -> pd.DataFrame:
        names = [self.model_names[m] if m >= 0 else None for m in self.model]
        df = pd.DataFrame({"theta": self.types.theta, "prob": self.types.prob, "model": names,
                           "quality": self.quality, "transfer": self.transfer, "rent": self.rent})
        if self.cost is not None:
            df["cost"] = self.cost
        df.index.name = "type"
        return df

    def summary(self) -> str:
        c = self.comparison
        lines = [f"mechdesign multi-model menu (§5.2, certified): {self.name}  ({self.types.n} types)", "=" * 78,
                 f"status            {self.status}",
                 f"profit            {self.lower_bound:.10g} (menu at the true cost C, eq. 21)",
                 (f"upper bound       {self.upper_bound:.10g} (convex-envelope relaxation)   gap {self.gap:.2e} rel; "
                  f"{self.nodes} branch-and-bound node(s)"),
                 (f"audit             max IC violation {self.audit.max_ic_violation_rel:.2e} rel; "
                  f"{'PASS' if self.audit.passed else 'FAIL'}"),
                 f"model switches    {[round(s, 6) for s in self.switch_types]}"]
        if c:
            lines.append(f"vs Prop 6 (exact discrete): profit {c['profit_rel_error']:.2e}, quality "
                         f"{c['quality_rel_error']:.2e}, transfer {c['transfer_rel_error']:.2e}, models agree: "
                         f"{c['models_agree']}")
        with pd.option_context("display.width", 140, "display.float_format", "{:.6g}".format):
            lines += ["", self.to_frame().to_string(max_rows=24)]
        return "\n".join(lines)


def solve_multimodel(mm: MultiModel, types: DiscreteTypes, ic: str = DEFAULT_IC["multimodel"],
                     name: str = "multi-model problem", gap_tol: float = 1e-7, max_nodes: int = 40) -> MultiModelResult:
    """Best-first branch and bound on the convex-envelope relaxation (see the module docstring)."""
    t0 = time.perf_counter()
    th = types.theta
    top = float(th.max())
    with np.errstate(all="ignore"):
        q_ref = float(np.max(mm.efficient(np.array([top]))[1]))
        money = top * q_ref
    check_units("types / models.kappa", {"theta_max": top, "kappa": [m.kappa for m in mm.models]}, q_ref, money,
                "the types and the models' kappa")
    N, L = types.n, mm.L

    def solve_node(allowed: FloatArray) -> tuple[float, float, FloatArray, FloatArray, FloatArray]:
        prog = ScreeningProgram(th / top, types.prob, EnvelopeCostModel(mm, q_ref, money, allowed))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SolverInaccurateWarning)
            sol = prog.solve(ic=ic)
        if sol.status != "optimal":  # an inaccurate relaxation is no bound: treat the node as unexplored
            raise SolverError(f"relaxation solved only to reduced accuracy ({sol.status})")
        Q = sol.allocation[:, 0] * q_ref
        t = sol.transfer * money
        upper = sol.objective * money
        lower = float(types.prob @ (t - mm.cost(Q)))
        lam = sol.tokens["weight"].reshape(N, L)
        return upper, lower, Q, t, lam

    root = np.ones((N, L), dtype=bool)
    counter = 0
    heap: list[tuple[float, int, FloatArray]] = [(-np.inf, counter, root)]  # (-parent bound, id, allowed)
    best: tuple[float, FloatArray, FloatArray] | None = None
    closed: list[float] = []  # bounds of subtrees that were not split further
    nodes = 0
    while heap and nodes < max_nodes:
        neg_parent, _, allowed = heapq.heappop(heap)
        try:
            ub, lb, Q, t, lam = solve_node(allowed)
        except SolverError:
            closed.append(-neg_parent)  # unexplored subtree: only its parent's bound is known
            continue
        nodes += 1
        if best is None or lb > best[0]:
            best = (lb, Q, t)
        served = Q > 1e-9 * max(float(Q.max()), 1e-300)
        frac = served & (lam.max(axis=1) < 1 - INTEGRAL_TOL)
        if frac.any():  # incumbent: every type on its heaviest model, re-optimised (a convex program)
            fixed = np.zeros_like(allowed)
            fixed[np.arange(N), np.argmax(np.where(allowed, lam, -1.0), axis=1)] = True
            try:
                _, lb2, Q2, t2, _ = solve_node(fixed)
                if lb2 > best[0]:
                    best = (lb2, Q2, t2)
            except SolverError:
                pass
        if not frac.any() or ub - best[0] <= gap_tol * abs(ub):
            closed.append(ub)
            continue
        n = int(np.argmax(np.where(frac, 1 - lam.max(axis=1), -1)))
        for l in np.flatnonzero(allowed[n]):
            child = allowed.copy()
            child[n] = False
            child[n, l] = True
            counter += 1
            heapq.heappush(heap, (-ub, counter, child))
    if best is None:
        raise SolverError("every branch-and-bound node failed; try another solver")
    lb, Q, t = best
    global_ub = max([lb] + closed + [-h[0] for h in heap])
    audit = audit_menu(th, Q, t, rtol=AUDIT_RTOL)
    if not audit.passed:
        raise AuditError(f"the multi-model menu fails the all-pairs audit ({audit.max_ic_violation_rel:.2e} rel)")
    model = np.where(Q > 1e-9 * max(float(Q.max()), 1e-300), mm.cheapest_model(Q), -1)
    res = MultiModelResult(name, types, model, Q, t, float(global_ub), float(lb), nodes, audit,
                           time.perf_counter() - t0, [m.name or f"model{i}" for i, m in enumerate(mm.models)],
                           cost=mm.cost(Q), ic=ic)
    a_model, a_Q, a_t, a_margin = mm.discrete_monopoly(types)
    a_profit = float(types.prob @ a_margin)
    a_switch = [float(0.5 * (th[i] + th[i + 1])) for i in range(N - 1)
                if a_model[i] >= 0 and a_model[i + 1] != a_model[i]]
    res.analytic = {"kind": "Props 5-6", "profit": a_profit, "quality": a_Q, "transfer": a_t,
                    "switch_types": [s[0] for s in mm.switch_types()], "monopoly_switch_types": a_switch}
    res.comparison = {
        "profit_rel_error": abs(lb - a_profit) / max(abs(a_profit), 1e-300),
        "quality_rel_error": float(np.abs(Q - a_Q).max() / max(a_Q.max(), 1e-300)),
        "transfer_rel_error": float(np.abs(t - a_t).max() / max(np.abs(a_t).max(), 1e-300)),
        "models_agree": bool(np.array_equal(model, a_model)),
        "switch_cells_apart": (int(np.max(np.abs(np.searchsorted(th, res.switch_types)
                                                   - np.searchsorted(th, a_switch)))) if len(a_switch) == len(
            res.switch_types) and a_switch else (0 if not a_switch and not res.switch_types else None)),
    }
    return res


def _check_n(n: int | None, types: DiscreteTypes | Distribution) -> None:
    if n is not None and isinstance(types, DiscreteTypes):
        raise ProblemSpecError("n", n, "sets the cells of a continuous type distribution; these types are "
                               f"discrete ({types.n} types given)", "Drop n.")


def _discrete(types: DiscreteTypes | Distribution, n: int) -> DiscreteTypes:
    return types if isinstance(types, DiscreteTypes) else types.discretize(n)


@dataclass
class MultiModelProblem:
    """Several models sharing sigma (§5.1-5.2) and scalar types."""

    models: MultiModel
    types: DiscreteTypes | Distribution
    n: int = DEFAULT_N
    name: str = "multi-model problem"
    source: dict[str, object] = field(default_factory=dict)

    def analytic(self, n: int | None = None) -> dict[str, object]:
        """Prop 5's switch types and jump ratios, Prop 6's exact discrete menu (model per type)."""
        dt = _discrete(self.types, n or self.n)
        model, Q, t, margin = self.models.discrete_monopoly(dt)
        switches = self.models.switch_types()
        names = [m.name or f"model{i}" for i, m in enumerate(self.models.models)]
        return {
            "kind": "Props 5-6 (closed form)",
            "switch_types": [s[0] for s in switches],
            "switches": [{"theta": s[0], "from": names[s[1]], "to": names[s[2]],
                          "jump_ratio": self.models.jump_ratio(s[1], s[2])} for s in switches],
            "menu": [{"theta": float(th), "prob": float(p), "model": names[m] if m >= 0 else None,
                      "quality": float(q), "transfer": float(tt)}
                     for th, p, m, q, tt in zip(dt.theta, dt.prob, model, Q, t)],
            "profit": float(dt.prob @ margin),
        }

    #: the problem-file kind and the solve options this setting honours
    kind: ClassVar[str] = "multimodel"
    options: ClassVar[tuple[str, ...]] = ("n", "ic")

    @resolves_options
    def solve(self, options: SolveOptions | None = None, /, **kwargs: Any) -> MultiModelResult:
        """The certified numerical menu (convex-envelope relaxation + branch and bound).

        Options: ``n`` (cells of a continuous distribution), ``ic`` ('local', the default, 'all' or
        'adaptive'); any other is refused. The problem file's ``[solve]`` table gives the options the
        caller does not.
        """
        o = SolveOptions.make(options, **kwargs)  # resolved by @resolves_options
        _check_n(o.n, self.types)
        return solve_multimodel(self.models, _discrete(self.types, o.n or self.n), ic=o.ic or DEFAULT_IC[self.kind],
                                name=self.name)

    def report(self, n: int | None = None) -> str:
        an = self.analytic(n)
        table = pd.DataFrame(an["menu"])  # type: ignore[arg-type]
        monopoly_switch = [r["theta"] for r, nxt in zip(an["menu"], an["menu"][1:])  # type: ignore[call-overload, index]
                           if r["model"] is not None and nxt["model"] != r["model"]]
        lines = [f"mechdesign multi-model problem (closed forms, §5.1-5.2): {self.name}", "=" * 78,
                 f"monopoly model switch (Prop 6, last type on the lower model): {monopoly_switch}",
                 "efficient model switches (Prop 5): " + ", ".join(
                     f"{s['from']} -> {s['to']} at theta = {s['theta']:.6g} (quality jumps x{s['jump_ratio']:.4g})"
                     for s in an["switches"]),  # type: ignore[attr-defined]
                 f"monopoly profit (Prop 6, exact discrete menu): {an['profit']:.10g}", "",
                 "Menu (Prop 6):"]
        with pd.option_context("display.width", 140, "display.float_format", "{:.6g}".format):
            lines.append(table.fillna({"model": EXCLUDED}).to_string(max_rows=30))
        return "\n".join(lines)


#: ``types.kind`` values a multimodel file accepts
TYPE_KINDS = ("distribution", "discrete")


def read_multimodel(data: Mapping[str, object], kind: str, name: str, source: str) -> MultiModelProblem:
    """The multi-model problem of a parsed file: ``[technology] sigma``, ``[[models]]``, ``[types]``, ``[solve]``."""
    sigma, types, n, src = read_section5_head(data, kind, source, TYPE_KINDS, MultiModelProblem.options)
    only_keys(data, ("problem", "technology", "types", "models", "solve"), "")
    raw = required_key(data, "models", "")
    if not isinstance(raw, list) or not raw or not all(isinstance(m, Mapping) for m in raw):
        raise ProblemSpecError("models", raw, "must be a non-empty array of tables [[models]]")
    specs = []
    seen: dict[str, int] = {}
    for i, m in enumerate(raw):
        where = f"models[{i}]."
        mname = str(m.get("name", f"model{i}"))
        if mname in seen:
            raise ProblemSpecError(where + "name", mname, f"must be distinct: models[{seen[mname]}] has the "
                                   "same name (menus would not say which model a type buys)")
        seen[mname] = i
        if "technology" in m:  # a full technology: (sigma_hat, kappa = C0) by Lemma 3
            only_keys(m, ("name", "technology"), where)
            tt = dict(subtable(m, "technology", where))
            if "sigma" in tt and abs(V.as_float(where + "technology.sigma", tt["sigma"]) - sigma) > 1e-12:
                raise ProblemSpecError(where + "technology.sigma", tt["sigma"],
                                       f"must equal technology.sigma = {sigma:g} (§5: models share sigma)")
            tt["sigma"] = sigma
            tech, _, _ = technology_from_table(tt)
            if not tech.is_homogeneous:
                raise ProblemSpecError(where + "technology.finetuning.kind", "baseline",
                                       "must be none or ces (Assumption 1: homogeneous fine-tuning)")
            specs.append(ModelSpec.from_technology(tech, mname))
            continue
        only_keys(m, ("name", "sigma_hat", "kappa"), where)
        specs.append(ModelSpec(V.as_float(where + "sigma_hat", required_key(m, "sigma_hat", where)),
                               V.positive(where + "kappa", required_key(m, "kappa", where)), mname))
    assert isinstance(types, (DiscreteTypes, Distribution))
    return MultiModelProblem(MultiModel(sigma, tuple(specs)), types, n=n, name=name, source=src)


def closed_form(problem: MultiModelProblem, n: int | None) -> ClosedForm:
    """Props 5-6: switch types, jump ratios and the exact discrete menu, for ``mechdesign analytic``."""
    return ClosedForm(problem.report(n), {"problem": {"name": problem.name, "kind": "multimodel"},
                                          "analytic": problem.analytic(n)})


SPEC = SettingSpec(
    kind="multimodel", word="multi-model", problem=MultiModelProblem, result=MultiModelResult,
    reader=read_multimodel, verbs=("solve", "analytic", "plot", "sweep"), type_kinds=TYPE_KINDS,
    schema={"paper": "§5.1-5.2", "tables": "technology (sigma), [[models]], types, solve",
            "keys": ("problem", "technology", "types", "models", "solve"),
            "required": ("technology", "types", "models"),
            "file": {"properties": {"technology": {"$ref": "#/$defs/technology_sigma"},
                                    "types": {"$ref": "#/$defs/types"}}},
            "properties": {"models": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/model"},
                                      "description": "The models (multimodel problems)."}},
            "defs": {},
            "sections": (("technology_sigma", "technology", "multimodel, leader_fringe"),
                         ("model", "models", "multimodel"))},
    defaults={"n": DEFAULT_N, "ic": DEFAULT_IC["multimodel"]}, sweep_columns=("profit", "gap", "switch"),
    closed_form=closed_form)
