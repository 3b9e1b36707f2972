"""Posted price menus and API price lists: the records and their TOML readers (BBS §6, the data).

A menu file (``problems/observed/*.toml``, read by :func:`load_observed`) holds a price page's tiers, fees
and allowances, every fact with its source and effective date; an API price list (:func:`load_api_prices`)
holds token prices, the token-class marginal costs of BBS §2.1.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ... import _validate as V
from ...exceptions import ProblemFileError, ProblemSpecError
from ...technology import Technology, cobb_douglas

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
    continues: str = ""


@dataclass(frozen=True)
class Disagreement:
    """Sources that disagree on one field of one tier: every claim with its source, the value the file uses
    (``"unknown"`` when the field is left unset) and why."""

    tier: str
    field: str
    values: tuple[str, ...]
    sources: tuple[str, ...]
    used: str
    why: str

    def to_dict(self) -> dict[str, object]:
        return {
            "tier": self.tier,
            "field": self.field,
            "values": list(self.values),
            "sources": list(self.sources),
            "used": self.used,
            "why": self.why,
        }


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
    disagreements: tuple[Disagreement, ...] = ()

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
        _unique_names(tiers, "menu.tier_names")
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
                {
                    "name": t.name,
                    "fee": t.fee,
                    "allowance": t.allowance,
                    "note": t.note,
                    "source": t.source,
                    "effective_date": t.effective_date,
                    "continues": t.continues,
                }
                for t in self.tiers
            ],
            "unknown": self.unknown(),
            "disagreements": [d.to_dict() for d in self.disagreements],
        }

    def unknown(self) -> list[str]:
        """The fields no source gives (tier allowances left unset, an overage price not published)."""
        out = [f"allowance of tier {t.name!r}" for t in self.tiers if t.allowance is None]
        if self.billing == "overage" and self.overage_price is None:
            out.append("overage price per allowance unit")
        return out


def _unique_names(tiers: Sequence[Tier], where: str) -> None:
    seen: set[str] = set()
    for i, t in enumerate(tiers):
        if t.name in seen:
            raise ProblemSpecError(f"{where}[{i}].name", t.name, "must be unique: another tier has this name")
        seen.add(t.name)


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


_TIER_KEYS = ("name", "fee", "allowance", "unit", "note", "source", "effective_date", "continues")
#: an effective date: a year, a month or a day (ISO 8601)
_DATE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")


def _date(table: Mapping[str, object], where: str) -> str:
    val = _str(table, "effective_date", where)
    if not _DATE.match(val):
        raise ProblemSpecError(f"{where}.effective_date", val, "must be a date YYYY, YYYY-MM or YYYY-MM-DD")
    return val


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
    if allowance is not None and not (math.isfinite(allowance) and allowance > 0):
        raise ProblemSpecError(f"{where}.allowance", allowance, f"must be > 0 {unit} (omit it when unknown)")
    return Tier(
        name,
        fee,
        allowance,
        unit,
        _str(raw, "source", where),
        _date(raw, where),
        _str(raw, "note", where, required=False),
        _str(raw, "continues", where, required=False),
    )


def _disagreement(raw: object, where: str, tiers: Sequence[Tier]) -> Disagreement:
    if not isinstance(raw, Mapping):
        raise ProblemSpecError(where, raw, "must be a table ([[disagreements]])")
    _only(raw, ("tier", "field", "values", "sources", "used", "why"), where)
    name = _str(raw, "tier", where)
    by_name = {t.name: t for t in tiers}
    if name not in by_name:
        raise ProblemSpecError(f"{where}.tier", name, "must name a tier: " + ", ".join(repr(n) for n in by_name))
    field = V.one_of(f"{where}.field", raw.get("field"), ("fee", "allowance"))
    lists = {}
    for key in ("values", "sources"):
        val = raw.get(key)
        if not isinstance(val, list) or len(val) < 2 or not all(isinstance(v, str) and v.strip() for v in val):
            raise ProblemSpecError(f"{where}.{key}", val, "must list at least two non-empty strings")
        lists[key] = tuple(val)
    if len(lists["values"]) != len(lists["sources"]):
        raise ProblemSpecError(f"{where}.sources", list(lists["sources"]), "must give one source per value")
    used = _str(raw, "used", where)
    actual = getattr(by_name[name], field)
    if used == "unknown":
        if actual is not None:
            raise ProblemSpecError(f"{where}.used", used, f"says unknown but tier {name!r} states {field} = {actual}")
    else:
        try:
            num = float(used)
        except ValueError:
            raise ProblemSpecError(f"{where}.used", used, "must be a number or 'unknown'") from None
        if actual is None or not math.isclose(num, actual, rel_tol=1e-12):
            raise ProblemSpecError(f"{where}.used", used, f"must equal tier {name!r}'s {field} ({actual})")
    return Disagreement(name, field, lists["values"], lists["sources"], used, _str(raw, "why", where))


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
        _date(raw, where),
    )


def _read_toml(path: str | Path) -> dict[str, object]:
    p = Path(path)
    if p.is_dir():
        raise ProblemFileError(f"menu file {str(p)!r} is a folder, not a price page (.toml)")
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ProblemFileError(f"menu file not found: {p}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProblemFileError(f"{p} is not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ProblemFileError(f"menu file {str(p)!r} is not a UTF-8 text file") from None
    except OSError as exc:
        raise ProblemFileError(f"menu file {str(p)!r} cannot be read: {exc.strerror or exc}") from None


def load_observed(path: str | Path) -> ObservedMenu:
    """Read an observed price page (``problems/observed/*.toml``, table ``[menu]`` and ``[[tiers]]``).

    Every key is checked; every tier and model-cost entry must carry ``source`` and ``effective_date``
    (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``); tier names are unique. Tiers are returned sorted by
    allowance. A tier omits ``allowance`` when no source gives it (it is *unknown*: set it explicitly
    with :meth:`ObservedMenu.with_allowances` before calibrating, or let calibrate report the identified
    set over it). ``continues`` names the tier of an earlier snapshot that this tier continues (renamed
    tiers). ``[[disagreements]]`` records sources that disagree on a tier's fee or allowance: every
    claim with its source, the value the file uses (or ``"unknown"``) and why.
    """
    raw = _read_toml(path)
    if "prices" in raw and "menu" not in raw:
        raise ProblemSpecError(
            "menu", str(path), "is missing: this is an API price list; use load_api_prices"
        )
    _only(raw, ("menu", "tiers", "extra_tiers", "model_costs", "disagreements"), "file")
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
    _unique_names(tiers, "tiers")
    extra_raw: list[Any] = list(raw.get("extra_tiers", []) or [])  # type: ignore[call-overload]
    costs_raw: list[Any] = list(raw.get("model_costs", []) or [])  # type: ignore[call-overload]
    extra = tuple(_tier(t, f"extra_tiers[{i}]", unit) for i, t in enumerate(extra_raw))
    costs = tuple(_model_cost(m, f"model_costs[{i}]") for i, m in enumerate(costs_raw))
    dis_raw: list[Any] = list(raw.get("disagreements", []) or [])  # type: ignore[call-overload]
    dis = tuple(_disagreement(d, f"disagreements[{i}]", tiers + extra) for i, d in enumerate(dis_raw))
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
        effective_date=_date(menu, "menu"),
        extra_tiers=extra,
        model_costs=costs,
        path=str(path),
        disagreements=dis,
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
