"""The ``mechdesign`` command: ``solve``, ``analytic``, ``price``, ``audit``, ``validate`` and ``problems``.

Errors in the input or the solve print one line, ``mechdesign: error: ...``, and exit non-zero
(2 for bad input, 1 for solver or audit failures); no traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mechdesign import __version__
from mechdesign.engine.program import IC_STRATEGIES
from mechdesign.exceptions import MechDesignError, MechDesignWarning, ProblemFileError, ProblemSpecError
from mechdesign.settings.results import _jsonable


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mechdesign",
        description="Optimal price menus for LLM tokens (Bergemann, Bonatti and Smolin 2026), solved as "
                    "convex screening programs and checked against the paper's closed forms.",
    )
    p.add_argument("--version", action="version", version=f"mechdesign {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("solve", help="solve a problem file and print the optimal menu",
                       description="Solve the discretised screening program of a problem file, audit it "
                                   "against every IC/IR constraint and compare it with the closed form.")
    s.add_argument("file", help="problem file (TOML), e.g. problems/single_model_cobb_douglas.toml")
    s.add_argument("--n", type=int, default=None, help="number of type cells (continuous distributions)")
    s.add_argument("--method", choices=("auto", "structured", "conic"), default=None,
                   help="single-model types: the exact structured solver or the cvxpy program (default auto: "
                        "structured unless --ic/--solver/--formulation/--no-polish ask for the conic program)")
    s.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                   help="stop with an error (exit 1) when the solve takes longer (the only use of the clock)")
    s.add_argument("--ic", choices=IC_STRATEGIES, default=None, help="IC strategy of the conic program (default adaptive)")
    s.add_argument("--solver", default=None, help="cvxpy solver of the conic program (default CLARABEL)")
    s.add_argument("--json", metavar="PATH", help="write the result as JSON (output contract)")
    s.add_argument("--csv", metavar="PATH", help="write the menu table as CSV")
    s.add_argument("--plot", metavar="PATH", help="write a PNG of numeric vs analytic Q and t")
    s.add_argument("--no-polish", action="store_true",
                   help="one interior-point solve at the final accuracy, no polish or refinement (fastest)")
    s.add_argument("--formulation", choices=("auto", "quality", "tokens", "profile"), default=None,
                   help="single-model technology in the program: Lemma 3's cost of quality (one cone per "
                        "type) or token variables (eq. 9); auto = quality when homogeneous")

    a = sub.add_parser("analytic", help="print the closed-form menu of a problem file (no solver)",
                       description="Exact discrete menu (Prop 3 with discrete, ironed virtual values) and, "
                                   "for continuous distributions, the exclusion cutoff and ironing intervals.")
    a.add_argument("file", help="problem file (TOML)")
    a.add_argument("--n", type=int, default=None,
                   help="number of type cells (continuous distributions of single-model and multi-model problems)")
    a.add_argument("--csv", metavar="PATH", help="write the analytic menu as CSV (single-model problems)")
    a.add_argument("--json", metavar="PATH", help="write the closed forms (and the menu) as JSON")

    pl = sub.add_parser("plot", help="plot a problem: Figure 1 for leader_fringe files, Q and t otherwise",
                        description="leader_fringe: the paper's Figure 1 (leader and fringe quantities under the "
                                    "efficient allocation, competition and integrated monopoly, cutoffs marked); "
                                    "single_model: numeric vs analytic Q and t.")
    pl.add_argument("file", help="problem file (TOML)")
    pl.add_argument("--out", required=True, metavar="PATH", help="PNG to write")

    pr = sub.add_parser("price", help="post the optimal menu as a pricing page (Defs 1-3, Prop 4)",
                        description="Solve the problem, turn the optimal menu into a maximum-spend, "
                                    "minimum-spend or two-part-tariff pricing page, and check it by "
                                    "simulating every buyer type.")
    pr.add_argument("file", help="problem file (TOML)")
    pr.add_argument("--format", dest="fmt", choices=("max-spend", "min-spend", "two-part"), default="max-spend",
                    help="maximum-spend (Def 1, the default), minimum-spend (Def 2) or two-part tariff (Def 3)")
    pr.add_argument("--n", type=int, default=None, help="number of type cells (continuous distributions)")
    pr.add_argument("--tiers", type=int, default=None, metavar="K",
                    help="post the best menu with at most K items instead of the full optimal menu")
    pr.add_argument("--report", action="store_true",
                    help="also compare simpler formats: K = 1..6 items, one two-part tariff, one linear price")
    pr.add_argument("--plot", metavar="PATH", help="PNG: markups m and r by type, profit share against K")
    pr.add_argument("--csv", metavar="PATH", help="write the pricing page as CSV")
    pr.add_argument("--json", metavar="PATH", help="write the pricing page and its check as JSON")

    au = sub.add_parser("audit", help="audit a posted menu against a problem's types",
                        description="Each type picks its best item of MENU.csv or nothing (ties go to the seller, "
                                    "as in the buyer simulation of `price`). Columns: a price (transfer, fee, "
                                    "payment or upfront_fee) and a quality (quality, or budget / credit_budget at "
                                    "marginal-cost prices, divided by markup when given); or a min-spend or two-part "
                                    "page (committed_spend or fixed_fee, and markup). Reads the CSV of "
                                    "`mechdesign solve --csv` and of `mechdesign price --csv`. With a type column "
                                    "(the type each item is for) the menu is audited as a direct menu: exit 1 when "
                                    "a type strictly prefers another type's item (IC) or its own item pays less "
                                    "than nothing (IR). Prints choices, payoffs, profit and the share of the optimum.")
    au.add_argument("menu", help="CSV file with the posted menu")
    au.add_argument("--problem", required=True, help="problem file (TOML) with the technology and types")
    au.add_argument("--n", type=int, default=None, help="number of type cells (continuous distributions)")

    va = sub.add_parser("validate", help="run every proposition check over shipped and random instances",
                        description="Compare independent numerical computations with the paper's closed forms "
                                    "(Lemmas 1, 3; Props 1-4, 9; Cor 1) and print a pass/fail table.")
    va.add_argument("--only", nargs="+", metavar="CHECK", help="run only these checks (e.g. prop3 prop9)")
    va.add_argument("--seed", type=int, default=0, help="seed of the random instances (default 0)")
    va.add_argument("--problems", default="problems", help="folder of shipped problems (default ./problems)")
    va.add_argument("--json", metavar="PATH", help="write the table as JSON (full claims and notes)")

    sw = sub.add_parser("sweep", help="solve a grid of instances of a problem file in parallel",
                        description="Set problem-file keys (table.key) to every point of a grid, solve each instance "
                                    "(local processes, or a Dask cluster with --scheduler) and print a tidy table.")
    sw.add_argument("file", help="problem file (TOML)")
    sw.add_argument("--param", action="append", required=True, metavar="KEY=LO:HI:N",
                    help="a number key of the file and its values (lo:hi:count or a,b,c); repeat for a grid "
                         "(at most 100,000 points)")
    sw.add_argument("--n", type=int, default=None, help="type cells per instance (continuous distributions)")
    sw.add_argument("--workers", type=int, default=None,
                    help="local processes, >= 1 (default: all cores; not with --scheduler)")
    sw.add_argument("--scheduler", metavar="ADDRESS",
                    help="Dask distributed scheduler, e.g. tcp://127.0.0.1:8786 (needs the distributed package)")
    sw.add_argument("--csv", metavar="PATH", help="write the table as CSV")
    sw.add_argument("--json", metavar="PATH", help="write the table and provenance as JSON")
    sw.add_argument("--plot", metavar="PATH", help="PNG of --y against the first swept parameter")
    sw.add_argument("--y", default=None, help="output column to plot with --plot (default profit)")

    be = sub.add_parser("bench", help="run benchmark suites and write CSV and markdown tables",
                        description="Suites: scaling (one-dimensional types, with the hand-written every-pair "
                                    "formulation as baseline), contractible (N x T), accuracy (fitted rates), peers "
                                    "(mechaudit), solvers (Clarabel vs SCS). Each case runs in a fresh process.")
    be.add_argument("suite", nargs="*", help="suites to run (default: all): default scaling contractible accuracy peers solvers")
    be.add_argument("--out", required=True, metavar="DIR",
                    help="folder for <suite>.csv and <suite>.md (created if needed)")
    be.add_argument("--quick", action="store_true", help="small grids (a few minutes in all)")
    be.add_argument("--timeout", type=float, default=600.0, help="seconds per case (default 600)")
    be.add_argument("--no-progress", action="store_true", help="no progress bar")

    from mechdesign.app import calibrate

    calibrate.add_parser(sub)

    sc = sub.add_parser("schema", help="print the JSON Schema (draft 2020-12) of problem files",
                        description="Print the JSON Schema of the TOML problem files (the same definitions as the "
                                    "problem-file reference; tests check them against the reader), or with "
                                    "--markdown the reference page docs/problem-files.md generated from it.")
    sc.add_argument("--markdown", action="store_true", help="print the problem-file reference page instead")

    ls = sub.add_parser("problems", help="list the shipped problems (name, kind, description)",
                        description="List the shipped problems: give a name to solve, analytic, plot, price or "
                                    "audit, e.g. `mechdesign solve single_model_cobb_douglas`.")
    ls.add_argument("--dir", default=None, metavar="DIR",
                    help="list the problem files in DIR (and its subfolders) instead of the shipped ones")
    return p


def _solve(args: argparse.Namespace) -> int:
    """Every problem kind through one path: options -> ``problem.solve`` -> summary and files."""
    from mechdesign.app.output import check_output_paths, write_outputs
    from mechdesign.app.plotting import plot_result
    from mechdesign.problemfile import check_n, load_problem
    from mechdesign.settings.base import SolveOptions

    problem = load_problem(args.file)
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
    defaults = problem.source.get("solve_defaults", {})
    assert isinstance(defaults, dict)
    for name, value in defaults.items():  # the file's [solve] table, where the command line is silent
        if name in problem.options and name not in opts and not (name == "n" and problem.kind == "single_model"):
            opts[name] = value
    options = SolveOptions.make(**opts)
    outputs = {"--json": args.json, "--csv": args.csv, "--plot": args.plot}
    check_output_paths(**{k: v for k, v in outputs.items() if v})
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


def _plot(args: argparse.Namespace) -> int:
    """Figure 1 for leader-fringe files (the closed forms); any other kind: its solved menu."""
    from mechdesign.app.output import check_output_paths, write_outputs
    from mechdesign.app.plotting import plot_leader_fringe, plot_result
    from mechdesign.problemfile import load_problem

    loaded: Any = load_problem(args.file)
    check_output_paths(out=args.out)
    if loaded.kind == "leader_fringe":
        lf = loaded
        written = write_outputs({args.out: lambda path: plot_leader_fringe(lf.market, lf.dist, path, lf.name)})
        print(loaded.report())
    else:
        result = loaded.solve()
        written = write_outputs({args.out: lambda path: plot_result(result, path)})
    _wrote(written)
    return 0


def _wrote(paths: Sequence[Path]) -> None:
    for path in paths:
        print(f"wrote {path}")


def _bench(args: argparse.Namespace) -> int:
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


def _sweep(args: argparse.Namespace) -> int:
    from mechdesign.app.output import check_output_paths, write_outputs
    from mechdesign.app.sweep import check_options, parse_param, provenance, run_sweep, sweep_columns
    from mechdesign.problemfile import check_n, load_problem

    params = [parse_param(p) for p in args.param]
    check_options(params, args.workers, args.scheduler)
    base = load_problem(args.file)
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
        payload = json.dumps(_jsonable({"file": args.file, "params": args.param, "n": args.n,
                                        "provenance": provenance(), "rows": table.to_dict(orient="records")}),
                             indent=1)
        writers[args.json] = lambda path: Path(path).write_text(payload)
    if args.plot:
        writers[args.plot] = lambda path: _plot_sweep(table, params, y, path)
    _wrote(write_outputs(writers))  # type: ignore[arg-type]
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


def _analytic(args: argparse.Namespace) -> int:
    from mechdesign.app.output import check_output_paths, write_outputs
    from mechdesign.problemfile import check_kind, check_n, load_problem
    loaded: Any = load_problem(args.file)
    check_kind(loaded, tuple(_ANALYTIC), "analytic")
    if loaded.kind == "leader_fringe" and args.n is not None:
        raise ProblemSpecError("--n", args.n, "does not apply to leader-fringe problems: Prop 7's cutoffs are closed "
                               "forms of the continuous distribution (use `mechdesign solve --n` for the numeric menu)")
    n = check_n(loaded, args.n)
    if args.csv and loaded.kind != "single_model":
        raise ProblemSpecError("--csv", args.csv, "writes the menu table of single-model problems; use --json for "
                               "multi-model and leader-fringe problems")
    check_output_paths(csv=args.csv, json=args.json)
    writers: dict[str, object] = {}
    _ANALYTIC[loaded.kind](loaded, args, n, writers)
    _wrote(write_outputs(writers))  # type: ignore[arg-type]
    return 0


def _analytic_leader_fringe(loaded: Any, args: argparse.Namespace, n: int | None, writers: dict[str, object]) -> None:
    """Prop 7's cutoffs and regions (closed forms of the continuous distribution)."""
    print(loaded.report())
    if args.json:
        lf = loaded
        writers[args.json] = lambda path: lf.to_json(path)


def _analytic_multimodel(loaded: Any, args: argparse.Namespace, n: int | None, writers: dict[str, object]) -> None:
    """Props 5-6: switch types, jump ratios and the exact discrete menu."""
    print(loaded.report(n))
    if args.json:
        data = {"problem": {"name": loaded.name, "kind": "multimodel"}, "analytic": loaded.analytic(n)}
        text = json.dumps(_jsonable(data), indent=1)
        writers[args.json] = lambda path: Path(path).write_text(text)


def _analytic_single_model(problem: Any, args: argparse.Namespace, n: int | None,
                           writers: dict[str, object]) -> None:
    """Prop 3: the exact discrete menu (and the continuous closed form for continuous types)."""
    menu = problem.analytic(n)
    tech = problem.technology
    table = pd.DataFrame({"theta": menu.types.theta, "prob": menu.types.prob, "virtual_value": menu.phi,
                          "ironed": menu.phi_bar, "quality": menu.quality, "transfer": menu.transfer,
                          "rent": menu.rent})
    for j, name in enumerate(problem.inference_names):
        table[f"X_{name}"] = menu.X[:, j]
    for k, name in enumerate(problem.finetuning_names):
        table[f"Z_{name}"] = menu.Z[:, k]
    table.index.name = "type"
    print(f"Exact discrete menu of {problem.name} (Prop 3, discrete virtual values, ironed)")
    if tech.is_homogeneous:
        print(f"C(Q) = {tech.C0:.10g} * Q^{tech.cost_exponent:.6g}  (Lemma 3)")
    print(f"profit {menu.profit:.10g}, surplus {menu.surplus:.10g}, consumer surplus {menu.consumer_surplus:.10g}")
    low = menu.lowest_served
    print("lowest served type: " + ("none" if low is None else f"{low} (theta = {menu.types.theta[low]:.6g})"))
    print(f"pooled blocks (ironing): {menu.pooled_blocks or 'none'}")
    cont = problem.continuous()
    if cont is not None:
        print(f"continuous closed form: exclusion cutoff {cont.cutoff:.8g}; ironing intervals "
              f"{[(round(a, 6), round(b, 6)) for a, b in cont.pooled_intervals] or 'none'}; "
              f"profit {cont.profit():.10g}")
    with pd.option_context("display.width", 140, "display.max_columns", 20, "display.float_format", "{:.6g}".format):
        shown = table if len(table) <= 20 else pd.concat([table.head(10), table.tail(10)])
        print(shown.to_string())
    if args.csv:
        writers[args.csv] = lambda path: table.to_csv(path)
    if args.json:
        data = {"problem": {"name": problem.name, "kind": "single_model", "n": int(menu.types.n)},
                "analytic": {"kind": "Prop 3 (exact discrete menu, ironed virtual values)",
                             "profit": menu.profit, "surplus": menu.surplus,
                             "consumer_surplus": menu.consumer_surplus, "lowest_served": low,
                             "pooled_blocks": menu.pooled_blocks,
                             "cost": ({"C0": tech.C0, "exponent": tech.cost_exponent} if tech.is_homogeneous
                                      else None),
                             "continuous": (None if cont is None else
                                            {"cutoff": cont.cutoff, "pooled_intervals": cont.pooled_intervals,
                                             "profit": cont.profit()})},
                "menu": table.reset_index().to_dict(orient="records")}
        text = json.dumps(_jsonable(data), indent=1)
        writers[args.json] = lambda path: Path(path).write_text(text)


#: the closed forms each problem kind offers to `mechdesign analytic`, by kind
_ANALYTIC = {"single_model": _analytic_single_model, "multimodel": _analytic_multimodel,
             "leader_fringe": _analytic_leader_fringe}


def _price(args: argparse.Namespace) -> int:
    from mechdesign.analytic.formats import build_format, check_format
    from mechdesign.app.output import check_output_paths, write_outputs
    from mechdesign.problemfile import check_n, load_single_model

    problem = load_single_model(args.file, "price")
    n = check_n(problem, args.n)
    if args.tiers is not None:
        from mechdesign import _validate as V

        V.integer("--tiers", args.tiers, 1)
    check_output_paths(plot=args.plot, csv=args.csv, json=args.json)
    types = problem.discrete_types(n)
    theta, prob = types.theta, types.prob
    if args.tiers is not None:
        from mechdesign.analytic.tiers import best_k_item_menu

        tm = best_k_item_menu(problem.technology, types, args.tiers)
        served = tm.assignment >= 0
        Q = np.where(served, tm.quality[np.maximum(tm.assignment, 0)], 0.0)
        T = np.where(served, tm.transfer[np.maximum(tm.assignment, 0)], 0.0)
        source = f"best menu with at most {args.tiers} items"
    else:
        result = problem.solve(n=n)
        Q, T = result.quality, result.transfer
        source = f"optimal menu, status {result.status}"
    fmt = build_format(args.fmt, problem.technology, theta, Q, T)
    page = fmt.table(problem.technology, problem.inference_names, problem.finetuning_names)
    check = check_format(fmt, problem.technology, theta, prob, Q, T)
    print(f"{problem.name}: {args.fmt} pricing page ({fmt.size} tiers, from the {source})")
    with pd.option_context("display.width", 140, "display.max_columns", 20, "display.float_format", "{:.6g}".format):
        shown = page if len(page) <= 20 else pd.concat([page.head(10), page.tail(10)])
        print(shown.to_string(index=False))
    if len(page) > 20:
        print(f"... ({len(page) - 20} tiers not shown; see --csv)")
    verdict = "reproduces the direct menu" if check.missorted.size == 0 else (
        f"MIS-SORTS {check.missorted.size} types (first: {check.missorted[:5].tolist()}), profit loss "
        f"{check.profit_loss:.3g} ({check.profit_rel_error:.2e} of the optimum)")
    print(f"simulated buyers: {verdict}; max quality error {check.quality_rel_error:.2e}, payment error "
          f"{check.payment_rel_error:.2e}")
    report = _format_report(problem, types) if (args.report or args.plot) else None
    if args.report and report is not None:
        print()
        print("What simpler formats leave on the table (profit share of the optimal menu):")
        print(report.to_string(index=False, float_format="{:.6g}".format))
        lin = report[report["format"] == "one linear price"].iloc[0]
        for label in ("optimal menu", "best 3-item menu"):
            row = report[report["format"] == label].iloc[0]
            print(f"{label} vs one linear price: profit {row['profit'] / lin['profit'] - 1:+.1%}, "
                  f"revenue {row['revenue'] / lin['revenue'] - 1:+.1%}")
    writers: dict[str, object] = {}
    if args.plot and report is not None:
        from mechdesign.analytic.formats import markups
        from mechdesign.app.plotting import plot_pricing

        marks = markups(problem.technology, theta, Q, T)
        rep = report
        writers[args.plot] = lambda path: plot_pricing(problem.name, marks, rep, path)
    if args.csv:
        writers[args.csv] = lambda path: page.to_csv(path, index=False)
    if args.json:
        payload: dict[str, object] = {"format": args.fmt, "source": source,
                                      "tiers": page.to_dict(orient="records"), "check": check.to_dict()}
        if report is not None:
            payload["report"] = report.to_dict(orient="records")
        text = json.dumps(payload, indent=1, default=float)
        writers[args.json] = lambda path: Path(path).write_text(text)
    _wrote(write_outputs(writers))  # type: ignore[arg-type]
    return 0


def _format_report(problem: object, types: object) -> pd.DataFrame:
    """Profit, revenue, surplus and consumer surplus of the optimal menu and of simpler formats."""
    from mechdesign.analytic.monopoly import discrete_menu
    from mechdesign.analytic.tiers import best_k_item_menu, linear_price, single_two_part

    tech = problem.technology  # type: ignore[attr-defined]
    th, f = types.theta, types.prob  # type: ignore[attr-defined]
    opt = discrete_menu(tech, types)  # type: ignore[arg-type]
    rows = [{"format": "optimal menu", "items": len(np.unique(np.round(opt.quality[~opt.excluded], 15))),
             "profit": opt.profit, "revenue": float(f @ opt.transfer), "surplus": opt.surplus,
             "consumer_surplus": opt.consumer_surplus}]
    for K in range(1, 7):
        m = best_k_item_menu(tech, types, K)  # type: ignore[arg-type]
        t_n = np.where(m.assignment >= 0, m.transfer[np.maximum(m.assignment, 0)] if m.transfer.size else 0.0, 0.0)
        rows.append({"format": f"best {K}-item menu", "items": len(m.blocks), "profit": m.profit,
                     "revenue": float(f @ t_n), "surplus": m.surplus, "consumer_surplus": m.consumer_surplus})
    p0, k2, pr2, s2, cs2 = single_two_part(tech, types)  # type: ignore[arg-type]
    q2 = tech.inverse_marginal_cost(th / k2)
    pay2 = p0 + k2 * tech.cost(q2)
    buy = th * q2 - pay2 >= 0
    rows.append({"format": "one two-part tariff", "items": 1, "profit": pr2, "revenue": float(f @ np.where(buy, pay2, 0.0)),
                 "surplus": s2, "consumer_surplus": cs2})
    k, pr1, s1, cs1 = linear_price(tech, types)  # type: ignore[arg-type]
    rev1 = float(f @ (k * tech.cost(tech.inverse_marginal_cost(th / k))))
    rows.append({"format": "one linear price", "items": 1, "profit": pr1, "revenue": rev1, "surplus": s1,
                 "consumer_surplus": cs1})
    df = pd.DataFrame(rows)
    df["profit_share"] = df["profit"] / opt.profit
    return df


#: accepted names of a posted menu's columns (audit); the first of each group that is present is used
PRICE_COLUMNS = ("transfer", "fee", "payment", "upfront_fee")
QUALITY_COLUMNS = ("quality",)
BUDGET_COLUMNS = ("budget", "credit_budget")
#: pages whose items are priced per token with a markup (``mechdesign price --format min-spend / two-part``)
MARKUP_PAGES = {"committed_spend": "min-spend", "fixed_fee": "two-part"}


def _read_menu(path_text: str) -> pd.DataFrame:
    """A menu CSV as text cells (numbers are parsed by :func:`_menu_numbers`, which names bad cells)."""
    path = Path(path_text)
    if path.is_dir():
        raise ProblemFileError(f"menu file {path_text!r} is a folder, not a CSV file")
    if not path.is_file():
        raise ProblemFileError(f"menu file {path_text!r} does not exist")
    try:
        menu = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise ProblemFileError(f"menu file {path_text!r} is empty: it needs a header and one row per item") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ProblemFileError(f"menu file {path_text!r} is not a readable CSV: {first}") from None
    menu.columns = [str(c).strip() for c in menu.columns]
    dup = next((c for c in menu.columns if list(menu.columns).count(c) > 1), None)
    if dup is not None:
        raise ProblemFileError(f"menu file {path_text!r} has the column {dup!r} twice")
    if menu.empty:
        raise ProblemFileError(f"menu file {path_text!r} has a header but no items (one row per item)")
    return menu


def _menu_numbers(menu: pd.DataFrame, column: str, source: str) -> np.ndarray:
    """A column as finite floats; a cell that is not a number is named with its row."""
    out = np.empty(len(menu))
    for i, cell in enumerate(menu[column].tolist()):
        text = str(cell).strip()
        try:
            val = float(text)
        except ValueError:
            val = None
        if val is None or not np.isfinite(val):
            what = "is empty" if not text else "is not a number" if val is None else "is not finite"
            raise ProblemSpecError(column, text, f"must be a finite number; item {i + 1} of {source} {what}")
        out[i] = val
    return out


def _pick_column(menu: pd.DataFrame, names: Sequence[str], source: str) -> str | None:
    found = [c for c in names if c in menu.columns]
    if len(found) > 1:
        raise ProblemSpecError("menu columns", found, f"name the same quantity twice in {source}; keep one")
    return found[0] if found else None


def _posted_items(menu: pd.DataFrame, problem: object, source: str) -> tuple[str, np.ndarray, np.ndarray,
                                                                              np.ndarray | None]:
    """``(kind, price, quality_or_budget, markup)`` of a posted menu: kind is ``direct`` (price and quality),
    ``budget`` (price and a budget at marginal-cost prices times the markup), ``min-spend`` or ``two-part``."""
    tech = problem.technology  # type: ignore[attr-defined]
    price_col = _pick_column(menu, PRICE_COLUMNS, source)
    page_col = _pick_column(menu, tuple(MARKUP_PAGES), source)
    q_col = _pick_column(menu, QUALITY_COLUMNS + BUDGET_COLUMNS, source)
    markup = _menu_numbers(menu, "markup", source) if "markup" in menu.columns else None
    if markup is not None and np.any(markup <= 0):
        raise ProblemSpecError("markup", markup[markup <= 0][0], f"must be > 0 (in {source})")
    if markup is not None:
        _check_token_prices(menu, problem, markup, source)
    if page_col is not None and price_col is None:
        if q_col is not None:
            raise ProblemSpecError(q_col, source, f"does not go with {page_col} (a {MARKUP_PAGES[page_col]} page "
                                   "sets quantities by the markup); remove one of them")
        if markup is None:
            raise ProblemSpecError("menu columns", list(menu.columns), f"a {MARKUP_PAGES[page_col]} page "
                                   f"({page_col}) needs a markup column")
        return MARKUP_PAGES[page_col], _menu_numbers(menu, page_col, source), np.full(len(menu), np.nan), markup
    if price_col is None or q_col is None or page_col is not None:
        raise ProblemSpecError("menu columns", list(menu.columns),
                               "need a price (transfer, fee, payment or upfront_fee) and a quality (quality, "
                               "budget or credit_budget), or committed_spend / fixed_fee with markup")
    price = _menu_numbers(menu, price_col, source)
    amount = _menu_numbers(menu, q_col, source)
    if np.any(amount < 0):
        raise ProblemSpecError(q_col, float(amount[amount < 0][0]), f"must be >= 0 (in {source})")
    if q_col in QUALITY_COLUMNS:
        if markup is not None and not np.allclose(markup, 1.0, rtol=1e-12, atol=0.0):
            raise ProblemSpecError("markup", source, "applies to budgets at posted prices; with a quality "
                                   "column the item is fixed (remove markup)")
        return "direct", price, amount, None
    quality = tech.inverse_cost(amount if markup is None else amount / markup)
    return "budget", price, quality, markup


def _check_token_prices(menu: pd.DataFrame, problem: object, markup: np.ndarray, source: str) -> None:
    """Posted per-token prices (``price_<class>`` columns) must be the markup times the marginal cost: the
    audit prices by the markup, so other prices would be silently ignored."""
    tech = problem.technology  # type: ignore[attr-defined]
    names = list(problem.inference_names) + list(problem.finetuning_names)  # type: ignore[attr-defined]
    costs = np.concatenate([tech.c, tech.c_hat])
    for col in menu.columns:
        if not col.startswith("price_"):
            continue
        name = col[len("price_"):]
        if name not in names:
            raise ProblemSpecError(col, source, "names no token class of the problem (classes: "
                                   + ", ".join(names) + ")")
        posted = _menu_numbers(menu, col, source)
        expect = markup * costs[names.index(name)]
        bad = np.flatnonzero(~np.isclose(posted, expect, rtol=1e-9, atol=0.0))
        if bad.size:
            k = int(bad[0])
            raise ProblemSpecError(col, float(posted[k]), f"must be markup x marginal cost = {expect[k]:.10g} "
                                   f"(item {k + 1} of {source}); the audit prices tokens by the markup")


def _choices(kind: str, tech: object, theta: np.ndarray, price: np.ndarray, quality: np.ndarray,
             markup: np.ndarray | None) -> pd.DataFrame:
    """Each type's choice (item, quality, payment, payoff, profit; item -1 = nothing). Payoffs within
    :data:`~mechdesign.analytic.formats.TIE_RTOL` of the best count as ties, broken toward the seller, as
    in :func:`~mechdesign.analytic.formats.simulate`."""
    from mechdesign.analytic.formats import TIE_RTOL, PostedFormat, simulate

    if kind in ("min-spend", "two-part"):
        assert markup is not None
        fmt = PostedFormat(kind, price, np.full(price.size, np.nan), markup, np.arange(price.size))
        return simulate(fmt, tech, theta)  # type: ignore[arg-type]
    q = np.append(quality, 0.0)
    pay = np.append(price, 0.0)
    seller = pay - tech.cost(q)  # type: ignore[attr-defined]
    scale = max(float(theta.max(initial=0.0)) * float(q.max(initial=0.0)), 1e-300)
    pick = np.empty(theta.size, dtype=int)
    step = max(1, 4_000_000 // q.size)
    for s in range(0, theta.size, step):
        U = theta[s:s + step, None] * q[None, :] - pay[None, :]
        near = U >= U.max(axis=1, keepdims=True) - TIE_RTOL * scale
        pick[s:s + step] = np.argmax(np.where(near, seller[None, :], -np.inf), axis=1)
    return pd.DataFrame({"item": np.where(pick < price.size, pick, -1), "quality": q[pick], "payment": pay[pick],
                         "payoff": theta * q[pick] - pay[pick], "profit": seller[pick]})


def _direct_owner(menu: pd.DataFrame, types: object, problem: object, source: str) -> np.ndarray:
    """The ``type`` column of a direct menu as the order of its items (item of type 0 first)."""
    from mechdesign.types import Distribution

    n_types = types.n  # type: ignore[attr-defined]
    owner = _menu_numbers(menu, "type", source)
    if np.any(owner != np.round(owner)):
        raise ProblemSpecError("type", float(owner[owner != np.round(owner)][0]),
                               f"must be a type index 0..{n_types - 1} (in {source})")
    if len(owner) != n_types:
        hint = (f"; pass --n {len(owner)} if the menu was solved with --n {len(owner)}"
                if isinstance(problem.types, Distribution) else "")  # type: ignore[attr-defined]
        raise ProblemSpecError("type", f"{len(owner)} items", f"must list each of the problem's {n_types} types "
                               f"once{hint}")
    if sorted(owner.astype(int).tolist()) != list(range(n_types)):
        raise ProblemSpecError("type", source, f"must list each type 0..{n_types - 1} exactly once")
    order = np.argsort(owner)
    if "theta" in menu.columns:
        th_menu = _menu_numbers(menu, "theta", source)[order]
        theta = types.theta  # type: ignore[attr-defined]
        if not np.allclose(th_menu, theta, rtol=1e-9, atol=1e-12 * float(np.max(np.abs(theta), initial=1.0))):
            k = int(np.flatnonzero(~np.isclose(th_menu, theta, rtol=1e-9))[0])
            raise ProblemSpecError("theta", float(th_menu[k]), f"of type {k} in {source} differs from the problem's "
                                   f"type {float(theta[k]):.10g}: the menu was made for other types")
    return order


def _audit(args: argparse.Namespace) -> int:
    from mechdesign.analytic.monopoly import discrete_menu
    from mechdesign.engine.audit import audit_menu
    from mechdesign.problemfile import check_n, load_single_model

    problem = load_single_model(args.problem, "audit")
    n = check_n(problem, args.n)
    menu = _read_menu(args.menu)
    source = Path(args.menu).name
    tech = problem.technology
    types = problem.discrete_types(n)
    kind, price, quality, markup = _posted_items(menu, problem, source)
    order = None
    if "type" in menu.columns:
        if kind not in ("direct", "budget"):
            raise ProblemSpecError("type", source, "marks direct menus (an item per type with its quality or "
                                   "budget); a min-spend or two-part page has no direct items")
        order = _direct_owner(menu, types, problem, source)
    th, f = types.theta, types.prob
    chosen = _choices(kind, tech, th, price, quality, markup)
    profit = float(f @ chosen["profit"].to_numpy())
    opt = discrete_menu(tech, types).profit
    table = pd.DataFrame({"theta": th, "prob": f, **{c: chosen[c].to_numpy() for c in chosen.columns}})
    print(f"Audit of {args.menu} ({len(menu)} items, {kind} menu) for {problem.name} ({types.n} types); ties go "
          "to the seller")
    with pd.option_context("display.width", 140, "display.float_format", "{:.6g}".format):
        print(table.to_string() if types.n <= 20 else pd.concat([table.head(10), table.tail(10)]).to_string())
    share = f"{profit / opt:.12g}" if opt > 0 else "n/a (the optimum is 0)"
    print(f"profit {profit:.12g}; optimum {opt:.12g}; profit share {share} (gap {opt - profit:.4g})")
    if order is None:
        print("no type column: each type's choice is shown; IC and IR of a direct menu are not checked")
        return 0
    rep = audit_menu(th, quality[order], price[order])
    tol = rep.rtol * rep.scale
    bad = np.flatnonzero(rep.ic_violation > tol)
    bad_ir = np.flatnonzero(rep.ir_violation > tol)
    print(f"direct menu: max IC violation {rep.max_ic_violation:.3e} ({rep.max_ic_violation_rel:.2e} rel), "
          f"max IR violation {rep.max_ir_violation:.3e} (tolerance {tol:.3e}); {bad.size} of {th.size} types "
          f"prefer another type's item, {bad_ir.size} get less than nothing")
    for k in bad[:20]:
        print(f"  type {k} (theta {th[k]:.6g}) prefers item of type {rep.best_deviation[k]}, "
              f"gain {rep.ic_violation[k]:.4g}")
    for k in bad_ir[:20]:
        print(f"  type {k} (theta {th[k]:.6g}) gets payoff {-rep.ir_violation[k]:.4g} < 0 (IR)")
    if bad.size or bad_ir.size:
        print("verdict: NOT incentive compatible" if bad.size else "verdict: NOT individually rational")
        return 1
    print("verdict: incentive compatible and individually rational")
    return 0


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


def _validate(args: argparse.Namespace) -> int:
    from mechdesign.app.output import check_output_paths, write_outputs
    from mechdesign.validation.validate import CHECKS, run_checks

    unknown = sorted(set(args.only or []) - set(CHECKS))
    if unknown:
        raise ProblemSpecError("--only", unknown, "must name checks among " + ", ".join(CHECKS))
    if args.seed < 0:
        raise ProblemSpecError("--seed", args.seed, "must be an integer >= 0")
    if Path(args.problems).exists() and not Path(args.problems).is_dir():
        raise ProblemFileError(f"--problems {args.problems!r} is a file; give the folder of problem files")
    if not Path(args.problems).is_dir():
        raise ProblemFileError(f"folder {args.problems!r} does not exist; run from the repository root or pass --problems")
    check_output_paths(json=args.json)
    table = run_checks(args.only, args.seed, args.problems)
    for line in _check_lines(table):
        print(line)
    failed = int((~table["pass"]).sum())
    print(f"{len(table) - failed} passed, {failed} failed")
    if args.json:
        text = table.to_json(orient="records", indent=1)
        _wrote(write_outputs({args.json: lambda path: Path(path).write_text(text)}))
    return 0 if failed == 0 else 1


def _problems(args: argparse.Namespace) -> int:
    import tomllib

    from mechdesign.shipped import problem_names, shipped_dir

    if args.dir is None:
        folder = shipped_dir()
        rows = [(name, folder / f"{name}.toml") for name in problem_names(folder)]
    else:
        folder = Path(args.dir)
        if folder.exists() and not folder.is_dir():
            raise ProblemFileError(f"--dir {args.dir!r} is a file; give the folder of problem files")
        if not folder.is_dir():
            raise ProblemFileError(f"folder {args.dir!r} does not exist (omit --dir to list the shipped problems)")
        rows = [(str(folder / f"{name}.toml"), folder / f"{name}.toml") for name in problem_names(folder)]
    table = []
    for label, path in rows:
        try:
            meta = tomllib.loads(path.read_text()).get("problem", {})
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ProblemFileError(f"problem file {str(path)!r} is not valid TOML: {exc}") from None
        meta = meta if isinstance(meta, dict) else {}
        table.append((label, str(meta.get("kind", "single_model")), str(meta.get("description", ""))))
    width = max([len("name")] + [len(r[0]) for r in table])
    kwidth = max([len("kind")] + [len(r[1]) for r in table])
    print(f"{'name':{width}s}  {'kind':{kwidth}s}  description")
    for label, kind, desc in table:
        print(f"{label:{width}s}  {kind:{kwidth}s}  {desc}")
    where = "shipped problems" if args.dir is None else "problem files"
    print(f"\n{len(table)} {where} in {folder}" + ("; solve one with `mechdesign solve NAME`" if args.dir is None
                                                  else ""))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mechdesign`` console command."""
    parser = _parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if args.command is None:
        parser.print_help()
        return 2
    np.set_printoptions(precision=6)
    try:
        if args.command == "solve":
            return _solve(args)
        if args.command == "analytic":
            return _analytic(args)
        if args.command == "plot":
            return _plot(args)
        if args.command == "sweep":
            return _sweep(args)
        if args.command == "bench":
            return _bench(args)
        if args.command == "price":
            return _price(args)
        if args.command == "audit":
            return _audit(args)
        if args.command == "calibrate":
            from mechdesign.app import calibrate

            return calibrate.run(args)
        if args.command == "validate":
            return _validate(args)
        if args.command == "schema":
            from mechdesign.app import schema

            return schema.run(args)
        return _problems(args)
    except (ProblemSpecError, ProblemFileError) as exc:
        print(f"mechdesign: error: {exc}", file=sys.stderr)
        return 2
    except MechDesignError as exc:
        print(f"mechdesign: error: {exc}", file=sys.stderr)
        return 1
    except MemoryError:
        print("mechdesign: error: out of memory; use fewer type cells (--n or types.n)", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into `head` and the like
        return 0
    except OSError as exc:
        print(f"mechdesign: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
