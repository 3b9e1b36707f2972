"""The Newton finish's reduced KKT solve (engine/refine.py, ``_ReducedKKT``) against the whole system.

Independent answer: the whole KKT matrix ``[[H, E^T], [E, -eps I]]`` written out here and solved by a dense
least-squares solver (numpy), on random block-diagonal Hessians (one negative definite block per type over its free
allocation components, transfers entering linearly) and random active rows, with and without dependent rows.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from mechdesign.engine.refine import _ReducedKKT


def reduced(H: sp.csr_matrix, h: np.ndarray, f: np.ndarray, free_a: np.ndarray, ia: np.ndarray, na: int,
            E: sp.csr_matrix) -> _ReducedKKT:
    r = _ReducedKKT(h, f, free_a, ia, na, E, 0.0)
    r.factorise()
    return r


def backward_error(K: np.ndarray, x: np.ndarray, rhs: np.ndarray) -> float:
    """The residual relative to the sizes that round in it (infinity norms)."""
    return float(np.abs(K @ x - rhs).max() / (np.abs(K).sum(axis=1).max() * np.abs(x).max() + np.abs(rhs).max()))


def close(got: np.ndarray, ref: np.ndarray, K: np.ndarray) -> bool:
    """Equal to the rounding the condition number of K allows."""
    return bool(np.allclose(got, ref, rtol=0, atol=1e3 * np.linalg.cond(K) * 2.2e-16 * np.abs(ref).max()))


def instance(seed: int, dependent: bool) -> tuple:  # type: ignore[type-arg]
    rng = np.random.default_rng(seed)
    N, D = int(rng.integers(3, 9)), int(rng.integers(1, 5))
    free_a = rng.random((N, D)) > 0.3
    free_a[0] = True
    na, nt = int(free_a.sum()), N
    ia = -np.ones((N, D), dtype=int)
    ia[free_a] = np.arange(na)
    h = np.empty((N, D, D))
    for n in range(N):
        A = rng.standard_normal((D, D))
        h[n] = A @ A.T + 0.5 * np.eye(D)
    f = rng.uniform(0.1, 1.0, N)
    n_, d1, d2 = np.nonzero(free_a[:, :, None] & free_a[:, None, :])
    H = sp.csr_matrix((-f[n_] * h[n_, d1, d2], (ia[n_, d1], ia[n_, d2])), shape=(na + nt, na + nt))
    m = N + int(rng.integers(0, na))  # at least one row per transfer: the steps are unique
    E = rng.standard_normal((m, na + nt)) * (rng.random((m, na + nt)) > 0.4)
    if dependent:  # a row that is the sum of two others (a cycle of binding rows)
        E = np.vstack([E, E[0] + E[1]])
    return H, h, f, free_a, ia, na, sp.csr_matrix(E), rng.standard_normal(na + nt + E.shape[0])


def whole(H: sp.csr_matrix, E: sp.csr_matrix) -> np.ndarray:
    """The whole KKT matrix [[H, E^T], [E, 0]], dense."""
    m = E.shape[0]
    return np.block([[H.toarray(), E.T.toarray()], [E.toarray(), np.zeros((m, m))]])


def nonsingular_case(seed: int) -> tuple:  # type: ignore[type-arg]
    """A draw without dependent rows, its whole matrix and numpy's solve of it (skipped if singular)."""
    H, h, f, free_a, ia, na, E, rhs = instance(seed, dependent=False)
    K = whole(H, E)
    if np.linalg.matrix_rank(K) < K.shape[0]:
        pytest.skip("a singular draw")
    return H, h, f, free_a, ia, na, E, rhs, K, np.linalg.solve(K, rhs)


@pytest.mark.parametrize("seed", range(20))
def test_reduced_solve_equals_the_whole_system(seed: int) -> None:
    H, h, f, free_a, ia, na, E, rhs, K, ref = nonsingular_case(seed)
    got = reduced(H, h, f, free_a, ia, na, E).solve(rhs)
    assert backward_error(K, got, rhs) <= 1e-13
    assert close(got, ref, K)


@pytest.mark.parametrize("seed", range(20))
def test_dependent_rows_get_the_least_norm_multipliers(seed: int) -> None:
    """With dependent rows the step is unique and the multipliers are not: the reduced solve returns the step and
    multipliers near the least-norm ones (numpy's lstsq of the whole system, consistent right-hand sides): within
    1 % in norm, the factor's rounding amplified by 1/rho along the null space (measured: at most 4e-3)."""
    H, h, f, free_a, ia, na, E, rhs = instance(seed, dependent=True)
    nv, m = H.shape[0], E.shape[0]
    K = whole(H, E)
    rhs = K @ np.random.default_rng(seed + 100).standard_normal(nv + m)  # consistent
    ref = np.linalg.lstsq(K, rhs, rcond=1e-12)[0]
    got = reduced(H, h, f, free_a, ia, na, E).solve(rhs)
    assert backward_error(K, got, rhs) <= 1e-13
    assert np.allclose(got[:nv], ref[:nv], rtol=0, atol=1e-7 * max(1.0, float(np.abs(ref[:nv]).max())))
    assert np.linalg.norm(got[nv:]) <= np.linalg.norm(ref[nv:]) * 1.01 + 1e-9


@pytest.mark.parametrize("seed", range(10))
def test_an_earlier_factor_gives_the_exact_solve_of_this_system(seed: int) -> None:
    """The chord steps: the factor of a nearby Hessian (blocks moved by 1 %) serves this system's solve once
    refined against it, and says so (``converged``); with a far one (blocks times 100) the flag still tells the
    truth: converged only with the exact system's backward error at rounding."""
    H, h, f, free_a, ia, na, E, rhs, K, ref = nonsingular_case(seed)
    old = reduced(H, h * 1.01, f, free_a, ia, na, E)
    near = _ReducedKKT(h, f, free_a, ia, na, E, 0.0, lu=old.lu, rho=old.rho)
    got = near.solve(rhs)
    assert near.converged
    assert backward_error(K, got, rhs) <= 1e-13
    assert close(got, ref, K)
    far_factor = reduced(H, h * 100.0, f, free_a, ia, na, E)
    far = _ReducedKKT(h, f, free_a, ia, na, E, 0.0, lu=far_factor.lu, rho=far_factor.rho)
    got = far.solve(rhs)
    assert far.converged == (backward_error(K, got, rhs) <= 1e-13)


def test_a_free_transfer_no_row_fixes_is_reported_not_solved() -> None:
    """A type whose transfer is free but appears in no active row makes the reduced system singular: the
    regularised factor still returns a (huge, wrong) step, so the solve must say it did not converge (the finish
    then factorises the whole system, which SuperLU refuses as exactly singular)."""
    H, h, f, free_a, ia, na, E, rhs = instance(1, dependent=False)
    E = E.tolil()
    E[:, na + 1] = 0.0  # no row touches the second type's transfer
    E = E.tocsr()
    r = reduced(H, h, f, free_a, ia, na, E)
    r.solve(rhs)
    assert not r.converged
