"""Types: validation, discretisation, virtual values (eq. 11) and Myerson ironing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mechdesign import (
    BetaDist,
    DiscreteTypes,
    Mixture,
    Power,
    ProblemSpecError,
    Tabulated,
    TaskProfileTypes,
    Uniform,
)
from mechdesign.types import aggregate_type, discrete_virtual_values, iron_discrete


def _pava(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted isotonic regression by pool-adjacent-violators (independent of the hull code)."""
    blocks: list[list[float]] = []  # [value, weight, count]
    for yi, wi in zip(y, w):
        blocks.append([yi, wi, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            v2, w2, n2 = blocks.pop()
            v1, w1, n1 = blocks.pop()
            blocks.append([(v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, n1 + n2])
    return np.concatenate([[v] * int(n) for v, _, n in blocks])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(-5, 5), st.floats(0.01, 1.0)), min_size=1, max_size=30))
def test_hull_ironing_equals_isotonic_regression(data: list[tuple[float, float]]) -> None:
    # Myerson ironing = slope of the convex hull of the revenue curve = f-weighted isotonic regression.
    phi = np.array([d[0] for d in data])
    f = np.array([d[1] for d in data])
    f = f / f.sum()
    phi_bar, _ = iron_discrete(phi, f)
    np.testing.assert_allclose(phi_bar, _pava(phi, f), atol=1e-9)
    assert np.all(np.diff(phi_bar) >= -1e-12)


def test_uniform_virtual_values() -> None:
    # eq. (11) for U[0,1]: phi = 2 theta - 1; discrete analogue phi_n = theta_n - h (1 - F_n) / f_n.
    u = Uniform()
    x = np.array([0.1, 0.5, 0.9])
    np.testing.assert_allclose(u.virtual_value(x), 2 * x - 1)
    t = u.discretize(10)
    h = 0.1
    n = np.arange(1, 11)
    expected = t.theta - h * (1 - n * h) / h
    expected[-1] = t.theta[-1]
    np.testing.assert_allclose(t.virtual_values(), expected, atol=1e-12)


def test_discretize_masses() -> None:
    for d in (Uniform(0.2, 1.5), BetaDist(2, 3), Power(2.0),
              Mixture(np.array([0.5, 0.5]), (BetaDist(2, 2), BetaDist(5, 1)))):
        t = d.discretize(50)
        assert t.prob.sum() == pytest.approx(1.0, abs=1e-12)
        assert np.all(np.diff(t.theta) > 0)
        edges = np.linspace(d.lo, d.hi, 51)
        np.testing.assert_allclose(t.prob, np.diff(d.cdf(edges)), rtol=1e-9)


def test_tabulated_density_matches_uniform() -> None:
    tab = Tabulated(points=[0.0, 1.0], values=[3.0, 3.0])
    np.testing.assert_allclose(tab.cdf(np.array([0.25, 0.5])), [0.25, 0.5], atol=1e-12)
    np.testing.assert_allclose(tab.virtual_value(np.array([0.3])), [2 * 0.3 - 1], atol=1e-9)


def test_mixture_needs_ironing_and_pools_an_interval() -> None:
    mix = Mixture(np.array([0.8, 0.2]), (BetaDist(5, 5), BetaDist(30, 2)))
    x = np.linspace(0.3, 0.95, 500)
    assert np.any(np.diff(mix.virtual_value(x)) < 0)  # not regular
    intervals = mix.ironing_intervals()
    assert len(intervals) == 1
    lo, hi = intervals[0]
    assert 0.55 < lo < 0.7 and 0.8 < hi < 0.9
    phib = mix.ironed_virtual_value()(x)
    assert np.all(np.diff(phib) >= -1e-12)


def test_aggregate_type_eq7() -> None:
    # eq. (7): theta(w) = (sum mu_t w_t^{1/(1-sigma)})^{1-sigma}; homogeneous of degree one.
    w = np.array([0.2, 0.9, 0.5])
    mu = np.array([0.2, 0.3, 0.5])
    s = 0.4
    assert aggregate_type(w, mu, s) == pytest.approx(float((mu @ w ** (1 / (1 - s))) ** (1 - s)))
    assert aggregate_type(3 * w, mu, s) == pytest.approx(3 * aggregate_type(w, mu, s))
    assert aggregate_type(np.full(3, 0.7), mu, s) == pytest.approx(0.7)


def test_task_profiles_merge_equal_aggregate_types() -> None:
    # Prop 1: profiles with the same theta(w) are the same type; the aggregation merges them.
    mu = np.array([0.5, 0.5])
    w = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    types, idx = TaskProfileTypes(w, np.array([0.25, 0.25, 0.5]), mu).aggregate(0.5)
    assert types.n == 2
    np.testing.assert_allclose(types.prob, [0.5, 0.5])
    assert idx[0] == idx[1] != idx[2]


@pytest.mark.parametrize(
    ("theta", "prob", "field", "fragment"),
    [
        ([0.1, 0.2, 0.3], [0.2, 0.2, 0.2], "types.prob", "sum to 1"),
        ([0.1, 0.1, 0.3], [0.2, 0.3, 0.5], "types.theta", "duplicate"),
        ([0.3, 0.1, 0.5], [0.2, 0.3, 0.5], "types.theta", "sorted ascending"),
        ([0.1, 0.2], [1.2, -0.2], "types.prob", "> 0"),
        ([-0.1, 0.2], [0.5, 0.5], "types.theta", ">= 0"),
        ([0.1, 0.2], [0.5, 0.3, 0.2], "types.prob", "exactly 2"),
    ],
)
def test_bad_discrete_types(theta: list[float], prob: list[float], field: str, fragment: str) -> None:
    with pytest.raises(ProblemSpecError) as info:
        DiscreteTypes(np.array(theta), np.array(prob))
    assert info.value.field == field
    assert fragment in str(info.value)


def test_discrete_virtual_values_last_is_theta() -> None:
    th = np.array([0.2, 0.5, 0.9])
    assert discrete_virtual_values(th, np.array([0.3, 0.3, 0.4]))[-1] == pytest.approx(0.9)
