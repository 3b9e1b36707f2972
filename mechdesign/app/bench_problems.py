"""What every benchmark suite shares: the seed of the random instances, the shipped problems' folder and
the single-model problem the scaling and accuracy suites solve (:mod:`mechdesign.app.bench` and its suites
import it; it imports none of them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: one row of a suite's table
Row = dict[str, Any]
#: seed of every random instance in the suites
SEED = 0


def problems_dir() -> Path:
    """The shipped problem files (:func:`mechdesign.shipped.shipped_dir`: the installed package data, else the
    repository's ``problems/``), from any working directory."""
    from mechdesign.shipped import shipped_dir

    return shipped_dir()


def single_problem() -> Any:
    """The shipped ``single_model_cobb_douglas`` problem (the scaling and accuracy suites' instance)."""
    from mechdesign.problemfile import load_problem

    return load_problem(problems_dir() / "single_model_cobb_douglas.toml")


def timed_solve(problem: Any) -> tuple[Any, float]:
    """``problem.solve()`` with its default options and warnings silenced (a row reports the status), and its
    wall time in seconds."""
    import time
    import warnings

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = problem.solve()
    return result, time.perf_counter() - t0
