r"""Generic multidimensional screening (issue 14): D-dimensional discrete types and a convex cost.

Types :math:`v_n \in \mathbb R^D_+` with probabilities :math:`f_n` buy allocations
:math:`q_n \in \mathbb R^D_+` at transfers :math:`t_n`; the seller's cost :math:`c(q)` comes from the cost
library of :mod:`mechdesign.settings.vector_costs`. The program is the engine's linear screening program
(:mod:`mechdesign.engine.program`, written in rent variables):

.. math::
    \max_{q \ge 0,\,t} \sum_n f_n (t_n - c(q_n))\quad\text{s.t.}\quad
    v_n\cdot q_n - t_n \ge v_n\cdot q_m - t_m\ \ (n, m),\qquad v_n\cdot q_n - t_n \ge 0,

the discrete form of Rochet and Choné (1998) — the paper's contractible program (BBS Appendix B) with
arbitrary type points and costs. Every menu is audited against all :math:`N^2` IC pairs and certified by
the Lagrangian bound of :mod:`mechdesign.engine.certificate` with the cost's exact conjugate. Results
report the three regions of multidimensional screening: *exclusion* (the null item), *bunching* (an item
shared with other types) and *separation* (an item of one's own).

The allocation domain is the cost's: :math:`\mathbb R^D_+` for the strictly convex costs, all of
:math:`\mathbb R^D` for a quadratic cost free in sign (``domain = "free"``), and the box :math:`[0, 1]^D`
(bundling: Manelli and Vincent 2006) or the simplex (lotteries over goods) for a linear cost, whose program
is a linear program finished at a simplex vertex (:func:`~mechdesign.settings.vector_pipeline.solve_vertex_certify`).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np
import pandas as pd

from mechdesign import _validate as V
from mechdesign.engine.audit import ACTIVE_TOL, AUDIT_RTOL, AuditReport, audit_menu
from mechdesign.engine.certificate import Certificate, null_menu_certificate
from mechdesign.engine.program import ScreeningProgram
from mechdesign.exceptions import ProblemSpecError, UncertifiedWarning
from mechdesign.problemreaders import file_source, solve_defaults
from mechdesign.problemtables import number_matrix, only_keys, required_key, subtable, technology_from_table
from mechdesign.settings.base import DEFAULT_IC, DEFAULT_SOLVER, SolveOptions, decide_status, resolves_options
from mechdesign.settings.costs import check_units
from mechdesign.settings.results import ResultBase, contract, multiplier_binding
from mechdesign.settings.spec import SettingSpec
from mechdesign.settings.vector_costs import (
    LINEAR_DOMAINS,
    QUADRATIC_DOMAINS,
    LinearCost,
    QuadraticCost,
    SeparablePowerCost,
    TokenTechnologyCost,
    units,
)
from mechdesign.settings.vector_pipeline import solve_audit_certify, solve_vertex_certify

FloatArray = np.ndarray

#: the cost families of a problem file's ``[cost]`` table
COST_KINDS = ("quadratic", "power", "tokens", "linear")
#: IC strategies of the multidimensional program (types are vectors: no 'local')
IC_STRATEGIES = ("all", "adaptive")
#: regions of multidimensional screening (Rochet and Choné 1998)
REGIONS = ("exclusion", "bunching", "separation")
#: two items are the same when they differ by at most this share of the largest allocation and the
#: largest transfer (bunching); an item is the null item below it (exclusion)
REGION_RTOL = 1e-6
#: the most type points a multidimensional problem may have (its all-pairs audit is O(N^2 D))
MAX_POINTS = 40_000


class VectorCost(Protocol):
    """The cost-model protocol of :mod:`mechdesign.settings.vector_costs` (written out there)."""

    @property
    def dim(self) -> int: ...

    def describe(self) -> str: ...

    def to_dict(self) -> dict[str, object]: ...

    def build(self, a: Any) -> tuple[list[Any], Any, dict[str, Any]]: ...

    def value(self, q: FloatArray) -> FloatArray: ...

    def smooth_cost(self, a: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]: ...

    def scaled(self, q_ref: Any, money: float) -> VectorCost: ...  # q_ref: a float, or one per dimension

    def conjugate(self, s: FloatArray, f: FloatArray) -> FloatArray: ...


@dataclass(frozen=True)
class VectorTypes:
    """D-dimensional discrete types: points ``(N, D)`` (non-negative) and probabilities ``(N,)``.

    ``grid`` records the grid shape when the types were built by :meth:`grid` (for plots)."""

    points: FloatArray
    prob: FloatArray
    grid_shape: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        pts = np.asarray(self.points, dtype=float)
        pts = pts[:, None] if pts.ndim == 1 else pts
        if pts.ndim != 2 or pts.shape[0] < 1 or pts.shape[1] < 1:
            raise ProblemSpecError("types.points", pts.shape, "must be a list of N points with D >= 1 coordinates each")
        if not np.all(np.isfinite(pts)) or np.any(pts < 0):
            raise ProblemSpecError("types.points", float(pts.min()),
                                   "must be finite and non-negative (values of each good)")
        if pts.shape[0] > MAX_POINTS:
            raise ProblemSpecError("types.points", pts.shape[0], f"at most {MAX_POINTS:,} types (the all-pairs "
                                   f"audit compares N^2 = {pts.shape[0] ** 2:.2g} pairs)")
        prob = V.positive_vector("types.prob", self.prob, length=pts.shape[0])
        prob = prob / prob.sum() if self.grid_shape is not None else V.weights("types.prob", prob)
        object.__setattr__(self, "points", pts)
        object.__setattr__(self, "prob", prob)

    @classmethod
    def grid(cls, lo: Any, hi: Any, n: Any, weights: Any = None) -> VectorTypes:
        """Cell midpoints of a regular grid on the box ``[lo, hi]`` with ``n[d]`` cells per dimension.

        ``weights`` (optional, one per cell in row-major order) is the density's mass of each cell,
        normalised; uniform otherwise (Rochet and Choné's types uniform on :math:`[1, 2]^2`)."""
        lo_a = np.atleast_1d(np.asarray(lo, dtype=float))
        hi_a = np.atleast_1d(np.asarray(hi, dtype=float))
        counts = [V.integer("types.grid.n", k, 1, MAX_POINTS) for k in np.atleast_1d(n).tolist()]
        if not (lo_a.size == hi_a.size == len(counts)):
            raise ProblemSpecError("types.grid", {"lo": lo_a.tolist(), "hi": hi_a.tolist(), "n": counts},
                                   "lo, hi and n must have one entry per dimension")
        if not (np.all(np.isfinite(lo_a)) and np.all(np.isfinite(hi_a))) or np.any(lo_a < 0):
            raise ProblemSpecError("types.grid.lo", lo_a.tolist(),
                                   "must be finite and non-negative (values of each good)")
        if np.any(hi_a <= lo_a):
            raise ProblemSpecError("types.grid.hi", hi_a.tolist(),
                                   f"must exceed lo = {lo_a.tolist()} in every dimension")
        total = int(np.prod(counts))
        if total > MAX_POINTS:
            raise ProblemSpecError("types.grid.n", counts, f"gives {total:,} types; at most {MAX_POINTS:,}")
        axes = [lo_a[d] + (np.arange(k) + 0.5) * (hi_a[d] - lo_a[d]) / k for d, k in enumerate(counts)]
        pts = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(counts))
        prob = np.full(total, 1.0 / total) if weights is None else V.positive_vector(
            "types.weights", weights, length=total)
        return cls(pts, prob, tuple(counts))

    @property
    def n(self) -> int:
        return int(self.points.shape[0])

    @property
    def dim(self) -> int:
        return int(self.points.shape[1])


def regions(quality: FloatArray, transfer: FloatArray, rtol: float = REGION_RTOL) -> FloatArray:
    """Each type's region: ``exclusion`` (null item), ``bunching`` (item shared with another type) or
    ``separation`` (its own item), items compared to ``rtol`` of the largest allocation and transfer."""
    from scipy.spatial import cKDTree

    q = np.asarray(quality, dtype=float)
    t = np.asarray(transfer, dtype=float)
    qs = max(float(np.abs(q).max(initial=0.0)), 1e-300)
    ts = max(float(np.abs(t).max(initial=0.0)), 1e-300)
    items = np.column_stack([q / qs, t / ts])
    out = np.full(q.shape[0], "separation", dtype=object)
    pairs = cKDTree(items).query_pairs(rtol, p=np.inf, output_type="ndarray")
    out[np.unique(pairs.reshape(-1))] = "bunching"
    out[np.max(np.abs(items), axis=1) <= rtol] = "exclusion"
    return out


@dataclass
class MultiDimResult(ResultBase):
    """A certified multidimensional menu: allocations ``(N, D)``, transfers, regions, audit, certificate."""

    name: str
    types: VectorTypes
    cost_model: VectorCost
    quality: FloatArray
    transfer: FloatArray
    profit: float
    audit: AuditReport
    ic_pairs: FloatArray
    ic_duals: FloatArray
    ir_duals: FloatArray
    status: str
    certificate: Certificate | None
    solver: dict[str, object] = field(default_factory=dict)

    @property
    def prob(self) -> FloatArray:
        return self.types.prob

    @property
    def gross(self) -> FloatArray:
        return np.sum(self.types.points * self.quality, axis=1)

    @property
    def rent(self) -> FloatArray:
        return self.gross - self.transfer

    @property
    def cost(self) -> FloatArray:
        return self.cost_model.value(self.quality)

    @property
    def surplus(self) -> float:
        return float(self.prob @ (self.gross - self.cost))

    @property
    def consumer_surplus(self) -> float:
        return float(self.prob @ self.rent)

    @property
    def regions(self) -> FloatArray:
        return regions(self.quality, self.transfer)

    def region_counts(self) -> dict[str, int]:
        r = self.regions
        return {k: int(np.sum(r == k)) for k in REGIONS}

    @property
    def binding_pairs(self) -> FloatArray:
        """IC pairs of the final program with a multiplier above the audit's active tolerance."""
        return self.ic_pairs[self.ic_duals > ACTIVE_TOL]

    def to_frame(self) -> pd.DataFrame:
        """One row per type: probability, type coordinates, allocation, transfer, rent, cost, region."""
        D = self.types.dim
        cols: dict[str, Any] = {"prob": self.prob}
        cols.update({f"v{d + 1}": self.types.points[:, d] for d in range(D)})
        cols.update({f"q{d + 1}": self.quality[:, d] for d in range(D)})
        cols.update(transfer=self.transfer, rent=self.rent, cost=self.cost, region=self.regions)
        return pd.DataFrame(cols)

    def summary(self) -> str:
        counts = self.region_counts()
        lines = [(f"{self.name}: {self.types.n:,} types in {self.types.dim} dimensions, cost "
                 f"{self.cost_model.describe()}"),
                 (f"status {self.status}; profit {self.profit:.10g}; surplus {self.surplus:.10g}; consumer surplus "
                 f"{self.consumer_surplus:.10g}"),
                 (f"regions: {counts['exclusion']:,} excluded, {counts['bunching']:,} bunched, "
                 f"{counts['separation']:,} separated; {len(self.binding_pairs):,} binding IC pairs"),
                 (f"audit: max IC violation {self.audit.max_ic_violation_rel:.1e}, max IR violation "
                 f"{self.audit.max_ir_violation_rel:.1e} (relative; {'passed' if self.audit.passed else 'FAILED'})")]
        if self.certificate is not None:
            lines.append("certificate: " + self.certificate.line())
        times = self.solver.get("times") or {}
        if isinstance(times, dict) and times:
            lines.append(f"solver {self.solver.get('name')} ic={self.solver.get('ic')}: {self.solver.get('rounds')} "
                         f"rounds, {len(self.ic_pairs):,} IC pairs; times " +
                         ", ".join(f"{k} {v:.2f} s" for k, v in times.items()))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        reg = self.regions
        rows = [{"type": n, "prob": self.prob[n], "v": self.types.points[n], "quality": self.quality[n],
                 "transfer": self.transfer[n], "rent": self.rent[n], "cost": self.cost[n], "region": reg[n]}
                for n in range(self.types.n)]
        binding = multiplier_binding(self.ic_pairs, self.ic_duals, self.ir_duals, self.rent, self.gross)
        problem = {"name": self.name, "kind": "multidim", "dim": self.types.dim, "n": self.types.n,
                   "grid": list(self.types.grid_shape) if self.types.grid_shape else None,
                   "cost": self.cost_model.to_dict()}
        return contract(problem, self.status, self.profit, self.surplus, self.consumer_surplus, rows, binding,
                        self.audit.to_dict(), None if self.certificate is None else self.certificate.to_dict(),
                        self.solver, None, None, regions=self.region_counts(), options=dict(self.options))

    def sweep_row(self) -> dict[str, object]:
        return {f"n_{k}": v for k, v in self.region_counts().items()}


def _check_dims(cost: VectorCost, types: VectorTypes) -> None:
    if cost.dim != types.dim:
        raise ProblemSpecError("cost", cost.describe(), f"is a cost of {cost.dim}-dimensional allocations but the "
                               f"types have D = {types.dim} coordinates; give one entry per dimension")


def solve_multidim(types: VectorTypes, cost: VectorCost, ic: str = DEFAULT_IC["multidim"], solver: str = DEFAULT_SOLVER,
                   name: str = "multidimensional problem", time_limit: float | None = None,
                   solver_options: dict[str, object] | None = None, verbose: bool = False) -> MultiDimResult:
    r"""Solve, audit and certify the multidimensional screening program.

    Units: allocations in units of the top type's efficient allocation (largest entry; one unit per dimension
    for :class:`SeparablePowerCost`, see its ``units``), money in its efficient gross payoff, so that
    allocations and payoffs are of order one (:meth:`VectorCost.scaled`).

    Parameters
    ----------
    ic : {"adaptive", "all"}
        Constraint generation from the all-pairs audit (default; first pairs: each type's nearest
        neighbours) or every IC pair written out.
    """
    ic = V.one_of("ic", ic, IC_STRATEGIES)
    _check_dims(cost, types)
    v, f = types.points, types.prob
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        q_ref, money = units(cost, v)
    if not np.any(v != 0):  # nobody values anything (values that merely underflow the units are refused below)
        return _null_result(types, cost, name, ic)
    _check_units(types, cost, q_ref, money)
    model = cost.scaled(q_ref, money)
    values = v * (q_ref / money)
    prog = ScreeningProgram(values, f, model)
    t0 = time.perf_counter()
    if getattr(model, "linear", False):  # a linear program: finished at a simplex vertex
        done = solve_vertex_certify(prog, v, q_ref, money, model, "multidimensional", "; try ic='all'",
                                    ic=ic, solver=solver, solver_options=solver_options, verbose=verbose,
                                    time_limit=time_limit)
    else:  # allocations free in sign: no polish (it holds the excluded types at the null item, whose virtual
        # values must then vanish, not merely be <= 0) and no Newton finish (its active set holds components at 0)
        extra = {"polish": False} if getattr(model, "signed", False) else {}
        done = solve_audit_certify(prog, v, q_ref, money, model.conjugate, lambda a, _sol: model.smooth_cost(a)[0],
                                   lambda a: model.smooth_cost(a)[1], "multidimensional", "; try ic='all'",
                                   ic=ic, solver=solver, solver_options=solver_options, verbose=verbose,
                                   time_limit=time_limit, **extra)
    sol, quality, transfer, audit, cert = done.sol, done.quality, done.transfer, done.audit, done.certificate
    status = decide_status(audit.passed, cert.passed)
    if status != "optimal":
        warnings.warn(f"the multidimensional menu is not certified optimal: {cert.line()}", UncertifiedWarning,
                      stacklevel=2)
    profit = float(f @ (transfer - cost.value(quality)))
    return MultiDimResult(name, types, cost, quality, transfer, profit, audit, sol.ic_pairs, sol.ic_duals,
                          sol.ir_duals, status, cert,
                          solver={"name": sol.solver, "status": sol.status, "ic": ic, "rounds": sol.rounds,
                                  "times": sol.times, "wall_s": time.perf_counter() - t0,
                                  "formulation": "rent variables" if prog.rent else "transfers (polished)",
                                  "units": {"quality": np.asarray(q_ref).tolist(), "money": money},
                                  **({"vertex": sol.solver_stats["vertex"]} if "vertex" in sol.solver_stats else {})})


def _check_units(types: VectorTypes, cost: VectorCost, q_ref: float | FloatArray, money: float) -> None:
    """Refuse types and costs whose top efficient allocation or payoff double precision cannot represent
    (the program's units; beyond them every type would be priced as excluded, a false "optimal")."""
    field = "types.points" if types.grid_shape is None else "types.grid.hi"
    for q in (float(np.min(q_ref)), float(np.max(q_ref))):  # one unit per dimension for some costs
        check_units(field, float(types.points.max()), q, money, f"these values with the cost {cost.describe()}")


def _null_result(types: VectorTypes, cost: VectorCost, name: str, ic: str) -> MultiDimResult:
    """No type values any good: the null menu is the (unique) optimum, without a solve."""
    N, D = types.n, types.dim
    q, t = np.zeros((N, D)), np.zeros(N)
    audit = audit_menu(types.points, q, t, rtol=AUDIT_RTOL)
    return MultiDimResult(name, types, cost, q, t, 0.0, audit, np.zeros((0, 2), dtype=int), np.zeros(0),
                          np.zeros(N), "optimal", null_menu_certificate(types.points, types.prob, audit),
                          solver={"name": None, "status": "optimal", "ic": ic, "rounds": 0, "times": {},
                                  "note": "no type values any good: the null menu is optimal (no solve)"})


@dataclass
class MultiDimProblem:
    """A generic multidimensional screening problem: vector types and a cost from the library."""

    types: VectorTypes
    cost: VectorCost
    name: str = "multidimensional problem"
    source: dict[str, object] = field(default_factory=dict)

    #: the problem-file kind and the solve options this setting honours
    kind: ClassVar[str] = "multidim"
    options: ClassVar[tuple[str, ...]] = ("ic", "solver", "solver_options", "time_limit", "verbose")

    def __post_init__(self) -> None:
        _check_dims(self.cost, self.types)

    @resolves_options
    def solve(self, options: SolveOptions | None = None, /, **kwargs: Any) -> MultiDimResult:
        """Solve, audit and certify (:func:`solve_multidim`).

        Options (a :class:`~mechdesign.settings.base.SolveOptions` and/or keywords): ``ic`` ('adaptive',
        the default, or 'all'), ``solver``, ``solver_options``, ``time_limit``, ``verbose``; any other
        option is refused. The problem file's ``[solve]`` table gives the options the caller does not."""
        o = SolveOptions.make(options, **kwargs)  # resolved by @resolves_options
        return solve_multidim(self.types, self.cost, ic=o.ic or DEFAULT_IC[self.kind],
                              solver=o.solver or DEFAULT_SOLVER, name=self.name, time_limit=o.time_limit,
                              solver_options=o.solver_options, verbose=o.verbose)


def read_multidim(data: Mapping[str, object], kind: str, name: str, source: str) -> MultiDimProblem:
    """The multidimensional problem of a parsed file: ``[types]`` (``points`` and ``prob``, or a ``grid`` on
    a box with optional cell ``weights``), ``[cost]`` (``quadratic`` A, ``power`` c and p, ``tokens``
    measures with a ``[technology]`` table, or ``linear`` k on a ``domain``, ``box`` or ``simplex``; a
    quadratic cost's ``domain`` is ``nonneg`` or ``free``, allocations free in sign) and ``[solve]``."""
    src = file_source(data, source)
    only_keys(data, ("problem", "types", "cost", "technology", "solve"), "")
    types_t = subtable(data, "types", "")
    if "grid" in types_t:
        only_keys(types_t, ("grid", "weights"), "types.")
        g = subtable(types_t, "grid", "types.")
        only_keys(g, ("lo", "hi", "n"), "types.grid.")
        counts = V.vector("types.grid.n", required_key(g, "n", "types.grid."))
        lo = V.vector("types.grid.lo", required_key(g, "lo", "types.grid."))
        if np.any(lo < 0):
            raise ProblemSpecError("types.grid.lo", g["lo"], "every entry must be >= 0 (types value the goods)")
        types = VectorTypes.grid(lo,
                                 V.vector("types.grid.hi", required_key(g, "hi", "types.grid.")),
                                 [V.integer("types.grid.n", k, 1) for k in counts.tolist()], types_t.get("weights"))
    else:
        only_keys(types_t, ("points", "prob"), "types.")
        types = VectorTypes(number_matrix(types_t, "points", "types."),
                            V.vector("types.prob", required_key(types_t, "prob", "types.")))
    cost_t = subtable(data, "cost", "")
    ckind = V.one_of("cost.kind", cost_t.get("kind", "quadratic"), COST_KINDS)
    if "domain" in cost_t and ckind not in ("linear", "quadratic"):  # power and token costs: q in R^D_+ only
        raise ProblemSpecError("cost.domain", cost_t["domain"], f"applies to cost.kind = \"linear\" (one of "
                               f"{list(LINEAR_DOMAINS)}) and \"quadratic\" (one of {list(QUADRATIC_DOMAINS)}) only; "
                               f"a {ckind} cost allocates q in R^D_+")
    if "technology" in data and ckind != "tokens":
        raise ProblemSpecError("technology", "[technology]", "applies to cost.kind = \"tokens\" only")
    cost: QuadraticCost | SeparablePowerCost | TokenTechnologyCost | LinearCost
    if ckind == "linear":
        only_keys(cost_t, ("kind", "k", "domain"), "cost.")
        domain = V.one_of("cost.domain", cost_t.get("domain", "box"), LINEAR_DOMAINS)
        k = V.vector("cost.k", cost_t.get("k", [0.0] * types.dim), length=types.dim)
        if np.any(k < 0):
            raise ProblemSpecError("cost.k", cost_t.get("k"), "every marginal cost must be >= 0")
        cost = LinearCost(k, domain)
    elif ckind == "quadratic":
        only_keys(cost_t, ("kind", "A", "domain"), "cost.")
        cost = QuadraticCost(number_matrix(cost_t, "A", "cost.") if "A" in cost_t else np.eye(types.dim),
                             V.one_of("cost.domain", cost_t.get("domain", "nonneg"), QUADRATIC_DOMAINS))
    elif ckind == "power":
        only_keys(cost_t, ("kind", "c", "p"), "cost.")
        cost = SeparablePowerCost(V.vector("cost.c", required_key(cost_t, "c", "cost.")),
                                  V.vector("cost.p", required_key(cost_t, "p", "cost.")))
    else:
        only_keys(cost_t, ("kind", "measures"), "cost.")
        tech, _, _ = technology_from_table(subtable(data, "technology", ""))
        mu = V.vector("cost.measures", cost_t.get("measures", [1.0 / types.dim] * types.dim), length=types.dim)
        cost = TokenTechnologyCost(tech, mu)
    solve_t = subtable(data, "solve", "", required=False)
    only_keys(solve_t, ("ic", "solver"), "solve.")
    if "ic" in solve_t:  # vector types: no 'local' strategy
        V.one_of("solve.ic", solve_t["ic"], IC_STRATEGIES)
    solve_defaults(data, src, types.n, MultiDimProblem.options, types)
    return MultiDimProblem(types, cost, name=name, source=src)


SPEC = SettingSpec(
    kind="multidim", word="multidimensional", problem=MultiDimProblem, result=MultiDimResult,
    reader=read_multidim, verbs=("solve", "plot", "sweep"), type_kinds=(),
    schema={"paper": "App. B, generic (Rochet-Choné)",
            "tables": "types (grid or points), cost, technology (cost.kind = tokens only), solve",
            "types": "no `kind`: `grid` or `points`",
            "keys": ("problem", "types", "cost", "technology", "solve"), "required": ("types", "cost"),
            "file": {"properties": {"types": {"$ref": "#/$defs/multidim_types"},
                                    "technology": {"$ref": "#/$defs/technology"},
                                    "solve": {"propertyNames": {"enum": ["ic", "solver"]},
                                              "properties": {"ic": {"enum": list(IC_STRATEGIES)}}}},
                     "if": {"properties": {"cost": {"properties": {"kind": {"const": "tokens"}},
                                                    "required": ["kind"]}}},
                     "then": {"required": ["technology"],
                              "properties": {"technology": {"properties": {"finetuning": {"properties": {
                                  "kind": {"enum": ["none", "ces"]}}}}}}},
                     "else": {"not": {"required": ["technology"]}}},
            "properties": {"cost": {"$ref": "#/$defs/cost",
                                    "description": "The seller's cost (multidimensional problems)."}},
            "defs": {},
            "sections": (("multidim_types", "types", "multidim"), ("grid", "types.grid", "multidim"),
                         ("cost", "cost", "multidim"))},
    defaults={"ic": DEFAULT_IC["multidim"], "solver": DEFAULT_SOLVER},
    types_words="vector types (types.grid.n sets the grid, or types.points lists them)", figure="types_2d")
