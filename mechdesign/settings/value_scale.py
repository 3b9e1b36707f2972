r"""Value-scale heterogeneity (BBS Appendix B.3, Prop 10): the contractible program against the benchmark.

:func:`solve_value_scale` solves the contractible program (:mod:`mechdesign.settings.contractible`) on the
task profiles of eq. (54) and compares it with the closed forms of
:mod:`mechdesign.analytic.value_scale`:

* the observable-scale benchmark (eqs. 61-63 per scale; an upper bound, since it drops the
  cross-scale ICs) — under Assumption 2 the two profits coincide (Prop 10);
* which IC constraints bind (duals): within a scale only, or also across scales;
* Assumption 2 on the grid and the benchmark menu's own cross-scale audit;
* the best menu of token budgets (non-contractible, §4): by Prop 2 it is the exact discrete menu for
  the aggregate types :math:`\theta(w, s) = w\,s^{1-\sigma}` (eq. 7), so the difference is the value of
  contracting on tasks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from mechdesign.analytic.value_scale import (
    Assumption2Report,
    ValueScaleMenu,
    ValueScaleTypes,
    assumption2,
    observable_scale_menu,
)
from mechdesign.engine.audit import ACTIVE_TOL
from mechdesign.problemreaders import TECHNOLOGY_FILE_SCHEMA, read_technology_file
from mechdesign.settings.base import DEFAULT_IC, DEFAULT_SOLVER, SolveOptions, resolves_options
from mechdesign.settings.contractible import solve_contractible
from mechdesign.settings.contractible_result import ContractibleResult
from mechdesign.settings.results import ResultBase, jsonable
from mechdesign.settings.spec import SettingSpec
from mechdesign.technology import Technology

FloatArray = np.ndarray

#: a type's rent counts as positive above this share of the largest gross payoff
RENT_TOL = 1e-6
#: a cross-scale IC counts as binding when its multiplier exceeds this (multipliers are in units of
#: probability mass; an interior-point method leaves ~1e-7 on constraints slack by ~1e-12)
CROSS_DUAL_TOL = 1e-5


@dataclass
class ValueScaleResult(ResultBase):
    """Numeric contractible menu for value-scale types, the benchmark, and the comparison."""

    name: str
    types: ValueScaleTypes
    numeric: ContractibleResult
    benchmark: ValueScaleMenu
    assumption2: Assumption2Report
    budget_menu_profit: float
    comparison: dict[str, Any] = field(default_factory=dict)

    @property
    def profit(self) -> float:
        """The contractible program's profit."""
        return self.numeric.profit

    @property
    def status(self) -> str:
        """The contractible program's status."""
        return self.numeric.status

    @property
    def surplus(self) -> float:
        return self.numeric.surplus

    @property
    def consumer_surplus(self) -> float:
        return self.numeric.consumer_surplus

    @property
    def certificate(self) -> object:
        return self.numeric.certificate

    def to_frame(self) -> pd.DataFrame:
        df = self.table()
        df.index.name = "type"
        return df

    @property
    def total_quality(self) -> FloatArray:
        """Numeric total quality :math:`\\int_0^s g\\,di` per type, shape ``(M, N_w)``."""
        prof = self.types.to_profiles()
        valued = prof.w > 0
        q = np.where(valued, self.numeric.quality, 0.0) @ prof.measures
        return q.reshape(self.types.s.size, self.types.w.n)

    def table(self) -> pd.DataFrame:
        """One row per (w, s): numeric and benchmark quality and transfer."""
        w, s = self.types.pairs
        return pd.DataFrame({
            "w": w, "s": s, "prob": self.types.prob,
            "quality": self.total_quality.ravel(), "quality_benchmark": self.benchmark.quality.ravel(),
            "transfer": self.numeric.transfer, "transfer_benchmark": self.benchmark.transfer.ravel(),
        })

    def summary(self) -> str:
        c = self.comparison
        a2 = self.assumption2
        gain = c["benchmark_cross_scale_gain_rel"]
        lines = [
            (f"mechdesign value-scale menu (Appendix B.3): {self.name}  ({self.types.w.n} values x "
             f"{self.types.s.size} scales = {self.types.n} types)"),
            "=" * 78,
            (f"status            {self.numeric.status}; audit {'PASS' if self.numeric.audit.passed else 'FAIL'} "
             f"(max IC violation {self.numeric.audit.max_ic_violation_rel:.2e} rel)"),
            (f"profit            contractible {self.numeric.profit:.10g}   observable-scale benchmark "
             f"{self.benchmark.profit:.10g}   gap {c['profit_gap_rel']:.2e} rel"),
            (f"budget menu (§4)  {self.budget_menu_profit:.10g}   value of contracting on tasks "
             f"{c['value_of_contracting_rel']:.2%}"),
            (f"Assumption 2      {'holds' if a2.holds else 'FAILS'} on s in [{a2.s_grid[0]:g}, {a2.s_grid[-1]:g}] "
             f"(min slack {a2.min_slack:.3g} at w = {a2.worst[0]:.4g}, s = {a2.worst[1]:.4g})"),
            (f"benchmark menu    best cross-scale gain {gain:.3g} rel "
             f"({'IC across scales' if gain <= 1e-12 else 'NOT IC across scales'})"),
            (f"binding ICs       {c['active_within']} within-scale, {c['active_cross']} cross-scale "
             f"(dual > {ACTIVE_TOL:g}); cross-scale with dual > {CROSS_DUAL_TOL:g} for types with positive rent: "
             f"{c['active_cross_positive_rent']} (the others tie zero-rent types, restating IR)"),
            (f"vs benchmark      quality {c['quality_rel_error']:.2e}, transfer {c['transfer_rel_error']:.2e} "
             "(max abs / max, relative)"),
            "", "Menu (first rows):"]
        with pd.option_context("display.width", 140, "display.float_format", "{:.6g}".format):
            lines.append(self.table().head(24).to_string())
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        out = self.numeric.to_dict()
        out["problem"] = {"name": self.name, "kind": "value_scale", "measures": self.numeric.measures}
        w, s = self.types.pairs
        menu: list[dict[str, object]] = out["menu"]  # type: ignore[assignment]
        for row, wk, sk, qk in zip(menu, w, s, self.total_quality.ravel()):
            row.update(value=float(wk), scale=float(sk), total_quality=float(qk))
        out["analytic"] = {
            "kind": "observable-scale benchmark (eqs. 61-63)", "profit": self.benchmark.profit,
            "quality": self.benchmark.quality.ravel(), "transfer": self.benchmark.transfer.ravel(),
            "assumption2": {"holds": self.assumption2.holds, "min_slack": self.assumption2.min_slack,
                            "worst_w_s": list(self.assumption2.worst)},
            "budget_menu_profit": self.budget_menu_profit,
        }
        out["comparison"] = self.comparison
        out["options"] = dict(self.options)
        return jsonable(out)  # type: ignore[return-value]


def solve_value_scale(tech: Technology, types: ValueScaleTypes, ic: str = DEFAULT_IC["value_scale"],
                      solver: str = DEFAULT_SOLVER,
                      name: str = "value-scale problem", time_limit: float | None = None) -> ValueScaleResult:
    """Solve the contractible program for value-scale types and compare with Prop 10's benchmark."""
    prof = types.to_profiles()
    num = solve_contractible(tech, prof, ic=ic, solver=solver, name=name, time_limit=time_limit)
    bench = observable_scale_menu(tech, types)
    a2 = assumption2(tech, types.w, float(types.s[0]), float(types.s[-1]))
    assert num.cost_based is not None  # the best budget menu for the same profiles (solve_contractible)
    budget = num.cost_based.profit
    res = ValueScaleResult(name, types, num, bench, a2, budget)
    q_num = res.total_quality.ravel()
    q_ref = max(float(np.abs(bench.quality).max()), 1e-300)
    t_ref = max(float(np.abs(bench.transfer).max()), 1e-300)
    gross = float(np.max(types.pairs[0] * bench.quality.ravel()))
    gain, _ = bench.cross_scale_gain()
    _, s_of = types.pairs
    act = [(int(n), int(m)) for (n, m), d in zip(num.ic_pairs.tolist(), num.ic_duals) if d > ACTIVE_TOL]
    cross = [(n, m) for n, m in act if s_of[n] != s_of[m]]
    strong = {(int(n), int(m)) for (n, m), d in zip(num.ic_pairs.tolist(), num.ic_duals) if d > CROSS_DUAL_TOL}
    # a binding IC of a type with zero rent against an item worth zero to it only restates its IR (the
    # lowest served type of every scale, and excluded types, tie with each other): count those apart
    w_of = types.pairs[0]
    rent = w_of * q_num - num.transfer
    pos = rent > RENT_TOL * gross
    cross_pos = [(n, m) for n, m in cross if pos[n] and (n, m) in strong]
    res.comparison = {
        "profit_gap_rel": (bench.profit - num.profit) / max(abs(bench.profit), 1e-300),
        "quality_rel_error": float(np.abs(q_num - bench.quality.ravel()).max() / q_ref),
        "transfer_rel_error": float(np.abs(num.transfer - bench.transfer.ravel()).max() / t_ref),
        "benchmark_cross_scale_gain_rel": gain / max(gross, 1e-300),
        "active_within": len(act) - len(cross), "active_cross": len(cross),
        "active_cross_positive_rent": len(cross_pos),
        "cross_scale_active_pairs": cross_pos[:50],
        "value_of_contracting_rel": (num.profit - budget) / max(abs(num.profit), 1e-300),
    }
    return res


@dataclass
class ValueScaleProblem:
    """A value-scale problem (Appendix B.3): technology, values ``w`` and scales ``s``."""

    technology: Technology
    types: ValueScaleTypes
    name: str = "value-scale problem"
    source: dict[str, object] = field(default_factory=dict)

    #: the problem-file kind and the solve options this setting honours (the value grid is set in the file)
    kind: ClassVar[str] = "value_scale"
    options: ClassVar[tuple[str, ...]] = ("ic", "solver", "time_limit")

    @resolves_options
    def solve(self, options: SolveOptions | None = None, /, **kwargs: Any) -> ValueScaleResult:
        """Solve, certify, audit and compare with the observable-scale benchmark (Prop 10).

        Options: ``ic`` ('all' or 'adaptive'), ``solver``, ``time_limit``; any other is refused. The problem
        file's ``[solve]`` table gives the options the caller does not.
        """
        o = SolveOptions.make(options, **kwargs)  # resolved by @resolves_options
        return solve_value_scale(self.technology, self.types, ic=o.ic or DEFAULT_IC[self.kind],
                                 solver=o.solver or DEFAULT_SOLVER, name=self.name, time_limit=o.time_limit)


#: ``types.kind`` values a value-scale file accepts
TYPE_KINDS = ("value_scale",)


def read_value_scale(data: Mapping[str, object], kind: str, name: str, source: str) -> ValueScaleProblem:
    """The value-scale problem of a parsed file: ``[technology]``, ``[types]`` (values w, scales s), ``[solve]``."""
    f = read_technology_file(data, kind, source, TYPE_KINDS, ValueScaleProblem.options)
    assert isinstance(f.types, ValueScaleTypes)
    return ValueScaleProblem(f.technology, f.types, name=name, source=f.source)


SPEC = SettingSpec(
    kind="value_scale", word="value-scale", problem=ValueScaleProblem, result=ValueScaleResult,
    reader=read_value_scale, verbs=("solve", "plot", "sweep"), type_kinds=TYPE_KINDS,
    schema={**TECHNOLOGY_FILE_SCHEMA, "paper": "App. B.3", "tables": "technology, types (value_scale), solve"},
    defaults={"ic": DEFAULT_IC["value_scale"], "solver": DEFAULT_SOLVER},
    types_words="value-scale types (types.w.n sets the cells of w)")
