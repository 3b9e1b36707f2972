r"""The calibration algebra (C1)-(C7): the primitives that make a posted menu optimal (BBS §4, Prop 3).

A posted menu has :math:`K \ge 2` tiers with fees :math:`T_1 < \dots < T_K` (USD per month) and
allowances :math:`A_1 < \dots < A_K` in the provider's unit (points, premium requests, AI credits, usage
relative to a base tier). Read as a **maximum-spend mechanism** (Def 1, proof of Prop 4), tier k is a
budget :math:`B_k = C(Q_k)` of tokens priced at marginal cost, so with :math:`\lambda` the (unpublished)
marginal cost in USD of one allowance unit, :math:`B_k = \lambda A_k`. The technology enters only through
its cost of quality, Lemma 3: :math:`C(Q) = C_0 Q^b` with :math:`b = 1/(\sigma+\hat\sigma) > 1`.

Algebra (all equation numbers are the paper's)
-----------------------------------------------

**(C1) Quality from budgets** (eq. 10, Lemma 3): :math:`Q_k = C^{-1}(B_k) = (\lambda A_k / C_0)^{1/b}`.
:math:`C_0` only fixes the unit of quality (:math:`\theta Q` is in USD, so rescaling :math:`Q` rescales
:math:`\theta` inversely); by default :math:`C_0 = B_K`, i.e. the top tier has :math:`Q_K = 1`.

**(C2) Types from fees.** In the discrete optimum the lowest served type's IR binds and every local
downward IC binds (the discrete form of eq. 13: :math:`U_1 = 0`, :math:`U_k = U_{k-1} +
(\theta_k - \theta_{k-1})Q_{k-1}`, :math:`t_k = \theta_k Q_k - U_k`), which is equivalent to

.. math:: \theta_1 Q_1 = T_1, \qquad \theta_k (Q_k - Q_{k-1}) = T_k - T_{k-1}.

**(C3) Virtual values from optimality** (eq. 12 without ironing): :math:`\varphi_k = C'(Q_k) = b B_k / Q_k`.

**(C4) The cost scale.** No distortion at the top, :math:`\theta_K = C'(Q_K)`, pins :math:`\lambda`.
Substituting (C1)-(C3), the factor :math:`(\lambda/C_0)^{1/b}` cancels from both sides and

.. math:: \lambda = \frac{T_K - T_{K-1}}{b\,A_K\,\big[1 - (A_{K-1}/A_K)^{1/b}\big]}, \qquad
          B_K = \lambda A_K,

so the dollar value of the top budget is identified from the top fee increment and the top allowance
ratio alone: the allowance unit sets the scale only through :math:`\lambda`. (When :math:`\lambda` is
given instead, the top condition is an over-identifying restriction and is tested.)

**(C5) Markups** (eq. 14 and the proof of Prop 4): the two-part-tariff markup
:math:`m_k = \theta_k / C'(Q_k)` and the minimum-spend markup :math:`r_k = T_k / C(Q_k) = T_k / B_k`
(revenue over cost). With :math:`D_k = b A_k[1 - (A_{k-1}/A_k)^{1/b}]` (:math:`A_0 = 0`, so
:math:`\lambda D_k = C'(Q_k)(Q_k - Q_{k-1})`),

.. math:: m_k = \frac{(T_k - T_{k-1})/D_k}{(T_K - T_{K-1})/D_K}, \qquad m_K = 1.

**(C6) Masses.** The discrete virtual value (discrete eq. 11) is :math:`\varphi_k = \theta_k -
(\theta_{k+1}-\theta_k) S_{k+1}/f_k` with the tail mass :math:`S_{k+1} = \sum_{j>k} f_j`. With (C3):

.. math:: h_k \equiv \frac{f_k}{S_{k+1}} = \frac{\theta_{k+1} - \theta_k}{\theta_k - C'(Q_k)}, \qquad
          \frac{S_k}{S_{k+1}} = 1 + h_k, \qquad f_K = S_K = \prod_{k<K} (1+h_k)^{-1},\ f_k = h_k S_{k+1}.

The masses are shares among subscribers: excluded types below :math:`\theta_1` do not enter any
:math:`\varphi_k` (only the mass above a type does), so the non-subscribing mass is not identified.

**(C7) Restrictions.** The menu is the optimum of the calibrated primitives iff

* IC: :math:`\theta_1 < \theta_2 < \dots < \theta_K` (with the local downward ICs binding and quality
  increasing, this gives every IC), and :math:`\theta_1 > 0`, i.e. :math:`T_1 > 0`;
* distortion below the top: :math:`\theta_k > C'(Q_k)`, i.e. :math:`m_k > 1`, for :math:`k < K`.

Together they make every :math:`h_k > 0` (positive masses); then :math:`\varphi_k = C'(Q_k)` is increasing
and positive (no ironing, no exclusion), so the exact discrete optimum (Prop 3, discrete; see
:mod:`mechdesign.analytic.monopoly`) of :math:`(\theta, f, C)` is :math:`(Q_k, T_k)`: the round trip.
Both restrictions are free of :math:`\lambda` and :math:`C_0`: :math:`\theta_{k+1}/\theta_k =
[(T_{k+1}-T_k)/(T_k-T_{k-1})]\,[(A_k^{1/b} - A_{k-1}^{1/b})/(A_{k+1}^{1/b} - A_k^{1/b})]` and
:math:`m_k` above depend on :math:`b` only. So the **identified set** is a set of cost exponents, found by
a scan over :math:`\sigma+\hat\sigma = 1/b \in (0, 1)` and bisection at each sign change of the smallest
slack. Corollary: a menu with a constant price per unit (:math:`T_k = pA_k`) is never consistent, for any
:math:`b`: :math:`m_1 = (1-\rho^{1/b})/(1-\rho) < 1` with :math:`\rho = A_{K-1}/A_K`, since the bottom tier
must carry the highest markup.

Since the restrictions are linear in the fees for a given :math:`b`, the **nearest consistent menu**
(least squares in relative fees, the allowances kept) is a small quadratic program, solved by SLSQP.

**Profit and consumer surplus** per subscriber: :math:`\sum_k f_k (T_k - B_k)` and
:math:`\sum_k f_k(\theta_k Q_k - T_k)` (USD per month).

Pricing formats and counterfactuals built on the result: :mod:`mechdesign.analytic.calibration.pricing`,
:mod:`mechdesign.analytic.calibration.counterfactual`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import optimize

from ... import _validate as V
from ...exceptions import ProblemSpecError
from ...technology import Technology, cobb_douglas
from ...types import DiscreteTypes
from ..monopoly import discrete_menu
from .consistency import (
    NearestMenu,
    Restriction,
    _checked,
    _exponent,
    _restrictions,
    allowance_factors,
    nearest_consistent_menu,
)
from .data import FloatArray, ObservedMenu, _sorted_tiers
from .identified import DEFAULT_SIGMA_TOTAL, IdentifiedSet, identified_set

#: what a posted menu cannot reveal about pooling (said in every result and its notes)
POOLING_NOTE = (
    "each tier is read as one type (C2): if several types pool on one tier (ironing, eq. 12), the "
    "calibration sees one type at the pool's lowest theta carrying the pool's whole mass; pooling is not "
    "identified from one posted menu, so theta and the masses are those of the tiers"
)


@dataclass(frozen=True)
class CalibrationResult:
    r"""Primitives implied by a posted menu (C1-C6), the restrictions (C7) and the verdict.

    Money is in USD per month per subscriber; quality in units with :math:`C(Q) = C_0 Q^b` (default
    :math:`C_0 = B_K`, i.e. :math:`Q_K = 1`); ``theta`` in USD per unit of quality.
    """

    menu: ObservedMenu
    names: list[str]
    fees: FloatArray
    allowances: FloatArray
    cost_exponent: float
    cost_exponent_source: str
    cost_scale: float
    cost_scale_source: str
    C0: float
    technology: Technology
    budget: FloatArray
    quality: FloatArray
    theta: FloatArray
    marginal_cost: FloatArray
    m: FloatArray
    r: FloatArray
    tail_ratio: FloatArray
    masses: FloatArray
    restrictions: list[Restriction]
    identified: IdentifiedSet | None
    nearest: NearestMenu | None
    notes: list[str]

    @property
    def sigma_total(self) -> float:
        r""":math:`\sigma + \hat\sigma = 1/b`."""
        return 1.0 / self.cost_exponent

    @property
    def consistent(self) -> bool:
        return all(r.holds for r in self.restrictions)

    @property
    def failures(self) -> list[Restriction]:
        return [r for r in self.restrictions if not r.holds and r.kind != "masses"]

    @property
    def virtual_values(self) -> FloatArray:
        r""":math:`\varphi_k = C'(Q_k)` (C3)."""
        return self.marginal_cost

    @property
    def cost(self) -> FloatArray:
        return self.budget

    @property
    def rent(self) -> FloatArray:
        return self.theta * self.quality - self.fees

    @property
    def profit(self) -> float:
        """Expected profit per subscriber, :math:`\\sum f_k (T_k - B_k)` (nan if the masses are invalid)."""
        return float(self.masses @ (self.fees - self.budget)) if self._masses_ok else float("nan")

    @property
    def consumer_surplus(self) -> float:
        return float(self.masses @ self.rent) if self._masses_ok else float("nan")

    @property
    def surplus(self) -> float:
        return self.profit + self.consumer_surplus

    @property
    def _masses_ok(self) -> bool:
        return bool(np.all(np.isfinite(self.masses)) and np.all(self.masses > 0))

    def types(self) -> DiscreteTypes:
        """The calibrated discrete types (raises ProblemSpecError when the menu is inconsistent)."""
        if not self.consistent:
            fail = self.failures[0] if self.failures else self.restrictions[-1]
            raise ProblemSpecError(
                f"tier {fail.tier!r}", fail.value, "the menu is inconsistent: " + fail.message
            )
        return DiscreteTypes(self.theta, self.masses)

    def primitives(self) -> tuple[Technology, DiscreteTypes]:
        """``(technology, types)`` whose optimal menu is the posted one (consistent menus only)."""
        return self.technology, self.types()

    def verdict(self) -> str:
        head = (
            f"b = {self.cost_exponent:.6g} (sigma + sigma_hat = {self.sigma_total:.6g}, "
            f"{self.cost_exponent_source})"
        )
        if self.consistent:
            return f"CONSISTENT at {head}: the posted menu is the optimal menu of the calibrated primitives"
        fails = "; ".join(r.message for r in self.failures) or self.restrictions[-1].message
        return f"INCONSISTENT at {head}: {fails}"

    def table(self) -> pd.DataFrame:
        """One row per tier: fee, allowance, budget, Q, theta, C'(Q), m, r, tail ratio, mass, rent."""
        return pd.DataFrame(
            {
                "tier": self.names,
                "fee": self.fees,
                "allowance": self.allowances,
                "budget_usd": self.budget,
                "quality": self.quality,
                "theta": self.theta,
                "virtual_value": self.marginal_cost,
                "m": self.m,
                "r": self.r,
                "tail_ratio": self.tail_ratio,
                "mass": self.masses,
                "rent": self.rent,
                "profit_per_buyer": self.fees - self.budget,
            }
        )

    def summary(self) -> str:
        lines = [
            f"Calibration of {self.menu.name} ({self.menu.K} tiers, unit: {self.menu.unit})",
            (
                f"cost exponent b = {self.cost_exponent:.6g}  (sigma + sigma_hat = {self.sigma_total:.6g}; "
                f"{self.cost_exponent_source})"
            ),
            (
                f"cost scale lambda = {self.cost_scale:.6g} USD of marginal cost per unit ({self.menu.unit}; "
                f"{self.cost_scale_source}); top budget B_K = {self.budget[-1]:.6g} USD; C0 = {self.C0:.6g}"
            ),
        ]
        with pd.option_context(
            "display.width", 160, "display.max_columns", 20, "display.float_format", "{:.6g}".format
        ):
            lines.append(self.table().to_string(index=False))
        if self._masses_ok:
            lines.append(
                f"profit {self.profit:.6g} USD, consumer surplus {self.consumer_surplus:.6g} USD "
                "per subscriber-month"
            )
        if self.identified is not None:
            lines.append("identified set: " + self.identified.describe())
        lines.append(self.verdict())
        if self.nearest is not None:
            lines.append("nearest consistent menu (fees; allowances kept):")
            lines.append(self.nearest.table().to_string(index=False, float_format=lambda v: f"{v:.6g}"))
        lines.extend("note: " + n for n in self.notes)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready result."""
        tab = self.table()
        return {
            "menu": self.menu.describe(),
            "cost_exponent": self.cost_exponent,
            "sigma_total": self.sigma_total,
            "cost_exponent_source": self.cost_exponent_source,
            "cost_scale": self.cost_scale,
            "cost_scale_source": self.cost_scale_source,
            "C0": self.C0,
            "tiers": [
                {k: (v if not isinstance(v, float) or np.isfinite(v) else None) for k, v in row.items()}
                for row in tab.to_dict(orient="records")
            ],
            "profit": self.profit if self._masses_ok else None,
            "consumer_surplus": self.consumer_surplus if self._masses_ok else None,
            "consistent": self.consistent,
            "verdict": self.verdict(),
            "restrictions": [r.to_dict() for r in self.restrictions],
            "identified_set": None if self.identified is None else self.identified.to_dict(),
            "nearest_menu": None
            if self.nearest is None
            else {
                "fees": self.nearest.fees.tolist(),
                "distance": self.nearest.distance,
                "margin": self.nearest.margin,
                "note": self.nearest.note,
            },
            "pooling": POOLING_NOTE,
            "notes": self.notes,
        }


def _implied(
    T: FloatArray, A: FloatArray, b: float, lam: float | None, C0: float | None
) -> tuple[float, float, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """(C1)-(C6): cost scale, C0, budgets, Q, theta, C'(Q), tail ratios and masses."""
    dT = np.diff(np.concatenate([[0.0], T]))
    D = allowance_factors(A, b)
    if lam is None:
        lam = float(dT[-1] / D[-1])  # (C4)
    B = lam * A
    if C0 is None:
        C0 = float(B[-1])
    Q = (B / C0) ** (1.0 / b)  # (C1)
    theta = dT / np.diff(np.concatenate([[0.0], Q]))  # (C2)
    mc = b * B / Q  # (C3): C'(Q) = b C0 Q^(b-1) = b C(Q)/Q
    with np.errstate(divide="ignore", invalid="ignore"):
        h = (theta[1:] - theta[:-1]) / (theta[:-1] - mc[:-1])  # (C6)
    tail_ratio = np.append(1.0 + h, np.nan)
    S = np.ones(T.size)
    for k in range(T.size - 2, -1, -1):
        S[k] = S[k + 1] * (1.0 + h[k])
    with np.errstate(divide="ignore", invalid="ignore"):
        S = S / S[0]
        f = np.append(h * S[1:], S[-1])
    return lam, C0, B, Q, theta, mc, tail_ratio, f


def _usd_unit_note(T: FloatArray, A: FloatArray, b: float, lam: float) -> str:
    r"""What the unit "USD of marginal cost" (:math:`\lambda = 1` by definition) says against (C4)."""
    msg = (
        f"the unit 'USD of marginal cost' states lambda = 1, but the top's no-distortion condition (C4) "
        f"identifies lambda = {lam:.6g} at b = {b:.6g}"
    )
    if abs(lam - 1.0) <= 1e-9:
        return msg + ": the two agree"
    # lambda(b) = dT_K / D_K(b) is increasing in sigma + sigma_hat (D_K decreasing), so lambda = 1 at most once
    dTK = float(T[-1] - T[-2])

    def g(s: float) -> float:
        return float(dTK / allowance_factors(A, 1.0 / s)[-1]) - 1.0

    where = ""
    lo, hi = 1e-6, 1 - 1e-9
    if g(lo) < 0 < g(hi):
        s1 = optimize.brentq(g, lo, hi, xtol=1e-14)
        where = f"; lambda = 1 at sigma + sigma_hat = {s1:.6g} (b = {1 / s1:.6g})"
    else:
        where = "; no sigma + sigma_hat in (0, 1) gives lambda = 1, so these allowances cannot be budgets in USD"
    return (
        msg
        + where
        + ". Give --cost-scale 1 (cost_scale=1.0) to test lambda = 1 as a restriction, or state the "
        "allowances in another unit"
    )


def calibrate(
    menu: ObservedMenu,
    cost_exponent: float | None = None,
    *,
    sigma_total: float | None = None,
    technology: Technology | None = None,
    cost_scale: float | None = None,
    C0: float | None = None,
    nearest: bool = True,
    identify: bool | None = None,
) -> CalibrationResult:
    r"""Calibrate a posted menu to the discrete single-model screening model (module docstring, C1-C7).

    Parameters
    ----------
    menu : ObservedMenu
        Tiers with fees and allowances (:func:`load_observed`).
    cost_exponent : float, optional
        :math:`b = 1/(\sigma+\hat\sigma) > 1` (Lemma 3). Alternatively ``sigma_total`` (:math:`1/b`) or a
        homogeneous ``technology`` (its exponent and :math:`C_0`). When none is given, the identified set
        is computed and :math:`b` is taken at the midpoint (in :math:`\sigma+\hat\sigma`) of its widest
        interval, or at :data:`DEFAULT_SIGMA_TOTAL` when it is empty.
    cost_scale : float, optional
        :math:`\lambda`, marginal cost in USD of one allowance unit. Default: identified by (C4); when
        given, the top's no-distortion condition becomes a tested restriction.
    C0 : float, optional
        Unit of quality (:math:`C(Q) = C_0 Q^b`); default :math:`B_K` (so :math:`Q_K = 1`), or the
        technology's :math:`C_0`.
    nearest : bool
        Compute the nearest consistent menu (in fees) when the menu is inconsistent.
    identify : bool, optional
        Compute the identified set (default: when no exponent is given).

    Raises
    ------
    ProblemSpecError
        Bad input: fewer than 2 tiers, a missing or non-positive allowance, a dominated tier (lower
        allowance but not a lower fee), an unknown unit, conflicting exponent options.
    """
    T, A, names = _checked(menu)
    b = _exponent(cost_exponent, sigma_total, technology)
    lam = None if cost_scale is None else V.positive("cost_scale", cost_scale)
    notes: list[str] = []
    ident = None
    if identify or (identify is None and b is None):
        ident = identified_set(menu, lam)
    if b is None:
        assert ident is not None
        mid = ident.midpoint()
        if mid is None:
            b = 1.0 / DEFAULT_SIGMA_TOTAL
            source = f"default sigma + sigma_hat = {DEFAULT_SIGMA_TOTAL} (the identified set is empty)"
        else:
            b, source = 1.0 / mid, "midpoint of the identified set"
    else:
        source = "technology" if technology is not None else "given"
    if technology is not None and C0 is None:
        C0 = technology.C0
    if C0 is not None:
        C0 = V.positive("C0", C0)
    lam_v, C0_v, B, Q, theta, mc, tail, f = _implied(T, A, b, lam, C0)
    tech = technology if technology is not None else cobb_douglas([1.0 / b], [C0_v])
    restr = _restrictions(names, T, theta, mc, f, lam is not None)
    near = None
    if not all(np.isfinite(v).all() for v in (B, Q, theta, mc)):
        raise ProblemSpecError(
            "menu",
            menu.name,
            f"overflows floating point at b = {b:.6g} (fees up to {T.max():.3g} USD, allowances up to "
            f"{A.max():.3g} {menu.unit}): state the fees in USD and the allowances in a larger unit",
        )
    if nearest and not all(r.holds for r in restr):
        # the verdict stands on its own: the projection reports what it can, never replaces the verdict
        near = nearest_consistent_menu(menu, b, lam)
        if near is None:
            notes.append(
                f"no nearest consistent menu: at b = {b:.6g} the allowances are too close for (C7) to hold "
                "by a margin above floating-point resolution (max_margin)"
            )
        elif near.note:
            notes.append("nearest consistent menu: " + near.note)
    notes.append(POOLING_NOTE)
    if menu.unit == "USD of marginal cost" and lam is None:
        notes.append(_usd_unit_note(T, A, b, float(lam_v)))
    if menu.billing == "overage" and menu.overage_price is None:
        notes.append(
            "the overage price per allowance unit is unknown (not published in this unit): the posted "
            "overage cannot be set against the minimum-spend prices T_k/A_k that implement this menu (Def 2), "
            "so whether overage is priced above or below them is not identified"
        )
    if menu.unit == "relative usage":
        notes.append(
            "allowances are relative to the lowest tier, so lambda is the marginal cost of the "
            "lowest tier's whole allowance"
        )
    notes.append("masses are shares among subscribers; the mass of non-subscribers is not identified (C6)")
    return CalibrationResult(
        menu,
        names,
        T,
        A,
        float(b),
        source,
        float(lam_v),
        "given" if lam is not None else "top no-distortion (C4)",
        float(C0_v),
        tech,
        B,
        Q,
        theta,
        mc,
        theta / mc,
        T / B,
        tail,
        f,
        restr,
        ident,
        near,
        notes,
    )


def calibrate_fees(menu: ObservedMenu, fees: Sequence[float] | np.ndarray) -> ObservedMenu:
    """The menu with new fees (same tiers and allowances), e.g. the nearest consistent menu."""
    fees = V.vector("fees", fees, length=menu.K)
    tiers = tuple(replace(t, fee=float(f)) for t, f in zip(_sorted_tiers(menu.tiers), fees, strict=True))
    return replace(menu, tiers=tiers)


def round_trip_analytic(res: CalibrationResult) -> dict[str, float]:
    """Relative errors of the exact discrete optimum of the calibrated primitives against the posted menu.

    Uses the closed form :func:`mechdesign.analytic.monopoly.discrete_menu` (no solver); the solver round
    trip lives in :mod:`mechdesign.calibrate_cli`.
    """
    tech, types = res.primitives()
    dm = discrete_menu(tech, types)
    return {
        "quality": float(np.max(np.abs(dm.quality - res.quality) / res.quality)),
        "transfer": float(np.max(np.abs(dm.transfer - res.fees) / res.fees)),
        "profit": abs(dm.profit - res.profit) / abs(res.profit),
    }
