"""`mechdesign validate`: every proposition check the package has, over shipped and seeded random instances.

Each check compares an independent numerical computation (a cvxpy program, SLSQP, a buyer simulation)
with the paper's closed form and reports the largest error and, where the proposition says which
constraints bind, whether the binding sets agree. A check passes when every instance is within its
tolerance and its binding sets agree.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .analytic.contractible import binary_menu
from .analytic.efficient import (
    buyer_allocation,
    efficient_allocation,
    efficient_task_tokens,
    indirect_utility,
)
from .checks import solve_buyer_allocation, solve_constrained_efficient, solve_efficient_tasks
from .contractible import solve_contractible
from .formats import build_format, check_format
from .problemfile import load_single_model
from .technology import CES, CESFineTuning, Technology, cobb_douglas
from .types import TaskProfileTypes, aggregate_type

FloatArray = np.ndarray


@dataclass
class CheckResult:
    """One row of the validation table."""

    check: str
    claim: str
    instances: int
    max_error: float
    tolerance: float
    binding_agree: bool | None
    seconds: float

    @property
    def passed(self) -> bool:
        return self.max_error <= self.tolerance and self.binding_agree is not False


def _random_techs(rng: np.random.Generator, n: int) -> list[Technology]:
    out = [cobb_douglas([0.3, 0.2], [1.0, 3.0], [0.25], [2.0])]
    while len(out) < n:
        J = int(rng.integers(1, 4))
        a = rng.uniform(0.2, 1.0, J)
        sigma = float(rng.uniform(0.25, 0.65))
        sh = float(rng.uniform(0.05, 0.9) * (1 - sigma) * 0.9)
        rho = float(rng.choice([-1.0, -0.3, 0.0, 0.4]))
        out.append(Technology(CES(a / a.sum(), rho), sigma, rng.uniform(0.2, 5.0, J),
                              CESFineTuning(CES(np.array([1.0]), 0.0, "a"), sh, rng.uniform(0.2, 5.0, 1))))
    return out


def _profiles(rng: np.random.Generator, T: int) -> tuple[FloatArray, FloatArray]:
    mu = rng.uniform(0.2, 1.0, T)
    return rng.uniform(0.05, 1.2, T), mu / mu.sum()


def check_lemma3(rng: np.random.Generator, problems: Path) -> CheckResult:
    errs = []
    for tech in _random_techs(rng, 12):
        for Q in (1e-3, 0.3, 4.0):
            num = tech.cost_numeric(Q)[0]
            errs.append(abs(float(tech.cost(np.array(Q))) - num) / num)
    return CheckResult("lemma3", "C(Q) = C0 Q^{1/(sigma+sigma_hat)} equals numerical cost minimisation (10)",
                       len(errs), max(errs), 1e-5, None, 0.0)


def check_lemma1(rng: np.random.Generator, problems: Path) -> CheckResult:
    bad = 0
    techs = _random_techs(rng, 12)
    for tech in techs:
        q = np.geomspace(1e-6, 10, 200)
        c = tech.cost(q)
        slopes = np.diff(c) / np.diff(q)
        bad += int(not (np.all(np.diff(c) > 0) and np.all(np.diff(slopes) > 0)))
    return CheckResult("lemma1", "C is strictly increasing and strictly convex, C'(0+) = 0", len(techs),
                       float(bad), 0.0, None, 0.0)


def check_prop1(rng: np.random.Generator, problems: Path) -> CheckResult:
    errs = []
    techs = _random_techs(rng, 5)
    for tech in techs:
        w, mu = _profiles(rng, 4)
        th = float(aggregate_type(w, mu, tech.sigma))
        eff = efficient_allocation(tech, th)
        sol = solve_efficient_tasks(tech, w, mu, eff.quality)
        errs.append(abs(sol.value - eff.surplus) / abs(eff.surplus))
        errs.append(float(np.abs(sol.x - efficient_task_tokens(tech, w, mu)).max() / eff.X.max()))
    return CheckResult("prop1", "efficient tokens per task proportional to w^{1/(1-sigma)}; surplus via theta(w)",
                       len(techs), max(errs), 1e-4, None, 0.0)


def check_prop2(rng: np.random.Generator, problems: Path) -> CheckResult:
    errs = []
    techs = _random_techs(rng, 5)
    for tech in techs:
        w, mu = _profiles(rng, 5)
        X = rng.uniform(0.1, 1.0, tech.J)
        Z = rng.uniform(0.1, 1.0, tech.K)
        sol = solve_buyer_allocation(tech, w, mu, X, Z)
        errs.append(abs(sol.value - indirect_utility(tech, w, mu, X, Z)) / sol.value)
        errs.append(float(np.abs(sol.x - buyer_allocation(tech, w, mu, X)).max() / X.max()))
    return CheckResult("prop2", "buyer's best split of budgets gives theta(w) Psi(X) Phi(Z)", len(techs),
                       max(errs), 1e-4, None, 0.0)


def check_cor1(rng: np.random.Generator, problems: Path) -> CheckResult:
    errs = []
    techs = _random_techs(rng, 5)
    for tech in techs:
        eff = efficient_allocation(tech, 1.0)
        ce = solve_constrained_efficient(tech, 1.0, 0.5 * eff.X, 2.0 * eff.Z)
        eff2 = efficient_allocation(tech.with_costs(tech.c + ce.shadow_x, tech.c_hat + ce.shadow_z), 1.0)
        errs.append(float(np.abs(ce.X - eff2.X).max() / eff2.X.max()))
    return CheckResult("cor1", "capacity-constrained allocation = efficient at costs + shadow prices", len(techs),
                       max(errs), 1e-4, None, 0.0)


def _shipped(problems: Path) -> list[Path]:
    return sorted(problems.glob("single_model_*.toml"))


def check_prop3(rng: np.random.Generator, problems: Path) -> CheckResult:
    errs, agree = [], True
    files = _shipped(problems)
    for path in files:
        for ic in ("local", "adaptive"):
            r = load_single_model(path).solve(n=200, ic=ic)
            c = r.comparison
            assert c is not None
            errs.append(max(c.profit_rel_error, c.quality_rel_error, c.transfer_rel_error))
            agree &= c.binding_agree and r.audit.passed
    return CheckResult("prop3", "numeric menu = exact discrete menu (eqs. 11-13, ironing); binding sets",
                       2 * len(files), max(errs, default=0.0), 1e-6, agree, 0.0)


def check_prop4(rng: np.random.Generator, problems: Path) -> CheckResult:
    errs = []
    n = 0
    for path in _shipped(problems):
        p = load_single_model(path)
        an = p.analytic(100)
        th = an.types.theta
        kinds = ["max-spend"] + (["min-spend"] if not an.pooled_blocks else [])
        for kind in kinds:
            c = check_format(build_format(kind, p.technology, th, an.quality, an.transfer), p.technology, th,
                             an.types.prob, an.quality, an.transfer)
            errs.append(max(c.quality_rel_error, c.payment_rel_error, c.profit_rel_error))
            n += 1
    return CheckResult("prop4", "max-spend (and min-spend when m decreases) reproduce the menu (simulated buyers)",
                       n, max(errs, default=0.0), 1e-9, None, 0.0)


def check_prop9(rng: np.random.Generator, problems: Path) -> CheckResult:
    errs, agree = [], True
    mu = np.full(4, 0.25)
    cases = [np.array([[1, 1, 0.2, 0.2], [0.5, 0.5, 1.5, 1.5]]), np.array([[1, 1, 0.2, 0.2], [0.9, 1.4, 0.6, 0.6]])]
    cases += [rng.uniform(0.1, 1.5, (2, 4)) for _ in range(48)]
    tech = Technology(CES(np.array([1.0])), 0.5, np.array([1.0]))
    for w in cases:
        f = np.array([0.6, 0.4])
        an = binary_menu(tech, w, f, mu)
        r = solve_contractible(tech, TaskProfileTypes(w, f, mu), ic="all")
        errs.append(max(abs(r.profit - an.profit) / an.profit,
                        float(np.abs(r.quality - an.quality).max() / an.quality.max())))
        H, L = an.high, 1 - an.high
        duals = {tuple(p): d for p, d in zip(r.ic_pairs.tolist(), r.ic_duals)}
        if an.full_extraction:
            agree &= bool(r.ir_duals[H] > 1e-6 and r.ir_duals[L] > 1e-6)
        elif an.kink:  # corrected Prop 9: IC of H and both IRs bind
            agree &= bool(duals[(H, L)] > 1e-6 and r.ir_duals[L] > 1e-6 and r.ir_duals[H] > 1e-6)
        else:
            agree &= bool(duals[(H, L)] > 1e-6 and r.ir_duals[L] > 1e-6 and r.ir_duals[H] < 1e-7)
    return CheckResult("prop9", "binary contractible types: H efficient, L virtual-efficient, (52); kink case added",
                       len(cases), max(errs), 1e-6, agree, 0.0)


CHECKS: dict[str, Callable[[np.random.Generator, Path], CheckResult]] = {
    "lemma1": check_lemma1, "lemma3": check_lemma3, "prop1": check_prop1, "prop2": check_prop2,
    "cor1": check_cor1, "prop3": check_prop3, "prop4": check_prop4, "prop9": check_prop9,
}


def run_checks(only: list[str] | None = None, seed: int = 0, problems: str | Path = "problems") -> pd.DataFrame:
    """Run the selected checks (default all) and return the table."""
    rows = []
    for name, fn in CHECKS.items():
        if only and name not in only:
            continue
        t0 = time.perf_counter()
        res = fn(np.random.default_rng(seed), Path(problems))
        res.seconds = time.perf_counter() - t0
        rows.append({"check": res.check, "claim": res.claim, "instances": res.instances,
                     "max_error": res.max_error, "tolerance": res.tolerance,
                     "binding_agree": "-" if res.binding_agree is None else res.binding_agree,
                     "pass": res.passed, "seconds": round(res.seconds, 2)})
    return pd.DataFrame(rows)
