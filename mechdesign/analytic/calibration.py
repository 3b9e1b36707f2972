r"""Calibrating a posted price menu to the single-model screening model (BBS §4, Prop 3, discrete types).

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

Implementations and counterfactuals
-----------------------------------

Every format is simulated type by type (ties broken toward the seller), never assumed. A buyer at an item
``(F, p, Q0, cap)`` pays :math:`F + p\,\max(0, C(Q) - C(Q_0))` for :math:`Q \in [Q_0, \text{cap}]`
(token prices :math:`p` times marginal cost beyond the included quality :math:`Q_0`): maximum spend
(:math:`F = T_k`, :math:`Q_0 = \text{cap} = Q_k`), minimum spend (:math:`F = T_k`, :math:`p = r_k`,
:math:`Q_0 = Q_k` since :math:`r_k C(Q_k) = T_k`), an allowance with a flat overage price :math:`p_o`
(:math:`p = p_o/\lambda`; Copilot), and two-part tariffs with or without quantity caps.

**Capped two-part tariffs** (fee :math:`F_k`, per-token price :math:`p_k` times marginal cost, cap
:math:`Q_k`): with :math:`F_k = T_k - p_k C(Q_k)`, every type whose unconstrained demand at
:math:`p_k` reaches the cap gets exactly :math:`\theta Q_k - T_k` from tariff k, its payoff from item k of
the direct menu. With ``pricing="floor"``, :math:`p_k = \theta_{\min}/C'(Q_k)` (lowest served type), the
cap binds for every served type, so the direct menu's IC and IR carry over and the discrete optimum is
reproduced exactly; types below :math:`\theta_{\min}` get at most :math:`\theta_{\min}Q_k - T_k \le 0`.
With ``pricing="markup"``, :math:`p_k = m_k` (eq. 14 at the lowest type buying item k); this is exact
when the :math:`m_k` are non-increasing (Prop 4's condition; a type :math:`\theta_j \in [\theta_i,
\theta_{i+1}]` on tariff k then demands at least :math:`Q_i`). Without caps a two-part menu never
reproduces a discrete optimum: type :math:`k+1` on tariff k buys beyond :math:`Q_k` and gets
:math:`U_k + \int_{\theta_k}^{\theta_{k+1}} Q^k(s)ds > U_k + (\theta_{k+1}-\theta_k)Q_k = U_{k+1}`.

Pure economics: numpy, scipy and pandas only (matplotlib inside the plot functions); no conic solver.
"""

from __future__ import annotations

import itertools
import math
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from .. import _validate as V
from ..exceptions import ProblemFileError, ProblemSpecError
from ..technology import Technology, cobb_douglas
from ..types import DiscreteTypes
from .leader_fringe import LeaderFringe
from .monopoly import discrete_menu
from .multimodel import ModelSpec, MultiModel

FloatArray = np.ndarray

#: allowance units a menu file may use
UNITS = (
    "points",
    "premium requests",
    "AI credits",
    "relative usage",
    "messages",
    "requests",
    "tokens",
    "USD of marginal cost",
)
#: how a menu treats usage beyond the allowance
BILLING = ("hard-cap", "overage", "unknown")
#: sigma + sigma_hat used when no cost exponent is given and the identified set is empty (BBS Fig. 1: 1/2)
DEFAULT_SIGMA_TOTAL = 0.5
#: strict inequalities of (C7) must hold by this relative margin
CONSISTENCY_RTOL = 1e-9
#: the nearest consistent menu satisfies (C7) with this relative margin
NEAREST_MARGIN = 1e-3
#: scan of sigma + sigma_hat for the identified set
SCAN_LO, SCAN_HI, SCAN_N = 0.01, 0.99, 197
#: payoffs within this share of the largest gross payoff are ties (broken toward the seller)
TIE_RTOL = 1e-10
#: brute-force block menus up to this many types
MAX_BLOCK_TYPES = 14


# ---------------------------------------------------------------------------------------------- data
@dataclass(frozen=True)
class Tier:
    """One posted tier: name, monthly fee (USD), allowance in the menu's unit (None if not published)."""

    name: str
    fee: float
    allowance: float | None
    unit: str
    source: str = ""
    effective_date: str = ""
    note: str = ""


@dataclass(frozen=True)
class ModelCost:
    """What one model interaction costs in allowance units (Poe points per message, Copilot multipliers)."""

    klass: str
    models: tuple[str, ...]
    cost: float | None
    cost_range: tuple[float, float] | None
    unit: str
    source: str = ""
    effective_date: str = ""


@dataclass(frozen=True)
class ObservedMenu:
    """A posted price page: tiers sorted by allowance, the unit and its conversion, billing rules."""

    name: str
    tiers: tuple[Tier, ...]
    unit: str
    unit_conversion: str = ""
    billing: str = "unknown"
    billing_notes: str = ""
    overage_price: float | None = None
    usd_per_unit: float | None = None
    provider: str = ""
    product: str = ""
    source: str = ""
    effective_date: str = ""
    extra_tiers: tuple[Tier, ...] = ()
    model_costs: tuple[ModelCost, ...] = ()
    path: str = ""

    @property
    def K(self) -> int:
        """Number of tiers."""
        return len(self.tiers)

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.tiers]

    @property
    def fees(self) -> FloatArray:
        return np.array([t.fee for t in self.tiers], dtype=float)

    @property
    def allowances(self) -> FloatArray:
        """Allowances (``nan`` where not published)."""
        return np.array([np.nan if t.allowance is None else t.allowance for t in self.tiers], dtype=float)

    @classmethod
    def from_tiers(
        cls,
        name: str,
        fees: Sequence[float],
        allowances: Sequence[float | None],
        unit: str = "USD of marginal cost",
        tier_names: Sequence[str] | None = None,
        **kwargs: object,
    ) -> ObservedMenu:
        """A menu from plain lists (tiers given in any order; they are sorted by allowance and checked)."""
        unit = V.one_of("menu.unit", unit, UNITS)
        if len(fees) != len(allowances):
            raise ProblemSpecError(
                "menu.fees", list(fees), f"must have one fee per allowance ({len(allowances)})"
            )
        names = list(tier_names) if tier_names is not None else [f"Tier {i + 1}" for i in range(len(fees))]
        tiers = tuple(
            Tier(str(n), float(f), None if a is None else float(a), unit)
            for n, f, a in zip(names, fees, allowances, strict=True)
        )
        return cls(name=name, tiers=_sorted_tiers(tiers), unit=unit, **kwargs)  # type: ignore[arg-type]

    def with_allowances(self, allowances: Mapping[str, float], note: str = "assumed") -> ObservedMenu:
        """The menu with some tiers' allowances set (an explicit assumption, e.g. OpenAI's Pro multiple)."""
        known = set(self.names)
        for key, val in allowances.items():
            if key not in known:
                raise ProblemSpecError(
                    "allowance", key, "must name a tier: " + ", ".join(repr(n) for n in self.names)
                )
            V.positive(f"allowance of tier {key!r}", val)
        tiers = tuple(
            replace(
                t,
                allowance=float(allowances[t.name]),
                note=(t.note + "; " if t.note else "") + f"allowance {note}",
            )
            if t.name in allowances
            else t
            for t in self.tiers
        )
        return replace(self, tiers=_sorted_tiers(tiers))

    def paid_tiers(self) -> ObservedMenu:
        """The menu without zero-fee tiers (a free tier is a loss leader outside the model, see (C7))."""
        tiers = tuple(t for t in self.tiers if t.fee > 0)
        return replace(self, name=self.name + " (paid tiers)", tiers=tiers)

    def describe(self) -> dict[str, object]:
        """JSON-ready facts."""
        return {
            "name": self.name,
            "provider": self.provider,
            "product": self.product,
            "source": self.source,
            "effective_date": self.effective_date,
            "unit": self.unit,
            "unit_conversion": self.unit_conversion,
            "billing": self.billing,
            "billing_notes": self.billing_notes,
            "overage_price": self.overage_price,
            "usd_per_unit": self.usd_per_unit,
            "tiers": [
                {"name": t.name, "fee": t.fee, "allowance": t.allowance, "note": t.note} for t in self.tiers
            ],
        }


def _sorted_tiers(tiers: tuple[Tier, ...]) -> tuple[Tier, ...]:
    # unknown allowances keep their place after the known ones of lower fee
    return tuple(sorted(tiers, key=lambda t: (math.inf if t.allowance is None else t.allowance, t.fee)))


def _str(table: Mapping[str, object], key: str, where: str, required: bool = True) -> str:
    val = table.get(key)
    if val is None:
        if required:
            raise ProblemSpecError(
                f"{where}.{key}", None, "is missing: every entry needs it (facts with sources)"
            )
        return ""
    if not isinstance(val, str) or (required and not val.strip()):
        raise ProblemSpecError(f"{where}.{key}", val, "must be a non-empty string")
    return val


def _num(table: Mapping[str, object], key: str, where: str, required: bool = True) -> float | None:
    val = table.get(key)
    if val is None:
        if required:
            raise ProblemSpecError(f"{where}.{key}", None, "is missing")
        return None
    if isinstance(val, bool):
        raise ProblemSpecError(f"{where}.{key}", val, "must be a number")
    return V.as_float(f"{where}.{key}", val)


def _only(table: Mapping[str, object], allowed: tuple[str, ...], where: str) -> None:
    extra = sorted(set(table) - set(allowed))
    if extra:
        raise ProblemSpecError(
            f"{where}.{extra[0]}", table[extra[0]], "is not a known key; allowed: " + ", ".join(allowed)
        )


_TIER_KEYS = ("name", "fee", "allowance", "unit", "note", "source", "effective_date")


def _tier(raw: object, where: str, unit: str) -> Tier:
    if not isinstance(raw, Mapping):
        raise ProblemSpecError(where, raw, "must be a table ([[tiers]])")
    _only(raw, _TIER_KEYS, where)
    name = _str(raw, "name", where)
    where = f"{where} ({name!r})"
    fee = _num(raw, "fee", where)
    assert fee is not None
    if fee < 0:
        raise ProblemSpecError(f"{where}.fee", fee, "must be >= 0 (USD per month)")
    allowance = _num(raw, "allowance", where, required=False)
    tunit = _str(raw, "unit", where, required=False) or unit
    if tunit != unit:
        raise ProblemSpecError(f"{where}.unit", tunit, f"must equal the menu's unit {unit!r}")
    return Tier(
        name,
        fee,
        allowance,
        unit,
        _str(raw, "source", where),
        _str(raw, "effective_date", where),
        _str(raw, "note", where, required=False),
    )


def _model_cost(raw: object, where: str) -> ModelCost:
    if not isinstance(raw, Mapping):
        raise ProblemSpecError(where, raw, "must be a table ([[model_costs]])")
    _only(raw, ("class", "models", "cost", "cost_range", "unit", "source", "effective_date"), where)
    models = raw.get("models")
    if not isinstance(models, list) or not models or not all(isinstance(m, str) for m in models):
        raise ProblemSpecError(f"{where}.models", models, "must be a non-empty list of model names")
    cost = _num(raw, "cost", where, required=False)
    rng = raw.get("cost_range")
    cost_range = None
    if rng is not None:
        arr = V.vector(f"{where}.cost_range", rng, length=2)
        cost_range = (float(arr[0]), float(arr[1]))
    if (cost is None) == (cost_range is None):
        raise ProblemSpecError(f"{where}.cost", cost, "give exactly one of cost and cost_range")
    return ModelCost(
        _str(raw, "class", where),
        tuple(models),
        cost,
        cost_range,
        _str(raw, "unit", where),
        _str(raw, "source", where),
        _str(raw, "effective_date", where),
    )


def _read_toml(path: str | Path) -> dict[str, object]:
    p = Path(path)
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ProblemFileError(f"menu file not found: {p}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProblemFileError(f"{p} is not valid TOML: {exc}") from None


def load_observed(path: str | Path) -> ObservedMenu:
    """Read an observed price page (``problems/observed/*.toml``, table ``[menu]`` and ``[[tiers]]``).

    Every key is checked; every tier and model-cost entry must carry ``source`` and ``effective_date``.
    Tiers are returned sorted by allowance. A tier may omit ``allowance`` when it is not published
    (set it explicitly with :meth:`ObservedMenu.with_allowances` before calibrating).
    """
    raw = _read_toml(path)
    if "prices" in raw and "menu" not in raw:
        raise ProblemSpecError(
            "menu", str(path), "is missing: this is an API price list; use load_api_prices"
        )
    _only(raw, ("menu", "tiers", "extra_tiers", "model_costs"), "file")
    menu = raw.get("menu")
    if not isinstance(menu, Mapping):
        raise ProblemSpecError("menu", menu, "must be a table [menu] naming the price page")
    keys = (
        "name",
        "provider",
        "product",
        "source",
        "effective_date",
        "unit",
        "unit_conversion",
        "billing",
        "billing_notes",
        "overage_price",
        "usd_per_unit",
    )
    _only(menu, keys, "menu")
    unit = V.one_of("menu.unit", menu.get("unit"), UNITS)
    billing = V.one_of("menu.billing", menu.get("billing", "unknown"), BILLING)
    overage = _num(menu, "overage_price", "menu", required=False)
    if overage is not None:
        V.positive("menu.overage_price", overage)
    usd = _num(menu, "usd_per_unit", "menu", required=False)
    if usd is not None:
        V.positive("menu.usd_per_unit", usd)
    tiers_raw = raw.get("tiers")
    if not isinstance(tiers_raw, list) or not tiers_raw:
        raise ProblemSpecError("tiers", tiers_raw, "must be a non-empty array of tables [[tiers]]")
    tiers = tuple(_tier(t, f"tiers[{i}]", unit) for i, t in enumerate(tiers_raw))
    extra_raw: list[Any] = list(raw.get("extra_tiers", []) or [])  # type: ignore[call-overload]
    costs_raw: list[Any] = list(raw.get("model_costs", []) or [])  # type: ignore[call-overload]
    extra = tuple(_tier(t, f"extra_tiers[{i}]", unit) for i, t in enumerate(extra_raw))
    costs = tuple(_model_cost(m, f"model_costs[{i}]") for i, m in enumerate(costs_raw))
    return ObservedMenu(
        name=_str(menu, "name", "menu"),
        tiers=_sorted_tiers(tiers),
        unit=unit,
        unit_conversion=_str(menu, "unit_conversion", "menu"),
        billing=billing,
        billing_notes=_str(menu, "billing_notes", "menu", required=False),
        overage_price=overage,
        usd_per_unit=usd,
        provider=_str(menu, "provider", "menu", required=False),
        product=_str(menu, "product", "menu", required=False),
        source=_str(menu, "source", "menu"),
        effective_date=_str(menu, "effective_date", "menu"),
        extra_tiers=extra,
        model_costs=costs,
        path=str(path),
    )


def load_api_prices(path: str | Path) -> pd.DataFrame:
    """Read an API price list (``[prices]``, ``[[models]]``): one row per model, USD per million tokens.

    Columns ``provider, model, input, output, source, effective_date`` plus ``c_input``/``c_output`` in
    USD per token (usable as token-class marginal costs ``c``, BBS §2.1).
    """
    raw = _read_toml(path)
    head = raw.get("prices")
    if not isinstance(head, Mapping):
        raise ProblemSpecError(
            "prices", head, "must be a table [prices] (is this a menu file? use load_observed)"
        )
    if head.get("unit") != "USD per million tokens":
        raise ProblemSpecError("prices.unit", head.get("unit"), "must be 'USD per million tokens'")
    rows = []
    models_raw: list[Any] = list(raw.get("models", []) or [])  # type: ignore[call-overload]
    for i, m in enumerate(models_raw):
        where = f"models[{i}]"
        if not isinstance(m, Mapping):
            raise ProblemSpecError(where, m, "must be a table [[models]]")
        _only(m, ("provider", "model", "input", "output", "note", "source", "effective_date"), where)
        inp, out = _num(m, "input", where), _num(m, "output", where)
        assert inp is not None and out is not None
        V.positive(f"{where}.input", inp)
        V.positive(f"{where}.output", out)
        rows.append(
            {
                "provider": _str(m, "provider", where),
                "model": _str(m, "model", where),
                "input": inp,
                "output": out,
                "c_input": inp * 1e-6,
                "c_output": out * 1e-6,
                "source": _str(m, "source", where),
                "effective_date": _str(m, "effective_date", where),
            }
        )
    if not rows:
        raise ProblemSpecError("models", None, "must list at least one model")
    return pd.DataFrame(rows)


def api_costs(prices: pd.DataFrame, model: str) -> FloatArray:
    """Token-class marginal costs ``[c_input, c_output]`` (USD per token) of one model of the price list."""
    hit = prices[prices["model"] == model]
    if hit.empty:
        raise ProblemSpecError(
            "model", model, "must be one of " + ", ".join(repr(m) for m in prices["model"])
        )
    return hit[["c_input", "c_output"]].to_numpy(dtype=float)[0]


def api_technology(prices: pd.DataFrame, model: str, exponents: Sequence[float] = (0.3, 0.2)) -> Technology:
    r"""A Cobb-Douglas technology :math:`x_{in}^{a}x_{out}^{b}` whose token costs are the model's API prices.

    The exponents are an assumption (default ``(0.3, 0.2)``, the shipped problems'; sigma = their sum).
    """
    return cobb_douglas(list(exponents), api_costs(prices, model))


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
    for i, t in enumerate(menu.tiers):
        where = f"tiers[{i}] ({t.name!r})"
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


def _D(A: FloatArray, b: float) -> FloatArray:
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
    D = _D(A, b)
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


# -------------------------------------------------------------------------------- identified set
@dataclass(frozen=True)
class IdentifiedSet:
    r"""The cost exponents :math:`b = 1/(\sigma+\hat\sigma)` at which the posted menu can be optimal."""

    intervals_sigma_total: list[tuple[float, float]]
    grid_sigma_total: FloatArray = field(repr=False)
    margin: FloatArray = field(repr=False)
    binding: list[str] = field(repr=False)

    @property
    def empty(self) -> bool:
        return not self.intervals_sigma_total

    @property
    def intervals_cost_exponent(self) -> list[tuple[float, float]]:
        return [(1.0 / hi, 1.0 / lo) for lo, hi in self.intervals_sigma_total]

    def midpoint(self) -> float | None:
        """Midpoint in sigma + sigma_hat of the widest interval (None if empty)."""
        if self.empty:
            return None
        lo, hi = max(self.intervals_sigma_total, key=lambda iv: iv[1] - iv[0])
        return 0.5 * (lo + hi)

    def describe(self) -> str:
        if self.empty:
            worst = self.binding[int(np.argmax(self.margin))]
            return (
                f"empty: no sigma + sigma_hat in [{SCAN_LO}, {SCAN_HI}] makes the menu optimal "
                f"(closest at sigma + sigma_hat = {self.grid_sigma_total[int(np.argmax(self.margin))]:.3g}, "
                f"where {worst} fails by {-100 * float(np.max(self.margin)):.3g}%)"
            )
        parts = [
            f"sigma + sigma_hat in ({lo:.4f}, {hi:.4f}), i.e. b in ({1 / hi:.4f}, {1 / lo:.4f})"
            for lo, hi in self.intervals_sigma_total
        ]
        return "; ".join(parts)

    def to_dict(self) -> dict[str, object]:
        return {
            "sigma_total": [list(iv) for iv in self.intervals_sigma_total],
            "cost_exponent": [list(iv) for iv in self.intervals_cost_exponent],
            "empty": self.empty,
            "scan": [SCAN_LO, SCAN_HI, SCAN_N],
        }


def _binding_name(T: FloatArray, A: FloatArray, b: float, names: list[str], lam: float | None) -> str:
    s = _slacks(T, A, b, lam)
    best, label = math.inf, ""
    for kind, v in s.items():
        if v.size and float(np.min(v)) < best:
            best = float(np.min(v))
            i = int(np.argmin(v))
            tier = {
                "ic": names[min(i + 1, len(names) - 1)],
                "markup": names[i],
                "top": names[-1],
                "positive": names[0],
            }[kind]
            label = f"{'distortion' if kind == 'markup' else kind} at tier {tier!r}"
    return label


def _intervals(grid: FloatArray, inside: FloatArray, root: Callable[[float, float], float]) -> list[tuple[float, float]]:
    """The maximal runs of ``inside`` on a scan ``grid`` as intervals, each end refined by ``root`` (a bisection
    between the two grid points where membership changes)."""
    out: list[tuple[float, float]] = []
    start = float(grid[0]) if inside[0] else None
    for i in range(1, grid.size):
        if inside[i] and not inside[i - 1]:
            start = root(float(grid[i - 1]), float(grid[i]))
        elif not inside[i] and inside[i - 1]:
            assert start is not None
            out.append((start, root(float(grid[i - 1]), float(grid[i]))))
            start = None
    if start is not None:
        out.append((start, float(grid[-1])))
    return out


def identified_set(menu: ObservedMenu, cost_scale: float | None = None, n: int = SCAN_N) -> IdentifiedSet:
    r"""The range of :math:`\sigma+\hat\sigma` (hence :math:`b`) for which the menu passes (C7).

    Scans ``n`` points of :math:`\sigma+\hat\sigma \in [0.01, 0.99]` and bisects (60 steps) every sign
    change of the smallest relative slack. Interval ends touching the scan range are reported as the scan
    bounds (the set may extend beyond them).
    """
    T, A, names = _checked(menu)
    lam = None if cost_scale is None else V.positive("cost_scale", cost_scale)
    grid = np.linspace(SCAN_LO, SCAN_HI, int(n))
    margin = np.array([_margin(T, A, 1.0 / s, lam) for s in grid])
    binding = [_binding_name(T, A, 1.0 / s, names, lam) for s in grid]

    def root(lo: float, hi: float) -> float:
        g_lo = _margin(T, A, 1.0 / lo, lam) > 0
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if (_margin(T, A, 1.0 / mid, lam) > 0) == g_lo:
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi)

    return IdentifiedSet(_intervals(grid, margin > 0, root), grid, margin, binding)


# ------------------------------------------------------------------- identified set over an allowance
#: scan of an unpublished allowance (a multiple of the reference unit) for its identified set
ALLOWANCE_LO, ALLOWANCE_HI, ALLOWANCE_N = 1.01, 1000.0, 121


def _sup_margin(T: FloatArray, A: FloatArray, n: int = 99) -> tuple[float, float]:
    """Largest smallest-slack of (C7) over sigma + sigma_hat in [SCAN_LO, SCAN_HI]: ``(margin, argmax)``.

    A grid, then a bounded scalar search in the cells around the best grid point."""
    grid = np.linspace(SCAN_LO, SCAN_HI, n)
    vals = np.array([_margin(T, A, 1.0 / s) for s in grid])
    i = int(np.nanargmax(vals))
    best, arg = float(vals[i]), float(grid[i])
    lo, hi = float(grid[max(i - 1, 0)]), float(grid[min(i + 1, n - 1)])
    r = optimize.minimize_scalar(
        lambda s: -_margin(T, A, 1.0 / s), bounds=(lo, hi), method="bounded", options={"xatol": 1e-12}
    )
    if -float(r.fun) > best:
        best, arg = -float(r.fun), float(r.x)
    return best, arg


@dataclass(frozen=True)
class AllowanceSet:
    r"""The values :math:`M` of one tier's unpublished allowance at which the posted menu can be optimal.

    ``intervals``: some :math:`\sigma+\hat\sigma \in [0.01, 0.99]` passes (C7) (the union over :math:`b` of
    the identified sets); ``intervals_at_b``: (C7) holds at the fixed exponent ``cost_exponent``. Both by a
    log-spaced scan of ``[lo, hi]`` and bisection (60 steps) at every change; ends touching the scan range
    are reported as the scan bounds (the set may extend beyond them).
    """

    menu: ObservedMenu
    tier: str
    lo: float
    hi: float
    intervals: list[tuple[float, float]]
    cost_exponent: float
    cost_exponent_source: str
    intervals_at_b: list[tuple[float, float]]
    grid: FloatArray = field(repr=False)
    sup_margin: FloatArray = field(repr=False)
    margin_at_b: FloatArray = field(repr=False)

    @property
    def empty(self) -> bool:
        return not self.intervals

    def _fmt(self, ivs: list[tuple[float, float]]) -> str:
        if not ivs:
            return "empty"
        out = []
        for a, z in ivs:
            left = f"[{a:.6g}" if a == self.lo else f"({a:.6g}"
            right = f"{z:.6g}] (scan bound; may extend beyond)" if z == self.hi else f"{z:.6g})"
            out.append(f"{left}, {right}")
        return " U ".join(out)

    def sigma_range(self, M: float) -> IdentifiedSet:
        """The identified set of sigma + sigma_hat at one value of the allowance."""
        return identified_set(self.menu.with_allowances({self.tier: M}))

    def describe(self) -> str:
        unit = self.menu.unit
        lines = [
            (
                f"identified set over the unpublished allowance of tier {self.tier!r} "
                f"({unit}; scan M in [{self.lo:g}, {self.hi:g}]):"
            ),
            f"  for some sigma + sigma_hat in [{SCAN_LO}, {SCAN_HI}]: M in {self._fmt(self.intervals)}",
            (
                f"  at b = {self.cost_exponent:.6g} (sigma + sigma_hat = {1 / self.cost_exponent:.6g}, "
                f"{self.cost_exponent_source}): M in {self._fmt(self.intervals_at_b)}"
            ),
        ]
        for M in self._examples():
            lines.append(f"  at M = {M:g}: " + self.sigma_range(M).describe())
        lines.append(
            f"  not identified: the posted fees cannot pin M down. Publishing tier {self.tier!r}'s allowance "
            "(its multiple of the reference unit) pins it; so would a known cost exponent b together with the "
            "marginal cost lambda of one unit (--cost-exponent with --cost-scale; the top's no-distortion "
            "condition (C4) then gives M)."
        )
        return "\n".join(lines)

    def _examples(self) -> list[float]:
        if self.empty:
            return []
        a, z = self.intervals[0]
        return sorted({float(f"{math.sqrt(a * z):.3g}"), float(f"{min(2 * a, z):.3g}")})

    def to_dict(self) -> dict[str, object]:
        return {
            "tier": self.tier,
            "unit": self.menu.unit,
            "scan": [self.lo, self.hi, int(self.grid.size)],
            "intervals_some_b": [list(iv) for iv in self.intervals],
            "cost_exponent": self.cost_exponent,
            "cost_exponent_source": self.cost_exponent_source,
            "intervals_at_b": [list(iv) for iv in self.intervals_at_b],
            "empty": self.empty,
            "examples": {f"{M:g}": self.sigma_range(M).to_dict() for M in self._examples()},
        }

    def table(self) -> pd.DataFrame:
        """The scan: M, the largest slack over sigma + sigma_hat, the slack at the fixed b."""
        return pd.DataFrame(
            {
                "allowance": self.grid,
                "max_slack_over_b": self.sup_margin,
                "consistent_for_some_b": self.sup_margin > 0,
                "slack_at_b": self.margin_at_b,
                "consistent_at_b": self.margin_at_b > 0,
            }
        )


def allowance_identified_set(
    menu: ObservedMenu,
    tier: str | None = None,
    cost_exponent: float | None = None,
    lo: float = ALLOWANCE_LO,
    hi: float = ALLOWANCE_HI,
    n: int = ALLOWANCE_N,
) -> AllowanceSet:
    r"""The identified set over one tier's unpublished allowance :math:`M` (e.g. OpenAI's Pro multiple).

    (C7) at a given :math:`M` depends on :math:`b` only, so :math:`M` is consistent iff the identified set
    of :math:`\sigma+\hat\sigma` at :math:`M` (:func:`identified_set`) is non-empty; the largest smallest
    slack over :math:`\sigma+\hat\sigma` (a grid plus a bounded search) is bisected in :math:`\log M`.
    At a fixed :math:`b` (``cost_exponent``, default :data:`DEFAULT_SIGMA_TOTAL`) the smallest slack is
    bisected directly. For OpenAI's two tiers (Plus 20 USD / 1, Pro 200 USD / M) in closed form:
    :math:`m_1 = (M/9)(1-M^{-s}) > 1` and IC :math:`M^s < 10`, :math:`s = \sigma+\hat\sigma`, so the set
    is :math:`M > 10` as :math:`s \to 1` (the scan stops at :math:`s = 0.99`), and at :math:`b = 2`,
    :math:`(\tfrac{1+\sqrt{37}}{2})^2 < M < 100`.
    """
    unknown = [t.name for t in menu.tiers if t.allowance is None]
    if tier is None:
        if len(unknown) != 1:
            raise ProblemSpecError(
                "tier",
                unknown,
                "name the tier whose allowance is scanned (exactly one tier may be unstated)",
            )
        tier = unknown[0]
    if tier not in menu.names:
        raise ProblemSpecError("tier", tier, "must name a tier: " + ", ".join(repr(t) for t in menu.names))
    others = [u for u in unknown if u != tier]
    if others:
        raise ProblemSpecError(
            "allowance", others, "every other tier needs an allowance before scanning " + repr(tier)
        )
    lo, hi = V.positive("allowance_lo", lo), V.positive("allowance_hi", hi)
    if not hi > lo:
        raise ProblemSpecError("allowance_hi", hi, f"must exceed allowance_lo = {lo:g}")
    if cost_exponent is None:
        b, source = 1.0 / DEFAULT_SIGMA_TOTAL, f"default sigma + sigma_hat = {DEFAULT_SIGMA_TOTAL}"
    else:
        b_given = _exponent(cost_exponent, None, None)
        assert b_given is not None
        b, source = b_given, "given"

    def arrays(M: float) -> tuple[FloatArray, FloatArray] | None:
        try:
            T, A, _ = _checked(menu.with_allowances({tier: M}))
        except ProblemSpecError:  # M equal to another tier's allowance, or a dominated order
            return None
        return T, A

    def some_b(M: float) -> float:
        ta = arrays(M)
        return -1.0 if ta is None else _sup_margin(*ta)[0]

    def at_b(M: float) -> float:
        ta = arrays(M)
        return -1.0 if ta is None else _margin(ta[0], ta[1], b)

    grid = np.geomspace(lo, hi, int(n))

    def scan(g: object) -> tuple[FloatArray, list[tuple[float, float]]]:
        vals = np.array([g(M) for M in grid])  # type: ignore[operator]
        inside = vals > 0

        def root(a: float, z: float) -> float:
            ga = g(a) > 0  # type: ignore[operator]
            la, lz = math.log(a), math.log(z)
            for _ in range(60):
                mid = 0.5 * (la + lz)
                if (g(math.exp(mid)) > 0) == ga:  # type: ignore[operator]
                    la = mid
                else:
                    lz = mid
            return math.exp(0.5 * (la + lz))

        return vals, _intervals(grid, inside, root)

    sup, ivs = scan(some_b)
    mb, ivs_b = scan(at_b)
    return AllowanceSet(
        menu, tier, float(grid[0]), float(grid[-1]), ivs, float(b), source, ivs_b, grid, sup, mb
    )


# ------------------------------------------------------------------------------- nearest menu
@dataclass(frozen=True)
class NearestMenu:
    """The consistent menu nearest to the posted one in relative fees (allowances kept)."""

    names: list[str]
    fees: FloatArray
    posted_fees: FloatArray
    allowances: FloatArray
    cost_exponent: float
    distance: float

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


def nearest_consistent_menu(
    menu: ObservedMenu, cost_exponent: float, cost_scale: float | None = None, margin: float = NEAREST_MARGIN
) -> NearestMenu:
    r"""Project the fees onto the menus that pass (C7) at exponent ``b`` with relative ``margin``.

    Minimises :math:`\sum_k ((T'_k - T_k)/s_k)^2` (:math:`s_k = T_k`, or the smallest positive fee for a
    free tier) subject to the restrictions of (C7), which are linear in :math:`T'` for fixed :math:`b`
    (and :math:`\lambda` when given):
    :math:`\Delta T'_{k+1}/\Delta a_{k+1} \ge (1+\delta)\Delta T'_k/\Delta a_k`
    (:math:`a = A^{1/b}`, :math:`T'_1 > 0`), :math:`\Delta T'_k D_K \ge (1+\delta)\Delta T'_K D_k` for
    :math:`k<K`, and :math:`\Delta T'_K = \lambda D_K` when :math:`\lambda` is given. SLSQP, a convex QP.
    """
    T, A, names = _checked(menu)
    b = V.as_float("cost_exponent", cost_exponent)
    K = T.size
    u = float(T[-1])  # variables x = T' / T_K
    scale = np.where(T > 0, T, T[T > 0].min()) / u
    da = np.diff(np.concatenate([[0.0], A ** (1.0 / b)]))
    D = _D(A, b)
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
    cons: list[dict[str, object]] = [{"type": "ineq", "fun": lambda x: G @ x - c, "jac": lambda x: G}]
    if cost_scale is not None:  # (C4) as a restriction: dT_K = lambda D_K
        lam = V.positive("cost_scale", cost_scale)
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

    best = None
    for x0 in (T / u, np.linspace(1.0 / K, 1.0, K)):
        res = optimize.minimize(
            obj, x0, jac=grad, constraints=cons, method="SLSQP", options={"ftol": 1e-15, "maxiter": 2000}
        )
        feasible = bool(np.all(G @ res.x - c >= -1e-12))
        if feasible and (best is None or res.fun < best.fun):
            best = res
    if best is None:
        raise ProblemSpecError("menu", menu.name, f"has no consistent fee vector at b = {b:g} (SLSQP failed)")
    fees = np.asarray(best.x, dtype=float) * u
    return NearestMenu(names, fees, T, A, b, float(np.sqrt(np.sum(((fees - T) / (scale * u)) ** 2))))


# --------------------------------------------------------------------------------- calibration
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
            else {"fees": self.nearest.fees.tolist(), "distance": self.nearest.distance},
            "notes": self.notes,
        }


def _implied(
    T: FloatArray, A: FloatArray, b: float, lam: float | None, C0: float | None
) -> tuple[float, float, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """(C1)-(C6): cost scale, C0, budgets, Q, theta, C'(Q), tail ratios and masses."""
    dT = np.diff(np.concatenate([[0.0], T]))
    D = _D(A, b)
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
    if nearest and not all(r.holds for r in restr):
        near = nearest_consistent_menu(menu, b, lam)
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


# ------------------------------------------------------------------------- formats and simulation
@dataclass(frozen=True)
class Items:
    r"""Posted items: fee :math:`F`, price multiplier :math:`p` on marginal cost beyond the included
    quality :math:`Q_0`, and a cap. A buyer pays :math:`F + p\max(0, C(Q) - C(Q_0))`,
    :math:`Q \in [Q_0, \text{cap}]`."""

    kind: str
    fee: FloatArray
    price: FloatArray
    included: FloatArray
    cap: FloatArray

    @property
    def size(self) -> int:
        return int(self.fee.size)


def _respond(items: Items, tech: Technology, th: float) -> tuple[FloatArray, FloatArray]:
    p = items.price
    with np.errstate(divide="ignore", invalid="ignore"):
        target = np.where(np.isfinite(p) & (p > 0), th / np.where(p > 0, p, 1.0), np.inf)
    want = np.where(
        np.isfinite(target), tech.inverse_marginal_cost(np.where(np.isfinite(target), target, 0.0)), np.inf
    )
    Q = np.clip(want, items.included, items.cap)
    extra = tech.cost(Q) - tech.cost(items.included)
    pay = items.fee + np.where(extra > 0, np.where(np.isfinite(p), p, 0.0) * np.maximum(extra, 0.0), 0.0)
    return Q, pay


def simulate_items(items: Items, tech: Technology, theta: FloatArray) -> pd.DataFrame:
    """Each type takes its best item or nothing (ties within :data:`TIE_RTOL` go to the seller)."""
    theta = np.asarray(theta, dtype=float)
    q_top, _ = _respond(items, tech, float(theta.max()))
    finite = q_top[np.isfinite(q_top)]
    scale = max(float(theta.max()) * float(finite.max(initial=0.0)), 1e-300)
    rows = []
    for th in theta:
        q, pay = _respond(items, tech, float(th))
        q, pay = np.append(q, 0.0), np.append(pay, 0.0)
        payoff = th * q - pay
        profit = pay - tech.cost(q)
        best = float(payoff.max())
        near = np.flatnonzero(payoff >= best - TIE_RTOL * scale)
        pick = int(near[np.argmax(profit[near])])
        rows.append(
            {
                "theta": th,
                "item": pick if pick < items.size else -1,
                "quality": q[pick],
                "payment": pay[pick],
                "payoff": payoff[pick],
                "profit": profit[pick],
            }
        )
    return pd.DataFrame(rows)


def _menu_items(Q: FloatArray, T: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Distinct served items of a per-type direct menu: (Q, T, index of the lowest type taking each)."""
    Q, T = np.asarray(Q, dtype=float), np.asarray(T, dtype=float)
    qmax = max(float(Q.max(initial=0.0)), 1e-300)
    served = np.flatnonzero(Q > 1e-12 * qmax)
    keep: list[int] = []
    for i in served:
        if not keep or abs(Q[i] - Q[keep[-1]]) > 1e-12 * qmax:
            keep.append(int(i))
    idx = np.array(keep, dtype=int)
    return Q[idx], T[idx], idx


def max_spend_items(tech: Technology, Q: FloatArray, T: FloatArray) -> Items:
    """Def 1: fee T_k for a budget C(Q_k) at marginal cost (hard cap)."""
    q, t, _ = _menu_items(Q, T)
    return Items("max-spend", t, np.full(q.size, np.inf), q, q)


def min_spend_items(tech: Technology, Q: FloatArray, T: FloatArray) -> Items:
    r"""Def 2 (proof of Prop 4): commit to T_k at prices :math:`r_k = T_k/C(Q_k)` times marginal cost."""
    q, t, _ = _menu_items(Q, T)
    return Items("min-spend", t, t / tech.cost(q), q, np.full(q.size, np.inf))


def overage_items(tech: Technology, Q: FloatArray, T: FloatArray, multiplier: float) -> Items:
    """An allowance C(Q_k) for T_k plus a flat overage price ``multiplier`` times marginal cost (Copilot)."""
    q, t, _ = _menu_items(Q, T)
    return Items("allowance+overage", t, np.full(q.size, float(multiplier)), q, np.full(q.size, np.inf))


def two_part_items(
    tech: Technology,
    theta: FloatArray,
    Q: FloatArray,
    T: FloatArray,
    capped: bool = True,
    pricing: str = "markup",
) -> Items:
    r"""Two-part tariffs ``(F_k, p_k)`` with (``capped``) or without a quantity cap :math:`Q_k`.

    ``pricing="markup"``: :math:`p_k = m_k = \theta/C'(Q_k)` at the lowest type taking item k (eq. 14);
    ``"floor"``: :math:`p_k = \theta_{\min}/C'(Q_k)` with :math:`\theta_{\min}` the lowest served type.
    :math:`F_k = T_k - p_k C(Q_k)`. See the module docstring for when each reproduces the menu.
    """
    pricing = V.one_of("pricing", pricing, ("markup", "floor"))
    theta = np.asarray(theta, dtype=float)
    q, t, idx = _menu_items(Q, T)
    low = theta[idx] if pricing == "markup" else np.full(q.size, theta[idx[0]])
    p = low / tech.marginal_cost(q)
    return Items(
        f"two-part{' capped' if capped else ''} ({pricing})",
        t - p * tech.cost(q),
        p,
        np.zeros(q.size),
        q if capped else np.full(q.size, np.inf),
    )


@dataclass(frozen=True)
class Reproduction:
    """Whether a simulated format reproduces a direct menu (errors relative to the largest Q and T)."""

    kind: str
    quality_error: float
    payment_error: float
    missorted: list[int]
    profit: float
    consumer_surplus: float

    @property
    def exact(self) -> bool:
        return not self.missorted


def reproduces(
    items: Items,
    tech: Technology,
    theta: FloatArray,
    prob: FloatArray,
    Q: FloatArray,
    T: FloatArray,
    rtol: float = 1e-9,
) -> Reproduction:
    """Simulate ``items`` for every type and compare quality and payment with the direct menu ``(Q, T)``."""
    sim = simulate_items(items, tech, theta)
    Q, T, prob = (np.asarray(a, dtype=float) for a in (Q, T, prob))
    dq = np.abs(sim["quality"].to_numpy() - Q) / max(float(np.abs(Q).max()), 1e-300)
    dt = np.abs(sim["payment"].to_numpy() - T) / max(float(np.abs(T).max()), 1e-300)
    bad = np.flatnonzero((dq > rtol) | (dt > rtol) | ~np.isfinite(dq))
    return Reproduction(
        items.kind,
        float(np.nanmax(dq)),
        float(np.nanmax(dt)),
        [int(i) for i in bad],
        float(prob @ sim["profit"].to_numpy()),
        float(prob @ sim["payoff"].to_numpy()),
    )


# ----------------------------------------------------------------------------- counterfactuals
@dataclass(frozen=True)
class BlockMenu:
    """An optimal menu with at most a given number of items over discrete types (contiguous blocks)."""

    quality: FloatArray
    transfer: FloatArray
    blocks: list[tuple[int, int]]
    profit: float
    consumer_surplus: float

    @property
    def surplus(self) -> float:
        return self.profit + self.consumer_surplus


def best_item_menu(tech: Technology, theta: FloatArray, prob: FloatArray, n_items: int) -> BlockMenu:
    r"""The profit-maximising menu with at most ``n_items`` items (exhaustive over contiguous blocks).

    Blocks :math:`[s_i, s_{i+1})` of types share an item; types below :math:`s_1` are excluded. For a
    partition, profit is :math:`\sum_i (a_i Q_i - F_i C(Q_i))` with :math:`F_i` the block mass,
    :math:`a_i = F_i\theta_{s_i} - (\theta_{s_{i+1}}-\theta_{s_i}) S_{s_{i+1}}` (discrete virtual surplus),
    so :math:`Q_i = (C')^{-1}(a_i/F_i)`; partitions with non-increasing :math:`Q` are skipped (their
    monotone optimum is a coarser partition, also enumerated). Transfers: the lowest type of each block is
    indifferent to the block below, the lowest served type has zero rent.
    """
    theta, prob = np.asarray(theta, dtype=float), np.asarray(prob, dtype=float)
    N = theta.size
    if N > MAX_BLOCK_TYPES:
        raise ProblemSpecError("types", N, f"at most {MAX_BLOCK_TYPES} types for the exhaustive block search")
    n_items = V.integer("n_items", n_items, 1)
    tail = np.append(np.cumsum(prob[::-1])[::-1], 0.0)  # tail[j] = sum_{n >= j} f_n
    th_ext = np.append(theta, theta[-1])
    best = BlockMenu(np.zeros(0), np.zeros(0), [], 0.0, 0.0)
    for m in range(1, min(n_items, N) + 1):
        for starts in itertools.combinations(range(N), m):
            ends = list(starts[1:]) + [N]
            F = np.array([tail[s] - tail[e] for s, e in zip(starts, ends, strict=True)])
            a = np.array(
                [
                    F[i] * theta[s] - (th_ext[e] - theta[s]) * tail[e]
                    for i, (s, e) in enumerate(zip(starts, ends, strict=True))
                ]
            )
            if np.any(a <= 0):
                continue
            Q = tech.inverse_marginal_cost(a / F)
            if np.any(np.diff(Q) <= 0):
                continue
            t = np.empty(m)
            rent_low = 0.0
            for i, s in enumerate(starts):
                if i:
                    rent_low += (theta[s] - theta[starts[i - 1]]) * Q[i - 1]
                t[i] = theta[s] * Q[i] - rent_low
            profit = float(F @ (t - tech.cost(Q)))
            if profit > best.profit:
                cs = 0.0
                for i, (s, e) in enumerate(zip(starts, ends, strict=True)):
                    cs += float(prob[s:e] @ (theta[s:e] * Q[i] - t[i]))
                best = BlockMenu(Q, t, list(zip(starts, ends, strict=True)), profit, cs)
    return best


def linear_price(tech: Technology, theta: FloatArray, prob: FloatArray) -> dict[str, float]:
    r"""One price :math:`k` times marginal cost for every token; for :math:`C = C_0Q^b` the optimum is
    :math:`k = b` (profit :math:`\propto (k-1)k^{-b/(b-1)}`), checked by a bounded scalar search."""
    theta, prob = np.asarray(theta, dtype=float), np.asarray(prob, dtype=float)

    def outcome(k: float) -> tuple[float, float]:
        q = tech.inverse_marginal_cost(theta / k)
        c = tech.cost(q)
        return float(prob @ ((k - 1) * c)), float(prob @ (theta * q - k * c))

    res = optimize.minimize_scalar(
        lambda lk: -outcome(math.exp(lk))[0],
        bounds=(0.0, math.log(200.0)),
        method="bounded",
        options={"xatol": 1e-12},
    )
    k = math.exp(float(res.x))
    if tech.is_homogeneous and outcome(tech.cost_exponent)[0] >= outcome(k)[0]:
        k = tech.cost_exponent
    prof, cs = outcome(k)
    return {"markup": k, "profit": prof, "consumer_surplus": cs}


def single_two_part(tech: Technology, theta: FloatArray, prob: FloatArray) -> dict[str, float]:
    r"""One fee :math:`p_0` and one markup :math:`k` for everyone. For each candidate lowest buyer i the fee
    is i's gross gain :math:`G_i(k) = \max_Q \theta_i Q - kC(Q)`; profit
    :math:`S_i G_i(k) + (k-1)\sum_{j\ge i} f_j C(Q_j(k))` is maximised over :math:`k` by bounded search."""
    theta, prob = np.asarray(theta, dtype=float), np.asarray(prob, dtype=float)
    tail = np.cumsum(prob[::-1])[::-1]

    def profit(i: int, k: float) -> float:
        q = tech.inverse_marginal_cost(theta[i:] / k)
        c = tech.cost(q)
        gain = theta[i] * q[0] - k * c[0]
        return float(tail[i] * gain + (k - 1) * (prob[i:] @ c))

    best = (-math.inf, 0, 1.0)
    for i in range(theta.size):
        res = optimize.minimize_scalar(
            lambda lk, i=i: -profit(i, math.exp(lk)),
            bounds=(math.log(0.2), math.log(200.0)),
            method="bounded",
            options={"xatol": 1e-12},
        )
        val = -float(res.fun)
        if val > best[0]:
            best = (val, i, math.exp(float(res.x)))
    _, i, k = best
    q = tech.inverse_marginal_cost(theta / k)
    gain = theta * q - k * tech.cost(q)
    fee = float(gain[i])
    buy = np.arange(theta.size) >= i
    return {
        "fee": fee,
        "markup": k,
        "profit": best[0],
        "consumer_surplus": float(prob @ np.where(buy, gain - fee, 0.0)),
        "lowest_buyer": float(i),
    }


def refine_top(
    theta: FloatArray, prob: FloatArray, share: float = 0.5, ratio: float | None = None
) -> tuple[FloatArray, FloatArray]:
    r"""K+1 types from K: a share of the top type's mass moves to a new type
    :math:`\theta_{K+1} = \theta_K \cdot \text{ratio}`; default ratio :math:`(\theta_K/\theta_{K-1})^{1/2}`,
    half the last step of the type ladder (geometric). With an even split the old top type's virtual value
    becomes :math:`\theta_K(2 - \text{ratio})`, so a full step would often make it pool with the tier
    below. An assumption, stated in the counterfactual report."""
    theta, prob = np.asarray(theta, dtype=float), np.asarray(prob, dtype=float)
    share = V.in_open("split_share", share, 0.0, 1.0)
    ratio = float(np.sqrt(theta[-1] / theta[-2])) if ratio is None else V.as_float("split_ratio", ratio)
    if not ratio > 1:
        raise ProblemSpecError("split_ratio", ratio, "must be > 1")
    th = np.append(theta, theta[-1] * ratio)
    pr = np.append(prob, prob[-1] * share)
    pr[-2] *= 1 - share
    return th, pr


def _split(res: CalibrationResult, sigma_share: float) -> tuple[float, float]:
    r""":math:`(\sigma, \hat\sigma)` with :math:`\sigma+\hat\sigma = 1/b`: the split is not identified by a
    single-model menu (only the sum is), so ``sigma_share`` = :math:`\sigma/(\sigma+\hat\sigma)` is an
    assumption."""
    share = V.in_open("sigma_share", sigma_share, 0.0, 1.0)
    return share * res.sigma_total, (1.0 - share) * res.sigma_total


def multimodel_counterfactual(
    res: CalibrationResult,
    sigma_hat_step: float = 0.1,
    kappa_ratio: float = 2.0,
    sigma_share: float = 0.5,
    name: str = "new model",
) -> dict[str, object]:
    r"""The multi-model menu (BBS §5.1-5.2, Prop 6) when a second, more capable model is added.

    Mapping (Lemma 3): the calibrated cost :math:`C(Q) = C_0Q^b` is model 1 with
    :math:`\sigma+\hat\sigma_1 = 1/b` and :math:`\kappa_1 = C_0`, i.e. :math:`C_1(Q) = \kappa_1
    Q^{1/(\sigma+\hat\sigma_1)}`. The new model (an assumption) has :math:`\hat\sigma_2 = \hat\sigma_1 +`
    ``sigma_hat_step`` (more capable: higher returns to fine-tuning) and :math:`\kappa_2 =` ``kappa_ratio``
    :math:`\times\kappa_1` (costlier per unit). The seller's cost of quality is the lower envelope eq. (21);
    each type gets the efficient model and quality of Prop 5 (eqs. 22-23) at its (ironed) discrete virtual
    value, Prop 6 (eqs. 25-27), via :meth:`MultiModel.discrete_monopoly`; fees from the binding local
    downward ICs. The menu depends on :math:`\sigma+\hat\sigma_l` and :math:`\kappa_l` only, so the split
    ``sigma_share`` (needed to build the models, Assumption 1) does not move it. Types and masses are the
    calibrated ones (shares among subscribers).

    Returns per-tier ``model, quality, fee, margin`` and the totals ``profit``, ``consumer_surplus``
    (:math:`\sum_k f_k(\theta_kQ_k - t_k)`), their ratios to the calibrated menu, and ``moved`` (tiers on
    the new model).
    """
    _tech, types = res.primitives()
    sigma, sh1 = _split(res, sigma_share)
    step = V.as_float("sigma_hat_step", sigma_hat_step)
    if not step > 0:
        raise ProblemSpecError("sigma_hat_step", step, "must be > 0 (the new model is more capable)")
    if not res.sigma_total + step < 1.0:
        raise ProblemSpecError(
            "sigma_hat_step",
            step,
            f"must keep sigma + sigma_hat < 1 (Assumption 1): here sigma + sigma_hat = {res.sigma_total:.4g}",
        )
    kr = V.positive("kappa_ratio", kappa_ratio)
    mm = MultiModel(
        sigma,
        (ModelSpec(sh1, res.C0, "calibrated"), ModelSpec(sh1 + step, kr * res.C0, name)),
    )
    model, Q, t, margin = mm.discrete_monopoly(types)
    f, th = types.prob, types.theta
    profit = float(f @ margin)
    cs = float(f @ (th * Q - t))
    labels = ["none" if m < 0 else mm.models[int(m)].name for m in model]
    return {
        "assumptions": {
            "sigma": sigma,
            "sigma_hat": [sh1, sh1 + step],
            "kappa": [res.C0, kr * res.C0],
            "sigma_hat_step": step,
            "kappa_ratio": kr,
            "sigma_share": sigma_share,
        },
        "tiers": pd.DataFrame(
            {
                "tier": res.names,
                "model": labels,
                "quality": Q,
                "calibrated_quality": res.quality,
                "fee": t,
                "posted_fee": res.fees,
                "margin": margin,
            }
        ),
        "profit": profit,
        "consumer_surplus": cs,
        "profit_share": profit / res.profit,
        "cs_share": cs / res.consumer_surplus if res.consumer_surplus else float("nan"),
        "moved": [n for n, m in zip(res.names, model, strict=True) if m == 1],
        "switch_types": mm.switch_types(),
    }


def fringe_counterfactual(
    res: CalibrationResult, c_F_ratio: float = 1.25, sigma_share: float = 0.5
) -> dict[str, object]:
    r"""The leader's menu when an open-source fringe enters at marginal cost (BBS §5.3, Lemma 4, Prop 7).

    Mapping: the calibrated model is the leader, :math:`\sigma+\hat\sigma_L = 1/b` (split by the
    assumption ``sigma_share``), leader quantity :math:`q_L = Q^{1/(\sigma+\hat\sigma_L)} = Q^b` at unit
    cost :math:`c_L = C_0` (so :math:`c_Lq_L = C(Q)`, USD). The fringe has :math:`\hat\sigma_F = 0`: its
    quality :math:`Q_F = q_F^\sigma` costs :math:`c_FQ_F^{1/\sigma}`, with :math:`c_F =` ``c_F_ratio``
    :math:`\times c_L` in the calibrated quality unit (top tier :math:`Q_K = 1`): at the top tier's quality
    the fringe costs ``c_F_ratio`` times the leader, and less below :math:`Q = (c_L/c_F)^{1/(1/\sigma-b)}`.
    Buyers top up at the fringe (eq. 28); Lemma 4's payoff net of the fringe-only option, eq. (31), with
    eq. (30)'s :math:`\hat q, \psi`; the leader's discrete menu by Prop 7's case analysis
    (:meth:`LeaderFringe.discrete_menu`: :math:`(q, t, \text{profit})`).

    :class:`LeaderFringe` normalises :math:`c_F < c_L`; that ratio depends on the unit of quality
    (:math:`Q' = \alpha Q` scales it by :math:`\alpha^{b-1/\sigma}`), so when ``c_F_ratio`` :math:`\ge 1`
    the problem is solved in the unit :math:`\alpha = (2\,c_F/c_L)^{1/(1/\sigma-b)}` (types
    :math:`\theta/\alpha`, where :math:`c_F/c_L = 1/2`) and mapped back; fees and profit are in USD either way.

    Returns per-tier leader quality, fee and whether the tier is served; ``profit``, ``profit_share``
    (relative to the calibrated monopoly menu), ``consumer_surplus`` (:math:`\sum_k f_k(u + \psi - t)`,
    including the fringe-only surplus), and ``monotone`` (the discrete menu is the full optimum when the
    quantities are non-decreasing).
    """
    _tech, types = res.primitives()
    sigma, shL = _split(res, sigma_share)
    ratio = V.positive("c_F_ratio", c_F_ratio)
    b = res.cost_exponent
    alpha = 1.0 if ratio < 1.0 else (2.0 * ratio) ** (1.0 / (1.0 / sigma - b))
    c_L = res.C0 * alpha ** (-b)
    c_F = ratio * res.C0 * alpha ** (-1.0 / sigma)
    lf = LeaderFringe(sigma, shL, c_L, c_F)
    th = types.theta / alpha
    f = types.prob
    q, t, profit = lf.discrete_menu(DiscreteTypes(th, f))
    Q = q**lf.d / alpha
    served = q > 0
    u = lf.u(th, q)
    psi = lf.psi(th)
    cs = float(f @ (u + psi - t))
    return {
        "assumptions": {
            "sigma": sigma,
            "sigma_hat_L": shL,
            "sigma_hat_F": 0.0,
            "c_L": res.C0,
            "c_F": ratio * res.C0,
            "c_F_ratio": ratio,
            "sigma_share": sigma_share,
            "unit_rescale": alpha,
            "fringe_cheaper_below_quality": float((1.0 / ratio) ** (1.0 / (1.0 / sigma - b))),
        },
        "tiers": pd.DataFrame(
            {
                "tier": res.names,
                "served": served,
                "leader_quality": Q,
                "calibrated_quality": res.quality,
                "fee": t,
                "posted_fee": res.fees,
                "fringe_only_surplus": psi,
            }
        ),
        "profit": float(profit),
        "profit_share": float(profit) / res.profit,
        "consumer_surplus": cs,
        "cs_share": cs / res.consumer_surplus if res.consumer_surplus else float("nan"),
        "served": [n for n, s in zip(res.names, served, strict=True) if s],
        "monotone": bool(np.all(np.diff(q) >= -1e-12 * max(float(q.max()), 1e-300))),
    }


def counterfactuals(
    res: CalibrationResult,
    split_share: float = 0.5,
    split_ratio: float | None = None,
    overage_price: float | None = None,
    sigma_hat_step: float = 0.1,
    kappa_ratio: float = 2.0,
    c_F_ratio: float = 1.25,
    sigma_share: float = 0.5,
) -> tuple[pd.DataFrame, dict[str, object]]:
    r"""Counterfactual menus from the calibrated primitives, in one table plus details.

    Rows: the calibrated optimum (= the posted menu), the best K-1 tier menu, the best K and K+1 tier
    menus on a refined population (:func:`refine_top`), one linear price, one two-part tariff, and the
    implementations of the calibrated optimum (max spend, min spend, allowance plus flat overage price,
    two-part tariffs with and without caps), each simulated, then the market-structure counterfactuals:
    the multi-model menu with a second model (:func:`multimodel_counterfactual`, Prop 6; ``sigma_hat_step``,
    ``kappa_ratio``) and the leader's menu against an open-source fringe (:func:`fringe_counterfactual`,
    Prop 7; ``c_F_ratio``), both with the unidentified split ``sigma_share`` of :math:`\sigma+\hat\sigma`.
    ``profit_share`` and ``cs_share`` are relative to the optimal K-tier menu of the same population. For an
    inconsistent menu the primitives of its nearest consistent menu are used (stated in the details).
    """
    details: dict[str, object] = {}
    if not res.consistent:
        if res.nearest is None:
            raise ProblemSpecError(
                "menu", res.menu.name, "is inconsistent and no nearest consistent menu exists"
            )
        details["based_on"] = (
            "nearest consistent menu (fees " + ", ".join(f"{f:.4g}" for f in res.nearest.fees) + ")"
        )
        res = calibrate(calibrate_fees(res.menu, res.nearest.fees), res.cost_exponent, C0=res.C0)
        if not res.consistent:
            raise ProblemSpecError(
                "menu", res.menu.name, "has no consistent projection at this cost exponent"
            )
    else:
        details["based_on"] = "posted menu"
    tech, types = res.primitives()
    th, f, K = types.theta, types.prob, types.n
    Q, T = res.quality, res.fees
    lam = res.cost_scale
    base_p, base_cs = res.profit, res.consumer_surplus
    rows: list[dict[str, object]] = []

    def add(
        scheme: str,
        population: str,
        items: int,
        profit: float,
        cs: float,
        ref: tuple[float, float],
        exact: object = None,
        note: str = "",
    ) -> None:
        rows.append(
            {
                "scheme": scheme,
                "population": population,
                "items": items,
                "profit": profit,
                "consumer_surplus": cs,
                "total_surplus": profit + cs,
                "profit_share": profit / ref[0],
                "cs_share": cs / ref[1] if ref[1] else float("nan"),
                "exact": exact,
                "note": note,
            }
        )

    ref = (base_p, base_cs)
    add("calibrated optimum (posted menu)", "calibrated", K, base_p, base_cs, ref, True)
    km1 = best_item_menu(tech, th, f, K - 1)
    add(
        f"optimal {K - 1} tier{'s' if K > 2 else ''}",
        "calibrated",
        len(km1.blocks),
        km1.profit,
        km1.consumer_surplus,
        ref,
        note="blocks " + ", ".join(f"{res.names[s]}..{res.names[e - 1]}" for s, e in km1.blocks),
    )
    th2, f2 = refine_top(th, f, split_share, split_ratio)
    k_ref = best_item_menu(tech, th2, f2, K)
    kp1 = best_item_menu(tech, th2, f2, K + 1)
    ref2 = (k_ref.profit, k_ref.consumer_surplus)
    note2 = f"top tier's mass split {split_share:g}/{1 - split_share:g}, new type theta = {th2[-1]:.4g}"
    add(
        f"optimal {K} tiers",
        "refined",
        len(k_ref.blocks),
        k_ref.profit,
        k_ref.consumer_surplus,
        ref2,
        note=note2,
    )
    add(
        f"optimal {K + 1} tiers",
        "refined",
        len(kp1.blocks),
        kp1.profit,
        kp1.consumer_surplus,
        ref2,
        note=note2,
    )
    lin = linear_price(tech, th, f)
    add(
        "one linear price",
        "calibrated",
        1,
        lin["profit"],
        lin["consumer_surplus"],
        ref,
        note=f"price = {lin['markup']:.4g} x marginal cost = {lin['markup'] * lam:.4g} USD per unit",
    )
    tp = single_two_part(tech, th, f)
    add(
        "one two-part tariff",
        "calibrated",
        1,
        tp["profit"],
        tp["consumer_surplus"],
        ref,
        note=f"fee {tp['fee']:.4g} USD + {tp['markup']:.4g} x marginal cost "
        f"({tp['markup'] * lam:.4g} USD per unit); lowest buyer: tier {res.names[int(tp['lowest_buyer'])]}",
    )
    impls = [
        (
            "maximum spend (Def 1)",
            max_spend_items(tech, Q, T),
            "budgets = posted allowances at marginal cost",
        ),
        (
            "minimum spend (Def 2)",
            min_spend_items(tech, Q, T),
            "overage price per unit r_k * lambda = T_k / A_k: "
            + ", ".join(f"{n} {t / a:.4g}" for n, t, a in zip(res.names, T, res.allowances, strict=True)),
        ),
    ]
    p_o = overage_price if overage_price is not None else res.menu.overage_price
    if p_o is not None:
        impls.append(
            (
                f"allowance + overage at {p_o:g} USD/unit",
                overage_items(tech, Q, T, p_o / lam),
                f"overage = {p_o / lam:.4g} x marginal cost",
            )
        )
    impls += [
        ("two-part tariffs, capped (markup)", two_part_items(tech, th, Q, T, True, "markup"), "p_k = m_k"),
        (
            "two-part tariffs, capped (floor)",
            two_part_items(tech, th, Q, T, True, "floor"),
            "p_k = theta_1 / C'(Q_k)",
        ),
        ("two-part tariffs, no caps (markup)", two_part_items(tech, th, Q, T, False, "markup"), "p_k = m_k"),
    ]
    repro = {}
    for name, items, note in impls:
        rep = reproduces(items, tech, th, f, Q, T)
        repro[name] = rep
        extra = "" if rep.exact else " missorted tiers: " + ", ".join(res.names[i] for i in rep.missorted)
        add(name, "calibrated", items.size, rep.profit, rep.consumer_surplus, ref, rep.exact, note + extra)
    details["overage"] = {
        "implied_min_spend_overage_usd_per_unit": {
            n: float(t / a) for n, t, a in zip(res.names, T, res.allowances, strict=True)
        },
        "posted_overage_usd_per_unit": p_o,
        "marginal_cost_usd_per_unit": lam,
        "posted_overage_over_marginal_cost": None if p_o is None else p_o / lam,
        "markups_m": dict(zip(res.names, res.m.tolist(), strict=True)),
    }
    if p_o is not None:
        sim = simulate_items(overage_items(tech, Q, T, p_o / lam), tech, th)
        details["overage"]["buys_overage"] = {  # type: ignore[index]
            res.names[i]: bool(sim["quality"].iloc[i] > Q[int(sim["item"].iloc[i])] * (1 + 1e-12))
            if sim["item"].iloc[i] >= 0
            else False
            for i in range(K)
        }
    try:
        mm = multimodel_counterfactual(res, sigma_hat_step, kappa_ratio, sigma_share)
    except ProblemSpecError as exc:
        details["multimodel"] = {"skipped": str(exc)}
    else:
        details["multimodel"] = mm
        tiers: Any = mm["tiers"]
        add(
            "multi-model menu (Prop 6)",
            "calibrated",
            int(np.unique(np.round(tiers["quality"].to_numpy(), 12)).size),
            mm["profit"],  # type: ignore[arg-type]
            mm["consumer_surplus"],  # type: ignore[arg-type]
            ref,
            note=f"new model: sigma_hat + {sigma_hat_step:g}, kappa x {kappa_ratio:g}; on it: "
            + (", ".join(mm["moved"]) or "no tier"),  # type: ignore[arg-type]
        )
    try:
        fr = fringe_counterfactual(res, c_F_ratio, sigma_share)
    except ProblemSpecError as exc:
        details["fringe"] = {"skipped": str(exc)}
    else:
        details["fringe"] = fr
        add(
            f"leader vs fringe at c_F = {c_F_ratio:g} c_L (Prop 7)",
            "calibrated",
            len(fr["served"]),  # type: ignore[arg-type]
            fr["profit"],  # type: ignore[arg-type]
            fr["consumer_surplus"],  # type: ignore[arg-type]
            ref,
            note=f"sigma share {sigma_share:g}; leader serves: "
            + (", ".join(fr["served"]) or "no tier")  # type: ignore[arg-type]
            + "; CS includes the fringe-only surplus",
        )
    details["assumptions"] = {
        "split_share": split_share,
        "new_top_type": float(th2[-1]),
        "cost_exponent": res.cost_exponent,
        "cost_scale": lam,
    }
    details["reproduction"] = {
        k: {"exact": v.exact, "quality_error": v.quality_error, "payment_error": v.payment_error}
        for k, v in repro.items()
    }
    return pd.DataFrame(rows), details


# ------------------------------------------------------------------------------------- figures
def _plt():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _ax_menu(ax, res: CalibrationResult) -> None:  # type: ignore[no-untyped-def]
    ax.loglog(res.allowances, res.fees, "o-", color="C0", label="posted")
    if res.nearest is not None:
        ax.loglog(res.allowances, res.nearest.fees, "s--", color="C1", label="nearest consistent")
    elif res.consistent:
        tech, types = res.primitives()
        dm = discrete_menu(tech, types)
        ax.loglog(
            tech.cost(dm.quality) / res.cost_scale,
            dm.transfer,
            "x",
            ms=10,
            color="C3",
            label="calibrated optimum (Prop 3)",
        )
    for n, a, t in zip(res.names, res.allowances, res.fees, strict=True):
        ax.annotate(n, (a, max(t, 1e-9)), textcoords="offset points", xytext=(4, -10), fontsize=8)
    ax.set_xlabel(f"allowance ({res.menu.unit})")
    ax.set_ylabel("monthly fee (USD)")
    ax.set_title(f"{res.menu.name}: menu")
    ax.legend(fontsize=8)


def _ax_types(ax, res: CalibrationResult) -> None:  # type: ignore[no-untyped-def]
    ok = np.isfinite(res.masses)
    ax.bar(np.arange(res.menu.K)[ok], np.where(ok, res.masses, 0)[ok], color="C2")
    ax.set_xticks(
        np.arange(res.menu.K),
        [f"{n}\nθ={t:.3g}" for n, t in zip(res.names, res.theta, strict=True)],
        fontsize=7,
    )
    ax.axhline(0, color="k", lw=0.6)
    ax.set_ylabel("implied mass f_k")
    ax.set_title("implied type distribution (C2, C6)")


def _ax_markups(ax, res: CalibrationResult) -> None:  # type: ignore[no-untyped-def]
    x = np.arange(res.menu.K)
    ax.plot(x, res.m, "o-", label="m = θ/C'(Q) (eq. 14)")
    ax.plot(x, res.r, "s-", label="r = T/C(Q) (min spend)")
    ax.axhline(1, color="k", lw=0.6, ls=":")
    ax.set_xticks(x, res.names, fontsize=8)
    ax.set_ylabel("markup")
    ax.set_title("markups by tier")
    ax.legend(fontsize=8)


def _ax_ident(ax, iset: IdentifiedSet) -> None:  # type: ignore[no-untyped-def]
    ax.plot(iset.grid_sigma_total, iset.margin, color="C0")
    ax.axhline(0, color="k", lw=0.6)
    for lo, hi in iset.intervals_sigma_total:
        ax.axvspan(lo, hi, color="C2", alpha=0.25)
    ax.set_xlabel("σ + σ̂ = 1/b")
    ax.set_ylabel("smallest relative slack of (C7)")
    ax.set_yscale("symlog", linthresh=1e-2)
    ax.set_title("identified set (shaded)")


def _save(fig, path: str | Path) -> None:  # type: ignore[no-untyped-def]
    fig.savefig(path, dpi=120)
    _plt().close(fig)


def _one_panel(draw: Callable[[Any, Any], None], obj: Any, path: str | Path) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4.5), constrained_layout=True)
    draw(ax, obj)
    _save(fig, path)


def plot_menu(res: CalibrationResult, path: str | Path) -> None:
    """Posted menu against the calibrated optimum (or the nearest consistent menu), log axes."""
    _one_panel(_ax_menu, res, path)


def plot_types(res: CalibrationResult, path: str | Path) -> None:
    """Implied type distribution: mass of each tier's type."""
    _one_panel(_ax_types, res, path)


def plot_markups(res: CalibrationResult, path: str | Path) -> None:
    """Markups m_k and r_k by tier."""
    _one_panel(_ax_markups, res, path)


def plot_identified_set(iset: IdentifiedSet, path: str | Path) -> None:
    """Smallest slack of (C7) against sigma + sigma_hat, the identified set shaded."""
    _one_panel(_ax_ident, iset, path)


def plot_report(res: CalibrationResult, path: str | Path | Any) -> None:
    """All four panels in one PNG: menu, types, markups, identified set."""
    plt = _plt()
    fig, axes = plt.subplots(2, 2, figsize=(12, 9), constrained_layout=True)
    _ax_menu(axes[0, 0], res)
    _ax_types(axes[0, 1], res)
    _ax_markups(axes[1, 0], res)
    _ax_ident(axes[1, 1], res.identified if res.identified is not None else identified_set(res.menu))
    _save(fig, path)


def plot_allowance_set(aset: AllowanceSet, path: str | Path | Any, n_sigma: int = 120) -> None:
    """The feasible region in (M, sigma + sigma_hat): where the menu passes (C7), shaded; the fixed-b line."""
    plt = _plt()
    Ms = np.geomspace(aset.lo, aset.hi, 160)
    ss = np.linspace(SCAN_LO, SCAN_HI, int(n_sigma))
    ok = np.zeros((ss.size, Ms.size), dtype=bool)
    for j, M in enumerate(Ms):
        try:
            T, A, _ = _checked(aset.menu.with_allowances({aset.tier: float(M)}))
        except ProblemSpecError:
            continue
        ok[:, j] = [_margin(T, A, 1.0 / s) > 0 for s in ss]
    fig, ax = plt.subplots(figsize=(6.5, 4.5), constrained_layout=True)
    ax.contourf(Ms, ss, ok.astype(float), levels=[0.5, 1.5], colors=["C2"], alpha=0.35)
    ax.axhline(1.0 / aset.cost_exponent, color="C1", ls="--", lw=1, label=f"b = {aset.cost_exponent:.3g}")
    for a, z in aset.intervals_at_b:
        ax.plot([a, z], [1.0 / aset.cost_exponent] * 2, color="C1", lw=3)
    for a, _ in aset.intervals:
        ax.axvline(a, color="C0", lw=0.8, ls=":", label=f"lower end M = {a:.4g}")
    ax.set_xscale("log")
    ax.set_xlabel(f"allowance of {aset.tier} ({aset.menu.unit})")
    ax.set_ylabel("σ + σ̂ = 1/b")
    ax.set_title(f"{aset.menu.name}\n(M, σ+σ̂) where the posted menu can be optimal (shaded)", fontsize=10)
    ax.legend(fontsize=8)
    _save(fig, path)
