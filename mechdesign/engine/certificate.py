r"""Certificates of optimality for the linear screening program: a Lagrangian upper bound and KKT residuals.

For types :math:`v_n \in \mathbb R^D` with probabilities :math:`f_n`, outside options :math:`u^0_n` and
a convex cost :math:`c(a)`, the screening program is

.. math::
    P^\star = \max_{a \ge 0,\, t}\ \sum_n f_n\,(t_n - c(a_n))\quad\text{s.t.}\quad
    v_n\cdot a_n - t_n \ge v_n\cdot a_m - t_m\ \ (n, m),\qquad v_n\cdot a_n - t_n \ge u^0_n .

For any multipliers :math:`\lambda_{nm} \ge 0` on IC pairs and :math:`\nu_n \ge 0` on IR rows, weak
duality bounds every feasible menu's profit by the Lagrangian's supremum. It is finite only when the
Lagrangian does not depend on the transfers, i.e. the *flow balance*

.. math::
    \nu_n = f_n - \sum_m \lambda_{nm} + \sum_m \lambda_{mn} \ \ge 0

holds exactly (stationarity in :math:`t`); then it separates by type,

.. math::
    P^\star \le B(\lambda) = \sum_n c^*_n(s_n) - \sum_n \nu_n u^0_n,\qquad
    s_n = \Big(\sum_m \lambda_{nm} + \nu_n\Big) v_n - \sum_m \lambda_{mn} v_m,\qquad
    c^*_n(s) = \sup_{a \ge 0}\, s\cdot a - f_n c(a),

with the conjugate supplied by the cost model (closed form for the power costs of Lemma 3 and the
per-segment least cost of Appendix B). :func:`lagrangian_certificate` takes any multipliers (a
solver's duals, or multipliers derived from the menu), repairs small flow-balance defects by
lowering outgoing multipliers (which keeps the bound valid), and reports the bound, the gap to the
menu's profit, the most negative raw multiplier, the flow-balance residual and the complementary
slackness residual. A menu is certified optimal when the all-pairs audit passes and the relative gap
is below :data:`GAP_RTOL`. Nothing here looks at closed-form menus.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp

from mechdesign.engine.audit import AuditReport

FloatArray = np.ndarray

#: a menu is certified optimal when |bound - profit| <= GAP_RTOL * max(|profit|, PROFIT_FLOOR * scale)
#: (scale: the largest gross payoff, or the data's money unit when no type is served): the gap is measured
#: against the profit itself, and a menu above its own bound (one that violates IC beyond rounding) is
#: not certified either
GAP_RTOL = 1e-9
#: the profit the gap is measured against is at least this share of the largest gross payoff (a menu that
#: earns nothing, or almost nothing, is measured against the data's scale instead of zero)
PROFIT_FLOOR = 1e-6
#: a certified menu violates no IC or IR row by more than this share of the largest gross payoff, whatever
#: the audit's own (user-set) tolerance: rounding, not a solver's stopping point. An interior-point menu
#: that violates IC by ~1e-8 can earn more than the optimum (the gap can then be small while the menu sits
#: above the optimal profit); only its exact finish, whose violations are at the rounding level
#: (N eps of the transfers along the binding chains), is called optimal
VIOLATION_RTOL = 1e-10
#: a certified gap this small (relative to the profit) is at the rounding level: the margin the exact
#: finish aims at, and the level below which no further multipliers are tried
MARGIN_RTOL = 1e-12
#: the floating-point floor of a gap (:attr:`Certificate.rounding_rel`) is this many times N eps times the
#: magnitudes summed (measured: near-linear power costs, beta = 1.01-1.02, N = 28-55, gaps up to 1.6 times
#: N eps times the magnitudes)
ROUNDING_FACTOR = 4.0
#: raw multipliers below -MULT_RTOL * (largest multiplier) count as negative (reported, then clipped)
MULT_RTOL = 1e-7
#: flow-balance defects below this multiple of (f_n + outflow + inflow) are floating-point rounding
ROUNDING = 64 * np.finfo(float).eps
#: passes of the flow-balance repair (each lowers the outgoing multipliers of the types in deficit)
REPAIR_PASSES = 200

#: ``conjugate(s, f) -> values``: :math:`\sup_{a\ge 0} s_n\cdot a - f_n c(a)` per type (s: (N, D), f: (N,))
Conjugate = Callable[[FloatArray, FloatArray], FloatArray]


@dataclass(frozen=True)
class Certificate:
    """What certifies (or fails to certify) a menu as the optimum of the discretised program.

    All quantities are in the program's units; ``*_rel`` ones are relative to ``scale``.

    Attributes
    ----------
    profit : float
        Expected profit of the audited menu.
    bound : float
        Lagrangian upper bound on the optimal profit (``inf`` when the multipliers cannot be balanced).
    gap, gap_rel : float
        ``bound - profit`` (>= 0 up to rounding), and relative to the profit (:func:`gap_reference`: at
        least :data:`PROFIT_FLOOR` of ``scale``).
    min_multiplier_rel : float
        Most negative raw multiplier relative to the largest one (0 when all are non-negative).
    flow_residual_rel : float
        Largest flow-balance defect (stationarity in the transfers) before the repair, relative to
        the largest probability.
    complementarity_rel : float
        Largest :math:`\\lambda\\cdot\\text{slack}` over IC and IR rows, relative to ``scale``.
    audit_passed : bool
        The all-pairs IC/IR audit at its tolerance.
    violation_rel : float
        The audit's largest IC or IR violation relative to the largest gross payoff.
    passed : bool
        ``audit_passed``, ``violation_rel <= tolerances['violation_rtol']`` (:data:`VIOLATION_RTOL`: rounding)
        and ``|gap_rel| <= tolerances['gap_rtol']``.
    """

    method: str
    profit: float
    bound: float
    gap: float
    gap_rel: float
    scale: float
    min_multiplier_rel: float
    flow_residual_rel: float
    complementarity_rel: float
    audit_passed: bool
    tolerances: dict[str, float] = field(default_factory=dict)
    #: the floating-point floor of ``gap_rel``: N eps (sum of |revenue| + |cost| + |bound terms| times the
    #: conjugate's elasticity) relative to the profit (profit = revenue - cost cancels, and the conjugate of a
    #: power cost x^p amplifies the rounding of its argument p/(p-1) times: with costs near linear the floor
    #: is far above eps)
    rounding_rel: float = 0.0
    violation_rel: float = 0.0

    @property
    def feasible(self) -> bool:
        """The audit passes and no IC or IR row is violated beyond rounding (:data:`VIOLATION_RTOL`)."""
        return bool(self.audit_passed and self.violation_rel <= self.tolerances.get("violation_rtol", VIOLATION_RTOL))

    @property
    def passed(self) -> bool:
        """True when the menu is feasible to rounding and the relative gap is within its tolerance."""
        return bool(self.feasible and np.isfinite(self.gap_rel) and abs(self.gap_rel) <= self.tolerances["gap_rtol"])

    @property
    def has_margin(self) -> bool:
        """Certified with the gap at the rounding level: within :data:`MARGIN_RTOL` of the profit, or within
        its floating-point floor (``rounding_rel``) where that is larger."""
        return self.passed and abs(self.gap_rel) <= max(MARGIN_RTOL, self.rounding_rel)

    def to_dict(self) -> dict[str, object]:
        return {
            "method": self.method, "passed": self.passed, "profit": self.profit, "bound": self.bound,
            "gap": self.gap, "gap_rel": self.gap_rel, "scale": self.scale,
            "min_multiplier_rel": self.min_multiplier_rel, "flow_residual_rel": self.flow_residual_rel,
            "complementarity_rel": self.complementarity_rel, "audit_passed": self.audit_passed,
            "rounding_rel": self.rounding_rel, "violation_rel": self.violation_rel,
            "tolerances": dict(self.tolerances),
        }

    def in_units(self, money: float) -> Certificate:
        """The same certificate with profit, bound, gap and scale multiplied by ``money`` (relative numbers unchanged)."""
        return replace(self, profit=self.profit * money, bound=self.bound * money, gap=self.gap * money,
                       scale=self.scale * money)

    def line(self) -> str:
        """One summary line."""
        verdict = "CERTIFIED" if self.passed else "NOT certified"
        viol = ("" if self.feasible else
                f"IC/IR violated by {self.violation_rel:.1e} of the largest gross payoff (certified menus: at most "
                f"{self.tolerances.get('violation_rtol', VIOLATION_RTOL):g}, rounding); ")
        return (f"{verdict}: {viol}bound {self.bound:.10g}, gap {self.gap_rel:.1e} rel (tol "
                f"{self.tolerances['gap_rtol']:g}); multipliers >= {self.min_multiplier_rel:.1e} rel; "
                f"flow residual {self.flow_residual_rel:.1e}; complementarity {self.complementarity_rel:.1e}")


def gap_reference(profit: float, scale: float) -> float:
    """What the gap is measured against: the profit, at least :data:`PROFIT_FLOOR` of the scale."""
    return max(abs(float(profit)), PROFIT_FLOOR * float(scale))


def power_conjugate(kappa: float, beta: float) -> Conjugate:
    r"""Conjugate of the scalar power cost :math:`c(x) = \kappa x^\beta` (Lemma 3 in scaled units).

    :math:`\sup_{x\ge0} s x - f\kappa x^\beta = (1 - 1/\beta)\, s\, x^\star`,
    :math:`x^\star = (s/(f\kappa\beta))^{1/(\beta-1)}` for :math:`s > 0`, else 0.
    """
    return profile_conjugate(kappa, beta, np.ones(1), 0.5)


def profile_conjugate(K: float, beta: float, measures: FloatArray, sigma: float) -> Conjugate:
    r"""Conjugate of the per-segment least cost :math:`K S^p`, :math:`S = \sum_t \mu_t q_t^{1/\sigma}` (App. B).

    With :math:`a = 1/\sigma` and :math:`b = a/(a-1)`, Hölder's inequality gives
    :math:`\max\{s\cdot q : q \ge 0, \sum_t \mu_t q_t^a = S\} = S^{1/a} H`,
    :math:`H = (\sum_t \mu_t^{-b/a} (s_t^+)^b)^{1/b}`; with :math:`x = S^{1/a}` the cost is
    :math:`K x^{ap}`, :math:`ap = \beta = 1/(\sigma+\hat\sigma)`, so the conjugate is the scalar
    power conjugate at :math:`H` (one segment of measure one: :math:`H = s^+`).
    """
    mu = np.asarray(measures, dtype=float)
    a = 1.0 / sigma
    b = a / (a - 1.0)
    weights = mu ** (-b / a)

    def conj(s: FloatArray, f: FloatArray) -> FloatArray:
        s = np.asarray(s, dtype=float)
        sp = np.maximum(s[:, None] if s.ndim == 1 else s, 0.0)
        peak = sp.max(axis=1)
        ref = np.where(peak > 0, peak, 1.0)
        H = peak * (((sp / ref[:, None]) ** b) @ weights) ** (1.0 / b)
        f = np.asarray(f, dtype=float)
        out = np.zeros(H.shape)
        pos = H > 0
        with np.errstate(over="ignore", divide="ignore"):
            x = (H[pos] / (f[pos] * K * beta)) ** (1.0 / (beta - 1.0))
            out[pos] = (1.0 - 1.0 / beta) * H[pos] * x
        return out

    return conj


def _flows(N: int, pairs: FloatArray, lam: FloatArray) -> tuple[FloatArray, FloatArray]:
    out = np.bincount(pairs[:, 0], weights=lam, minlength=N)
    inn = np.bincount(pairs[:, 1], weights=lam, minlength=N)
    return out, inn


def balance_multipliers(prob: FloatArray, pairs: FloatArray, lam: FloatArray) -> tuple[FloatArray, FloatArray, float]:
    r"""Multipliers that satisfy the flow balance with :math:`\nu \ge 0` exactly.

    :math:`\nu_n = f_n - \text{out}_n + \text{in}_n`; where it is negative, type n's outgoing
    multipliers are scaled down until it is zero (this lowers other types' inflow, which is repaired
    in the next pass). Returns ``(lam, nu, largest initial defect)``; ``nu`` has ``nan`` entries when
    :data:`REPAIR_PASSES` passes do not balance the flows.
    """
    f = np.asarray(prob, dtype=float)
    N = f.size
    lam = np.maximum(np.asarray(lam, dtype=float), 0.0).copy()
    pairs = np.asarray(pairs, dtype=int).reshape(-1, 2)
    out, inn = _flows(N, pairs, lam)
    nu = f - out + inn
    defect0 = float(np.max(-nu, initial=0.0))
    for _ in range(REPAIR_PASSES):
        # defects at the rounding level of the flows are rounding, not a lack of balance
        bad = nu < -ROUNDING * (f + out + inn)
        if not bad.any():
            return lam, np.maximum(nu, 0.0), defect0
        # scale the outgoing multipliers of each type in deficit so that its balance becomes zero
        factor = np.ones(N)
        with np.errstate(divide="ignore", invalid="ignore"):
            factor[bad] = np.clip((f[bad] + inn[bad]) / out[bad], 0.0, 1.0)
        lam = lam * factor[pairs[:, 0]]
        out, inn = _flows(N, pairs, lam)
        nu = f - out + inn
    return lam, np.full(N, np.nan), defect0


def lagrangian_certificate(values: FloatArray, prob: FloatArray, alloc: FloatArray, transfer: FloatArray,
                           cost: FloatArray, pairs: FloatArray, lam: FloatArray, conjugate: Conjugate,
                           audit: AuditReport, scale: float, outside: FloatArray | None = None,
                           method: str = "", gap_rtol: float = GAP_RTOL,
                           raw_min_multiplier: float | None = None) -> Certificate:
    """Certify a menu with IC-pair multipliers ``lam`` (IR multipliers follow from the flow balance).

    Parameters
    ----------
    values, alloc : arrays (N, D) or (N,)
        Types and the menu's allocations; ``transfer`` and ``cost`` (per type, :math:`c(a_n)`) are (N,).
    pairs, lam : (P, 2) int and (P,)
        IC rows ``(n, m)`` (type n must not prefer item m) and their multipliers (raw: negative
        entries are reported and clipped).
    conjugate : callable
        :math:`(s, f) \\mapsto \\sup_{a\\ge0} s_n\\cdot a - f_n c(a)` per type.
    audit : AuditReport
        The all-pairs audit of the same menu.
    scale : float
        The magnitude the gap is measured against (> 0).
    raw_min_multiplier : float, optional
        The most negative raw multiplier (relative), when ``lam`` was clipped before this call.
    """
    v = np.asarray(values, dtype=float)
    v = v[:, None] if v.ndim == 1 else v
    a = np.asarray(alloc, dtype=float).reshape(v.shape)
    t = np.asarray(transfer, dtype=float)
    f = np.asarray(prob, dtype=float)
    N = f.size
    u0 = np.zeros(N) if outside is None else np.asarray(outside, dtype=float)
    pairs = np.asarray(pairs, dtype=int).reshape(-1, 2)
    lam_raw = np.asarray(lam, dtype=float).reshape(-1)
    lmax = max(float(np.max(np.abs(lam_raw), initial=0.0)), float(f.max()))
    min_mult = min(float(np.min(lam_raw, initial=0.0)), 0.0) / lmax
    if raw_min_multiplier is not None:
        min_mult = min(min_mult, raw_min_multiplier)
    lam_b, nu, defect = balance_multipliers(f, pairs, lam_raw)
    profit = float(f @ (t - np.asarray(cost, dtype=float)))
    # complementary slackness with the balanced multipliers
    own = np.sum(v * a, axis=1) - t
    slack = own[pairs[:, 0]] - (np.sum(v[pairs[:, 0]] * a[pairs[:, 1]], axis=1) - t[pairs[:, 1]])
    comp = float(np.max(np.abs(lam_b * slack), initial=0.0))
    if np.all(np.isfinite(nu)):
        comp = max(comp, float(np.max(np.abs(nu * (own - u0)), initial=0.0)))
        outw = np.bincount(pairs[:, 0], weights=lam_b, minlength=N) + nu
        s = outw[:, None] * v
        np.subtract.at(s, pairs[:, 1], lam_b[:, None] * v[pairs[:, 0]])
        conj = conjugate(s, f)
        bound = float(np.sum(conj) - nu @ u0)
        # the conjugate's elasticity in s amplifies the rounding of s (power costs near linear: p/(p-1))
        delta = 1e-6
        with np.errstate(all="ignore"):
            moved = float(np.sum(np.abs(conjugate(s * (1.0 + delta), f) - conj)))
        total = float(np.sum(np.abs(conj)))
        elasticity = moved / (delta * total) if total > 0 and np.isfinite(moved) else 1.0
        magnitude = total * max(1.0, elasticity) + float(np.abs(nu) @ np.abs(u0))
    else:
        bound, magnitude = float("inf"), 0.0
    gap = bound - profit
    magnitude += float(f @ (np.abs(t) + np.abs(np.asarray(cost, dtype=float))))
    ref = gap_reference(profit, scale)
    return Certificate(
        method=method, profit=profit, bound=bound, gap=gap, gap_rel=gap / ref, scale=scale,
        min_multiplier_rel=min_mult, flow_residual_rel=defect / float(f.max()),
        complementarity_rel=comp / scale, audit_passed=audit.passed,
        violation_rel=max(audit.max_ic_violation_rel, audit.max_ir_violation_rel),
        tolerances={"gap_rtol": gap_rtol, "audit_rtol": audit.rtol, "violation_rtol": VIOLATION_RTOL,
                    "multiplier_rtol": MULT_RTOL},
        rounding_rel=ROUNDING_FACTOR * N * float(np.finfo(float).eps) * magnitude / ref,
    )


#: IC rows and IR rows with slack below this share of the scale are candidates for positive multipliers
KKT_SLACK_RTOL = 1e-9


def kkt_multipliers(values: FloatArray, prob: FloatArray, alloc: FloatArray, transfer: FloatArray,
                    gradient: FloatArray, pairs: FloatArray, scale: float,
                    outside: FloatArray | None = None, duals: FloatArray | None = None,
                    ir_duals: FloatArray | None = None) -> tuple[FloatArray, float] | None:
    r"""Multipliers of the tight IC rows that best satisfy the KKT conditions at a given menu (an LP).

    Finds :math:`\lambda \ge 0` on the candidate ``pairs`` whose slack is at most
    :data:`KKT_SLACK_RTOL` ``* scale`` and :math:`\nu \ge 0` on the tight IR rows, with the flow balance
    (stationarity in the transfers) exact, minimising the L1 residual of stationarity in the
    allocation: :math:`s_{nd} = f_n \partial_d c(a_n)` where :math:`a_{nd} > 0` and
    :math:`s_{nd} \le f_n \partial_d c(a_n)` where :math:`a_{nd} = 0` (``gradient`` is :math:`\nabla c(a_n)`
    per type). Rows with a positive solver multiplier (``duals``, ``ir_duals``: above 1e-9 of the largest)
    are candidates too, whatever their slack. The multipliers of a solver's restricted final program are not unique where types sit
    at the null item (an IC row towards the null item repeats an IR row); this picks a set that
    certifies when one exists. Returns ``(lam on pairs, residual relative to max f)`` or None when the
    LP fails (the caller keeps the solver's multipliers).
    """
    import scipy.sparse as sps
    from scipy.optimize import linprog

    v, a, f, g, u0, pairs, own, slack = _kkt_inputs(values, prob, alloc, transfer, gradient, pairs, outside)
    N, D = v.shape
    keep = slack <= KKT_SLACK_RTOL * scale
    ir_keep = own - u0 <= KKT_SLACK_RTOL * scale
    if duals is not None:
        dmax = max(float(np.max(duals, initial=0.0)), float(np.max(ir_duals, initial=0.0)) if ir_duals is not None else 0.0)
        keep |= np.asarray(duals) > 1e-9 * dmax
        if ir_duals is not None:
            ir_keep |= np.asarray(ir_duals) > 1e-9 * dmax
    cand = pairs[keep]
    ir_tight = np.flatnonzero(ir_keep)
    P, R = len(cand), len(ir_tight)
    B, S = _kkt_matrices(v, cand, ir_tight)
    target = (f[:, None] * g).reshape(-1)
    pos = (a > 0).reshape(-1)
    k_pos, k_zero = int(pos.sum()), int((~pos).sum())
    nres = 2 * k_pos + k_zero
    # equality: S_pos x - r+ + r- = target_pos; inequality: S_zero x - r0 <= target_zero
    I_pos = sps.identity(k_pos, format="csr")
    A_eq = sps.vstack([
        sps.hstack([B, sps.csr_matrix((N, nres))]),
        sps.hstack([S[pos], -I_pos, I_pos, sps.csr_matrix((k_pos, k_zero))]),
    ]).tocsc()
    b_eq = np.concatenate([f, target[pos]])
    A_ub = sps.hstack([S[~pos], sps.csr_matrix((k_zero, 2 * k_pos)), -sps.identity(k_zero)]).tocsc()
    b_ub = target[~pos]
    c = np.concatenate([np.zeros(P + R), np.ones(nres)])
    try:
        res = linprog(c, A_ub=A_ub if k_zero else None, b_ub=b_ub if k_zero else None, A_eq=A_eq, b_eq=b_eq,
                      bounds=(0, None), method="highs")
    except ValueError:
        return None
    if res.status != 0:
        return None
    x = _crossover(sps.vstack([B, S[pos]]).tocsr(), np.concatenate([f, target[pos]]), res.x[:P + R])
    lam = np.zeros(len(pairs))
    lam[np.flatnonzero(keep)] = x[:P]
    return lam, float(res.fun) / max(float(np.max(np.abs(target), initial=0.0)), float(f.max()))


def _kkt_inputs(values: FloatArray, prob: FloatArray, alloc: FloatArray, transfer: FloatArray, gradient: FloatArray,
                pairs: FloatArray, outside: FloatArray | None) -> tuple[FloatArray, ...]:
    """The KKT fits' inputs as arrays: values and allocations (N, D), probabilities, cost gradients (N, D),
    outside options, pairs (P, 2), each type's own payoff and each pair's IC slack at the menu."""
    v = np.asarray(values, dtype=float)
    v = v[:, None] if v.ndim == 1 else v
    N, D = v.shape
    a = np.asarray(alloc, dtype=float).reshape(N, D)
    t = np.asarray(transfer, dtype=float)
    u0 = np.zeros(N) if outside is None else np.asarray(outside, dtype=float)
    pairs = np.asarray(pairs, dtype=int).reshape(-1, 2)
    own = np.sum(v * a, axis=1) - t
    slack = own[pairs[:, 0]] - (np.sum(v[pairs[:, 0]] * a[pairs[:, 1]], axis=1) - t[pairs[:, 1]])
    return (v, a, np.asarray(prob, dtype=float), np.asarray(gradient, dtype=float).reshape(N, D), u0, pairs, own,
            slack)


def _kkt_matrices(v: FloatArray, cand: FloatArray, ir_rows: FloatArray) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """The flow balance (N rows: out - in + nu = f) and the stationarity map (N*D rows:
    :math:`s_{nd}`) over the multipliers of the IC rows ``cand`` and the IR rows ``ir_rows``."""
    import scipy.sparse as sps

    N, D = v.shape
    P, R = len(cand), len(ir_rows)
    n_i, m_i = cand[:, 0], cand[:, 1]
    pc = np.arange(P)
    B = sps.coo_matrix((np.concatenate([np.ones(P), -np.ones(P), np.ones(R)]),
                        (np.concatenate([n_i, m_i, ir_rows]), np.concatenate([pc, pc, P + np.arange(R)]))),
                       shape=(N, P + R)).tocsr()
    # s_{nd} = sum_{p: n_p = n} lam_p v_{nd} + nu_n v_{nd} - sum_{p: m_p = n} lam_p v_{n_p d}
    rows, cols, vals = [], [], []
    for d in range(D):
        rows += [n_i * D + d, m_i * D + d, ir_rows * D + d]
        cols += [pc, pc, P + np.arange(R)]
        vals += [v[n_i, d], -v[n_i, d], v[ir_rows, d]]
    S = sps.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                       shape=(N * D, P + R)).tocsr()
    return B, S


#: :func:`support_multipliers` keeps the solver's multipliers above this share of the largest, and the rows
#: whose slack at the menu is below TIGHT_FIT_RTOL of the scale (an exactly finished menu's active rows)
SUPPORT_REL = 1e-6
TIGHT_FIT_RTOL = 1e-12


def support_multipliers(values: FloatArray, prob: FloatArray, alloc: FloatArray, transfer: FloatArray,
                        gradient: FloatArray, pairs: FloatArray, duals: FloatArray, scale: float,
                        outside: FloatArray | None = None, rel: float = SUPPORT_REL) -> FloatArray | None:
    r"""The solver's multipliers made exact on their support, at a (finished) menu.

    An interior-point method's multipliers are accurate only to its tolerance, and the Lagrangian bound moves
    with them to first order. Here the support is kept (IC rows whose multiplier exceeds ``rel`` of the
    largest, IR rows with slack below :data:`KKT_SLACK_RTOL` ``* scale``) and the multipliers are re-solved
    by least squares of the KKT equalities at the menu: the flow balance of every type and stationarity
    :math:`s_{nd} = f_n \partial_d c(a_n)` of every positive component. At an exact menu with the right
    support the fit is exact, and the bound meets the profit to rounding. Returns the multipliers on
    ``pairs`` (None when the fit is not non-negative, or the support too large for the dense fit).
    """
    v, a, f, g, u0, pairs, own, slack = _kkt_inputs(values, prob, alloc, transfer, gradient, pairs, outside)
    N, D = v.shape
    duals = np.asarray(duals, dtype=float).reshape(-1)
    keep = (duals > rel * max(float(np.max(duals, initial=0.0)), 1e-300)) | (slack <= TIGHT_FIT_RTOL * scale)
    # one column per distinct kept row
    kept = np.flatnonzero(keep)
    _, first = np.unique(pairs[kept], axis=0, return_index=True)
    keep = np.zeros(len(pairs), dtype=bool)
    keep[kept[first]] = True
    ir_rows = np.flatnonzero(own - u0 <= KKT_SLACK_RTOL * scale)
    B, S = _kkt_matrices(v, pairs[keep], ir_rows)
    pos = (a > 0).reshape(-1)
    import scipy.sparse as sps

    # zero components: s_nd <= f_n d_d c(a_n), written with a slack column >= 0 each
    k_zero = int((~pos).sum())
    A = sps.vstack([sps.hstack([B, sps.csr_matrix((N, k_zero))]),
                    sps.hstack([S[pos], sps.csr_matrix((int(pos.sum()), k_zero))]),  # type: ignore[index]
                    sps.hstack([S[~pos], sps.identity(k_zero)])]).tocsr()  # type: ignore[index]
    target = (f[:, None] * g).reshape(-1)
    b = np.concatenate([f, target[pos], target[~pos]])
    x0 = np.concatenate([duals[keep], np.zeros(len(ir_rows) + k_zero)])
    x = _crossover(A, b, x0, support=np.arange(x0.size))  # every support column (and IR row) enters the fit
    if x is x0 or not np.all(np.isfinite(x)):
        return None
    if float(np.linalg.norm(A @ x - b)) > 1e-9 * max(float(np.linalg.norm(b)), 1e-300):
        return None  # the support cannot satisfy the KKT conditions: not an exact fit
    lam = np.zeros(len(pairs))
    lam[np.flatnonzero(keep)] = x[:int(keep.sum())]
    return lam


#: the crossover of :func:`kkt_multipliers` solves the LP's support exactly up to this many unknowns
CROSSOVER_MAX_COLS = 3000


def _crossover(A: object, b: FloatArray, x_lp: FloatArray, support: FloatArray | None = None) -> FloatArray:
    """The LP's multipliers made exact on their support: least squares of the equality rows (flow balance
    and stationarity of positive components) over the columns the LP uses. The LP solver meets its rows to
    about 1e-7; the Lagrangian bound moves with the multipliers' error, so a vertex solved exactly certifies
    to the rounding level. Kept only when non-negative (to rounding) and no worse a fit; else the LP's."""
    supp = np.flatnonzero(x_lp > 1e-12 * max(float(np.max(x_lp, initial=0.0)), 1e-300)) if support is None else support
    if supp.size == 0 or supp.size > CROSSOVER_MAX_COLS:
        return x_lp
    As = A[:, supp]  # type: ignore[index]
    try:
        if supp.size <= 3000:  # non-negative least squares (Lawson-Hanson active set: exact on its support)
            from scipy.optimize import nnls

            xs = nnls(As.toarray(), b, maxiter=50 * supp.size)[0]
        else:  # (measured: bounded sparse least squares took minutes at 3,000+ columns and fitted no better)
            return x_lp
    except (np.linalg.LinAlgError, ValueError):
        return x_lp
    if not np.all(np.isfinite(xs)) or float(np.min(xs)) < -1e-9 * max(float(np.max(np.abs(xs))), 1e-300):
        return x_lp
    out = np.zeros_like(x_lp)
    out[supp] = np.maximum(xs, 0.0)
    before = float(np.linalg.norm(A @ x_lp - b))  # type: ignore[operator]
    after = float(np.linalg.norm(A @ out - b))  # type: ignore[operator]
    return out if after <= before else x_lp


#: candidate pairs towards the null item added to the KKT LP (:func:`null_item_pairs`) at most
NULL_PAIRS_MAX = 500_000


def null_item_pairs(values: FloatArray, alloc: FloatArray, transfer: FloatArray, scale: float,
                    outside: FloatArray | None = None, cap: int = NULL_PAIRS_MAX) -> FloatArray:
    r"""IC rows :math:`(m, n)` towards types :math:`n` at the null item from types :math:`m` whose IR is tight.

    When a final program holds the excluded types at the null item, its multipliers leave those types'
    stationarity unbalanced: a null type's virtual value :math:`s_n` must be :math:`\le 0` in every
    component, which needs inflow on rows :math:`(m, n)`, and such rows are often absent from an adaptive
    pair set. Each is tight at the menu (type :math:`m` gets nothing from its own item or from the null
    item), so adding them as candidates of :func:`kkt_multipliers` lets the LP move a tight IR row's
    multiplier onto them (which leaves :math:`s_m` unchanged). At most ``cap`` pairs (types with the
    smallest rents first)."""
    v = np.asarray(values, dtype=float)
    v = v[:, None] if v.ndim == 1 else v
    N, D = v.shape
    a = np.asarray(alloc, dtype=float).reshape(N, D)
    t = np.asarray(transfer, dtype=float)
    u0 = np.zeros(N) if outside is None else np.asarray(outside, dtype=float)
    tol = KKT_SLACK_RTOL * scale
    null = np.flatnonzero((np.max(np.abs(a), axis=1) <= tol) & (np.abs(t) <= tol) & (u0 <= 0))
    rent = np.sum(v * a, axis=1) - t - u0
    tight = np.flatnonzero(rent <= tol)
    if null.size == 0 or tight.size == 0:
        return np.zeros((0, 2), dtype=int)
    tight = tight[np.argsort(rent[tight], kind="stable")][: max(1, cap // null.size)]
    m, n = np.meshgrid(tight, null, indexing="ij")
    pairs = np.column_stack([m.reshape(-1), n.reshape(-1)])
    return pairs[pairs[:, 0] != pairs[:, 1]]


def certify_menu(values: FloatArray, prob: FloatArray, alloc: FloatArray, transfer: FloatArray, cost: FloatArray,
                 pairs: FloatArray, duals: FloatArray, ir_duals: FloatArray, conjugate: Conjugate,
                 gradient: FloatArray, audit: AuditReport, scale: float = 1.0,
                 finish: tuple[FloatArray, FloatArray, FloatArray, FloatArray] | None = None,
                 fallbacks: bool = True) -> Certificate:
    """The certificate of a solved program's menu (program units): the Lagrangian bound from the final
    program's multipliers; when it does not certify, from the multipliers of the tight rows fitted by the
    KKT LP (:func:`kkt_multipliers`), with the rows towards the null item (:func:`null_item_pairs`) as
    extra candidates. The tighter bound is kept. ``finish`` (IC pairs, multipliers, IR rows, multipliers) are
    the exact finish's multipliers (:mod:`mechdesign.engine.refine`): tried first, and kept when their gap
    is at the rounding level (:attr:`Certificate.has_margin`). ``fallbacks=False`` stops after the given
    multipliers (the fitted ones cost a least-squares fit and an LP over every candidate row: a caller that
    can still finish the menu exactly tries that first)."""
    scaled = (values, prob, alloc, transfer)
    best: Certificate | None = None
    if finish is not None:
        best = lagrangian_certificate(*scaled, cost, finish[0], finish[1], conjugate, audit, scale=scale,
                                      method="the exact finish's multipliers (Newton on the active set; IR "
                                             "multipliers from the flow balance), Lagrangian bound of the "
                                             "all-pairs program")
        if best.passed and best.has_margin:
            return best
    cert = lagrangian_certificate(*scaled, cost, pairs, duals, conjugate, audit, scale=scale,
                                  method="the final program's IC multipliers (IR multipliers from the flow "
                                         "balance), Lagrangian bound of the all-pairs program")
    if best is not None and best.bound < cert.bound:
        cert = best
    if (cert.passed and cert.has_margin) or not fallbacks:
        return cert
    pairs = np.asarray(pairs, dtype=int).reshape(-1, 2)
    extra = null_item_pairs(values, alloc, transfer, scale)
    if len(extra):
        known = set(map(tuple, pairs.tolist()))
        extra = np.array([p for p in extra.tolist() if tuple(p) not in known], dtype=int).reshape(-1, 2)
    cand = np.concatenate([pairs, extra])
    cand_duals = np.concatenate([np.asarray(duals, dtype=float), np.zeros(len(extra))])
    if finish is not None:  # the finish's rows are candidates too
        cand = np.concatenate([cand, np.asarray(finish[0], dtype=int).reshape(-1, 2)])
        cand_duals = np.concatenate([cand_duals, np.asarray(finish[1], dtype=float)])
    fitted = support_multipliers(values, prob, alloc, transfer, gradient, cand, cand_duals, scale)
    if fitted is not None:
        alt = lagrangian_certificate(*scaled, cost, cand, fitted, conjugate, audit, scale=scale,
                                     method="multipliers of the tight IC and IR rows solved exactly at the menu "
                                            "(non-negative least squares of the KKT conditions), Lagrangian bound "
                                            "of the all-pairs program")
        if alt.bound < cert.bound:
            cert = alt
        if cert.passed and cert.has_margin:
            return cert
    kkt = kkt_multipliers(*scaled, gradient, cand, scale, duals=cand_duals, ir_duals=ir_duals)
    if kkt is not None:
        alt = lagrangian_certificate(
            *scaled, cost, cand, kkt[0], conjugate, audit, scale=scale,
            method="multipliers of the tight IC rows (and rows towards the null item) fitted to the KKT "
                   f"conditions at the menu (LP; residual {kkt[1]:.1e}), Lagrangian bound of the all-pairs program")
        if alt.bound < cert.bound:
            cert = alt
    return cert


def null_menu_certificate(values: FloatArray, prob: FloatArray, audit: AuditReport, scale: float = 1.0) -> Certificate:
    r"""The certificate of the null menu when no type values anything (every :math:`v_n = 0`).

    With zero IC multipliers the flow balance gives :math:`\nu_n = f_n` and :math:`s_n = \nu_n v_n = 0`, so
    the bound is :math:`\sum_n \sup_{a\ge 0} -f_n c(a) = 0` for any cost that is non-negative and zero at
    the null item: the null menu's profit 0 is the optimum.
    """
    v = np.asarray(values, dtype=float)
    v = v[:, None] if v.ndim == 1 else v
    if np.any(v != 0):
        raise ValueError("null_menu_certificate needs every type value to be zero")
    N = v.shape[0]

    def zero(s: FloatArray, f: FloatArray) -> FloatArray:
        return np.zeros(len(f))

    return lagrangian_certificate(v, prob, np.zeros_like(v), np.zeros(N), np.zeros(N), np.zeros((0, 2), dtype=int),
                                  np.zeros(0), zero, audit, scale=scale,
                                  method="no type values anything: zero IC multipliers bound the profit by 0")
