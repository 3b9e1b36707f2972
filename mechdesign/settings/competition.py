"""§5 problems (multiple models, leader vs fringe): closed forms, reports and Figure 1.

Multi-model problems are solved numerically with a certificate (:mod:`mechdesign.settings.multimodel`),
leader-fringe problems with :mod:`mechdesign.settings.leader_fringe` (fringe without fine-tuning, Lemma 4's payoff).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from mechdesign.analytic.leader_fringe import LeaderFringe
from mechdesign.analytic.multimodel import MultiModel
from mechdesign.exceptions import ProblemSpecError
from mechdesign.settings.base import DEFAULT_IC, DEFAULT_N, SolveOptions
from mechdesign.settings.results import _jsonable
from mechdesign.types import DiscreteTypes, Distribution

if TYPE_CHECKING:
    from mechdesign.settings.leader_fringe import LeaderResult
    from mechdesign.settings.multimodel import MultiModelResult

FloatArray = np.ndarray


def _check_n(n: int | None, types: DiscreteTypes | Distribution) -> None:
    if n is not None and isinstance(types, DiscreteTypes):
        raise ProblemSpecError("n", n, "sets the cells of a continuous type distribution; these types are "
                               f"discrete ({types.n} types given)", "Drop n.")


def _discrete(types: DiscreteTypes | Distribution, n: int) -> DiscreteTypes:
    return types if isinstance(types, DiscreteTypes) else types.discretize(n)


@dataclass
class MultiModelProblem:
    """Several models sharing sigma (§5.1-5.2) and scalar types."""

    models: MultiModel
    types: DiscreteTypes | Distribution
    n: int = 200
    name: str = "multi-model problem"
    source: dict[str, object] = field(default_factory=dict)

    def analytic(self, n: int | None = None) -> dict[str, object]:
        """Prop 5's switch types and jump ratios, Prop 6's exact discrete menu (model per type)."""
        dt = _discrete(self.types, n or self.n)
        model, Q, t, margin = self.models.discrete_monopoly(dt)
        switches = self.models.switch_types()
        names = [m.name or f"model{i}" for i, m in enumerate(self.models.models)]
        return {
            "kind": "Props 5-6 (closed form)",
            "switch_types": [s[0] for s in switches],
            "switches": [{"theta": s[0], "from": names[s[1]], "to": names[s[2]],
                          "jump_ratio": self.models.jump_ratio(s[1], s[2])} for s in switches],
            "menu": [{"theta": float(th), "prob": float(p), "model": names[m] if m >= 0 else None,
                      "quality": float(q), "transfer": float(tt)}
                     for th, p, m, q, tt in zip(dt.theta, dt.prob, model, Q, t)],
            "profit": float(dt.prob @ margin),
        }

    #: the problem-file kind and the solve options this setting honours
    kind: ClassVar[str] = "multimodel"
    options: ClassVar[tuple[str, ...]] = ("n", "ic")

    def solve(self, options: SolveOptions | None = None, /, **kwargs: Any) -> MultiModelResult:
        """The certified numerical menu (convex-envelope relaxation + branch and bound).

        Options: ``n`` (cells of a continuous distribution), ``ic`` ('local', the default, 'all' or
        'adaptive'); any other is refused.
        """
        from mechdesign.settings.multimodel import solve_multimodel

        o = SolveOptions.make(options, **kwargs)
        o.check(self.kind, self.options)
        _check_n(o.n, self.types)
        return solve_multimodel(self.models, _discrete(self.types, o.n or self.n), ic=o.ic or DEFAULT_IC[self.kind], name=self.name)

    def report(self, n: int | None = None) -> str:
        an = self.analytic(n)
        table = pd.DataFrame(an["menu"])  # type: ignore[arg-type]
        monopoly_switch = [r["theta"] for r, nxt in zip(an["menu"], an["menu"][1:])  # type: ignore[call-overload, index]
                           if r["model"] is not None and nxt["model"] != r["model"]]
        lines = [f"mechdesign multi-model problem (closed forms, §5.1-5.2): {self.name}", "=" * 78,
                 f"monopoly model switch (Prop 6, last type on the lower model): {monopoly_switch}",
                 "efficient model switches (Prop 5): " + ", ".join(
                     f"{s['from']} -> {s['to']} at theta = {s['theta']:.6g} (quality jumps x{s['jump_ratio']:.4g})"
                     for s in an["switches"]),  # type: ignore[attr-defined]
                 f"monopoly profit (Prop 6, exact discrete menu): {an['profit']:.10g}", "",
                 "Menu (Prop 6):"]
        with pd.option_context("display.width", 140, "display.float_format", "{:.6g}".format):
            lines.append(table.to_string(max_rows=30))
        return "\n".join(lines)


@dataclass
class LeaderFringeProblem:
    """A leader against a competitive fringe (§5.3) with a continuous type distribution."""

    market: LeaderFringe
    dist: Distribution
    name: str = "leader-fringe problem"
    source: dict[str, object] = field(default_factory=dict)
    n: int = DEFAULT_N

    #: the problem-file kind and the solve options this setting honours
    kind: ClassVar[str] = "leader_fringe"
    options: ClassVar[tuple[str, ...]] = ("n",)

    def solve(self, options: SolveOptions | None = None, /, **kwargs: Any) -> LeaderResult:
        """The certified numeric leader menu on ``n`` cells (:mod:`mechdesign.settings.leader_fringe`).

        Options: ``n`` (default: the file's ``types.n``, else 200); any other is refused.
        """
        from mechdesign.settings.leader_fringe import solve_leader

        o = SolveOptions.make(options, **kwargs)
        o.check(self.kind, self.options)
        return solve_leader(self.market, self.dist.discretize(o.n or self.n), self.dist, name=self.name)

    def analytic(self) -> dict[str, object]:
        """Prop 7's cutoffs (and those of its proof and App. A), with the regions they imply."""
        if self.market.sigma_hat_F != 0.0:
            return {"kind": "none: sigma_hat_F > 0, eq. (29) has no closed form (numerical only)"}
        c = self.market.cutoffs(self.dist)
        lo = self.dist.lo
        entry, mono = c["entry"], c["monopoly"]
        regions = {"fringe_only": [lo, entry],
                   "deterrence": [entry, mono if mono is not None else self.dist.hi] if mono != entry else None,
                   "monopoly": [mono, self.dist.hi] if mono is not None else None}
        return {"kind": "Prop 7 and App. A (closed form)", **c, "regions": regions}

    def report(self) -> str:
        an = self.analytic()
        if self.market.sigma_hat_F != 0.0:
            return f"mechdesign leader-fringe problem: {self.name}: {an['kind']}; use `mechdesign solve`"
        lines = [f"mechdesign leader-fringe problem (closed forms, §5.3): {self.name}", "=" * 78]
        for key, label in (("theta_hat", "efficient switch (eq. 34)"), ("theta_1", "entry cutoff (eq. 46)"),
                           ("theta_m", "integrated monopoly switch (phi = theta_hat)"),
                           ("theta_2", "monopoly region starts (eq. 49)"),
                           ("theta_3", "entry when theta_2 < theta_1")):
            val = an[key]
            lines.append(f"{key:10s} {'-' if val is None else f'{val:.10g}':>16s}   {label}")
        lines.append(f"regions: {an['regions']}")
        return "\n".join(lines)

    def to_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(_jsonable({"problem": {"name": self.name, "kind": "leader_fringe"},
                                                    "analytic": self.analytic()}), indent=1))
