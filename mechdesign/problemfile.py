"""Read and validate problem files (TOML); the format is documented in ``docs/problem-files.md``.

Every key is checked: unknown keys are errors (they are usually typos), and every value is checked
against its range with a message that names the key, the value and the allowed range.

This module is the entry: it reads a file, picks the reader of its ``problem.kind`` in :data:`REGISTRY`
and checks what commands may ask of a problem (:func:`check_kind`, :func:`check_n`). The readers live in
:mod:`mechdesign.problemreaders` and the tables they read in :mod:`mechdesign.problemtables` (import their
names from there).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from mechdesign import _validate as V
from mechdesign.exceptions import ProblemFileError, ProblemSpecError
from mechdesign.problemreaders import (
    Problem,
    read_multidim_problem,
    read_section5_problem,
    read_technology_problem,
)
from mechdesign.problemtables import only_keys, subtable, type_count
from mechdesign.settings.contractible import ContractibleProblem
from mechdesign.settings.leader_fringe import LeaderFringeProblem
from mechdesign.settings.multidim import MultiDimProblem
from mechdesign.settings.multimodel import MultiModelProblem
from mechdesign.settings.single_model import SingleModelProblem
from mechdesign.settings.value_scale import ValueScaleProblem
from mechdesign.shipped import resolve
from mechdesign.types import DiscreteTypes, Distribution

__all__ = [
    "KINDS",
    "KIND_VERBS",
    "KIND_WORDS",
    "REGISTRY",
    "ProblemKind",
    "check_kind",
    "check_n",
    "load_problem",
    "load_single_model",
    "problem_from_dict",
    "observed_kind",
    "problem_kind",
    "refuse_price_page",
    "read_problem_file",
]

KINDS = ("single_model", "contractible", "value_scale", "multimodel", "leader_fringe", "multidim")
#: the ``mechdesign`` commands that serve each problem kind
KIND_VERBS = {"single_model": ("solve", "analytic", "price", "audit", "plot", "sweep"),
              "contractible": ("solve", "plot", "sweep"),
              "value_scale": ("solve", "plot", "sweep"),
              "multimodel": ("solve", "analytic", "plot", "sweep"),
              "leader_fringe": ("solve", "analytic", "plot", "sweep"),
              "multidim": ("solve", "plot", "sweep")}
KIND_WORDS = {"single_model": "single-model", "contractible": "contractible", "value_scale": "value-scale",
              "multimodel": "multi-model", "leader_fringe": "leader-fringe", "multidim": "multidimensional"}


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
    data = read_problem_file(p)
    refuse_price_page(data, str(path))
    return problem_from_dict(data, source=str(p))


#: observed data files that are not problems: their kind (the table that marks them) and how to read them
OBSERVED_KINDS = {"price_page": ("menu", "an observed price page ([menu] and [[tiers]])", "calibrate it with "
                                 "`mechdesign calibrate {name}`"),
                  "price_table": ("prices", "an observed API price table ([prices] and [[models]])", "read it with "
                                  "mechdesign.analytic.calibration.load_api_prices (token-class costs)")}


def observed_kind(data: Mapping[str, object]) -> str | None:
    """``"price_page"`` or ``"price_table"`` for the observed data files shipped beside the problems (not
    problem files), else None."""
    if "problem" in data:
        return None
    return next((kind for kind, (key, _, _) in OBSERVED_KINDS.items() if key in data), None)


def refuse_price_page(data: Mapping[str, object], name: str) -> None:
    """Raise :class:`ProblemFileError` saying how to read ``data`` when it is an observed price page or
    price table (``mechdesign calibrate``), not a problem file."""
    kind = observed_kind(data)
    if kind is not None:
        _, what, how = OBSERVED_KINDS[kind]
        raise ProblemFileError(f"{name!r} is {what}, not a problem file: {how.format(name=name)}")


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
            "value_scale": "value-scale types (types.w.n sets the cells of w)",
            "multidim": "vector types (types.grid.n sets the grid, or types.points lists them)"}.get(
        kind, "discrete types (types.kind = \"discrete\")" if isinstance(types, DiscreteTypes)
        else "types listed in the file (task profiles)")
    raise ProblemSpecError(field, n, f"applies to continuous type distributions only; this problem has {what}")


def problem_from_dict(data: Mapping[str, object], source: str = "") -> Problem:
    """Build a problem from the parsed contents of a problem file (see :func:`load_problem`).

    The file's ``problem.kind`` selects its reader in :data:`REGISTRY` (one line per setting).
    """
    refuse_price_page(data, source or "this file")
    meta = subtable(data, "problem", "", required=False)
    only_keys(meta, ("name", "kind", "description"), "problem.")
    kind = V.one_of("problem.kind", meta.get("kind", "single_model"), KINDS)
    name = str(meta.get("name", Path(source).stem if source else "problem"))
    return REGISTRY[kind].reader(data, kind, name, source)



@dataclass(frozen=True)
class ProblemKind:
    """One setting as the problem files know it: its Problem class and the reader of its files."""

    problem: type
    reader: Callable[[Mapping[str, object], str, str, str], Problem]


#: ``problem.kind`` -> the setting's Problem class and the reader that builds it from a file: the CLI,
#: sweeps, benchmarks and validation all read files through :func:`load_problem` and this table, and
#: then speak to the problem through the one contract (``kind``, ``options``, ``solve``)
REGISTRY: dict[str, ProblemKind] = {
    "single_model": ProblemKind(SingleModelProblem, read_technology_problem),
    "contractible": ProblemKind(ContractibleProblem, read_technology_problem),
    "value_scale": ProblemKind(ValueScaleProblem, read_technology_problem),
    "multimodel": ProblemKind(MultiModelProblem, read_section5_problem),
    "leader_fringe": ProblemKind(LeaderFringeProblem, read_section5_problem),
    "multidim": ProblemKind(MultiDimProblem, read_multidim_problem),
}
