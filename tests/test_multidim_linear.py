"""Linear costs on a bounded domain (issue 23): bundling on the box (Manelli and Vincent 2006) and lotteries on
the simplex, against an independent program written here.

Reference values: an all-pairs linear program in *transfer* variables with every IC and IR row written out by
hand (scipy.optimize.linprog, HiGHS; not the engine's cvxpy program, its rent variables or its vertex solve);
the conjugate of cost + domain against the vertices of the domain; the Manelli-Vincent menu for values uniform
on [0, 1]^2 (each good at 2/3, the bundle at (4 - sqrt 2)/3), which is feasible on any grid of types, so the
grid's optimum earns at least its revenue there.
"""

from __future__ import annotations

import itertools
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linprog

import mechdesign.engine.lp_vertex as lp_vertex
from mechdesign.app.cli import main
from mechdesign.engine.audit import audit_menu
from mechdesign.engine.certificate import lagrangian_certificate
from mechdesign.engine.program import ScreeningProgram
from mechdesign.exceptions import ProblemSpecError, UncertifiedWarning
from mechdesign.problemfile import load_problem
from mechdesign.settings.base import CONTRACT_KEYS
from mechdesign.settings.multidim import VectorTypes, solve_multidim
from mechdesign.settings.vector_costs import LinearCost, QuadraticCost

from .conftest import PROBLEMS, multidim_file

#: the package's profit against the independent LP (HiGHS meets its rows to about 1e-9)
LP_RTOL = 1e-8


def reference_lp(points: np.ndarray, prob: np.ndarray, k: np.ndarray, domain: str) -> float:
    """max sum_n f_n (t_n - k.q_n) over q_n in the domain and transfers t_n, every IC pair (n, m) and every IR
    written out as rows of a dense matrix (independent of the package's programs)."""
    N, D = points.shape
    nv = N * D + N  # q (row-major), then t

    def qcol(n: int, d: int) -> int:
        return n * D + d

    rows, rhs = [], []
    for n, m in itertools.permutations(range(N), 2):  # v_n.q_m - t_m - (v_n.q_n - t_n) <= 0
        r = np.zeros(nv)
        for d in range(D):
            r[qcol(m, d)] += points[n, d]
            r[qcol(n, d)] -= points[n, d]
        r[N * D + m] -= 1.0
        r[N * D + n] += 1.0
        rows.append(r)
        rhs.append(0.0)
    for n in range(N):  # IR: t_n - v_n.q_n <= 0
        r = np.zeros(nv)
        r[[qcol(n, d) for d in range(D)]] = -points[n]
        r[N * D + n] = 1.0
        rows.append(r)
        rhs.append(0.0)
    if domain == "simplex":
        for n in range(N):  # sum_d q_nd <= 1
            r = np.zeros(nv)
            r[[qcol(n, d) for d in range(D)]] = 1.0
            rows.append(r)
            rhs.append(1.0)
    c = np.concatenate([np.repeat(prob, D) * np.tile(k, N), -prob])  # minimise -(profit)
    bounds = [(0.0, 1.0 if domain == "box" else None)] * (N * D) + [(None, None)] * N
    res = linprog(c, A_ub=np.array(rows), b_ub=np.array(rhs), bounds=bounds, method="highs")
    assert res.status == 0, res.message
    return -float(res.fun)


def random_instance(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    N, D = int(rng.integers(5, 13)), int(rng.integers(2, 4))
    pts = rng.uniform(0.0, 1.0, (N, D))
    prob = rng.uniform(0.2, 1.0, N)
    return pts, prob / prob.sum(), rng.uniform(0.0, 0.3, D) * (rng.uniform(size=D) < 0.7)


@pytest.mark.parametrize("domain", ["box", "simplex"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_instances_match_the_independent_lp(domain: str, seed: int) -> None:
    pts, prob, k = random_instance(seed)
    ref = reference_lp(pts, prob, k, domain)
    for ic in ("all", "adaptive"):
        res = solve_multidim(VectorTypes(pts, prob), LinearCost(k, domain), ic=ic)
        assert res.status == "optimal" and res.audit.passed
        assert res.profit == pytest.approx(ref, rel=LP_RTOL, abs=1e-12)
        assert res.certificate is not None and res.certificate.passed and res.certificate.has_margin
        assert abs(res.certificate.gap_rel) <= 1e-12
        assert res.solver["status"] == "optimal"
        # every allocation in the domain
        assert np.all(res.quality >= -1e-12)
        if domain == "box":
            assert np.all(res.quality <= 1 + 1e-12)
        else:
            assert np.all(res.quality.sum(axis=1) <= 1 + 1e-12)


@pytest.mark.parametrize("domain", ["box", "simplex"])
def test_a_grid_with_costs_matches_the_independent_lp(domain: str) -> None:
    types = VectorTypes.grid([0.0, 0.0], [1.0, 1.0], [6, 6])
    k = np.array([0.1, 0.25])
    ref = reference_lp(types.points, types.prob, k, domain)
    res = solve_multidim(types, LinearCost(k, domain))
    assert res.status == "optimal"
    assert res.profit == pytest.approx(ref, rel=LP_RTOL)
    assert res.certificate is not None and abs(res.certificate.gap_rel) <= 1e-12


def test_the_reference_lp_can_fail() -> None:
    """The check has teeth: the reference sees a wrong cost and a wrong domain."""
    pts, prob, k = random_instance(3)
    base = reference_lp(pts, prob, k, "box")
    assert base > reference_lp(pts, prob, k + 0.2, "box") + 1e-6
    assert base > reference_lp(pts, prob, k, "simplex") + 1e-6


def test_manelli_vincent_menu_is_a_lower_bound_on_the_grid() -> None:
    """Values uniform on [0, 1]^2, zero cost: the continuous optimum (Manelli and Vincent 2006) sells each good at
    2/3 and the bundle at (4 - sqrt 2)/3 and earns about 0.549. That menu is feasible on the 20 x 20 grid, so
    the grid's optimum earns at least its revenue there (ties go to the dearer item), and the grid's optimum
    is near the continuous one (a loose check: the grid is a discrete distribution)."""
    types = VectorTypes.grid([0.0, 0.0], [1.0, 1.0], [20, 20])
    pb = (4.0 - np.sqrt(2.0)) / 3.0
    items = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    price = np.array([0.0, 2 / 3, 2 / 3, pb])
    util = types.points @ items.T - price
    best = util.max(axis=1, keepdims=True)
    revenue = float(types.prob @ np.where(util >= best - 1e-12, price, -1.0).max(axis=1))
    res = solve_multidim(types, LinearCost([0.0, 0.0], "box"))
    assert res.status == "optimal"
    assert res.profit >= revenue - 1e-12
    assert abs(res.profit - 0.5493) < 0.03
    # the continuous optimum is deterministic; on the grid most served types get both goods in full
    served = res.quality.sum(axis=1) > 1e-9
    assert np.mean(np.all(np.isclose(res.quality[served], 1.0, atol=1e-9), axis=1)) > 0.5


@pytest.mark.parametrize("domain", ["box", "simplex"])
def test_the_conjugate_is_the_supremum_over_the_domains_vertices(domain: str) -> None:
    rng = np.random.default_rng(4)
    D = 3
    cost = LinearCost(rng.uniform(0.0, 1.0, D), domain, cap=1.7)
    s = rng.normal(0.0, 1.0, (50, D))
    f = rng.uniform(0.1, 1.0, 50)
    if domain == "box":
        verts = np.array(list(itertools.product([0.0, 1.7], repeat=D)))
    else:
        verts = np.vstack([np.zeros(D), 1.7 * np.eye(D)])
    brute = np.max(s @ verts.T - f[:, None] * (verts @ cost.k)[None, :], axis=1)
    assert np.allclose(cost.conjugate(s, f), brute, rtol=0, atol=1e-14)
    # a scaled copy is the same cost in other units: c(q_ref a) / M on the scaled domain
    sc = cost.scaled(2.0, 3.0)
    a = rng.uniform(0.0, 0.4, (5, D))
    assert np.allclose(sc.value(a), cost.value(2.0 * a) / 3.0)
    assert sc.cap == pytest.approx(1.7 / 2.0)


def test_efficient_allocations() -> None:
    box = LinearCost([0.2, 0.5], "box")
    assert np.array_equal(box.efficient(np.array([[0.3, 0.4], [0.1, 0.9]])), [[1.0, 0.0], [0.0, 1.0]])
    simplex = LinearCost([0.2, 0.5], "simplex")
    assert np.array_equal(simplex.efficient(np.array([[0.9, 0.9], [0.1, 0.4], [0.3, 0.9]])),
                          [[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])


def test_no_type_values_a_good_above_its_cost() -> None:
    types = VectorTypes.grid([0.0, 0.0], [0.5, 0.5], [4, 4])
    res = solve_multidim(types, LinearCost([0.6, 0.6], "box"))
    assert res.status == "optimal" and res.profit == pytest.approx(0.0, abs=1e-14)
    assert res.region_counts()["exclusion"] == 16


#: Clarabel at loose tolerances: a menu whose own multipliers certify only to about 1e-6
LOOSE = {"tol_gap_abs": 1e-5, "tol_gap_rel": 1e-5, "tol_feas": 1e-5}


@pytest.mark.parametrize("domain", ["box", "simplex"])
def test_a_loose_interior_point_menu_is_finished_at_a_vertex(domain: str) -> None:
    """The interior-point menu's own multipliers do not certify to the rounding level: the simplex vertex
    (the LP's crossover) does, and its menu is kept."""
    types = VectorTypes.grid([0.0, 0.0], [1.0, 1.0], [7, 7])
    k = np.array([0.05, 0.1])
    res = solve_multidim(types, LinearCost(k, domain), solver_options=LOOSE)
    assert res.solver["vertex"]["ran"] and res.solver["vertex"]["applied"]
    assert res.status == "optimal" and res.certificate is not None and abs(res.certificate.gap_rel) <= 1e-12
    assert "simplex vertex" in res.certificate.method
    assert res.profit == pytest.approx(reference_lp(types.points, types.prob, k, domain), rel=LP_RTOL)


def test_the_interior_point_menu_is_kept_when_the_vertex_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the vertex (an LP that fails), the interior-point menu is audited and certified as it is, and
    the status says what its certificate says (no promise beyond it)."""
    monkeypatch.setattr(lp_vertex, "vertex_solve", lambda *a, **k: None)
    types = VectorTypes.grid([0.0, 0.0], [1.0, 1.0], [7, 7])
    k = np.array([0.05, 0.1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UncertifiedWarning)
        res = solve_multidim(types, LinearCost(k, "box"), solver_options=LOOSE)
    assert res.solver["vertex"]["ran"] and not res.solver["vertex"]["applied"]
    assert "failed" in res.solver["vertex"]["stopped"]
    assert res.audit.passed and res.certificate is not None
    assert res.status == ("optimal" if res.certificate.passed else "uncertified")
    assert res.profit == pytest.approx(reference_lp(types.points, types.prob, k, "box"), rel=1e-4)


@pytest.mark.parametrize("domain", ["box", "simplex"])
def test_the_vertex_solve_adds_the_missing_pairs(domain: str) -> None:
    """The engine's vertex solve from too few IC pairs (neighbours in the type list) adds the pairs the
    all-pairs audit finds violated, and its multipliers certify its menu to the rounding level."""
    pts, prob, k = random_instance(6)
    N = len(prob)
    out = lp_vertex.vertex_solve(pts, prob, k, 1.0, domain, np.column_stack([np.arange(N - 1), np.arange(1, N)]))
    assert out is not None and out.status == "optimal" and out.info["pairs_added"] > 0
    assert out.objective == pytest.approx(reference_lp(pts, prob, k, domain), rel=LP_RTOL)
    audit = audit_menu(pts, out.allocation, out.transfer)
    cost = LinearCost(k, domain)
    cert = lagrangian_certificate(pts, prob, out.allocation, out.transfer, cost.value(out.allocation), out.ic_pairs,
                                  out.ic_duals, cost.conjugate, audit, scale=1.0)
    assert audit.passed and cert.passed and cert.has_margin
    # the bound is a bound: with the wrong domain's conjugate it no longer meets the profit
    wrong = LinearCost(k, "simplex" if domain == "box" else "box")
    bad = lagrangian_certificate(pts, prob, out.allocation, out.transfer, cost.value(out.allocation), out.ic_pairs,
                                 out.ic_duals, wrong.conjugate, audit, scale=1.0)
    assert not (bad.passed and bad.has_margin)


def test_the_refinement_skips_a_linear_cost() -> None:
    prog = ScreeningProgram(np.linspace(0.1, 1.0, 8)[:, None], np.full(8, 1 / 8), LinearCost([0.1]))
    sol = prog.solve(ic="all")  # one dimension: polish and refinement
    assert sol.solver_stats["refine"]["applied"] is False and "linear" in sol.solver_stats["refine"]["skipped"]


# ------------------------------------------------------------------------------------------- problem files
@pytest.mark.parametrize("cost, field, words", [
    ('kind = "linear"\ndomain = "ball"', "cost.domain", "'box', 'simplex'"),
    ('kind = "linear"\nk = [0.1, -0.2]', "cost.k", ">= 0"),
    ('kind = "linear"\nk = [0.1]', "cost.k", ""),
    ('kind = "linear"\ncap = 2.0', "cost.cap", ""),
    ('kind = "quadratic"\ndomain = "box"', "cost.domain", "'nonneg', 'free'"),
    ('kind = "power"\nc = [1.0, 1.0]\np = 2.0\ndomain = "simplex"', "cost.domain", "linear"),
])
def test_bad_linear_cost_tables_are_refused(tmp_path: Path, cost: str, field: str, words: str) -> None:
    with pytest.raises(ProblemSpecError) as err:
        load_problem(multidim_file(tmp_path, cost))
    assert field in str(err.value) and words in str(err.value)


def test_bad_linear_costs_in_python_are_refused() -> None:
    with pytest.raises(ProblemSpecError, match="cost.domain"):
        LinearCost([0.0, 0.0], "free")
    with pytest.raises(ProblemSpecError, match="cost.k"):
        LinearCost([np.nan, 0.0])
    with pytest.raises(ProblemSpecError, match="cost.cap"):
        LinearCost([0.0], cap=0.0)


def test_the_file_reader_defaults_and_the_contract(tmp_path: Path) -> None:
    prob = load_problem(multidim_file(tmp_path, 'kind = "linear"'))
    assert isinstance(prob.cost, LinearCost) and prob.cost.domain == "box" and np.array_equal(prob.cost.k, [0, 0])
    res = prob.solve()
    quad = solve_multidim(prob.types, QuadraticCost(np.eye(2)))
    d, dq = res.to_dict(), quad.to_dict()
    assert set(d) == set(dq) and all(k in d for k in CONTRACT_KEYS)
    assert d["problem"]["cost"] == {"kind": "linear", "k": [0.0, 0.0], "domain": "box"}  # type: ignore[index]
    assert set(d["menu"][0]) == set(dq["menu"][0])  # type: ignore[index]


@pytest.mark.parametrize("name", ["bundling_two_goods_20x20", "lottery_two_goods_20x20"])
def test_shipped_problems_solve_certified(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.json"
    assert main(["solve", f"multidim/{name}", "--json", str(out)]) == 0
    capsys.readouterr()
    data = json.loads(out.read_text())
    assert data["status"] == "optimal" and data["certificate"]["passed"]
    assert abs(data["certificate"]["gap_rel"]) <= 1e-12
    assert data["problem"]["cost"]["kind"] == "linear"
    assert (PROBLEMS / "multidim" / f"{name}.toml").exists()


def test_the_schema_knows_the_linear_cost(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    cost = schema["$defs"]["cost"]
    assert "linear" in cost["properties"]["kind"]["enum"]
    assert set(cost["properties"]["domain"]["enum"]) == {"box", "simplex", "nonneg", "free"}
    linear_rule = [r for r in cost["allOf"] if r["if"].get("properties", {}).get("kind", {}).get("const") == "linear"
                   and "domain" in r["then"].get("properties", {})]
    assert linear_rule[0]["then"]["properties"]["domain"]["enum"] == ["box", "simplex"]
    assert cost["properties"]["k"]["items"]["minimum"] == 0.0


# ------------------------------------------------------------------------------------------- product range
def test_the_product_range_panel_draws_each_item_once() -> None:
    from mechdesign.app.plot2d import draw_product_range, product_items, types_2d_figure

    from .test_figures import layout_problems

    types = VectorTypes.grid([0.0, 0.0], [1.0, 1.0], [10, 10])
    res = solve_multidim(types, LinearCost([0.0, 0.0], "box"))
    labels = product_items(res.quality)
    K = int(labels.max()) + 1
    # items are the distinct allocations: same label <=> same allocation (to rounding)
    for i in range(K):
        assert np.ptp(res.quality[labels == i], axis=0).max() <= 1e-6
    assert len({tuple(np.round(q, 6)) for q in res.quality}) == K
    fig = types_2d_figure(types.points, res.quality, res.regions, res.ic_pairs, res.ic_duals, prob=res.prob)
    assert layout_problems(fig) == []
    panel = [ax for ax in fig.axes if ax.get_title().startswith("(d) product range")]
    assert len(panel) == 1 and f"({K} item" in panel[0].get_title()
    # the markers' areas follow the items' masses, their offsets the allocations
    offsets = np.vstack([c.get_offsets() for c in panel[0].collections])
    areas = np.concatenate([c.get_sizes() for c in panel[0].collections])
    assert len(offsets) == K and areas.min() > 0
    mass = np.bincount(labels, weights=res.prob)
    big = offsets[np.argmax(areas)]
    assert np.allclose(big, res.quality[labels == np.argmax(mass)][0])
    # without probabilities, or with three goods, the three type-space panels only
    fig3 = types_2d_figure(types.points, res.quality, res.regions, res.ic_pairs, res.ic_duals)
    assert not any(ax.get_title().startswith("(d)") for ax in fig3.axes)
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="shape"):
        draw_product_range(ax, np.zeros((3, 3)), np.full(3, 1 / 3), np.array(["exclusion"] * 3))
    plt.close("all")


def test_the_plot_command_draws_the_product_range(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "range.png"
    assert main(["plot", "multidim/lottery_two_goods_20x20", "--out", str(png)]) == 0
    capsys.readouterr()
    assert png.stat().st_size > 10_000
