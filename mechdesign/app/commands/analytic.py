"""``mechdesign analytic``: the closed forms of a problem file, no solver (Prop 3 for single-model,
Props 5-6 for multi-model, Prop 7 for leader-fringe problems)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pandas as pd

from mechdesign.app.commands import wrote
from mechdesign.exceptions import ProblemSpecError
from mechdesign.settings.results import jsonable


def run(args: argparse.Namespace) -> int:
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
    wrote(write_outputs(writers))  # type: ignore[arg-type]
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
        text = json.dumps(jsonable(data), indent=1)
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
        text = json.dumps(jsonable(data), indent=1)
        writers[args.json] = lambda path: Path(path).write_text(text)


#: the closed forms each problem kind offers to `mechdesign analytic`, by kind
_ANALYTIC = {"single_model": _analytic_single_model, "multimodel": _analytic_multimodel,
             "leader_fringe": _analytic_leader_fringe}
