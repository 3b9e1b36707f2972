"""CLI glue for ``mechdesign calibrate OLD --against NEW``: the out-of-sample test of a price page.

The economics is :func:`mechdesign.analytic.calibration.history.out_of_sample`; this module reads the two
pages, applies ``--allowance`` assumptions to whichever page leaves that tier's allowance unknown, prints
the comparison and writes ``--json``/``--csv``/``--plot`` together or not at all (after everything
succeeded). Exit code 0 when the comparison is made; bad input raises
:class:`~mechdesign.exceptions.ProblemSpecError` (exit 2).
"""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Callable

from mechdesign.analytic import calibration as cal
from mechdesign.analytic.calibration.history import out_of_sample
from mechdesign.exceptions import ProblemFileError, ProblemSpecError


def _assume(
    old: cal.ObservedMenu, new: cal.ObservedMenu, allowances: dict[str, float]
) -> tuple[cal.ObservedMenu, cal.ObservedMenu]:
    """Apply each ``--allowance TIER=M`` to the page(s) where that tier's allowance is unknown."""
    used = set()
    for which in ("old", "new"):
        menu = old if which == "old" else new
        mine = {
            k: v
            for k, v in allowances.items()
            if any(t.name == k and t.allowance is None for t in menu.tiers)
        }
        if mine:
            menu = menu.with_allowances(mine, note="assumed on the command line")
            used |= set(mine)
            if which == "old":
                old = menu
            else:
                new = menu
    unused = sorted(set(allowances) - used)
    if unused:
        names = sorted({t.name for t in (*old.tiers, *new.tiers) if t.allowance is None})
        raise ProblemSpecError(
            "--allowance",
            unused[0],
            "must name a tier whose allowance is unknown on one of the pages: "
            + (", ".join(repr(n) for n in names) or "none is"),
        )
    return old, new


def run_against(
    args: argparse.Namespace, allowances: dict[str, float], write: Callable[[list[tuple[str, bytes]]], None]
) -> int:
    """Run ``mechdesign calibrate OLD --against NEW`` (outputs written through ``write``)."""
    from mechdesign.settings.results import jsonable
    from mechdesign.shipped import resolve

    old = cal.load_observed(resolve(args.menu_file))
    try:
        new_path = resolve(args.against)
    except ProblemFileError as exc:  # name the option the path came from
        raise ProblemFileError(f"--against: {exc}") from None
    new = cal.load_observed(new_path)
    old, new = _assume(old, new, allowances)
    missing = [t.name for t in old.tiers if t.allowance is None and t.fee > 0]
    if missing:
        raise ProblemSpecError(
            "--allowance",
            missing[0],
            f"the earlier page {old.name} leaves tier {missing[0]!r}'s allowance unknown: give it as an "
            f"explicit assumption (--allowance {missing[0]}=M; `mechdesign calibrate {args.menu_file}` shows "
            "the values consistent with the page)",
        )
    cmp = out_of_sample(old, new, args.cost_exponent, sigma_total=args.sigma_total)
    print(cmp.summary())
    outputs: list[tuple[str, bytes]] = []
    if args.json:
        outputs.append((args.json, json.dumps(jsonable(cmp.to_dict()), indent=2).encode()))
    if args.csv:
        outputs.append((args.csv, cmp.tiers.to_csv(index=False).encode()))
    if args.plot:
        buf = io.BytesIO()
        cal.plot_out_of_sample(cmp, buf)
        outputs.append((args.plot, buf.getvalue()))
    write(outputs)
    return 0
