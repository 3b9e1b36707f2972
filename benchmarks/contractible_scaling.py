"""Scaling of the contractible-task program (Appendix B) in types N and task segments T.

Run from the repository root:

    python benchmarks/contractible_scaling.py                          # N in 50 100 200, T = 10
    python benchmarks/contractible_scaling.py --sizes 100 --segments 4 10 --formulations tokens profile

Types: N task profiles with w ~ U[0.05, 1.2]^T (seed 0), equal probabilities and segment measures;
technology g = x1^0.3 x2^0.2 z^0.25 (the shipped problems'). For each (N, T, IC strategy, formulation)
it records the wall time split (build, solve, audit, refinement), the adaptive rounds and IC rows, the
all-pairs audit and the profit; formulations solved side by side give the time ratio. A run that
exceeds --timeout seconds is recorded as such.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from scaling import machine, markdown

import mechdesign as md


def _one(N: int, T: int, ic: str, formulation: str, out: mp.Queue) -> None:  # type: ignore[type-arg]
    rng = np.random.default_rng(0)
    w = rng.uniform(0.05, 1.2, (N, T))
    types = md.TaskProfileTypes(w, np.full(N, 1.0 / N), np.full(T, 1.0 / T))
    tech = md.cobb_douglas([0.3, 0.2], [1.0, 3.0], [0.25], [2.0])
    t0 = time.perf_counter()
    r = md.solve_contractible(tech, types, ic=ic, formulation=formulation)
    wall = time.perf_counter() - t0
    times = r.solver["times"]
    assert isinstance(times, dict)
    refine = r.solver.get("refine") or {}
    assert isinstance(refine, dict)
    out.put({"N": N, "T": T, "ic": ic, "formulation": formulation, "status": r.status, "wall_s": wall,
             **{f"{k}_s": v for k, v in times.items()}, "rounds": r.solver.get("rounds"),
             "ic_rows": len(r.ic_pairs), "max_ic_violation_rel": r.audit.max_ic_violation_rel,
             "refined": bool(refine.get("applied")), "profit": r.profit})


def run(sizes: list[int], segments: list[int], strategies: list[str], formulations: list[str],
        timeout: float) -> pd.DataFrame:
    rows = []
    for N in sizes:
        for T in segments:
            for ic in strategies:
                for form in formulations:
                    q: mp.Queue = mp.Queue()  # type: ignore[type-arg]
                    p = mp.Process(target=_one, args=(N, T, ic, form, q))
                    t0 = time.perf_counter()
                    p.start()
                    p.join(timeout)
                    if p.is_alive():
                        p.terminate()
                        p.join()
                        rows.append({"N": N, "T": T, "ic": ic, "formulation": form,
                                     "status": f"not finished in {timeout:.0f} s", "wall_s": time.perf_counter() - t0})
                    else:
                        rows.append(q.get() if not q.empty() else {"N": N, "T": T, "ic": ic, "formulation": form,
                                                                   "status": "failed"})
                    print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[50, 100, 200])
    ap.add_argument("--segments", type=int, nargs="+", default=[10])
    ap.add_argument("--strategies", nargs="+", default=["adaptive"])
    ap.add_argument("--formulations", nargs="+", default=["tokens", "profile"])
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "contractible_scaling"))
    args = ap.parse_args()
    df = run(args.sizes, args.segments, args.strategies, args.formulations, args.timeout)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(args.out + ".csv", index=False)
    md_text = (f"Machine: {machine()}; date {time.strftime('%Y-%m-%d')}; mechdesign {md.__version__}\n\n"
               + markdown(df.map(lambda v: f"{v:.3g}" if isinstance(v, float) else v)))
    Path(args.out + ".md").write_text(md_text + "\n")
    print(md_text)


if __name__ == "__main__":
    main()
