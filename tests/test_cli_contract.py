"""The command's contract: outputs all or nothing, one-line errors (exit 2), audits of the menus it writes,
a validation table that fits the terminal, sweeps that refuse what they cannot do, and problem-file
messages that name the file's keys (never a Python class)."""

from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path

import pytest

from mechdesign import ProblemFileError, ProblemSpecError, load_problem
from mechdesign import _validate as V
from mechdesign.app.cli import main
from mechdesign.app.output import check_output_folder, check_output_paths, write_outputs

from .conftest import PROBLEMS

SINGLE = PROBLEMS / "single_model_cobb_douglas.toml"
FIG1 = PROBLEMS / "figure1_leader_fringe.toml"
BASE = SINGLE.read_text()


def _one_line_error(capsys: pytest.CaptureFixture[str], *fragments: str) -> str:
    """The command printed exactly one line, ``mechdesign: error: ...``, containing every fragment."""
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("mechdesign: error: "), err
    assert "Traceback" not in err
    for frag in fragments:
        assert frag in lines[0], (frag, lines[0])
    return lines[0]


def _file(tmp_path: Path, text: str, name: str = "p.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def _no_solve(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any single-model solve fail loudly: checks must come before the solve."""
    from mechdesign.settings.single_model import SingleModelProblem

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("solved before checking the output paths")

    monkeypatch.setattr(SingleModelProblem, "solve", boom)


# ---------------------------------------------------------------------------------------------- outputs


def test_check_output_paths_names_the_option_and_the_reason(tmp_path: Path) -> None:
    check_output_paths(json=tmp_path / "a.json", csv=tmp_path / "a.csv", plot=None)  # fine
    with pytest.raises(ProblemSpecError, match=r"--csv = .*its folder .* does not exist"):
        check_output_paths(json=tmp_path / "a.json", csv=tmp_path / "missing" / "x.csv")
    with pytest.raises(ProblemSpecError, match=r"--json = .* is a folder"):
        check_output_paths(json=tmp_path)
    with pytest.raises(ProblemSpecError, match=r"--csv = .* is also the path of --json"):
        check_output_paths(json=tmp_path / "same", csv=tmp_path / "same")
    with pytest.raises(ProblemSpecError, match=r"--time-limit"):
        check_output_paths(time_limit=tmp_path / "nope" / "x")
    a_file = tmp_path / "a.txt"
    a_file.write_text("x")
    with pytest.raises(ProblemSpecError, match="--out = .* is not a folder"):
        check_output_folder("--out", a_file)
    with pytest.raises(ProblemSpecError, match="--out = .* cannot be created"):
        check_output_folder("--out", a_file / "sub")
    check_output_folder("--out", tmp_path / "new" / "deeper")  # creatable
    a_file.unlink()


def test_write_outputs_writes_everything_or_nothing(tmp_path: Path) -> None:
    old = tmp_path / "old.csv"
    old.write_text("previous run\n")
    a, b = tmp_path / "a.json", tmp_path / "fig.png"
    suffixes: list[str] = []

    def good(path: Path) -> None:
        suffixes.append(path.suffix)
        path.write_text("{}")

    def bad(path: Path) -> None:
        path.write_text("half a file")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_outputs({a: good, old: good, b: bad})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.csv"]   # no target, no temporary
    assert old.read_text() == "previous run\n"                         # untouched
    assert write_outputs({a: good, b: good}) == [a, b]
    assert a.read_text() == "{}" and b.read_text() == "{}" and suffixes[-2:] == [".json", ".png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "fig.png", "old.csv"]


def test_price_writes_nothing_when_one_output_cannot_be_written(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    ok_csv, ok_json = tmp_path / "ok.csv", tmp_path / "ok.json"
    _no_solve(monkeypatch)
    rc = main(["price", str(SINGLE), "--n", "40", "--csv", str(ok_csv), "--json", str(tmp_path / "missing" / "x.json")])
    assert rc == 2
    _one_line_error(capsys, "--json", "missing", "does not exist")
    rc = main(["price", str(SINGLE), "--n", "40", "--json", str(ok_json), "--csv", str(tmp_path / "missing" / "x.csv")])
    assert rc == 2
    _one_line_error(capsys, "--csv")
    assert list(tmp_path.iterdir()) == []


def test_analytic_json_is_written_for_single_model_and_all_or_nothing(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    ok_csv, js = tmp_path / "ok.csv", tmp_path / "a.json"
    assert main(["analytic", str(SINGLE), "--n", "30", "--csv", str(ok_csv),
                 "--json", str(tmp_path / "no" / "a.json")]) == 2
    _one_line_error(capsys, "--json")
    assert not ok_csv.exists()
    assert main(["analytic", str(SINGLE), "--n", "30", "--csv", str(ok_csv), "--json", str(js)]) == 0
    data = json.loads(js.read_text())
    assert data["problem"]["kind"] == "single_model" and len(data["menu"]) == 30
    assert data["analytic"]["continuous"]["cutoff"] == pytest.approx(0.5)


@pytest.mark.parametrize("verb", [
    ["plot", str(SINGLE), "--out", "{tmp}/missing/x.png"],
    ["validate", "--only", "lemma1", "--problems", str(PROBLEMS), "--json", "{tmp}/missing/v.json"],
    ["sweep", str(FIG1), "--param", "leader.cost=0.12,0.2", "--workers", "1", "--csv", "{tmp}/ok.csv",
     "--json", "{tmp}/missing/s.json"],
    ["bench", "scaling", "--out", "{tmp}/file.txt"],
])
def test_every_writing_verb_checks_its_outputs_before_working(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, verb: list[str]) -> None:
    (tmp_path / "file.txt").write_text("not a folder")
    _no_solve(monkeypatch)
    from mechdesign.app import bench, sweep
    from mechdesign.validation import validate

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("worked before checking the outputs")

    monkeypatch.setattr(validate, "run_checks", boom)
    monkeypatch.setattr(sweep, "_solve_one", boom)
    monkeypatch.setattr(bench, "run_suite", boom)
    assert main([a.replace("{tmp}", str(tmp_path)) for a in verb]) == 2
    _one_line_error(capsys, "--")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


# ---------------------------------------------------------------------------------------------- audit


def _share(out: str) -> float:
    return float(re.search(r"profit share ([0-9.eE+-]+)", out).group(1))  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def solved_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("audit") / "menu.csv"
    assert main(["solve", str(SINGLE), "--n", "60", "--csv", str(path)]) == 0
    return path


def test_audit_of_the_solved_menu_is_optimal_and_ic(solved_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["audit", str(solved_csv), "--problem", str(SINGLE), "--n", "60"]) == 0
    out = capsys.readouterr().out
    assert abs(_share(out) - 1.0) < 1e-9   # indifferent types pick the seller's item (was 0.9967)
    assert "0 of 60 types prefer another type's item" in out and "incentive compatible" in out


def test_audit_of_a_perturbed_fee_exits_one(solved_csv: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    rows = list(csv.DictReader(solved_csv.open()))
    rows[45]["transfer"] = str(float(rows[45]["transfer"]) * 1.05)   # type 45 now prefers type 44's item
    bad = tmp_path / "bad.csv"
    with bad.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    capsys.readouterr()
    assert main(["audit", str(bad), "--problem", str(SINGLE), "--n", "60"]) == 1
    out = capsys.readouterr().out
    assert "type 45 (theta" in out and "prefers item of type 44" in out and "NOT incentive compatible" in out


def test_audit_without_n_says_how_many_types_the_menu_has(solved_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", str(solved_csv), "--problem", str(SINGLE)]) == 2
    _one_line_error(capsys, "200 types", "--n 60")


@pytest.mark.parametrize("fmt", ["max-spend", "two-part"])
def test_audit_reads_the_price_page(tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    page, js = tmp_path / "page.csv", tmp_path / "page.json"
    assert main(["price", str(SINGLE), "--n", "60", "--format", fmt, "--csv", str(page), "--json", str(js)]) == 0
    capsys.readouterr()
    assert main(["audit", str(page), "--problem", str(SINGLE), "--n", "60"]) == 0
    out = capsys.readouterr().out
    check = json.loads(js.read_text())["check"]
    # the audit's buyers are price's simulated buyers: same profit (two-part mis-sorts at discrete types)
    assert _share(out) == pytest.approx(1.0 - check["profit_rel_error"], abs=1e-9)
    if fmt == "max-spend":
        assert abs(_share(out) - 1.0) < 1e-9


@pytest.mark.parametrize(("text", "fragments"), [
    ("quality,fee\n", ("has a header but no items",)),
    ("", ("is empty",)),
    ("quality,fee\n1.0,abc\n", ("fee = 'abc'", "item 1", "not a number")),
    ("quality,fee\n1.0,\n", ("fee = ''", "empty")),
    ("quality,transfer,fee\n1,2,3\n", ("twice",)),
    ("price\n1.0\n", ("fee",)),
    ("fixed_fee\n1.0\n", ("markup",)),
    ("quality,fee,markup\n1.0,0.5,2.0\n", ("markup",)),
    ("quality,fee,type\n1.0,0.5,0\n", ("type",)),
])
def test_bad_menu_files_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str,
                                     fragments: tuple[str, ...]) -> None:
    menu = _file(tmp_path, text, "menu.csv")
    assert main(["audit", str(menu), "--problem", str(SINGLE), "--n", "10"]) == 2
    _one_line_error(capsys, *fragments)


def test_audit_ties_go_to_the_seller(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # theta = 1: items (q=1, t=0.5) and (q=2, t=1.5) both pay 0.5; the seller earns more on the second
    prob = _file(tmp_path, "[technology]\nsigma = 0.5\n[technology.inference]\nalpha = [1.0]\ncost = [0.1]\n"
                 "[types]\nkind = \"discrete\"\ntheta = [0.1, 1.0]\nprob = [0.5, 0.5]\n")
    menu = _file(tmp_path, "quality,fee\n1.0,0.5\n2.0,1.5\n", "menu.csv")
    assert main(["audit", str(menu), "--problem", str(prob)]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("1 "))
    assert row.split()[3] == "1"   # theta = 1 takes item 1 (the seller's better item), not item 0


# ---------------------------------------------------------------------------------------------- validate


def test_validate_table_fits_100_columns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    js = tmp_path / "v.json"
    assert main(["validate", "--only", "lemma1", "prop4", "--problems", str(PROBLEMS), "--json", str(js)]) == 0
    out = capsys.readouterr().out
    assert "2 passed, 0 failed" in out
    assert max(len(line) for line in out.splitlines()) <= 100, out
    rows = json.loads(js.read_text())
    assert any(len(r["claim"]) > 40 for r in rows)   # the full text is in --json
    claims = " ".join(r["claim"] for r in rows)
    assert all(word in out for word in claims.split())   # wrapped, not lost


def test_validate_and_problems_options_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--only", "lemma1", "--problems", str(SINGLE)]) == 2
    _one_line_error(capsys, "--problems", "is a file")
    assert main(["validate", "--only", "lemma1", "--problems", str(PROBLEMS), "--seed", "-1"]) == 2
    _one_line_error(capsys, "--seed = -1", ">= 0")
    assert main(["problems", "--dir", str(SINGLE)]) == 2
    _one_line_error(capsys, "--dir", "is a file")


# ---------------------------------------------------------------------------------------------- sweep


@pytest.mark.parametrize("workers", ["0", "-3"])
def test_sweep_workers_must_be_positive(capsys: pytest.CaptureFixture[str], workers: str) -> None:
    assert main(["sweep", str(FIG1), "--param", "leader.cost=0.12,0.2", "--workers", workers]) == 2
    _one_line_error(capsys, f"--workers = {workers}", ">= 1")


def test_sweep_scheduler_without_dask(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)   # `import distributed` now fails
    assert main(["sweep", str(FIG1), "--param", "leader.cost=0.12", "--scheduler", "tcp://127.0.0.1:1"]) == 2
    _one_line_error(capsys, "--scheduler", "distributed")


def test_sweep_scheduler_and_workers_conflict(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", str(FIG1), "--param", "leader.cost=0.12", "--workers", "2", "--scheduler", "tcp://x:1"]) == 2
    _one_line_error(capsys, "--workers", "--scheduler")


@pytest.mark.parametrize(("params", "count"), [
    (["leader.cost=0.1:0.2:100000000"], "100,000,000"),
    (["leader.cost=0.1:0.2:1000", "fringe.cost=0.05:0.1:1000"], "1,000,000"),
])
def test_sweep_refuses_huge_grids_up_front(capsys: pytest.CaptureFixture[str], params: list[str], count: str) -> None:
    argv = ["sweep", str(FIG1), "--workers", "1"]
    for p in params:
        argv += ["--param", p]
    assert main(argv) == 2
    _one_line_error(capsys, count, "100,000")


def test_sweep_reads_files_through_problemfile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    import mechdesign.problemfile as pf
    from mechdesign.app.sweep import parse_param, run_sweep

    calls: list[str] = []
    real = pf.read_problem_file

    def spy(path: object) -> dict[str, object]:
        calls.append(str(path))
        return real(path)  # type: ignore[arg-type]

    monkeypatch.setattr(pf, "read_problem_file", spy)
    table = run_sweep(FIG1, [parse_param("leader.cost=0.12")], n=30, workers=1)
    assert calls == [str(FIG1)] and table["status"].iloc[0] == "optimal"
    # the base file is checked like any problem file (strings for numbers are refused) before any solve
    bad = _file(tmp_path, FIG1.read_text().replace("sigma = 0.5", 'sigma = "0.5"', 1))
    assert main(["sweep", str(bad), "--param", "leader.cost=0.12", "--workers", "1"]) == 2
    _one_line_error(capsys, "technology.sigma", "not the string '0.5'")
    assert main(["sweep", str(tmp_path), "--param", "leader.cost=0.12", "--workers", "1"]) == 2
    _one_line_error(capsys, "is a folder")


def test_sweep_y_and_n_need_a_use(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", str(FIG1), "--param", "leader.cost=0.12", "--y", "gap"]) == 2
    _one_line_error(capsys, "--y", "--plot")
    assert main(["sweep", str(PROBLEMS / "binary_screening.toml"), "--param", "technology.sigma=0.4", "--n", "30"]) == 2
    _one_line_error(capsys, "--n", "continuous")
    assert main(["sweep", str(SINGLE), "--param", "technology.inference.cost=1,2"]) == 2
    _one_line_error(capsys, "not a number")


# ---------------------------------------------------------------------------------------------- sizes


def test_types_n_is_capped_with_a_memory_estimate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    big = _file(tmp_path, BASE.replace("n = 200", "n = 10000000"))
    with pytest.raises(ProblemSpecError, match=r"types\.n = 10000000 .*2,000,000.*15 GB"):
        load_problem(big)
    assert main(["analytic", str(big)]) == 2
    _one_line_error(capsys, "types.n", "GB")
    ok = _file(tmp_path, BASE.replace("n = 200", "n = 2000000"), "ok.toml")
    assert load_problem(ok).n == 2_000_000   # the largest size is accepted (nothing is allocated)
    solve_n = _file(tmp_path, BASE + "\n[solve]\nn = 3000000\n", "s.toml")
    with pytest.raises(ProblemSpecError, match=r"solve\.n"):
        load_problem(solve_n)


@pytest.mark.parametrize("verb", ["analytic", "price"])
def test_cli_n_is_capped_before_any_work(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                         verb: str) -> None:
    from mechdesign.problemfile import check_n

    with pytest.raises(ProblemSpecError, match="GB"):
        check_n(load_problem(SINGLE), 10_000_000)
    _no_solve(monkeypatch)
    assert main([verb, str(SINGLE), "--n", "10000000"]) == 2
    _one_line_error(capsys, "--n = 10000000", "2,000,000", "GB")


def test_n_for_types_it_cannot_discretise_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    disc = _file(tmp_path, "[technology]\nsigma = 0.5\n[technology.inference]\nalpha = [1.0]\ncost = [1.0]\n"
                 "[types]\nkind = \"discrete\"\ntheta = [1.0, 2.0]\nprob = [0.5, 0.5]\n")
    assert main(["analytic", str(disc), "--n", "50"]) == 2
    _one_line_error(capsys, "--n", "discrete")
    assert main(["analytic", str(FIG1), "--n", "50"]) == 2
    _one_line_error(capsys, "--n", "leader-fringe")
    assert main(["analytic", str(FIG1), "--csv", str(tmp_path / "x.csv")]) == 2
    _one_line_error(capsys, "--csv", "single-model")
    with pytest.raises(ProblemSpecError, match=r"solve\.n"):
        load_problem(_file(tmp_path, disc.read_text() + "[solve]\nn = 10\n", "d2.toml"))


# ---------------------------------------------------------------------------------------------- messages


def test_wrong_kind_is_named_as_in_the_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analytic", str(PROBLEMS / "binary_screening.toml")]) == 2
    line = _one_line_error(capsys, "problem.kind = 'contractible'", "single-model", "`mechdesign solve`")
    assert "Problem" not in line   # no Python class
    assert main(["price", str(PROBLEMS / "multimodel_two_models.toml")]) == 2
    line = _one_line_error(capsys, "problem.kind = 'multimodel'", "`mechdesign price`", "`mechdesign analytic`")
    assert "Problem" not in line


@pytest.mark.parametrize(("old", "new", "fragments"), [
    ("cost = [1.0, 3.0]", "cost = [1.0]",
     ("technology.inference.cost = [1.0]", "has 1 entry but technology.inference.alpha has 2")),
    ("alpha = [0.6, 0.4]", "alpha = [0.6, 0.2, 0.2]",
     ("technology.inference.alpha", "has 3 entries but technology.inference.cost has 2")),
    ("cost = [2.0]", "cost = [2.0, 1.0]", ("technology.finetuning.cost", "has 2 entries")),
    ("rho = 0.0", "rho = 1.0", ("technology.inference.rho = 1.0", "< 1")),
    ("alpha = [1.0]\ncost", "alpha = [1.0]\nrho = 1.5\ncost", ("technology.finetuning.rho = 1.5",)),
    ("\nsigma = 0.5", '\nsigma = "0.5"', ("technology.sigma", "must be a number, not the string '0.5'")),
    ("\nsigma = 0.5", "\nsigma = true", ("technology.sigma", "not the boolean true")),
    ("cost = [1.0, 3.0]", 'cost = [1.0, "3.0"]', ("technology.inference.cost", "not the string '3.0'")),
    ("n = 200", 'n = "50"', ("types.n", "not the string '50'")),
    ("hi = 1.0", "hi = false", ("types.distribution.hi", "boolean false")),
    ("\nsigma_hat = 0.25", "\nsigma_hat = 0.6", ("technology.finetuning.sigma_hat", "sigma + sigma_hat < 1")),
    ("hi = 1.0", "hi = 1.0\n[solve]\nic = \"bogus\"", ("solve.ic = 'bogus'", "'adaptive'")),
    ("hi = 1.0", "hi = 1.0\n[solve]\nmethod = \"exact\"", ("solve.method = 'exact'", "'structured'")),
])
def test_problem_file_messages_name_the_file_key(tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str,
                                                 new: str, fragments: tuple[str, ...]) -> None:
    assert old in BASE
    path = _file(tmp_path, BASE.replace(old, new, 1))
    with pytest.raises(ProblemSpecError):
        load_problem(path)
    assert main(["analytic", str(path)]) == 2
    line = _one_line_error(capsys, *fragments)
    assert "alpha_rho" not in line and "must have exactly" not in line


def test_a_folder_is_not_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ProblemFileError, match="is a folder"):
        load_problem(tmp_path)
    assert main(["analytic", str(tmp_path)]) == 2
    line = _one_line_error(capsys, "is a folder")
    assert "does not exist" not in line


def test_validators_refuse_strings_and_booleans() -> None:
    for bad in ("0.5", True, False, b"1"):
        with pytest.raises(ProblemSpecError, match="must be a number"):
            V.as_float("x", bad)
    with pytest.raises(ProblemSpecError, match="every entry must be a number"):
        V.vector("x", [1.0, True])
    with pytest.raises(ProblemSpecError, match="must be an integer, not the boolean true"):
        V.integer("n", True, 2)
    with pytest.raises(ProblemSpecError, match="exactly 1 entry "):
        V.vector("x", [1.0, 2.0], length=1)
    assert V.as_float("x", 2) == 2.0 and V.integer("n", 4.0, 2) == 4


# ---------------------------------------------------------------------------------------------- help


VERBS = ("solve", "analytic", "plot", "price", "audit", "validate", "sweep", "bench", "problems")


@pytest.mark.parametrize("verb", VERBS)
def test_every_option_is_used_by_its_verb(verb: str) -> None:
    """No option that does nothing: each option's value is read by the verb's function."""
    import argparse
    import inspect

    from mechdesign.app import cli

    parser = cli._parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[verb]
    source = inspect.getsource(cli.COMMANDS[verb])
    for action in sub._actions:
        if action.dest in ("help",):
            continue
        assert f"args.{action.dest}" in source, f"{verb} {action.option_strings or action.dest} is never read"
        assert action.help, f"{verb} {action.dest} has no help"
