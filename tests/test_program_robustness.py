"""Robustness of the screening engine: numerical failures of the refinement, the user's time limit,
determinism under machine load, and the bounded memory of the IC-pair search."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

import mechdesign.engine.program as program_module
from mechdesign import DiscreteTypes, SingleModelProblem, cobb_douglas, load_problem
from mechdesign.engine.program import ProgramSolution, ScreeningProgram, _best_items
from mechdesign.exceptions import MechDesignError, ProblemSpecError, TimeLimitError

from .conftest import AUDIT_RTOL, PROBLEMS

COBB = PROBLEMS / "single_model_cobb_douglas.toml"


def _solve_or_mechdesign_error(problem: SingleModelProblem, ic: str) -> None:
    """The solve returns an audited menu or raises a MechDesignError: never another traceback."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = problem.solve(ic=ic)
    except MechDesignError:
        return
    assert res.audit.max_ic_violation_rel <= AUDIT_RTOL
    assert np.all(np.isfinite(res.menu["quality"])) and np.all(np.isfinite(res.menu["transfer"]))
    refine = res.solver["refine"]
    assert isinstance(refine["applied"], bool)


@pytest.mark.parametrize("ic", ["adaptive", "all"])
def test_singular_newton_system_rejects_the_refinement_instead_of_crashing(ic: str) -> None:
    """sigma = 0.02: the Newton KKT system of an attempt is singular and then non-finite (was a
    traceback: LinAlgError singular matrix, then ValueError array must not contain infs or NaNs)."""
    tech = cobb_douglas([0.02], c=[1.0], ft_exponents=[0.2], c_hat=[1.0])
    problem = SingleModelProblem(tech, DiscreteTypes(np.array([1.0, 2.0, 3.0]), np.ones(3) / 3))
    _solve_or_mechdesign_error(problem, ic)


@pytest.mark.parametrize("seed", range(8))
def test_random_small_sigma_problems_never_crash(seed: int) -> None:
    """Small sigma (steep cost of quality), random fine-tuning exponent, costs and 3-8 types."""
    rng = np.random.default_rng(1000 + seed)
    sigma = float(rng.uniform(0.01, 0.09))
    ft = float(rng.uniform(0.01, 0.6))
    c, c_hat = rng.uniform(0.1, 5.0, 2)
    theta = np.unique(np.sort(rng.uniform(0.1, 5.0, int(rng.integers(3, 9)))))
    prob = rng.uniform(0.1, 1.0, theta.size)
    tech = cobb_douglas([sigma], c=[float(c)], ft_exponents=[ft], c_hat=[float(c_hat)])
    problem = SingleModelProblem(tech, DiscreteTypes(theta, prob / prob.sum()))
    for ic in ("adaptive", "all"):
        _solve_or_mechdesign_error(problem, ic)


def test_time_limit_ends_a_long_solve_with_a_clear_error() -> None:
    problem = load_problem(COBB)   # ic='all' at N = 400: 159,600 IC pairs, several seconds
    t0 = time.perf_counter()
    with pytest.raises(TimeLimitError, match=r"time limit of 0\.2 s reached in .*IC pairs"):
        problem.solve(n=400, ic="all", compare=False, time_limit=0.2)
    assert time.perf_counter() - t0 < 30.0


def test_clarabel_stopping_at_its_time_limit_is_a_time_limit_error() -> None:
    """Clarabel's MaxTime reads as cvxpy's user_limit; it is reported as TimeLimitError, not a generic
    solver failure (a time_limit in solver_options below the remaining time is the one Clarabel gets)."""
    problem = load_problem(COBB)
    with pytest.raises(TimeLimitError, match="solver_options"):
        problem.solve(n=50, ic="adaptive", compare=False, time_limit=600, solver_options={"time_limit": 1e-9})


@pytest.mark.parametrize("bad", [-1, 0, float("nan"), "soon"])
def test_time_limit_must_be_positive(bad: object) -> None:
    problem = load_problem(COBB)
    with pytest.raises(ProblemSpecError, match="time_limit") as err:
        problem.solve(n=20, compare=False, time_limit=bad)  # type: ignore[arg-type]
    assert err.value.field == "time_limit"


def test_a_generous_time_limit_changes_nothing() -> None:
    problem = load_problem(COBB)
    a = problem.solve(n=60, ic="adaptive", compare=False)
    b = problem.solve(n=60, ic="adaptive", compare=False, time_limit=600)
    assert np.array_equal(a.menu["quality"].to_numpy(), b.menu["quality"].to_numpy())
    assert np.array_equal(a.menu["transfer"].to_numpy(), b.menu["transfer"].to_numpy())


def test_a_time_limit_gives_the_unlimited_menu_or_an_error() -> None:
    """Clarabel stopped by its time limit may still meet its reduced tolerances (AlmostSolved); that
    answer depends on the machine's speed, so it is an error too, never a different menu."""
    problem = load_problem(COBB)
    ref = problem.solve(n=120, ic="adaptive", compare=False)   # about 0.15 s: the limits below end it
    finished = 0                                               # in every stage, or not at all
    for limit in (0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 60.0):
        try:
            res = problem.solve(n=120, ic="adaptive", compare=False, time_limit=limit)
        except TimeLimitError:
            continue
        finished += 1
        assert np.array_equal(ref.menu["quality"].to_numpy(), res.menu["quality"].to_numpy())
        assert np.array_equal(ref.menu["transfer"].to_numpy(), res.menu["transfer"].to_numpy())
    assert finished >= 1


def test_no_decision_depends_on_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a time limit the engine reads the clock only to report times: a clock that jumps by an
    hour at every reading (a machine under heavy load, seen from inside) changes nothing."""
    problem = load_problem(COBB)
    ref = problem.solve(n=120, ic="adaptive", compare=False)
    assert ref.solver["refine"]["applied"]  # the refinement (once bounded by seconds) does run here
    ticks = itertools.count()
    monkeypatch.setattr(program_module.time, "perf_counter", lambda: 3600.0 * next(ticks))
    slow = problem.solve(n=120, ic="adaptive", compare=False)
    assert slow.solver["refine"] == ref.solver["refine"]
    assert np.array_equal(ref.menu["quality"].to_numpy(), slow.menu["quality"].to_numpy())
    assert np.array_equal(ref.menu["transfer"].to_numpy(), slow.menu["transfer"].to_numpy())


def test_menu_is_bit_for_bit_the_same_under_cpu_load() -> None:
    """A CPU-bound process beside the solve (N = 200, adaptive; the refinement runs and is applied)
    changes no bit of the menu."""
    problem = load_problem(COBB)
    quiet = problem.solve(n=200, ic="adaptive", compare=False)
    assert quiet.solver["refine"]["applied"]
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        loaded = problem.solve(n=200, ic="adaptive", compare=False)
    finally:
        hog.kill()
        hog.wait()
    assert np.array_equal(quiet.menu["quality"].to_numpy(), loaded.menu["quality"].to_numpy())
    assert np.array_equal(quiet.menu["transfer"].to_numpy(), loaded.menu["transfer"].to_numpy())
    assert quiet.solver["refine"] == loaded.solver["refine"]


@pytest.mark.parametrize("D", [1, 2])
def test_top_pairs_in_chunks_equal_the_unchunked_search(D: int) -> None:
    """_top_pairs works in row chunks (memory O(N x chunk)); tiny chunks give the same pairs in the same order."""
    rng = np.random.default_rng(7)
    N = 60
    values = np.sort(rng.uniform(0.0, 1.0, (N, D)), axis=0)
    prog = ScreeningProgram(values, np.full(N, 1.0 / N), cost_model=None)  # type: ignore[arg-type]
    sol = ProgramSolution(
        allocation=rng.uniform(0.0, 1.0, (N, D)), transfer=rng.uniform(0.0, 0.5, N), tokens={}, objective=0.0,
        status="optimal", ic_pairs=np.zeros((0, 2), dtype=int), ic_duals=np.zeros(0), ir_duals=np.zeros(N),
        rounds=1, times={}, solver="CLARABEL",
    )
    types = rng.permutation(N)[:45]
    seen0 = {(int(n), int(n + 1) % N) for n in range(0, N, 3)}
    for per_type, min_gain in ((5, 0.0), (3, -0.2), (N, -np.inf)):
        seen_full, seen_chunk = set(seen0), set(seen0)
        full = prog._top_pairs(sol, types, per_type, min_gain, seen_full, chunk_entries=10**9)
        for entries in (1, N + 1, 7 * N):
            seen_chunk = set(seen0)
            chunked = prog._top_pairs(sol, types, per_type, min_gain, seen_chunk, chunk_entries=entries)
            assert np.array_equal(full, chunked)
            assert seen_full == seen_chunk
        assert len(full) > 0
    a, t = sol.allocation, sol.transfer
    direct = np.argmax(values[types] @ a.T - t[None, :], axis=1)
    assert np.array_equal(_best_items(values, a, t, types, chunk_entries=1), direct)
    assert np.array_equal(_best_items(values, a, t, types), direct)


def test_pair_chunks_bound_the_rows_per_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    """The module constant sets the chunk size (at least one row per chunk)."""
    from mechdesign.engine import pairs as pairs_module

    monkeypatch.setattr(pairs_module, "PAIR_CHUNK_ENTRIES", 1000)
    assert pairs_module._chunk_rows(100) == 10
    assert pairs_module._chunk_rows(5000) == 1
    assert pairs_module._chunk_rows(100, chunk_entries=10**6) == 10**4
