"""Issue 22, items 1-15: what a newcomer hit (destructive outputs, false optima, tracebacks, unbounded
sizes, loose ends of the command's contract). One regression test (or a few) per item; the classes of
input behind them are covered by the bad-input harness (tests/test_bad_inputs.py)."""

from __future__ import annotations

import json
import os
import socket
import stat
import threading
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mechdesign.app.cli import main

from .conftest import PROBLEMS, ROOT
from .test_bad_inputs import SEEDS

SINGLE = "single_model_cobb_douglas"
FIG1 = (PROBLEMS / "figure1_leader_fringe.toml").read_text()
COBB = (PROBLEMS / "single_model_cobb_douglas.toml").read_text()


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``mechdesign ARGV`` in-process: (exit code, stdout, stderr)."""
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def _refused(capsys: pytest.CaptureFixture[str], *argv: str, names: tuple[str, ...] = ()) -> str:
    """The command exits 2 with one line, ``mechdesign: error: ...``, naming every fragment of ``names``."""
    code, _, err = _run(capsys, *argv)
    lines = err.strip().splitlines()
    assert code == 2, (code, err)
    assert len(lines) == 1 and lines[0].startswith("mechdesign: error: "), err
    for name in names:
        assert name in lines[0], (name, lines[0])
    return lines[0]


def _file(tmp_path: Path, text: str, name: str = "p.toml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


# ---------------------------------------------------------------------------------------------- 1. outputs


def test_a_symlink_output_is_written_through_and_stays_a_link(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real.name)
    assert _run(capsys, "analytic", SINGLE, "--json", str(link))[0] == 0
    assert link.is_symlink() and os.readlink(link) == real.name
    assert json.loads(real.read_text())["problem"]["name"] == SINGLE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "real.json"]  # no temporary left


def test_a_fifo_output_is_written_into_not_replaced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    assert _run(capsys, "analytic", SINGLE, "--csv", str(fifo))[0] == 0
    reader.join(timeout=30)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert got and got[0].startswith(b"type,theta,prob")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_devices_are_written_directly_and_a_failed_write_names_the_path(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "analytic", SINGLE, "--json", "/dev/null")[0] == 0
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    _refused(capsys, "analytic", SINGLE, "--json", "/dev/full", names=("/dev/full",))
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_a_socket_path_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.json"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(path))
        _refused(capsys, "analytic", SINGLE, "--json", str(path), names=("--json", "socket"))
        assert stat.S_ISSOCK(os.stat(path).st_mode)
    finally:
        sock.close()


# ---------------------------------------------------------------------------------------------- 2, 5. multidim

MULTIDIM = """[problem]
kind = "multidim"
[types]
points = [[{top}, 1.0], [1.0, 0.5], [1.0, 1.0]]
prob = [0.3, 0.3, 0.4]
[cost]
kind = "power"
c = [1.0, 2.0]
p = [2.0, 1.5]
"""


def test_multidim_types_beyond_double_precision_are_refused(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    _refused(capsys, "solve", _file(tmp_path, MULTIDIM.format(top="1e300")), names=("types.points", "1e+300"))
    code, out, _ = _run(capsys, "solve", _file(tmp_path, MULTIDIM.format(top="1e50")))  # large but representable
    assert code == 0 and "status optimal" in out and "CERTIFIED" in out


ONE_D = """[problem]
kind = "multidim"
[types]
{types}
[cost]
{cost}
"""
ONE_D_COSTS = {"quadratic": 'kind = "quadratic"\nA = [[1.0]]', "power": 'kind = "power"\nc = [1.0]\np = [2.0]',
               "tokens": 'kind = "tokens"\nmeasures = [1.0]\n[technology]\nsigma = 0.5\n'
                         "inference = { alpha = [1.0], cost = [1.0] }"}


@pytest.mark.parametrize("cost", sorted(ONE_D_COSTS))
def test_one_dimensional_multidim_problems_solve_and_certify(cost: str, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    points = 'points = [[1.0], [1.5], [2.0]]\nprob = [0.3, 0.3, 0.4]'
    code, out, err = _run(capsys, "solve", _file(tmp_path, ONE_D.format(types=points, cost=ONE_D_COSTS[cost])),
                          "--json", str(tmp_path / "r.json"))
    assert code == 0 and "CERTIFIED" in out, err
    if cost != "tokens":
        # discrete Myerson with c(q) = q^2 / 2: phi = (1 - 0.5 * 0.7 / 0.3, 1.5 - 0.5 * 0.4 / 0.3, 2) =
        # (-1/6, 5/6, 2), q = max(phi, 0), profit = sum f phi^2 / 2 = 0.3 * 25/72 + 0.4 * 2 = 0.9041666...
        assert json.loads((tmp_path / "r.json").read_text())["profit"] == pytest.approx(0.3 * 25 / 72 + 0.8, rel=1e-8)
    grid = "grid = { lo = [1.0], hi = [2.0], n = [10] }"
    code, out, err = _run(capsys, "solve", _file(tmp_path, ONE_D.format(types=grid, cost=ONE_D_COSTS[cost])))
    assert code == 0 and "CERTIFIED" in out, err


# ---------------------------------------------------------------------------------------------- 3, 10. validate


def test_validate_of_an_empty_folder_fails_with_zero_instances(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    from mechdesign.validation.instances import CheckResult

    assert not CheckResult("x", "claim", 0, 0.0, 1.0, None, 0.0).passed
    code, out, _ = _run(capsys, "validate", "--problems", str(tmp_path), "--only", "prop3")
    assert code == 1
    assert "FAIL" in out and "checked 0 instances" in out and "0 passed, 1 failed" in out


def test_validate_defaults_to_the_shipped_problems_from_any_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    import mechdesign.validation.validate as validation
    from mechdesign.shipped import shipped_dir

    seen: list[object] = []

    def fake(only: object, seed: object, problems: object) -> pd.DataFrame:
        seen.append(problems)
        return pd.DataFrame({"check": ["x"], "claim": ["c"], "instances": [1], "max_error": [0.0],
                             "tolerance": [1.0], "binding_agree": ["-"], "pass": [True], "seconds": [0.0],
                             "note": [""]})

    monkeypatch.setattr(validation, "run_checks", fake)
    monkeypatch.chdir(tmp_path)  # no ./problems here
    assert _run(capsys, "validate")[0] == 0
    assert Path(str(seen[0])) == shipped_dir()


def test_sweep_takes_a_shipped_name_from_any_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(capsys, "sweep", SINGLE, "--param", "technology.sigma=0.3,0.6", "--n", "20",
                          "--workers", "1")
    assert code == 0, err
    assert out.count("optimal") == 2


# ---------------------------------------------------------------------------------------------- 4, 7. magnitudes


@pytest.mark.parametrize("verb", ["solve", "analytic", "price"])
def test_returns_to_scale_too_small_for_double_precision_are_refused(verb: str, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    text = COBB.replace("sigma = 0.5", "sigma = 1e-300").replace("sigma_hat = 0.25", "sigma_hat = 1e-300")
    _refused(capsys, verb, _file(tmp_path, text), names=("sigma + sigma_hat", "2e-300", ">= 1e-06"))


def test_returns_to_scale_at_the_limit_still_certify() -> None:
    from mechdesign import cobb_douglas
    from mechdesign.settings.single_model import SingleModelProblem
    from mechdesign.types import Uniform

    tech = cobb_douglas([1e-6], [1.0], [1e-6], [1.0])  # sigma + sigma_hat = 2e-6 >= MIN_RETURNS
    r = SingleModelProblem(tech, Uniform(0.0, 1.0), n=50).solve()
    assert r.status == "optimal" and r.certificate.has_margin


@pytest.mark.parametrize(("table", "value", "field"), [("leader", "1e300", "leader.cost"),
                                                        ("fringe", "1e-300", "fringe.cost")])
@pytest.mark.parametrize("verb", ["solve", "analytic", "plot"])
def test_leader_fringe_costs_beyond_double_precision_are_refused(table: str, value: str, field: str, verb: str,
                                                                  tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    block = FIG1.index(f"[{table}]")
    head, tail = FIG1[:block], FIG1[block:]
    cost_line = next(line for line in tail.splitlines() if line.startswith("cost = "))
    path = _file(tmp_path, head + tail.replace(cost_line, f"cost = {value}", 1))
    extra = ["--out", str(tmp_path / "f.png")] if verb == "plot" else []
    _refused(capsys, verb, path, *extra, names=(field, "double precision"))
    assert not (tmp_path / "f.png").exists()


# ---------------------------------------------------------------------------------------------- 6. image paths


@pytest.mark.parametrize("argv", [["solve", SINGLE, "--plot", "{d}/x.txt"], ["plot", SINGLE, "--out", "{d}/f.txt"],
                                  ["sweep", SINGLE, "--param", "technology.sigma=0.3,0.6", "--plot", "{d}/x.txt"],
                                  ["price", SINGLE, "--plot", "{d}/x.TXT"],
                                  ["calibrate", "observed/poe-2025", "--plot", "{d}/x.csv"]])
def test_image_options_refuse_other_extensions_before_any_work(argv: list[str], tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    from mechdesign.settings.single_model import SingleModelProblem

    monkeypatch.setattr(SingleModelProblem, "solve", lambda *a, **k: pytest.fail("solved before the check"))
    args = [a.format(d=tmp_path) for a in argv]
    option = "--out" if "--out" in args else "--plot"
    _refused(capsys, *args, names=(option, "not an image format", ".png"))
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------- 8, 9. sizes

VALUE_SCALE = SEEDS["value_scale"].replace("n = 4", "n = {n}")  # the harness's value-scale seed


def test_value_scale_cell_counts_are_refused_with_a_size_estimate(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    _refused(capsys, "solve", _file(tmp_path, VALUE_SCALE.format(n=100_000_000)), names=("types.w.n", "150 GB"))
    _refused(capsys, "solve", _file(tmp_path, VALUE_SCALE.format(n=30_000)),
             names=("types.w.n", "60,000 types", "at most 40,000", "GB"))


def test_price_tiers_beyond_the_optimal_menu_post_the_optimal_menu(monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    import mechdesign.analytic.tiers as tiers

    monkeypatch.setattr(tiers, "best_k_item_menu", lambda *a, **k: pytest.fail("searched K-item menus"))
    code, out, _ = _run(capsys, "price", SINGLE, "--tiers", "100000")
    assert code == 0
    assert "from the optimal menu" in out and "within --tiers 100000" in out


# ---------------------------------------------------------------------------------------------- 11. price pages


def test_problems_lists_price_pages_and_solve_points_to_calibrate(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "problems")
    assert code == 0
    line = next(row for row in out.splitlines() if row.startswith("observed/poe-2025"))
    assert "price_page" in line and "mechdesign calibrate observed/poe-2025" in line
    assert "single_model" not in "".join(r for r in out.splitlines() if r.startswith("observed/"))
    for verb in ("solve", "analytic"):
        _refused(capsys, verb, "observed/poe-2025", names=("price page", "mechdesign calibrate observed/poe-2025"))
    _refused(capsys, "solve", "observed/api-prices-2025-01", names=("API price table", "load_api_prices"))


# ---------------------------------------------------------------------------------------------- 12. options


def test_n_help_says_how_value_scale_cells_are_set(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "solve", "--help")
    assert code == 0 and "types.w.n" in " ".join(out.split())
    _refused(capsys, "solve", "value_scale", "--n", "10", names=("--n", "types.w.n"))


def test_time_limit_is_honoured_by_the_structured_method(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "solve", SINGLE, "--time-limit", "1e-9")
    assert code == 1 and "time limit" in err and "Traceback" not in err
    assert _run(capsys, "solve", SINGLE, "--time-limit", "600")[0] == 0


def test_an_empty_output_path_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for option in ("--json", "--csv", "--plot"):
        _refused(capsys, "solve", SINGLE, option, "", names=(option, "file path"))


def test_parser_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    _refused(capsys, "solve", SINGLE, "--n", "abc", names=("--n", "invalid int value"))
    _refused(capsys, "solve", names=("file",))


# ---------------------------------------------------------------------------------------------- 13. ambiguity


def test_duplicate_model_names_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (PROBLEMS / "multimodel_two_models.toml").read_text().replace('name = "reasoning"', 'name = "base"')
    _refused(capsys, "solve", _file(tmp_path, text), names=("models[1].name", "'base'", "distinct"))


def test_audit_refuses_a_repeated_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    menu = tmp_path / "m.csv"
    menu.write_text("transfer,quality,quality\n0.1,0.2,0.3\n")
    _refused(capsys, "audit", str(menu), "--problem", SINGLE, names=("'quality' twice",))


def test_excluded_types_buy_from_model_none(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv_path, json_path = tmp_path / "m.csv", tmp_path / "m.json"
    code, out, _ = _run(capsys, "solve", "multimodel_two_models", "--n", "20", "--csv", str(csv_path),
                        "--json", str(json_path))
    assert code == 0 and "NaN" not in out
    table = pd.read_csv(csv_path, keep_default_na=False)
    assert table["model"].iloc[0] == "none" and set(table["model"]) == {"none", "base", "reasoning"}
    assert json.loads(json_path.read_text())["menu"][0]["model"] is None  # the JSON contract keeps null
    code, out, _ = _run(capsys, "analytic", "multimodel_two_models", "--n", "20")
    assert code == 0 and "NaN" not in out and " none " in out


# ---------------------------------------------------------------------------------------------- 14. field names

W_DISCRETE = VALUE_SCALE.split("[types.w]")[0] + """[types.w]
values = {values}
prob = {prob}
[types.s]
values = [0.5, 1.0]
"""


def test_value_scale_w_errors_name_the_w_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = _refused(capsys, "solve", _file(tmp_path, W_DISCRETE.format(values="[2.0, 1.0]", prob="[0.5, 0.5]")),
                    names=("types.w.values", "sorted ascending"))
    assert "types.theta" not in line
    _refused(capsys, "solve", _file(tmp_path, W_DISCRETE.format(values="[1.0, 2.0]", prob="[0.5, 0.6]")),
             names=("types.w.prob", "sum to 1"))


def test_one_discrete_type_solves(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = ("[technology]\nsigma = 0.5\n[technology.inference]\nalpha = [1.0]\ncost = [1.0]\n"
            "[types]\nkind = \"discrete\"\ntheta = [1.0]\nprob = [1.0]\n")
    code, out, err = _run(capsys, "solve", _file(tmp_path, text), "--json", str(tmp_path / "r.json"))
    assert code == 0, err
    # C(Q) = Q^2 (one class, cost 1, sigma = 1/2): the single type gets max_Q Q - Q^2, profit 1/4 (full extraction)
    assert json.loads((tmp_path / "r.json").read_text())["profit"] == pytest.approx(0.25, rel=1e-9)


# ---------------------------------------------------------------------------------------------- 15. bench, license


def test_timed_out_rows_get_no_speedup() -> None:
    from mechdesign.app.bench import _with_ratio
    from mechdesign.app.bench_contractible import search_speedup as _search_speedup

    df = pd.DataFrame({"N": [10, 10, 10], "method": ["base", "new", "new"],
                       "status": ["optimal", "not finished in 1 s", "optimal"], "wall_s": [1.0, 117.0, 2.0]})
    out = _with_ratio(df.copy(), {"speedup": "base"})
    assert np.isnan(out["speedup"].iloc[1]) and out["speedup"].iloc[2] == 0.5
    timed_out_base = df.assign(status=["not finished in 1 s", "optimal", "optimal"])  # no baseline time
    assert "speedup" not in _with_ratio(timed_out_base, {"speedup": "base"})
    grid = pd.DataFrame({"N": [5, 5], "T": [2, 2], "ic": ["adaptive"] * 2, "formulation": ["tokens", "profile"],
                         "status": ["optimal", "failed: X"], "wall_s": [1.0, 3.0]})
    assert _search_speedup(grid)["speedup_vs_tokens_final"].isna().all()


def test_license_is_an_spdx_expression() -> None:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["license"] == "MIT" and meta["project"]["license-files"] == ["LICENSE"]
    assert any(req.startswith("setuptools>=77") for req in meta["build-system"]["requires"])


@pytest.mark.parametrize("argv", [["calibrate", "observed/poe-2025", "--fringe-cost", "1.5"],
                                  ["calibrate", "observed/poe-2025", "--counterfactuals", "--sigma-share", "1.5"],
                                  ["calibrate", "observed/poe-2025", "--counterfactuals", "--new-model", "nan", "2"],
                                  ["validate", "--problems", ""], ["problems", "--dir", ""],
                                  ["bench", "scaling", "--out", ""], ["sweep", SINGLE, "--param",
                                                                      "technology.sigma=0.4", "--workers", "5000"]])
def test_options_that_cannot_be_honoured_are_refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Found by the bad-input harness: ignored or unbounded options (counterfactual settings without
    --counterfactuals, empty folders that meant the current one, a worker count past the process table)."""
    _refused(capsys, *argv, names=([a for a in argv if a.startswith("--") and a != "--counterfactuals"][-1],))
