"""The exact finish for scalar types (mechdesign.engine.finish), against an independent exact menu.

The reference is the exact discrete menu of Prop 3 (discrete, ironed virtual values by the lower convex hull of
the revenue curve, Lemma 3's power cost) written out in tests/test_harness_single.py, a different algorithm
from the finish's block merges.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mechdesign.engine.chain import PowerCost
from mechdesign.engine.finish import finish_scalar, read_blocks

from .test_harness_single import exact_menu


def test_read_blocks_pools_exact_ties_and_keeps_zeros_apart() -> None:
    x = np.array([0.0, 0.0, 0.0, 0.5, 0.5, 0.7, 0.7 + 1e-13, 1.0])
    assert read_blocks(x, 0.0).tolist() == [0, 1, 2, 3, 5, 6, 7]
    assert read_blocks(x, 1e-9).tolist() == [0, 1, 2, 3, 5, 7]


@pytest.mark.parametrize("seed", range(20))
def test_finish_from_a_noisy_menu_is_the_exact_discrete_menu(seed: int) -> None:
    rng = np.random.default_rng(seed)
    N = int(rng.integers(2, 40))
    theta = np.cumsum(rng.uniform(0.01, 1.0, N))
    theta /= theta[-1]
    f = rng.uniform(0.05, 1.0, N)
    if seed % 2:  # a heavy middle type: its neighbours are ironed (pooled)
        f[N // 2] *= 30
    f /= f.sum()
    kappa, beta = float(rng.uniform(0.2, 2.0)), float(rng.uniform(1.1, 4.0))
    q_ref, t_ref, _ = exact_menu(theta, f, math.log(kappa), beta)
    # an interior-point-like menu: the exact one, perturbed by 1e-6 of its scale (pools no longer tied)
    noisy = q_ref + 1e-6 * q_ref.max() * rng.standard_normal(N) * (q_ref > 0)
    fin = finish_scalar(theta, f, noisy, PowerCost(kappa, beta))
    np.testing.assert_allclose(fin.allocation, q_ref, rtol=1e-12, atol=1e-14 * q_ref.max())
    np.testing.assert_allclose(fin.transfer, t_ref, rtol=1e-12, atol=1e-14 * max(abs(t_ref).max(), 1e-300))
    # the pools of the exact menu are exactly tied in the finished one
    tied_ref = np.isclose(np.diff(q_ref), 0.0, atol=1e-15) & (q_ref[1:] > 0)
    assert np.array_equal((np.diff(fin.allocation) == 0) & (fin.allocation[1:] > 0), tied_ref)


def test_a_wrong_exact_tie_falls_back_to_every_type_alone() -> None:
    """The solver's exact ties are read as pools; when one is wrong (the optimum separates the pair) the first
    reading cannot recover it, and the fallback reading (every type its own block) is exact."""
    theta = np.linspace(0.2, 1.0, 9)
    f = np.full(9, 1 / 9)
    cost = PowerCost(1.0, 2.0)
    q_ref, _, _ = exact_menu(theta, f, 0.0, 2.0)
    tied = q_ref.copy()
    tied[6] = tied[7]  # a tie the optimum does not have
    assert not np.allclose(finish_scalar(theta, f, tied, cost, 0.0).allocation, q_ref, rtol=1e-12)
    np.testing.assert_allclose(finish_scalar(theta, f, tied, cost, -1.0).allocation, q_ref, rtol=1e-12)


def test_multidim_values_that_underflow_the_units_are_refused_not_a_traceback() -> None:
    """Review finding: tiny non-zero values took the null-menu path and crashed in its certificate."""
    from mechdesign.exceptions import ProblemSpecError
    from mechdesign.settings.multidim import MultiDimProblem, VectorTypes
    from mechdesign.settings.vector_costs import QuadraticCost

    with pytest.raises(ProblemSpecError, match="types.points"):
        MultiDimProblem(VectorTypes(np.array([[1e-170, 0.0], [0.0, 1e-170]]), np.array([0.5, 0.5])),
                        QuadraticCost(np.eye(2))).solve()
