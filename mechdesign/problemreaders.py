"""What the readers of problem files share: the technology tables (single-model, contractible and value-scale
files, and the technology of multidimensional token costs), the head of §5 files (``[technology] sigma`` and
``[types]``), the ``types.kind`` check and the ``[solve]`` defaults.

Each setting's reader lives beside it (``read_<kind>`` in ``mechdesign/settings/<kind>.py``, named by its
:class:`~mechdesign.settings.spec.SettingSpec`); :data:`mechdesign.registry.SETTINGS` maps each
``problem.kind`` to its spec. The tables inside a file are read by :mod:`mechdesign.problemtables`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mechdesign import _validate as V
from mechdesign.engine.program import IC_STRATEGIES
from mechdesign.exceptions import ProblemSpecError
from mechdesign.problemtables import (
    only_keys,
    required_key,
    subtable,
    technology_from_table,
    type_count,
    types_from_table,
)
from mechdesign.technology import Technology
from mechdesign.types import Distribution

__all__ = ["TECHNOLOGY_FILE_SCHEMA", "TechnologyFile", "check_type_kind", "file_source", "read_section5_head",
           "read_technology_file", "solve_defaults", "solve_table"]

#: the schema fragment of technology files (single-model, contractible and value-scale files share it; see
#: :class:`~mechdesign.settings.spec.SettingSpec`): the tables they may and must have, as JSON Schema
TECHNOLOGY_FILE_SCHEMA: dict[str, Any] = {
    "keys": ("problem", "technology", "types", "solve"), "required": ("technology", "types"),
    "file": {"properties": {"technology": {"$ref": "#/$defs/technology"}, "types": {"$ref": "#/$defs/types"}}},
    "properties": {}, "defs": {}}


def file_source(data: Mapping[str, object], source: str) -> dict[str, object]:
    """The problem's ``source``: the file it was read from and its ``problem.description``."""
    meta = subtable(data, "problem", "", required=False)
    return {"file": source, "description": str(meta.get("description", ""))}


def check_type_kind(types_t: Mapping[str, object], kind: str, type_kinds: tuple[str, ...],
                    see_docs: bool = True) -> None:
    """Refuse a ``types.kind`` (absent: ``"distribution"``) that ``problem.kind = kind`` does not accept."""
    tkind = types_t.get("kind", "distribution")
    if tkind not in type_kinds:
        raise ProblemSpecError("types.kind", tkind, f"must be one of {', '.join(type_kinds)} for "
                               f"problem.kind = {kind!r}" + (" (see docs/problem-files.md)" if see_docs else ""))


@dataclass(frozen=True)
class TechnologyFile:
    """The tables of a technology file (``[technology]``, ``[types]``, ``[solve]``), read and checked."""

    technology: Technology
    inference_names: list[str]
    finetuning_names: list[str]
    types: object
    n: int
    source: dict[str, object]


def read_technology_file(data: Mapping[str, object], kind: str, source: str, type_kinds: tuple[str, ...],
                         options: tuple[str, ...]) -> TechnologyFile:
    """Single-model, contractible and value-scale files: ``[technology]``, ``[types]``, ``[solve]``.

    ``type_kinds`` are the ``types.kind`` values the setting accepts and ``options`` the solve options it
    honours (``[solve]`` may set only those it can use).
    """
    only_keys(data, ("problem", "technology", "types", "solve"), "")
    tech_t = subtable(data, "technology", "")
    tech, inames, fnames = technology_from_table(tech_t)
    types_t = subtable(data, "types", "")
    check_type_kind(types_t, kind, type_kinds)
    types, n = types_from_table(types_t, tech.sigma)
    src = file_source(data, source)
    n = solve_defaults(data, src, n, options, types)
    return TechnologyFile(tech, list(inames), list(fnames), types, n, src)


def read_section5_head(data: Mapping[str, object], kind: str, source: str, type_kinds: tuple[str, ...],
                       options: tuple[str, ...]) -> tuple[float, object, int, dict[str, object]]:
    """§5 files (multimodel, leader-fringe): ``[technology] sigma``, ``[types]`` and ``[solve]``.

    Returns
    -------
    tuple
        ``(sigma, types, n, source)``: the shared σ, the types, their number of cells and the problem's
        ``source``; the setting's reader reads its own tables.
    """
    src = file_source(data, source)
    tech_t = subtable(data, "technology", "")
    only_keys(tech_t, ("sigma",), "technology.")
    sigma = V.in_open("technology.sigma", required_key(tech_t, "sigma", "technology."), 0.0, 1.0)
    types_t = subtable(data, "types", "")
    check_type_kind(types_t, kind, type_kinds, see_docs=False)
    types, n = types_from_table(types_t, sigma)
    n = solve_defaults(data, src, n, options, types)
    return sigma, types, n, src


def solve_table(data: Mapping[str, object], options: tuple[str, ...], types: object) -> dict[str, object]:
    """``[solve]``: defaults for ``mechdesign solve``; a key the problem cannot use is an error
    (``options``: the solve options the setting honours)."""
    solve_t = subtable(data, "solve", "", required=False)
    only_keys(solve_t, ("ic", "solver", "n", "method"), "solve.")
    if "ic" in solve_t:
        V.one_of("solve.ic", solve_t["ic"], IC_STRATEGIES)
    if "solver" in solve_t and not (isinstance(solve_t["solver"], str) and solve_t["solver"].strip()):
        raise ProblemSpecError("solve.solver", solve_t["solver"],
                               "must be the name of a cvxpy solver, e.g. \"CLARABEL\"")
    if "method" in solve_t:
        V.one_of("solve.method", solve_t["method"], ("auto", "structured", "conic"))
        if "method" not in options:
            raise ProblemSpecError("solve.method", solve_t["method"], "applies to single-model problems only")
    if "n" in solve_t and not isinstance(types, Distribution):
        raise ProblemSpecError("solve.n", solve_t["n"], "applies to continuous type distributions only "
                               "(types.kind = \"distribution\"); these types are listed in the file")
    return solve_t


def solve_defaults(data: Mapping[str, object], src: dict[str, object], n: int, options: tuple[str, ...],
                   types: object) -> int:
    """``[solve]``: defaults of the solve options (``ic``, ``solver``, ``n``, ``method``) for this file.

    Checked by :func:`solve_table` and stored in ``src["solve_defaults"]``; whether the setting honours
    each one is checked again when it solves. Returns the number of cells (``solve.n`` overrides ``types.n``).
    """
    solve_t = solve_table(data, options, types)
    if "n" in solve_t:
        n = type_count("solve.n", solve_t["n"])
    if solve_t:
        src["solve_defaults"] = dict(solve_t)
    return n
