"""Benchmark suites (``mechdesign bench``): scaling, contractible, accuracy, peers, solvers, multidim, value_scale.

Every case runs in its own fresh process (``spawn``), so that its time, its peak memory (the
process's maximum resident set) and a time limit are its own; a case that exceeds the limit is
recorded as such, not dropped. Each suite writes ``DIR/<suite>.csv`` and ``DIR/<suite>.md`` (a
markdown table under a header with the command, machine, date, seed and versions).

Suites
------
``scaling``
    One-dimensional types (``problems/single_model_cobb_douglas.toml``), N = 10 ... 100,000: each IC
    strategy and formulation, time split (build, solve, refine, audit), max IC violation, errors against
    the exact discrete menu (Prop 3, discrete), and the formulation a user writes by hand (every IC pair
    as its own cvxpy constraint, and every pair as one matrix constraint) with the speed-up over it.
``contractible``
    Contractible tasks (App. B), N x T grid of random task profiles (seeded): ``all`` vs ``adaptive``.
``accuracy``
    Discretisation error against the continuous closed forms as N grows, with the fitted rate
    (least-squares slope of log error on log N): single model (Prop 3), multi-model (Prop 6: the
    efficient allocation at the virtual type), leader-fringe (Prop 7 cutoffs and quantities).
``peers``
    The same one-dimensional instances solved by ``mechaudit`` (an LP over lotteries on a quality grid,
    HiGHS) at its grid sizes beside ours: time, peak memory, profit and allocation error against the
    exact discrete menu. Needs ``pip install mechaudit`` (reported as missing otherwise).
``solvers``
    Clarabel vs SCS (and any other installed conic solver that handles the cones) on the same
    instances: time, status, accuracy, failures.
``multidim``
    The shipped multidimensional grids (Rochet-Chone, bundling with substitutes; 20 x 20 to 100 x 100) beside
    the PDHG peer of :mod:`mechdesign.app.peers`, with its profit against the certified optimum and time ratios.
``value_scale``
    The shipped value-scale problem (App. B.3, Prop 10) with n_w = 20 ... 200 value cells times 4 scales, the
    default ``ic = "adaptive"`` beside ``ic = "all"`` (speed-up), with the profit against Prop 10's benchmark.

The contractible and accuracy suites live in :mod:`mechdesign.app.bench_contractible` and
:mod:`mechdesign.app.bench_accuracy`, the multidim suite in :mod:`mechdesign.app.bench_multidim`, the value-scale
suite in :mod:`mechdesign.app.bench_value_scale`; what they
share (seed, problems, the single-model instance) in :mod:`mechdesign.app.bench_problems`.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import os
import platform
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mechdesign.app.bench_accuracy import accuracy_cases, accuracy_rates
from mechdesign.app.bench_contractible import contractible_cases, finished, search_speedup
from mechdesign.app.bench_multidim import multidim_cases, peer_ratios
from mechdesign.app.bench_problems import SEED, Row, single_problem
from mechdesign.app.bench_value_scale import all_pairs_speedup, value_scale_cases

SUITES = ("default", "scaling", "contractible", "accuracy", "peers", "solvers", "multidim", "value_scale")


# ---------------------------------------------------------------------------------------------- helpers
def machine() -> str:
    """Architecture, cores, memory and Python version of this machine."""
    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            mem = f", {int(fh.readline().split()[1]) / 2**20:.0f} GiB"
    except OSError:
        pass
    return f"{platform.machine()}, {os.cpu_count()} cores{mem}, Python {platform.python_version()}"


def versions() -> dict[str, str]:
    """Versions of the packages the suites depend on (the sweeps' provenance, plus scipy, pandas, mechaudit)."""
    import scipy

    from mechdesign.app.sweep import provenance

    out = {**provenance(), "scipy": scipy.__version__, "pandas": pd.__version__}
    try:
        import mechaudit

        out["mechaudit"] = mechaudit.__version__
    except ImportError:
        pass
    return out


def markdown(df: pd.DataFrame) -> str:
    """A GitHub markdown table; floats in 3 significant digits (errors in scientific notation)."""
    def fmt(v: object) -> str:
        if isinstance(v, float):
            if np.isnan(v):
                return ""
            return f"{v:.1e}" if (v != 0 and (abs(v) < 1e-2 or abs(v) >= 1e5)) else f"{v:.3g}"
        return str(v)
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def _child(fn: Callable[..., Row], kwargs: dict[str, Any]) -> Row:
    row = fn(**kwargs)
    row["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return row


def run_isolated(fn: Callable[..., Row], kwargs: dict[str, Any], timeout: float) -> Row:
    """Run ``fn(**kwargs)`` in a fresh process; a row saying why when it fails or runs out of time."""
    ctx = mp.get_context("spawn")
    ex = cf.ProcessPoolExecutor(max_workers=1, mp_context=ctx)
    t0 = time.perf_counter()
    fut = ex.submit(_child, fn, kwargs)
    try:
        return fut.result(timeout=timeout)
    except cf.TimeoutError:
        return {**kwargs, "method": fn.__name__, "status": f"not finished in {timeout:.0f} s",
                "wall_s": time.perf_counter() - t0}
    except Exception as exc:  # noqa: BLE001 - a failure is a result of the benchmark, not a crash of it
        return {**kwargs, "method": fn.__name__, "status": f"failed: {type(exc).__name__}: {str(exc)[:120]}"}
    finally:
        for p in list(getattr(ex, "_processes", {}).values()):
            p.terminate()
        ex.shutdown(wait=False, cancel_futures=True)


# ---------------------------------------------------------------------------------------------- scaling
def _errors(N: int, quality: np.ndarray, transfer: np.ndarray, profit: float) -> Row:
    """Errors against the exact discrete menu (closed form, Prop 3 discrete)."""
    exact = single_problem().analytic(N)
    scale_q = float(np.max(exact.quality))
    scale_t = float(np.max(np.abs(exact.transfer)))
    return {"profit_err": abs(profit - exact.profit) / abs(exact.profit),
            "Q_err": float(np.max(np.abs(quality - exact.quality))) / scale_q,
            "t_err": float(np.max(np.abs(transfer - exact.transfer))) / scale_t}


def case_mechdesign(N: int, ic: str, formulation: str = "auto", polish: bool = True,
                    solver: str = "CLARABEL") -> Row:
    """One single-model solve by mechdesign (full pipeline: build, solve, refine, all-pairs audit)."""
    problem = single_problem()
    t0 = time.perf_counter()
    r = problem.solve(n=N, ic=ic, binding="local", compare=False, polish=polish, formulation=formulation,
                      solver=solver)
    wall = time.perf_counter() - t0
    times = r.solver["times"]
    refine = r.solver.get("refine") or {}
    row: Row = {"N": N, "method": f"mechdesign ic={ic} {r.solver['formulation']}" + ("" if polish else " no-polish"),
                "solver": solver, "status": r.status, "wall_s": wall, "build_s": times.get("build", 0.0),
                "solve_s": times.get("solve", 0.0), "refine_s": times.get("refine", 0.0),
                "audit_s": times.get("audit", 0.0), "ic_rows": r.solver["ic_pairs"],
                "refined": bool(refine.get("applied")) if isinstance(refine, dict) else False,
                "max_ic_viol_rel": r.audit.max_ic_violation_rel}
    row.update(_errors(N, r.menu["quality"].to_numpy(), r.menu["transfer"].to_numpy(), r.profit))
    return row


def case_default(N: int) -> Row:
    """The user's default single-model path: ``problem.solve(n=N)`` (structured exact solver, certificate,
    all-pairs audit); ``solve_s`` + ``certificate_s`` + ``audit_s`` is what the JSON's ``times`` report."""
    problem = single_problem()
    t0 = time.perf_counter()
    r = problem.solve(n=N, binding="local", compare=False)
    wall = time.perf_counter() - t0
    times = r.solver["times"]
    row: Row = {"N": N, "method": "mechdesign default (structured)", "solver": r.solver["name"], "status": r.status,
                "wall_s": wall, "build_s": 0.0, "solve_s": times.get("solve", 0.0),
                "certificate_s": times.get("certificate", 0.0), "audit_s": times.get("audit", 0.0),
                "ic_rows": r.solver["ic_pairs"], "refined": False, "max_ic_viol_rel": r.audit.max_ic_violation_rel,
                "gap_rel": r.certificate.gap_rel if r.certificate else np.nan}
    row.update(_errors(N, r.menu["quality"].to_numpy(), r.menu["transfer"].to_numpy(), r.profit))
    return row


def case_closed_form(N: int) -> Row:
    """The physical limit: the exact discrete menu from the closed form (Prop 3 discrete) plus the all-pairs audit."""
    from mechdesign.engine.audit import audit_menu

    problem = single_problem()
    types = problem.discrete_types(N)
    t0 = time.perf_counter()
    exact = problem.analytic(N)
    solve = time.perf_counter() - t0
    t1 = time.perf_counter()
    rep = audit_menu(types.theta, exact.quality, exact.transfer)
    audit = time.perf_counter() - t1
    return {"N": N, "method": "closed form (exact discrete menu)", "solver": "-", "status": "exact",
            "wall_s": time.perf_counter() - t0, "build_s": 0.0, "solve_s": solve, "audit_s": audit,
            "ic_rows": 0, "refined": False, "max_ic_viol_rel": rep.max_ic_violation_rel,
            "profit_err": 0.0, "Q_err": 0.0, "t_err": 0.0}


def _solve_handwritten(q: Any, t: Any, cons: list[Any], t0: float, method: str, ic_rows: int, N: int) -> Row:
    """Solve a hand-written single-model program (cost C0 q^(1/(sigma+sigma_hat)), Clarabel defaults), audit
    its menu against every pair and compare it with the exact discrete menu."""
    import cvxpy as cp

    from mechdesign.engine.audit import audit_menu

    problem = single_problem()
    types = problem.discrete_types(N)
    tech = problem.technology
    th, f = types.theta, types.prob
    prob = cp.Problem(cp.Maximize(f @ (t - tech.C0 * cp.power(q, tech.cost_exponent))), cons)
    build = time.perf_counter() - t0
    t1 = time.perf_counter()
    prob.solve(solver="CLARABEL")
    solve = time.perf_counter() - t1
    t2 = time.perf_counter()
    rep = audit_menu(th, np.asarray(q.value), np.asarray(t.value))
    audit = time.perf_counter() - t2
    row: Row = {"N": N, "method": method, "solver": "CLARABEL", "status": prob.status,
                "wall_s": time.perf_counter() - t0, "build_s": build, "solve_s": solve, "refine_s": 0.0,
                "audit_s": audit, "ic_rows": ic_rows, "refined": False, "max_ic_viol_rel": rep.max_ic_violation_rel}
    profit = float(f @ (np.asarray(t.value) - tech.cost(np.asarray(q.value))))
    row.update(_errors(N, np.asarray(q.value), np.asarray(t.value), profit))
    return row


def case_handwritten_local(N: int) -> Row:
    """The local formulation as a user writes it in cvxpy: downward adjacent IC, monotonicity, IR of the
    lowest type; then the all-pairs audit."""
    import cvxpy as cp

    th = single_problem().discrete_types(N).theta
    t0 = time.perf_counter()
    q = cp.Variable(N, nonneg=True)
    t = cp.Variable(N)
    cons = [th[0] * q[0] - t[0] >= 0, cp.diff(q) >= 0, cp.multiply(th[1:], cp.diff(q)) - cp.diff(t) >= 0]
    return _solve_handwritten(q, t, cons, t0, "hand-written local (cvxpy)", N - 1, N)


def case_handwritten(N: int, style: str) -> Row:
    """The program as a user writes it by hand in cvxpy: quality and transfer per type, the cost
    C0 q^(1/(sigma+sigma_hat)) (Lemma 3), IR per type and every IC pair, either each pair as its own
    constraint (``loop``, a double loop) or all pairs as one N x N matrix constraint (``matrix``);
    Clarabel with its default settings; then the same all-pairs audit."""
    import cvxpy as cp

    th = single_problem().discrete_types(N).theta
    t0 = time.perf_counter()
    q = cp.Variable(N, nonneg=True)
    t = cp.Variable(N)
    own = cp.multiply(th, q) - t
    cons = [own >= 0]
    if style == "loop":
        for i in range(N):
            for j in range(N):
                if i != j:
                    cons.append(th[i] * q[i] - t[i] >= th[i] * q[j] - t[j])
    else:
        ones = np.ones((N, 1))
        dev = cp.outer(th, q) - ones @ cp.reshape(t, (1, N), order="C")  # [i, j] = th_i q_j - t_j
        cons.append(cp.reshape(own, (N, 1), order="C") @ ones.T >= dev)
    return _solve_handwritten(q, t, cons, t0, f"hand-written every pair ({style})", N * (N - 1), N)


def default_cases(quick: bool) -> list[tuple[Callable[..., Row], dict[str, Any]]]:
    """The user's default single-model path beside the closed form and the hand-written local cvxpy program."""
    sizes = [10, 100, 1000, 10_000] if quick else [10, 100, 1000, 10_000, 100_000, 1_000_000]
    cases: list[tuple[Callable[..., Row], dict[str, Any]]] = []
    for N in sizes:
        cases += [(case_default, {"N": N}), (case_closed_form, {"N": N})]
        if N <= 100_000:
            cases.append((case_handwritten_local, {"N": N}))
    return cases


def scaling_cases(quick: bool) -> list[tuple[Callable[..., Row], dict[str, Any]]]:
    sizes = [10, 100, 1000, 10_000] if quick else [10, 100, 500, 1000, 10_000, 100_000]
    cases: list[tuple[Callable[..., Row], dict[str, Any]]] = []
    for N in sizes:
        if N <= (100 if quick else 300):
            cases.append((case_mechdesign, {"N": N, "ic": "all"}))
        cases.append((case_mechdesign, {"N": N, "ic": "local"}))
        cases.append((case_mechdesign, {"N": N, "ic": "local", "polish": False}))
        if N <= 10_000:
            cases.append((case_mechdesign, {"N": N, "ic": "adaptive"}))
        if N <= (100 if quick else 1000):
            cases.append((case_mechdesign, {"N": N, "ic": "local", "formulation": "tokens"}))
        if N <= (100 if quick else 500):
            cases.append((case_handwritten, {"N": N, "style": "matrix"}))
        if N <= 100:
            cases.append((case_handwritten, {"N": N, "style": "loop"}))
    return cases


def _with_ratio(df: pd.DataFrame, baselines: dict[str, str]) -> pd.DataFrame:
    """Speed-up of each row over a baseline method at the same N (``{column: method}``)."""
    if "wall_s" not in df or "method" not in df:
        return df
    done = finished(df)  # a timed-out or failed row (or baseline) has no speed-up
    for col, method in baselines.items():
        base = df[done & (df["method"] == method)].set_index("N")["wall_s"]
        if len(base):
            df[col] = [base.get(n, np.nan) / w if ok and isinstance(w, float) and w > 0 else np.nan
                       for n, w, ok in zip(df["N"], df["wall_s"], done)]
    return df


# ---------------------------------------------------------------------------------------------- peers
def case_mechaudit(N: int, K: int) -> Row:
    """mechaudit 0.1: one buyer with the N cell types, K outcomes = a uniform grid of qualities on
    [0, efficient quality of the top type], value theta q_k, the designer's revenue minus the expected
    cost C(q_k) (a custom linear objective), DSIC (= IC with one agent) and ex-post IR; an LP over
    lotteries solved by HiGHS. The expected quality of each type's lottery is compared with the exact
    discrete menu."""
    from mechaudit import DSIC, ExpectedRevenue, ExPostIR, FiniteEnvironment, PrivateValues
    from mechaudit.core.labels import ReportProfile
    from mechaudit.objectives import CustomLinearObjective
    from mechaudit.requirements import AllocationCoordinate

    problem = single_problem()
    types = problem.discrete_types(N)
    tech = problem.technology
    th, f = types.theta, types.prob
    qg = np.linspace(0.0, float(tech.efficient_quality(th[-1:])[0]), K)
    cost = tech.cost(qg)
    def value(agent: Any, own: Any, k: Any) -> Any:
        return float(th[own] * qg[k])

    t0 = time.perf_counter()
    env = FiniteEnvironment(agents={"buyer": list(range(N))}, outcomes=list(range(K)),
                            prior={n: float(f[n]) for n in range(N)},
                            values=PrivateValues(value))
    coef: dict[Any, float] = {
        AllocationCoordinate(ReportProfile.from_values(("buyer",), (n,)), k): -float(f[n] * cost[k])
        for n in range(N) for k in range(K)}
    sol = env.design(objective=ExpectedRevenue() + CustomLinearObjective("token_cost", coef),
                     requirements=(DSIC(), ExPostIR())).solve()
    wall = time.perf_counter() - t0
    tables = sol.mechanism.to_pandas()
    lottery = tables.allocation.to_numpy(dtype=float)
    quality = lottery @ qg
    transfer = tables.payments.to_numpy(dtype=float).reshape(-1)
    row: Row = {"N": N, "method": "mechaudit LP over lotteries", "quality_grid": K, "status": "optimal", "wall_s": wall}
    row.update(_errors(N, quality, transfer, float(sol.objective_value)))
    return row


def peers_cases(quick: bool) -> list[tuple[Callable[..., Row], dict[str, Any]]]:
    sizes = [20, 50] if quick else [20, 50, 100, 200]
    cases: list[tuple[Callable[..., Row], dict[str, Any]]] = []
    for N in sizes:
        cases.append((case_mechaudit, {"N": N, "K": N}))
        cases.append((case_mechdesign, {"N": N, "ic": "local"}))
        cases.append((case_mechdesign, {"N": N, "ic": "adaptive"}))
    return cases


# ---------------------------------------------------------------------------------------------- solvers
def solvers_cases(quick: bool) -> list[tuple[Callable[..., Row], dict[str, Any]]]:
    import cvxpy as cp

    names = [s for s in ("CLARABEL", "SCS", "ECOS", "MOSEK") if s in cp.installed_solvers()]
    sizes = [50] if quick else [50, 200, 1000]
    return [(case_mechdesign, {"N": N, "ic": ic, "solver": s})
            for N in sizes for ic in ("local", "adaptive") for s in names]


# ---------------------------------------------------------------------------------------------- runner
CASES: dict[str, Callable[[bool], list[tuple[Callable[..., Row], dict[str, Any]]]]] = {
    "default": default_cases, "scaling": scaling_cases, "contractible": contractible_cases, "accuracy": accuracy_cases,
    "peers": peers_cases, "solvers": solvers_cases, "multidim": multidim_cases,
    "value_scale": value_scale_cases,
}


def run_suite(name: str, out: str | Path, quick: bool = False, timeout: float = 600.0,
              progress: bool = True, command: str = "") -> pd.DataFrame:
    """Run one suite case by case (each in its own process), write ``out/name.{csv,md}``, return the table."""
    if name not in CASES:
        from mechdesign.exceptions import ProblemSpecError

        raise ProblemSpecError("suite", name, "must be one of " + ", ".join(SUITES))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cases = CASES[name](quick)
    if name == "peers":
        try:
            import mechaudit  # noqa: F401
        except ImportError:
            cases = [c for c in cases if c[0] is not case_mechaudit]
            print("mechdesign bench: mechaudit is not installed (pip install mechaudit); "
                  "the peers suite runs mechdesign only", file=sys.stderr)
    it: Any = cases
    if progress:
        from tqdm import tqdm

        it = tqdm(cases, desc=f"bench {name}", unit="case", file=sys.stderr)
    rows = [run_isolated(fn, kw, timeout) for fn, kw in it]
    df = pd.DataFrame(rows)
    if name in ("scaling", "default"):
        df = _with_ratio(df, {"speedup_vs_local_cvxpy": "hand-written local (cvxpy)",
                              "x_closed_form": "closed form (exact discrete menu)",
                              "speedup_vs_matrix": "hand-written every pair (matrix)",
                              "speedup_vs_loop": "hand-written every pair (loop)"})
    if name == "peers":
        df = _with_ratio(df, {"speedup_vs_mechaudit": "mechaudit LP over lotteries"})
    if name == "contractible":
        df = search_speedup(df)
    if name == "multidim":
        df = peer_ratios(df)
    if name == "value_scale":
        df = all_pairs_speedup(df)
    header = [f"# mechdesign bench: {name}", "",
              f"- command: `{command or f'mechdesign bench {name} --out {out}'}`",
              f"- machine: {machine()}", f"- date: {time.strftime('%Y-%m-%d %H:%M')}",
              f"- seed: {SEED}; versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()),
              f"- time limit per case: {timeout:.0f} s; each case in a fresh process (peak_rss_mb is its peak memory)",
              "", ""]
    body = markdown(df)
    if name == "accuracy":
        rates = accuracy_rates(df)
        rates.to_csv(out / "accuracy_rates.csv", index=False)
        body += "\n\nFitted rates (slope of log error on log N):\n\n" + markdown(rates)
    df.to_csv(out / f"{name}.csv", index=False)
    (out / f"{name}.md").write_text("\n".join(header) + body + "\n")
    return df
