"""The ``mechdesign`` command: ``solve``, ``analytic``, ``price``, ``audit``, ``validate`` and ``problems``.

Errors in the input or the solve print one line, ``mechdesign: error: ...``, and exit non-zero
(2 for bad input, 1 for solver or audit failures); no traceback. This module is the parser and ``main``;
each verb is a ``run(args)`` of its module in :mod:`mechdesign.app.commands`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

import numpy as np

from mechdesign import __version__
from mechdesign.app.commands import analytic, audit, bench, plot, price, problems, solve, sweep, validate
from mechdesign.engine.program import IC_STRATEGIES
from mechdesign.exceptions import MechDesignError, ProblemFileError, ProblemSpecError

#: the help of every --n (it discretises continuous theta distributions only; checked by problemfile.check_n)
N_HELP = ("number of type cells of a continuous theta distribution (types.kind = \"distribution\"); value-scale "
          "files set the cells of w with types.w.n")


class _Parser(argparse.ArgumentParser):
    """argparse with the command's error contract: one line, ``mechdesign: error: ...``, exit 2 (the usage is
    in ``--help``). Subcommand parsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"mechdesign: error: {message} (`{self.prog} --help` lists the options)\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
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
    s.add_argument("--n", type=int, default=None, help=N_HELP)
    s.add_argument("--method", choices=("auto", "structured", "conic"), default=None,
                   help="single-model types: the exact structured solver or the cvxpy program (default auto: "
                        "structured unless --ic/--solver/--formulation/--no-polish ask for the conic program)")
    s.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                   help="stop with an error (exit 1) when the solve takes longer (the only use of the clock)")
    s.add_argument("--ic", choices=IC_STRATEGIES, default=None,
                   help="IC strategy of the conic program (default adaptive)")
    s.add_argument("--solver", default=None, help="cvxpy solver of the conic program (default CLARABEL)")
    s.add_argument("--json", metavar="PATH", help="write the result as JSON (output contract)")
    s.add_argument("--csv", metavar="PATH", help="write the menu table as CSV")
    s.add_argument("--plot", metavar="PATH", help="write a PNG of the menu (single model: numeric vs analytic Q "
                   "and t; multidim: allocation field, regions, binding IC graph)")
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

    pl = sub.add_parser("plot", help="plot a problem: Figure 1 for leader_fringe files, the menu otherwise",
                        description="leader_fringe: the paper's Figure 1 (leader and fringe quantities under the "
                                    "efficient allocation, competition and integrated monopoly, cutoffs marked); "
                                    "single_model: numeric vs analytic Q and t; multidim: the allocation field, "
                                    "the exclusion/bunching/separation regions and the binding IC graph over "
                                    "the first two type coordinates; value_scale: one line per scale against w; "
                                    "contractible: markers per type and task segment; multimodel: the types "
                                    "coloured by the model they buy.")
    pl.add_argument("file", help="problem file (TOML)")
    pl.add_argument("--out", required=True, metavar="PATH", help="PNG to write")

    pr = sub.add_parser("price", help="post the optimal menu as a pricing page (Defs 1-3, Prop 4)",
                        description="Solve the problem, turn the optimal menu into a maximum-spend, "
                                    "minimum-spend or two-part-tariff pricing page, and check it by "
                                    "simulating every buyer type.")
    pr.add_argument("file", help="problem file (TOML)")
    pr.add_argument("--format", dest="fmt", choices=("max-spend", "min-spend", "two-part"), default="max-spend",
                    help="maximum-spend (Def 1, the default), minimum-spend (Def 2) or two-part tariff (Def 3)")
    pr.add_argument("--n", type=int, default=None, help=N_HELP)
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
    au.add_argument("--n", type=int, default=None, help=N_HELP)

    va = sub.add_parser("validate", help="run every proposition check over shipped and random instances",
                        description="Compare independent numerical computations with the paper's closed forms "
                                    "(Lemmas 1, 3; Props 1-4, 9; Cor 1) and print a pass/fail table.")
    va.add_argument("--only", nargs="+", metavar="CHECK", help="run only these checks (e.g. prop3 prop9)")
    va.add_argument("--seed", type=int, default=0, help="seed of the random instances (default 0)")
    va.add_argument("--problems", default=None, metavar="DIR",
                    help="folder of problem files to check (default: the shipped problems, from any folder)")
    va.add_argument("--json", metavar="PATH", help="write the table as JSON (full claims and notes)")

    sw = sub.add_parser("sweep", help="solve a grid of instances of a problem file in parallel",
                        description="Set problem-file keys (table.key) to every point of a grid, solve each instance "
                                    "(local processes, or a Dask cluster with --scheduler) and print a tidy table.")
    sw.add_argument("file", help="problem file (TOML)")
    sw.add_argument("--param", action="append", required=True, metavar="KEY=LO:HI:N",
                    help="a number key of the file and its values (lo:hi:count or a,b,c); repeat for a grid "
                         "(at most 100,000 points)")
    sw.add_argument("--n", type=int, default=None, help="per instance: " + N_HELP)
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
                                    "(mechaudit), solvers (Clarabel vs SCS), multidim (Rochet-Chone and bundling "
                                    "grids beside a PDHG peer), value_scale (App. B.3 as n_w grows, beside ic='all'). "
                                    "Each case runs in a fresh process.")
    be.add_argument("suite", nargs="*",
                    help="suites to run (default: all): default scaling contractible accuracy peers solvers "
                         "multidim value_scale")
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


#: the function behind each verb (``calibrate`` and ``schema``: :mod:`mechdesign.app.calibrate`,
#: :mod:`mechdesign.app.schema`)
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "solve": solve.run,
    "analytic": analytic.run,
    "plot": plot.run,
    "sweep": sweep.run,
    "bench": bench.run,
    "price": price.run,
    "audit": audit.run,
    "validate": validate.run,
    "problems": problems.run,
}


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
        if args.command == "calibrate":
            from mechdesign.app import calibrate

            return calibrate.run(args)
        if args.command == "schema":
            from mechdesign.app import schema

            return schema.run(args)
        return COMMANDS[args.command](args)
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
