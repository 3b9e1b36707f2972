"""K-item menus, one linear price and one two-part tariff: what simpler formats leave on the table."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import optimize

from mechdesign import DiscreteTypes, Technology, audit_menu, discrete_menu, load_problem
from mechdesign.analytic.tiers import best_k_item_menu, linear_price, menu_from_blocks, single_two_part

from .conftest import PROBLEMS, TECHNOLOGIES


def _brute_force(tech: Technology, types: DiscreteTypes, K: int) -> float:
    """Best IC menu over all contiguous partitions (with an excluded prefix) into at most K blocks.

    Independent of the recursion: each block's quality maximises a Q - F C(Q) by a numerical scalar
    search, and every candidate menu must pass the all-pairs IC/IR audit to count.
    """
    th, f = types.theta, types.prob
    N = types.n
    best = 0.0
    for start in range(N):
        for k in range(1, K + 1):
            for cuts in itertools.combinations(range(start + 1, N), k - 1):
                edges = [start, *cuts, N]
                blocks = list(itertools.pairwise(edges))
                q = []
                for b, (i, j) in enumerate(blocks):
                    F = f[i:j].sum()
                    nxt = edges[b + 1]
                    S = f[nxt:].sum()
                    a = F * th[i] - ((th[nxt] if nxt < N else th[i]) - th[i]) * S
                    res = optimize.minimize_scalar(lambda x, a=a, F=F: -(a * x - F * float(tech.cost(np.array(x)))),
                                                   bounds=(0.0, 10.0), method="bounded",
                                                   options={"xatol": 1e-14})
                    q.append(max(float(res.x), 0.0))
                menu = menu_from_blocks(tech, types, blocks, np.array(q))
                assign = menu.assignment
                Q = np.where(assign >= 0, menu.quality[np.maximum(assign, 0)], 0.0)
                t = np.where(assign >= 0, menu.transfer[np.maximum(assign, 0)], 0.0)
                if audit_menu(th, Q, t, rtol=1e-9).passed:
                    best = max(best, menu.profit)
    return best


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("K", [1, 2, 3])
def test_k_item_recursion_matches_brute_force(seed: int, K: int) -> None:
    rng = np.random.default_rng(seed)
    theta = np.sort(rng.uniform(0.1, 1.0, 6))
    prob = rng.uniform(0.2, 1.0, 6)
    types = DiscreteTypes(theta, prob / prob.sum())
    tech = TECHNOLOGIES["cobb_douglas"]
    menu = best_k_item_menu(tech, types, K)
    assert menu.profit == pytest.approx(_brute_force(tech, types, K), rel=1e-7)


@pytest.mark.parametrize("name", ["single_model_cobb_douglas", "single_model_beta", "single_model_ironing"])
def test_profit_share_rises_with_k_to_the_optimum(name: str) -> None:
    p = load_problem(PROBLEMS / f"{name}.toml")
    types = p.discrete_types(100)
    opt = discrete_menu(p.technology, types).profit
    shares = [best_k_item_menu(p.technology, types, K).profit / opt for K in range(1, 7)]
    assert all(b > a for a, b in itertools.pairwise(shares))
    assert shares[-1] < 1.0
    full = best_k_item_menu(p.technology, types, 100)
    assert full.profit == pytest.approx(opt, rel=1e-9)
    # the K-item menus are IC
    m = best_k_item_menu(p.technology, types, 3)
    Q = np.where(m.assignment >= 0, m.quality[np.maximum(m.assignment, 0)], 0.0)
    t = np.where(m.assignment >= 0, m.transfer[np.maximum(m.assignment, 0)], 0.0)
    assert audit_menu(types.theta, Q, t, rtol=1e-12).passed


def test_linear_price_closed_form_markup(shipped_tech: Technology) -> None:
    # One markup k on C(Q) = C0 Q^kappa: a type buys Q with theta = k C'(Q) and the seller earns
    # (k-1) k^{-kappa/(kappa-1)} * const, maximised at k = kappa (= 4/3 here), whatever the types.
    types = DiscreteTypes(np.array([0.3, 0.6, 0.9]), np.array([0.2, 0.5, 0.3]))
    k, profit, surplus, cs = linear_price(shipped_tech, types)
    assert k == pytest.approx(shipped_tech.cost_exponent, rel=1e-6)
    assert profit > 0 and surplus > profit + cs - 1e-15


def test_single_two_part_between_linear_and_optimal(shipped_tech: Technology) -> None:
    p = load_problem(PROBLEMS / "single_model_cobb_douglas.toml")
    types = p.discrete_types(100)
    opt = discrete_menu(p.technology, types).profit
    lin = linear_price(p.technology, types)[1]
    two = single_two_part(p.technology, types)[2]
    assert lin < two < opt
