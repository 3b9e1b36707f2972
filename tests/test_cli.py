"""The mechdesign command and problem files: outputs, the JSON contract, and one-line errors."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mechdesign import ProblemFileError, ProblemSpecError, load_problem
from mechdesign.app.cli import main

from .conftest import PROBLEMS, ROOT

BASE = (PROBLEMS / "single_model_cobb_douglas.toml").read_text()


def _run_process(args: list[str]) -> subprocess.CompletedProcess[str]:
    """The command in a fresh Python process (``python -m mechdesign.app.cli``), from the repository root."""
    return subprocess.run([sys.executable, "-m", "mechdesign.app.cli", *args], check=False, capture_output=True,
                          text=True, cwd=ROOT, timeout=600)


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    """The command in this process, from the repository root: its exit code, stdout and stderr as
    :func:`_run_process` gives them, without a fresh interpreter importing the package each time (a few
    seconds a call; an exception escaping ``main`` fails the test as a traceback would)."""
    out, err = io.StringIO(), io.StringIO()
    cwd = Path.cwd()
    try:
        os.chdir(ROOT)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(args)
            except SystemExit as exc:  # argparse: --help, or a bad option
                code = exc.code if isinstance(exc.code, int) else 2
    finally:
        os.chdir(cwd)
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def test_help_lists_subcommands() -> None:
    out = _run_process(["--help"])
    assert out.returncode == 0
    for cmd in ("solve", "analytic", "problems"):
        assert cmd in out.stdout


def test_solve_writes_json_csv_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    js, csv, png = tmp_path / "out.json", tmp_path / "menu.csv", tmp_path / "fig.png"
    rc = main(["solve", str(PROBLEMS / "single_model_cobb_douglas.toml"), "--n", "60", "--ic", "local",
               "--json", str(js), "--csv", str(csv), "--plot", str(png)])
    text = capsys.readouterr().out
    assert rc == 0
    assert "status            optimal" in text and "Binding constraints" in text
    data = json.loads(js.read_text())
    for key in ("problem", "status", "profit", "surplus", "consumer_surplus", "menu", "binding", "audit",
                "solver", "analytic", "comparison"):
        assert key in data, key
    for key in ("ic_tight", "ic_active", "ir_tight", "ir_active"):
        assert key in data["binding"]
    assert {"max_ic_violation", "max_ir_violation"} <= set(data["audit"])
    row = data["menu"][-1]
    assert {"prob", "theta", "quality", "transfer", "rent", "tokens"} <= set(row)
    assert set(row["tokens"]) == {"X_input", "X_output", "Z_finetune"}
    assert data["status"] == "optimal"
    assert csv.read_text().splitlines()[0].startswith("type,theta,prob,quality,transfer")
    assert png.stat().st_size > 10_000


def test_analytic_and_problems_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analytic", str(PROBLEMS / "single_model_ironing.toml"), "--n", "50"]) == 0
    out = capsys.readouterr().out
    assert "pooled blocks" in out and "exclusion cutoff" in out
    assert main(["problems", "--dir", str(PROBLEMS)]) == 0
    assert "single_model_beta.toml" in capsys.readouterr().out


def _bad(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "bad.toml"
    p.write_text(text)
    return p


BAD_FILES = [
    ("\nsigma = 0.5", "\nsigma = 1.5", "technology.sigma"),
    ('kind = "uniform"', 'kind = "cauchy"', "types.distribution.kind"),
    ("cost = [1.0, 3.0]", "cost = [1.0, -3.0]", "technology.inference.cost"),
    ("alpha = [0.6, 0.4]", "alpha = [0.6, 0.5]", "technology.inference.alpha"),
    ("\nsigma_hat = 0.25", "\nsigma_hat = 0.6", "sigma + sigma_hat"),
    ("n = 200", "n = 1", "types.n"),
    ("rho = 0.0", "rho = 0.0\nbogus = 3", "technology.inference.bogus"),
]


@pytest.mark.parametrize(("old", "new", "field"), BAD_FILES)
def test_bad_problem_file_is_one_readable_line(tmp_path: Path, old: str, new: str, field: str) -> None:
    path = _bad(tmp_path, BASE.replace(old, new, 1))
    with pytest.raises(ProblemSpecError) as info:
        load_problem(path)
    assert field in str(info.value)
    out = _run(["solve", str(path)])
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mechdesign: error:") and field in lines[0]


ONE_CLASS = """
[technology]
sigma = 0.5
[technology.inference]
alpha = [1.0]
cost = [1.0]
"""

DISCRETE = ONE_CLASS + """
[types]
kind = "discrete"
theta = {theta}
prob = {prob}
"""


@pytest.mark.parametrize(
    ("theta", "prob", "fragment"),
    [
        ("[0.2, 0.5, 0.9]", "[0.3, 0.3, 0.3]", "sum to 1"),
        ("[0.2, 0.5, 0.5]", "[0.3, 0.3, 0.4]", "duplicate"),
        ("[0.5, 0.2, 0.9]", "[0.3, 0.3, 0.4]", "sorted ascending"),
    ],
)
def test_bad_discrete_types_in_file(tmp_path: Path, theta: str, prob: str, fragment: str) -> None:
    path = _bad(tmp_path, DISCRETE.format(theta=theta, prob=prob))
    out = _run(["solve", str(path)])
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert fragment in out.stderr and "types." in out.stderr


def test_discrete_file_solves(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _bad(tmp_path, DISCRETE.format(theta="[0.2, 0.5, 0.9]", prob="[0.3, 0.3, 0.4]"))
    assert main(["solve", str(path), "--ic", "all"]) == 0
    assert "binding sets agree" in capsys.readouterr().out


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ProblemFileError, match="does not exist"):
        load_problem(tmp_path / "nope.toml")
    bad = _bad(tmp_path, "[problem\nname = 1")
    with pytest.raises(ProblemFileError, match="not valid TOML"):
        load_problem(bad)
    out = _run(["solve", str(bad)])
    assert out.returncode == 2 and "Traceback" not in out.stderr and "not valid TOML" in out.stderr


def test_solver_failure_exits_one_without_traceback() -> None:
    out = _run(["solve", str(PROBLEMS / "single_model_cobb_douglas.toml"), "--n", "20", "--solver", "NOPE"])
    assert out.returncode == 2 and "Traceback" not in out.stderr and "solver" in out.stderr


@pytest.mark.parametrize("name", ["single_model_cobb_douglas", "single_model_beta", "single_model_ironing"])
def test_shipped_problem_files_load(name: str) -> None:
    p = load_problem(PROBLEMS / f"{name}.toml")
    assert p.technology.sigma == pytest.approx(0.5) and p.technology.sigma_hat == pytest.approx(0.25)
    assert p.n == 200


TASKS = ONE_CLASS + """
[types]
kind = "task_profiles"
w = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, 0.5]]
prob = [0.25, 0.25, 0.25, 0.25]
measures = [0.5, 0.5]
"""


def test_task_profile_file_reduces_by_eq7(tmp_path: Path) -> None:
    # eq. (7) with sigma = 1/2, mu = (1/2, 1/2): theta(w) = (sum mu w^2)^{1/2}; the first two profiles
    # share theta = sqrt(1/2) and are merged (Prop 1); (1, 1) has theta 1 and (0.5, 0.5) has 0.5.
    p = load_problem(_bad(tmp_path, TASKS))
    types = p.discrete_types()
    np.testing.assert_allclose(types.theta, [0.5, np.sqrt(0.5), 1.0])
    np.testing.assert_allclose(types.prob, [0.25, 0.5, 0.25])
    r = p.solve(ic="all")
    assert r.status == "optimal" and r.comparison.agree


@pytest.mark.parametrize(
    "dist",
    [
        'kind = "power"\nk = 2.0',
        'kind = "tabulated"\npoints = [0.0, 0.5, 1.0]\nvalues = [1.0, 2.0, 1.0]',
        'kind = "beta"\na = 2.0\nb = 3.0\nlo = 0.5\nhi = 2.0',
    ],
)
def test_other_distributions_in_files(tmp_path: Path, dist: str) -> None:
    text = BASE[: BASE.index("[types.distribution]")].replace("n = 200", "n = 40")
    text += "[types.distribution]\n" + dist + "\n"
    p = load_problem(_bad(tmp_path, text))
    r = p.solve(ic="adaptive")
    assert r.status == "optimal" and r.comparison.agree


def test_price_command_prints_a_checked_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv, js = tmp_path / "page.csv", tmp_path / "page.json"
    rc = main(["price", str(PROBLEMS / "single_model_cobb_douglas.toml"), "--format", "max-spend", "--n", "40",
               "--csv", str(csv), "--json", str(js)])
    out = capsys.readouterr().out
    assert rc == 0 and "Tier 1" in out and "reproduces the direct menu" in out
    header = csv.read_text().splitlines()[0]
    assert header.startswith("tier,upfront_fee,credit_budget,price_input,price_output,price_finetune")
    assert json.loads(js.read_text())["check"]["missorted_types"] == []


def test_price_tiers_report_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png, js = tmp_path / "pricing.png", tmp_path / "p.json"
    rc = main(["price", str(PROBLEMS / "single_model_cobb_douglas.toml"), "--n", "60", "--tiers", "3",
               "--report", "--plot", str(png), "--json", str(js)])
    out = capsys.readouterr().out
    assert rc == 0 and "Tier 3" in out and "Tier 4" not in out and "reproduces the direct menu" in out
    assert "best 6-item menu" in out and "one linear price" in out
    data = json.loads(js.read_text())
    shares = [r["profit_share"] for r in data["report"] if r["format"].startswith("best ")]
    assert shares == sorted(shares) and shares[-1] < 1
    assert png.stat().st_size > 10_000


def test_audit_command_reports_violations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A two-type direct menu whose high type prefers the low item: IC violation 2*1 - 0 vs 2*1.5 - 10.
    prob_file = _bad(tmp_path, DISCRETE.format(theta="[1.0, 2.0]", prob="[0.5, 0.5]"))
    menu = tmp_path / "menu.csv"
    menu.write_text("type,quality,fee\n0,1.0,0.0\n1,1.5,10.0\n")
    assert main(["audit", str(menu), "--problem", str(prob_file)]) == 1   # an IC violation: exit 1
    out = capsys.readouterr().out
    assert "type 1 (theta 2) prefers item of type 0, gain 9" in out and "NOT incentive compatible" in out
    assert "share" in out
    bad = tmp_path / "bad.csv"
    bad.write_text("price\n1.0\n")
    r = _run(["audit", str(bad), "--problem", str(prob_file)])
    assert r.returncode == 2 and "Traceback" not in r.stderr and "fee" in r.stderr


def test_validate_command(tmp_path: Path) -> None:
    js = tmp_path / "v.json"
    out = _run(["validate", "--only", "prop4", "lemma3", "--json", str(js)])  # two quick ones (all: slow step)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 passed, 0 failed" in out.stdout
    rows = json.loads(js.read_text())
    assert {r["check"] for r in rows} == {"prop4", "lemma3"} and all(r["pass"] for r in rows)
    bad = _run(["validate", "--only", "prop99"])
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


@pytest.mark.parametrize(("name", "case"), [("binary_full_extraction", True), ("binary_screening", False)])
def test_contractible_problem_files(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str,
                                    case: bool) -> None:
    js = tmp_path / "c.json"
    assert main(["solve", str(PROBLEMS / f"{name}.toml"), "--json", str(js)]) == 0
    out = capsys.readouterr().out
    assert "Numeric vs Prop 9" in out
    data = json.loads(js.read_text())
    assert data["status"] == "optimal" and data["problem"]["kind"] == "contractible"
    row = data["menu"][1]
    assert len(row["w"]) == 4 and len(row["quality"]) == 4 and "transfer" in row
    assert data["analytic"]["full_extraction"] is case
    assert data["comparison"]["profit_rel_error"] < 1e-6 and data["comparison"]["quality_rel_error"] < 1e-6


def test_contractible_needs_task_profiles_and_single_model_commands_refuse_it(tmp_path: Path) -> None:
    text = (PROBLEMS / "binary_screening.toml").read_text()
    bad = _bad(tmp_path, text[: text.index("[types]")]
               + '[types]\nkind = "discrete"\ntheta = [0.5, 1.0]\nprob = [0.5, 0.5]\n')
    out = _run(["solve", str(bad)])
    assert out.returncode == 2 and "task_profiles" in out.stderr and "Traceback" not in out.stderr
    out = _run(["analytic", str(PROBLEMS / "binary_screening.toml")])
    assert out.returncode == 2 and "single-model" in out.stderr and "Traceback" not in out.stderr


def test_value_scale_and_separable_problem_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    js = tmp_path / "v.json"
    assert main(["solve", str(PROBLEMS / "value_scale_a2_fails.toml"), "--json", str(js)]) == 0
    out = capsys.readouterr().out
    assert "Assumption 2      FAILS" in out and "NOT IC across scales" in out
    data = json.loads(js.read_text())
    assert data["problem"]["kind"] == "value_scale" and data["status"] == "optimal"
    row = data["menu"][5]
    assert {"w", "quality", "transfer", "value", "scale", "total_quality"} <= set(row)
    assert data["analytic"]["assumption2"]["holds"] is False and data["comparison"]["profit_gap_rel"] > 0
    js2 = tmp_path / "s.json"
    assert main(["solve", str(PROBLEMS / "separable_cost_based.toml"), "--json", str(js2)]) == 0
    assert "Prop 8 predicts no gain" in capsys.readouterr().out
    sep = json.loads(js2.read_text())
    assert abs(sep["cost_based"]["contracting_gain_rel"]) < 1e-6 and sep["cost_based"]["separability_gap"] < 1e-12


def test_value_scale_type_errors(tmp_path: Path) -> None:
    text = (PROBLEMS / "value_scale.toml").read_text()
    bad = _bad(tmp_path, text.replace("values = [0.25, 0.5, 0.75, 1.0]", "values = [0.25, 0.5, 0.75, 1.5]"))
    out = _run(["solve", str(bad)])
    assert out.returncode == 2 and "types.s" in out.stderr and "Traceback" not in out.stderr
    bad = _bad(tmp_path, text.replace('[types]\nkind = "value_scale"', '[types]\nkind = "discrete"'))
    out = _run(["solve", str(bad)])
    assert out.returncode == 2 and "types.kind" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.slow
def test_every_validation_check_passes() -> None:
    """`mechdesign validate` (all checks, seed 0) exits 0: every proposition check passes."""
    assert main(["validate"]) == 0
