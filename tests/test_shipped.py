"""Shipped problem files as package data: reachable by name from any directory (``mechdesign.shipped``)."""

from __future__ import annotations

import fnmatch
import os
import subprocess
import sys
import tomllib
from pathlib import Path, PurePosixPath

import pytest

from mechdesign import shipped
from mechdesign.app.cli import main
from mechdesign.exceptions import ProblemFileError
from mechdesign.problemfile import load_problem, observed_kind

ROOT = Path(__file__).resolve().parents[1]
PROBLEMS = ROOT / "problems"


def files_in_problems() -> list[str]:
    """Every problem file in the repository's problems/ (subfolders too), as a name."""
    return sorted(p.relative_to(PROBLEMS).with_suffix("").as_posix() for p in PROBLEMS.rglob("*.toml"))


def test_the_shipped_names_are_the_files_in_problems() -> None:
    assert shipped.shipped_dir() == PROBLEMS  # a source checkout reads the repository's folder
    names = shipped.shipped_names()
    assert sorted(names) == files_in_problems()
    assert "single_model_cobb_douglas" in names
    top = [n for n in names if "/" not in n]
    assert names[: len(top)] == sorted(top)  # top-level first, then subfolders (observed/...)


def test_the_package_data_covers_every_problem_file() -> None:
    # what pyproject.toml tells setuptools to put in the wheel: problems/ as mechdesign.problems, with patterns
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "mechdesign.problems" in conf["packages"]
    assert conf["package-dir"]["mechdesign.problems"] == "problems"
    patterns = conf["package-data"]["mechdesign.problems"]
    assert "py.typed" in conf["package-data"]["mechdesign"]

    def covered(rel: str) -> bool:  # setuptools globs match component by component ("*" stops at "/")
        parts = PurePosixPath(rel).parts
        return any(len(PurePosixPath(pat).parts) == len(parts)
                   and all(fnmatch.fnmatchcase(a, b) for a, b in zip(parts, PurePosixPath(pat).parts))
                   for pat in patterns)

    missing = [n for n in files_in_problems() if not covered(f"{n}.toml")]
    assert not missing, f"problem files the wheel would leave out (add a pattern to package-data): {missing}"
    assert covered("observed/some_market.toml")  # the observed/ folder is shipped when present


def test_names_resolve_from_another_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    folder = shipped.shipped_dir()
    for name in shipped.shipped_names():
        want = folder / f"{name}.toml"
        assert shipped.resolve(name) == want
        assert shipped.resolve(f"{name}.toml") == want
        assert shipped.resolve(f"problems/{name}.toml") == want  # the docs' repository paths work anywhere
    prob = load_problem("single_model_cobb_douglas")
    assert prob.name == "single_model_cobb_douglas"
    assert prob.source["file"] == str(folder / "single_model_cobb_douglas.toml")
    assert type(load_problem("figure1_leader_fringe.toml")).__name__ == "LeaderFringeProblem"


def test_an_existing_path_wins_over_a_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    local = tmp_path / "single_model_cobb_douglas.toml"
    local.write_text((PROBLEMS / "single_model_beta.toml").read_text())
    assert shipped.resolve("single_model_cobb_douglas.toml") == Path("single_model_cobb_douglas.toml")
    assert shipped.resolve(local) == local
    assert shipped.resolve("single_model_cobb_douglas") == PROBLEMS / "single_model_cobb_douglas.toml"
    # a directory is not a problem file and is not read as a shipped name either
    (tmp_path / "value_scale").mkdir()
    assert shipped.resolve("value_scale") == Path("value_scale")
    with pytest.raises(ProblemFileError):
        load_problem("value_scale")


def test_a_wrong_name_lists_the_shipped_names_close_matches_first(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProblemFileError, match="does not exist") as info:
        load_problem("single_model_cobbdouglas")
    msg = str(info.value)
    assert "did you mean single_model_cobb_douglas" in msg
    for name in shipped.shipped_names():
        assert name in msg
    assert msg.index("single_model_cobb_douglas") < msg.index("binary_full_extraction")
    with pytest.raises(ProblemFileError, match="mechdesign problems"):
        shipped.resolve("nothing_like_it")
    with pytest.raises(ProblemFileError, match="does not exist"):
        shipped.resolve(tmp_path / "nope.toml")


def test_observed_subfolder_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "observed").mkdir()
    for name in ("single_model_cobb_douglas", "observed/api_market"):
        (tmp_path / f"{name}.toml").write_text((PROBLEMS / "single_model_cobb_douglas.toml").read_text())
    monkeypatch.setattr(shipped, "_candidates", lambda: [tmp_path])
    assert shipped.shipped_names() == ["single_model_cobb_douglas", "observed/api_market"]
    monkeypatch.chdir(tmp_path.parent)
    assert shipped.resolve("observed/api_market") == tmp_path / "observed" / "api_market.toml"
    assert shipped.resolve("observed/api_market.toml") == tmp_path / "observed" / "api_market.toml"
    with pytest.raises(ProblemFileError, match="did you mean observed/api_market"):
        shipped.resolve("api_market")


def test_a_missing_installation_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shipped, "_candidates", lambda: [tmp_path / "nowhere"])
    with pytest.raises(ProblemFileError, match="reinstall"):
        shipped.shipped_dir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProblemFileError, match="does not exist"):
        shipped.resolve("single_model_cobb_douglas")


def test_problems_command_lists_every_shipped_problem_from_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["problems"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    for name in files_in_problems():
        row = next((ln for ln in lines if ln.split()[:1] == [name]), None)
        assert row is not None, name
        data = tomllib.loads((PROBLEMS / f"{name}.toml").read_text())
        kind = observed_kind(data) or data.get("problem", {}).get("kind", "single_model")  # price pages as such
        assert row.split()[1] == kind
    assert "Prop 10" in out  # descriptions
    # --dir lists another folder (paths, so they can be passed to solve); a missing folder exits 2
    other = tmp_path / "mine"
    other.mkdir()
    (other / "copy.toml").write_text((PROBLEMS / "single_model_beta.toml").read_text())
    assert main(["problems", "--dir", str(other)]) == 0
    out = capsys.readouterr().out
    assert str(other / "copy.toml") in out and "single_model_cobb_douglas" not in out
    assert main(["problems", "--dir", str(tmp_path / "absent")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_problems_command_in_a_fresh_process_outside_the_repository(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-m", "mechdesign.app.cli", "problems"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=False, timeout=300)
    assert out.returncode == 0, out.stderr
    assert all(name in out.stdout for name in files_in_problems())


def test_solve_a_shipped_name_from_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["solve", "single_model_cobb_douglas", "--n", "20"]) == 0
    assert "status            optimal" in capsys.readouterr().out
    assert main(["solve", "single_model_cobbdouglas", "--n", "20"]) == 2
    err = capsys.readouterr().err
    assert "did you mean single_model_cobb_douglas" in err and "Traceback" not in err
