"""Reliability harness: seeded random single-model problems, every answer checked independently.

Each instance draws a technology (CES with rho != 0 or Cobb-Douglas, one to three inference classes,
none to two fine-tuning classes, sigma in [0.01, 0.9], costs in 1e-3 .. 1e3), a type scale anywhere in
1e-6 .. 1e6 and a type law (discrete, uniform, Beta, power, a bimodal mixture that needs ironing,
tabulated), N = 2 .. 60. The default solve must end either certified optimal and equal to the exact
discrete menu computed HERE, in the test, by a different algorithm (the lower convex hull of the
revenue curve, Myerson's ironing, with the CES unit costs and Lemma 3's C0 written out in the test),
or in a clear MechDesignError when the magnitudes cannot be represented in double precision (the test
computes the magnitude itself and fails if a representable instance is refused). Zero tracebacks,
zero wrong optima. A sample also runs the conic program: it may be "uncertified", never wrong.

The default suite runs seeds 0..199; the slow step runs 0..999 (``pytest -m slow``).
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest

from mechdesign import (
    CES,
    BetaDist,
    CESFineTuning,
    DiscreteTypes,
    MechDesignError,
    Mixture,
    Power,
    ProblemSpecError,
    SingleModelProblem,
    Tabulated,
    Technology,
    Uniform,
)

#: exactness required of the default path (issue: 1e-8 relative in Q and t)
EXACT_RTOL = 1e-8
#: a certified conic menu's profit must be within this of the exact optimum (relative to the money unit)
CONIC_PROFIT_RTOL = 1e-8


# ----------------------------------------------------------------------------- independent side
def ces_unit_cost(weights: np.ndarray, rho: float, prices: np.ndarray) -> float:
    """min p.x s.t. (sum a x^rho)^(1/rho) >= 1: the CES cost function (dual of the aggregator)."""
    if rho == 0.0:
        return float(np.prod((prices / weights) ** weights))
    r = rho / (rho - 1.0)
    return float(np.sum(weights ** (1.0 / (1.0 - rho)) * prices**r) ** (1.0 / r))


def log_C0(sigma: float, sigma_hat: float, e: float, e_hat: float) -> float:
    """log of C0 in C(Q) = C0 Q^(1/(sigma+sigma_hat)) (minimise e y^(1/sigma) + e_hat y_hat over sigma-split)."""
    if sigma_hat == 0.0:
        return math.log(e)
    s, sh = sigma, sigma_hat
    tot = s + sh
    return (s / tot) * math.log(e) + (sh / tot) * math.log(e_hat) + math.log(
        (s / sh) ** (sh / tot) + (sh / s) ** (s / tot))


def ironed_by_hull(theta: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """Ironed discrete virtual values: slopes of the lower convex hull of (F_n, sum_{k<=n} phi_k f_k)."""
    f = prob
    tail_next = np.concatenate([np.cumsum(f[::-1])[::-1][1:], [0.0]])
    contrib = theta * f - np.concatenate([np.diff(theta), [0.0]]) * tail_next  # phi_n f_n
    xs = np.concatenate([[0.0], np.cumsum(f)])
    ys = np.concatenate([[0.0], np.cumsum(contrib)])
    hull = [0]
    for i in range(1, len(xs)):
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            # drop b when it lies on or above the chord a -> i
            if (ys[b] - ys[a]) * (xs[i] - xs[a]) >= (ys[i] - ys[a]) * (xs[b] - xs[a]):
                hull.pop()
            else:
                break
        hull.append(i)
    out = np.empty(len(f))
    for a, b in itertools.pairwise(hull):  # the block's weighted mean, from its own entries
        out[a:b] = np.sum(contrib[a:b]) / np.sum(f[a:b])
    return out


def exact_menu(theta: np.ndarray, prob: np.ndarray, lc0: float,
               beta: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quality, transfer and ironed virtual value of the exact discrete optimum (Prop 3, discrete)."""
    phi = ironed_by_hull(theta, prob)
    q = np.zeros(len(theta))
    pos = phi > 0
    # C'(Q) = C0 beta Q^(beta-1) = phi  =>  log Q = (log phi - log C0 - log beta)/(beta - 1)
    q[pos] = np.exp((np.log(phi[pos]) - lc0 - math.log(beta)) / (beta - 1.0))
    t = np.cumsum(theta * np.diff(q, prepend=0.0))
    return q, t, phi


# ----------------------------------------------------------------------------- instances
def draw_instance(seed: int) -> tuple[Technology, object, int, dict[str, float]]:
    rng = np.random.default_rng(seed)
    J = int(rng.integers(1, 4))
    K = int(rng.integers(0, 3))
    rho = 0.0 if rng.random() < 0.4 else float(rng.uniform(-2.0, 0.8))
    sigma = float(rng.uniform(0.01, 0.9))
    a = rng.dirichlet(np.ones(J))
    c = 10 ** rng.uniform(-3, 3, J)
    info: dict[str, float] = {"rho": rho, "sigma": sigma}
    if K and sigma < 0.97:
        sh = float(rng.uniform(0.01, min(0.9, 0.99 - sigma)))
        rho_h = 0.0 if rng.random() < 0.5 else float(rng.uniform(-1.5, 0.7))
        b = rng.dirichlet(np.ones(K))
        c_hat = 10 ** rng.uniform(-3, 3, K)
        tech = Technology(CES(a, rho), sigma, c, CESFineTuning(CES(b, rho_h, "a_hat"), sh, c_hat))
        e_hat = ces_unit_cost(b, rho_h, c_hat)
    else:
        sh, e_hat = 0.0, float("nan")
        tech = Technology(CES(a, rho), sigma, c)
    info.update(sigma_hat=sh, lc0=log_C0(sigma, sh, ces_unit_cost(a, rho, c), e_hat), beta=1.0 / (sigma + sh))
    scale = 10 ** rng.uniform(-6, 6)
    N = int(rng.integers(2, 61))
    kind = rng.choice(["discrete", "uniform", "beta", "power", "mixture", "tabulated"])
    lo = float(rng.uniform(0.0, 0.5)) * scale
    hi = lo + float(rng.uniform(0.2, 2.0)) * scale
    if kind == "discrete":
        theta = lo + np.cumsum(rng.uniform(0.01, 1.0, N)) * scale / N
        w = rng.uniform(0.05, 1.0, N)
        types: object = DiscreteTypes(theta, w / w.sum())
    elif kind == "uniform":
        types = Uniform(lo, hi)
    elif kind == "beta":
        types = BetaDist(float(rng.uniform(0.7, 5)), float(rng.uniform(0.7, 5)), lo, hi)
    elif kind == "power":
        types = Power(float(rng.uniform(0.5, 4)), lo, hi)
    elif kind == "mixture":
        types = Mixture(np.array([0.8, 0.2]), (BetaDist(5.0, 5.0, lo, hi), BetaDist(30.0, 2.0, lo, hi)))
    else:
        pts = np.linspace(lo, hi, 7)
        types = Tabulated(points=pts.tolist(), values=rng.uniform(0.2, 2.0, 7).tolist())
    info["kind_index"] = float(["discrete", "uniform", "beta", "power", "mixture", "tabulated"].index(kind))
    return tech, types, N, info


def representable(theta_max: float, info: dict[str, float]) -> bool:
    """The top type's efficient quality, gross payoff and token budgets are inside the documented magnitude limit,
    10^-130 .. 10^130 (natural logs within 300, so that products of two stay finite), with a margin (the test's
    own count)."""
    beta = info["beta"]
    log_q = (math.log(theta_max) - info["lc0"] - math.log(beta)) / (beta - 1.0)
    return (abs(log_q) < 290 and abs(log_q + math.log(theta_max)) < 290
            and abs(log_q / (info["sigma"] + info["sigma_hat"])) < 290)


def check_instance(seed: int, conic: bool = False) -> str:
    """Solve one instance and check it; returns 'optimal' or 'refused' (a clear error on an unrepresentable
    instance)."""
    tech, types, N, info = draw_instance(seed)
    problem = SingleModelProblem(tech, types, n=N)  # type: ignore[arg-type]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # discretisation warnings on cells of negligible mass
            r = problem.solve(compare=False)
    except ProblemSpecError as exc:
        dt = problem.discrete_types()
        assert not representable(float(dt.theta[-1]), info), f"seed {seed}: representable instance refused: {exc}"
        return "refused"
    dt = problem.discrete_types()
    assert r.status == "optimal" and r.certificate is not None and r.certificate.passed, f"seed {seed}: {r.status}"
    assert r.audit.passed
    q, t, phi = exact_menu(dt.theta, dt.prob, info["lc0"], info["beta"])
    qs, ts = float(np.max(q, initial=0.0)), float(np.max(np.abs(t), initial=0.0))
    assert np.max(np.abs(r.quality - q), initial=0.0) <= EXACT_RTOL * qs, f"seed {seed}: quality"
    assert np.max(np.abs(r.transfer - t), initial=0.0) <= EXACT_RTOL * max(ts, 1e-300), f"seed {seed}: transfer"
    # the same served set and the same pooled blocks (runs of equal ironed virtual value among served types)
    np.testing.assert_array_equal(r.quality > 0, q > 0, err_msg=f"seed {seed}: served set")
    served = q > 0
    tie = np.abs(np.diff(phi)) <= 1e-12 * np.max(np.abs(phi))
    pooled_exact = tie & served[1:] & served[:-1]
    pooled_num = (np.diff(r.quality) == 0) & served[1:] & served[:-1]
    np.testing.assert_array_equal(pooled_num, pooled_exact, err_msg=f"seed {seed}: pooled blocks")
    if conic:
        money = float(r.solver["scaling"]["money_unit"])  # type: ignore[index]
        exact_profit = float(dt.prob @ (t - np.exp(info["lc0"]) * q ** info["beta"]))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rc = problem.solve(method="conic", compare=False)
        except MechDesignError:
            return "optimal"  # the conic program may fail clearly (AuditError, SolverError); never wrongly
        assert rc.certificate is not None and rc.certificate.bound >= exact_profit - 1e-12 * money
        if rc.status == "optimal":
            assert abs(rc.profit - exact_profit) <= CONIC_PROFIT_RTOL * money, f"seed {seed}: conic profit"
        else:
            assert rc.status == "uncertified"
    return "optimal"


@pytest.mark.parametrize("block", range(10))
def test_random_single_model_instances(block: int) -> None:
    # 200 seeds in the default suite (10 blocks of 20); every fifth seed also runs the conic program
    outcomes = [check_instance(s, conic=s % 5 == 0) for s in range(20 * block, 20 * block + 20)]
    assert outcomes.count("optimal") >= 15  # most instances are representable


@pytest.mark.slow
@pytest.mark.parametrize("block", range(10))
def test_random_single_model_instances_1000(block: int) -> None:
    for s in range(100 * block, 100 * block + 100):
        check_instance(s, conic=s % 10 == 0)


def test_the_independent_side_is_right() -> None:
    # the hull ironing against a brute force: on 4 types the best monotone pooling is found by enumeration
    rng = np.random.default_rng(7)
    theta = np.sort(rng.uniform(0.1, 1.0, 4))
    prob = np.array([0.1, 0.5, 0.05, 0.35])
    phi = ironed_by_hull(theta, prob)
    assert np.all(np.diff(phi) >= -1e-15)
    # the ironed values average the raw ones over their blocks with weights f
    tail_next = np.concatenate([np.cumsum(prob[::-1])[::-1][1:], [0.0]])
    raw = theta - np.concatenate([np.diff(theta), [0.0]]) * tail_next / prob
    assert float(prob @ phi) == pytest.approx(float(prob @ raw), rel=1e-12)
    # the CES unit cost against a direct minimisation
    from scipy.optimize import minimize

    w, rho, p = np.array([0.3, 0.7]), -0.6, np.array([2.0, 0.5])
    res = minimize(lambda lx: float(p @ np.exp(lx)), np.zeros(2), method="SLSQP",
                   constraints=[{"type": "ineq",
                                 "fun": lambda lx: float(np.sum(w * np.exp(lx) ** rho) ** (1 / rho)) - 1}],
                   options={"ftol": 1e-14, "maxiter": 500})
    assert ces_unit_cost(w, rho, p) == pytest.approx(res.fun, rel=1e-6)
