"""Generic multidimensional screening (issue 14): every menu against an independent program written here.

Reference values: an all-pairs cvxpy program in *transfer* variables (the textbook form of the discrete
Rochet–Choné program, not the engine's rent formulation), solved by Clarabel; the cost's conjugate
against brute force; the token technology against the contractible setting (BBS Appendix B) on the
same instance.
"""

from __future__ import annotations

import json
from pathlib import Path

import cvxpy as cp
import numpy as np
import pytest

from mechdesign.app.cli import main
from mechdesign.exceptions import ProblemSpecError
from mechdesign.problemfile import load_problem
from mechdesign.settings.base import CONTRACT_KEYS
from mechdesign.settings.contractible import solve_contractible
from mechdesign.settings.multidim import MultiDimProblem, VectorTypes, regions
from mechdesign.settings.vector_costs import QuadraticCost, SeparablePowerCost, TokenTechnologyCost
from mechdesign.technology import cobb_douglas
from mechdesign.types import TaskProfileTypes

from .conftest import PROBLEMS


def reference_profit(points: np.ndarray, prob: np.ndarray, cost: str, params: dict, free: bool = False) -> float:
    """max sum f_n (t_n - c(q_n)) s.t. every IC pair and IR, written in transfers (independent of the engine);
    q_n in R^D_+, or in R^D when ``free``. Power costs: q_d = s_d x_d with s_d the largest efficient q_d
    (exponents that differ give allocations of very different sizes, 1.2 and 473 on one instance: in one unit
    Clarabel stopped 1.5e-6 short of the optimum there)."""
    N, D = points.shape
    s = np.ones(D)
    if cost != "quadratic":
        cc, pp = np.asarray(params["c"], dtype=float), np.asarray(params["p"], dtype=float)
        s = np.max((points / cc) ** (1.0 / (pp - 1.0)), axis=0)
        s = np.where(s > 0, s, 1.0)
    q = cp.Variable((N, D), nonneg=not free)  # in units s
    t = cp.Variable(N)
    vs = points * s
    own = cp.sum(cp.multiply(vs, q), axis=1) - t
    cons = [own >= 0]
    for n in range(N):  # type n does not prefer any other item m: v_n . q_m - t_m <= own_n
        others = [m for m in range(N) if m != n]
        cons.append((q @ vs[n] - t)[others] <= own[n])
    if cost == "quadratic":  # 1/2 |L'q|^2 with A = L L'
        L = np.linalg.cholesky(params["A"])
        c = 0.5 * cp.hstack([cp.sum_squares(L.T @ q[n]) for n in range(N)])
    else:  # sum_d c_d (s_d x_d)^p_d / p_d, exact power cones (no rational approximation), one exponent per dimension
        c = cp.hstack([sum(cc[d] * s[d] ** pp[d] / pp[d] * cp.power(q[n, d], float(pp[d]), approx=False)
                           for d in range(D)) for n in range(N)])
    prob_ = cp.Problem(cp.Maximize(prob @ (t - c)), cons)
    prob_.solve(solver="CLARABEL")
    assert prob_.status == "optimal"
    return float(prob_.value)


def random_instance(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    N, D = int(rng.integers(3, 9)), int(rng.integers(2, 4))
    pts = rng.uniform(0.0, 2.0, (N, D))
    prob = rng.uniform(0.2, 1.0, N)
    return pts, prob / prob.sum()


@pytest.mark.parametrize("seed", range(8))
def test_quadratic_menus_equal_the_independent_all_pairs_program(seed: int) -> None:
    pts, prob = random_instance(seed)
    D = pts.shape[1]
    rng = np.random.default_rng(100 + seed)
    B = rng.uniform(-0.5, 0.5, (D, D))
    A = B @ B.T + np.eye(D) * rng.uniform(0.5, 2.0)
    ref = reference_profit(pts, prob, "quadratic", {"A": A})
    for ic in ("all", "adaptive"):
        r = MultiDimProblem(VectorTypes(pts, prob), QuadraticCost(A)).solve(ic=ic)
        assert r.status == "optimal" and r.certificate is not None and r.certificate.passed
        assert r.audit.passed
        assert r.profit == pytest.approx(ref, rel=1e-7, abs=1e-9)
        assert r.certificate.bound >= r.profit - 1e-12


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(8, 208))
def test_quadratic_harness_many_seeds(seed: int) -> None:
    """The default-suite check above over 200 more seeds (slow step)."""
    test_quadratic_menus_equal_the_independent_all_pairs_program(seed)


@pytest.mark.parametrize("seed", range(4))
def test_power_costs_equal_the_independent_program(seed: int) -> None:
    pts, prob = random_instance(seed + 50)
    D = pts.shape[1]
    c, p = np.linspace(1.0, 2.0, D), np.full(D, 3.0)  # cp.power with an integer exponent is exact
    ref = reference_profit(pts, prob, "power", {"c": c, "p": p})
    r = MultiDimProblem(VectorTypes(pts, prob), SeparablePowerCost(c, p)).solve()
    assert r.status == "optimal"
    assert r.profit == pytest.approx(ref, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("A", [np.eye(2), np.array([[1.0, 0.5], [0.5, 1.0]]), np.array([[2.0, -0.7], [-0.7, 1.0]])])
def test_quadratic_conjugate_against_brute_force(A: np.ndarray) -> None:
    rng = np.random.default_rng(3)
    s = rng.normal(size=(40, 2))
    f = rng.uniform(0.1, 2.0, 40)
    g = np.linspace(0, 6, 601)
    grid = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
    quad = 0.5 * np.einsum("kd,de,ke->k", grid, A, grid)
    brute = np.max(s @ grid.T - f[:, None] * quad[None, :], axis=1)
    exact = QuadraticCost(A).conjugate(s, f)
    assert np.all(exact >= brute - 1e-12)  # the supremum is at least any grid point's value
    assert np.allclose(exact, brute, atol=2e-3)


def test_power_conjugate_against_brute_force() -> None:
    cost = SeparablePowerCost([1.0, 2.5], [1.5, 3.0])
    s = np.array([[1.0, 2.0], [-1.0, 0.5], [0.3, -2.0]])
    f = np.array([0.5, 1.0, 2.0])
    x = np.linspace(0, 20, 200001)
    brute = sum(np.max(s[:, d:d + 1] * x - f[:, None] * cost.c[d] * x ** cost.p[d] / cost.p[d], axis=1)
                for d in range(2))
    assert np.allclose(cost.conjugate(s, f), brute, atol=1e-6)


def test_token_technology_cost_matches_the_contractible_setting() -> None:
    """The same instance as a contractible problem (Appendix B) and as a generic one with the token cost."""
    rng = np.random.default_rng(7)
    w = rng.uniform(0.1, 1.2, (6, 3))
    mu = np.array([0.2, 0.3, 0.5])
    f = np.full(6, 1 / 6)
    tech = cobb_douglas([0.3, 0.2], [1.0, 3.0], [0.25], [2.0])
    a = solve_contractible(tech, TaskProfileTypes(w, f, mu), ic="all")
    b = MultiDimProblem(VectorTypes(w * mu, f), TokenTechnologyCost(tech, mu)).solve(ic="all")
    assert a.status == b.status == "optimal"
    assert b.profit == pytest.approx(a.profit, rel=1e-7)
    assert np.allclose(b.quality, a.quality, rtol=1e-4, atol=1e-6 * a.quality.max())


def test_rochet_chone_grid_regions_and_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, png = tmp_path / "rc.json", tmp_path / "rc.png"
    assert main(["solve", "multidim/rochet_chone_20x20", "--json", str(out), "--plot", str(png)]) == 0
    capsys.readouterr()
    data = json.loads(out.read_text())
    assert all(k in data for k in CONTRACT_KEYS) and data["status"] == "optimal"
    assert data["problem"]["kind"] == "multidim" and len(data["menu"]) == 400
    reg = data["regions"]
    # Rochet and Choné (1998): a positive mass is excluded, a region bunched, the rest separated
    assert reg["exclusion"] > 0 and reg["bunching"] > 0 and reg["separation"] > reg["bunching"]
    assert png.stat().st_size > 10_000
    # excluded types are the low ones: every excluded type has v1 + v2 below every separated one's
    v = np.array([row["v"] for row in data["menu"]])
    lab = np.array([row["region"] for row in data["menu"]])
    assert v[lab == "exclusion"].sum(axis=1).max() < v[lab == "separation"].sum(axis=1).min()


def test_problem_file_round_trips(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "points.toml"
    path.write_text('[problem]\nkind = "multidim"\nname = "three points"\n\n[types]\n'
                    'points = [[1.0, 0.2], [0.4, 1.0], [1.0, 1.0]]\nprob = [0.3, 0.3, 0.4]\n\n'
                    '[cost]\nkind = "power"\nc = [1.0, 1.0]\np = [2.0, 2.0]\n')
    out = tmp_path / "o.json"
    assert main(["solve", str(path), "--json", str(out), "--ic", "all"]) == 0
    capsys.readouterr()
    data = json.loads(out.read_text())
    assert data["status"] == "optimal" and data["solver"]["ic"] == "all"
    prob = load_problem(path)
    assert isinstance(prob, MultiDimProblem)
    # p = 2 power cost equals the quadratic cost with A = I: the same menu
    q = MultiDimProblem(prob.types, QuadraticCost(np.eye(2))).solve()
    assert data["profit"] == pytest.approx(q.profit, rel=1e-8)


@pytest.mark.parametrize(("cost", "field"), [
    ('kind = "quadratic"\nA = [[1.0, 2.0], [2.0, 1.0]]', "cost.A"),         # not positive definite
    ('kind = "quadratic"\nA = [[1.0, 0.0], [0.5, 1.0]]', "cost.A"),         # not symmetric
    ('kind = "power"\nc = [1.0, 1.0]\np = [1.0, 2.0]', "cost.p"),            # not strictly convex
    ('kind = "power"\nc = [1.0, -1.0]\np = [2.0]', "cost.c"),
    ('kind = "cubic"', "cost.kind"),
    ('kind = "quadratic"\nA = [[1.0]]', "cost"),                             # wrong dimension
])
def test_bad_costs_name_their_field(cost: str, field: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[problem]\nkind = "multidim"\n\n'
                    '[types]\ngrid = { lo = [0.0, 0.0], hi = [1.0, 1.0], n = [3, 3] }\n\n'
                    f'[cost]\n{cost}\n')
    out = tmp_path / "o.json"
    assert main(["solve", str(path), "--json", str(out)]) == 2
    err = capsys.readouterr().err
    assert field in err and "Traceback" not in err and not out.exists()


def test_bad_types_are_refused() -> None:
    with pytest.raises(ProblemSpecError, match="types.points"):
        VectorTypes(np.array([[1.0, -0.5]]), np.array([1.0]))
    with pytest.raises(ProblemSpecError, match="types.prob"):
        VectorTypes(np.ones((2, 2)), np.array([0.5, 0.6]))
    with pytest.raises(ProblemSpecError, match="types.grid.hi"):
        VectorTypes.grid([1.0, 1.0], [1.0, 2.0], [3, 3])
    with pytest.raises(ProblemSpecError, match="types.grid.n"):
        VectorTypes.grid([0.0, 0.0], [1.0, 1.0], [300, 300])


def test_options_the_setting_cannot_honour_are_refused() -> None:
    p = load_problem(PROBLEMS / "multidim" / "rochet_chone_20x20.toml")
    for opt in ({"n": 30}, {"formulation": "tokens"}, {"polish": False}, {"ic": "local"}):
        with pytest.raises(ProblemSpecError):
            p.solve(**opt)


def test_regions_classify_identical_items_and_the_null_item() -> None:
    q = np.array([[0.0, 0.0], [1.0, 1.0], [1.0, 1.0 + 1e-9], [2.0, 0.5]])
    t = np.array([0.0, 1.0, 1.0, 1.5])
    assert regions(q, t).tolist() == ["exclusion", "bunching", "bunching", "separation"]


def test_null_menu_when_no_type_values_anything() -> None:
    r = MultiDimProblem(VectorTypes(np.zeros((3, 2)), np.full(3, 1 / 3)), QuadraticCost(np.eye(2))).solve()
    assert r.status == "optimal" and r.profit == 0.0 and set(r.regions) == {"exclusion"}


def test_quadratic_argmax_replaces_the_whole_support() -> None:
    """Regression (review): a later support that wins must replace the earlier one entirely. With
    A = [[1, .9], [.9, 1]] and v = (1, 1.2) the efficient allocation is (0, 1.2) (support {1}: v_1 = 1 <
    0.9 * 1.2, so the first good is not worth producing), not (1, 1.2)."""
    q = QuadraticCost(np.array([[1.0, 0.9], [0.9, 1.0]])).efficient(np.array([[1.0, 1.2]]))
    assert np.allclose(q, [[0.0, 1.2]])


def test_grid_fields_are_checked_before_use() -> None:
    with pytest.raises(ProblemSpecError, match="types.grid.lo"):
        VectorTypes.grid([-1.0, 0.0], [1.0, 1.0], [3, 3])
    with pytest.raises(ProblemSpecError, match="types.grid.n"):
        VectorTypes.grid([0.0, 0.0], [1.0, 1.0], [2.5, 3])
