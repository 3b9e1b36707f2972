"""The result of the contractible-task program (BBS Appendix B): :class:`ContractibleResult`, the menu
of per-segment qualities and transfers with its audit, certificate, Prop 9 and cost-based comparisons,
and its summary, table and dictionary forms. The program that makes it is
:mod:`mechdesign.settings.contractible`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mechdesign.analytic.contractible import BinaryMenu
from mechdesign.analytic.cost_based import CostBasedTariff
from mechdesign.engine.audit import ACTIVE_TOL, AuditReport
from mechdesign.engine.certificate import Certificate
from mechdesign.settings.results import ResultBase, contract, multiplier_binding

FloatArray = np.ndarray


@dataclass
class ContractibleResult(ResultBase):
    """Numeric contractible menu: per-segment qualities (N, T), transfers, profit, audit, duals.

    For two types, ``analytic`` holds Prop 9's closed form (as corrected in
    :mod:`mechdesign.analytic.contractible`) and ``comparison`` the errors against it.
    """

    name: str
    w: FloatArray
    prob: FloatArray
    measures: FloatArray
    quality: FloatArray
    transfer: FloatArray
    profit: float
    audit: AuditReport
    ic_pairs: FloatArray
    ic_duals: FloatArray
    ir_duals: FloatArray
    status: str
    solver: dict[str, object] = field(default_factory=dict)
    analytic: BinaryMenu | None = None
    comparison: dict[str, object] = field(default_factory=dict)
    cost_based: CostBasedTariff | None = None
    separability_gap: float = float("nan")
    certificate: Certificate | None = None
    #: per-type cost of the menu's tokens (natural units)
    cost: FloatArray | None = None

    @property
    def gross(self) -> FloatArray:
        """Each type's gross payoff from its own item, sum_t mu_t w_t q_t."""
        return np.sum(self.w * self.measures[None, :] * self.quality, axis=1)

    @property
    def rent(self) -> FloatArray:
        return self.gross - self.transfer

    @property
    def surplus(self) -> float:
        cost = np.zeros(len(self.prob)) if self.cost is None else self.cost
        return float(self.prob @ (self.gross - cost))

    @property
    def consumer_surplus(self) -> float:
        return float(self.prob @ self.rent)

    def to_frame(self) -> pd.DataFrame:
        """One row per type: probability, per-segment values and qualities, transfer, rent, cost."""
        T = self.w.shape[1]
        df = pd.DataFrame({"prob": self.prob})
        for t in range(T):
            df[f"w_{t + 1}"] = self.w[:, t]
        for t in range(T):
            df[f"q_{t + 1}"] = self.quality[:, t]
        df["transfer"] = self.transfer
        df["rent"] = self.rent
        if self.cost is not None:
            df["cost"] = self.cost
        df.index.name = "type"
        return df

    @property
    def contracting_gain_rel(self) -> float:
        """(contractible profit - best cost-based tariff profit) / contractible profit (Prop 8: 0 if separable)."""
        if self.cost_based is None:
            return float("nan")
        return (self.profit - self.cost_based.profit) / max(abs(self.profit), 1e-300)

    def summary(self) -> str:
        lines = [f"mechdesign contractible menu: {self.name}  ({len(self.prob)} types x {self.w.shape[1]} "
                 "task segments)",
                 "=" * 78,
                 f"status            {self.status}",
                 f"profit            {self.profit:.10g}",
                 (f"audit             max IC violation {self.audit.max_ic_violation_rel:.2e} rel, max IR violation "
                  f"{self.audit.max_ir_violation_rel:.2e} rel; {'PASS' if self.audit.passed else 'FAIL'}"),
                 f"certificate       {self.certificate.line() if self.certificate else 'none'}",
                 "", "Menu (per-segment quality q_t, transfer):"]
        table = pd.DataFrame(self.quality, columns=[f"q_{t + 1}" for t in range(self.w.shape[1])])
        table.insert(0, "prob", self.prob)
        table["transfer"] = self.transfer
        table.index.name = "type"
        with pd.option_context("display.width", 140, "display.float_format", "{:.6g}".format):
            lines.append(table.to_string() if len(table) <= 20 else table.head(20).to_string())
        act = [tuple(p) for p, d in zip(self.ic_pairs.tolist(), self.ic_duals) if d > ACTIVE_TOL]
        lines.append(f"active IC pairs [type, item]: {act[:20]}; active IR: "
                     f"{np.flatnonzero(self.ir_duals > ACTIVE_TOL).tolist()}")
        if self.analytic is not None:
            an = self.analytic
            case = ("full surplus extraction" if an.full_extraction else
                    "IC of H and both IRs bind (kink; corrected Prop 9)" if an.kink else "IC of H and IR of L bind")
            lines.append(f"Prop 9 (closed form): high type {an.high}, condition (52) = {an.condition_52:.6g}, {case}; "
                         f"profit {an.profit:.10g}")
            c = self.comparison
            lines.append(f"Numeric vs Prop 9: profit {c['profit_rel_error']:.2e}, "
                         f"quality {c['quality_rel_error']:.2e}, transfer {c['transfer_rel_error']:.2e} (relative)")
        if self.cost_based is not None:
            sep = self.separability_gap <= 1e-12
            lines.append("Cost-based tariff (Def 4, best menu of token budgets): "
                         f"profit {self.cost_based.profit:.10g}; "
                         f"contracting on tasks gains {self.contracting_gain_rel:.3e} relative")
            lines.append("Type distribution is separable (Def 6): Prop 8 predicts no gain" if sep else
                         f"Type distribution is not separable (max |P(size,dir) - P(size)P(dir)| = "
                         f"{self.separability_gap:.3g}): Prop 8 does not apply")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        cost = np.full(len(self.prob), np.nan) if self.cost is None else self.cost
        rows = [{"type": n, "prob": self.prob[n], "w": self.w[n], "quality": self.quality[n],
                 "transfer": self.transfer[n], "rent": self.rent[n], "cost": cost[n]} for n in range(len(self.prob))]
        binding = multiplier_binding(self.ic_pairs, self.ic_duals, self.ir_duals, self.rent, self.gross)
        analytic = comparison = None
        if self.analytic is not None:
            an = self.analytic
            analytic = {"kind": "Prop 9 (corrected)", "high": an.high, "condition_52": an.condition_52,
                        "full_extraction": an.full_extraction, "kink": an.kink, "lambda": an.lam,
                        "quality": an.quality, "transfer": an.transfer, "profit": an.profit}
            comparison = self.comparison
        extra: dict[str, object] = {}
        if self.cost_based is not None:
            extra["cost_based"] = {"kind": "cost-based tariff (Def 4)", "profit": self.cost_based.profit,
                                   "budget": self.cost_based.budget, "payment": self.cost_based.fee,
                                   "contracting_gain_rel": self.contracting_gain_rel,
                                   "separability_gap": self.separability_gap}
        return contract({"name": self.name, "kind": "contractible", "measures": self.measures}, self.status,
                        self.profit, self.surplus, self.consumer_surplus, rows, binding, self.audit.to_dict(),
                        None if self.certificate is None else self.certificate.to_dict(), self.solver, analytic,
                        comparison, options=dict(self.options), **extra)
