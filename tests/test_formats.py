"""Pricing formats (Defs 1-3, Prop 4) checked by simulating buyers against the exact discrete menu."""

from __future__ import annotations

import numpy as np
import pytest

from mechdesign import load_problem
from mechdesign.analytic.formats import build_format, check_format, markups, simulate

from .conftest import PROBLEMS

REGULAR = ["single_model_cobb_douglas", "single_model_beta"]


def _menu(name: str, n: int = 200):  # type: ignore[no-untyped-def]
    p = load_problem(PROBLEMS / f"{name}.toml")
    return p, p.analytic(n)


@pytest.mark.parametrize("kind", ["max-spend", "min-spend"])
@pytest.mark.parametrize("name", REGULAR)
def test_committed_spend_formats_reproduce_the_menu(name: str, kind: str) -> None:
    # Prop 4: max-spend (p = c, B = C(Q), T = t) and, with m decreasing, min-spend (r = t / C(Q))
    # implement the optimal menu: every simulated type buys its own quality and pays its own transfer.
    p, an = _menu(name)
    fmt = build_format(kind, p.technology, an.types.theta, an.quality, an.transfer)
    c = check_format(fmt, p.technology, an.types.theta, an.types.prob, an.quality, an.transfer)
    assert c.quality_rel_error < 1e-9 and c.payment_rel_error < 1e-9 and c.profit_rel_error < 1e-9
    assert c.missorted.size == 0


def test_max_spend_works_even_with_ironing() -> None:
    p, an = _menu("single_model_ironing")
    fmt = build_format("max-spend", p.technology, an.types.theta, an.quality, an.transfer)
    c = check_format(fmt, p.technology, an.types.theta, an.types.prob, an.quality, an.transfer)
    assert c.missorted.size == 0 and c.profit_rel_error < 1e-9


@pytest.mark.parametrize("name", REGULAR)
def test_markups_prop4_proof(name: str) -> None:
    # Proof of Prop 4: m = theta / phi_bar is decreasing under an increasing hazard rate and m <= r.
    p, an = _menu(name)
    mk = markups(p.technology, an.types.theta, an.quality, an.transfer)
    assert np.all(np.diff(mk["m"]) <= 1e-12)
    assert np.all(np.diff(mk["r"]) <= 1e-12)
    assert np.all(mk["m"] <= mk["r"] * (1 + 1e-12))


def test_ironing_breaks_monotone_markups_and_min_spend_sorting() -> None:
    # With ironing, m = theta / phi_bar rises inside the pooled block (phi_bar constant): Prop 4's
    # condition fails, and the minimum-spend format no longer sorts types; the failure is reported.
    p, an = _menu("single_model_ironing")
    th = an.types.theta
    mk = markups(p.technology, th, an.quality, an.transfer)
    assert np.any(np.diff(mk["m"]) > 1e-9)
    c = check_format(build_format("min-spend", p.technology, th, an.quality, an.transfer), p.technology, th,
                     an.types.prob, an.quality, an.transfer)
    assert c.missorted.size > 0 and c.profit_loss > 0
    i, j = an.pooled_blocks[0]
    assert set(c.missorted) & set(range(i, j + 1)), "mis-sorted types sit at the ironed block"


def test_discrete_two_part_tariff_gap_falls_like_one_over_n() -> None:
    # With finitely many types, a type facing a neighbour's two-part tariff can re-optimise its quantity,
    # so tariffs built from the discrete markup m_n = theta_n / C'(Q_n) mis-sort; the profit gap is a
    # discretisation effect that vanishes like 1/N (Prop 4 holds in the continuum).
    p = load_problem(PROBLEMS / "single_model_cobb_douglas.toml")
    gaps = []
    for n in (50, 200, 800):
        an = p.analytic(n)
        th = an.types.theta
        fmt = build_format("two-part", p.technology, th, an.quality, an.transfer)
        gaps.append(check_format(fmt, p.technology, th, an.types.prob, an.quality, an.transfer).profit_loss / an.profit)
    assert gaps[0] > gaps[1] > gaps[2] > 0
    assert np.polyfit(np.log([50, 200, 800]), np.log(gaps), 1)[0] == pytest.approx(-1.0, abs=0.1)


def test_simulator_ties_and_outside_option() -> None:
    # An item priced above every type's value is never bought; excluded types buy nothing.
    p, an = _menu("single_model_cobb_douglas", 20)
    fmt = build_format("max-spend", p.technology, an.types.theta, an.quality, an.transfer)
    sim = simulate(fmt, p.technology, an.types.theta)
    assert np.all(sim.loc[an.excluded, "item"] == -1)
    assert np.all(sim["payoff"] >= -1e-15)
