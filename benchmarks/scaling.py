"""Scaling of the single-model screening program in the number of types, per IC strategy.

Run from the repository root:

    python benchmarks/scaling.py                      # default grid, writes benchmarks/results/scaling.{csv,md}
    python benchmarks/scaling.py --sizes 10 100 --strategies local adaptive

For each N and strategy it solves problems/single_model_cobb_douglas.toml (theta ~ U[0,1]) and
records the time split (model build, solve, audit incl. post-processing), the IC rows used, the
all-pairs audit and the errors against the exact discrete menu (Prop 3, discrete), side by side.
The `all` strategy is capped at --all-max (its KKT system couples every pair of types).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import mechdesign as md


def machine() -> str:
    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            kb = int(fh.readline().split()[1])
            mem = f", {kb / 2**20:.0f} GiB"
    except OSError:
        pass
    return f"{platform.machine()}, {os.cpu_count()} cores{mem}, Python {platform.python_version()}"


def markdown(df: pd.DataFrame) -> str:
    """A GitHub markdown table (no extra dependency)."""
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def run(sizes: list[int], strategies: list[str], all_max: int) -> pd.DataFrame:
    problem = md.load_problem(ROOT / "problems" / "single_model_cobb_douglas.toml")
    rows = []
    for n in sizes:
        for ic in strategies:
            if ic == "all" and n > all_max:
                continue
            t0 = time.perf_counter()
            r = problem.solve(n=n, ic=ic, binding="auto")
            wall = time.perf_counter() - t0
            times = r.solver["times"]
            c = r.comparison
            rows.append({
                "N": n, "ic": ic, "status": r.status, "wall_s": wall,
                "build_s": times["build"], "solve_s": times["solve"], "audit_s": times["audit"],
                "rounds": r.solver["rounds"], "ic_rows": r.solver["ic_pairs"],
                "max_ic_viol_rel": r.audit.max_ic_violation_rel, "max_ir_viol_rel": r.audit.max_ir_violation_rel,
                "profit_err": c.profit_rel_error, "Q_err": c.quality_rel_error, "t_err": c.transfer_rel_error,
                "binding_agree": c.binding_agree,
            })
            print(f"N={n:6d} ic={ic:8s} wall {wall:8.2f}s  Q err {c.quality_rel_error:.1e}", flush=True)
    df = pd.DataFrame(rows)
    base = df[df.ic == "local"].set_index("N")["wall_s"]
    df["wall_vs_local"] = [row.wall_s / base.get(row.N, float("nan")) for row in df.itertuples()]
    return df


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 30, 100, 300, 1000, 3000, 10000])
    ap.add_argument("--strategies", nargs="+", default=["all", "local", "adaptive"])
    ap.add_argument("--all-max", type=int, default=300)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    df = run(args.sizes, args.strategies, args.all_max)
    df.to_csv(out / "scaling.csv", index=False)
    header = (f"machine: {machine()}; mechdesign {md.__version__}; "
              f"date {time.strftime('%Y-%m-%d')}\n\n")
    fmt = df.copy()
    for col in ("wall_s", "build_s", "solve_s", "audit_s", "wall_vs_local"):
        fmt[col] = fmt[col].map(lambda v: f"{v:.3g}")
    for col in ("max_ic_viol_rel", "max_ir_viol_rel", "profit_err", "Q_err", "t_err"):
        fmt[col] = fmt[col].map(lambda v: f"{v:.1e}")
    (out / "scaling.md").write_text(header + markdown(fmt) + "\n")
    print(header + fmt.to_string(index=False))


if __name__ == "__main__":
    main()
