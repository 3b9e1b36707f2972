"""The declaration of a setting: :class:`SettingSpec`, the one thing the rest of the package knows about it.

Each ``settings/<kind>.py`` ends with ``SPEC = SettingSpec(...)``: the ``problem.kind`` of its files, the
reader of its tables, its schema fragment, its Problem and Result classes, its defaults, the ``mechdesign``
verbs and solve options it serves, and its closed-form and plot hooks. :mod:`mechdesign.registry` lists one
line per setting; the problem-file reader, ``mechdesign schema``, ``mechdesign problems``, the CLI verbs,
sweeps, plots and ``mechdesign analytic`` read only the registry.

Everything here is plain data or a callable of the settings layer (the layer rules of
``tests/test_architecture.py``): the schema fragment is JSON Schema as a dict, and the plot hooks name a
figure the application draws (:data:`FIGURES`, :data:`PLOTS`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["FIGURES", "PLOTS", "VERBS", "ClosedForm", "SettingSpec"]

#: the ``mechdesign`` verbs a setting may serve (``solve`` always; ``analytic`` with a closed form;
#: ``price`` and ``audit`` need the single-model API: ``technology``, ``types``, ``analytic``)
VERBS = ("solve", "analytic", "price", "audit", "plot", "sweep")
#: how a solved menu is drawn (``solve --plot``, ``plot``): Q and t against the closed forms (``"menu"``),
#: the 2-D type-space panels of vector types (``"types_2d"``) or the figure read from the menu table's
#: columns (``"table"``; one line per type otherwise)
FIGURES = ("menu", "types_2d", "table")
#: what ``mechdesign plot`` draws: the solved menu (``"solved"``, its :attr:`SettingSpec.figure`) or the
#: paper's Figure 1 from the closed forms without solving (``"figure1"``, leader-fringe markets)
PLOTS = ("solved", "figure1")


@dataclass(frozen=True)
class ClosedForm:
    """What ``mechdesign analytic`` shows of a problem: the text it prints, the JSON it writes with
    ``--json`` and, where the setting has one, the menu table it writes with ``--csv``.

    Parameters
    ----------
    text : str
        Printed as is.
    data : dict
        Written as JSON (numpy values are made JSON-ready by the command).
    table : pandas.DataFrame, optional
        The closed-form menu, one row per type (``--csv``); ``None``: ``--csv`` is refused.
    """

    text: str
    data: dict[str, object]
    table: pd.DataFrame | None = None


#: ``reader(data, kind, name, source) -> problem``: builds the problem of a parsed problem file
Reader = Callable[[Mapping[str, object], str, str, str], Any]
#: ``closed_form(problem, n) -> ClosedForm`` (``n``: the checked ``--n``, or None)
ClosedFormHook = Callable[[Any, "int | None"], ClosedForm]


@dataclass(frozen=True)
class SettingSpec:
    """One setting as the package knows it (see the module docstring).

    Parameters
    ----------
    kind : str
        The ``problem.kind`` of its files (``Problem.kind``).
    word : str
        The setting in messages (``"single-model"``: "needs a single-model problem").
    problem : type
        The Problem class (``kind``, ``options``, ``name``, ``source``, ``solve``).
    result : type
        The Result class its ``solve`` returns (the JSON output contract).
    reader : callable
        ``reader(data, kind, name, source)``: the problem of a parsed file (every key checked).
    verbs : tuple of str
        The ``mechdesign`` commands that serve it (of :data:`VERBS`; ``solve`` always).
    type_kinds : tuple of str
        The ``types.kind`` values its files accept (empty: its own ``[types]`` table, no ``kind``).
    schema : mapping
        Its fragment of the problem files' JSON Schema, plain data: ``paper`` (where in the paper),
        ``tables`` (the tables of a file, in words), ``keys`` (the top-level tables a file may have),
        ``required`` (those it must have), ``file`` (JSON Schema of the whole file when ``problem.kind``
        is this kind: ``properties`` of the top-level tables and any other keywords), ``properties``
        (top-level tables only this kind has, with their descriptions), ``defs`` (its ``$defs`` entries),
        optional ``types`` (the ``types.kind`` column of the reference, in words) and ``sections`` (its
        tables in the reference page: ``(def name, path in the file)`` pairs).
    defaults : mapping
        Its defaults of the solve options (``ic``, ``solver``, ``n``: those it honours).
    sweep_columns : tuple of str
        The numeric columns of a sweep row besides the swept keys (what ``sweep --y`` may plot).
    types_words : str
        Its types in words, for the refusal of ``--n`` (empty: said from the types' class).
    closed_form : callable, optional
        ``closed_form(problem, n) -> ClosedForm``: what ``mechdesign analytic`` prints and writes.
    closed_form_table : bool
        The closed form has a menu table (``ClosedForm.table``; ``mechdesign analytic --csv`` writes it).
    figure : str
        How its solved menu is drawn (one of :data:`FIGURES`).
    plot : str
        What ``mechdesign plot`` draws (one of :data:`PLOTS`).
    """

    kind: str
    word: str
    problem: type
    result: type
    reader: Reader
    verbs: tuple[str, ...]
    type_kinds: tuple[str, ...]
    schema: Mapping[str, Any]
    defaults: Mapping[str, object] = field(default_factory=dict)
    sweep_columns: tuple[str, ...] = ("profit",)
    types_words: str = ""
    closed_form: ClosedFormHook | None = None
    closed_form_table: bool = False
    figure: str = "table"
    plot: str = "solved"

    def __post_init__(self) -> None:
        problems = []
        if getattr(self.problem, "kind", None) != self.kind:
            problems.append(f"{self.problem.__name__}.kind is {getattr(self.problem, 'kind', None)!r}")
        if not isinstance(getattr(self.problem, "options", None), tuple):
            problems.append(f"{self.problem.__name__}.options is not a tuple of option names")
        if "solve" not in self.verbs or set(self.verbs) - set(VERBS):
            problems.append(f"verbs {self.verbs} must include 'solve' and be of {VERBS}")
        if ("analytic" in self.verbs) != (self.closed_form is not None):
            problems.append("'analytic' is among the verbs exactly when there is a closed_form hook")
        if self.closed_form_table and self.closed_form is None:
            problems.append("closed_form_table without a closed_form hook")
        if self.figure not in FIGURES:
            problems.append(f"figure {self.figure!r} is not one of {FIGURES}")
        if self.plot not in PLOTS:
            problems.append(f"plot {self.plot!r} is not one of {PLOTS}")
        missing = [k for k in ("paper", "tables", "keys", "required", "file") if k not in self.schema]
        if missing:
            problems.append(f"the schema fragment lacks {missing}")
        if problems:
            raise ValueError(f"setting {self.kind!r}: " + "; ".join(problems))

    @property
    def options(self) -> tuple[str, ...]:
        """The solve options the setting honours (its Problem class's ``options``)."""
        return tuple(self.problem.options)  # type: ignore[attr-defined]
