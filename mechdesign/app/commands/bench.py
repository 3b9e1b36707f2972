"""``mechdesign bench``: run benchmark suites (:mod:`mechdesign.app.bench`) and print their tables."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from mechdesign.exceptions import ProblemSpecError


def run(args: argparse.Namespace) -> int:
    from mechdesign.app.bench import SUITES, markdown, run_suite
    from mechdesign.app.output import check_output_folder

    suites = args.suite or list(SUITES)
    bad = [x for x in suites if x not in SUITES]
    if bad:
        raise ProblemSpecError("suite", bad[0], "must be one of " + ", ".join(SUITES))
    if not args.timeout > 0 or not np.isfinite(args.timeout):
        raise ProblemSpecError("--timeout", args.timeout, "must be a finite number of seconds > 0")
    check_output_folder("--out", args.out)
    argv = getattr(args, "argv", None) or sys.argv[1:]
    command = "mechdesign " + " ".join(argv)
    for name in suites:
        df = run_suite(name, args.out, quick=args.quick, timeout=args.timeout,
                       progress=not args.no_progress, command=command)
        print(f"\n## {name}\n\n{markdown(df)}\n\nwrote {Path(args.out) / (name + '.csv')} and .md")
    return 0
