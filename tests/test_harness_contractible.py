"""Reliability harness for the contractible-task program (Appendix B): seeded random instances.

Every instance (T = 1..4 task segments, N = 2..8 task-profile types, Cobb-Douglas or CES inference
with or without homogeneous fine-tuning, sigma in 0.1..0.8, token costs 1e-2..1e2, zero entries,
all-zero profiles and duplicate profiles, both IC strategies and both formulations) must end

* either with status ``"optimal"``, a menu that passes the all-pairs audit (the result's and our own),
  and a profit equal to an **independent** program written here to :data:`PROFIT_RTOL` of the largest
  gross payoff,
* or with a :class:`~mechdesign.exceptions.MechDesignError` (never another exception type), within
  :data:`TIME_LIMIT_S` seconds.

The independent program uses nothing of mechdesign's program or cost models: per-segment qualities
``q`` (N x T) and transfers, every IC pair and every IR written out, and the closed-form least cost
of a quality profile with shared fine-tuning, derived here:

    min_{x_t, z} sum_t mu_t c.x_t + c_hat.z  s.t.  y(x_t)^sigma yh(z)^sigma_hat >= q_t
    = min_{yh} e S yh^{-r} + e_hat yh = K S^p,   S = sum_t mu_t q_t^{1/sigma},
    r = sigma_hat / sigma, p = 1 / (1 + r), K = (1 + 1/r) e_hat^{1-p} (r e)^p

(``e``, ``e_hat``: unit costs of the degree-one CES aggregators at the token prices; ``K = e``, ``p = 1``
without fine-tuning). ``K S^p = K ||mu^sigma o q||_{1/sigma}^{1/(sigma + sigma_hat)}`` is written with
exact cvxpy atoms (``pnorm`` and ``power`` with ``approx=False``: power cones, no rational
approximation of the exponents) and solved by Clarabel at tight tolerances.

Seeds: instance ``k`` of the suites draws everything from ``numpy.random.default_rng(k)``. The default
suite runs seeds 0..39 and the named edge cases; ``pytest -m slow`` runs seeds 0..499. For a tally
(optimal-and-equal / clear error / failure, with the failing seeds)::

    PYTHONPATH=. python -m tests.test_harness_contractible 0 500
"""

from __future__ import annotations

import sys
import time
import traceback
import warnings
from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np
import pytest
import scipy.sparse as sp

from mechdesign import CES, BaselineFineTuning, CESFineTuning, TaskProfileTypes, Technology, cobb_douglas
from mechdesign.exceptions import MechDesignError, ProblemSpecError
from mechdesign.settings.contractible import solve_contractible

#: profit of mechdesign vs the independent program, relative to the largest gross payoff
PROFIT_RTOL = 1e-6
#: own all-pairs audit of the returned menu, relative to the largest gross payoff
AUDIT_RTOL = 1e-7
#: an instance taking longer than this counts as a hang (N <= 8, T <= 4 solve in well under a second)
TIME_LIMIT_S = 60.0
#: the independent program's Clarabel tolerances: aim at 1e-11, and accept Clarabel's "AlmostSolved"
#: (cvxpy: optimal_inaccurate) only with its reduced tolerances set to REF_REQUIRED_TOL (gap and
#: feasibility in scaled units, payoffs of order one: far below PROFIT_RTOL)
REF_REQUIRED_TOL = 1e-9
REF_OPTIONS = {"tol_gap_abs": 1e-11, "tol_gap_rel": 1e-11, "tol_feas": 1e-11, "max_iter": 1000,
               "reduced_tol_gap_abs": REF_REQUIRED_TOL, "reduced_tol_gap_rel": REF_REQUIRED_TOL,
               "reduced_tol_feas": REF_REQUIRED_TOL}

DEFAULT_SEEDS = range(40)
SLOW_SEEDS = range(500)


# ----------------------------------------------------------------------------------- instances
@dataclass
class Instance:
    """One harness instance: technology parameters (raw, so that the reference never reads the
    Technology object), task profiles and how to solve."""

    label: str
    sigma: float
    alpha: np.ndarray            # inference CES weights (sum 1)
    rho: float                   # inference CES curvature (0: Cobb-Douglas)
    c: np.ndarray
    w: np.ndarray                # (N, T)
    f: np.ndarray                # (N,)
    mu: np.ndarray               # (T,)
    sigma_hat: float = 0.0       # 0: no fine-tuning
    alpha_hat: np.ndarray = field(default_factory=lambda: np.ones(0))
    rho_hat: float = 0.0
    c_hat: np.ndarray = field(default_factory=lambda: np.ones(0))
    baseline: tuple[float, float, float] | None = None   # (b, gamma, c_hat): the slides' form
    ic: str = "all"
    formulation: str = "tokens"

    def technology(self) -> Technology:
        if self.baseline is not None:
            b, g, ch = self.baseline
            return Technology(CES(self.alpha, self.rho), self.sigma, self.c, BaselineFineTuning(b, g, np.array([ch])))
        if self.rho == 0.0 and self.rho_hat == 0.0:  # raw exponents, as users write them
            if self.sigma_hat == 0.0:
                return cobb_douglas(self.sigma * self.alpha, self.c)
            return cobb_douglas(self.sigma * self.alpha, self.c, self.sigma_hat * self.alpha_hat, self.c_hat)
        ft = (CESFineTuning(CES(self.alpha_hat, self.rho_hat, "alpha_hat"), self.sigma_hat, self.c_hat)
              if self.sigma_hat > 0 else None)
        inference = CES(self.alpha, self.rho)
        return Technology(inference, self.sigma, self.c) if ft is None else Technology(inference, self.sigma,
                                                                                        self.c, ft)

    def types(self) -> TaskProfileTypes:
        return TaskProfileTypes(self.w, self.f, self.mu)

    def describe(self) -> str:
        ft = ("baseline" if self.baseline else
              f"sigma_hat={self.sigma_hat:.4g} rho_hat={self.rho_hat:.3g} c_hat={np.round(self.c_hat, 4).tolist()}"
              if self.sigma_hat else "no fine-tuning")
        return (f"{self.label}: N={self.w.shape[0]} T={self.w.shape[1]} sigma={self.sigma:.6g} rho={self.rho:.3g} "
                f"J={self.alpha.size} c={np.round(self.c, 4).tolist()} {ft}; ic={self.ic} "
                f"formulation={self.formulation}; zero profiles={int(np.sum(~np.any(self.w > 0, axis=1)))}")


def _simplex(rng: np.random.Generator, k: int, floor: float) -> np.ndarray:
    x = rng.dirichlet(np.ones(k)) + floor
    return x / x.sum()


def random_instance(seed: int) -> Instance:
    """Instance ``seed``: every random draw comes from ``numpy.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    T = int(rng.integers(1, 5))
    N = int(rng.integers(2, 9))
    decimal = rng.random() < 0.5  # decimal exponents (exact SOC trees) or arbitrary floats (power cones)

    def draw(lo: float, hi: float) -> float:
        x = float(rng.uniform(lo, hi))
        return round(x, 2) if decimal else x

    J = int(rng.integers(1, 4))
    sigma = draw(0.1, 0.8)
    rho = 0.0 if rng.random() < 0.5 else draw(-1.5, 0.6)
    alpha = _simplex(rng, J, 0.1)
    c = 10.0 ** rng.uniform(-2, 2, J)
    inst = Instance(f"seed {seed}", sigma, alpha, rho, c, np.zeros((N, T)), _simplex(rng, N, 0.02),
                    _simplex(rng, T, 0.05))
    u = rng.random()
    if u < 0.45:
        K = int(rng.integers(1, 3))
        inst.sigma_hat = max(draw(0.02, 0.95 - sigma), 0.01)
        inst.alpha_hat = _simplex(rng, K, 0.1)
        inst.rho_hat = 0.0 if rng.random() < 0.5 else draw(-1.5, 0.6)
        inst.c_hat = 10.0 ** rng.uniform(-2, 2, K)
    elif u < 0.5:
        inst.baseline = (float(10.0 ** rng.uniform(-2, 0)), float(rng.uniform(0.05, 0.9) * (1 - sigma)),
                         float(10.0 ** rng.uniform(-2, 2)))
    # profiles: a common scale, some zero entries, some all-zero types, some duplicates
    w = rng.uniform(0.0, 2.0, (N, T)) * 10.0 ** rng.uniform(-2, 2)
    w[rng.random((N, T)) < 0.15] = 0.0
    w[rng.random(N) < 0.1] = 0.0
    for n in range(1, N):
        if rng.random() < 0.15:
            w[n] = w[int(rng.integers(0, n))]
    inst.w = w
    inst.ic = "adaptive" if rng.random() < 0.3 else "all"
    inst.formulation = "profile" if rng.random() < 0.3 else "tokens"
    return inst


def edge_instances() -> dict[str, Instance]:
    """Named edge cases: one segment, all-zero profiles, a zero type holding (nearly) all the mass,
    duplicates, a segment nobody values, extreme costs and exponents."""
    cd = {"sigma": 0.5, "alpha": np.array([0.6, 0.4]), "rho": 0.0, "c": np.array([1.0, 3.0])}
    ft = {"sigma_hat": 0.25, "alpha_hat": np.array([1.0]), "c_hat": np.array([2.0])}
    mu2 = np.array([0.4, 0.6])
    out = {
        "one_segment": Instance("one_segment", w=np.array([[0.5], [1.0], [1.7]]), f=np.array([0.5, 0.3, 0.2]),
                                mu=np.ones(1), **cd, **ft),
        "one_segment_adaptive_profile": Instance(
            "one_segment_adaptive_profile", w=np.array([[0.5], [1.0], [0.0], [1.7]]),
            f=np.array([0.4, 0.3, 0.1, 0.2]), mu=np.ones(1), ic="adaptive", formulation="profile", **cd),
        "some_zero_profiles": Instance("some_zero_profiles", w=np.array([[0.0, 0.0], [1.0, 2.0], [2.0, 0.5]]),
                                       f=np.array([0.3, 0.3, 0.4]), mu=mu2, **cd, **ft),
        "all_zero_profiles": Instance("all_zero_profiles", w=np.zeros((3, 2)), f=np.array([0.2, 0.3, 0.5]),
                                      mu=mu2, **cd, **ft),
        "single_zero_type": Instance("single_zero_type", w=np.zeros((1, 3)), f=np.ones(1),
                                     mu=np.array([0.2, 0.3, 0.5]), **cd),
        "zero_type_with_the_mass": Instance("zero_type_with_the_mass", w=np.array([[0.0, 0.0], [1.0, 2.0]]),
                                            f=np.array([0.999, 0.001]), mu=mu2, **cd, **ft),
        "duplicate_profiles": Instance("duplicate_profiles",
                                       w=np.array([[1.0, 0.5], [1.0, 0.5], [0.3, 2.0], [1.0, 0.5]]),
                                       f=np.array([0.1, 0.3, 0.4, 0.2]), mu=mu2, ic="adaptive", **cd, **ft),
        "unvalued_segment": Instance("unvalued_segment", w=np.array([[1.0, 0.0, 0.4], [0.2, 0.0, 1.5]]),
                                     f=np.array([0.5, 0.5]), mu=np.array([0.3, 0.3, 0.4]), **cd, **ft),
        "extreme_costs_low_sigma": Instance(
            "extreme_costs_low_sigma", sigma=0.1, alpha=np.array([0.5, 0.5]), rho=-1.2, c=np.array([1e-2, 1e2]),
            w=np.array([[1.0, 0.2], [0.3, 1.0], [2.0, 2.0]]), f=np.array([0.3, 0.3, 0.4]), mu=mu2),
        "high_sigma_near_linear": Instance(
            "high_sigma_near_linear", sigma=0.8, alpha=np.array([1.0]), rho=0.0, c=np.array([50.0]),
            w=np.array([[1.0, 0.2], [0.3, 1.0], [2.0, 2.0]]), f=np.array([0.3, 0.3, 0.4]), mu=mu2,
            sigma_hat=0.15, alpha_hat=np.array([0.5, 0.5]), rho_hat=0.3, c_hat=np.array([0.01, 100.0])),
    }
    return out


# ------------------------------------------------------------------------- independent program
def ces_unit_cost(alpha: np.ndarray, rho: float, prices: np.ndarray) -> float:
    """min p.v s.t. (sum_j a_j v_j^rho)^(1/rho) >= 1: the dual CES (Cobb-Douglas: prod (p_j/a_j)^a_j)."""
    if rho == 0.0:
        return float(np.prod((prices / alpha) ** alpha))
    s = 1.0 / (1.0 - rho)
    return float(np.sum(alpha**s * prices ** (1.0 - s)) ** (1.0 / (1.0 - s)))


def profile_constants(inst: Instance) -> tuple[float, float]:
    """(K, p) of the least cost K S^p of a quality profile (module docstring)."""
    e = ces_unit_cost(inst.alpha, inst.rho, inst.c)
    if inst.sigma_hat == 0.0:
        return e, 1.0
    eh = ces_unit_cost(inst.alpha_hat, inst.rho_hat, inst.c_hat)
    r = inst.sigma_hat / inst.sigma
    p = 1.0 / (1.0 + r)
    return (1.0 + 1.0 / r) * eh ** (1.0 - p) * (r * e) ** p, p


def profile_cost(inst: Instance, q: np.ndarray) -> np.ndarray:
    """Least cost of each row of per-segment qualities ``q`` (N, T)."""
    K, p = profile_constants(inst)
    S = np.maximum(q, 0.0) ** (1.0 / inst.sigma) @ inst.mu
    return K * S**p


@dataclass
class Reference:
    profit: float
    quality: np.ndarray
    transfer: np.ndarray
    status: str


def reference_solve(inst: Instance) -> Reference:
    """The independent program: every IC pair and IR, exact power cones, Clarabel at tight tolerances.

    Scaled by the instance's own numbers: quality in units of ``qs`` with ``K qs^b = W qs``
    (``b = 1/(sigma+sigma_hat)``, ``W = max_n sum_t mu_t w_nt``), money in units of ``W qs``; then the
    scaled cost of a profile ``Q`` is ``||mu^sigma o Q||_{1/sigma}^b`` and values are ``mu w / W``.

    If Clarabel does not reach the required accuracy, the program is solved again without the
    variables ``q_nt`` of segments that type ``n`` does not value (``w_nt = 0``), which are zero at every
    optimum (they cost, are worth nothing to ``n`` and only tempt others): the same optimum without the
    cone apexes that slow the interior-point method down; and if that fails too, with the p-norm and the
    power written as explicit 3-D power cones (``||x||_a <= u`` iff ``x_t <= r_t^(1/a) u^(1-1/a)``,
    ``sum_t r_t <= u``; ``k >= u^b`` iff ``u <= k^(1/b)``) instead of cvxpy's ``pnorm``/``power``."""
    status = []
    for drop_unvalued, explicit in ((False, False), (True, False), (True, True)):
        try:
            return _reference_once(inst, drop_unvalued, explicit)
        except RuntimeError as exc:
            status.append(str(exc))
    raise RuntimeError(f"the independent reference program did not solve: {status}")


def _reference_once(inst: Instance, drop_unvalued: bool, explicit: bool) -> Reference:
    N, T = inst.w.shape
    values = inst.w * inst.mu[None, :]
    W = float(values.sum(axis=1).max())
    if W <= 0.0:  # nobody values anything: the null menu
        return Reference(0.0, np.zeros((N, T)), np.zeros(N), "optimal")
    K, p = profile_constants(inst)
    a = 1.0 / inst.sigma
    b = a * p
    qs = (W / K) ** (1.0 / (b - 1.0))
    money = W * qs
    v = values / W
    keep = np.flatnonzero((inst.w > 0).ravel() if drop_unvalued else np.ones(N * T, dtype=bool))
    q_kept = cp.Variable(keep.size, nonneg=True)
    place = sp.csr_matrix((np.ones(keep.size), (keep, np.arange(keep.size))), shape=(N * T, keep.size))
    Q = cp.reshape(place @ q_kept, (N, T), order="C") if drop_unvalued else cp.reshape(q_kept, (N, T), order="C")
    tau = cp.Variable(N)
    weights = inst.mu**inst.sigma
    cons: list[cp.Constraint] = []
    if explicit:
        x = cp.reshape(cp.multiply(Q, np.broadcast_to(weights, (N, T))), (N * T,), order="C")
        u, r, cost = cp.Variable(N, nonneg=True), cp.Variable((N, T), nonneg=True), cp.Variable(N, nonneg=True)
        cons += [cp.PowCone3D(cp.reshape(r, (N * T,), order="C"), u[np.repeat(np.arange(N), T)], x, 1.0 / a),
                 cp.sum(r, axis=1) <= u, cp.PowCone3D(cost, np.ones(N), u, 1.0 / b)]
    else:
        norms = cp.hstack([cp.pnorm(cp.multiply(weights, Q[n]), a, approx=False) for n in range(N)])
        cost = cp.power(norms, b, approx=False)   # K S^p of every type, scaled
    own = cp.sum(cp.multiply(v, Q), axis=1) - tau
    cons.append(own >= 0)                                          # IR of every type
    for n in range(N):                                             # IC of every type against every item
        cons.append(own[n] >= Q @ v[n] - tau)
    prob = cp.Problem(cp.Maximize(inst.f @ (tau - cost)), cons)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # cvxpy's "may be inaccurate": the status says it
            prob.solve(solver="CLARABEL", **REF_OPTIONS)
    except cp.error.SolverError as exc:
        raise RuntimeError(f"solver error: {exc}") from None
    if prob.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):  # inaccurate = met REF_REQUIRED_TOL
        raise RuntimeError(f"status {prob.status}")
    return Reference(float(prob.value) * money, np.maximum(Q.value, 0.0) * qs, tau.value * money, prob.status)


# ----------------------------------------------------------------------------------- the check
@dataclass
class Outcome:
    kind: str                    # "optimal", "error" (a MechDesignError) or "failure"
    detail: str
    seconds: float


def check_instance(inst: Instance) -> Outcome:
    """Run one instance and classify it; never raises."""
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            tech = inst.technology()
            res = solve_contractible(tech, inst.types(), ic=inst.ic, formulation=inst.formulation)
    except MechDesignError as exc:
        dt = time.perf_counter() - t0
        kind = "error" if dt <= TIME_LIMIT_S else "failure"
        return Outcome(kind, f"{type(exc).__name__}: {exc}", dt)
    except Exception as exc:  # noqa: BLE001 - the harness classifies every other exception as a failure
        tb = traceback.format_exc().strip().splitlines()
        return Outcome("failure", f"{type(exc).__name__}: {exc}\n" + "\n".join(tb[-8:]), time.perf_counter() - t0)
    dt = time.perf_counter() - t0
    problems: list[str] = []
    if dt > TIME_LIMIT_S:
        problems.append(f"took {dt:.1f} s > {TIME_LIMIT_S:g} s")
    if res.status not in ("optimal", "uncertified"):
        problems.append(f"status {res.status!r}; warnings {[str(w.message)[:80] for w in caught]}")
    if not res.audit.passed:
        problems.append(f"the result's audit fails ({res.audit.max_ic_violation_rel:.2e})")
    try:
        ref = reference_solve(inst)
    except Exception as exc:  # noqa: BLE001
        return Outcome("failure", f"reference: {type(exc).__name__}: {exc}", dt)
    values = inst.w * inst.mu[None, :]
    q, t = np.asarray(res.quality, dtype=float), np.asarray(res.transfer, dtype=float)
    if q.shape != inst.w.shape or t.shape != inst.f.shape:
        problems.append(f"menu shapes {q.shape}, {t.shape}")
    else:
        gross = max(float(np.max(np.sum(values * q, axis=1))), float(np.max(np.sum(values * ref.quality, axis=1))))
        scale = max(gross, 1e-300)
        U = values @ q.T - t[None, :]
        own = np.diag(U)
        ic = float(np.max(U.max(axis=1) - own)) / scale
        ir = float(np.max(np.maximum(-own, 0.0))) / scale
        if gross == 0.0:
            ic = ir = float(max(np.abs(t).max(), np.abs(q).max()))
        if ic > AUDIT_RTOL or ir > AUDIT_RTOL or np.any(q < -AUDIT_RTOL * max(float(q.max(initial=0)), 1e-300)):
            problems.append(f"own audit fails: IC {ic:.2e}, IR {ir:.2e} relative")
        menu_profit = float(inst.f @ (t - profile_cost(inst, q)))   # the menu's own profit, our cost model
        tol = PROFIT_RTOL * gross
        for what, val in (("reported profit", res.profit), ("profit of the returned menu", menu_profit)):
            if not abs(val - ref.profit) <= tol:
                problems.append(f"{what} {val:.12g} vs independent {ref.profit:.12g}: "
                                f"{(val - ref.profit) / scale:.2e} of the largest gross payoff")
        if res.certificate is not None and res.certificate.bound < ref.profit - tol:
            problems.append(f"the certificate's bound {res.certificate.bound:.12g} is below the independent optimum "
                            f"{ref.profit:.12g}: not a valid bound")
    if problems:
        return Outcome("failure", "; ".join(problems), dt)
    if res.status == "uncertified":  # honest: an audited menu equal to the optimum to PROFIT_RTOL, without a
        # certificate at GAP_RTOL (e.g. the polish held excluded types at the null item): never a wrong optimum
        return Outcome("uncertified", f"gap {res.certificate.gap_rel:.1e}; profit {res.profit:.10g} "
                                      f"(independent {ref.profit:.10g})", dt)
    return Outcome("optimal", f"profit {res.profit:.10g} (independent {ref.profit:.10g})", dt)


def _assert_ok(inst: Instance) -> Outcome:
    out = check_instance(inst)
    assert out.kind in ("optimal", "error", "uncertified"), f"{inst.describe()}\n{out.detail}"
    return out


# ----------------------------------------------------------------------------------- the tests
def test_reference_cost_matches_the_package_and_an_independent_minimisation() -> None:
    """Our closed form K S^p against Technology.profile_cost (once, numerically), and for one segment
    against Technology.cost_numeric (SLSQP over tokens, which never uses the closed forms)."""
    rng = np.random.default_rng(2024)
    for inst in [random_instance(s) for s in range(12)] + list(edge_instances().values()):
        if inst.baseline is not None:
            continue
        tech = inst.technology()
        q = rng.uniform(0.0, 3.0, inst.w.shape)
        ours = profile_cost(inst, q)
        theirs = tech.profile_cost(q, inst.mu)[0]
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, err_msg=inst.describe())
    inst = edge_instances()["high_sigma_near_linear"]
    one = Instance("one", inst.sigma, inst.alpha, inst.rho, inst.c, np.ones((1, 1)), np.ones(1), np.ones(1),
                   inst.sigma_hat, inst.alpha_hat, inst.rho_hat, inst.c_hat)
    for Q in (0.3, 2.0):
        numeric, _, _ = one.technology().cost_numeric(Q)
        assert profile_cost(one, np.array([[Q]]))[0] == pytest.approx(numeric, rel=1e-6)


@pytest.mark.parametrize("seed", DEFAULT_SEEDS)
def test_random_instance(seed: int) -> None:
    _assert_ok(random_instance(seed))


@pytest.mark.parametrize("name", sorted(edge_instances()))
def test_edge_instance(name: str) -> None:
    out = _assert_ok(edge_instances()[name])
    assert out.kind == "optimal", out.detail  # every named edge case is supported


@pytest.mark.slow
@pytest.mark.parametrize("seed", SLOW_SEEDS)
def test_random_instance_slow(seed: int) -> None:
    _assert_ok(random_instance(seed))


# ------------------------------------------------------------- regressions for the edge cases
def test_regression_one_task_segment_solves() -> None:
    """T = 1 crashed in the cost model (the engine passes a 1-D allocation for D = 1): ValueError."""
    inst = edge_instances()["one_segment"]
    res = solve_contractible(inst.technology(), inst.types(), ic="all")
    assert res.status == "optimal" and res.audit.passed
    assert res.quality.shape == (3, 1)
    gross = float(np.max(inst.w[:, 0] * res.quality[:, 0]))
    assert abs(res.profit - reference_solve(inst).profit) <= PROFIT_RTOL * gross
    # the value-scale program with a single scale s = 1 has one segment too; Prop 10's benchmark is exact
    from mechdesign import DiscreteTypes
    from mechdesign.analytic.value_scale import ValueScaleTypes
    from mechdesign.settings.value_scale import solve_value_scale

    vs = solve_value_scale(inst.technology(), ValueScaleTypes(DiscreteTypes(np.array([0.5, 1.0]), np.array([0.5, 0.5])),
                                                              np.array([1.0]), np.array([1.0])))
    assert vs.status == "optimal" and abs(vs.comparison["profit_gap_rel"]) <= 1e-7


def test_regression_all_zero_profiles_give_the_null_menu() -> None:
    """Profiles that value nothing crashed with ZeroDivisionError; the optimum is the null menu."""
    for name in ("all_zero_profiles", "single_zero_type"):
        inst = edge_instances()[name]
        res = solve_contractible(inst.technology(), inst.types())
        assert res.status == "optimal" and res.audit.passed
        assert res.profit == 0.0
        assert np.all(res.quality == 0.0) and np.all(res.transfer == 0.0)


def test_regression_baseline_finetuning_is_a_problem_spec_error() -> None:
    """The slides' fine-tuning form (b + z)^gamma raised NotImplementedError (not a MechDesignError)."""
    tech = Technology(CES(np.array([0.6, 0.4]), 0.25), 0.5, np.array([1.0, 3.0]),
                      BaselineFineTuning(0.01, 0.25, np.array([2.0])))
    types = TaskProfileTypes(np.array([[1.0, 0.5], [0.3, 2.0]]), np.array([0.5, 0.5]), np.array([0.5, 0.5]))
    with pytest.raises(ProblemSpecError) as err:
        solve_contractible(tech, types)
    assert err.value.field == "finetuning.kind" and err.value.value == "baseline"
    assert "'none'" in err.value.allowed and "'ces'" in err.value.allowed
    with pytest.raises(ProblemSpecError, match="finetuning.kind"):  # the value-scale program too
        from mechdesign import DiscreteTypes
        from mechdesign.analytic.value_scale import ValueScaleTypes
        from mechdesign.settings.value_scale import solve_value_scale

        solve_value_scale(tech, ValueScaleTypes(DiscreteTypes(np.array([0.5, 1.0]), np.array([0.5, 0.5])),
                                                np.array([0.5, 1.0]), np.array([0.5, 0.5])))


def test_regression_profile_formulation_for_any_sigma() -> None:
    """The profile formulation (also the adaptive strategy's default search) raised ValueError whenever
    1/sigma != 2 with fine-tuning (cvxpy's pnorm takes an axis only for p = 2), and approximated 1/sigma
    rationally without fine-tuning; it must give the independent program's profit for any sigma."""
    for seed in (6, 8, 12):   # sigma = 0.36, 0.652, 0.2255, all with fine-tuning
        inst = random_instance(seed)
        for formulation, ic in (("profile", "all"), ("tokens", "adaptive")):
            res = solve_contractible(inst.technology(), inst.types(), ic=ic, formulation=formulation)
            gross = float(np.max(np.sum(inst.w * inst.mu * res.quality, axis=1)))
            assert res.status == "optimal" and res.audit.passed, (seed, formulation, ic)
            assert abs(res.profit - reference_solve(inst).profit) <= PROFIT_RTOL * gross, (seed, formulation, ic)


def test_regression_smooth_cost_is_finite_for_tiny_reference_quality() -> None:
    """Seed 290 (sigma = 0.19, token costs ~30): q_ref ~ 1e-22, and the refinement's smooth cost, computed
    in natural units, overflowed (S^(p-2)) so Newton's method crashed with "array must not contain infs
    or NaNs". In scaled units it is K S(a)^p q_ref^b / M with its exact derivatives."""
    from mechdesign.settings.contractible import ContractibleCostModel

    inst = random_instance(290)
    tech = inst.technology()
    q_ref = 8.637389594893697e-23
    money = 3.1e-2 * q_ref
    a = np.array([[0.0, 6.67e-3], [0.0, 6.67e-3], [0.744, 1.196], [1.196e-11, 0.0]])
    v, g, h = ContractibleCostModel(tech, inst.mu, q_ref, money).smooth_cost(a)
    assert np.all(np.isfinite(v)) and np.all(np.isfinite(g)) and np.all(np.isfinite(h))
    b = 1.0 / (inst.sigma + inst.sigma_hat)
    expected = profile_cost(inst, a) * np.exp(b * np.log(q_ref) - np.log(money))  # homogeneity of degree b
    np.testing.assert_allclose(v, expected, rtol=1e-12)
    eps = 1e-7 * a[2, 0]   # the gradient of a served type, by central differences
    up, down = a.copy(), a.copy()
    up[2, 0] += eps
    down[2, 0] -= eps
    fd = (ContractibleCostModel(tech, inst.mu, q_ref, money).smooth_cost(up)[0][2]
          - ContractibleCostModel(tech, inst.mu, q_ref, money).smooth_cost(down)[0][2]) / (2 * eps)
    assert g[2, 0] == pytest.approx(fd, rel=1e-6)


@pytest.mark.parametrize("w", [[[1.0, 2.0], [3.0]], [["a", "b"]], [[1j, 1.0]]], ids=["ragged", "strings", "complex"])
def test_malformed_task_profiles_are_problem_spec_errors(w: object) -> None:
    with pytest.raises(ProblemSpecError, match="types.w"):
        TaskProfileTypes(w, np.ones(len(w)) / len(w), np.array([0.5, 0.5]))  # type: ignore[arg-type]


@pytest.mark.parametrize("kwargs", [{"ic": "local"}, {"ic": "every"}, {"formulation": "cones"}, {"search": "fast"}],
                         ids=["ic_local", "ic_unknown", "formulation", "search"])
def test_unknown_strategies_are_problem_spec_errors(kwargs: dict[str, str]) -> None:
    inst = edge_instances()["some_zero_profiles"]
    with pytest.raises(ProblemSpecError, match=next(iter(kwargs))):
        solve_contractible(inst.technology(), inst.types(), **kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ tally
def main(argv: list[str]) -> int:
    """``python -m tests.test_harness_contractible [first last]``: run seeds first..last-1 and tally."""
    lo, hi = (int(argv[0]), int(argv[1])) if len(argv) >= 2 else (0, 500)
    counts = {"optimal": 0, "uncertified": 0, "error": 0, "failure": 0}
    failing: list[str] = []
    errors: list[str] = []
    t0 = time.perf_counter()
    for seed in range(lo, hi):
        inst = random_instance(seed)
        out = check_instance(inst)
        counts[out.kind] += 1
        line = f"seed {seed:4d} {out.kind:8s} {out.seconds:6.2f}s  {out.detail.splitlines()[0][:160]}"
        print(line, flush=True)
        if out.kind == "failure":
            failing.append(f"{inst.describe()}\n    {out.detail}")
        elif out.kind == "error":
            errors.append(f"seed {seed}: {out.detail.splitlines()[0][:200]}")
    print(f"\n{hi - lo} instances in {time.perf_counter() - t0:.0f} s: {counts['optimal']} optimal and equal, "
          f"{counts['uncertified']} uncertified (audited, equal, valid bound), "
          f"{counts['error']} clear MechDesignError, {counts['failure']} failures")
    for line in errors:
        print("  error  ", line)
    for line in failing:
        print("  FAILURE", line)
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
