"""``mechdesign price``: the optimal menu posted as a pricing page (BBS Defs 1-3, Prop 4), checked by
simulating every buyer type, and what simpler formats leave on the table."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from mechdesign.app.commands import wrote


def run(args: argparse.Namespace) -> int:
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
    items = _item_count(problem, types) if args.tiers is not None else None
    if args.tiers is not None and items is not None and args.tiers < items:
        from mechdesign.analytic.tiers import best_k_item_menu

        tm = best_k_item_menu(problem.technology, types, args.tiers)
        served = tm.assignment >= 0
        Q = np.where(served, tm.quality[np.maximum(tm.assignment, 0)], 0.0)
        T = np.where(served, tm.transfer[np.maximum(tm.assignment, 0)], 0.0)
        source = f"best menu with at most {args.tiers} items"
    else:  # the optimal menu (with --tiers K: it has at most K items already, so it is the best of them)
        result = problem.solve(n=n)
        Q, T = result.quality, result.transfer
        source = f"optimal menu, status {result.status}" + ("" if items is None else
                                                            f"; its {items} items are within --tiers {args.tiers}")
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
    wrote(write_outputs(writers))  # type: ignore[arg-type]
    return 0


def _format_report(problem: object, types: object) -> pd.DataFrame:
    """Profit, revenue, surplus and consumer surplus of the optimal menu and of simpler formats."""
    from mechdesign.analytic.monopoly import discrete_menu
    from mechdesign.analytic.tiers import best_k_item_menu, linear_price, single_two_part

    tech = problem.technology  # type: ignore[attr-defined]
    th, f = types.theta, types.prob  # type: ignore[attr-defined]
    opt = discrete_menu(tech, types)  # type: ignore[arg-type]
    rows = [{"format": "optimal menu", "items": _distinct_items(opt),
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
    rows.append({"format": "one two-part tariff", "items": 1, "profit": pr2,
                 "revenue": float(f @ np.where(buy, pay2, 0.0)), "surplus": s2, "consumer_surplus": cs2})
    k, pr1, s1, cs1 = linear_price(tech, types)  # type: ignore[arg-type]
    rev1 = float(f @ (k * tech.cost(tech.inverse_marginal_cost(th / k))))
    rows.append({"format": "one linear price", "items": 1, "profit": pr1, "revenue": rev1, "surplus": s1,
                 "consumer_surplus": cs1})
    df = pd.DataFrame(rows)
    df["profit_share"] = df["profit"] / opt.profit
    return df


def _distinct_items(menu: object) -> int:
    """The number of distinct items (served qualities) of an exact discrete menu."""
    return len(np.unique(np.round(menu.quality[~menu.excluded], 15)))  # type: ignore[attr-defined]


def _item_count(problem: object, types: object) -> int:
    """Items of the optimal menu (the exact discrete menu, Prop 3): a best K-item menu with K at least this
    many is the optimal menu itself, so ``--tiers K`` needs the K-item search only below it."""
    from mechdesign.analytic.monopoly import discrete_menu

    return _distinct_items(discrete_menu(problem.technology, types))  # type: ignore[attr-defined, arg-type]
