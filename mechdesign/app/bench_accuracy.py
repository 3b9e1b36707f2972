"""Benchmark suite ``accuracy``: discretisation error against the continuous closed forms as N grows,
with the fitted rate (least-squares slope of log error on log N): single model (Prop 3), multi-model
(Prop 6), leader-fringe (Prop 7). :mod:`mechdesign.app.bench` runs it (each case in its own process).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from mechdesign.app.bench_problems import Row, problems_dir, single_problem


def fitted_rate(n: np.ndarray, err: np.ndarray) -> float:
    """Least-squares slope of log(err) on log(n) (errors that are zero or not finite are left out)."""
    n, err = np.asarray(n, dtype=float), np.asarray(err, dtype=float)
    ok = np.isfinite(err) & (err > 0)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(n[ok]), np.log(err[ok]), 1)[0])


def case_accuracy(setting: str, N: int) -> Row:
    """Numeric menu on N cells against the continuous closed form of the setting."""
    from mechdesign.problemfile import load_problem

    row: Row = {"setting": setting, "N": N}
    t0 = time.perf_counter()
    if setting == "single_model":
        r = single_problem().solve(n=N, ic="local", binding="local")
        c = r.comparison.continuous
        row.update(status=r.status, profit_err=c["profit_rel_error"], Q_err=c["quality_rel_error"],
                   t_err=c["transfer_rel_error"])
    elif setting == "multimodel":
        p: Any = load_problem(problems_dir() / "multimodel_two_models.toml")
        res = p.solve(n=N)
        dist = p.types
        # Prop 6 on the continuum: the efficient allocation (Prop 5) at the virtual type, by a fine
        # midpoint rule (2e5 cells; independent of the N-cell program)
        grid = dist.discretize(200_000)
        phi = np.maximum(dist.virtual_value(grid.theta), 0.0)
        _, Qc = p.models.efficient(phi)
        profit_c = float(grid.prob @ (phi * Qc - p.models.cost(Qc)))
        _, Qn = p.models.efficient(np.maximum(dist.virtual_value(res.types.theta), 0.0))
        row.update(status=res.status,
                   profit_err=abs(res.profit - profit_c) / abs(profit_c),
                   Q_err=float(res.types.prob @ np.abs(res.quality - Qn)) / float(np.max(Qn)))
    else:
        p = load_problem(problems_dir() / "figure1_leader_fringe.toml")  # type: ignore[assignment]
        res = p.solve(n=N)
        cut = p.market.cutoffs(p.dist)
        nc = res.numeric_cutoffs()
        qa, _ = p.market.competition(res.types.theta, p.dist)
        row.update(status=res.status,
                   entry_err=abs(float(nc["entry"]) - float(cut["entry"])),
                   monopoly_err=abs(float(nc["monopoly"]) - float(cut["monopoly"])),
                   Q_err=float(res.types.prob @ np.abs(res.quantity - qa)) / float(np.max(qa)))
    row["wall_s"] = time.perf_counter() - t0
    return row


def accuracy_cases(quick: bool) -> list[tuple[Callable[..., Row], dict[str, Any]]]:
    sizes = {"single_model": [50, 100, 200, 400] if quick else [50, 100, 200, 400, 800, 1600, 3200],
             "multimodel": [25, 50, 100] if quick else [25, 50, 100, 200, 400],
             "leader_fringe": [50, 100, 200] if quick else [50, 100, 200, 400, 800, 1600]}
    return [(case_accuracy, {"setting": s, "N": n}) for s, ns in sizes.items() for n in ns]


def accuracy_rates(df: pd.DataFrame) -> pd.DataFrame:
    """Fitted rate (slope of log error on log N) per setting and error column."""
    rows = []
    for setting, g in df.groupby("setting", sort=False):
        for col in ("profit_err", "Q_err", "t_err", "entry_err", "monopoly_err"):
            if col in g and g[col].notna().any():
                rows.append({"setting": setting, "error": col, "N": f"{int(g['N'].min())}-{int(g['N'].max())}",
                             "rate": fitted_rate(g["N"].to_numpy(), g[col].to_numpy())})
    return pd.DataFrame(rows)
