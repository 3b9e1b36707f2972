"""The ``mechdesign`` command: ``solve``, ``analytic``, ``price`` and ``problems``.

Errors in the input or the solve print one line, ``mechdesign: error: ...``, and exit non-zero
(2 for bad input, 1 for solver or audit failures); no traceback.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from .exceptions import MechDesignError, MechDesignWarning, ProblemFileError, ProblemSpecError
from .program import IC_STRATEGIES


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
    s.add_argument("--ic", choices=IC_STRATEGIES, default=None, help="IC strategy (default adaptive)")
    s.add_argument("--solver", default=None, help="cvxpy solver (default CLARABEL)")
    s.add_argument("--json", metavar="PATH", help="write the result as JSON (output contract)")
    s.add_argument("--csv", metavar="PATH", help="write the menu table as CSV")
    s.add_argument("--plot", metavar="PATH", help="write a PNG of numeric vs analytic Q and t")
    s.add_argument("--no-polish", action="store_true", help="skip the final high-accuracy re-solve")

    a = sub.add_parser("analytic", help="print the closed-form menu of a problem file (no solver)",
                       description="Exact discrete menu (Prop 3 with discrete, ironed virtual values) and, "
                                   "for continuous distributions, the exclusion cutoff and ironing intervals.")
    a.add_argument("file", help="problem file (TOML)")
    a.add_argument("--n", type=int, default=None, help="number of type cells (continuous distributions)")
    a.add_argument("--csv", metavar="PATH", help="write the analytic menu as CSV")

    pr = sub.add_parser("price", help="post the optimal menu as a pricing page (Defs 1-3, Prop 4)",
                        description="Solve the problem, turn the optimal menu into a maximum-spend, "
                                    "minimum-spend or two-part-tariff pricing page, and check it by "
                                    "simulating every buyer type.")
    pr.add_argument("file", help="problem file (TOML)")
    pr.add_argument("--format", dest="fmt", choices=("max-spend", "min-spend", "two-part"), default="max-spend")
    pr.add_argument("--n", type=int, default=None, help="number of type cells (continuous distributions)")
    pr.add_argument("--csv", metavar="PATH", help="write the pricing page as CSV")
    pr.add_argument("--json", metavar="PATH", help="write the pricing page and its check as JSON")

    ls = sub.add_parser("problems", help="list the shipped problem files")
    ls.add_argument("--dir", default="problems", help="folder to list (default ./problems)")
    return p


def _solve(args: argparse.Namespace) -> int:
    from .problemfile import load_problem

    problem = load_problem(args.file)
    defaults = problem.source.get("solve_defaults", {})
    assert isinstance(defaults, dict)
    ic = args.ic or defaults.get("ic", "adaptive")
    solver = args.solver or defaults.get("solver", "CLARABEL")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MechDesignWarning)
        result = problem.solve(n=args.n, ic=ic, solver=solver, polish=not args.no_polish)
    for w in caught:
        if issubclass(w.category, MechDesignWarning):
            print(f"mechdesign: warning: {w.message}", file=sys.stderr)
    print(result.summary())
    if args.json:
        result.to_json(args.json)
        print(f"wrote {args.json}")
    if args.csv:
        result.to_csv(args.csv)
        print(f"wrote {args.csv}")
    if args.plot:
        from .plotting import plot_menu

        plot_menu(result, args.plot)
        print(f"wrote {args.plot}")
    return 0 if result.status == "optimal" else 1


def _analytic(args: argparse.Namespace) -> int:
    from .problemfile import load_problem

    problem = load_problem(args.file)
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

    from .formats import build_format, check_format
    from .problemfile import load_problem

    problem = load_problem(args.file)
    result = problem.solve(n=args.n)
    theta = result.menu["theta"].to_numpy()
    fmt = build_format(args.fmt, problem.technology, theta, result.quality, result.transfer)
    page = fmt.table(problem.technology, problem.inference_names, problem.finetuning_names)
    check = check_format(fmt, problem.technology, theta, result.menu["prob"].to_numpy(), result.quality,
                         result.transfer)
    print(f"{problem.name}: {args.fmt} pricing page ({fmt.size} tiers, from the optimal menu, status "
          f"{result.status})")
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
    if args.csv:
        page.to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")
    if args.json:
        Path(args.json).write_text(json.dumps({"format": args.fmt, "tiers": page.to_dict(orient="records"),
                                               "check": check.to_dict()}, indent=1, default=float))
        print(f"wrote {args.json}")
    return 0


def _problems(args: argparse.Namespace) -> int:
    folder = Path(args.dir)
    if not folder.is_dir():
        raise ProblemFileError(f"folder {args.dir!r} does not exist; run from the repository root or pass --dir")
    from .problemfile import load_problem

    for path in sorted(folder.glob("*.toml")):
        prob = load_problem(path)
        desc = prob.source.get("description", "")
        print(f"{path!s:50s} {desc}")
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
        if args.command == "price":
            return _price(args)
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
