"""CLI glue for ``mechdesign calibrate MENU_FILE``: calibrate a posted price page to Prop 3 (discrete types).

The economics lives in :mod:`mechdesign.analytic.calibration`; this module parses the options, prints the
implied types, masses, markups and the verdict (or the identified set), runs the solver round trip for a
consistent menu (the forward solve of the calibrated primitives must return the posted menu), and writes
the optional JSON, CSV and PNG outputs only after everything else has succeeded.

Wire it in with ``add_parser(subparsers)``; ``run(args)`` returns 0 for a consistent menu, 1 for an
inconsistent one, and raises :class:`~mechdesign.exceptions.ProblemSpecError` on bad input. When exactly
one tier's allowance is unpublished and not given with ``--allowance`` (OpenAI's Pro), it reports the
identified set over that allowance instead (0 when non-empty, 1 when empty). With ``--against NEW`` it runs
the out-of-sample test of :mod:`mechdesign.app.calibrate_history` instead (exit 0). Options and output
paths are checked before any work.
"""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import mechdesign as md
from mechdesign.analytic import calibration as cal
from mechdesign.exceptions import ProblemSpecError
from mechdesign.settings.results import jsonable

#: the solver round trip must reproduce the posted menu to this relative accuracy
ROUND_TRIP_RTOL = 1e-8


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``calibrate`` verb on an ``argparse`` subparsers object; returns its parser."""
    p = subparsers.add_parser(
        "calibrate",
        help="calibrate a posted price menu (problems/observed/*.toml) to Prop 3",
        description="Implied types, masses, markups and cost scale of a posted menu read as the optimal "
        "discrete menu of Prop 3 (BBS 2026), the consistency verdict, and the identified set of "
        "cost exponents b = 1/(sigma + sigma_hat).",
    )
    p.add_argument("menu_file", help="observed menu TOML (see problems/observed/)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--cost-exponent", type=float, metavar="B", help="b = 1/(sigma + sigma_hat) > 1 (Lemma 3)")
    g.add_argument("--sigma-total", type=float, metavar="S", help="sigma + sigma_hat in (0, 1)")
    p.add_argument(
        "--cost-scale",
        type=float,
        metavar="USD",
        help="marginal cost of one allowance unit (default: identified by the top tier)",
    )
    p.add_argument(
        "--allowance",
        action="append",
        default=[],
        metavar="TIER=VALUE",
        help="set an unpublished allowance as an explicit assumption (repeatable)",
    )
    p.add_argument("--paid-only", action="store_true", help="drop zero-fee tiers before calibrating")
    p.add_argument(
        "--counterfactuals",
        action="store_true",
        help="also print the counterfactual menus and implementations",
    )
    p.add_argument(
        "--new-model",
        nargs=2,
        type=float,
        default=None,
        metavar=("DSIGMA_HAT", "KAPPA_RATIO"),
        help="multi-model counterfactual (Prop 6): the second model's sigma_hat step (> 0, with sigma + "
        "sigma_hat + step < 1) and cost-scale ratio (> 0) (default 0.1 2)",
    )
    p.add_argument(
        "--fringe-cost",
        type=float,
        default=None,
        metavar="RATIO",
        help="leader-fringe counterfactual (Prop 7): c_F / c_L > 0 in the calibrated quality unit (default 1.25)",
    )
    p.add_argument(
        "--sigma-share",
        type=float,
        default=None,
        metavar="S",
        help="sigma / (sigma + sigma_hat) in (0, 1), not identified by one menu (default 0.5)",
    )
    p.add_argument(
        "--against",
        metavar="NEW_MENU_FILE",
        help="out-of-sample test: calibrate MENU_FILE (the earlier page), predict the later page NEW_MENU_FILE "
        "from its primitives, and ask what must have changed for NEW to be optimal",
    )
    p.add_argument("--json", metavar="PATH", help="write the full result as JSON")
    p.add_argument("--csv", metavar="PATH", help="write the per-tier table as CSV")
    p.add_argument("--plot", metavar="PATH", help="write a PNG: menu, types, markups, identified set")
    p.set_defaults(func=run)
    return p


def round_trip(res: cal.CalibrationResult) -> dict[str, object]:
    """Solve the calibrated primitives with ``md.SingleModelProblem`` and compare with the posted menu."""
    tech, types = res.primitives()
    out = md.SingleModelProblem(tech, types, name=f"{res.menu.name} (calibrated)").solve()
    q_err = float(np.max(np.abs(out.quality - res.quality) / res.quality))
    t_err = float(np.max(np.abs(out.transfer - res.fees) / res.fees))
    return {
        "status": out.status,
        "quality_rel_error": q_err,
        "transfer_rel_error": t_err,
        "profit": out.profit,
        "ok": out.status == "optimal" and max(q_err, t_err) <= ROUND_TRIP_RTOL,
    }


def _allowances(items: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items:
        name, sep, value = item.rpartition("=")
        if not sep or not name:
            raise ProblemSpecError("--allowance", item, "must look like TIER=VALUE, e.g. Pro=10")
        try:
            out[name] = float(value)
        except ValueError:
            raise ProblemSpecError("--allowance", item, "VALUE must be a number") from None
    return out


def _counterfactual_options(args: argparse.Namespace) -> dict[str, float]:
    """The counterfactual options, checked before any work (exit 2 naming the option when invalid)."""
    nm = getattr(args, "new_model", None)
    dsh, kr = (0.1, 2.0) if nm is None else (float(nm[0]), float(nm[1]))
    fc = getattr(args, "fringe_cost", None)
    fc = 1.25 if fc is None else float(fc)
    sh = getattr(args, "sigma_share", None)
    sh = 0.5 if sh is None else float(sh)
    if not (np.isfinite(dsh) and 0.0 < dsh < 1.0):
        raise ProblemSpecError(
            "--new-model", dsh, "DSIGMA_HAT must be in (0, 1): the new model is more capable and sigma + "
            "sigma_hat stays below 1 (Assumption 1)"
        )
    if not (np.isfinite(kr) and kr > 0):
        raise ProblemSpecError("--new-model", kr, "KAPPA_RATIO must be > 0 (the new model's cost scale ratio)")
    if not (np.isfinite(fc) and fc > 0):
        raise ProblemSpecError("--fringe-cost", fc, "must be > 0 (c_F / c_L, a ratio of unit costs)")
    if not (np.isfinite(sh) and 0.0 < sh < 1.0):
        raise ProblemSpecError("--sigma-share", sh, "must be in (0, 1) (sigma / (sigma + sigma_hat))")
    return {"sigma_hat_step": dsh, "kappa_ratio": kr, "c_F_ratio": fc, "sigma_share": sh}


def _check_step(step: float, sigma_total: float) -> None:
    """``--new-model DSIGMA_HAT`` must keep sigma + sigma_hat < 1 (Assumption 1)."""
    if step + sigma_total >= 1.0:
        raise ProblemSpecError(
            "--new-model",
            step,
            f"DSIGMA_HAT must keep sigma + sigma_hat < 1 (Assumption 1): sigma + sigma_hat is "
            f"{sigma_total:.6g}, so DSIGMA_HAT < {1 - sigma_total:.6g}",
        )


def run(args: argparse.Namespace) -> int:
    """Run ``mechdesign calibrate``; 0 when the menu is consistent (and round-trips), 1 when not."""
    from mechdesign.app.output import check_output_paths
    from mechdesign.shipped import resolve

    check_output_paths(json=args.json, csv=args.csv, plot=args.plot)
    cf_opts = _counterfactual_options(args)
    s_given = (
        args.sigma_total
        if getattr(args, "sigma_total", None) is not None
        else (1.0 / args.cost_exponent if getattr(args, "cost_exponent", None) else None)
    )
    if s_given is not None and getattr(args, "new_model", None) is not None:
        _check_step(cf_opts["sigma_hat_step"], s_given)
    if not getattr(args, "against", None):
        _check_counterfactual_options(args)  # the counterfactual options need --counterfactuals
    if getattr(args, "against", None):
        from mechdesign.app.calibrate_history import run_against

        return run_against(args, _allowances(getattr(args, "allowance", []) or []), _write)
    menu = cal.load_observed(resolve(args.menu_file))  # a path, or a shipped name such as observed/poe-2025
    if getattr(args, "allowance", None):
        menu = menu.with_allowances(_allowances(args.allowance), note="assumed on the command line")
    if getattr(args, "paid_only", False):
        menu = menu.paid_tiers()
    unknown = [t.name for t in menu.tiers if t.allowance is None]
    if len(unknown) == 1:
        return _run_allowance_set(args, menu, unknown[0])
    res = cal.calibrate(
        menu,
        args.cost_exponent,
        sigma_total=args.sigma_total,
        cost_scale=getattr(args, "cost_scale", None),
        identify=True,
    )
    if getattr(args, "new_model", None) is not None:  # sigma + sigma_hat known only now: before any output
        _check_step(cf_opts["sigma_hat_step"], res.sigma_total)
    print(res.summary())
    rt = None
    code = 0 if res.consistent else 1
    if res.consistent:
        rt = round_trip(res)
        print(
            f"round trip (md.SingleModelProblem(...).solve() of the calibrated primitives): status "
            f"{rt['status']}, quality error {rt['quality_rel_error']:.2e}, transfer error "
            f"{rt['transfer_rel_error']:.2e} (relative)"
        )
        if not rt["ok"]:
            print(
                f"round trip FAILED: the forward solve does not return the posted menu to {ROUND_TRIP_RTOL:g}"
            )
            code = 1
    cf = None
    if getattr(args, "counterfactuals", False):
        table, details = cal.counterfactuals(
            res,
            sigma_hat_step=cf_opts["sigma_hat_step"],
            kappa_ratio=cf_opts["kappa_ratio"],
            c_F_ratio=cf_opts["c_F_ratio"],
            sigma_share=cf_opts["sigma_share"],
        )
        cf = {"table": table, "details": details}
        with pd.option_context("display.width", 200, "display.max_columns", 20, "display.max_colwidth", 70):
            print(f"counterfactuals ({details['based_on']}):")
            print(table.to_string(index=False, float_format=lambda v: f"{v:.6g}"))
            for key, title in (
                ("multimodel", "multi-model menu (Prop 6)"),
                ("fringe", "leader vs fringe (Prop 7)"),
            ):
                part = details.get(key)
                if isinstance(part, dict) and "tiers" in part:
                    print(
                        f"{title}; assumptions: "
                        + ", ".join(
                            f"{k} = {v:.4g}" if isinstance(v, float) else f"{k} = {v}"
                            for k, v in part["assumptions"].items()
                        )
                    )
                    print(part["tiers"].to_string(index=False, float_format=lambda v: f"{v:.6g}"))
                elif isinstance(part, dict):
                    print(f"{title}: skipped ({part.get('skipped')})")
    # everything has succeeded: render the outputs in memory, then write them
    outputs: list[tuple[str, bytes]] = []
    if args.json:
        payload = res.to_dict()
        payload["round_trip"] = rt
        payload["counterfactuals"] = cf
        outputs.append((args.json, json.dumps(jsonable(payload), indent=2).encode()))
    if args.csv:
        outputs.append((args.csv, res.table().to_csv(index=False).encode()))
    if args.plot:
        buf = io.BytesIO()
        cal.plot_report(res, buf)
        outputs.append((args.plot, buf.getvalue()))
    _write(outputs)
    return code


#: the counterfactual options' defaults (``--new-model``, ``--fringe-cost``, ``--sigma-share``)
COUNTERFACTUAL_DEFAULTS: dict[str, Any] = {"new_model": (0.1, 2.0), "fringe_cost": 1.25, "sigma_share": 0.5}


def _check_counterfactual_options(args: argparse.Namespace) -> None:
    """The counterfactual options apply with ``--counterfactuals`` only, and must be finite and in range:
    ``--new-model`` steps > 0, ``--fringe-cost`` > 0, ``--sigma-share`` in (0, 1)."""
    for key, option in (("new_model", "--new-model"), ("fringe_cost", "--fringe-cost"),
                        ("sigma_share", "--sigma-share")):
        value = getattr(args, key, None)
        if value is None:
            continue
        if not getattr(args, "counterfactuals", False):
            raise ProblemSpecError(option, value, "applies to the counterfactuals; add --counterfactuals")
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        upper = 1.0 if key == "sigma_share" else np.inf
        if not all(np.isfinite(v) and 0.0 < v < upper for v in values):
            raise ProblemSpecError(option, value, "must be finite and > 0" + (" and < 1" if upper < np.inf else ""))


def _run_allowance_set(args: argparse.Namespace, menu: cal.ObservedMenu, tier: str) -> int:
    """One tier's allowance is not published: report the identified set over it (exit 0 if non-empty)."""
    b = (
        args.cost_exponent
        if args.cost_exponent is not None
        else (1.0 / args.sigma_total if args.sigma_total is not None else None)
    )
    aset = cal.allowance_identified_set(menu, tier, cost_exponent=b)
    print(f"{menu.name}: the allowance of tier {tier!r} is not published (no --allowance {tier}=M given)")
    print(aset.describe())
    if aset.empty:
        print(f"no allowance of {tier!r} in the scan makes the posted menu optimal for any cost exponent")
    else:
        print(f"calibrate at one value with --allowance {tier}=M (M inside the set: consistent)")
    if getattr(args, "counterfactuals", False):
        print(f"counterfactuals need the primitives: give --allowance {tier}=M")
    outputs: list[tuple[str, bytes]] = []
    if args.json:
        payload = {"menu": menu.describe(), "allowance_identified_set": aset.to_dict()}
        outputs.append((args.json, json.dumps(jsonable(payload), indent=2).encode()))
    if args.csv:
        outputs.append((args.csv, aset.table().to_csv(index=False).encode()))
    if args.plot:
        buf = io.BytesIO()
        cal.plot_allowance_set(aset, buf)
        outputs.append((args.plot, buf.getvalue()))
    _write(outputs)
    return 1 if aset.empty else 0


def _write(outputs: list[tuple[str, bytes]]) -> None:
    """Write the rendered outputs all together or not at all (:func:`mechdesign.app.output.write_outputs`)."""
    from mechdesign.app.output import write_outputs

    def writer(data: bytes) -> Callable[[Path], object]:
        return lambda target: target.write_bytes(data)

    write_outputs({path: writer(data) for path, data in outputs})
