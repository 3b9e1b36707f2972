"""``mechdesign solve``: every problem kind through one path, options -> ``problem.solve`` -> summary
and files (JSON output contract, CSV, PNG; all or nothing).

The command line's options go to ``problem.solve``, which puts them over the file's ``[solve]`` table
(:func:`mechdesign.settings.base.resolve_options`), exactly as a Python caller's."""

from __future__ import annotations

import argparse
import sys
import warnings

from mechdesign.exceptions import MechDesignWarning, ProblemSpecError


def run(args: argparse.Namespace) -> int:
    """Every problem kind through one path: options -> ``problem.solve`` -> summary and files."""
    from mechdesign.app.output import check_output_paths, write_outputs
    from mechdesign.app.plotting import plot_result
    from mechdesign.problemfile import check_n, check_verb, load_problem
    from mechdesign.settings.base import SolveOptions

    problem = load_problem(args.file)
    check_verb(problem, "solve")  # every setting serves solve (its spec says so)
    check_n(problem, args.n)  # 2 .. 2,000,000 cells (with a memory estimate), continuous types only
    given = {"n": args.n, "method": args.method, "ic": args.ic, "solver": args.solver, "formulation": args.formulation,
             "polish": False if args.no_polish else None, "time_limit": args.time_limit}
    flags = {"n": "--n", "method": "--method", "ic": "--ic", "solver": "--solver", "formulation": "--formulation",
             "polish": "--no-polish", "time_limit": "--time-limit"}
    opts = {k: v for k, v in given.items() if v is not None}
    for name in opts:  # an option the setting cannot honour is an error, named as the user wrote it
        if name not in problem.options:
            raise ProblemSpecError(flags[name], given[name], f"is not an option of {problem.kind} problems "
                                   f"(problem.kind = {problem.kind!r} takes: "
                                   + ", ".join(flags[o] for o in problem.options if o in flags) + ")")
    options = SolveOptions.make(**opts)  # the file's [solve] table fills the rest (problem.solve resolves)
    outputs = {"--json": args.json, "--csv": args.csv, "--plot": args.plot}
    check_output_paths(**outputs)  # an empty path is refused, not ignored
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MechDesignWarning)
        result = problem.solve(options)
    for w in caught:
        if issubclass(w.category, MechDesignWarning):
            print(f"mechdesign: warning: {w.message}", file=sys.stderr)
    print(result.summary())
    writers = {}
    if args.json:
        writers[args.json] = result.to_json
    if args.csv:
        writers[args.csv] = result.to_csv
    if args.plot:
        writers[args.plot] = lambda path: plot_result(result, path)
    write_outputs(writers)
    for path in writers:
        print(f"wrote {path}")
    return 0 if result.status == "optimal" else 1
