"""Benchmark suite ``value_scale`` (issue 23): the shipped value-scale problem (BBS Appendix B.3, Prop 10) as its
value grid grows.

Rows: ``problems/value_scale.toml`` with ``types.w.n`` = n_w value cells times its 4 scales (N = 4 n_w types), solved
with the default options (``ic = "adaptive"``, Clarabel, the exact finish) and, as the side-by-side baseline of
the same run, with ``ic = "all"`` (every IC pair, the first round's default) where it fits in the time limit. Each row
says the status, the certificate's gap and margin, the IC/IR violation and the profit against Prop 10's
observable-scale benchmark (eqs. 61-63, which the contractible optimum equals under Assumption 2).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from mechdesign.app.bench_contractible import finished
from mechdesign.app.bench_problems import Row, problems_dir, timed_solve


def case_value_scale(n_w: int, ic: str = "adaptive") -> Row:
    """The shipped value-scale problem with ``n_w`` value cells, solved with ``ic`` (other options default)."""
    from mechdesign.problemfile import problem_from_dict
    from mechdesign.settings.value_scale import ValueScaleResult

    with open(problems_dir() / "value_scale.toml", "rb") as fh:
        spec = tomllib.load(fh)
    spec["types"]["w"]["n"] = n_w
    spec.setdefault("solve", {})["ic"] = ic
    r, wall = timed_solve(problem_from_dict(spec))
    assert isinstance(r, ValueScaleResult)
    cert = r.numeric.certificate
    finish = r.numeric.solver.get("finish") or {}
    n_s = len(spec["types"]["s"]["values"])
    return {"n_w": n_w, "n_s": n_s, "N": n_w * n_s, "ic": ic, "status": r.status,
            "wall_s": wall, "gap_rel": None if cert is None else cert.gap_rel,
            "margin": None if cert is None else cert.has_margin,
            "violation_rel": None if cert is None else cert.violation_rel,
            "finish": bool(finish.get("applied")) if isinstance(finish, dict) else False,
            "vs_prop10_rel": r.comparison.get("profit_gap_rel"), "profit": r.profit}


def value_scale_cases(quick: bool) -> list[tuple[Callable[..., Row], dict[str, Any]]]:
    sizes = [10, 20] if quick else [20, 40, 60, 100, 200]
    cases: list[tuple[Callable[..., Row], dict[str, Any]]] = [(case_value_scale, {"n_w": n}) for n in sizes]
    # the baseline: every IC pair (measured in round 4: n_w = 100 took 214 s and was not certified)
    cases += [(case_value_scale, {"n_w": n, "ic": "all"}) for n in sizes if n <= 40]
    return cases


def all_pairs_speedup(df: pd.DataFrame) -> pd.DataFrame:
    """Per row: the time of the ``ic = "all"`` row at the same n_w over this row's (the default's speed-up)."""
    if not {"ic", "n_w", "wall_s"} <= set(df.columns):
        return df
    df = df.copy()
    ok = finished(df)  # a timed-out or failed row (or baseline) has no speed-up
    base = df[ok & (df["ic"] == "all")].set_index("n_w")["wall_s"]
    df["speedup_vs_all_pairs"] = [base.get(n, np.nan) / w if good and isinstance(w, float) and w > 0 else np.nan
                                  for n, w, good in zip(df["n_w"], df["wall_s"], ok)]
    return df
