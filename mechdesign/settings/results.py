"""Result objects: one ``summary()`` drives ``__str__``, ``__repr__`` and ``_repr_html_``; tables are pandas."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from mechdesign.analytic.monopoly import ContinuousMenu, DiscreteMenu
from mechdesign.engine.audit import AuditReport, BindingSets
from mechdesign.engine.certificate import Certificate
from mechdesign.settings.comparisons import Comparison

FloatArray = np.ndarray


def jsonable(obj: object) -> object:
    """``obj`` with numpy scalars and arrays, tuples and data frames (as records) made JSON-ready; non-finite
    numbers become None."""
    if isinstance(obj, pd.DataFrame):
        return jsonable(obj.to_dict(orient="records"))
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return f if np.isfinite(f) else None
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


_MENU_ROWS = "menu rows"  # placeholder, replaced after the rest is made JSON-ready


class SummaryMixin:
    """``__str__``, ``__repr__`` and ``_repr_html_`` from one ``summary()``."""

    def summary(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return "<pre>" + self.summary().replace("&", "&amp;").replace("<", "&lt;") + "</pre>"


class ResultBase(SummaryMixin):
    """What every setting's result shares: the output contract and the ways to write it.

    Subclasses provide ``summary()``, ``to_frame()`` (one row per type) and ``to_dict()``, whose keys
    include every entry of :data:`mechdesign.settings.base.CONTRACT_KEYS` (``None`` where the setting
    has no such thing). ``status`` is ``"optimal"`` only when the menu is certified
    (:func:`mechdesign.settings.base.decide_status`). ``options`` are the options the solve ran with (the
    caller's over the problem file's ``[solve]``; set by :func:`mechdesign.settings.base.resolves_options`).
    """

    options: Mapping[str, object] = MappingProxyType({})

    def to_frame(self) -> pd.DataFrame:  # pragma: no cover - overridden
        raise NotImplementedError

    def to_dict(self) -> dict[str, object]:  # pragma: no cover - overridden
        raise NotImplementedError

    def sweep_row(self) -> dict[str, object]:
        """Setting-specific numbers for one row of a parameter sweep (beyond status, profit and surpluses)."""
        return {}

    def to_json(self, path: str | Path) -> None:
        """Write :meth:`to_dict` as JSON."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=1))

    def to_csv(self, path: str | Path) -> None:
        """Write :meth:`to_frame` as CSV (type index as the first column)."""
        self.to_frame().to_csv(path, index_label="type")


def contract(problem: Mapping[str, Any], status: str, profit: float, surplus: float | None,
             consumer_surplus: float | None, menu: list[dict[str, Any]], binding: Mapping[str, Any] | None,
             audit: Mapping[str, Any] | None, certificate: Mapping[str, Any] | None, solver: Mapping[str, Any],
             analytic: object = None, comparison: object = None, **extra: object) -> dict[str, object]:
    """The JSON output contract (docs/architecture.md) as one dict, JSON-ready; ``extra`` keys are added after."""
    out: dict[str, object] = {
        "problem": problem, "status": status, "profit": profit, "surplus": surplus,
        "consumer_surplus": consumer_surplus, "menu": menu, "binding": binding, "audit": audit,
        "certificate": certificate, "solver": solver, "analytic": analytic, "comparison": comparison, **extra,
    }
    return jsonable(out)  # type: ignore[return-value]


def multiplier_binding(ic_pairs: np.ndarray, ic_duals: np.ndarray, ir_duals: np.ndarray, rent: np.ndarray,
                       gross: np.ndarray) -> dict[str, object]:
    """Binding constraints of a vector-type menu from the final program's multipliers: IC pairs and IR
    rows with a multiplier above the audit's active tolerance, and the IR rows tight at the menu."""
    from mechdesign.engine.audit import ACTIVE_TOL

    act = np.asarray(ic_duals) > ACTIVE_TOL
    scale = max(float(np.max(np.abs(gross), initial=0.0)), 1e-300)
    return {"ic_tight": None, "ic_active": np.asarray(ic_pairs)[act], "ic_active_duals": np.asarray(ic_duals)[act],
            "ir_tight": np.flatnonzero(np.asarray(rent) <= 1e-7 * scale),
            "ir_active": np.flatnonzero(np.asarray(ir_duals) > ACTIVE_TOL), "active_tol": ACTIVE_TOL,
            "note": "ic_active: pairs of the final program with a multiplier above active_tol"}


def scalar_binding(theta: np.ndarray, quality: np.ndarray, transfer: np.ndarray, audit: AuditReport,
                   max_n: int = 5000) -> dict[str, object]:
    """Tight IC pairs and IR rows of a scalar-type menu with linear payoffs (no multipliers)."""
    from mechdesign.engine.audit import JSON_MAX_PAIRS, TIGHT_RTOL, tight_pairs

    atol = TIGHT_RTOL * audit.scale
    pairs = tight_pairs(theta, quality, transfer, atol) if len(theta) <= max_n else None
    rent = np.asarray(theta) * np.asarray(quality) - np.asarray(transfer)
    listed = pairs is not None and len(pairs) <= JSON_MAX_PAIRS
    return {"ic_tight": pairs.tolist() if listed else None,  # type: ignore[union-attr]
            "ic_tight_count": None if pairs is None else len(pairs), "ic_tight_listed": bool(listed),
            "ic_active": None, "ir_tight": np.flatnonzero(rent <= atol).tolist(), "ir_active": None,
            "tight_atol": atol, "note": "multipliers are not reported by this setting's certificate"}


@dataclass
class MenuResult(ResultBase):
    """The optimal menu of a single-model problem, with its audit, binding sets and comparison.

    Attributes
    ----------
    menu : pandas.DataFrame
        One row per type (0-based index in ascending theta): ``theta``, ``prob``, ``quality`` (Q),
        ``transfer`` (t), ``rent`` (U = theta Q - t), one column per token class (budgets), ``cost``.
    profit, surplus, consumer_surplus : float
        Expected profit, total surplus and buyer rent of the numeric menu (from the menu's numbers,
        not the solver's objective).
    audit : AuditReport
        All-pairs IC and IR audit (independent of the solver's constraints).
    binding : BindingSets
        Tight and active constraints.
    analytic : DiscreteMenu or None
        The exact discrete closed-form menu (Prop 3, discrete version).
    continuous : ContinuousMenu or None
        Prop 3's continuous menu, when the types come from a continuous distribution.
    comparison : Comparison or None
        Errors numeric vs analytic and binding-set agreement.
    """

    problem_name: str
    problem_info: dict[str, object]
    status: str
    menu: pd.DataFrame
    profit: float
    surplus: float
    consumer_surplus: float
    audit: AuditReport
    binding: BindingSets
    solver: dict[str, object]
    analytic: DiscreteMenu | None = None
    continuous: ContinuousMenu | None = None
    comparison: Comparison | None = None
    notes: list[str] = field(default_factory=list)
    certificate: Certificate | None = None

    @property
    def quality(self) -> FloatArray:
        """Aggregate quality per type (Q)."""
        return self.menu["quality"].to_numpy()

    @property
    def transfer(self) -> FloatArray:
        """Transfer per type (t)."""
        return self.menu["transfer"].to_numpy()

    def binding_table(self) -> pd.DataFrame:
        """Counts of tight and active constraints by group."""
        return self.binding.groups()

    def summary(self) -> str:
        lines = []
        n = len(self.menu)
        lines.append(f"mechdesign menu: {self.problem_name}  ({n} types, IC strategy "
                     f"{self.solver.get('ic')}, solver {self.solver.get('name')})")
        lines.append("=" * 78)
        lines.append(f"status            {self.status}")
        lines.append(f"profit            {self.profit:.10g}")
        lines.append(f"surplus           {self.surplus:.10g}")
        lines.append(f"consumer surplus  {self.consumer_surplus:.10g}")
        a = self.audit
        lines.append(f"audit             max IC violation {a.max_ic_violation:.3e} "
                     f"({a.max_ic_violation_rel:.2e} rel), max IR violation {a.max_ir_violation:.3e} "
                     f"({a.max_ir_violation_rel:.2e} rel); {'PASS' if a.passed else 'FAIL'} at rtol {a.rtol:g}")
        if self.certificate is not None:
            lines.append(f"certificate       {self.certificate.line()}")
        times = self.solver.get("times", {})
        assert isinstance(times, dict)
        lines.append("solver            " + ", ".join(f"{k} {v:.3f}s" for k, v in times.items())
                     + f"; rounds {self.solver.get('rounds')}; IC rows {self.solver.get('ic_pairs')}")
        lines.append("")
        lines.append("Menu (quality Q, transfer t, rent U, token budgets):")
        shown = self.menu if n <= 20 else pd.concat([self.menu.head(10), self.menu.tail(10)])
        with pd.option_context("display.width", 120, "display.max_columns", 20,
                               "display.float_format", "{:.6g}".format):
            text = shown.to_string()
        lines.append(text)
        if n > 20:
            lines.append(f"... ({n - 20} rows not shown; see .menu or --csv)")
        lines.append("")
        lines.append("Binding constraints (tight: slack <= "
                     f"{self.binding.tight_atol:.2e}; active: dual > {self.binding.active_tol:g}):")
        lines.append(self.binding_table().to_string())
        if self.analytic is not None:
            an = self.analytic
            lines.append("")
            low = an.lowest_served
            cutoff = "none served" if low is None else f"type {low} (theta = {an.types.theta[low]:.6g})"
            lines.append(f"Analytic (exact discrete menu, Prop 3): profit {an.profit:.10g}; lowest served "
                         f"{cutoff}; pooled blocks {an.pooled_blocks or 'none'}")
        if self.comparison is not None:
            c = self.comparison
            lines.append(f"Numeric vs analytic: profit {c.profit_rel_error:.2e}, quality {c.quality_rel_error:.2e}, "
                         f"transfer {c.transfer_rel_error:.2e} (relative); binding sets "
                         f"{'agree' if c.binding_agree else 'DISAGREE'}; pooled blocks numeric "
                         f"{c.pooled_numeric or 'none'}")
            if c.continuous:
                cc = c.continuous
                lines.append(f"Against the continuous closed form (Prop 3, eqs. 12-13): quality "
                             f"{cc['quality_rel_error']:.2e}, transfer {cc['transfer_rel_error']:.2e}, "
                             f"profit {cc['profit_rel_error']:.2e} (discretisation error, ~1/N)")
        for note in self.notes:
            lines.append(f"note: {note}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        """The JSON output contract (docs/architecture.md)."""
        m = self.menu
        token_cols = [c for c in m.columns if c.startswith(("X_", "Z_"))]
        cols = {c: m[c].to_numpy(dtype=float).tolist() for c in ["prob", "theta", "quality", "transfer", "rent", "cost",
                                                                   *token_cols]}
        index = [int(i) for i in m.index]
        rows = [
            {"type": index[i], "prob": cols["prob"][i], "theta": cols["theta"][i], "quality": cols["quality"][i],
             "transfer": cols["transfer"][i], "rent": cols["rent"][i], "cost": cols["cost"][i],
             "tokens": {c: cols[c][i] for c in token_cols}}
            for i in range(len(index))
        ]
        out: dict[str, object] = {
            "problem": {"name": self.problem_name, **self.problem_info},
            "status": self.status,
            "profit": self.profit,
            "surplus": self.surplus,
            "consumer_surplus": self.consumer_surplus,
            "menu": _MENU_ROWS,
            "binding": self.binding.to_dict(),
            "audit": self.audit.to_dict(),
            "certificate": None if self.certificate is None else self.certificate.to_dict(),
            "solver": self.solver,
            "options": dict(self.options),
            "notes": self.notes,
        }
        if self.analytic is not None:
            an = self.analytic
            out["analytic"] = {
                "kind": "exact discrete menu (Prop 3 with discrete virtual values, ironed)",
                "profit": an.profit, "surplus": an.surplus, "consumer_surplus": an.consumer_surplus,
                "lowest_served": an.lowest_served,
                "pooled_blocks": [list(b) for b in an.pooled_blocks],
                "quality": an.quality, "transfer": an.transfer,
                "virtual_value": an.phi, "ironed_virtual_value": an.phi_bar,
            }
            if self.continuous is not None:
                out["analytic"]["continuous"] = {  # type: ignore[index]
                    "cutoff": self.continuous.cutoff,
                    "pooled_intervals": [list(b) for b in self.continuous.pooled_intervals],
                    "quality": self.continuous.quality(self.menu["theta"].to_numpy()),
                    "transfer": self.continuous.transfer(self.menu["theta"].to_numpy()),
                }
        out.setdefault("analytic", None)
        out["comparison"] = None if self.comparison is None else self.comparison.to_dict()
        out = jsonable(out)  # type: ignore[assignment]
        out["menu"] = rows  # plain Python floats already (finite: the menu passed its audit)
        return out

    def to_frame(self) -> pd.DataFrame:
        """The menu table (one row per type)."""
        return self.menu
