"""The flows into the types at the null item (mechdesign.engine.null_flows) against the one-dimensional chain.

Independent answer, written out here: with scalar types theta_1 < ... < theta_N, probabilities f and the
lowest k types excluded, the Myerson multipliers are the downward adjacent IC rows (n+1 -> n) carrying the
mass above, S_{n+1} = sum_{m > n} f_m, and an excluded type's virtual value is
f_n theta_n - S_{n+1} (theta_{n+1} - theta_n) (the discrete form of eq. (11)); it must be <= 0 for the type to be
excluded at an optimum with c'(0) = 0.
"""

from __future__ import annotations

import numpy as np

from mechdesign.engine.certificate import balance_multipliers
from mechdesign.engine.null_flows import null_type_flows


def _chain(N: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Uniform types on [0, 1], the served types' chain multipliers (rows n+1 -> n for n >= k), the lowest
    served type's IR taking the mass it carries (the Newton finish's multipliers)."""
    theta = np.linspace(0.0, 1.0, N)[:, None]
    f = np.full(N, 1.0 / N)
    S = np.cumsum(f[::-1])[::-1]  # S[n] = mass of types n, n+1, ...
    pairs = np.array([[n + 1, n] for n in range(k, N - 1)], dtype=int).reshape(-1, 2)
    lam = S[pairs[:, 0]]
    return theta, f, pairs, lam


def test_flows_route_the_mass_above_through_the_excluded_types() -> None:
    N, k = 40, 15  # virtual value 2 theta - 1 < 0 below 1/2: types 0..19 are excludable, 15 of them are
    theta, f, pairs, lam = _chain(N, k)
    lam_b, nu, _ = balance_multipliers(f, pairs, lam)
    null = np.arange(N) < k
    zero_rent = np.arange(N) == k
    out = null_type_flows(theta, f, null, zero_rent, pairs, lam_b, nu)
    assert out.residual <= 1e-12 and out.violators.size == 0
    # every excluded type's virtual value is <= 0 with the flows (written out, not the module's own check)
    allp = np.concatenate([pairs, out.pairs])
    alll = np.concatenate([lam_b, out.lam])
    inn = np.bincount(allp[:, 1], weights=alll, minlength=N)
    s = (f + inn) * theta[:, 0]
    np.subtract.at(s, allp[:, 1], alll * theta[allp[:, 0], 0])
    assert np.all(s[:k] <= 1e-15)
    # the sources' IR multipliers stay >= 0 (the flows only move IR multiplier down the chain)
    _, nu_after, defect = balance_multipliers(f, allp, alll)
    assert np.all(np.isfinite(nu_after)) and defect <= 1e-12


def test_a_null_type_with_positive_virtual_value_is_a_violator() -> None:
    """Exclude types 0..24 although types 20..24 have positive virtual value (2 theta - 1 > 0): no flows can
    certify them and violators are reported; at the exact cutoff (types 0..19, every virtual value <= 0) none.
    (Which null types the LP leaves short is its choice: its L1 objective may trade a lower type for a higher.)"""
    N = 40
    theta = np.linspace(0.0, 1.0, N)
    vv = theta / N - (1.0 - np.arange(1, N + 1) / N) * np.diff(theta, append=theta[-1])
    assert np.all(vv[:20] <= 0) and np.all(vv[20:25] > 0)  # the chain's virtual values, written out
    for k, certifiable in ((25, False), (20, True)):
        theta2, f, pairs, lam = _chain(N, k)
        lam_b, nu, _ = balance_multipliers(f, pairs, lam)
        out = null_type_flows(theta2, f, np.arange(N) < k, np.arange(N) == k, pairs, lam_b, nu)
        if certifiable:
            assert out.residual <= 1e-12 and out.violators.size == 0
        else:
            assert out.residual > 1e-6 and out.violators.size >= 1


def test_ten_thousand_types_are_routed_in_scaled_units() -> None:
    """f_n v_n is 1e-9 with 10,000 types: the LP runs in units of the largest f and v (HiGHS's tolerances are
    absolute; unscaled, a review measured a residual 5e-5 and the lowest type reported as a violator)."""
    N, k = 10_000, 4_000  # 2 theta - 1 < 0 below 1/2
    theta, f, pairs, lam = _chain(N, k)
    lam_b, nu, _ = balance_multipliers(f, pairs, lam)
    out = null_type_flows(theta, f, np.arange(N) < k, np.arange(N) == k, pairs, lam_b, nu)
    assert out.residual <= 1e-9 and out.violators.size == 0
