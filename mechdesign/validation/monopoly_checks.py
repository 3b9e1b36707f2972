"""Proposition checks of the single-model economics (BBS §2-4): Lemmas 1 and 3, Props 1-4, Cor 1, each against
an independent computation (cvxpy, SLSQP, simulated buyers)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mechdesign.analytic.efficient import (
    buyer_allocation,
    efficient_allocation,
    efficient_task_tokens,
    indirect_utility,
)
from mechdesign.analytic.formats import build_format, check_format
from mechdesign.problemfile import load_single_model
from mechdesign.types import aggregate_type
from mechdesign.validation.checks import (
    solve_buyer_allocation,
    solve_constrained_efficient,
    solve_efficient_tasks,
)
from mechdesign.validation.instances import CheckResult, random_profiles, random_technologies


def check_lemma3(rng: np.random.Generator, problems: Path) -> CheckResult:
    errs = []
    for tech in random_technologies(rng, 12):
        for Q in (1e-3, 0.3, 4.0):
            num = tech.cost_numeric(Q)[0]
            errs.append(abs(float(tech.cost(np.array(Q))) - num) / num)
    return CheckResult("lemma3", "C(Q) = C0 Q^{1/(sigma+sigma_hat)} equals numerical cost minimisation (10)",
                       len(errs), max(errs), 1e-5, None, 0.0)


def check_lemma1(rng: np.random.Generator, problems: Path) -> CheckResult:
    bad = 0
    techs = random_technologies(rng, 12)
    for tech in techs:
        q = np.geomspace(1e-6, 10, 200)
        c = tech.cost(q)
        slopes = np.diff(c) / np.diff(q)
        bad += int(not (np.all(np.diff(c) > 0) and np.all(np.diff(slopes) > 0)))
    return CheckResult("lemma1", "C is strictly increasing and strictly convex, C'(0+) = 0", len(techs),
                       float(bad), 0.0, None, 0.0)


def check_prop1(rng: np.random.Generator, problems: Path) -> CheckResult:
    errs = []
    techs = random_technologies(rng, 5)
    for tech in techs:
        w, mu = random_profiles(rng, 4)
        th = float(aggregate_type(w, mu, tech.sigma))
        eff = efficient_allocation(tech, th)
        sol = solve_efficient_tasks(tech, w, mu, eff.quality)
        errs.append(abs(sol.value - eff.surplus) / abs(eff.surplus))
        errs.append(float(np.abs(sol.x - efficient_task_tokens(tech, w, mu)).max() / eff.X.max()))
    return CheckResult("prop1", "efficient tokens per task proportional to w^{1/(1-sigma)}; surplus via theta(w)",
                       len(techs), max(errs), 1e-4, None, 0.0)


def check_prop2(rng: np.random.Generator, problems: Path) -> CheckResult:
    errs = []
    techs = random_technologies(rng, 5)
    for tech in techs:
        w, mu = random_profiles(rng, 5)
        X = rng.uniform(0.1, 1.0, tech.J)
        Z = rng.uniform(0.1, 1.0, tech.K)
        sol = solve_buyer_allocation(tech, w, mu, X, Z)
        errs.append(abs(sol.value - indirect_utility(tech, w, mu, X, Z)) / sol.value)
        errs.append(float(np.abs(sol.x - buyer_allocation(tech, w, mu, X)).max() / X.max()))
    return CheckResult("prop2", "buyer's best split of budgets gives theta(w) Psi(X) Phi(Z)", len(techs),
                       max(errs), 1e-4, None, 0.0)


def check_cor1(rng: np.random.Generator, problems: Path) -> CheckResult:
    errs = []
    techs = random_technologies(rng, 5)
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
