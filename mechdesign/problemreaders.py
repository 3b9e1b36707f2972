"""The readers of whole problem files, one per family of settings: technology files (single-model,
contractible, value-scale), §5 files (multimodel, leader-fringe) and multidimensional files, with the
``[solve]`` defaults they share.

:data:`mechdesign.problemfile.REGISTRY` maps each ``problem.kind`` to its reader; the tables inside a file
are read by :mod:`mechdesign.problemtables`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from mechdesign import _validate as V
from mechdesign.analytic.leader_fringe import LeaderFringe
from mechdesign.analytic.multimodel import ModelSpec, MultiModel
from mechdesign.analytic.value_scale import ValueScaleTypes
from mechdesign.engine.program import IC_STRATEGIES
from mechdesign.exceptions import ProblemSpecError
from mechdesign.problemtables import (
    number_matrix,
    only_keys,
    required_key,
    subtable,
    technology_from_table,
    type_count,
    types_from_table,
)
from mechdesign.settings.contractible import ContractibleProblem
from mechdesign.settings.leader_fringe import LeaderFringeProblem
from mechdesign.settings.multidim import IC_STRATEGIES as MULTIDIM_IC
from mechdesign.settings.multidim import MultiDimProblem, VectorTypes
from mechdesign.settings.multimodel import MultiModelProblem
from mechdesign.settings.single_model import SingleModelProblem
from mechdesign.settings.value_scale import ValueScaleProblem
from mechdesign.settings.vector_costs import QuadraticCost, SeparablePowerCost, TokenTechnologyCost
from mechdesign.types import DiscreteTypes, Distribution, TaskProfileTypes

#: types.kind values each problem kind accepts
TYPE_KINDS = {"single_model": ("distribution", "discrete", "task_profiles", "separable", "joint"),
              "contractible": ("task_profiles", "separable", "joint"),
              "value_scale": ("value_scale",),
              "multimodel": ("distribution", "discrete"),
              "leader_fringe": ("distribution",),
              "multidim": ("points", "grid")}
Problem = (SingleModelProblem | ContractibleProblem | ValueScaleProblem | MultiModelProblem | LeaderFringeProblem
           | MultiDimProblem)


def read_technology_problem(data: Mapping[str, object], kind: str, name: str, source: str) -> Problem:
    """Single-model, contractible and value-scale files: ``[technology]``, ``[types]``, ``[solve]``."""
    meta = subtable(data, "problem", "", required=False)
    only_keys(data, ("problem", "technology", "types", "solve"), "")
    tech_t = subtable(data, "technology", "")
    tech, inames, fnames = technology_from_table(tech_t)
    types_t = subtable(data, "types", "")
    tkind = types_t.get("kind", "distribution")
    if tkind not in TYPE_KINDS[kind]:
        raise ProblemSpecError("types.kind", tkind, f"must be one of {', '.join(TYPE_KINDS[kind])} for "
                               f"problem.kind = {kind!r} (see docs/problem-files.md)")
    types, n = types_from_table(types_t, tech.sigma)
    src: dict[str, object] = {"file": source, "description": str(meta.get("description", ""))}
    n = _solve_defaults(data, src, n, kind, types)
    if isinstance(types, ValueScaleTypes):
        return ValueScaleProblem(tech, types, name=name, source=src)
    if kind == "contractible":
        assert isinstance(types, TaskProfileTypes)
        return ContractibleProblem(tech, types, name=name, source=src)
    cells = {"n": n} if isinstance(types, Distribution) else {}  # n: the cells of a continuous distribution only
    return SingleModelProblem(tech, types, **cells, name=name, inference_names=inames, finetuning_names=fnames,
                              source=src)


def _solve_table(data: Mapping[str, object], kind: str, types: object) -> dict[str, object]:
    """``[solve]``: defaults for ``mechdesign solve``; a key the problem cannot use is an error."""
    solve_t = subtable(data, "solve", "", required=False)
    only_keys(solve_t, ("ic", "solver", "n", "method"), "solve.")
    if "ic" in solve_t:
        V.one_of("solve.ic", solve_t["ic"], IC_STRATEGIES)
    if "solver" in solve_t and not (isinstance(solve_t["solver"], str) and solve_t["solver"].strip()):
        raise ProblemSpecError("solve.solver", solve_t["solver"],
                               "must be the name of a cvxpy solver, e.g. \"CLARABEL\"")
    if "method" in solve_t:
        V.one_of("solve.method", solve_t["method"], ("auto", "structured", "conic"))
        if kind != "single_model":
            raise ProblemSpecError("solve.method", solve_t["method"], "applies to single-model problems only")
    if "n" in solve_t and not isinstance(types, Distribution):
        raise ProblemSpecError("solve.n", solve_t["n"], "applies to continuous type distributions only "
                               "(types.kind = \"distribution\"); these types are listed in the file")
    return solve_t


def _solve_defaults(data: Mapping[str, object], src: dict[str, object], n: int, kind: str, types: object) -> int:
    """``[solve]``: defaults of the solve options (``ic``, ``solver``, ``n``, ``method``) for this file.

    Checked by :func:`_solve_table` and stored in ``src["solve_defaults"]``; whether the setting honours
    each one is checked again when it solves. Returns the number of cells (``solve.n`` overrides ``types.n``).
    """
    solve_t = _solve_table(data, kind, types)
    if "n" in solve_t:
        n = type_count("solve.n", solve_t["n"])
    if solve_t:
        src["solve_defaults"] = dict(solve_t)
    return n


def read_section5_problem(data: Mapping[str, object], kind: str, name: str,
                         source: str) -> MultiModelProblem | LeaderFringeProblem:
    """§5 files: ``[technology] sigma``; ``[[models]]`` (multimodel) or ``[leader]``/``[fringe]``."""
    meta = subtable(data, "problem", "", required=False)
    src: dict[str, object] = {"file": source, "description": str(meta.get("description", ""))}
    tech_t = subtable(data, "technology", "")
    only_keys(tech_t, ("sigma",), "technology.")
    sigma = V.in_open("technology.sigma", required_key(tech_t, "sigma", "technology."), 0.0, 1.0)
    types_t = subtable(data, "types", "")
    tkind = types_t.get("kind", "distribution")
    if tkind not in TYPE_KINDS[kind]:
        raise ProblemSpecError("types.kind", tkind, f"must be one of {', '.join(TYPE_KINDS[kind])} for "
                               f"problem.kind = {kind!r}")
    types, n = types_from_table(types_t, sigma)
    n = _solve_defaults(data, src, n, kind, types)
    if kind == "multimodel":
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
    only_keys(data, ("problem", "technology", "types", "leader", "fringe", "solve"), "")
    lead = subtable(data, "leader", "")
    fr = subtable(data, "fringe", "")
    only_keys(lead, ("sigma_hat", "cost"), "leader.")
    only_keys(fr, ("sigma_hat", "cost"), "fringe.")
    market = LeaderFringe(sigma, V.as_float("leader.sigma_hat", required_key(lead, "sigma_hat", "leader.")),
                          V.positive("leader.cost", required_key(lead, "cost", "leader.")),
                          V.positive("fringe.cost", required_key(fr, "cost", "fringe.")),
                          V.as_float("fringe.sigma_hat", fr.get("sigma_hat", 0.0)))
    assert isinstance(types, Distribution)
    return LeaderFringeProblem(market, types, name=name, source=src, n=n)


def read_multidim_problem(data: Mapping[str, object], kind: str, name: str, source: str) -> MultiDimProblem:
    """Multidimensional files: ``[types]`` (``points`` and ``prob``, or a ``grid`` on a box with optional
    cell ``weights``), ``[cost]`` (``quadratic`` A, ``power`` c and p, or ``tokens`` measures with a
    ``[technology]`` table) and ``[solve]``."""
    meta = subtable(data, "problem", "", required=False)
    src: dict[str, object] = {"file": source, "description": str(meta.get("description", ""))}
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
    ckind = V.one_of("cost.kind", cost_t.get("kind", "quadratic"), ("quadratic", "power", "tokens"))
    if "technology" in data and ckind != "tokens":
        raise ProblemSpecError("technology", "[technology]", "applies to cost.kind = \"tokens\" only")
    cost: QuadraticCost | SeparablePowerCost | TokenTechnologyCost
    if ckind == "quadratic":
        only_keys(cost_t, ("kind", "A"), "cost.")
        cost = QuadraticCost(number_matrix(cost_t, "A", "cost.") if "A" in cost_t else np.eye(types.dim))
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
        V.one_of("solve.ic", solve_t["ic"], MULTIDIM_IC)
    _solve_defaults(data, src, types.n, kind, types)
    return MultiDimProblem(types, cost, name=name, source=src)

