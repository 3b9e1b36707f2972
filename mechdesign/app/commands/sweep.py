"""``mechdesign sweep``: solve a grid of instances of a problem file (:mod:`mechdesign.app.sweep`) and print,
write and plot the table."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from mechdesign.app.commands import wrote
from mechdesign.exceptions import ProblemSpecError
from mechdesign.settings.results import jsonable


def run(args: argparse.Namespace) -> int:
    from mechdesign.app.output import check_output_paths, write_outputs
    from mechdesign.app.sweep import check_options, parse_param, provenance, run_sweep, sweep_columns
    from mechdesign.problemfile import check_n, check_verb, load_problem

    params = [parse_param(p) for p in args.param]
    check_options(params, args.workers, args.scheduler)
    base = load_problem(args.file)
    check_verb(base, "sweep")  # the setting's spec lists the verbs that serve it
    check_n(base, args.n)
    if args.y is not None and not args.plot:
        raise ProblemSpecError("--y", args.y, "chooses the column that --plot draws; give --plot PATH too")
    y = args.y or "profit"
    if args.plot:
        columns = sweep_columns(base, [k for k, _ in params])
        if y not in columns:
            raise ProblemSpecError("--y", y, "must be a numeric column of this sweep: " + ", ".join(columns))
    check_output_paths(csv=args.csv, json=args.json, plot=args.plot)
    table = run_sweep(args.file, params, n=args.n, workers=args.workers, scheduler=args.scheduler)
    with pd.option_context("display.width", 160, "display.max_columns", 30, "display.float_format", "{:.6g}".format):
        print(table.to_string(index=False))
    writers: dict[str, object] = {}
    if args.csv:
        writers[args.csv] = lambda path: table.to_csv(path, index=False)
    if args.json:
        payload = json.dumps(jsonable({"file": args.file, "params": args.param, "n": args.n,
                                        "provenance": provenance(), "rows": table.to_dict(orient="records")}),
                             indent=1)
        writers[args.json] = lambda path: Path(path).write_text(payload)
    if args.plot:
        writers[args.plot] = lambda path: _plot_sweep(table, params, y, path)
    wrote(write_outputs(writers))  # type: ignore[arg-type]
    return 0 if (table["status"] == "optimal").all() else 1


def _plot_sweep(table: pd.DataFrame, params: list[tuple[str, list[float]]], y: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = params[0][0]
    fig, ax = plt.subplots(figsize=(6, 4))
    others = [k for k, _ in params[1:]]
    if y not in table.columns:  # every row failed: an empty plot with the column's name
        table = table.assign(**{y: np.nan})
    for key, grp in (table.groupby(others) if others else [((), table)]):
        ax.plot(grp[x], grp[y], "o-", label=str(key) if others else None)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.grid(alpha=0.3)
    if others:
        ax.legend(title=", ".join(others), fontsize=8)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
