"""Contractible tasks with two types (Appendix B.2, Prop 9): the program against the closed form."""

from __future__ import annotations

import numpy as np
import pytest

from mechdesign import CES, TaskProfileTypes, Technology
from mechdesign.analytic.contractible import binary_menu
from mechdesign.settings.contractible import solve_contractible

from .conftest import TECHNOLOGIES

MU = np.full(4, 0.25)
W_L = [1.0, 1.0, 0.2, 0.2]
FULL = np.array([W_L, [0.5, 0.5, 1.5, 1.5]])      # issue 5: binary_full_extraction
SCREEN = np.array([W_L, [0.9, 1.4, 0.6, 0.6]])    # issue 5: binary_screening
F = np.array([0.6, 0.4])                           # f_H = 0.4
SQRT = Technology(CES(np.array([1.0])), 0.5, np.array([1.0]))  # Psi(x) = x^0.5, cost 1, no fine-tuning


@pytest.mark.parametrize("tech", [SQRT, TECHNOLOGIES["cobb_douglas"], TECHNOLOGIES["ces_complements"]],
                         ids=["sqrt", "cobb_douglas", "ces"])
@pytest.mark.parametrize("w", [FULL, SCREEN], ids=["full_extraction", "screening"])
def test_prop9_binary_types(tech: Technology, w: np.ndarray) -> None:
    # Prop 9: H (larger theta(w)) is served efficiently; under (52) both are efficient with full
    # extraction; otherwise L is efficient for w_L - (w_H - w_L) f_H / f_L (zero where negative),
    # IR of L and IC of H bind. Reference: binary_menu (closed form), numeric: the contractible program.
    an = binary_menu(tech, w, F, MU)
    r = solve_contractible(tech, TaskProfileTypes(w, F, MU), ic="all")
    assert r.status == "optimal"
    assert r.profit == pytest.approx(an.profit, rel=1e-6)
    np.testing.assert_allclose(r.quality, an.quality, rtol=0, atol=1e-6 * an.quality.max())
    np.testing.assert_allclose(r.transfer, an.transfer, rtol=0, atol=1e-6 * an.transfer.max())
    H, L = an.high, 1 - an.high
    duals = {tuple(p): d for p, d in zip(r.ic_pairs.tolist(), r.ic_duals)}
    if an.full_extraction:
        assert r.ir_duals[H] > 1e-6 and r.ir_duals[L] > 1e-6  # both IRs bind
        assert duals[(H, L)] < 1e-7
    else:
        assert duals[(H, L)] == pytest.approx(F[H], rel=1e-6)  # IC of H, multiplier f_H
        assert r.ir_duals[L] == pytest.approx(1.0, rel=1e-6)   # IR of L, multiplier f_L + f_H
        assert r.ir_duals[H] < 1e-7


def test_prop9_labels_and_condition_52() -> None:
    full = binary_menu(SQRT, FULL, F, MU)
    screen = binary_menu(SQRT, SCREEN, F, MU)
    assert full.high == 1 and screen.high == 1
    # (52) with sigma = 1/2: sum mu (w_H - w_L) w_L = 0.25 * (-0.5 - 0.5 + 1.3 * 0.2 * 2) = -0.12
    assert full.condition_52 == pytest.approx(-0.12) and full.full_extraction
    assert screen.condition_52 == pytest.approx(0.25 * (-0.1 + 0.4 + 0.4 * 0.2 * 2)) and not screen.full_extraction
    # the virtual type of L is negative on the last two segments: L gets no quality there
    assert np.all(screen.quality[0, 2:] == 0) and np.all(screen.quality[0, :2] > 0)


def test_prop9_kink_case_missing_from_the_paper() -> None:
    # Horizontally differentiated types where distorting L toward the virtual type of Prop 9 would give
    # H a negative rent: the optimum has IC of H and BOTH IRs binding, L efficient for
    # w_L - lambda (w_H - w_L) with 0 < lambda < f_H / f_L (see analytic/contractible.py).
    w = np.array([[0.96, 0.64, 1.5, 1.47], [1.06, 1.01, 1.06, 0.64]])
    an = binary_menu(SQRT, w, F, MU)
    assert an.high == 0 and not an.full_extraction and an.kink
    assert 0 < an.lam < F[0] / F[1]
    r = solve_contractible(SQRT, TaskProfileTypes(w, F, MU), ic="all")
    assert r.profit == pytest.approx(an.profit, rel=1e-6)
    np.testing.assert_allclose(r.quality, an.quality, rtol=0, atol=1e-6 * an.quality.max())
    assert r.ir_duals[0] > 1e-6 and r.ir_duals[1] > 1e-6
    duals = {tuple(p): d for p, d in zip(r.ic_pairs.tolist(), r.ic_duals)}
    assert duals[(0, 1)] > 1e-6
    # the paper's formula (lambda = f_H / f_L) would leave H with negative rent, i.e. violate IR
    from mechdesign.analytic.contractible import efficient_profile

    q_paper, _ = efficient_profile(SQRT, w[1] - (w[0] - w[1]) * F[0] / F[1], MU)
    assert MU @ ((w[0] - w[1]) * q_paper) < 0


def _bench_types(N: int, T: int) -> tuple[object, object]:
    """The bench instance (random profiles w ~ U[0.05, 1.2]^T, seed 0, equal masses, the shipped technology)."""
    from mechdesign.technology import cobb_douglas
    from mechdesign.types import TaskProfileTypes

    rng = np.random.default_rng(0)
    w = rng.uniform(0.05, 1.2, (N, T))
    types = TaskProfileTypes(w, np.full(N, 1 / N), np.full(T, 1 / T))
    return cobb_douglas([0.3, 0.2], [1.0, 3.0], [0.25], [2.0]), types


def _agree_within_certificates(a: object, b: object) -> None:
    """Two certified menus of the same program: each one's profit is within the other's Lagrangian bound,
    so their profits differ by at most the larger certified gap (GAP_RTOL of the money unit)."""
    ca, cb = a.certificate, b.certificate  # type: ignore[attr-defined]
    assert a.status == b.status == "optimal"  # type: ignore[attr-defined]
    assert a.profit <= cb.bound * (1 + 1e-12) and b.profit <= ca.bound * (1 + 1e-12)  # type: ignore[attr-defined]
    assert abs(a.profit - b.profit) <= max(ca.gap, cb.gap) + 1e-12 * ca.scale  # type: ignore[attr-defined]


def test_adaptive_equals_all_pairs_when_first_round_exclusions_are_wrong() -> None:
    """Regression (found by `mechdesign bench contractible`): on 100 random task profiles x 5 segments
    (seed 0) the first adaptive round excludes a type that the optimum serves; holding it at the null
    item cost 1.6e-5 of profit. The adaptive strategy's final rounds now leave every type free; its
    menu must equal the all-pairs program's (an independent formulation: every IC pair) to the
    certificates' precision, in both final formulations."""
    from mechdesign.settings.contractible import solve_contractible

    tech, types = _bench_types(100, 5)
    every_pair = solve_contractible(tech, types, ic="all")
    for formulation in ("tokens", "auto"):
        _agree_within_certificates(solve_contractible(tech, types, ic="adaptive", formulation=formulation), every_pair)


def test_adaptive_search_with_the_profile_formulation_gives_the_all_pairs_menu() -> None:
    """The default adaptive strategy searches for IC pairs with the profile formulation and finishes in it
    at the final accuracy; its menu must be the all-pairs program's (every IC pair, token formulation:
    an independent solve) to the certificates' precision (measured 1.6e-9 of the profit apart, the
    profile menu earning more), and it must say what it did."""
    from mechdesign.settings.contractible import solve_contractible

    tech, types = _bench_types(60, 6)
    searched = solve_contractible(tech, types, ic="adaptive")
    every_pair = solve_contractible(tech, types, ic="all")
    assert searched.solver["search"] == "profile" and searched.solver["formulation"] == "profile"
    assert every_pair.solver["search"] is None and every_pair.solver["formulation"] == "tokens"
    assert searched.audit.max_ic_violation_rel <= 1e-7
    _agree_within_certificates(searched, every_pair)
