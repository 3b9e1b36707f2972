"""Parameter sweeps over a problem file: a grid of instances solved in parallel, one tidy row each.

``mechdesign sweep FILE --param leader.cost=0.05:0.2:16 [--param ...]`` sets the problem file's own keys
(``table.key``, nested with dots) to every point of the Cartesian grid, solves each instance (local
processes by default, or a Dask distributed cluster with ``--scheduler ADDRESS``) and returns a table:
the parameters, status, profit (and surplus or cutoffs where the problem kind has them), time, and the
package versions and seed for reproducibility.
"""

from __future__ import annotations

import copy
import itertools
import math
import platform
import time
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mechdesign.exceptions import MechDesignError, ProblemSpecError

#: the largest grid a sweep accepts (points, all --param values multiplied); larger grids are refused up front
MAX_POINTS = 100_000
#: the most local worker processes of a sweep
MAX_WORKERS = 1024


def parse_param(spec: str) -> tuple[str, list[float]]:
    """``path=lo:hi:count`` (evenly spaced, inclusive) or ``path=a,b,c``."""
    if "=" not in spec:
        raise ProblemSpecError("--param", spec, "must look like table.key=lo:hi:count or table.key=a,b,c")
    path, rhs = spec.split("=", 1)
    count = 0
    try:
        if ":" in rhs:
            lo, hi, n = rhs.split(":")
            count = int(n)
            if count < 1:
                raise ValueError
            if count <= MAX_POINTS:
                values = np.linspace(float(lo), float(hi), count).tolist()
        else:
            values = [float(x) for x in rhs.split(",") if x.strip()]
    except ValueError:
        raise ProblemSpecError("--param", spec,
                               "values must be lo:hi:count (count >= 1) or a comma list of numbers") from None
    if count > MAX_POINTS:
        raise ProblemSpecError("--param", spec, f"asks for {count:,} values; a sweep has at most {MAX_POINTS:,} points")
    if not values or not path.strip():
        raise ProblemSpecError("--param", spec, "needs a key path and at least one value")
    if not all(math.isfinite(v) for v in values):
        raise ProblemSpecError("--param", spec, "values must be finite numbers")
    return path.strip(), values


def grid_size(params: list[tuple[str, list[float]]]) -> int:
    """Number of grid points: the product of the number of values of each parameter."""
    return math.prod(len(v) for _, v in params)


def check_options(params: list[tuple[str, list[float]]], workers: object = None, scheduler: str | None = None) -> None:
    """Refuse, before any work, a grid larger than :data:`MAX_POINTS`, a repeated key, a worker count below one,
    ``workers`` together with ``scheduler`` (the cluster has its own), and ``scheduler`` without Dask."""
    if not params:
        raise ProblemSpecError("--param", None, "give at least one --param table.key=lo:hi:count")
    keys = [k for k, _ in params]
    dup = next((k for k in keys if keys.count(k) > 1), None)
    if dup is not None:
        raise ProblemSpecError("--param", dup, "is given twice; give each key once (a,b,c lists several values)")
    size = grid_size(params)
    if size > MAX_POINTS:
        counts = " x ".join(f"{len(v):,}" for _, v in params)
        raise ProblemSpecError("--param", " ".join(keys), f"make a grid of {counts} = {size:,} points; a sweep has at "
                               f"most {MAX_POINTS:,} (use fewer values)")
    if workers is not None:
        if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or not 1 <= workers <= MAX_WORKERS:
            raise ProblemSpecError("--workers", workers,
                                   f"must be an integer >= 1 and <= {MAX_WORKERS} (local processes)")
        if scheduler:
            raise ProblemSpecError("--workers", workers, "applies to local processes; with --scheduler the Dask "
                                   "cluster's workers run the sweep (leave out --workers)")
    if scheduler is not None:
        if not str(scheduler).strip():
            raise ProblemSpecError("--scheduler", scheduler, "must be a Dask scheduler address, e.g. tcp://127.0.0.1:8786")
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise ProblemSpecError("--scheduler", scheduler, "needs the Dask distributed package, which is not "
                                   "installed (pip install 'dask[distributed]', or mechdesign[distributed])") from None


def sweep_columns(problem: object, names: list[str]) -> list[str]:
    """The numeric columns of a sweep of ``problem`` over the keys ``names`` (what ``--y`` may plot)."""
    from mechdesign.registry import spec_of

    return list(names) + list(spec_of(problem).sweep_columns) + ["seconds"]  # the setting's spec says which


def _set(data: dict[str, Any], path: str, value: float) -> None:
    keys = path.split(".")
    node: Any = data
    for k in keys[:-1]:
        if not isinstance(node, dict) or k not in node:
            raise ProblemSpecError("--param", path, f"names no table of the problem file (missing {k!r})")
        node = node[k]
    if not isinstance(node, dict) or keys[-1] not in node:
        raise ProblemSpecError("--param", path, "names no key of the problem file (only existing keys can be swept)")
    old = node[keys[-1]]
    if isinstance(old, bool) or not isinstance(old, (int, float)):
        raise ProblemSpecError("--param", path, f"names a key whose value {old!r} is not a number; only number "
                               "keys can be swept")
    node[keys[-1]] = value


def _solve_one(data: Mapping[str, Any], params: dict[str, float], n: int | None) -> dict[str, object]:
    """Solve one instance; errors become a row with the message (a sweep never dies on one point)."""
    from mechdesign.problemfile import problem_from_dict

    row: dict[str, object] = dict(params)
    t0 = time.perf_counter()
    try:
        prob = problem_from_dict(data, source="sweep")
        r = prob.solve(**({"n": n} if n is not None and "n" in prob.options else {}))
        row.update(status=r.status, profit=r.profit, surplus=r.surplus, consumer_surplus=r.consumer_surplus,
                   **r.sweep_row())
    except MechDesignError as exc:
        row.update(status="error", error=str(exc))
    except MemoryError:
        row.update(status="error", error="out of memory (use fewer type cells, --n)")
    row["seconds"] = time.perf_counter() - t0
    return row


def run_sweep(path: str | Path, params: list[tuple[str, list[float]]], n: int | None = None,
              workers: int | None = None, scheduler: str | None = None,
              progress: bool = True) -> pd.DataFrame:
    """Solve every grid point; ``scheduler`` is a Dask distributed address (``tcp://host:port``).

    The file is read and checked like any problem file (:func:`mechdesign.problemfile.read_problem_file`,
    :func:`~mechdesign.problemfile.problem_from_dict`) and the options by :func:`check_options`, all
    before any solve; a grid point whose values make the problem invalid becomes a row with the error.
    """
    from mechdesign.problemfile import check_n, problem_from_dict, read_problem_file
    from mechdesign.shipped import resolve

    check_options(params, workers, scheduler)
    path = resolve(path)  # a path, or a shipped problem's name
    base = read_problem_file(path)
    check_n(problem_from_dict(base, source=str(path)), n)
    names = [k for k, _ in params]
    jobs = []
    for combo in itertools.product(*[v for _, v in params]):
        data = copy.deepcopy(base)
        point = dict(zip(names, combo))
        for k, v in point.items():
            _set(data, k, v)
        jobs.append((data, point))
    if scheduler:
        from distributed import Client

        with Client(scheduler) as client:
            futures = [client.submit(_solve_one, d, pt, n, pure=False) for d, pt in jobs]
            rows = client.gather(futures)
    elif workers == 1:
        rows = [_solve_one(d, pt, n) for d, pt in jobs]
    else:
        with ProcessPoolExecutor(max_workers=workers) as ex:
            futs = [ex.submit(_solve_one, d, pt, n) for d, pt in jobs]
            rows = []
            try:
                from tqdm import tqdm

                it = tqdm(futs, desc="sweep", disable=not progress or len(futs) < 4)
            except ImportError:  # pragma: no cover - tqdm is a dependency
                it = futs
            for fut in it:
                rows.append(fut.result())
    df = pd.DataFrame(rows)
    return df


def provenance() -> dict[str, str]:
    """Versions recorded with every sweep (reproducibility)."""
    import clarabel
    import cvxpy

    from mechdesign import __version__

    return {"mechdesign": __version__, "cvxpy": cvxpy.__version__, "clarabel": clarabel.__version__,
            "numpy": np.__version__, "python": platform.python_version()}
