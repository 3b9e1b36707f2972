"""``mechdesign plot``: what each setting's spec says (:attr:`~mechdesign.settings.spec.SettingSpec.plot`):
Figure 1 (BBS §5.3) from the closed forms for leader-fringe files, the solved menu for any other kind."""

from __future__ import annotations

import argparse
from typing import Any

from mechdesign.app.commands import wrote


def run(args: argparse.Namespace) -> int:
    """The spec's plot: its closed-form figure (``"figure1"``), or its solved menu (``"solved"``)."""
    from mechdesign.app.output import check_output_paths, write_outputs
    from mechdesign.app.plotting import plot_leader_fringe, plot_result
    from mechdesign.problemfile import check_verb, load_problem

    loaded: Any = load_problem(args.file)
    spec = check_verb(loaded, "plot")
    check_output_paths(out=args.out)
    if spec.plot == "figure1":  # the paper's Figure 1: a leader-fringe market and its type distribution
        lf = loaded
        written = write_outputs({args.out: lambda path: plot_leader_fringe(lf.market, lf.dist, path, lf.name)})
        print(loaded.report())
    else:
        result = loaded.solve()
        written = write_outputs({args.out: lambda path: plot_result(result, path)})
    wrote(written)
    return 0
