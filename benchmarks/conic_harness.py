"""Seeded random single-model problems through the conic program, against the exact discrete menu.

Usage (from the repository root)::

    PYTHONPATH=. python benchmarks/conic_harness.py FIRST LAST ["{'formulation': 'tokens', 'ic': 'all'}"]

Each seed's instance is the one of ``tests/test_harness_single.py`` (``draw_instance``); the exact discrete
menu (Prop 3, discrete, ironed by the lower convex hull) is computed there independently. Prints every
instance that is not certified with margin or not exact, and a summary: counts by outcome and the largest
certified gap (relative to the profit).
"""

from __future__ import annotations

import ast
import sys
import time
import warnings

import numpy as np

from mechdesign import MechDesignError, ProblemSpecError, SingleModelProblem
from tests.test_harness_single import draw_instance, exact_menu


def main(first: int, last: int, options: dict[str, object]) -> None:
    warnings.simplefilter("ignore")
    stats: dict[str, int] = {}
    worst = 0.0
    t0 = time.perf_counter()
    for seed in range(first, last):
        tech, types, N, info = draw_instance(seed)
        problem = SingleModelProblem(tech, types, n=N)  # type: ignore[arg-type]
        try:
            dt = problem.discrete_types()
            r = problem.solve(method="conic", compare=False, **options)  # type: ignore[arg-type]
        except ProblemSpecError:
            stats["refused"] = stats.get("refused", 0) + 1
            continue
        except MechDesignError as exc:
            stats["error"] = stats.get("error", 0) + 1
            print(seed, "error", type(exc).__name__, str(exc)[:120])
            continue
        q, _, _ = exact_menu(dt.theta, dt.prob, info["lc0"], info["beta"])
        err = float(np.max(np.abs(r.quality - q)) / max(float(q.max()), 1e-300))
        key = r.status + ("" if err <= 1e-8 else " but off") + ("" if r.certificate.has_margin else " (no margin)")
        stats[key] = stats.get(key, 0) + 1
        if r.status == "optimal":
            worst = max(worst, abs(r.certificate.gap_rel))
        if key != "optimal":
            print(seed, key, f"quality error {err:.1e};", r.certificate.line())
    print(stats, f"largest certified gap {worst:.2e} of the profit; {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), dict(ast.literal_eval(sys.argv[3])) if len(sys.argv) > 3 else {})
