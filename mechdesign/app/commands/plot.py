"""``mechdesign plot``: Figure 1 (BBS §5.3) for leader-fringe files; for any other kind, its solved menu."""

from __future__ import annotations

import argparse
from typing import Any

from mechdesign.app.commands import wrote


def run(args: argparse.Namespace) -> int:
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
    wrote(written)
    return 0
