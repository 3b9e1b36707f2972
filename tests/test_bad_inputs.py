"""The bad-input harness (issue 22): problem files mutated from small seeds of every kind, field by field, and
every option of every verb given values it must refuse, all run through the command in-process.

Cases are generated, not listed: every leaf of every seed file gets the values just outside its JSON Schema
range (:func:`mechdesign.app.schema_defs.problem_schema`), wrong types, extremes (0, -1, 1e300, 1e-300, nan,
inf), duplicates and a missing key; every table an unknown key; every option of the parser
(:func:`mechdesign.app.cli._parser`) out-of-range numbers, words, empty and unwritable paths, bad choices.
Each case must end without a traceback and within :data:`CASE_SECONDS`: refused with exit 2 and one line,
``mechdesign: error: ...``, naming the field or the option; or solved (exit 0) with no nan or inf printed;
or, exit 1, an honest solver verdict. The default run takes an even sample of :data:`DEFAULT_CASES` cases;
``pytest -m slow`` runs them all.
"""

from __future__ import annotations

import copy
import math
import re
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mechdesign.app.cli import _parser, main
from mechdesign.app.schema_defs import problem_schema

#: the most seconds one case may take (a hang fails the case)
CASE_SECONDS = 60
#: cases in the default run (an even sample of all of them; ``-m slow`` runs every case)
DEFAULT_CASES = 300

# --------------------------------------------------------------------------------------------- the seeds
#: a technology with one inference class (Psi(x) = x^0.5, cost 1) and no fine-tuning
ONE_CLASS = """[technology]
sigma = 0.5
[technology.inference]
alpha = [1.0]
cost = [1.0]
"""
#: one small problem per kind (and type kind), quick to solve, so that accepted mutations run to the end
SEEDS: dict[str, str] = {
    "single_model": """
[problem]
kind = "single_model"
[technology]
sigma = 0.5
[technology.inference]
names = ["input", "output"]
alpha = [0.6, 0.4]
rho = 0.0
cost = [1.0, 3.0]
[technology.finetuning]
kind = "ces"
sigma_hat = 0.25
cost = [2.0]
[types]
kind = "distribution"
n = 20
[types.distribution]
kind = "beta"
a = 2.0
b = 2.0
lo = 0.0
hi = 1.0
""",
    "single_discrete": """
[technology]
[technology.inference]
exponents = [0.3, 0.2]
cost = [1.0, 3.0]
[technology.finetuning]
kind = "baseline"
b = 0.1
gamma = 0.25
cost = [2.0]
[types]
kind = "discrete"
theta = [0.5, 1.0, 1.5]
prob = [0.3, 0.3, 0.4]
[solve]
method = "structured"
""",
    "contractible": """
[problem]
kind = "contractible"
""" + ONE_CLASS + """[types]
kind = "task_profiles"
w = [[1.0, 1.0, 0.2], [0.9, 1.4, 0.6]]
prob = [0.6, 0.4]
measures = [0.3, 0.3, 0.4]
[solve]
ic = "all"
""",
    "value_scale": """
[problem]
kind = "value_scale"
""" + ONE_CLASS + """[types]
kind = "value_scale"
[types.w]
kind = "distribution"
n = 4
[types.w.distribution]
kind = "uniform"
lo = 0.0
hi = 1.0
[types.s]
values = [0.5, 1.0]
prob = [0.5, 0.5]
""",
    "multimodel": """
[problem]
kind = "multimodel"
[technology]
sigma = 0.5
[[models]]
name = "base"
sigma_hat = 0.1
kappa = 0.5
[[models]]
name = "reasoning"
sigma_hat = 0.3
kappa = 0.4
[types]
kind = "distribution"
n = 20
[types.distribution]
kind = "uniform"
lo = 0.0
hi = 1.0
""",
    "leader_fringe": """
[problem]
kind = "leader_fringe"
[technology]
sigma = 0.5
[leader]
sigma_hat = 0.25
cost = 0.125
[fringe]
sigma_hat = 0.0
cost = 0.1
[types]
kind = "distribution"
n = 20
[types.distribution]
kind = "uniform"
lo = 0.0
hi = 1.0
""",
    "multidim_points": """
[problem]
kind = "multidim"
[types]
points = [[1.0, 1.0], [1.0, 0.5], [2.0, 1.0]]
prob = [0.3, 0.3, 0.4]
[cost]
kind = "power"
c = [1.0, 2.0]
p = [2.0, 1.5]
""",
    "multidim_grid": """
[problem]
kind = "multidim"
[types]
grid = { lo = [1.0, 1.0], hi = [2.0, 2.0], n = [3, 3] }
[cost]
kind = "quadratic"
A = [[1.0, 0.2], [0.2, 1.0]]
""",
}

# ----------------------------------------------------------------------------------------- a TOML writer


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)  # pragma: no cover


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_value(key)


def to_toml(data: dict[str, Any]) -> str:
    """``data`` as TOML: one ``key = inline value`` line per top-level key (valid for any nesting)."""
    return "".join(f"{_key(k)} = {_toml_value(v)}\n" for k, v in data.items())


# ------------------------------------------------------------------------------------- schema ranges


def _schema_leaves() -> dict[str, list[dict[str, Any]]]:
    """Every property schema of the problem-file schema, by key name (all tables; ranges and enums)."""
    out: dict[str, list[dict[str, Any]]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, sub in (node.get("properties") or {}).items():
                if isinstance(sub, dict):
                    out.setdefault(key, []).append(sub)
            for sub in node.values():
                walk(sub)
        elif isinstance(node, list):
            for sub in node:
                walk(sub)

    walk(problem_schema())
    return out


def _outside(spec: dict[str, Any], integer: bool) -> list[Any]:
    """Values just outside the numeric range of ``spec`` (a number's, or an array's items')."""
    out: list[Any] = []
    step = 1 if integer else None
    if "exclusiveMinimum" in spec:
        out.append(spec["exclusiveMinimum"])
    if "minimum" in spec:
        out.append(spec["minimum"] - 1 if step else math.nextafter(float(spec["minimum"]), -math.inf))
    if "exclusiveMaximum" in spec:
        out.append(spec["exclusiveMaximum"])
    if "maximum" in spec:
        out.append(spec["maximum"] + 1 if step else math.nextafter(float(spec["maximum"]), math.inf))
    return out


# ------------------------------------------------------------------------------------------ mutations

MISSING = object()
EXTREMES: tuple[Any, ...] = (0, -1, 1e300, -1e300, 1e-300, math.nan, math.inf, -math.inf)
WRONG_TYPES: tuple[Any, ...] = ("abc", True, {"x": 1})


@dataclass(frozen=True)
class Case:
    """One run of the command: ``argv`` (``{file}`` and ``{dir}`` filled in) and the file's text, if any."""

    label: str
    argv: tuple[str, ...]
    text: str | None = None
    names: tuple[str, ...] = ()  # a refusal must name one of these (the field or option)
    menu: str | None = None  # the text of {dir}/menu.csv (audit), when not the default one
    refuse: bool = False  # the case must be refused (exit 2), not merely end well


def _leaves(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(data, dict):
        yield path, data
        for key, value in data.items():
            yield from _leaves(value, path + (key,))
    elif isinstance(data, list) and data and all(isinstance(v, dict) for v in data):
        for i, value in enumerate(data):
            yield from _leaves(value, path + (i,))
    else:
        yield path, data


def _set(data: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(data)
    node: Any = out
    for key in path[:-1]:
        node = node[key]
    if value is MISSING:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


def _mutations(value: Any, key: str, schema: dict[str, list[dict[str, Any]]]) -> list[tuple[str, Any]]:
    """``(label, new value)`` for one leaf."""
    specs = schema.get(key, [])
    out: list[tuple[str, Any]] = [("missing", MISSING)]
    out += [(f"wrong type {v!r}", v) for v in WRONG_TYPES]
    if isinstance(value, bool):
        return out
    if isinstance(value, (int, float)):
        integer = isinstance(value, int)
        out += [(f"extreme {v!r}", v) for v in EXTREMES]
        out += [("list instead of a number", [value])]
        if integer:
            out.append(("not an integer", value + 0.5))
        for spec in specs:
            out += [(f"just outside the range: {v!r}", v) for v in _outside(spec, integer)]
    elif isinstance(value, str):
        out += [("unknown word", "no_such_kind"), ("empty string", ""), ("number instead of a word", 1.0)]
        for spec in specs:
            if "enum" in spec:
                out.append(("case changed", value.upper()))
    elif isinstance(value, list):
        out += [("empty list", []), ("a number instead of a list", 1.0), ("a word in the list", ["abc"] + value[1:])]
        if value and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            out += [(f"an entry {v!r}", [v] + value[1:]) for v in EXTREMES]
            out += [("duplicate entry", [value[0]] + value), ("reversed", value[::-1]), ("one entry", value[:1]),
                    ("one entry more", value + [value[-1]])]
            for spec in specs:
                items = spec.get("items") if isinstance(spec.get("items"), dict) else {}
                out += [(f"an entry just outside the range: {v!r}", [v] + value[1:])
                        for v in _outside(items, False)]
        elif value and all(isinstance(v, list) for v in value):
            out += [("ragged rows", [value[0] + [1.0]] + value[1:]), ("duplicate row", [value[0]] + value),
                    ("a row with nan", [[math.nan] * len(value[0])] + value[1:]),
                    ("a row with 1e300", [[1e300] * len(value[0])] + value[1:]),
                    ("a negative row", [[-1.0] * len(value[0])] + value[1:]), ("empty rows", [[]])]
        elif value and all(isinstance(v, str) for v in value):
            out += [("duplicate names", [value[0]] * len(value)), ("empty name", [""] + value[1:])]
    return out


def _file_cases() -> list[Case]:
    """Every leaf and table of every seed, mutated (:func:`_mutations`), through ``solve`` (and ``analytic``
    where it has closed forms)."""
    import tomllib

    schema = _schema_leaves()
    cases: list[Case] = []
    for seed, text in SEEDS.items():
        data = tomllib.loads(text)
        verbs = ["solve"] if seed not in ("single_model", "leader_fringe") else ["solve", "analytic"]
        for path, value in _leaves(data):
            if not path:
                continue
            where = ".".join(str(p) for p in path)
            names = tuple(str(p) for p in path if not isinstance(p, int))
            mutations: list[tuple[str, Any]] = []
            if isinstance(value, dict):
                mutations = [("unknown key", {**value, "no_such_key": 1.0}), ("a number instead of a table", 1.0)]
            else:
                mutations = _mutations(value, str(path[-1]), schema)
            if isinstance(path[-1], str) and path[-1] == "name" and len(path) >= 2 and isinstance(path[-2], int):
                others = [m.get("name") for m in data[path[0]] if isinstance(m, dict)]
                mutations.append(("duplicate model name", others[1 - path[-2]] if len(others) == 2 else "x"))
            for label, new in mutations:
                mutated = _set(data, path, new)
                for verb in verbs:
                    cases.append(Case(f"{seed}: {where}: {label} ({verb})", (verb, "{file}"), to_toml(mutated),
                                      names + (seed.split("_")[0],)))
    return cases


# ------------------------------------------------------------------------------------------ options

#: a cheap valid invocation of each verb (``{file}``: the single-model seed; ``{dir}``: a scratch folder)
BASE_ARGV: dict[str, tuple[str, ...]] = {
    "solve": ("solve", "{file}"),
    "analytic": ("analytic", "{file}"),
    "plot": ("plot", "{file}", "--out", "{dir}/p.png"),
    "price": ("price", "{file}"),
    "audit": ("audit", "{dir}/menu.csv", "--problem", "{file}"),
    "validate": ("validate", "--only", "lemma1"),
    "sweep": ("sweep", "{file}", "--param", "technology.sigma=0.4,0.5", "--workers", "1"),
    "bench": ("bench", "scaling", "--out", "{dir}/bench", "--quick", "--no-progress"),  # suites stubbed out
    "calibrate": ("calibrate", "observed/poe-2025"),
    "schema": ("schema",),
    "problems": ("problems",),
}
BAD_INTS = ("0", "-1", "1e9", "abc", "", "99999999999", "2.5")
BAD_FLOATS = ("nan", "inf", "-inf", "-1", "0", "abc", "", "1e309")
#: input files a verb must refuse: missing, a folder, not TOML/CSV text, empty, an unknown shipped name
BAD_FILES = ("{dir}/missing.toml", "{dir}", "{dir}/ro", "{dir}/binary.bin", "{dir}/empty.toml", "no_such_problem")
#: paths an output option must refuse
BAD_PATHS = ("", "{dir}/missing/x.json", "{dir}", "{dir}/ro/x.json")


def _option_cases() -> list[Case]:
    """Every option of every verb (from the parser) with values it must not take silently, an unknown
    option per verb, and bad input files in place of each verb's file."""
    cases: list[Case] = []
    sub = next(a for a in _parser()._actions if a.dest == "command")
    for verb, parser in sub.choices.items():  # type: ignore[union-attr]
        base = BASE_ARGV[verb]
        for action in parser._actions:
            if not action.option_strings or action.dest in ("help",) or action.nargs == 0:
                continue
            opt = action.option_strings[-1]
            values: list[str] = []
            if action.choices:
                values += ["bogus", ""]
            elif action.type is int:
                values += list(BAD_INTS)
            elif action.type is float:
                values += list(BAD_FLOATS)
            elif action.metavar in ("PATH", "DIR") or action.dest in ("json", "csv", "plot", "out", "dir",
                                                                       "problems"):
                values += list(BAD_PATHS)
                if action.dest in ("plot", "out") and verb != "bench":
                    values.append("{dir}/x.txt")
            else:
                values += ["", "no_such_thing", "a=b=c"]
            for value in values:
                argv = list(base)
                if opt in argv:  # replace the base's own value
                    i = argv.index(opt)
                    del argv[i:i + 2]
                n_args = action.nargs if isinstance(action.nargs, int) else 1
                argv += [opt] + [value] * n_args
                cases.append(Case(f"{verb} {opt} {value!r}", tuple(argv), None, (opt, action.dest)))
        cases.append(Case(f"{verb}: unknown option", base + ("--no-such-option",), None, ("--no-such-option",)))
        if len(base) > 1 and not base[1].startswith("-"):  # the verb's file (problem, menu or price page)
            for value in BAD_FILES:
                cases.append(Case(f"{verb} file {value!r}", (verb, value) + base[2:], None, ("file", "menu", "suite"),
                                  refuse=True))
    return cases


#: posted menus (``audit``) it must refuse: repeated or missing columns, cells that are not finite numbers
BAD_MENUS = {"repeated column": "transfer,quality,quality\n0.1,0.2,0.3\n",
             "two price columns": "transfer,fee,quality\n0.1,0.1,0.2\n", "no quality": "transfer\n0.1\n",
             "a word": "transfer,quality\nabc,0.2\n", "nan": "transfer,quality\nnan,0.2\n",
             "inf": "transfer,quality\n0.1,inf\n", "negative quality": "transfer,quality\n0.1,-1\n",
             "empty cell": "transfer,quality\n,0.2\n", "header only": "transfer,quality\n",
             "empty": "", "markup zero": "committed_spend,markup\n1.0,0\n",
             "type not an integer": "type,transfer,quality\n0.5,0.1,0.2\n"}


def _menu_cases() -> list[Case]:
    """``audit`` of each bad posted menu (all must be refused)."""
    return [Case(f"audit menu: {label}", BASE_ARGV["audit"], None,
                 ("transfer", "quality", "fee", "markup", "type", "menu"), text, refuse=True)
            for label, text in BAD_MENUS.items()]


ALL_CASES = _file_cases() + _option_cases() + _menu_cases()


def _sample(cases: list[Case], k: int) -> list[Case]:
    """An even sample of ``k`` cases (every seed, field and option represented in turn)."""
    if len(cases) <= k:
        return cases
    step = len(cases) / k
    return [cases[int(i * step)] for i in range(k)]


# ------------------------------------------------------------------------------------------ the check

SINGLE_SEED = SEEDS["single_model"]


class _Hang(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise _Hang()


def run_case(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str | None:
    """Run one case; None when it behaved, else what went wrong."""
    (tmp_path / "ro").mkdir(exist_ok=True)
    (tmp_path / "ro").chmod(0o555)
    (tmp_path / "menu.csv").write_text(case.menu if case.menu is not None else "transfer,quality\n0.1,0.2\n")
    (tmp_path / "binary.bin").write_bytes(bytes(range(256)))
    (tmp_path / "empty.toml").write_text("")
    file = tmp_path / "p.toml"
    file.write_text(case.text if case.text is not None else SINGLE_SEED)
    argv = [a.format(file=file, dir=tmp_path) for a in case.argv]
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(CASE_SECONDS)
    try:
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
    except _Hang:
        return f"no answer within {CASE_SECONDS} s"
    except Exception as exc:  # noqa: BLE001 - a traceback is what the harness looks for
        return f"traceback: {type(exc).__name__}: {exc}"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
        out = capsys.readouterr()
    lines = out.err.strip().splitlines()
    if case.refuse and code != 2:
        return f"exit {code} where a refusal (exit 2) was due: {out.err[:300]!r}"
    if code == 2:
        if len(lines) != 1 or not lines[0].startswith("mechdesign: error: "):
            return f"exit 2 without one error line: {out.err!r}"
        if not any(name in lines[0] for name in case.names):
            return f"the error names none of {case.names}: {lines[0]}"
        return None
    if code == 0:
        if re.search(r"\b(nan|inf)\b", out.out, flags=re.IGNORECASE):
            return f"exit 0 printing nan or inf: {out.out[:300]!r}"
        return None
    if code == 1:
        if "Traceback" in out.err:
            return f"exit 1 with a traceback: {out.err[:300]}"
        return None
    return f"exit {code}: {out.err[:300]!r}"


def _check(cases: list[Case], tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str],
           monkeypatch: pytest.MonkeyPatch) -> None:
    import pandas as pd

    import mechdesign.app.bench as bench

    # an accepted bench invocation would run for minutes: its suites are stubbed (the checks before them run)
    monkeypatch.setattr(bench, "run_suite", lambda *a, **k: pd.DataFrame({"N": [1]}))
    monkeypatch.setattr(bench, "markdown", lambda df: "")
    bad = []
    for case in cases:
        problem = run_case(case, tmp_path_factory.mktemp("case"), capsys)
        if problem is not None:
            bad.append(f"{case.label}: {problem}")
    assert not bad, f"{len(bad)} of {len(cases)} cases misbehaved:\n" + "\n".join(bad)


def test_the_harness_has_several_hundred_cases() -> None:
    assert len(ALL_CASES) >= 500
    assert len(_sample(ALL_CASES, DEFAULT_CASES)) == DEFAULT_CASES
    assert {c.label.split(":")[0] for c in ALL_CASES} >= set(SEEDS)


def test_bad_inputs_sample(tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str],
                           monkeypatch: pytest.MonkeyPatch) -> None:
    _check(_sample(ALL_CASES, DEFAULT_CASES), tmp_path_factory, capsys, monkeypatch)


@pytest.mark.slow
def test_bad_inputs_all(tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str],
                        monkeypatch: pytest.MonkeyPatch) -> None:
    _check(ALL_CASES, tmp_path_factory, capsys, monkeypatch)
