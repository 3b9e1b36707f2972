"""Read and validate problem files (TOML); the format is documented in ``docs/problem-files.md``.

Every key is checked: unknown keys are errors (they are usually typos), and every value is checked
against its range with a message that names the key, the value and the allowed range.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from . import _validate as V
from .contractible import ContractibleProblem
from .exceptions import ProblemFileError, ProblemSpecError
from .problem import SingleModelProblem
from .technology import CES, BaselineFineTuning, CESFineTuning, FineTuning, NoFineTuning, Technology
from .types import (
    BetaDist,
    DiscreteTypes,
    Distribution,
    Mixture,
    Power,
    Tabulated,
    TaskProfileTypes,
    Uniform,
)

KINDS = ("single_model", "contractible")


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


def load_problem(path: str | Path) -> SingleModelProblem | ContractibleProblem:
    """Read a problem file and build the problem it describes.

    Raises
    ------
    ProblemFileError
        The file is missing or is not valid TOML.
    ProblemSpecError
        A key is unknown or a value is out of range (the message names it).
    """
    p = Path(path)
    if not p.is_file():
        raise ProblemFileError(f"problem file {str(path)!r} does not exist (give a path to a .toml file, "
                               "e.g. problems/single_model_cobb_douglas.toml)")
    try:
        data = tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ProblemFileError(f"problem file {str(path)!r} is not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ProblemFileError(f"problem file {str(path)!r} is not a UTF-8 text file") from None
    return problem_from_dict(data, source=str(path))


def load_single_model(path: str | Path) -> SingleModelProblem:
    """:func:`load_problem` for commands that need a single-model problem (§3-4)."""
    problem = load_problem(path)
    if not isinstance(problem, SingleModelProblem):
        raise ProblemSpecError("problem.kind", "contractible",
                               "this command needs a single-model problem (problem.kind = \"single_model\")")
    return problem


def problem_from_dict(data: Mapping[str, object], source: str = "") -> SingleModelProblem | ContractibleProblem:
    """Build a problem from the parsed contents of a problem file (see :func:`load_problem`)."""
    _only(data, ("problem", "technology", "types", "solve"), "")
    meta = _table(data, "problem", "", required=False)
    _only(meta, ("name", "kind", "description"), "problem.")
    kind = V.one_of("problem.kind", meta.get("kind", "single_model"), KINDS)
    name = str(meta.get("name", Path(source).stem if source else "problem"))
    tech_t = _table(data, "technology", "")
    tech, inames, fnames = technology_from_table(tech_t)
    types_t = _table(data, "types", "")
    types, n = types_from_table(types_t)
    solve_t = _table(data, "solve", "", required=False)
    _only(solve_t, ("ic", "solver", "n"), "solve.")
    if "n" in solve_t:
        n = V.integer("solve.n", solve_t["n"], 2)
    src: dict[str, object] = {"file": source, "description": str(meta.get("description", ""))}
    if solve_t:
        src["solve_defaults"] = dict(solve_t)
    if kind == "contractible":
        if not isinstance(types, TaskProfileTypes):
            raise ProblemSpecError("types.kind", types_t.get("kind", "distribution"),
                                   'must be "task_profiles" for problem.kind = "contractible" (Appendix B)')
        return ContractibleProblem(tech, types, name=name, source=src)
    return SingleModelProblem(tech, types, n=n, name=name, inference_names=inames, finetuning_names=fnames,
                              source=src)


def technology_from_table(t: Mapping[str, object]) -> tuple[Technology, list[str], list[str]]:
    """``[technology]``: ``sigma`` and ``[technology.inference]``, optional ``[technology.finetuning]``."""
    _only(t, ("sigma", "inference", "finetuning"), "technology.")
    inf = _table(t, "inference", "technology.")
    _only(inf, ("names", "alpha", "rho", "cost", "exponents"), "technology.inference.")
    cost = V.positive_vector("technology.inference.cost", _need(inf, "cost", "technology.inference."))
    if "exponents" in inf:
        if "alpha" in inf or "sigma" in t:
            raise ProblemSpecError("technology.inference.exponents", inf["exponents"],
                                   "cannot be combined with alpha or technology.sigma (give one or the other)")
        ex = V.positive_vector("technology.inference.exponents", inf["exponents"], length=cost.size)
        sigma = float(ex.sum())
        ces = CES(ex / sigma, 0.0, "technology.inference.alpha")
    else:
        sigma = V.in_open("technology.sigma", _need(t, "sigma", "technology."), 0.0, 1.0)
        alpha = V.weights("technology.inference.alpha", _need(inf, "alpha", "technology.inference."),
                          length=cost.size)
        ces = CES(alpha, V.as_float("technology.inference.rho", inf.get("rho", 0.0)), "technology.inference.alpha")
    inames = _names(inf, "technology.inference.names", cost.size, "x")
    ft_t = _table(t, "finetuning", "technology.", required=False)
    ft: FineTuning
    fnames: list[str] = []
    kind = V.one_of("technology.finetuning.kind", ft_t.get("kind", "none" if not ft_t else "ces"),
                    ("none", "ces", "baseline"))
    where = "technology.finetuning."
    if kind == "none":
        _only(ft_t, ("kind",), where)
        ft = NoFineTuning()
    elif kind == "ces":
        _only(ft_t, ("kind", "names", "alpha", "rho", "cost", "sigma_hat", "exponents"), where)
        fcost = V.positive_vector(where + "cost", _need(ft_t, "cost", where))
        if "exponents" in ft_t:
            if "alpha" in ft_t or "sigma_hat" in ft_t:
                raise ProblemSpecError(where + "exponents", ft_t["exponents"],
                                       "cannot be combined with alpha or sigma_hat (give one or the other)")
            fx = V.positive_vector(where + "exponents", ft_t["exponents"], length=fcost.size)
            sh = float(fx.sum())
            fces = CES(fx / sh, 0.0, where + "alpha")
        else:
            sh = V.in_open(where + "sigma_hat", _need(ft_t, "sigma_hat", where), 0.0, 1.0)
            falpha = V.weights(where + "alpha", ft_t.get("alpha", [1.0] * fcost.size), length=fcost.size)
            fces = CES(falpha, V.as_float(where + "rho", ft_t.get("rho", 0.0)), where + "alpha")
        ft = CESFineTuning(fces, sh, fcost)
        fnames = _names(ft_t, where + "names", fcost.size, "z")
    else:
        _only(ft_t, ("kind", "names", "b", "gamma", "cost"), where)
        ft = BaselineFineTuning(V.positive(where + "b", _need(ft_t, "b", where)),
                                V.in_open(where + "gamma", _need(ft_t, "gamma", where), 0.0, 1.0),
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


def types_from_table(t: Mapping[str, object]) -> tuple[DiscreteTypes | TaskProfileTypes | Distribution, int]:
    """``[types]``: ``kind`` = distribution | discrete | task_profiles."""
    kind = V.one_of("types.kind", t.get("kind", "distribution"), ("distribution", "discrete", "task_profiles"))
    n = 200
    if kind == "distribution":
        _only(t, ("kind", "n", "distribution"), "types.")
        if "n" in t:
            n = V.integer("types.n", t["n"], 2)
        return distribution_from_table(_table(t, "distribution", "types."), "types.distribution."), n
    if kind == "discrete":
        _only(t, ("kind", "theta", "prob"), "types.")
        theta = V.vector("types.theta", _need(t, "theta", "types."))
        prob = V.vector("types.prob", _need(t, "prob", "types."), length=theta.size)
        return DiscreteTypes(theta, prob), theta.size
    _only(t, ("kind", "w", "prob", "measures"), "types.")
    w = _need(t, "w", "types.")
    try:
        warr = np.asarray(w, dtype=float)
    except (TypeError, ValueError):
        raise ProblemSpecError("types.w", w, "must be a list of equal-length lists of numbers") from None
    T = warr.shape[1] if warr.ndim == 2 else 0
    measures = V.vector("types.measures", t.get("measures", [1.0 / T] * T if T else [1.0]))
    return TaskProfileTypes(warr, V.vector("types.prob", _need(t, "prob", "types.")), measures), len(warr)


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
