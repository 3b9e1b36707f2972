"""The PDHG peer baseline (app/peers.py) against an independent all-pairs cvxpy program, and the 2-D plots."""

from __future__ import annotations

import itertools
from pathlib import Path

import cvxpy as cp
import numpy as np
import pytest
from scipy.optimize import minimize

from mechdesign.app.peers import (
    knn_pairs,
    nonneg_qp,
    pdhg_screening,
    peer_case,
    quadratic_conjugate,
    rochet_chone_instance,
)
from mechdesign.app.plot2d import plot_types_2d
from mechdesign.settings.multidim import regions as classify_regions

#: PDHG tolerance (gap and IC violation) in these tests, and the profit agreement it buys
PDHG_TOL = 1e-5
PROFIT_RTOL = 1e-4


def reference_profit(values: np.ndarray, prob: np.ndarray, A: np.ndarray) -> float:
    """The optimum by an independent cvxpy program: every IC pair, IR, q >= 0 (Clarabel)."""
    N, D = values.shape
    q = cp.Variable((N, D), nonneg=True)
    t = cp.Variable(N)
    own = cp.sum(cp.multiply(values, q), axis=1) - t
    cons = [own >= 0]
    for n in range(N):
        others = [m for m in range(N) if m != n]
        dev = q[others, :] @ values[n] - t[others]
        cons.append(own[n] >= dev)
    L = np.linalg.cholesky(A)  # q'Aq = |L'q|^2
    cost = 0.5 * cp.sum(cp.multiply(prob[:, None], cp.square(q @ L)))
    problem = cp.Problem(cp.Maximize(prob @ t - cost), cons)
    problem.solve(solver=cp.CLARABEL)
    assert problem.status == cp.OPTIMAL
    return float(problem.value)


def small_instances() -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    v5, f5, A5 = rochet_chone_instance(5)
    v4, f4, _ = rochet_chone_instance(4)
    return [("rochet_chone_5x5", v5, f5, A5), ("coupled_4x4", v4, f4, np.array([[1.0, 0.5], [0.5, 1.0]]))]


@pytest.fixture(scope="module")
def solved() -> dict[str, tuple[object, float, np.ndarray, np.ndarray, np.ndarray]]:
    out = {}
    for name, v, f, A in small_instances():
        res = pdhg_screening(v, f, A, tol_gap=PDHG_TOL, tol_ic=PDHG_TOL)
        out[name] = (res, reference_profit(v, f, A), v, f, A)
    return out


@pytest.mark.parametrize("name", ["rochet_chone_5x5", "coupled_4x4"])
def test_pdhg_matches_the_all_pairs_program(solved: dict, name: str) -> None:
    res, ref, v, f, A = solved[name]
    assert res.converged
    assert res.gap_rel <= PDHG_TOL and res.ic_violation_rel <= PDHG_TOL
    assert abs(res.profit - ref) <= PROFIT_RTOL * abs(ref)
    # the dual bound is a valid upper bound on the true optimum
    assert res.bound >= ref - 1e-7 * abs(ref)
    # the menu itself: q >= 0, IR, the transfers are v.q - u, and the reported profit is its profit
    assert np.all(res.allocation >= 0) and np.all(res.rent >= 0)
    np.testing.assert_allclose(res.transfer, np.sum(v * res.allocation, axis=1) - res.rent)
    cost = 0.5 * np.einsum("ni,ij,nj->n", res.allocation, A, res.allocation)
    assert res.profit == pytest.approx(float(f @ (res.transfer - cost)), rel=1e-12)


@pytest.mark.parametrize("name", ["rochet_chone_5x5", "coupled_4x4"])
def test_history_is_monotone_and_ends_at_the_result(solved: dict, name: str) -> None:
    res = solved[name][0]
    hist = res.history
    assert len(hist) >= 2
    for key in ("iteration", "seconds", "n_pairs"):
        col = [h[key] for h in hist]
        assert all(b >= a for a, b in itertools.pairwise(col)), key
    assert hist[-1]["iteration"] == res.iterations
    assert hist[-1]["profit"] == res.profit and hist[-1]["n_pairs"] == res.n_pairs
    assert set(hist[0]) == {"iteration", "seconds", "profit", "bound", "gap_rel", "ic_violation_rel", "n_pairs"}


def test_constraint_generation_adds_pairs() -> None:
    v, f, A = rochet_chone_instance(5)
    start = knn_pairs(v, 2)
    res = pdhg_screening(v, f, A, knn=2, tol_gap=PDHG_TOL, tol_ic=PDHG_TOL)
    assert res.converged
    assert res.history[0]["n_pairs"] == start.shape[0]
    assert res.n_pairs > start.shape[0]
    # the initial pairs are kept, the added ones are new, no self pairs, no duplicates
    assert np.array_equal(res.pairs[: start.shape[0]], start)
    assert np.unique(res.pairs, axis=0).shape[0] == res.n_pairs
    assert np.all(res.pairs[:, 0] != res.pairs[:, 1])


def test_knn_pairs_are_symmetric() -> None:
    v, _, _ = rochet_chone_instance(4)
    p = knn_pairs(v, 3)
    s = set(map(tuple, p.tolist()))
    assert all((m, n) in s for n, m in s)
    assert all(n != m for n, m in s)


def test_deterministic() -> None:
    v, f, A = rochet_chone_instance(4)
    a = pdhg_screening(v, f, A, tol_gap=1e-4, tol_ic=1e-4)
    b = pdhg_screening(v, f, A, tol_gap=1e-4, tol_ic=1e-4)
    assert a.iterations == b.iterations and a.n_pairs == b.n_pairs
    for field in ("allocation", "transfer", "rent", "pairs", "duals"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field
    assert [{k: h[k] for k in h if k != "seconds"} for h in a.history] == \
        [{k: h[k] for k in h if k != "seconds"} for h in b.history]


def test_iteration_limit_is_reported() -> None:
    v, f, A = rochet_chone_instance(4)
    res = pdhg_screening(v, f, A, tol_gap=1e-12, tol_ic=1e-12, max_iter=120, check_every=50)
    assert not res.converged and res.iterations == 120
    assert res.history[-1]["iteration"] == 120


@pytest.mark.parametrize("D", [1, 2, 3])
def test_prox_qp_against_brute_force(D: int) -> None:
    rng = np.random.default_rng(D)
    N = 40
    B = rng.normal(size=(D, D))
    A = B @ B.T + 0.2 * np.eye(D)
    a = rng.uniform(0.0, 2.0, N)
    d = rng.uniform(0.1, 3.0, N)
    b = rng.normal(size=(N, D))
    q, val = nonneg_qp(A, a, d, b)
    for n in range(N):
        M = a[n] * A + d[n] * np.eye(D)
        grad = M @ q[n] - b[n]
        # KKT of min 1/2 q'Mq - b.q over q >= 0
        assert np.all(q[n] >= 0)
        assert np.all(grad >= -1e-10) and np.all(np.abs(grad * q[n]) <= 1e-10)
        assert val[n] == pytest.approx(0.5 * q[n] @ M @ q[n] - b[n] @ q[n], abs=1e-12)
        ref = minimize(lambda z, M=M, bb=b[n]: 0.5 * z @ M @ z - bb @ z, np.ones(D),
                       jac=lambda z, M=M, bb=b[n]: M @ z - bb, bounds=[(0, None)] * D, method="L-BFGS-B",
                       options={"ftol": 1e-15, "gtol": 1e-12})
        assert val[n] <= ref.fun + 1e-10
        # brute force over a grid around the solution never does better
        grid = np.maximum(q[n] + rng.normal(scale=0.3, size=(200, D)), 0.0)
        vals = 0.5 * np.einsum("ki,ij,kj->k", grid, M, grid) - grid @ b[n]
        assert vals.min() >= val[n] - 1e-12


def test_quadratic_conjugate() -> None:
    rng = np.random.default_rng(7)
    A = np.array([[1.0, 0.5], [0.5, 1.0]])
    s = rng.normal(size=(30, 2))
    f = rng.uniform(0.1, 1.0, 30)
    val = quadratic_conjugate(A)(s, f)
    for n in range(30):
        grid = np.maximum(rng.normal(scale=2.0, size=(2000, 2)), 0.0)
        brute = np.max(grid @ s[n] - 0.5 * f[n] * np.einsum("ki,ij,kj->k", grid, A, grid))
        assert val[n] >= brute - 1e-12 and val[n] >= 0


def test_peer_case_row() -> None:
    row = peer_case(4, 1e-3)
    assert row["N"] == 16 and row["converged"]
    assert {"seconds", "iterations", "profit", "gap_rel", "ic_violation_rel", "n_pairs"} <= set(row)


def test_rejects_bad_input() -> None:
    v, f, _ = rochet_chone_instance(3)
    with pytest.raises(ValueError, match="positive definite"):
        pdhg_screening(v, f, np.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match="probabilities"):
        pdhg_screening(v, np.zeros(9), np.eye(2))


# ---------------------------------------------------------------------------------------------------
# 2-D plots


def test_plot_types_2d_writes_a_png(solved: dict, tmp_path: Path) -> None:
    res, _, v, _, _ = solved["rochet_chone_5x5"]
    regions = classify_regions(res.allocation, res.transfer, rtol=1e-3)
    assert set(regions) <= {"exclusion", "bunching", "separation"}
    assert "exclusion" in set(regions)  # the low types are excluded in Rochet-Choné
    path = tmp_path / "types.png"
    plot_types_2d(v, res.allocation, regions, res.pairs, res.duals, path, title="Rochet-Choné 5x5")
    assert path.exists() and path.stat().st_size > 1000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_types_2d_three_dimensional_allocation(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    v = rng.uniform(1, 2, size=(12, 3))
    q = rng.uniform(0, 1, size=(12, 3))
    regions = np.array(["separation"] * 12)
    path = tmp_path / "types3.png"
    plot_types_2d(v, q, regions, np.array([[0, 1], [1, 2]]), np.array([1.0, 0.0]), path)
    assert path.stat().st_size > 0


def test_plot_types_2d_rejects_an_unknown_region(tmp_path: Path) -> None:
    v, _, _ = rochet_chone_instance(3)
    regions = np.array(["separation"] * 8 + ["pooling"])
    with pytest.raises(ValueError, match="pooling"):
        plot_types_2d(v, np.ones_like(v), regions, np.zeros((0, 2)), np.zeros(0), tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
