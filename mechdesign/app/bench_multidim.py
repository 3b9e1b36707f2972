"""Benchmark suite ``multidim`` (issue 14): the classic multidimensional screening instances, side by side
with a first-order peer.

Rows: mechdesign's certified solve of each shipped ``problems/multidim`` grid (Rochet–Choné 1998 and the
bundling monopolist with substitutes, 20 x 20 / 40 x 40 / 100 x 100), and the PDHG baseline of
:mod:`mechdesign.app.peers` (Chambolle–Pock with adaptive constraint generation, the style of the
Carlier–Dupuis–Rochet–Thanassoulis screening code) on the same Rochet–Choné grids at two tolerances. The
table adds, per peer row, its profit against the certified optimum and the ratio of its time to ours.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from mechdesign.app.bench_problems import timed_solve

Row = dict[str, Any]


def case_multidim(problem: str) -> Row:
    """mechdesign on a shipped multidimensional problem (default options: adaptive, Clarabel)."""
    from mechdesign.problemfile import load_problem
    from mechdesign.settings.multidim import MultiDimResult

    r, wall = timed_solve(load_problem(f"multidim/{problem}"))
    assert isinstance(r, MultiDimResult)
    cert = r.certificate
    return {"instance": problem, "solver": "mechdesign (certified)", "N": r.types.n, "tol": None,
            "status": r.status, "wall_s": wall, "rounds": r.solver.get("rounds"), "n_pairs": len(r.ic_pairs),
            "profit": r.profit, "gap_rel": None if cert is None else cert.gap_rel,
            "ic_violation_rel": r.audit.max_ic_violation_rel, **{f"n_{k}": v for k, v in r.region_counts().items()}}


def case_pdhg(grid: int, tol: float) -> Row:
    """The PDHG peer on the Rochet–Choné ``grid x grid`` instance at ``tol_gap = tol_ic = tol``."""
    from mechdesign.app.peers import peer_case

    row = peer_case(grid, tol)
    return {"instance": f"rochet_chone_{grid}x{grid}", "solver": "PDHG peer (adaptive pairs)", "N": row["N"],
            "tol": tol, "status": "converged" if row["converged"] else "iteration limit", "wall_s": row["seconds"],
            "iterations": row["iterations"], "n_pairs": row["n_pairs"], "profit": row["profit"],
            "bound": row["bound"], "gap_rel": row["gap_rel"], "ic_violation_rel": row["ic_violation_rel"]}


def multidim_cases(quick: bool) -> list[tuple[Callable[..., Row], dict[str, Any]]]:
    grids = [20] if quick else [20, 40, 100]
    cases: list[tuple[Callable[..., Row], dict[str, Any]]] = []
    for g in grids:
        cases += [(case_multidim, {"problem": f"rochet_chone_{g}x{g}"}),
                  (case_multidim, {"problem": f"bundling_substitutes_{g}x{g}"})]
    peers = [(20, 1e-4)] if quick else [(20, 1e-4), (20, 1e-6), (40, 1e-4)]
    cases += [(case_pdhg, {"grid": g, "tol": t}) for g, t in peers]
    return cases


def peer_ratios(df: pd.DataFrame) -> pd.DataFrame:
    """Per peer row: its profit relative to the certified optimum of the same instance, and its time over ours."""
    df = df.copy()
    ours = df[df["solver"] == "mechdesign (certified)"].set_index("instance")
    rel, ratio = [], []
    for _, row in df.iterrows():
        inst = row.get("instance")
        if row.get("solver") == "mechdesign (certified)" or inst not in ours.index:
            rel.append(np.nan)
            ratio.append(np.nan)
            continue
        best = ours.loc[inst]
        rel.append((row["profit"] - best["profit"]) / abs(best["profit"]))
        ratio.append(row["wall_s"] / best["wall_s"])
    df["profit_vs_certified_rel"] = rel
    df["time_vs_mechdesign"] = ratio
    return df
