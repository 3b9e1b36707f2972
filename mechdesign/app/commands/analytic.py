"""``mechdesign analytic``: the closed forms of a problem file, no solver (Prop 3 for single-model,
Props 5-6 for multi-model, Prop 7 for leader-fringe problems): each setting's closed-form hook
(:attr:`~mechdesign.settings.spec.SettingSpec.closed_form`), read from the registry."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mechdesign.app.commands import wrote
from mechdesign.exceptions import ProblemSpecError
from mechdesign.settings.results import jsonable


def _and(words: list[str]) -> str:
    return "no" if not words else words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def run(args: argparse.Namespace) -> int:
    from mechdesign.app.output import check_output_paths, write_outputs
    from mechdesign.problemfile import check_n, check_verb, load_problem
    from mechdesign.registry import SETTINGS

    loaded = load_problem(args.file)
    spec = check_verb(loaded, "analytic")
    assert spec.closed_form is not None  # 'analytic' among the verbs: a SettingSpec has the hook
    n = check_n(loaded, args.n)
    if args.csv and not spec.closed_form_table:
        tables = [s.word for s in SETTINGS.values() if s.closed_form_table]
        others = [s.word for s in SETTINGS.values() if s.closed_form is not None and not s.closed_form_table]
        raise ProblemSpecError("--csv", args.csv, f"writes the menu table of {_and(tables)} problems; use --json for "
                               f"{_and(others)} problems")
    check_output_paths(csv=args.csv, json=args.json)
    closed = spec.closed_form(loaded, n)
    print(closed.text)
    writers: dict[str, object] = {}
    if args.csv:
        table = closed.table
        assert table is not None
        writers[args.csv] = lambda path: table.to_csv(path)
    if args.json:
        text = json.dumps(jsonable(closed.data), indent=1)
        writers[args.json] = lambda path: Path(path).write_text(text)
    wrote(write_outputs(writers))  # type: ignore[arg-type]
    return 0
