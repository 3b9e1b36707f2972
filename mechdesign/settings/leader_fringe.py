r"""The leader's discretised problem against a competitive fringe (BBS §5.3), with a certificate.

Types :math:`\theta_1 < \dots < \theta_N` with probabilities :math:`f_n`; the buyer's payoff net of the
fringe outside option is Lemma 4's :math:`u(\theta, q)` (eq. 31; checked against the direct top-up of
eq. 28 in the tests). The program :math:`\max \sum_n f_n (t_n - c_L q_n)` s.t. all-pairs IC and IR is not
convex (:math:`u` is convex, then concave in :math:`q`).

**Upper bound.** Dropping every constraint but the local downward ICs and the lowest type's IR, the
transfers bind and the profit separates by type:

.. math::
    \sum_n \Big[f_n\big(u(\theta_n, q_n) - c_L q_n\big) - G_{n+1}\big(u(\theta_{n+1}, q_n) - u(\theta_n, q_n)\big)\Big],
    \qquad G_{n+1} = \sum_{k>n} f_k,

so its optimum is the sum of the global maxima of one-dimensional functions (each a sum of power
functions on either side of the kinks :math:`\hat q(\theta_n), \hat q(\theta_{n+1})`), found on a dense
logarithmic grid with the kinks added and refined where the grid's best point is interior.

**Lower bound.** That allocation with the binding transfers is a menu; if it passes the all-pairs IC/IR
audit it is feasible, its profit equals the upper bound and the gap is zero.

**When the relaxation is not tight** (the relaxed menu fails the audit; this happens with
:math:`\hat\sigma_F > 0`, where single crossing fails in the top-up region and non-local ICs bind), the
menu comes from :func:`mechdesign.engine.lottery.solve_lottery_lp`: an LP over lotteries with every IC pair,
column and row generation, and a Lagrangian upper bound valid for every quantity in
:math:`[0, \bar q]` (and for deterministic menus, which are degenerate lotteries). Its menu is then
made deterministic (each type gets its lottery's mean quantity, priced by the largest IC/IR
transfers, :func:`mechdesign.engine.lottery.implementing_transfers`) and kept if it passes the all-pairs audit
and earns at least the lottery's profit: the reported gap is that menu's distance from the bound.

With discrete types the deterrence region is where type :math:`\theta_n` single-homes while
:math:`\theta_{n+1}` would still top up, :math:`\hat q(\theta_n) \le q_n \le \hat q(\theta_{n+1})` (one grid
step wide around the continuum's :math:`\hat q(\theta_n)`); allocations converge to Prop 7's at rate
:math:`1/N` and the cutoffs agree within a grid cell (tests/test_competition.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from mechdesign import _validate as V
from mechdesign.analytic.leader_fringe import LeaderFringe, topup_payoff, topup_quantity
from mechdesign.engine.audit import AUDIT_RTOL, TIGHT_RTOL
from mechdesign.engine.certificate import VIOLATION_RTOL
from mechdesign.engine.lottery import LotteryMenu, golden_max, implementing_transfers, solve_lottery_lp
from mechdesign.exceptions import ProblemSpecError
from mechdesign.problemreaders import read_section5_head
from mechdesign.problemtables import only_keys, required_key, subtable
from mechdesign.settings.base import BOUND_GAP_RTOL, DEFAULT_N, SolveOptions, decide_status, resolves_options
from mechdesign.settings.costs import check_units
from mechdesign.settings.results import ResultBase, contract, jsonable
from mechdesign.settings.spec import ClosedForm, SettingSpec
from mechdesign.types import DiscreteTypes, Distribution

FloatArray = np.ndarray


@dataclass
class LeaderResult(ResultBase):
    """The leader's menu on a type grid, its certificate and the comparison with Prop 7."""

    name: str
    types: DiscreteTypes
    quantity: FloatArray
    transfer: FloatArray
    upper_bound: float
    lower_bound: float
    max_ic_violation_rel: float
    region: list[str]
    analytic: dict[str, object] = field(default_factory=dict)
    comparison: dict[str, object] = field(default_factory=dict)
    method: str = "local relaxation"
    lottery: LotteryMenu | None = None
    gap_floor: float = 1e-300
    #: u(theta_n, q_n): each type's gross payoff from its own item net of the fringe outside option
    gross: FloatArray | None = None
    unit_cost: float = 0.0
    #: tight IC pairs [type, item] of the menu (slack <= TIGHT_RTOL of the largest gross payoff)
    ic_tight: FloatArray | None = None

    @property
    def profit(self) -> float:
        return self.lower_bound

    @property
    def status(self) -> str:
        return decide_status(self.certified, self.gap <= BOUND_GAP_RTOL)

    @property
    def rent(self) -> FloatArray:
        """Buyer rent over the fringe outside option: u(theta_n, q_n) - t_n."""
        gross = np.zeros_like(self.quantity) if self.gross is None else self.gross
        return gross - self.transfer

    @property
    def surplus(self) -> float:
        gross = np.zeros_like(self.quantity) if self.gross is None else self.gross
        return float(self.types.prob @ (gross - self.unit_cost * self.quantity))

    @property
    def consumer_surplus(self) -> float:
        return float(self.types.prob @ self.rent)

    @property
    def certified(self) -> bool:
        """IC and IR hold to rounding (:data:`~mechdesign.engine.certificate.VIOLATION_RTOL` of the largest
        gross payoff), as for every certified menu (the JSON audit reports the check at :data:`AUDIT_RTOL`)."""
        return self.max_ic_violation_rel <= VIOLATION_RTOL

    @property
    def gap(self) -> float:
        """Relative gap of the certificate (relative to ``gap_floor`` when the bound is about zero)."""
        if not self.certified:
            return np.inf
        return (self.upper_bound - self.lower_bound) / max(abs(self.upper_bound), self.gap_floor)

    @property
    def deterministic(self) -> bool:
        """False only when the menu is the lottery LP's (a type's quantity is then its lottery's mean)."""
        return self.lottery is None or "deterministic" in self.method

    def numeric_cutoffs(self) -> dict[str, float | None]:
        """First type buying from the leader and first type in the monopoly region (grid values)."""
        th = self.types.theta
        served = np.flatnonzero(self.quantity > 0)
        mono = [i for i, r in enumerate(self.region) if r == "monopoly"]
        return {"entry": float(th[served[0]]) if served.size else None,
                "monopoly": float(th[mono[0]]) if mono else None}

    def table(self) -> pd.DataFrame:
        df = pd.DataFrame({"theta": self.types.theta, "prob": self.types.prob, "quality": self.quantity,
                           "q_leader": self.quantity, "transfer": self.transfer, "rent": self.rent,
                           "cost": self.unit_cost * self.quantity, "region": self.region})
        df.index.name = "type"
        if not self.deterministic:
            assert self.lottery is not None
            df["q_leader"] = df["quality"] = self.lottery.expected_quantity
            df["lottery_points"] = (self.lottery.probs > 1e-9).sum(axis=1)
        return df

    def summary(self) -> str:
        c = self.comparison
        status = "certified" if self.certified else "NOT certified: the menu is not IC"
        lines = [f"mechdesign leader-fringe menu (§5.3, numeric): {self.name}  ({self.types.n} types)",
                 "=" * 78, f"status            {self.status}",
                 (f"profit            {self.lower_bound:.10g}   upper bound {self.upper_bound:.10g}   gap "
                  f"{self.gap:.2e} ({status})"),
                 f"method            {self.method}" + ("" if self.deterministic else
                                                        " (a menu of lotteries: q_leader is each lottery's mean)"),
                 f"numeric cutoffs   {self.numeric_cutoffs()}"]
        if self.lottery is not None:
            lot = self.lottery
            lines.append(f"lottery LP        profit {lot.profit:.10g}, bound {lot.upper_bound:.10g}, "
                         f"gap {lot.gap:.1e}; {lot.rounds} rounds, {lot.n_ic_rows} IC rows, {lot.n_columns} columns")
        if c:
            lines += [(f"analytic cutoffs  entry {c.get('analytic_entry')}, monopoly {c.get('analytic_monopoly')} "
                       f"(Prop 7, continuum); grid cells apart: {c.get('entry_cells_apart')}, "
                       f"{c.get('monopoly_cells_apart')}"),
                      (f"vs closed form    quantity {c.get('quantity_rel_error', float('nan')):.2e} relative "
                       "(continuum formulas at the grid types; O(1/N))")]
        if "discrete_profit_rel_error" in c:
            lines.append(f"vs discrete menu  (Prop 7's case analysis on the grid) profit "
                         f"{c['discrete_profit_rel_error']:.2e}, quantity {c['discrete_quantity_rel_error']:.2e}, "
                         f"transfer {c['discrete_transfer_rel_error']:.2e} relative")
        elif self.analytic:
            lines.append(f"closed form       {self.analytic.get('kind')}")
        lines.append("")
        with pd.option_context("display.width", 140, "display.float_format", "{:.6g}".format):
            lines.append(self.table().to_string(max_rows=24))
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        return self.table()

    def sweep_row(self) -> dict[str, object]:
        cut = self.numeric_cutoffs()
        row: dict[str, object] = {"gap": self.gap, "entry_numeric": cut["entry"], "monopoly_numeric": cut["monopoly"]}
        row.update({k: self.analytic.get(k) for k in ("theta_hat", "theta_1", "theta_m", "theta_2", "theta_3")})
        return row

    def to_dict(self) -> dict[str, object]:
        rows = self.table().reset_index().to_dict(orient="records")
        audit = {"max_ic_violation_rel": self.max_ic_violation_rel, "rtol": AUDIT_RTOL,
                 "passed": self.max_ic_violation_rel <= AUDIT_RTOL,
                 "payoff": "u(theta, q) of Lemma 4 (eq. 31), or eq. (28) maximised over the fringe top-up"}
        atol = TIGHT_RTOL * float(np.max(np.abs(self.gross), initial=0.0)) if self.gross is not None else 0.0
        binding = {"ic_tight": None if self.ic_tight is None else np.asarray(self.ic_tight).tolist(),
                   "ic_active": None, "ir_tight": np.flatnonzero(self.rent <= atol).tolist(), "ir_active": None,
                   "tight_atol": atol, "note": "multipliers are not reported by this setting's certificate"}
        certificate = {"method": self.method, "passed": self.status == "optimal", "upper_bound": self.upper_bound,
                       "lower_bound": self.lower_bound, "gap_rel": self.gap, "gap_rtol": BOUND_GAP_RTOL,
                       "max_ic_violation_rel": self.max_ic_violation_rel, "violation_rtol": VIOLATION_RTOL,
                       "deterministic": self.deterministic}
        solver = {"name": "separable relaxation (global 1-D maxima)" if self.lottery is None else
                  "HiGHS lottery LP (scipy)", "status": self.status, "method": self.method}
        return contract({"name": self.name, "kind": "leader_fringe"}, self.status, self.profit, self.surplus,
                        self.consumer_surplus, rows, binding, audit, certificate, solver, self.analytic or None,
                        self.comparison or None, numeric_cutoffs=self.numeric_cutoffs(),
                        options=dict(self.options))


def _relaxation(u: object, th: FloatArray, f: FloatArray, cost: float, q_hi: float,
                kinks: FloatArray) -> tuple[FloatArray, float]:
    """Maximise every type's term of the relaxed profit (module docstring) on [0, q_hi], all types at once.

    A shared grid (0, 6,001 logarithmic points, the kinks), then golden section around each type's three
    best grid points. Returns the arg maxima and the sum of the maxima (the upper bound).
    """
    assert callable(u)
    N = th.size
    G = np.concatenate([np.cumsum(f[::-1])[::-1], [0.0]])  # G[n] = sum_{k >= n} f_k
    grid = np.unique(np.concatenate([[0.0], np.geomspace(q_hi * 1e-12, q_hi, 6001), kinks]))
    th_next = np.append(th[1:], th[-1])

    def term(n: FloatArray, x: FloatArray) -> FloatArray:   # type n's term at quantities x (broadcast)
        own = u(th[n], x)
        return f[n] * (own - cost * x) - G[n + 1] * (u(th_next[n], x) - own)

    idx = np.arange(N)
    T = term(idx[:, None], grid[None, :])
    order = np.argsort(T, axis=1)[:, ::-1][:, :3]
    best_v = T[idx, order[:, 0]]
    best_q = grid[order[:, 0]]
    for j in range(order.shape[1]):
        i = order[:, j]
        x, v = golden_max(lambda z: term(idx, z), grid[np.maximum(i - 1, 0)], grid[np.minimum(i + 1, grid.size - 1)])
        better = v > best_v
        best_v, best_q = np.where(better, v, best_v), np.where(better, x, best_q)
    return best_q, float(best_v.sum())


def _payoff(lf: LeaderFringe) -> object:
    """u(theta, q), broadcasting: Lemma 4 when sigma_hat_F = 0, else eq. (28) numerically."""
    if lf.sigma_hat_F == 0.0:
        return lambda theta, q: lf.u(theta, q)
    return lambda theta, q: topup_payoff(lf, theta, q)  # type: ignore[return-value]


def _audit(u: object, th: FloatArray, q: FloatArray, t: FloatArray) -> float:
    """Largest all-pairs IC/IR violation of the menu (q, t), relative to the largest gross payoff."""
    assert callable(u)
    U = u(th[:, None], q[None, :]) - t[None, :]   # payoff of type n (rows) from item m
    own = np.diag(U)
    scale = max(float(np.max(np.abs(own + t))), 1e-300)
    return max(float(np.max(U.max(axis=1) - own)), float(np.max(-own)), 0.0) / scale


def solve_leader(lf: LeaderFringe, types: DiscreteTypes, dist: Distribution | None = None,
                 name: str = "leader-fringe problem", method: str = "auto") -> LeaderResult:
    r"""The certified numeric leader menu (see the module docstring); ``dist`` adds Prop 7's comparison.

    With :math:`\hat\sigma_F > 0` the buyer's payoff is eq. (28) maximised numerically over the fringe
    quantity (:func:`mechdesign.analytic.leader_fringe.topup_payoff`); there is no closed form to
    compare with (numerical only) and the regions are reported as leader / fringe only.

    ``method``: ``"auto"`` (the local relaxation, and the lottery LP when its menu fails the audit),
    ``"relaxation"`` (never the LP: an untight relaxation is reported as not certified) or ``"lottery"``
    (always the LP, an independent check of the relaxation).
    """
    if method not in ("auto", "relaxation", "lottery"):
        raise ProblemSpecError("method", method, "must be 'auto', 'relaxation' or 'lottery'")
    th, f = types.theta, types.prob
    N = types.n
    u = _payoff(lf)
    assert callable(u)
    closed = lf.sigma_hat_F == 0.0
    with np.errstate(all="ignore"):
        # 10x the efficient leader quantity at the top
        q_hi = 10.0 * float((lf.d * th[-1] / lf.c_L) ** (1 / (1 - lf.d)))
    check_units("types.distribution.hi", float(th[-1]), q_hi * 1e-12, q_hi * float(th[-1]),
                "the types with leader.cost")  # the quantity grid spans 12 decades below q_hi
    q, ub = _relaxation(u, th, f, lf.c_L, q_hi, lf.q_hat(th) if closed else np.zeros(0))
    # binding transfers: t_1 = u(theta_1, q_1), t_n = t_{n-1} + u(theta_n, q_n) - u(theta_n, q_{n-1})
    t = np.zeros(N)
    t[0] = float(u(th[0], np.array([q[0]]))[0])
    for n in range(1, N):
        pair = u(th[n], np.array([q[n], q[n - 1]]))
        t[n] = t[n - 1] + float(pair[0] - pair[1])
    lb = float(f @ (t - lf.c_L * q))
    viol = _audit(u, th, q, t)
    used = "local relaxation"
    lottery = None
    if method == "lottery" or (method == "auto" and viol > VIOLATION_RTOL):
        lottery = solve_lottery_lp(u, th, f, lf.c_L, q_hi, q_init=q)
        ub, used = lottery.upper_bound, "lottery LP (column and row generation)"
        q, t, lb = lottery.expected_quantity, lottery.transfer, lottery.profit
        viol = lottery.max_ic_violation_rel
        td = implementing_transfers(u(th[:, None], q[None, :]))
        if td is not None:  # the mean quantities, priced by the largest IC/IR transfers
            lb_det = float(f @ (td - lf.c_L * q))
            viol_det = _audit(u, th, q, td)
            if viol_det <= VIOLATION_RTOL and lb_det >= lottery.profit - 1e-12 * abs(lottery.profit):
                t, lb, viol = td, lb_det, viol_det
                used += ", made deterministic"
        ub = max(ub, lb)
    if closed:
        # deterrence: type n single-homes but type n+1 would top up, q_hat(theta_n) <= q <= q_hat(theta_{n+1})
        qh = lf.q_hat(th)
        qh_next = np.append(qh[1:], qh[-1])
        tol = 1e-9
        region = ["fringe only" if x <= 0 else
                  "deterrence" if h * (1 - tol) <= x <= h2 * (1 + tol) else "monopoly"
                  for x, h, h2 in zip(q, qh, qh_next)]
    else:
        tops = topup_quantity(lf, th, q) > 0
        region = ["fringe only" if x <= 1e-12 * max(float(q.max()), 1e-300) else
                  "leader + fringe top-up" if top else "leader only" for x, top in zip(q, tops)]
    floor = 1e-9 * float(np.max(np.abs(u(th[-1], np.array([q_hi])))))   # zero-profit optima (no sales)
    U = u(th[:, None], q[None, :]) - t[None, :]   # payoff of type n (rows) from item m
    gross = np.diag(U) + t
    slack = np.diag(U)[:, None] - U
    np.fill_diagonal(slack, np.inf)
    ic_tight = np.argwhere(slack <= TIGHT_RTOL * max(float(np.max(np.abs(gross))), 1e-300))
    res = LeaderResult(name, types, q, t, float(ub), lb, viol, region, method=used, lottery=lottery, gap_floor=floor,
                       gross=gross, unit_cost=lf.c_L, ic_tight=ic_tight)
    if not closed:
        res.analytic = {"kind": "numerical only: sigma_hat_F > 0, eq. (29) has no closed form"}
    if closed:
        # the exact discrete menu (Prop 7's case analysis on the grid, closed-form candidates)
        qd, td, pd_ = lf.discrete_menu(types)
        res.comparison = {
            "discrete_quantity_rel_error": float(np.max(np.abs(q - qd)) / max(float(np.max(qd)), 1e-300)),
            "discrete_transfer_rel_error": float(np.max(np.abs(t - td)) / max(float(np.max(np.abs(td))), 1e-300)),
            "discrete_profit_rel_error": abs(lb - pd_) / max(abs(pd_), 1e-300),
        }
    if dist is not None and closed:
        c = lf.cutoffs(dist)
        res.analytic = {"kind": "Prop 7 (continuum closed forms)", **c}
        nc = res.numeric_cutoffs()
        qa, _ = lf.competition(th, dist)

        def cells(a: float | None, b: float | None) -> int | None:
            if a is None or b is None:
                return None
            return int(abs(np.searchsorted(th, a) - np.searchsorted(th, b)))

        res.comparison |= {"analytic_entry": c["entry"], "analytic_monopoly": c["monopoly"],
                          "entry_cells_apart": cells(nc["entry"], c["entry"]),
                          "monopoly_cells_apart": cells(nc["monopoly"], c["monopoly"]),
                          "quantity_rel_error": float(np.max(np.abs(q - qa)) / max(float(qa.max()), 1e-300))}
    return res


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

    @resolves_options
    def solve(self, options: SolveOptions | None = None, /, **kwargs: Any) -> LeaderResult:
        """The certified numeric leader menu on ``n`` cells (:mod:`mechdesign.settings.leader_fringe`).

        Options: ``n`` (default: the file's ``types.n``, else 200); any other is refused.
        """
        o = SolveOptions.make(options, **kwargs)  # resolved by @resolves_options
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
            val = an[key]  # None: no such cutoff; inf (theta_m): phi never reaches theta_hat on the support
            shown = "-" if val is None else "never" if np.isinf(float(val)) else f"{val:.10g}"  # type: ignore[arg-type]
            lines.append(f"{key:10s} {shown:>16s}   {label}")
        lines.append(f"regions: {an['regions']}")
        return "\n".join(lines)

    def to_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(jsonable({"problem": {"name": self.name, "kind": "leader_fringe"},
                                                    "analytic": self.analytic()}), indent=1))


#: ``types.kind`` values a leader-fringe file accepts (Prop 7's cutoffs need a continuous distribution)
TYPE_KINDS = ("distribution",)


def read_leader_fringe(data: Mapping[str, object], kind: str, name: str, source: str) -> LeaderFringeProblem:
    """The leader-fringe problem of a parsed file: ``[technology] sigma``, ``[leader]``, ``[fringe]``,
    ``[types]``, ``[solve]``."""
    sigma, types, n, src = read_section5_head(data, kind, source, TYPE_KINDS, LeaderFringeProblem.options)
    only_keys(data, ("problem", "technology", "types", "leader", "fringe", "solve"), "")
    lead = subtable(data, "leader", "")
    fr = subtable(data, "fringe", "")
    only_keys(lead, ("sigma_hat", "cost"), "leader.")
    only_keys(fr, ("sigma_hat", "cost"), "fringe.")
    market = LeaderFringe(sigma, V.as_float("leader.sigma_hat", required_key(lead, "sigma_hat", "leader.")),
                          V.positive("leader.cost", required_key(lead, "cost", "leader.")),
                          V.positive("fringe.cost", required_key(fr, "cost", "fringe.")),
                          V.as_float("fringe.sigma_hat", fr.get("sigma_hat", 0.0)))
    assert isinstance(types, Distribution)
    return LeaderFringeProblem(market, types, name=name, source=src, n=n)


def closed_form(problem: LeaderFringeProblem, n: int | None) -> ClosedForm:
    """Prop 7's cutoffs and regions (closed forms of the continuous distribution), for ``mechdesign analytic``.

    Raises
    ------
    ProblemSpecError
        ``n`` was given: the cutoffs need no cells.
    """
    if n is not None:
        raise ProblemSpecError("--n", n, "does not apply to leader-fringe problems: Prop 7's cutoffs are closed "
                               "forms of the continuous distribution (use `mechdesign solve --n` for the numeric menu)")
    return ClosedForm(problem.report(), {"problem": {"name": problem.name, "kind": "leader_fringe"},
                                         "analytic": problem.analytic()})


SPEC = SettingSpec(
    kind="leader_fringe", word="leader-fringe", problem=LeaderFringeProblem, result=LeaderResult,
    reader=read_leader_fringe, verbs=("solve", "analytic", "plot", "sweep"), type_kinds=TYPE_KINDS,
    schema={"paper": "§5.3", "tables": "technology (sigma), leader, fringe, types, solve",
            "keys": ("problem", "technology", "types", "leader", "fringe", "solve"),
            "required": ("technology", "types", "leader", "fringe"),
            "file": {"properties": {"technology": {"$ref": "#/$defs/technology_sigma"},
                                    "types": {"$ref": "#/$defs/types"}}},
            "properties": {"leader": {"$ref": "#/$defs/leader", "description": "The leader (leader-fringe problems)."},
                           "fringe": {"$ref": "#/$defs/fringe", "description": "The fringe (leader-fringe problems)."}},
            "defs": {},
            "sections": (("leader", "leader", "leader_fringe"), ("fringe", "fringe", "leader_fringe"))},
    defaults={"n": DEFAULT_N},
    sweep_columns=("profit", "gap", "theta_hat", "theta_1", "theta_m", "theta_2", "theta_3", "entry_numeric",
                   "monopoly_numeric"),
    closed_form=closed_form, plot="figure1")
