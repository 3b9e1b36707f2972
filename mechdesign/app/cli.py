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
    s.add_argument("--formulation", choices=("auto", "quality", "tokens"), default=None,
                   help="single-model technology in the program: Lemma 3's cost of quality (one cone per "
                        "type) or token variables (eq. 9); auto = quality when homogeneous")

    a = sub.add_parser("analytic", help="print the closed-form menu of a problem file (no solver)",
                       description="Exact discrete menu (Prop 3 with discrete, ironed virtual values) and, "
                                   "for continuous distributions, the exclusion cutoff and ironing intervals.")
    a.add_argument("file", help="problem file (TOML)")
    a.add_argument("--n", type=int, default=None, help="number of type cells (continuous distributions)")
    a.add_argument("--csv", metavar="PATH", help="write the analytic menu as CSV")
    a.add_argument("--json", metavar="PATH", help="write the closed forms as JSON (multimodel, leader_fringe)")

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
    pr.add_argument("--format", dest="fmt", choices=("max-spend", "min-spend", "two-part"), default="max-spend")
    pr.add_argument("--n", type=int, default=None, help="number of type cells (continuous distributions)")
    pr.add_argument("--tiers", type=int, default=None, metavar="K",
                    help="post the best menu with at most K items instead of the full optimal menu")
    pr.add_argument("--report", action="store_true",
                    help="also compare simpler formats: K = 1..6 items, one two-part tariff, one linear price")
    pr.add_argument("--plot", metavar="PATH", help="PNG: markups m and r by type, profit share against K")
    pr.add_argument("--csv", metavar="PATH", help="write the pricing page as CSV")
    pr.add_argument("--json", metavar="PATH", help="write the pricing page and its check as JSON")

    au = sub.add_parser("audit", help="audit a posted menu against a problem's types",
                        description="Each type picks its best item of MENU.csv (columns: fee and quality, or "
                                    "fee and budget at marginal-cost prices; optional type = the type an item "
                                    "is meant for). Prints choices, payoffs and profit, every IC/IR violation "
                                    "of a direct menu, and the gap to the optimum.")
    au.add_argument("menu", help="CSV file with the posted menu")
    au.add_argument("--problem", required=True, help="problem file (TOML) with the technology and types")
    au.add_argument("--n", type=int, default=None, help="number of type cells (continuous distributions)")

    va = sub.add_parser("validate", help="run every proposition check over shipped and random instances",
                        description="Compare independent numerical computations with the paper's closed forms "
                                    "(Lemmas 1, 3; Props 1-4, 9; Cor 1) and print a pass/fail table.")
    va.add_argument("--only", nargs="+", metavar="CHECK", help="run only these checks (e.g. prop3 prop9)")
    va.add_argument("--seed", type=int, default=0, help="seed of the random instances (default 0)")
    va.add_argument("--problems", default="problems", help="folder of shipped problems (default ./problems)")
    va.add_argument("--json", metavar="PATH", help="write the table as JSON")

    sw = sub.add_parser("sweep", help="solve a grid of instances of a problem file in parallel",
                        description="Set problem-file keys (table.key) to every point of a grid, solve each instance "
                                    "(local processes, or a Dask cluster with --scheduler) and print a tidy table.")
    sw.add_argument("file", help="problem file (TOML)")
    sw.add_argument("--param", action="append", required=True, metavar="KEY=LO:HI:N",
                    help="a key of the file and its values (lo:hi:count or a,b,c); repeat for a grid")
    sw.add_argument("--n", type=int, default=None, help="type cells per instance (continuous distributions)")
    sw.add_argument("--workers", type=int, default=None, help="local processes (default: all cores)")
    sw.add_argument("--scheduler", metavar="ADDRESS", help="Dask distributed scheduler, e.g. tcp://127.0.0.1:8786")
    sw.add_argument("--csv", metavar="PATH", help="write the table as CSV")
    sw.add_argument("--json", metavar="PATH", help="write the table and provenance as JSON")
    sw.add_argument("--plot", metavar="PATH", help="PNG of --y against the first swept parameter")
    sw.add_argument("--y", default="profit", help="output column to plot (default profit)")

    be = sub.add_parser("bench", help="run benchmark suites and write CSV and markdown tables",
                        description="Suites: scaling (one-dimensional types, with the hand-written every-pair "
                                    "formulation as baseline), contractible (N x T), accuracy (fitted rates), peers "
                                    "(mechaudit), solvers (Clarabel vs SCS). Each case runs in a fresh process.")
    be.add_argument("suite", nargs="*", help="suites to run (default: all): scaling contractible accuracy peers solvers")
    be.add_argument("--out", required=True, metavar="DIR", help="folder for <suite>.csv and <suite>.md")
    be.add_argument("--quick", action="store_true", help="small grids (a few minutes in all)")
    be.add_argument("--timeout", type=float, default=600.0, help="seconds per case (default 600)")
    be.add_argument("--no-progress", action="store_true", help="no progress bar")

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
    from mechdesign.problemfile import load_problem
    from mechdesign.settings.base import SolveOptions

    problem = load_problem(args.file)
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
    from mechdesign.app.plotting import plot_leader_fringe, plot_menu
    from mechdesign.problemfile import load_problem, load_single_model
    from mechdesign.settings.competition import LeaderFringeProblem

    loaded = load_problem(args.file)
    if isinstance(loaded, LeaderFringeProblem):
        plot_leader_fringe(loaded.market, loaded.dist, args.out, loaded.name)
        print(loaded.report())
    else:
        plot_menu(load_single_model(args.file).solve(), args.out)
    print(f"wrote {args.out}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from mechdesign.app.bench import SUITES, markdown, run_suite

    suites = args.suite or list(SUITES)
    bad = [x for x in suites if x not in SUITES]
    if bad:
        raise ProblemSpecError("suite", bad[0], "must be one of " + ", ".join(SUITES))
    if args.timeout <= 0:
        raise ProblemSpecError("--timeout", args.timeout, "must be > 0 seconds")
    command = "mechdesign bench " + " ".join(sys.argv[2:]) if len(sys.argv) > 2 else ""
    for name in suites:
        df = run_suite(name, args.out, quick=args.quick, timeout=args.timeout,
                       progress=not args.no_progress, command=command)
        print(f"\n## {name}\n\n{markdown(df)}\n\nwrote {Path(args.out) / (name + '.csv')} and .md")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from mechdesign.app.sweep import parse_param, provenance, run_sweep

    params = [parse_param(p) for p in args.param]
    table = run_sweep(args.file, params, n=args.n, workers=args.workers, scheduler=args.scheduler)
    with pd.option_context("display.width", 160, "display.max_columns", 30, "display.float_format", "{:.6g}".format):
        print(table.to_string(index=False))
    if args.csv:
        table.to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")
    if args.json:
        Path(args.json).write_text(json.dumps(_jsonable({"file": args.file, "params": args.param, "n": args.n,
                                                         "provenance": provenance(),
                                                         "rows": table.to_dict(orient="records")}), indent=1))
        print(f"wrote {args.json}")
    if args.plot:
        if args.y not in table.columns:
            raise ProblemSpecError("--y", args.y, "must be a column of the sweep table: " + ", ".join(table.columns))
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        x = params[0][0]
        fig, ax = plt.subplots(figsize=(6, 4))
        others = [k for k, _ in params[1:]]
        for key, grp in (table.groupby(others) if others else [((), table)]):
            ax.plot(grp[x], grp[args.y], "o-", label=str(key) if others else None)
        ax.set_xlabel(x)
        ax.set_ylabel(args.y)
        ax.grid(alpha=0.3)
        if others:
            ax.legend(title=", ".join(others), fontsize=8)
        fig.savefig(args.plot, dpi=120, bbox_inches="tight")
        plt.close(fig)
        print(f"wrote {args.plot}")
    return 0 if (table["status"] == "optimal").all() else 1


def _analytic(args: argparse.Namespace) -> int:
    from mechdesign.problemfile import load_problem, load_single_model
    from mechdesign.settings.competition import LeaderFringeProblem, MultiModelProblem

    loaded = load_problem(args.file)
    if isinstance(loaded, (MultiModelProblem, LeaderFringeProblem)):
        print(loaded.report() if isinstance(loaded, LeaderFringeProblem) else loaded.report(args.n))
        if args.json:
            if isinstance(loaded, LeaderFringeProblem):
                loaded.to_json(args.json)
            else:
                data = {"problem": {"name": loaded.name, "kind": "multimodel"}, "analytic": loaded.analytic(args.n)}
                Path(args.json).write_text(json.dumps(_jsonable(data), indent=1))
            print(f"wrote {args.json}")
        return 0
    problem = load_single_model(args.file)
    menu = problem.analytic(args.n)
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
        table.to_csv(args.csv)
        print(f"wrote {args.csv}")
    return 0


def _price(args: argparse.Namespace) -> int:
    import json

    from mechdesign.analytic.formats import build_format, check_format
    from mechdesign.problemfile import load_single_model

    problem = load_single_model(args.file)
    types = problem.discrete_types(args.n)
    theta, prob = types.theta, types.prob
    if args.tiers is not None:
        from mechdesign.analytic.tiers import best_k_item_menu

        tm = best_k_item_menu(problem.technology, types, args.tiers)
        served = tm.assignment >= 0
        Q = np.where(served, tm.quality[np.maximum(tm.assignment, 0)], 0.0)
        T = np.where(served, tm.transfer[np.maximum(tm.assignment, 0)], 0.0)
        source = f"best menu with at most {args.tiers} items"
    else:
        result = problem.solve(n=args.n)
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
    if args.plot and report is not None:
        from mechdesign.analytic.formats import markups
        from mechdesign.app.plotting import plot_pricing

        plot_pricing(problem.name, markups(problem.technology, theta, Q, T), report, args.plot)
        print(f"wrote {args.plot}")
    if args.csv:
        page.to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")
    if args.json:
        payload: dict[str, object] = {"format": args.fmt, "source": source,
                                      "tiers": page.to_dict(orient="records"), "check": check.to_dict()}
        if report is not None:
            payload["report"] = report.to_dict(orient="records")
        Path(args.json).write_text(json.dumps(payload, indent=1, default=float))
        print(f"wrote {args.json}")
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


def _audit(args: argparse.Namespace) -> int:
    from mechdesign.analytic.monopoly import discrete_menu
    from mechdesign.engine.audit import audit_menu
    from mechdesign.problemfile import load_single_model

    problem = load_single_model(args.problem)
    tech = problem.technology
    types = problem.discrete_types(args.n)
    path = Path(args.menu)
    if not path.is_file():
        raise ProblemFileError(f"menu file {args.menu!r} does not exist")
    try:
        menu = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ProblemFileError(f"menu file {args.menu!r} is not a readable CSV: {exc}") from None
    if "fee" not in menu or not ({"quality", "budget"} & set(menu.columns)):
        raise ProblemSpecError("menu columns", list(menu.columns),
                               "need 'fee' and either 'quality' or 'budget' (optional 'type')")
    fee = menu["fee"].to_numpy(dtype=float)
    quality = (menu["quality"].to_numpy(dtype=float) if "quality" in menu
               else tech.inverse_cost(menu["budget"].to_numpy(dtype=float)))
    if np.any(~np.isfinite(fee)) or np.any(~np.isfinite(quality)) or np.any(quality < 0):
        raise ProblemSpecError("menu", args.menu, "fees must be finite and qualities/budgets finite and >= 0")
    th, f = types.theta, types.prob
    payoff = th[:, None] * quality[None, :] - fee[None, :]
    best = np.argmax(payoff, axis=1)
    best_pay = payoff[np.arange(types.n), best]
    buys = best_pay >= 0
    q_n = np.where(buys, quality[best], 0.0)
    t_n = np.where(buys, fee[best], 0.0)
    profit = float(f @ (t_n - tech.cost(q_n)))
    opt = discrete_menu(tech, types).profit
    table = pd.DataFrame({"theta": th, "prob": f, "item": np.where(buys, best, -1), "quality": q_n,
                          "payment": t_n, "payoff": np.where(buys, best_pay, 0.0),
                          "profit": t_n - tech.cost(q_n)})
    print(f"Audit of {args.menu} ({len(menu)} items) for {problem.name} ({types.n} types)")
    with pd.option_context("display.width", 140, "display.float_format", "{:.6g}".format):
        print(table.to_string() if types.n <= 20 else pd.concat([table.head(10), table.tail(10)]).to_string())
    print(f"profit {profit:.10g}; optimum {opt:.10g}; share {profit / opt:.6f} (gap {opt - profit:.4g})")
    if "type" in menu:
        owner = menu["type"].to_numpy()
        if len(owner) != types.n or sorted(owner.tolist()) != list(range(types.n)):
            raise ProblemSpecError("menu.type", owner.tolist(), f"must list each type 0..{types.n - 1} once")
        order = np.argsort(owner)
        rep = audit_menu(th, quality[order], fee[order])
        bad = np.flatnonzero(rep.ic_violation > rep.rtol * rep.scale)
        print(f"direct menu: max IC violation {rep.max_ic_violation:.3e} ({rep.max_ic_violation_rel:.2e} rel), "
              f"max IR violation {rep.max_ir_violation:.3e}; {bad.size} types prefer another item")
        for n in bad[:20]:
            print(f"  type {n} (theta {th[n]:.6g}) prefers item of type {rep.best_deviation[n]}, "
                  f"gain {rep.ic_violation[n]:.4g}")
        bad_ir = np.flatnonzero(rep.ir_violation > rep.rtol * rep.scale)
        for n in bad_ir[:20]:
            print(f"  type {n} (theta {th[n]:.6g}) gets payoff {-rep.ir_violation[n]:.4g} < 0 (IR)")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from mechdesign.validation.validate import CHECKS, run_checks

    unknown = sorted(set(args.only or []) - set(CHECKS))
    if unknown:
        raise ProblemSpecError("--only", unknown, "must name checks among " + ", ".join(CHECKS))
    if not Path(args.problems).is_dir():
        raise ProblemFileError(f"folder {args.problems!r} does not exist; run from the repository root or pass --problems")
    table = run_checks(args.only, args.seed, args.problems)
    with pd.option_context("display.width", 160, "display.max_colwidth", 70):
        print(table.to_string(index=False, float_format="{:.2e}".format))
    failed = int((~table["pass"]).sum())
    print(f"{len(table) - failed} passed, {failed} failed")
    if args.json:
        Path(args.json).write_text(table.to_json(orient="records", indent=1))
        print(f"wrote {args.json}")
    return 0 if failed == 0 else 1


def _problems(args: argparse.Namespace) -> int:
    import tomllib

    from mechdesign.shipped import problem_names, shipped_dir

    if args.dir is None:
        folder = shipped_dir()
        rows = [(name, folder / f"{name}.toml") for name in problem_names(folder)]
    else:
        folder = Path(args.dir)
        if not folder.is_dir():
            raise ProblemFileError(f"folder {args.dir!r} does not exist or is not a folder (omit --dir to list "
                                   "the shipped problems)")
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
        if args.command == "validate":
            return _validate(args)
        return _problems(args)
    except (ProblemSpecError, ProblemFileError) as exc:
        print(f"mechdesign: error: {exc}", file=sys.stderr)
        return 2
    except MechDesignError as exc:
        print(f"mechdesign: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into `head` and the like
        return 0
    except OSError as exc:
        print(f"mechdesign: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
