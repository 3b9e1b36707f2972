"""Allocations free in sign (issue 23): a quadratic cost on q in R^D, against an independent program written here.

Reference values: an all-pairs cvxpy program in *transfer* variables with a free allocation variable (the
textbook form of the discrete Rochet–Choné program on R^D, not the engine's rent formulation), solved by
Clarabel; the conjugate over R^D against the cost at random points and at its maximiser.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mechdesign.app.cli import main
from mechdesign.engine.program import ScreeningProgram
from mechdesign.exceptions import ProblemSpecError
from mechdesign.problemfile import load_problem
from mechdesign.settings.multidim import VectorTypes, solve_multidim
from mechdesign.settings.vector_costs import QuadraticCost

from .conftest import multidim_file
from .test_multidim import reference_profit as all_pairs_profit

#: the package's profit against the reference program (Clarabel at its default tolerances, about 1e-8)
REF_RTOL = 1e-7
SUBSTITUTES = np.array([[1.0, 0.5], [0.5, 1.0]])


def reference_profit(points: np.ndarray, prob: np.ndarray, A: np.ndarray, free: bool = True) -> float:
    """max sum f_n (t_n - 1/2 q_n'A q_n) s.t. every IC pair and IR, written in transfers, q_n in R^D (free) or
    R^D_+ (the all-pairs program of tests/test_multidim.py, independent of the engine)."""
    return all_pairs_profit(points, prob, "quadratic", {"A": A}, free=free)


def random_instance(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    N, D = int(rng.integers(5, 12)), int(rng.integers(1, 4))
    pts = rng.uniform(0.0, 2.0, (N, D))
    prob = rng.uniform(0.2, 1.0, N)
    B = rng.normal(size=(D, D))
    return pts, prob / prob.sum(), B @ B.T + 0.5 * D * np.eye(D)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_random_instances_match_the_reference(seed: int) -> None:
    pts, prob, A = random_instance(seed)
    ref = reference_profit(pts, prob, A)
    for ic in ("all", "adaptive"):
        res = solve_multidim(VectorTypes(pts, prob), QuadraticCost(A, "free"), ic=ic)
        assert res.status == "optimal" and res.audit.passed
        assert res.certificate is not None and res.certificate.has_margin
        assert res.profit == pytest.approx(ref, rel=REF_RTOL)


def test_negative_quantities_earn_more_with_substitutes() -> None:
    """With goods that are substitutes in production a negative quantity of one good lowers the other's
    marginal cost: free in sign, some types buy a negative quantity and the menu earns more than on R^2_+
    (each against its own reference program)."""
    types = VectorTypes.grid([0.0, 0.0], [1.0, 1.0], [6, 6])
    free = solve_multidim(types, QuadraticCost(SUBSTITUTES, "free"), ic="all")
    nonneg = solve_multidim(types, QuadraticCost(SUBSTITUTES), ic="all")
    assert free.status == nonneg.status == "optimal"
    assert free.profit == pytest.approx(reference_profit(types.points, types.prob, SUBSTITUTES), rel=REF_RTOL)
    assert nonneg.profit == pytest.approx(reference_profit(types.points, types.prob, SUBSTITUTES, free=False),
                                          rel=REF_RTOL)
    assert free.profit > nonneg.profit * (1 + 1e-4)
    assert free.quality.min() < -0.05 and nonneg.quality.min() >= 0.0
    # the negative quantities go to types that value the other good much more
    neg = np.any(free.quality < -1e-9, axis=1)
    v = types.points[neg]
    assert np.all(np.abs(v[:, 0] - v[:, 1]) > 0.2)


def test_the_nonneg_certificate_refuses_a_free_menu() -> None:
    """The check has teeth: the conjugate over R^2_+ bounds the profit of q >= 0 only, so the free menu,
    which earns more, sits above that bound."""
    types = VectorTypes.grid([0.0, 0.0], [1.0, 1.0], [6, 6])
    free = solve_multidim(types, QuadraticCost(SUBSTITUTES, "free"), ic="all")
    nonneg = solve_multidim(types, QuadraticCost(SUBSTITUTES), ic="all")
    assert nonneg.certificate is not None and free.profit > nonneg.certificate.bound + 1e-6


def test_the_conjugate_over_rd() -> None:
    rng = np.random.default_rng(7)
    A = SUBSTITUTES
    cost = QuadraticCost(A, "free")
    s = rng.normal(0.0, 1.0, (40, 2))
    f = rng.uniform(0.1, 1.0, 40)
    conj = cost.conjugate(s, f)
    arg = np.linalg.solve(A, s.T).T / f[:, None]
    assert np.allclose(conj, np.sum(s * arg, axis=1) - f * cost.value(arg), rtol=1e-13, atol=0)
    for _ in range(20):  # no point does better (negative quadrants included)
        a = rng.normal(0.0, 2.0, (40, 2))
        assert np.all(np.sum(s * a, axis=1) - f * cost.value(a) <= conj + 1e-12)
    # over R^2_+ the supremum is smaller wherever the maximiser has a negative entry
    neg = np.any(arg < 0, axis=1)
    assert np.all(QuadraticCost(A).conjugate(s, f)[neg] < conj[neg] - 1e-12)
    assert np.allclose(cost.efficient(np.array([[1.0, 0.0]])), np.linalg.solve(A, [1.0, 0.0]))
    assert cost.scaled(2.0, 3.0).domain == "free"


def test_the_refinement_skips_allocations_free_in_sign() -> None:
    prog = ScreeningProgram(np.linspace(0.1, 1.0, 8)[:, None], np.full(8, 1 / 8), QuadraticCost(np.eye(1), "free"))
    sol = prog.solve(ic="all")  # one dimension: polish and refinement
    assert sol.solver_stats["refine"]["applied"] is False and "free in sign" in sol.solver_stats["refine"]["skipped"]


def test_the_reader_takes_the_domain_of_a_quadratic_cost(tmp_path: Path) -> None:
    prob = load_problem(multidim_file(tmp_path, 'kind = "quadratic"\ndomain = "free"'))
    assert isinstance(prob.cost, QuadraticCost) and prob.cost.signed
    assert load_problem(multidim_file(tmp_path, 'domain = "nonneg"')).cost.domain == "nonneg"  # type: ignore[attr-defined]
    res = prob.solve()
    assert res.to_dict()["problem"]["cost"]["domain"] == "free"  # type: ignore[index]
    # the contract of a cost on R^D_+ is as before (no domain key)
    assert "domain" not in QuadraticCost(np.eye(2)).to_dict()


@pytest.mark.parametrize("cost, words", [
    ('kind = "quadratic"\ndomain = "box"', "'nonneg', 'free'"),
    ('domain = "signed"', "'nonneg', 'free'"),
    ('kind = "linear"\ndomain = "free"', "'box', 'simplex'"),
    ('kind = "power"\nc = [1.0, 1.0]\np = 2.0\ndomain = "free"', "R^D_+"),
])
def test_a_domain_a_cost_cannot_honour_is_refused(tmp_path: Path, cost: str, words: str) -> None:
    with pytest.raises(ProblemSpecError) as err:
        load_problem(multidim_file(tmp_path, cost))
    assert "cost.domain" in str(err.value) and words in str(err.value)
    with pytest.raises(ProblemSpecError, match="cost.domain"):
        QuadraticCost(np.eye(2), "box")


def test_the_shipped_problem_is_certified(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.json"
    assert main(["solve", "multidim/bundling_substitutes_signed_20x20", "--json", str(out)]) == 0
    capsys.readouterr()
    data = json.loads(out.read_text())
    assert data["status"] == "optimal" and abs(data["certificate"]["gap_rel"]) <= 1e-12
    q = np.array([row["quality"] for row in data["menu"]])
    assert q.min() < -0.5 and data["profit"] == pytest.approx(0.16232029322, rel=1e-9)
