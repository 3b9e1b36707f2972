"""The O(N log N) scalar audit (upper envelope of the items' payoff lines) against every pair."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mechdesign.engine.audit import audit_menu, upper_envelope_best

floats = st.floats(-5, 5, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(floats, st.sampled_from([0.0, 0.5, 1.0, 2.0]) | floats, floats), min_size=1, max_size=40))
def test_upper_envelope_equals_brute_force(rows: list[tuple[float, float, float]]) -> None:
    th, k, c = (np.array(x) for x in zip(*rows))
    best, val = upper_envelope_best(th, k, c)
    brute = (th[:, None] * k[None, :] + c[None, :]).max(axis=1)
    np.testing.assert_allclose(val, brute, rtol=0, atol=1e-9 * (1 + np.abs(brute).max()))
    np.testing.assert_allclose(th * k[best] + c[best], val, rtol=0, atol=1e-12 * (1 + np.abs(val).max()))


def test_large_scalar_audit_uses_the_envelope_and_agrees() -> None:
    rng = np.random.default_rng(0)
    N = 3000
    th = np.sort(rng.uniform(0, 1, N))
    Q = np.sort(rng.uniform(0, 1, N))
    t = th * Q - np.concatenate([[0.0], np.cumsum(np.diff(th) * Q[:-1])])   # the discrete envelope menu: IC
    t[1500] += 1e-3                                                          # break one type's IC
    rep = audit_menu(th, Q, t)
    U = th[:, None] * Q[None, :] - t[None, :]
    brute_ic = np.maximum(U.max(axis=1) - np.diag(U), 0.0)
    np.testing.assert_allclose(rep.ic_violation, brute_ic, rtol=0, atol=1e-12)
    assert not rep.passed and rep.ic_violation[1500] > 0
