"""``mechdesign validate``: run the proposition checks (:mod:`mechdesign.validation`) and print the pass/fail
table within 100 columns."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from mechdesign.app.commands import wrote
from mechdesign.exceptions import ProblemFileError, ProblemSpecError

#: the printed validation table fits this many columns (the full text goes to --json)
TABLE_WIDTH = 100


def _check_lines(table: pd.DataFrame, width: int = TABLE_WIDTH) -> list[str]:
    """The validation table as lines of at most ``width`` characters: claims wrap in their column, notes
    wrap below (at most two lines; the full note is in --json)."""
    import textwrap

    name_w = max([5] + [len(str(c)) for c in table["check"]]) if len(table) else 5
    name_w = min(name_w, 16)
    head = f"{'check':<{name_w}} pass {'inst':>5} {'max_error':>9} {'tolerance':>9} agree {'secs':>6}  "
    indent = " " * len(head)
    claim_w = max(width - len(head), 20)
    lines = [head + "claim"]
    for row in table.to_dict(orient="records"):
        agree = row["binding_agree"]
        agree_s = "-" if agree == "-" or agree is None else ("yes" if bool(agree) else "no")
        name = str(row["check"])
        name = name if len(name) <= name_w else name[: name_w - 1] + "~"
        cells = (f"{name:<{name_w}} {'PASS' if row['pass'] else 'FAIL'} {int(row['instances']):>5} "
                 f"{float(row['max_error']):>9.2e} {float(row['tolerance']):>9.2e} {agree_s:>5} "
                 f"{float(row['seconds']):>6.2f}  ")
        claim = textwrap.wrap(str(row["claim"]), claim_w) or [""]
        lines.append(cells + claim[0])
        lines.extend(indent + part for part in claim[1:])
        note = str(row.get("note") or "").strip()
        if note:
            parts = textwrap.wrap("note: " + note, claim_w)
            if len(parts) > 2:
                parts = parts[:2]
                more = " ... (--json)"
                parts[1] = parts[1][: claim_w - len(more)].rstrip() + more
            lines.extend(indent + part for part in parts)
    return lines


def run(args: argparse.Namespace) -> int:
    from mechdesign.app.output import check_output_paths, write_outputs
    from mechdesign.validation.validate import CHECKS, run_checks

    unknown = sorted(set(args.only or []) - set(CHECKS))
    if unknown:
        raise ProblemSpecError("--only", unknown, "must name checks among " + ", ".join(CHECKS))
    if args.seed < 0:
        raise ProblemSpecError("--seed", args.seed, "must be an integer >= 0")
    if args.problems is not None and not args.problems.strip():
        raise ProblemSpecError("--problems", args.problems, "must be a folder path (omit it for the shipped problems)")
    if args.problems is None:
        from mechdesign.shipped import shipped_dir

        args.problems = str(shipped_dir())
    if Path(args.problems).exists() and not Path(args.problems).is_dir():
        raise ProblemFileError(f"--problems {args.problems!r} is a file; give the folder of problem files")
    if not Path(args.problems).is_dir():
        raise ProblemFileError(f"folder {args.problems!r} does not exist "
                               "(omit --problems to check the shipped problems)")
    check_output_paths(json=args.json)
    table = run_checks(args.only, args.seed, args.problems)
    for line in _check_lines(table):
        print(line)
    failed = int((~table["pass"]).sum())
    print(f"{len(table) - failed} passed, {failed} failed")
    if args.json:
        text = table.to_json(orient="records", indent=1)
        wrote(write_outputs({args.json: lambda path: Path(path).write_text(text)}))
    return 0 if failed == 0 else 1
