"""Read and validate problem files (TOML); the format is documented in ``docs/problem-files.md``.

Every key is checked: unknown keys are errors (they are usually typos), and every value is checked
against its range with a message that names the key, the value and the allowed range.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mechdesign import _validate as V
from mechdesign.analytic.cost_based import joint_profiles, separable_profiles
from mechdesign.analytic.leader_fringe import LeaderFringe
from mechdesign.analytic.multimodel import ModelSpec, MultiModel
from mechdesign.analytic.value_scale import ValueScaleTypes, flat_virtual_value_types
from mechdesign.engine.program import IC_STRATEGIES
from mechdesign.exceptions import ProblemFileError, ProblemSpecError
from mechdesign.settings.contractible import ContractibleProblem
from mechdesign.settings.leader_fringe import LeaderFringeProblem
from mechdesign.settings.multidim import IC_STRATEGIES as MULTIDIM_IC
from mechdesign.settings.multidim import MultiDimProblem, VectorTypes
from mechdesign.settings.multimodel import MultiModelProblem
from mechdesign.settings.single_model import SingleModelProblem
from mechdesign.settings.value_scale import ValueScaleProblem
from mechdesign.settings.vector_costs import QuadraticCost, SeparablePowerCost, TokenTechnologyCost
from mechdesign.shipped import resolve
from mechdesign.technology import CES, BaselineFineTuning, CESFineTuning, FineTuning, NoFineTuning, Technology
from mechdesign.types import (
    BetaDist,
    DiscreteTypes,
    Distribution,
    Mixture,
    Power,
    Tabulated,
    TaskProfileTypes,
    Uniform,
)

KINDS = ("single_model", "contractible", "value_scale", "multimodel", "leader_fringe", "multidim")
#: types.kind values each problem kind accepts
TYPE_KINDS = {"single_model": ("distribution", "discrete", "task_profiles", "separable", "joint"),
              "contractible": ("task_profiles", "separable", "joint"),
              "value_scale": ("value_scale",),
              "multimodel": ("distribution", "discrete"),
              "leader_fringe": ("distribution",),
              "multidim": ("points", "grid")}
Problem = (SingleModelProblem | ContractibleProblem | ValueScaleProblem | MultiModelProblem | LeaderFringeProblem
           | MultiDimProblem)
#: the ``mechdesign`` commands that serve each problem kind
KIND_VERBS = {"single_model": ("solve", "analytic", "price", "audit", "plot", "sweep"),
              "contractible": ("solve", "plot", "sweep"),
              "value_scale": ("solve", "plot", "sweep"),
              "multimodel": ("solve", "analytic", "plot", "sweep"),
              "leader_fringe": ("solve", "analytic", "plot", "sweep"),
              "multidim": ("solve", "plot", "sweep")}
KIND_WORDS = {"single_model": "single-model", "contractible": "contractible", "value_scale": "value-scale",
              "multimodel": "multi-model", "leader_fringe": "leader-fringe", "multidim": "multidimensional"}
#: the most type cells a problem may ask for (``types.n``, ``solve.n``, ``--n``)
MAX_TYPES = 2_000_000
#: rough memory of the single-model solve per type (bytes), for the message that refuses larger sizes
BYTES_PER_TYPE = 1500


def _table(parent: Mapping[str, object], key: str, where: str, required: bool = True) -> dict[str, object]:
    val = parent.get(key)
    if val is None:
        if required:
            raise ProblemSpecError(f"{where}{key}", None, "is missing: add this table to the problem file")
        return {}
    if not isinstance(val, Mapping):
        raise ProblemSpecError(f"{where}{key}", val, "must be a table ([section] or {...})")
    return dict(val)


def _only(table: Mapping[str, object], allowed: tuple[str, ...], where: str) -> None:
    extra = sorted(set(table) - set(allowed))
    if extra:
        raise ProblemSpecError(
            f"{where}{extra[0]}", table[extra[0]], "is not a known key here; allowed keys: " + ", ".join(allowed)
        )


def _need(table: Mapping[str, object], key: str, where: str) -> object:
    if key not in table:
        raise ProblemSpecError(f"{where}{key}", None, "is missing")
    return table[key]


def read_problem_file(path: str | Path) -> dict[str, object]:
    """The parsed TOML of a problem file, unchecked (:func:`problem_from_dict` checks it).

    Raises
    ------
    ProblemFileError
        The path is missing or a folder, or the file is not UTF-8 TOML.
    """
    p = Path(path)
    if p.is_dir():
        raise ProblemFileError(f"problem file {str(path)!r} is a folder, not a file (give a path to a .toml file, "
                               "e.g. problems/single_model_cobb_douglas.toml)")
    if not p.is_file():
        raise ProblemFileError(f"problem file {str(path)!r} does not exist (give a path to a .toml file, "
                               "e.g. problems/single_model_cobb_douglas.toml)")
    try:
        return tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ProblemFileError(f"problem file {str(path)!r} is not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ProblemFileError(f"problem file {str(path)!r} is not a UTF-8 text file") from None
    except OSError as exc:
        raise ProblemFileError(f"problem file {str(path)!r} cannot be read: {exc.strerror or exc}") from None


def load_problem(path: str | Path) -> Problem:
    """Read a problem file and build the problem it describes.

    ``path`` is a path to a problem file or the name of a shipped problem (``single_model_cobb_douglas``,
    with or without ``.toml``; see :mod:`mechdesign.shipped`): an existing path wins.

    Raises
    ------
    ProblemFileError
        The file is missing, a folder, or not valid TOML.
    ProblemSpecError
        A key is unknown or a value is out of range (the message names it).
    """
    p = resolve(path)  # a path, or a shipped problem's name
    return problem_from_dict(read_problem_file(p), source=str(p))


def problem_kind(problem: object) -> str:
    """The ``problem.kind`` of the file a problem was built from (``"single_model"``, ...)."""
    for kind, entry in REGISTRY.items():
        if isinstance(problem, entry.problem):
            return kind
    raise TypeError(f"not a problem: {problem!r}")  # pragma: no cover - a programming error


def check_kind(problem: object, kinds: tuple[str, ...], verb: str | None = None) -> None:
    """Raise unless ``problem`` has one of ``kinds``; the message names the kind as written in the file
    (``problem.kind = 'contractible'``, never a Python class) and the commands that serve it."""
    kind = problem_kind(problem)
    if kind in kinds:
        return
    who = f"`mechdesign {verb}`" if verb else "this command"
    words = _or([KIND_WORDS[k] for k in kinds])
    needs = _or([f'"{k}"' for k in kinds])
    raise ProblemSpecError("problem.kind", kind,
                           f"{who} needs a {words} problem (problem.kind = {needs}); {KIND_WORDS[kind]} problems "
                           "are served by " + ", ".join(f"`mechdesign {v}`" for v in KIND_VERBS[kind]))


def _or(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def load_single_model(path: str | Path, verb: str | None = None) -> SingleModelProblem:
    """:func:`load_problem` for commands that need a single-model problem (§3-4); ``verb`` names the
    command in the error message."""
    problem = load_problem(path)
    check_kind(problem, ("single_model",), verb)
    assert isinstance(problem, SingleModelProblem)
    return problem


def memory_estimate(n: int) -> str:
    """Rough memory of a single-model solve with ``n`` types (``BYTES_PER_TYPE`` each), e.g. ``'15 GB'``."""
    size = float(n) * BYTES_PER_TYPE
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.3g} {unit}"
        size /= 1000
    return ""  # pragma: no cover


def type_count(field: str, value: object) -> int:
    """A number of type cells: an integer in ``[2, MAX_TYPES]``; larger ones are refused up front with the
    memory they would need (a single-model solve keeps about ``BYTES_PER_TYPE`` bytes per type)."""
    n = V.integer(field, value, -(2**63))
    if n < 2:
        raise ProblemSpecError(field, value, f"must be an integer from 2 to {MAX_TYPES:,}")
    if n > MAX_TYPES:
        raise ProblemSpecError(field, value, f"must be an integer from 2 to {MAX_TYPES:,}: {n:,} types would need "
                               f"about {memory_estimate(n)} of memory (about {BYTES_PER_TYPE / 1000:.1f} KB per "
                               "type for the single-model solve)")
    return n


def check_n(problem: object, n: object, field: str = "--n") -> int | None:
    """Validate a number of type cells given for ``problem`` (``None``: not given).

    ``n`` discretises continuous type distributions only; for other types it would be ignored, so it
    is refused with a message that says why.
    """
    if n is None:
        return None
    out = type_count(field, n)
    kind = problem_kind(problem)
    types = getattr(problem, "types", getattr(problem, "dist", None))
    if isinstance(types, Distribution):
        return out
    what = {"contractible": "task-profile types (types.w lists them)",
            "value_scale": "value-scale types (types.w.n sets the cells of w)"}.get(
        kind, "discrete types (types.kind = \"discrete\")" if isinstance(types, DiscreteTypes)
        else "types listed in the file (task profiles)")
    raise ProblemSpecError(field, n, f"applies to continuous type distributions only; this problem has {what}")


def problem_from_dict(data: Mapping[str, object], source: str = "") -> Problem:
    """Build a problem from the parsed contents of a problem file (see :func:`load_problem`).

    The file's ``problem.kind`` selects its reader in :data:`REGISTRY` (one line per setting).
    """
    meta = _table(data, "problem", "", required=False)
    _only(meta, ("name", "kind", "description"), "problem.")
    kind = V.one_of("problem.kind", meta.get("kind", "single_model"), KINDS)
    name = str(meta.get("name", Path(source).stem if source else "problem"))
    return REGISTRY[kind].reader(data, kind, name, source)


def _technology_problem(data: Mapping[str, object], kind: str, name: str, source: str) -> Problem:
    """Single-model, contractible and value-scale files: ``[technology]``, ``[types]``, ``[solve]``."""
    meta = _table(data, "problem", "", required=False)
    _only(data, ("problem", "technology", "types", "solve"), "")
    tech_t = _table(data, "technology", "")
    tech, inames, fnames = technology_from_table(tech_t)
    types_t = _table(data, "types", "")
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
    return SingleModelProblem(tech, types, n=n, name=name, inference_names=inames, finetuning_names=fnames,
                              source=src)


def _solve_table(data: Mapping[str, object], kind: str, types: object) -> dict[str, object]:
    """``[solve]``: defaults for ``mechdesign solve``; a key the problem cannot use is an error."""
    solve_t = _table(data, "solve", "", required=False)
    _only(solve_t, ("ic", "solver", "n", "method"), "solve.")
    if "ic" in solve_t:
        V.one_of("solve.ic", solve_t["ic"], IC_STRATEGIES)
    if "solver" in solve_t and not (isinstance(solve_t["solver"], str) and solve_t["solver"].strip()):
        raise ProblemSpecError("solve.solver", solve_t["solver"], "must be the name of a cvxpy solver, e.g. \"CLARABEL\"")
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


def _section5_problem(data: Mapping[str, object], kind: str, name: str,
                         source: str) -> MultiModelProblem | LeaderFringeProblem:
    """§5 files: ``[technology] sigma``; ``[[models]]`` (multimodel) or ``[leader]``/``[fringe]``."""
    meta = _table(data, "problem", "", required=False)
    src: dict[str, object] = {"file": source, "description": str(meta.get("description", ""))}
    tech_t = _table(data, "technology", "")
    _only(tech_t, ("sigma",), "technology.")
    sigma = V.in_open("technology.sigma", _need(tech_t, "sigma", "technology."), 0.0, 1.0)
    types_t = _table(data, "types", "")
    tkind = types_t.get("kind", "distribution")
    if tkind not in TYPE_KINDS[kind]:
        raise ProblemSpecError("types.kind", tkind, f"must be one of {', '.join(TYPE_KINDS[kind])} for "
                               f"problem.kind = {kind!r}")
    types, n = types_from_table(types_t, sigma)
    n = _solve_defaults(data, src, n, kind, types)
    if kind == "multimodel":
        _only(data, ("problem", "technology", "types", "models", "solve"), "")
        raw = _need(data, "models", "")
        if not isinstance(raw, list) or not raw or not all(isinstance(m, Mapping) for m in raw):
            raise ProblemSpecError("models", raw, "must be a non-empty array of tables [[models]]")
        specs = []
        for i, m in enumerate(raw):
            where = f"models[{i}]."
            mname = str(m.get("name", f"model{i}"))
            if "technology" in m:  # a full technology: (sigma_hat, kappa = C0) by Lemma 3
                _only(m, ("name", "technology"), where)
                tt = dict(_table(m, "technology", where))
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
            _only(m, ("name", "sigma_hat", "kappa"), where)
            specs.append(ModelSpec(V.as_float(where + "sigma_hat", _need(m, "sigma_hat", where)),
                                   V.positive(where + "kappa", _need(m, "kappa", where)), mname))
        assert isinstance(types, (DiscreteTypes, Distribution))
        return MultiModelProblem(MultiModel(sigma, tuple(specs)), types, n=n, name=name, source=src)
    _only(data, ("problem", "technology", "types", "leader", "fringe", "solve"), "")
    lead = _table(data, "leader", "")
    fr = _table(data, "fringe", "")
    _only(lead, ("sigma_hat", "cost"), "leader.")
    _only(fr, ("sigma_hat", "cost"), "fringe.")
    market = LeaderFringe(sigma, V.as_float("leader.sigma_hat", _need(lead, "sigma_hat", "leader.")),
                          V.positive("leader.cost", _need(lead, "cost", "leader.")),
                          V.positive("fringe.cost", _need(fr, "cost", "fringe.")),
                          V.as_float("fringe.sigma_hat", fr.get("sigma_hat", 0.0)))
    assert isinstance(types, Distribution)
    return LeaderFringeProblem(market, types, name=name, source=src, n=n)


def _multidim_problem(data: Mapping[str, object], kind: str, name: str, source: str) -> MultiDimProblem:
    """Multidimensional files: ``[types]`` (``points`` and ``prob``, or a ``grid`` on a box with optional
    cell ``weights``), ``[cost]`` (``quadratic`` A, ``power`` c and p, or ``tokens`` measures with a
    ``[technology]`` table) and ``[solve]``."""
    meta = _table(data, "problem", "", required=False)
    src: dict[str, object] = {"file": source, "description": str(meta.get("description", ""))}
    _only(data, ("problem", "types", "cost", "technology", "solve"), "")
    types_t = _table(data, "types", "")
    if "grid" in types_t:
        _only(types_t, ("grid", "weights"), "types.")
        g = _table(types_t, "grid", "types.")
        _only(g, ("lo", "hi", "n"), "types.grid.")
        counts = V.vector("types.grid.n", _need(g, "n", "types.grid."))
        lo = V.vector("types.grid.lo", _need(g, "lo", "types.grid."))
        if np.any(lo < 0):
            raise ProblemSpecError("types.grid.lo", g["lo"], "every entry must be >= 0 (types value the goods)")
        types = VectorTypes.grid(lo,
                                 V.vector("types.grid.hi", _need(g, "hi", "types.grid.")),
                                 [V.integer("types.grid.n", k, 1) for k in counts.tolist()], types_t.get("weights"))
    else:
        _only(types_t, ("points", "prob"), "types.")
        types = VectorTypes(_matrix(types_t, "points", "types."), V.vector("types.prob", _need(types_t, "prob", "types.")))
    cost_t = _table(data, "cost", "")
    ckind = V.one_of("cost.kind", cost_t.get("kind", "quadratic"), ("quadratic", "power", "tokens"))
    if "technology" in data and ckind != "tokens":
        raise ProblemSpecError("technology", "[technology]", "applies to cost.kind = \"tokens\" only")
    cost: QuadraticCost | SeparablePowerCost | TokenTechnologyCost
    if ckind == "quadratic":
        _only(cost_t, ("kind", "A"), "cost.")
        cost = QuadraticCost(_matrix(cost_t, "A", "cost.") if "A" in cost_t else np.eye(types.dim))
    elif ckind == "power":
        _only(cost_t, ("kind", "c", "p"), "cost.")
        cost = SeparablePowerCost(V.vector("cost.c", _need(cost_t, "c", "cost.")),
                                  V.vector("cost.p", _need(cost_t, "p", "cost.")))
    else:
        _only(cost_t, ("kind", "measures"), "cost.")
        tech, _, _ = technology_from_table(_table(data, "technology", ""))
        mu = V.vector("cost.measures", cost_t.get("measures", [1.0 / types.dim] * types.dim), length=types.dim)
        cost = TokenTechnologyCost(tech, mu)
    solve_t = _table(data, "solve", "", required=False)
    _only(solve_t, ("ic", "solver"), "solve.")
    if "ic" in solve_t:  # vector types: no 'local' strategy
        V.one_of("solve.ic", solve_t["ic"], MULTIDIM_IC)
    _solve_defaults(data, src, types.n, kind, types)
    return MultiDimProblem(types, cost, name=name, source=src)


def _lengths_agree(where: str, given: Mapping[str, object]) -> None:
    """Check that the lists ``given`` (key -> list), one entry per token class, have the same length.

    When the lengths differ, the key whose length disagrees with the others is named (with ``alpha``
    or ``exponents`` as the reference when there is no majority), e.g. ``technology.inference.cost =
    [1.0] is invalid: has 1 entry but technology.inference.alpha has 2 (one per token class).``
    """
    sizes: dict[str, int] = {}
    for key, value in given.items():
        if key == "names":
            if isinstance(value, list):
                sizes[key] = len(value)
        else:
            sizes[key] = V.vector(where + key, value).size
    if not sizes:
        return
    counts: dict[int, int] = {}
    for size in sizes.values():
        counts[size] = counts.get(size, 0) + 1
    ref_key = next(iter(sizes))  # alpha / exponents first: they define the classes
    ref = max(counts, key=lambda c: (counts[c], c == sizes[ref_key]))
    for key, size in sizes.items():
        if size != ref:
            other = next(k for k, v in sizes.items() if v == ref)
            raise ProblemSpecError(where + key, given[key], f"has {V.plural(size, 'entry')} but {where}{other} has "
                                   f"{ref} (one per token class)")


def _rho(field: str, value: object) -> float:
    rho = V.as_float(field, value)
    if not rho < 1.0:
        raise ProblemSpecError(field, value, "must be < 1 (rho = 0 is Cobb-Douglas; rho -> -inf, Leontief)")
    return rho


def technology_from_table(t: Mapping[str, object]) -> tuple[Technology, list[str], list[str]]:
    """``[technology]``: ``sigma`` and ``[technology.inference]``, optional ``[technology.finetuning]``."""
    _only(t, ("sigma", "inference", "finetuning"), "technology.")
    inf = _table(t, "inference", "technology.")
    where = "technology.inference."
    _only(inf, ("names", "alpha", "rho", "cost", "exponents"), where)
    shape = "exponents" if "exponents" in inf else "alpha"
    _lengths_agree(where, {k: inf[k] for k in (shape, "cost", "names") if k in inf})
    cost = V.positive_vector(where + "cost", _need(inf, "cost", where))
    if "exponents" in inf:
        if "alpha" in inf or "sigma" in t:
            raise ProblemSpecError(where + "exponents", inf["exponents"],
                                   "cannot be combined with alpha or technology.sigma (give one or the other)")
        if "rho" in inf:
            raise ProblemSpecError(where + "rho", inf["rho"], "cannot be combined with exponents (Cobb-Douglas); "
                                   "give technology.sigma, alpha and rho instead")
        ex = V.positive_vector(where + "exponents", inf["exponents"], length=cost.size)
        sigma = float(ex.sum())
        if not sigma < 1.0:
            raise ProblemSpecError(where + "exponents", inf["exponents"],
                                   f"must sum to less than 1 (they sum to {sigma:.6g}: decreasing returns)")
        ces = CES(ex / sigma, 0.0, where + "alpha")
    else:
        sigma = V.in_open("technology.sigma", _need(t, "sigma", "technology."), 0.0, 1.0)
        alpha = V.weights(where + "alpha", _need(inf, "alpha", where), length=cost.size)
        ces = CES(alpha, _rho(where + "rho", inf.get("rho", 0.0)), where + "alpha")
    inames = _names(inf, where + "names", cost.size, "x")
    ft_t = _table(t, "finetuning", "technology.", required=False)
    ft: FineTuning
    fnames: list[str] = []
    where = "technology.finetuning."
    kind = V.one_of(where + "kind", ft_t.get("kind", "none" if not ft_t else "ces"), ("none", "ces", "baseline"))
    if kind == "none":
        _only(ft_t, ("kind",), where)
        ft = NoFineTuning()
    elif kind == "ces":
        _only(ft_t, ("kind", "names", "alpha", "rho", "cost", "sigma_hat", "exponents"), where)
        _lengths_agree(where, {k: ft_t[k] for k in ("exponents", "alpha", "cost", "names") if k in ft_t})
        fcost = V.positive_vector(where + "cost", _need(ft_t, "cost", where))
        if "exponents" in ft_t:
            if "alpha" in ft_t or "sigma_hat" in ft_t or "rho" in ft_t:
                raise ProblemSpecError(where + "exponents", ft_t["exponents"],
                                       "cannot be combined with alpha, rho or sigma_hat (give one or the other)")
            fx = V.positive_vector(where + "exponents", ft_t["exponents"], length=fcost.size)
            sh = float(fx.sum())
            fces = CES(fx / sh, 0.0, where + "alpha")
            sh_key, sh_val = where + "exponents", ft_t["exponents"]
        else:
            sh = V.in_open(where + "sigma_hat", _need(ft_t, "sigma_hat", where), 0.0, 1.0)
            falpha = V.weights(where + "alpha", ft_t.get("alpha", [1.0] * fcost.size), length=fcost.size)
            fces = CES(falpha, _rho(where + "rho", ft_t.get("rho", 0.0)), where + "alpha")
            sh_key, sh_val = where + "sigma_hat", ft_t["sigma_hat"]
        if not sigma + sh < 1.0:
            raise ProblemSpecError(sh_key, sh_val, f"must keep sigma + sigma_hat < 1 (sigma = {sigma:g}, sigma_hat = "
                                   f"{sh:g}); otherwise the cost of quality is not convex (Assumption 1)")
        ft = CESFineTuning(fces, sh, fcost)
        fnames = _names(ft_t, where + "names", fcost.size, "z")
    else:
        _only(ft_t, ("kind", "names", "b", "gamma", "cost"), where)
        _lengths_agree(where, {k: ft_t[k] for k in ("cost", "names") if k in ft_t})
        gamma = V.in_open(where + "gamma", _need(ft_t, "gamma", where), 0.0, 1.0)
        if not gamma < 1.0 - sigma:
            raise ProblemSpecError(where + "gamma", ft_t["gamma"], f"must be < 1 - technology.sigma = {1 - sigma:g} "
                                   "so that g is strictly concave (BBS §2.1)")
        ft = BaselineFineTuning(V.positive(where + "b", _need(ft_t, "b", where)), gamma,
                                V.positive_vector(where + "cost", _need(ft_t, "cost", where), length=1))
        fnames = _names(ft_t, where + "names", 1, "z")
    return Technology(ces, sigma, cost, ft), inames, fnames


def _names(t: Mapping[str, object], field: str, n: int, prefix: str) -> list[str]:
    key = field.rsplit(".", 1)[-1]
    if key not in t:
        return [f"{prefix}{i + 1}" for i in range(n)]
    names = t[key]
    if not isinstance(names, list) or len(names) != n or not all(isinstance(x, str) and x for x in names):
        raise ProblemSpecError(field, names, f"must be a list of {n} non-empty strings (one per class)")
    if len(set(names)) != n:
        raise ProblemSpecError(field, names, "must be distinct")
    return list(names)


def _matrix(t: Mapping[str, object], key: str, where: str) -> np.ndarray:
    raw = _need(t, key, where)
    V.refuse_non_numbers(where + key, raw)
    try:
        arr = np.asarray(raw, dtype=float)
    except (TypeError, ValueError):
        raise ProblemSpecError(where + key, raw, "must be a list of equal-length lists of numbers") from None
    if arr.ndim != 2 or arr.size == 0:
        raise ProblemSpecError(where + key, raw, "must be a non-empty list of equal-length lists of numbers")
    return arr


def types_from_table(t: Mapping[str, object], sigma: float = 0.5
                     ) -> tuple[DiscreteTypes | TaskProfileTypes | Distribution | ValueScaleTypes, int]:
    """``[types]``: ``kind`` = distribution | discrete | task_profiles | separable | joint | value_scale.

    ``sigma`` (the technology's) normalises the directions of separable and joint task profiles.
    """
    kind = V.one_of("types.kind", t.get("kind", "distribution"),
                    ("distribution", "discrete", "task_profiles", "separable", "joint", "value_scale"))
    n = 200
    if kind == "distribution":
        _only(t, ("kind", "n", "distribution"), "types.")
        if "n" in t:
            n = type_count("types.n", t["n"])
        return distribution_from_table(_table(t, "distribution", "types."), "types.distribution."), n
    if kind == "discrete":
        _only(t, ("kind", "theta", "prob"), "types.")
        theta = V.vector("types.theta", _need(t, "theta", "types."))
        prob = V.vector("types.prob", _need(t, "prob", "types."), length=theta.size)
        return DiscreteTypes(theta, prob), theta.size
    if kind == "task_profiles":
        _only(t, ("kind", "w", "prob", "measures"), "types.")
        warr = _matrix(t, "w", "types.")
        T = warr.shape[1]
        measures = V.vector("types.measures", t.get("measures", [1.0 / T] * T))
        return TaskProfileTypes(warr, V.vector("types.prob", _need(t, "prob", "types.")), measures), len(warr)
    if kind in ("separable", "joint"):
        extra = ("size_prob", "direction_prob") if kind == "separable" else ("joint",)
        _only(t, ("kind", "sizes", "directions", "measures") + extra, "types.")
        d = _matrix(t, "directions", "types.")
        T = d.shape[1]
        measures = V.vector("types.measures", t.get("measures", [1.0 / T] * T))
        sizes = V.vector("types.sizes", _need(t, "sizes", "types."))
        if kind == "separable":
            prof = separable_profiles(sizes, V.vector("types.size_prob", _need(t, "size_prob", "types.")), d,
                                      V.vector("types.direction_prob", _need(t, "direction_prob", "types.")),
                                      measures, sigma)
        else:
            prof = joint_profiles(sizes, d, _matrix(t, "joint", "types."), measures, sigma)
        return prof, len(prof.prob)
    _only(t, ("kind", "w", "s"), "types.")
    wt = _table(t, "w", "types.")
    wkind = V.one_of("types.w.kind", wt.get("kind", "discrete"), ("discrete", "distribution", "flat_virtual_value"))
    if wkind == "discrete":
        _only(wt, ("kind", "values", "prob"), "types.w.")
        vals = V.vector("types.w.values", _need(wt, "values", "types.w."))
        w = DiscreteTypes(vals, V.vector("types.w.prob", _need(wt, "prob", "types.w."), length=vals.size))
    elif wkind == "distribution":
        _only(wt, ("kind", "n", "distribution"), "types.w.")
        nw = V.integer("types.w.n", wt.get("n", 20), 2)
        w = distribution_from_table(_table(wt, "distribution", "types.w."), "types.w.distribution.").discretize(nw)
    else:
        _only(wt, ("kind", "values", "level"), "types.w.")
        w = flat_virtual_value_types(V.vector("types.w.values", _need(wt, "values", "types.w.")),
                                     V.as_float("types.w.level", _need(wt, "level", "types.w.")))
    st = _table(t, "s", "types.")
    _only(st, ("values", "prob"), "types.s.")
    s_vals = V.vector("types.s.values", _need(st, "values", "types.s."))
    s_prob = V.vector("types.s.prob", st.get("prob", [1.0 / s_vals.size] * s_vals.size), length=s_vals.size)
    vs = ValueScaleTypes(w, s_vals, s_prob)
    return vs, vs.n


def distribution_from_table(d: Mapping[str, object], where: str) -> Distribution:
    """A continuous distribution: uniform, beta, power, mixture or tabulated."""
    kind = V.one_of(where + "kind", d.get("kind"), ("uniform", "beta", "power", "mixture", "tabulated"))
    lo, hi = d.get("lo", 0.0), d.get("hi", 1.0)
    if kind == "uniform":
        _only(d, ("kind", "lo", "hi"), where)
        return Uniform(V.as_float(where + "lo", lo), V.as_float(where + "hi", hi))
    if kind == "beta":
        _only(d, ("kind", "a", "b", "lo", "hi"), where)
        return BetaDist(V.positive(where + "a", _need(d, "a", where)), V.positive(where + "b", _need(d, "b", where)),
                        V.as_float(where + "lo", lo), V.as_float(where + "hi", hi))
    if kind == "power":
        _only(d, ("kind", "k", "lo", "hi"), where)
        return Power(V.positive(where + "k", _need(d, "k", where)), V.as_float(where + "lo", lo),
                     V.as_float(where + "hi", hi))
    if kind == "tabulated":
        _only(d, ("kind", "points", "values"), where)
        return Tabulated(points=V.vector(where + "points", _need(d, "points", where)),  # type: ignore[arg-type]
                         values=V.vector(where + "values", _need(d, "values", where)))  # type: ignore[arg-type]
    _only(d, ("kind", "weights", "components"), where)
    comps = _need(d, "components", where)
    if not isinstance(comps, list) or not comps or not all(isinstance(c, Mapping) for c in comps):
        raise ProblemSpecError(where + "components", comps, "must be a non-empty list of distribution tables")
    parts = tuple(distribution_from_table(c, f"{where}components[{i}].") for i, c in enumerate(comps))
    if any(isinstance(c, Mixture) for c in parts):
        raise ProblemSpecError(where + "components", comps, "cannot contain mixtures (flatten them)")
    return Mixture(V.vector(where + "weights", _need(d, "weights", where), length=len(parts)), parts)


@dataclass(frozen=True)
class ProblemKind:
    """One setting as the problem files know it: its Problem class and the reader of its files."""

    problem: type
    reader: Callable[[Mapping[str, object], str, str, str], Problem]


#: ``problem.kind`` -> the setting's Problem class and the reader that builds it from a file: the CLI,
#: sweeps, benchmarks and validation all read files through :func:`load_problem` and this table, and
#: then speak to the problem through the one contract (``kind``, ``options``, ``solve``)
REGISTRY: dict[str, ProblemKind] = {
    "single_model": ProblemKind(SingleModelProblem, _technology_problem),
    "contractible": ProblemKind(ContractibleProblem, _technology_problem),
    "value_scale": ProblemKind(ValueScaleProblem, _technology_problem),
    "multimodel": ProblemKind(MultiModelProblem, _section5_problem),
    "leader_fringe": ProblemKind(LeaderFringeProblem, _section5_problem),
    "multidim": ProblemKind(MultiDimProblem, _multidim_problem),
}
