"""Benchmark suite ``contractible`` (App. B): an N x T grid of random task profiles (seeded), the
``all`` and ``adaptive`` IC strategies side by side, and the speed-up of the profile formulation's final
rounds over the token one's. :mod:`mechdesign.app.bench` runs it (each case in its own process).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, cast

import numpy as np
import pandas as pd

from mechdesign.app.bench_problems import SEED, Row


def case_contractible(N: int, T: int, ic: str, formulation: str = "auto") -> Row:
    """Random task profiles w ~ U[0.05, 1.2]^T (seed SEED), equal masses, the shipped technology.

    ``formulation``: of the final rounds (:func:`solve_contractible`; the search rounds use the profile one)."""
    from mechdesign.settings.contractible import solve_contractible
    from mechdesign.technology import cobb_douglas
    from mechdesign.types import TaskProfileTypes

    rng = np.random.default_rng(SEED)
    w = rng.uniform(0.05, 1.2, (N, T))
    types = TaskProfileTypes(w, np.full(N, 1.0 / N), np.full(T, 1.0 / T))
    tech = cobb_douglas([0.3, 0.2], [1.0, 3.0], [0.25], [2.0])
    t0 = time.perf_counter()
    r = solve_contractible(tech, types, ic=ic, formulation=formulation)
    times = r.solver["times"]
    assert isinstance(times, dict)
    refine = r.solver.get("refine") or {}
    cert = r.certificate
    return {"N": N, "T": T, "ic": ic, "formulation": r.solver.get("formulation"), "search": str(r.solver.get("search")),
            "status": r.status, "wall_s": time.perf_counter() - t0,
            "gap_rel": None if cert is None else cert.gap_rel,
            "attempts": len(cast("list[object]", r.solver.get("attempts") or [])),
            **{f"{k}_s": v for k, v in times.items()}, "rounds": r.solver.get("rounds"),
            "ic_rows": len(r.ic_pairs), "max_ic_viol_rel": r.audit.max_ic_violation_rel,
            "refined": bool(refine.get("applied")) if isinstance(refine, dict) else False, "profit": r.profit}


def contractible_cases(quick: bool) -> list[tuple[Callable[..., Row], dict[str, Any]]]:
    sizes = [20, 50] if quick else [50, 100, 200, 400]
    segs = [5, 10] if quick else [5, 10, 20]
    cases: list[tuple[Callable[..., Row], dict[str, Any]]] = []
    for N in sizes:
        for T in segs:
            if N <= (50 if quick else 100):
                cases.append((case_contractible, {"N": N, "T": T, "ic": "all"}))
            # side by side: the final rounds in the profile formulation (default) and in the token one
            cases.append((case_contractible, {"N": N, "T": T, "ic": "adaptive"}))
            cases.append((case_contractible, {"N": N, "T": T, "ic": "adaptive", "formulation": "tokens"}))
    if not quick:  # the speed targets of issues 6 and 14
        cases += [(case_contractible, {"N": 1000, "T": 10, "ic": "adaptive"}),
                  (case_contractible, {"N": 800, "T": 20, "ic": "adaptive"}),
                  (case_contractible, {"N": 10_000, "T": 2, "ic": "adaptive"}),
                  (case_contractible, {"N": 10_000, "T": 10, "ic": "adaptive"})]
    return cases


def finished(df: pd.DataFrame) -> pd.Series:
    """Rows whose case ran to the end: not timed out (``not finished in ...``) and not failed. Their
    ``wall_s`` is a time; a timed-out row's is only a lower bound, so it gets no speed-up."""
    status = df["status"].astype(str) if "status" in df else pd.Series("", index=df.index)
    return ~(status.str.startswith("not finished") | status.str.startswith("failed"))


def search_speedup(df: pd.DataFrame) -> pd.DataFrame:
    """Adaptive default (profile final rounds) over the token formulation's final rounds, same N x T."""
    if not {"formulation", "wall_s", "ic", "N", "T"} <= set(df.columns):
        return df
    done = finished(df)
    base = df[done & (df["ic"] == "adaptive") & (df["formulation"] == "tokens")].set_index(["N", "T"])["wall_s"]
    df["speedup_vs_tokens_final"] = [
        base.get((n, t), np.nan) / w if ok and ic == "adaptive" and fm == "profile" and isinstance(w, float) and w > 0
        else np.nan for n, t, ic, fm, w, ok in zip(df["N"], df["T"], df["ic"], df["formulation"], df["wall_s"], done)]
    return df
