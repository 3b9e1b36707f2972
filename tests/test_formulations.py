"""The fast single-model path: Lemma 3's cost of quality as one cone per type, the local strategy with
downward IC only, and the sparse active-set refinement, each checked against an independent answer."""

from __future__ import annotations

import numpy as np
import pytest

import mechdesign.engine.refine as refine_module
from mechdesign import DiscreteTypes, ProblemSpecError, SingleModelProblem, load_problem
from mechdesign.engine.program import downward_pairs

from .conftest import MENU_RTOL, PROBLEMS, TECHNOLOGIES

COBB = PROBLEMS / "single_model_cobb_douglas.toml"


def test_quality_formulation_matches_token_formulation() -> None:
    """The token program never uses Lemma 3 (it writes Psi(X) Phi(Z) >= Q, eq. 9); the quality program
    writes C(Q) = C0 Q^(1/(sigma+sigma_hat)). Same optimum, and both equal the exact discrete menu."""
    problem = load_problem(COBB)
    tok = problem.solve(n=200, ic="local", formulation="tokens")
    qual = problem.solve(n=200, ic="local", formulation="quality")
    assert tok.solver["formulation"] == "tokens" and qual.solver["formulation"] == "quality"
    scale = float(tok.menu["quality"].max())
    # each is within MENU_RTOL of the exact menu (asserted below), so within 2 MENU_RTOL of each other
    assert np.max(np.abs(tok.menu["quality"] - qual.menu["quality"])) <= 2 * MENU_RTOL * scale
    assert abs(tok.profit - qual.profit) <= MENU_RTOL * abs(tok.profit)
    # closed-form token budgets (Lemma 3's proof) deliver the quality the program chose
    X = qual.menu[[c for c in qual.menu.columns if c.startswith("X_")]].to_numpy()
    Z = qual.menu[[c for c in qual.menu.columns if c.startswith("Z_")]].to_numpy()
    delivered = problem.technology.gain(X, Z)
    assert np.allclose(delivered, qual.menu["quality"], rtol=1e-9, atol=1e-12 * scale)
    for res in (tok, qual):
        assert res.comparison.agree


def test_quality_formulation_needs_a_homogeneous_technology() -> None:
    tech = TECHNOLOGIES["ces_substitutes_baseline"]
    problem = SingleModelProblem(tech, DiscreteTypes([0.5, 1.0], [0.5, 0.5]))
    with pytest.raises(ProblemSpecError, match="formulation"):
        problem.solve(formulation="quality")
    assert problem.solve(formulation="auto").solver["formulation"] == "tokens"


def test_local_strategy_uses_downward_pairs_only() -> None:
    problem = load_problem(COBB)
    res = problem.solve(n=50, ic="local")
    assert res.solver["ic_pairs"] == 49
    assert downward_pairs(4).tolist() == [[1, 0], [2, 1], [3, 2]]
    assert res.audit.passed and res.comparison.agree


@pytest.mark.slow
def test_large_problem_first_pass_is_certified_by_the_sparse_refinement() -> None:
    """N = 10,000 (above REFINE_FIRST_MIN_N and REFINE_MAX_DIM): the sparse active-set Newton step (SuperLU,
    Newton multipliers as the certificate) certifies the first interior-point pass, so the polish is skipped;
    the menu equals the exact discrete menu (closed form, Prop 3 discrete). Slow step: 54 s of the default
    suite's 293 s on this project's 2-core machine."""
    res = load_problem(COBB).solve(n=10_000, ic="local", binding="local")
    ref = res.solver["refine"]
    assert ref["applied"] and ref["linear_algebra"] == "sparse"
    assert ref["kkt_residual"] <= refine_module.REFINE_KKT_TOL
    assert res.solver["polish"]["applied"] is False
    assert res.status == "optimal"
    assert res.comparison.agree
    assert res.comparison.profit_rel_error <= 1e-8
