r"""A proprietary leader against a competitive open-source fringe (BBS §5.3, Lemma 4, Prop 7, App. A).

Quantities :math:`q_L = Q_L^{1/(\sigma+\hat\sigma_L)}`, :math:`q_F = Q_F^{1/(\sigma+\hat\sigma_F)}` cost
:math:`c_L q_L` and :math:`c_F q_F`; the fringe sells at marginal cost and the buyer tops up (eq. 28):
:math:`\max_{q_F\ge0}\theta(q_L^{(\sigma+\hat\sigma_L)/\sigma} + q_F^{(\sigma+\hat\sigma_F)/\sigma})^\sigma - c_F q_F`.

With :math:`\hat\sigma_F = 0` (closed forms, :class:`LeaderFringe`):

* eq. (30): :math:`\hat q(\theta) = (\theta\sigma/c_F)^{\sigma/((1-\sigma)(\sigma+\hat\sigma_L))}`,
  :math:`\psi(\theta) = \theta^{1/(1-\sigma)}(1-\sigma)(\sigma/c_F)^{\sigma/(1-\sigma)}`;
* Lemma 4, eq. (31): :math:`u(\theta, q) = c_F q^{(\sigma+\hat\sigma_L)/\sigma}` below :math:`\hat q`,
  :math:`\theta q^{\sigma+\hat\sigma_L} - \psi(\theta)` above;
* Prop 7 and its proof: :math:`\theta_1` (eq. 46), :math:`\theta_2` solving eq. (49), and, when
  :math:`\theta_2 < \theta_1`, :math:`\theta_3` with :math:`\Pi(\theta_3, q^m(\theta_3)) = 0`; the
  leader sells nothing below the entry cutoff, :math:`\hat q` in the deterrence region and
  :math:`q^m` (eq. 33) above;
* the efficient switch :math:`\hat\theta` (eq. 34) and the integrated monopoly's switch
  :math:`\varphi(\theta^m) = \hat\theta` (App. A).

:func:`topup_payoff_numeric` maximises eq. (28) over :math:`q_F` numerically for any
:math:`\hat\sigma_F \ge 0` (the case without a closed form).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from mechdesign import _validate as V
from mechdesign.exceptions import ProblemSpecError
from mechdesign.types import DiscreteTypes, Distribution

FloatArray = np.ndarray
#: the largest |log| of a quantity or cutoff the closed forms and the numeric menu may meet (double precision
#: ends near 709; the menu's quantity grid spans 12 decades below the top quantity)
LOG_LIMIT = 250.0


@dataclass(frozen=True)
class LeaderFringe:
    r"""Leader :math:`(\hat\sigma_L, c_L)` and fringe :math:`(\hat\sigma_F, c_F)` sharing :math:`\sigma`."""

    sigma: float
    sigma_hat_L: float
    c_L: float
    c_F: float
    sigma_hat_F: float = 0.0

    def __post_init__(self) -> None:
        V.in_open("technology.sigma", self.sigma, 0.0, 1.0)
        V.in_open("leader.sigma_hat", self.sigma_hat_L, 0.0, 1.0 - self.sigma)
        V.positive("leader.cost", self.c_L)
        if not 0.0 <= self.c_F < self.c_L:
            raise ProblemSpecError("fringe.cost", self.c_F, f"must lie in [0, leader.cost = {self.c_L:g}) (§5.3)")
        if not 0.0 <= self.sigma_hat_F < self.sigma_hat_L:
            raise ProblemSpecError("fringe.sigma_hat", self.sigma_hat_F,
                                   f"must lie in [0, leader.sigma_hat = {self.sigma_hat_L:g}) (§5.3)")
        self._check_magnitudes()

    def _check_magnitudes(self) -> None:
        """Refuse costs whose quantities or cutoffs (at a type of 1) double precision cannot represent: the
        efficient leader and fringe quantities and, when they have closed forms, eqs. (34) and (46), in logs."""
        s, sh, d = self.sigma, self.sigma_hat_L, self.d
        logs = {"leader.cost": [np.log(d / self.c_L) / (1 - d)]}
        if self.c_F > 0:
            ratio = np.log(self.c_L / self.c_F)
            logs["fringe.cost"] = [np.log(s / self.c_F) / (1 - s), np.log(self.c_F / s) + (1 - s) * d / sh * ratio,
                                   ((1 - d) * (1 - s) * np.log((1 - s) / (1 - d)) + s * (1 - d) * np.log(s / self.c_F)
                                    + d * (1 - s) * np.log(self.c_L / d)) / sh]
        for field, values in logs.items():
            worst = max(abs(float(v)) for v in values)
            if not worst < LOG_LIMIT:
                value = self.c_L if field == "leader.cost" else self.c_F
                size = "beyond 10^308" if not worst < 709 else f"of about 10^{worst / np.log(10):.0f}"
                raise ProblemSpecError(field, value, f"with technology.sigma = {s:g} and leader.sigma_hat = {sh:g} "
                                       f"gives quantities or cutoffs {size} (at a type of 1), which double "
                                       "precision cannot represent (allowed: "
                                       f"10^-{LOG_LIMIT / np.log(10):.0f} .. 10^{LOG_LIMIT / np.log(10):.0f})",
                                       "Measure the costs in other units.")

    @property
    def d(self) -> float:
        r""":math:`\sigma + \hat\sigma_L`."""
        return self.sigma + self.sigma_hat_L

    def _closed(self, what: str) -> None:
        if self.sigma_hat_F != 0.0:
            raise ProblemSpecError("fringe.sigma_hat", self.sigma_hat_F,
                                   f"must be 0 for the closed form of {what} (eq. 29 has no closed form otherwise)",
                                   "With sigma_hat_F > 0 the leader's problem is numerical only: `mechdesign solve` "
                                   "(mechdesign.settings.leader_fringe.solve_leader).")

    # ------------------------------------------------------------------ eq. (30), Lemma 4
    def q_hat(self, theta: FloatArray) -> FloatArray:
        """Eq. (30): the leader quantity that just deters fringe top-up."""
        self._closed("q_hat")
        s = self.sigma
        return (np.asarray(theta, dtype=float) * s / self.c_F) ** (s / ((1 - s) * self.d))

    def psi(self, theta: FloatArray) -> FloatArray:
        """Eq. (30)/(44): the outside option (fringe only)."""
        self._closed("psi")
        s = self.sigma
        return np.asarray(theta, dtype=float) ** (1 / (1 - s)) * (1 - s) * (s / self.c_F) ** (s / (1 - s))

    def fringe_only_quantity(self, theta: FloatArray) -> FloatArray:
        """Efficient fringe quantity :math:`(\\theta\\sigma/c_F)^{1/(1-\\sigma)}` (outside option's usage)."""
        return (np.asarray(theta, dtype=float) * self.sigma / self.c_F) ** (1 / (1 - self.sigma))

    def u(self, theta: FloatArray, q: FloatArray) -> FloatArray:
        """Lemma 4, eq. (31): payoff net of the outside option."""
        th, q = np.broadcast_arrays(np.asarray(theta, dtype=float), np.asarray(q, dtype=float))
        low = self.c_F * q ** (self.d / self.sigma)
        high = th * q**self.d - self.psi(th)
        return np.where(q < self.q_hat(th), low, high)

    def profit_integrand(self, theta: FloatArray, q: FloatArray, dist: Distribution) -> FloatArray:
        """Eq. (45): virtual profit :math:`\\Pi(\\theta, q)` of the relaxed problem (32)."""
        th, q = np.broadcast_arrays(np.asarray(theta, dtype=float), np.asarray(q, dtype=float))
        phi = dist.virtual_value(th)
        inv_h = th - phi
        s = self.sigma
        dpsi = (1 / (1 - s)) * self.psi(th) / np.maximum(th, 1e-300)
        low = self.c_F * q ** (self.d / s) - self.c_L * q
        high = phi * q**self.d - self.c_L * q - self.psi(th) + inv_h * dpsi
        return np.where(q < self.q_hat(th), low, high)

    # ------------------------------------------------------------------ cutoffs
    def theta_hat(self) -> float:
        """Eq. (34): the efficient switch from fringe to leader."""
        self._closed("theta_hat")
        s, sh, d = self.sigma, self.sigma_hat_L, self.d
        return float(((1 - s) / (1 - d)) ** ((1 - d) * (1 - s) / sh) * (s / self.c_F) ** (s * (1 - d) / sh)
                     * (self.c_L / d) ** (d * (1 - s) / sh))

    def theta_1(self) -> float:
        """Eq. (46): below it :math:`\\Pi(\\theta, 0) > \\Pi(\\theta, \\hat q(\\theta))`."""
        self._closed("theta_1")
        s, sh, d = self.sigma, self.sigma_hat_L, self.d
        return float(self.c_F / s * (self.c_L / self.c_F) ** ((1 - s) * d / sh))

    def q_monopoly(self, theta: FloatArray, dist: Distribution) -> FloatArray:
        """Eq. (33): the leader's monopoly quantity (0 where the virtual value is not positive)."""
        phi = np.maximum(dist.virtual_value(np.asarray(theta, dtype=float)), 0.0)
        return (self.d * phi / self.c_L) ** (1 / (1 - self.d))

    def _eq49(self, theta: float, dist: Distribution) -> float:
        s, d = self.sigma, self.d
        rhs = self.c_L / d * (theta * s / self.c_F) ** (s * (1 - d) / ((1 - s) * d))
        return float(dist.virtual_value(np.array(theta))) - rhs

    def theta_2(self, dist: Distribution) -> float | None:
        """Eq. (49) on the support (None if it has no root there: the solution is never interior)."""
        self._closed("theta_2")
        grid = np.linspace(dist.lo, dist.hi, 4001)[1:]
        vals = np.array([self._eq49(t, dist) for t in grid])
        idx = np.flatnonzero(np.diff(np.sign(vals)) > 0)
        if idx.size == 0:
            return None
        i = int(idx[0])
        return float(optimize.brentq(self._eq49, grid[i], grid[i + 1], args=(dist,), xtol=1e-14, rtol=1e-15))

    def theta_3(self, dist: Distribution) -> float | None:
        """Entry cutoff when :math:`\\theta_2 < \\theta_1`: :math:`\\Pi(\\theta_3, q^m(\\theta_3)) = 0` (None if
        no type in the support buys from the leader)."""
        t1, t2 = self.theta_1(), self.theta_2(dist)
        if t2 is None or t2 >= t1:
            return None

        def gap(t: float) -> float:
            return float(self.profit_integrand(np.array(t), self.q_monopoly(np.array(t), dist), dist))

        if gap(t2) >= 0:
            return t2
        b = min(t1, dist.hi)
        if gap(b) < 0:  # theta_1 beyond the support: the leader sells to nobody
            return None
        return float(optimize.brentq(gap, t2, b, xtol=1e-14, rtol=1e-15))

    def theta_m(self, dist: Distribution) -> float:
        """Integrated monopoly's switch: :math:`\\varphi(\\theta^m) = \\hat\\theta` (App. A)."""
        th = self.theta_hat()
        return float(optimize.brentq(lambda t: float(dist.virtual_value(np.array(t))) - th, dist.lo + 1e-12,
                                     dist.hi, xtol=1e-14, rtol=1e-15)) if float(
            dist.virtual_value(np.array(dist.hi))) > th else float("inf")

    def cutoffs(self, dist: Distribution) -> dict[str, float | None]:
        """Prop 7's regions: ``entry`` (first type served by the leader), ``monopoly`` (start of the
        monopoly region), and the named cutoffs of the proof and App. A."""
        t1, t2, t3 = self.theta_1(), self.theta_2(dist), self.theta_3(dist)
        entry: float | None
        mono: float | None
        if t2 is None:
            entry, mono = t1, None
        elif t2 > t1:
            entry, mono = t1, t2
        else:
            entry = mono = t3 if t3 is not None else float(dist.hi)
        return {"theta_hat": self.theta_hat(), "theta_1": t1, "theta_2": t2, "theta_3": t3,
                "theta_m": self.theta_m(dist), "entry": entry, "monopoly": mono}

    # ------------------------------------------------------------------ discrete types (Prop 7's proof on a grid)
    def discrete_menu(self, types: DiscreteTypes) -> tuple[FloatArray, FloatArray, float]:
        r"""The leader's optimal menu for discrete types by Prop 7's case analysis: ``(q, t, profit)``.

        With the local downward ICs and the lowest IR binding (as in the proof of Prop 7), the profit
        separates into :math:`J_n(q) = f_n\big(u(\theta_n, q) - c_L q\big) - G_{n+1}\big(u(\theta_{n+1}, q)
        - u(\theta_n, q)\big)`, :math:`G_{n+1} = \sum_{k>n} f_k`, with Lemma 4's :math:`u` (eq. 31). On each
        piece between the kinks :math:`\hat q(\theta_n) \le \hat q(\theta_{n+1})` (eq. 30) the maximiser is
        explicit:

        * below :math:`\hat q(\theta_n)`: :math:`f_n(c_F q^{d/\sigma} - c_L q)` is convex
          (:math:`d/\sigma > 1`): an endpoint, :math:`q = 0` or the kink;
        * between the kinks (deterrence): :math:`(f_n + G_{n+1})\theta_n q^d - G_{n+1} c_F q^{d/\sigma}
          - f_n c_L q` is concave: the root of its derivative (one scalar equation, bracketed), or a kink;
        * above :math:`\hat q(\theta_{n+1})` (monopoly): eq. (33) at the discrete virtual value
          :math:`\varphi_n = \theta_n - (G_{n+1}/f_n)(\theta_{n+1} - \theta_n)`,
          :math:`q = (d\varphi_n/c_L)^{1/(1-d)}`, or the kink.

        The best candidate is taken; transfers follow from the binding constraints,
        :math:`t_1 = u(\theta_1, q_1)`, :math:`t_n = t_{n-1} + u(\theta_n, q_n) - u(\theta_n, q_{n-1})`.
        (Optimal for the full program when these quantities are non-decreasing, which the numerical
        program's all-pairs audit checks independently.)
        """
        self._closed("discrete_menu")
        th, f = types.theta, types.prob
        N = types.n
        G = np.concatenate([np.cumsum(f[::-1])[::-1], [0.0]])
        d, s, cL, cF = self.d, self.sigma, self.c_L, self.c_F
        qh = self.q_hat(th)
        q = np.zeros(N)
        for n in range(N):
            g = G[n + 1]
            last = n + 1 == N

            def J(x: FloatArray, n: int = n, g: float = g, last: bool = last) -> FloatArray:
                own = self.u(np.full_like(x, th[n]), x)
                out = f[n] * (own - cL * x)
                if not last:
                    out = out - g * (self.u(np.full_like(x, th[n + 1]), x) - own)
                return out

            lo = float(qh[n])
            hi = lo if last else float(qh[n + 1])
            cands = [0.0, lo, hi]
            if not last and hi > lo:
                def dJ(x: float, n: int = n, g: float = g) -> float:
                    return ((f[n] + g) * th[n] * d * x ** (d - 1) - g * cF * (d / s) * x ** (d / s - 1)
                            - f[n] * cL)
                if dJ(lo) > 0 > dJ(hi):
                    cands.append(float(optimize.brentq(dJ, lo, hi, xtol=1e-15 * hi, rtol=1e-15)))
            phi = th[n] - (0.0 if last else g / f[n] * (th[n + 1] - th[n]))
            if phi > 0:
                cands.append(max((d * phi / cL) ** (1 / (1 - d)), hi))
            c = np.array(cands)
            q[n] = c[int(np.argmax(J(c)))]
        t = np.zeros(N)
        t[0] = float(self.u(th[:1], q[:1])[0])
        for n in range(1, N):
            t[n] = t[n - 1] + float(self.u(th[n], q[n]) - self.u(th[n], q[n - 1]))
        return q, t, float(f @ (t - cL * q))

    # ------------------------------------------------------------------ allocations (Figure 1)
    def competition(self, theta: FloatArray, dist: Distribution) -> tuple[FloatArray, FloatArray]:
        """Prop 7: leader and fringe quantities under leader-fringe competition."""
        th = np.asarray(theta, dtype=float)
        c = self.cutoffs(dist)
        entry, mono = c["entry"], c["monopoly"]
        assert entry is not None
        qL = np.where(th <= entry, 0.0, self.q_hat(th))
        if mono is not None:
            qL = np.where(th >= mono, self.q_monopoly(th, dist), qL)
        qF = np.where(th <= entry, self.fringe_only_quantity(th), 0.0)
        return qL, qF

    def efficient(self, theta: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Efficient allocation (App. A): fringe below :math:`\\hat\\theta`, leader above."""
        th = np.asarray(theta, dtype=float)
        lead = th >= self.theta_hat()
        qL = np.where(lead, (th * self.d / self.c_L) ** (1 / (1 - self.d)), 0.0)
        return qL, np.where(lead, 0.0, self.fringe_only_quantity(th))

    def integrated_monopoly(self, theta: FloatArray, dist: Distribution) -> tuple[FloatArray, FloatArray]:
        """Multi-model monopoly owning both models (App. A): efficient for the virtual type."""
        th = np.asarray(theta, dtype=float)
        phi = np.maximum(dist.virtual_value(th), 0.0)
        lead = th >= self.theta_m(dist)
        qL = np.where(lead, (phi * self.d / self.c_L) ** (1 / (1 - self.d)), 0.0)
        qF = np.where(lead, 0.0, (phi * self.sigma / self.c_F) ** (1 / (1 - self.sigma)))
        return qL, qF


def topup_payoff_numeric(lf: LeaderFringe, theta: float, q_L: float) -> tuple[float, float]:
    """Eq. (28) maximised over the fringe quantity numerically (any :math:`\\hat\\sigma_F \\ge 0`): (payoff, q_F)."""
    s, dL, dF = lf.sigma, lf.d, lf.sigma + lf.sigma_hat_F

    def neg(log_qf: float) -> float:
        qf = np.exp(log_qf)
        return -(theta * (q_L ** (dL / s) + qf ** (dF / s)) ** s - lf.c_F * qf)

    grid = np.linspace(-40.0, 15.0, 2201)  # the objective need not be unimodal in log q_F: grid, then refine
    vals = np.array([neg(g) for g in grid])
    i = int(np.argmin(vals))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    res = optimize.minimize_scalar(neg, bounds=(lo, hi), method="bounded", options={"xatol": 1e-13})
    if res.fun <= vals[i]:
        best, qf = -float(res.fun), float(np.exp(res.x))
    else:
        best, qf = -float(vals[i]), float(np.exp(grid[i]))
    at_zero = float(theta * q_L**dL)
    return (best, qf) if best > at_zero else (at_zero, 0.0)


def topup_payoff(lf: LeaderFringe, theta: FloatArray | float, q_L: FloatArray | float,
                 iters: int = 12) -> FloatArray:
    r"""Eq. (28) net of the outside option, any :math:`\hat\sigma_F \ge 0`, broadcasting ``theta`` and ``q_L``.

    With :math:`a = (\sigma+\hat\sigma_F)/\sigma \ge 1` and :math:`A = q_L^{(\sigma+\hat\sigma_L)/\sigma}`,
    the top-up objective :math:`V(x) = \theta(A + x^a)^\sigma - c_F x` has derivative
    :math:`g(x) - c_F` with :math:`g(x) = \theta\sigma a (A + x^a)^{\sigma-1} x^{a-1}` (the left side of
    eq. 29). :math:`g` rises up to :math:`x_p^a = (a-1)A/(1-\sigma a)` and falls after it, so
    :math:`V` has at most two local maxima: :math:`x = 0` (no top-up) and the root of eq. (29) on the
    falling branch, found by Newton's method in :math:`y = \log x` from :math:`(\theta\sigma a/c_F)^{1/(1-\sigma a)}`
    (where :math:`g \le c_F`): :math:`\log g` is concave in :math:`y`, so the iterates decrease monotonically
    to the root (at most ``iters`` steps; the payoff is flat at the root, so its error is second order).
    The payoff is the larger
    of the two minus the outside option :math:`\psi(\theta) = \max_x \theta x^{\sigma+\hat\sigma_F} - c_F x`
    (closed form). With :math:`\hat\sigma_F = 0` this is Lemma 4's eq. (31); for
    :math:`\hat\sigma_F > 0` eq. (29) has no closed form and this is numerical only (checked against the
    brute-force :func:`topup_payoff_numeric` in tests/test_competition.py).
    """
    return _topup(lf, theta, q_L, iters)[0]


def _topup(lf: LeaderFringe, theta: FloatArray | float, q_L: FloatArray | float,
           iters: int = 12) -> tuple[FloatArray, FloatArray]:
    """Eq. (28) net of the outside option and the fringe quantity bought (see :func:`topup_payoff`)."""
    s, dL, dF = lf.sigma, lf.d, lf.sigma + lf.sigma_hat_F
    a = dF / s
    th, qL = np.broadcast_arrays(np.asarray(theta, dtype=float), np.asarray(q_L, dtype=float))
    A = qL ** (dL / s)
    x_star = (th * dF / lf.c_F) ** (1 / (1 - dF))
    psi = (1 - dF) * th * x_star**dF
    single = th * A**s                                   # no top-up, x = 0
    x_peak = ((a - 1) * A / (1 - dF)) ** (1 / a)
    hi = np.maximum(x_star, x_peak)
    lo = np.maximum(x_peak, 1e-30 * np.maximum(hi, 1e-300))

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        level = np.log(lf.c_F) - np.log(th * s * a)

        def log_g(y: FloatArray) -> tuple[FloatArray, FloatArray]:  # log g - log(theta sigma a) at x = e^y, slope
            e = np.exp(a * y)
            return (s - 1) * np.log(A + e) + (a - 1) * y, (s - 1) * a * e / (A + e) + (a - 1)

        root = (th > 0) & (log_g(np.log(lo))[0] > level)  # V rises somewhere: an interior maximum
        # log g is concave in y = log x, so Newton from the bracket's upper end (where g <= c_F) decreases
        # monotonically to the root on the falling branch, quadratically near it
        y = np.where(root, np.log(hi), 0.0)
        for _ in range(iters):
            val, slope = log_g(y)
            step = np.where(root, (val - level) / slope, 0.0)
            y = np.maximum(y - step, np.log(lo))
            if not np.any(np.abs(step) > 1e-12 * (1.0 + np.abs(y))):
                break
        x = np.exp(y)
        top = np.where(root, th * (A + x**a) ** s - lf.c_F * x, -np.inf)
    pay = np.where(qL > 0, np.maximum(single, top) - psi, 0.0)   # u(theta, 0) = 0 exactly: the outside option
    return pay, np.where(top > single, x, 0.0)


def topup_quantity(lf: LeaderFringe, theta: FloatArray | float, q_L: FloatArray | float) -> FloatArray:
    """The fringe quantity the buyer tops up with in eq. (28) (0 when she single-homes on the leader)."""
    return _topup(lf, theta, q_L)[1]
