r"""Whether a posted menu can be optimal: input checks, the restrictions (C7) and the nearest consistent menu.

(C7) of :mod:`mechdesign.analytic.calibration.core` (BBS §4, Prop 3, discrete types) as relative slacks
that depend on the cost exponent :math:`b` only, one :class:`Restriction` per tier with a plain message, and
the projection of the fees onto the menus that pass (C7) at a given :math:`b` (a small QP, SLSQP).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize

from ... import _validate as V
from ...exceptions import ProblemSpecError
from ...technology import Technology
from .data import UNITS, FloatArray, ObservedMenu, _sorted_tiers

#: strict inequalities of (C7) must hold by this relative margin
CONSISTENCY_RTOL = 1e-9
#: the nearest consistent menu satisfies (C7) with this relative margin
NEAREST_MARGIN = 1e-3
#: largest monthly fee accepted (USD): far above any posted price, far below overflow
MAX_FEE = 1e12


# ------------------------------------------------------------------------------------------ checks
def _checked(menu: ObservedMenu) -> tuple[FloatArray, FloatArray, list[str]]:
    """Fees and allowances of a menu fit for calibration, else ProblemSpecError naming field and tier."""
    if menu.unit not in UNITS:
        raise ProblemSpecError("menu.unit", menu.unit, "must be one of " + ", ".join(repr(u) for u in UNITS))
    if menu.K < 2:
        raise ProblemSpecError(
            "menu.tiers",
            menu.names,
            "must have at least 2 tiers: one tier cannot identify types, masses and cost scale",
        )
    seen: set[str] = set()
    for i, t in enumerate(menu.tiers):
        where = f"tiers[{i}] ({t.name!r})"
        if t.name in seen:
            raise ProblemSpecError(
                f"{where}.name", t.name, "must be unique: another tier has this name (tiers are named in results)"
            )
        seen.add(t.name)
        if t.unit != menu.unit:
            raise ProblemSpecError(f"{where}.unit", t.unit, f"must equal the menu's unit {menu.unit!r}")
        if t.allowance is None or not np.isfinite(t.allowance):
            raise ProblemSpecError(
                f"{where}.allowance",
                t.allowance,
                "is not stated: supply it as an explicit assumption "
                "(ObservedMenu.with_allowances or --allowance NAME=VALUE)",
            )
        if t.allowance <= 0:
            raise ProblemSpecError(f"{where}.allowance", t.allowance, f"must be > 0 {menu.unit}")
        if not (np.isfinite(t.fee) and t.fee >= 0):
            raise ProblemSpecError(f"{where}.fee", t.fee, "must be a finite fee >= 0 (USD)")
        if t.fee > MAX_FEE:
            raise ProblemSpecError(
                f"{where}.fee", t.fee, f"must be at most {MAX_FEE:g} USD per month (larger fees overflow the algebra)"
            )
    tiers = _sorted_tiers(menu.tiers)
    A = np.array([t.allowance for t in tiers], dtype=float)
    T = np.array([t.fee for t in tiers], dtype=float)
    for i in range(1, len(tiers)):
        lo, hi = tiers[i - 1], tiers[i]
        if A[i] == A[i - 1]:
            raise ProblemSpecError(
                f"tiers[{i}] ({hi.name!r}).allowance",
                hi.allowance,
                f"must differ from tier {lo.name!r}'s allowance {lo.allowance:g} "
                "(two tiers with one allowance: one is dominated)",
            )
        if T[i] <= T[i - 1]:
            raise ProblemSpecError(
                f"tiers[{i - 1}] ({lo.name!r}).fee",
                lo.fee,
                f"must be below the fee {hi.fee:g} of tier {hi.name!r}: tier {lo.name!r} "
                f"has a lower allowance ({lo.allowance:g} < {hi.allowance:g} {menu.unit}) "
                "but not a lower fee, so it is dominated",
            )
    return T, A, [t.name for t in tiers]


def _exponent(
    cost_exponent: float | None, sigma_total: float | None, technology: Technology | None
) -> float | None:
    given = [
        n
        for n, v in (
            ("cost_exponent", cost_exponent),
            ("sigma_total", sigma_total),
            ("technology", technology),
        )
        if v is not None
    ]
    if len(given) > 1:
        raise ProblemSpecError(
            given[1],
            "both given",
            f"give at most one of cost_exponent, sigma_total, technology (got {', '.join(given)})",
        )
    if cost_exponent is not None:
        b = V.as_float("cost_exponent", cost_exponent)
        if not b > 1.0:
            raise ProblemSpecError(
                "cost_exponent",
                cost_exponent,
                "must be > 1 (b = 1/(sigma + sigma_hat) with sigma + sigma_hat < 1, Lemma 3)",
            )
        return b
    if sigma_total is not None:
        return 1.0 / V.in_open("sigma_total", sigma_total, 0.0, 1.0)
    if technology is not None:
        if not technology.is_homogeneous:
            raise ProblemSpecError(
                "technology",
                technology.describe(),
                "must be homogeneous (C(Q) = C0 Q^b, Lemma 3) to calibrate a menu",
            )
        return technology.cost_exponent
    return None


def allowance_factors(A: FloatArray, b: float) -> FloatArray:
    r""":math:`D_k = b A_k [1-(A_{k-1}/A_k)^{1/b}]` (A_0 = 0): :math:`\lambda D_k = C'(Q_k)\Delta Q_k`."""
    prev = np.concatenate([[0.0], A[:-1]])
    with np.errstate(divide="ignore"):
        return b * A * -np.expm1(np.log(prev / A) / b)


def _slacks(T: FloatArray, A: FloatArray, b: float, lam: float | None = None) -> dict[str, FloatArray]:
    """Relative slacks of the restrictions (C7) (positive = satisfied); free of lambda and C0 unless
    lambda is given (then ``top`` tests the top's no-distortion condition)."""
    a = A ** (1.0 / b)
    dT = np.diff(np.concatenate([[0.0], T]))
    th = dT / np.diff(np.concatenate([[0.0], a]))  # proportional to theta: factor (lambda/C0)^(-1/b)
    D = allowance_factors(A, b)
    m = (dT / D) / (lam if lam is not None else dT[-1] / D[-1])
    with np.errstate(divide="ignore", invalid="ignore"):
        out = {
            "positive": np.array([th[0] / np.max(np.abs(th))]),
            "ic": th[1:] / th[:-1] - 1.0,
            "markup": m[:-1] - 1.0,
        }
    if lam is not None:
        out["top"] = np.array([1e-9 - abs(m[-1] - 1.0)])
    return out


def _margin(T: FloatArray, A: FloatArray, b: float, lam: float | None = None) -> float:
    """Smallest slack of (C7): positive iff the menu can be optimal at exponent ``b``."""
    return min(float(np.nanmin(v)) for v in _slacks(T, A, b, lam).values() if v.size)


@dataclass(frozen=True)
class Restriction:
    """One restriction of (C7) at one tier: whether it holds, the slack, and a plain message."""

    kind: str
    tier: str
    index: int
    holds: bool
    value: float
    bound: float
    shortfall: float
    message: str

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "tier": self.tier,
            "index": self.index,
            "holds": self.holds,
            "value": self.value,
            "bound": self.bound,
            "shortfall": self.shortfall,
            "message": self.message,
        }


def _restrictions(
    names: list[str], T: FloatArray, theta: FloatArray, mc: FloatArray, f: FloatArray, lam_given: bool
) -> list[Restriction]:
    K = len(names)
    out: list[Restriction] = []
    tol = CONSISTENCY_RTOL
    ok = bool(theta[0] > tol * max(abs(theta).max(), 1e-300))
    out.append(
        Restriction(
            "ir",
            names[0],
            0,
            ok,
            float(theta[0]),
            0.0,
            0.0 if ok else 1.0,
            f"tier {names[0]!r}: theta_1 = T_1/Q_1 = {theta[0]:.6g} > 0"
            if ok
            else f"tier {names[0]!r}: fee {T[0]:g} gives theta_1 = {theta[0]:.6g}; "
            "the lowest served type pays a "
            "positive fee (IR binds, eq. 13), so a free tier is not an optimum of the model",
        )
    )
    for k in range(1, K):
        ok = bool(theta[k] > theta[k - 1] * (1 + tol))
        short = 0.0 if ok else float((theta[k - 1] - theta[k]) / max(abs(theta[k - 1]), 1e-300))
        out.append(
            Restriction(
                "ic",
                names[k],
                k,
                ok,
                float(theta[k]),
                float(theta[k - 1]),
                short,
                f"tier {names[k]!r}: theta = {theta[k]:.6g} > {theta[k - 1]:.6g} (tier {names[k - 1]!r})"
                if ok
                else f"tier {names[k]!r}: IC fails, implied type theta_{k + 1} = {theta[k]:.6g} is not above "
                f"theta_{k} = {theta[k - 1]:.6g} of tier {names[k - 1]!r} (short by {100 * short:.3g}%): "
                "its fee "
                "increment per unit of quality is too low relative to the tier below",
            )
        )
    for k in range(K - 1):
        m = theta[k] / mc[k]
        ok = bool(m > 1 + tol)
        out.append(
            Restriction(
                "distortion",
                names[k],
                k,
                ok,
                float(m),
                1.0,
                0.0 if ok else float(1 - m),
                f"tier {names[k]!r}: markup m = theta/C'(Q) = {m:.6g} > 1"
                if ok
                else f"tier {names[k]!r}: markup m = theta/C'(Q) = {m:.6g} <= 1 "
                + (f"(short by {100 * (1 - m):.3g}%)" if 1 - m > 1e-6 else "(on the boundary m = 1)")
                + ": below the top, theta_k must exceed C'(Q_k) = phi_k (eq. 12 with phi < theta), "
                "otherwise its mass is not positive",
            )
        )
    if lam_given:
        m = theta[-1] / mc[-1]
        ok = bool(abs(m - 1) <= 1e-9)
        out.append(
            Restriction(
                "top",
                names[-1],
                K - 1,
                ok,
                float(m),
                1.0,
                float(abs(m - 1)),
                f"tier {names[-1]!r}: no distortion at the top, theta_K = C'(Q_K)"
                if ok
                else f"tier {names[-1]!r}: with the given cost scale the top is distorted, "
                f"theta_K/C'(Q_K) = {m:.6g} "
                f"(eq. 12 needs 1; off by {100 * abs(m - 1):.3g}%)",
            )
        )
    pos = bool(np.all(np.isfinite(f)) and np.all(f > 0))
    bad = [names[i] for i in range(K) if not (np.isfinite(f[i]) and f[i] > 0)]
    out.append(
        Restriction(
            "masses",
            bad[0] if bad else "",
            names.index(bad[0]) if bad else -1,
            pos,
            float(np.nanmin(np.where(np.isfinite(f), f, np.nan))) if np.any(np.isfinite(f)) else float("nan"),
            0.0,
            0.0 if pos else 1.0,
            "all tier masses positive (C6)"
            if pos
            else "masses (C6) not all positive and finite, at tier(s) " + ", ".join(repr(n) for n in bad),
        )
    )
    return out


# ------------------------------------------------------------------------------- nearest menu
@dataclass(frozen=True)
class NearestMenu:
    """The consistent menu nearest to the posted one in relative fees (allowances kept).

    ``margin`` is the relative margin by which it passes (C7): :data:`NEAREST_MARGIN`, or less when the
    allowances cannot carry that margin (``note`` says why, :func:`max_margin`).
    """

    names: list[str]
    fees: FloatArray
    posted_fees: FloatArray
    allowances: FloatArray
    cost_exponent: float
    distance: float
    margin: float = NEAREST_MARGIN
    note: str = ""

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "tier": self.names,
                "allowance": self.allowances,
                "posted_fee": self.posted_fees,
                "nearest_fee": self.fees,
                "change": self.fees - self.posted_fees,
                "change_pct": 100
                * (self.fees - self.posted_fees)
                / np.where(self.posted_fees > 0, self.posted_fees, np.nan),
            }
        )


def max_margin(A: FloatArray, b: float) -> float:
    r"""The largest relative margin :math:`\delta` by which any fee vector can pass (C7) at exponent ``b``.

    With :math:`\rho_k = \theta_{k+1}/\theta_k` and :math:`\varphi_k = C'(Q_k)`, the identity
    :math:`m_k\rho_k = m_{k+1}\varphi_{k+1}/\varphi_k = m_{k+1}(A_{k+1}/A_k)^{(b-1)/b}` (C3, C5) and
    :math:`m_K = 1` give :math:`m_k = (A_K/A_k)^{(b-1)/b}/\prod_{j\ge k}\rho_j`; every
    :math:`\rho_j \ge 1+\delta` and :math:`m_k \ge 1+\delta` is possible iff
    :math:`(A_K/A_k)^{(b-1)/b} \ge (1+\delta)^{K-k+1}` for every :math:`k<K`, so
    :math:`\delta_{\max} = \min_{k<K} (A_K/A_k)^{(b-1)/(b(K-k+1))} - 1`. It is positive for any increasing
    allowances (a consistent menu always exists) but tiny for near-tied ones: two tiers 0.3% apart at
    :math:`b = 2` allow at most :math:`1.003^{1/4} - 1 \approx 0.075\%`.
    """
    K = A.size
    g = (b - 1.0) / b
    return float(min(np.expm1(g * np.log(A[-1] / A[k]) / (K - k)) for k in range(K - 1)))  # k 0-based


def _feasible_fees(A: FloatArray, b: float, delta: float) -> FloatArray:
    """Fees (top fee 1) passing (C7) at exponent ``b`` with margin ``delta`` (``delta < max_margin``):
    theta ratios and markups spread evenly between the bounds, fees from the binding ICs (C2)."""
    K = A.size
    g = (b - 1.0) / b
    # m_k = (A_K/A_k)^g / prod_{j>=k} rho_j (k 0-based): every rho_j = (1+delta) e^eta leaves each
    # m_k >= 1+delta with room to spare when delta < max_margin
    L = np.log1p(delta)
    n = K - np.arange(K - 1)  # factors rho_k..rho_{K-2} and m_k: K - k of them
    eta = 0.5 * float(np.min((g * np.log(A[-1] / A[:-1]) - n * L) / n))
    logr = np.full(K - 1, L + max(eta, 0.0))
    theta = np.exp(np.concatenate([np.cumsum(logr[::-1])[::-1], [0.0]]))  # theta_K = 1
    a = A ** (1.0 / b)
    T = np.cumsum(theta * np.diff(np.concatenate([[0.0], a])))  # (C2)
    return T / T[-1]


def nearest_consistent_menu(
    menu: ObservedMenu, cost_exponent: float, cost_scale: float | None = None, margin: float = NEAREST_MARGIN
) -> NearestMenu | None:
    r"""Project the fees onto the menus that pass (C7) at exponent ``b`` with relative ``margin``.

    Minimises :math:`\sum_k ((T'_k - T_k)/s_k)^2` (:math:`s_k = T_k`, or the smallest positive fee for a
    free tier) subject to the restrictions of (C7), which are linear in :math:`T'` for fixed :math:`b`
    (and :math:`\lambda` when given):
    :math:`\Delta T'_{k+1}/\Delta a_{k+1} \ge (1+\delta)\Delta T'_k/\Delta a_k`
    (:math:`a = A^{1/b}`, :math:`T'_1 > 0`), :math:`\Delta T'_k D_K \ge (1+\delta)\Delta T'_K D_k` for
    :math:`k<K`, and :math:`\Delta T'_K = \lambda D_K` when :math:`\lambda` is given. SLSQP, a convex QP,
    started from a point known to be feasible (:func:`_feasible_fees`).

    When the allowances cannot carry ``margin`` (near-tied tiers, :func:`max_margin`), the margin is
    lowered to half the largest possible one and ``note`` says so. Returns ``None`` only when even that
    margin is below floating-point resolution (allowances equal to about 1e-12).
    """
    T, A, names = _checked(menu)
    b = V.as_float("cost_exponent", cost_exponent)
    K = T.size
    note = ""
    dmax = max_margin(A, b)
    if not dmax > 1e-12:
        return None
    if margin >= dmax:
        note = (
            f"margin lowered from {margin:g} to {dmax / 2:.3g}: at b = {b:g} the allowances allow (C7) to "
            f"hold by at most {dmax:.3g} (relative; near-tied allowances)"
        )
        margin = dmax / 2
    u = float(T[-1])  # variables x = T' / T_K
    scale = np.where(T > 0, T, T[T > 0].min()) / u
    da = np.diff(np.concatenate([[0.0], A ** (1.0 / b)]))
    D = allowance_factors(A, b)
    Dm = np.eye(K) - np.eye(K, k=-1)  # fee increments: dT = Dm @ T
    rows = [Dm[-1], Dm[0] / da[0]]  # top increment > 0 and theta_1 > 0
    rhs = [margin * 1e-3, margin * 1e-3 / da[-1]]
    for k in range(1, K):  # IC: theta_{k+1} >= (1 + margin) theta_k
        rows.append(Dm[k] / da[k] - (1 + margin) * Dm[k - 1] / da[k - 1])
        rhs.append(0.0)
    for k in range(K - 1):  # distortion: m_k >= 1 + margin
        rows.append((Dm[k] * D[-1] - (1 + margin) * Dm[-1] * D[k]) / D[-1])
        rhs.append(0.0)
    G, c = np.array(rows), np.array(rhs)
    start = _feasible_fees(A, b, margin)
    lam = None if cost_scale is None else V.positive("cost_scale", cost_scale)
    if lam is not None:  # (C7) is homogeneous in the fees: scale the start to dT_K = lambda D_K
        start = start * (lam * D[-1] / u) / float(Dm[-1] @ start)
    else:
        start = start * float(T[-1] / u)
    cons: list[dict[str, object]] = [{"type": "ineq", "fun": lambda x: G @ x - c, "jac": lambda x: G}]
    if lam is not None:  # (C4) as a restriction: dT_K = lambda D_K
        cons.append(
            {
                "type": "eq",
                "fun": lambda x: np.array([Dm[-1] @ x - lam * D[-1] / u]),
                "jac": lambda x: Dm[-1][None, :],
            }
        )
    w = 1.0 / scale**2

    def obj(x: FloatArray) -> float:
        return float(np.sum(w * (x - T / u) ** 2))

    def grad(x: FloatArray) -> FloatArray:
        return 2 * w * (x - T / u)

    def feasible(x: FloatArray) -> bool:
        scl = np.abs(G) @ np.abs(x) + 1e-300
        ok = bool(np.all((G @ x - c) >= -1e-12 * scl))
        if lam is not None:
            ok = ok and abs(float(Dm[-1] @ x) - lam * D[-1] / u) <= 1e-9 * abs(lam * D[-1] / u)
        return ok

    best_x, best_f = start, obj(start)
    for x0 in (start, T / u):
        res = optimize.minimize(
            obj, x0, jac=grad, constraints=cons, method="SLSQP", options={"ftol": 1e-15, "maxiter": 2000}
        )
        if feasible(res.x) and res.fun < best_f:
            best_x, best_f = res.x, float(res.fun)
    if best_x is start and not note:
        note = "the projection did not improve on a feasible start (SLSQP); the fees are consistent, not nearest"
    fees = np.asarray(best_x, dtype=float) * u
    dist = float(np.sqrt(np.sum(((fees - T) / (scale * u)) ** 2)))
    return NearestMenu(names, fees, T, A, b, dist, margin, note)
