"""Read and validate problem files (TOML); the format is documented in ``docs/problem-files.md``.

Every key is checked: unknown keys are errors (they are usually typos), and every value is checked
against its range with a message that names the key, the value and the allowed range.

This module is the entry: it reads a file, picks the reader of its ``problem.kind`` in the registry of
settings (:mod:`mechdesign.registry`, :data:`REGISTRY` here) and checks what commands may ask of a problem
(:func:`check_kind`, :func:`check_verb`, :func:`check_n`). Each setting's reader lives beside it (its
:class:`~mechdesign.settings.spec.SettingSpec` names it), what the readers share in
:mod:`mechdesign.problemreaders` and the tables they read in :mod:`mechdesign.problemtables` (import their
names from there).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import overload

from mechdesign import _validate as V
from mechdesign.exceptions import ProblemFileError, ProblemSpecError
from mechdesign.problemtables import only_keys, subtable, type_count
from mechdesign.registry import SETTINGS, spec_of
from mechdesign.settings.contractible import ContractibleProblem
from mechdesign.settings.leader_fringe import LeaderFringeProblem
from mechdesign.settings.multidim import MultiDimProblem
from mechdesign.settings.multimodel import MultiModelProblem
from mechdesign.settings.single_model import SingleModelProblem
from mechdesign.settings.spec import SettingSpec
from mechdesign.settings.value_scale import ValueScaleProblem
from mechdesign.shipped import resolve
from mechdesign.types import DiscreteTypes, Distribution

__all__ = [
    "KINDS",
    "KIND_VERBS",
    "KIND_WORDS",
    "REGISTRY",
    "Problem",
    "check_kind",
    "check_n",
    "check_verb",
    "default_kind",
    "load_problem",
    "load_single_model",
    "problem_from_dict",
    "observed_kind",
    "problem_kind",
    "refuse_price_page",
    "read_problem_file",
]

#: the problems of the shipped settings (a registered setting's problem speaks the same contract: ``kind``,
#: ``options``, ``name``, ``source``, ``solve``)
Problem = (SingleModelProblem | ContractibleProblem | ValueScaleProblem | MultiModelProblem | LeaderFringeProblem
           | MultiDimProblem)
#: ``problem.kind`` -> the setting's spec: the registry itself (:data:`mechdesign.registry.SETTINGS`), so a
#: setting registered later is read too
REGISTRY: dict[str, SettingSpec] = SETTINGS


class _Kinds(Sequence[str]):
    """The registered kinds, read from the registry whenever used (a tuple would miss later settings)."""

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[str]: ...

    def __getitem__(self, i: int | slice) -> str | Sequence[str]:
        return tuple(SETTINGS)[i]

    def __len__(self) -> int:
        return len(SETTINGS)

    def __eq__(self, other: object) -> bool:
        return tuple(self) == (tuple(other) if isinstance(other, Sequence) else other)

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return repr(tuple(self))


class _PerKind(Mapping[str, object]):
    """``kind -> getattr(spec, field)`` over the registry, read whenever used."""

    def __init__(self, field: str) -> None:
        self._field = field

    def __getitem__(self, kind: str) -> object:
        return getattr(SETTINGS[kind], self._field)

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(SETTINGS))

    def __len__(self) -> int:
        return len(SETTINGS)

    def __repr__(self) -> str:
        return repr(dict(self))


#: the registered ``problem.kind`` values (from :data:`REGISTRY`)
KINDS: Sequence[str] = _Kinds()
#: the ``mechdesign`` commands that serve each problem kind (each spec's ``verbs``)
KIND_VERBS: Mapping[str, tuple[str, ...]] = _PerKind("verbs")  # type: ignore[assignment]
#: each problem kind in words (each spec's ``word``)
KIND_WORDS: Mapping[str, str] = _PerKind("word")  # type: ignore[assignment]


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
    return spec_of(problem).kind


def check_verb(problem: object, verb: str) -> SettingSpec:
    """Raise unless ``mechdesign VERB`` serves ``problem``'s setting (its spec's ``verbs``); return the spec.

    The message names the kinds the verb serves and the verbs that serve this one (:func:`check_kind`).
    """
    spec = spec_of(problem)
    if verb not in spec.verbs:
        check_kind(problem, tuple(k for k, s in SETTINGS.items() if verb in s.verbs), verb)
    return spec


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
    if verb is None:
        check_kind(problem, ("single_model",))
    else:
        check_verb(problem, verb)
    assert isinstance(problem, SingleModelProblem), "price and audit need the single-model API"
    return problem



def check_n(problem: object, n: object, field: str = "--n") -> int | None:
    """Validate a number of type cells given for ``problem`` (``None``: not given).

    ``n`` discretises continuous type distributions only; for other types it would be ignored, so it
    is refused with a message that says why.
    """
    if n is None:
        return None
    out = type_count(field, n)
    spec = spec_of(problem)
    types = getattr(problem, "types", getattr(problem, "dist", None))
    if isinstance(types, Distribution):
        return out
    what = spec.types_words or ("discrete types (types.kind = \"discrete\")" if isinstance(types, DiscreteTypes)
                                else "types listed in the file (task profiles)")
    raise ProblemSpecError(field, n, f"applies to continuous type distributions only; this problem has {what}")


def problem_from_dict(data: Mapping[str, object], source: str = "") -> Problem:
    """Build a problem from the parsed contents of a problem file (see :func:`load_problem`).

    The file's ``problem.kind`` (absent: the registry's first kind, ``single_model``) selects its reader in
    the registry (:mod:`mechdesign.registry`, one line per setting).
    """
    refuse_price_page(data, source or "this file")
    meta = subtable(data, "problem", "", required=False)
    only_keys(meta, ("name", "kind", "description"), "problem.")
    kind = V.one_of("problem.kind", meta.get("kind", default_kind()), tuple(SETTINGS))
    name = str(meta.get("name", Path(source).stem if source else "problem"))
    problem: Problem = SETTINGS[kind].reader(data, kind, name, source)
    return problem


def default_kind() -> str:
    """The ``problem.kind`` of a file without one: the registry's first setting (``single_model``)."""
    return next(iter(SETTINGS))


