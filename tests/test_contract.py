"""One contract for every setting: the JSON output keys, and every `solve` option against every kind.

* every shipped problem solved through the CLI with ``--json`` carries every key of the output contract
  (docs/architecture.md; ``mechdesign.settings.base.CONTRACT_KEYS``) and a status from the vocabulary;
* every ``solve`` option against one problem of every kind either takes effect (a file written, or the
  result says the option was used) or exits 2 with a one-line message naming the option; never ignored.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mechdesign.app.cli import main
from mechdesign.exceptions import ProblemSpecError
from mechdesign.problemfile import load_problem
from mechdesign.settings.base import CONTRACT_KEYS, STATUSES, SolveOptions

from .conftest import PROBLEMS

#: one shipped problem per kind, and options that keep each solve short
KINDS = {
    "single_model": ("single_model_cobb_douglas", ["--n", "40"]),
    "contractible": ("binary_screening", []),
    "value_scale": ("value_scale", []),
    "multimodel": ("multimodel_two_models", ["--n", "40"]),
    "leader_fringe": ("figure1_leader_fringe", ["--n", "40"]),
    "multidim": ("multidim/rochet_chone_20x20", []),
}
#: every shipped problem (the price lists under observed/ are not problems); the 100 x 100 grids in the slow step
SHIPPED = sorted(p.stem for p in PROBLEMS.glob("*.toml")) + [
    f"multidim/{p.stem}" if "100x100" not in p.stem else pytest.param(f"multidim/{p.stem}", marks=pytest.mark.slow)
    for p in sorted((PROBLEMS / "multidim").glob("*.toml"))]


#: kinds whose problem of KINDS is shrunk for the option checks: (text in the file, its replacement); every
#: option's effect shows as well on fewer types, in a second (``--ic all`` on the 20 x 20 grid writes 160,000
#: IC rows and took a minute)
SHRINK = {"multidim": ("n = [20, 20]", "n = [8, 8]"), "value_scale": ("n = 20", "n = 8")}


def problem_of(kind: str, folder: Path) -> str:
    """The problem of ``kind`` in :data:`KINDS`, as a shipped name or (shrunk) a file in ``folder``."""
    name = KINDS[kind][0]
    if kind not in SHRINK:
        return name
    old, new = SHRINK[kind]
    text = (PROBLEMS / f"{name}.toml").read_text()
    assert old in text
    path = folder / f"{kind}_small.toml"
    path.write_text(text.replace(old, new, 1))
    return str(path)


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_problem_speaks_the_contract(name: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Through the CLI to JSON: the contract; and the same menu, status and options as from Python (the
    file's ``[solve]`` table belongs to the problem, so both paths solve the same program)."""
    small = name.startswith(("single_model", "multimodel", "figure1", "leader"))
    extra = ["--n", "40"] if small else []
    path = tmp_path / "out.json"
    code, _, err = run(["solve", name, "--json", str(path), *extra], capsys)
    assert code == 0, err
    data = json.loads(path.read_text())
    py = load_problem(name).solve(**({"n": 40} if small else {})).to_dict()
    assert (data["status"], data["options"]) == (py["status"], py["options"])
    assert data["solver"].get("ic") == py["solver"].get("ic")
    assert data["options"] == {k: v for k, v in load_problem(name).source.get("solve_defaults", {}).items()
                               if k != "n"} | ({"n": 40} if small else {})
    assert [row.keys() for row in data["menu"]] == [row.keys() for row in py["menu"]]
    for key in ("quality", "transfer"):
        np.testing.assert_allclose([row[key] for row in data["menu"]], [row[key] for row in py["menu"]],
                                   rtol=1e-9, atol=1e-12 * max(1.0, abs(py["profit"])))
    missing = [k for k in CONTRACT_KEYS if k not in data]
    assert not missing, f"{name}: missing {missing}"
    assert data["status"] in STATUSES and data["status"] == "optimal"
    assert data["problem"]["kind"] and data["menu"]
    for row in data["menu"]:
        assert {"prob", "transfer", "rent"} <= set(row) and ("quality" in row)
    assert isinstance(data["certificate"], dict) and data["certificate"]["passed"] is True


# option -> (command-line words, how to see that it took effect in the JSON)
OPTIONS = {
    "--n": (["--n", "30"], lambda d: len(d["menu"]) == 30),
    "--method": (["--method", "conic"], lambda d: d["solver"].get("method") == "conic"),
    "--ic": (["--ic", "all"], lambda d: d["solver"].get("ic") == "all"),
    "--solver": (["--solver", "CLARABEL"], lambda d: str(d["solver"].get("name")).upper().startswith("CLARABEL")),
    "--formulation": (["--formulation", "tokens"], lambda d: d["solver"].get("formulation") == "tokens"),
    "--no-polish": (["--no-polish"], lambda d: not (d["solver"].get("polish") or {}).get("applied", False)),
    "--time-limit": (["--time-limit", "600"], lambda d: True),  # a generous limit: same result, no error
}


@pytest.mark.parametrize("option", sorted(OPTIONS))
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_option_takes_effect_or_is_refused(kind: str, option: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    name, base = problem_of(kind, tmp_path), KINDS[kind][1]
    words, took_effect = OPTIONS[option]
    if option == "--n":
        base = []
    if option == "--formulation" and kind == "contractible":
        words = ["--formulation", "profile"]
        def took_effect(d: dict) -> bool:  # type: ignore[misc]
            return d["solver"].get("formulation") == "profile"
    path = tmp_path / "out.json"
    code, _, err = run(["solve", name, *base, *words, "--json", str(path)], capsys)
    if code == 2:
        assert option in err and err.count("\n") == 1 and "Traceback" not in err, err
        assert not path.exists()  # nothing written when refused
        return
    assert code in (0, 1), err
    data = json.loads(path.read_text())
    assert took_effect(data), f"{option} on {kind}: no visible effect in {data['solver']}"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_csv_and_plot_are_written_for_every_kind(kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name, base = problem_of(kind, tmp_path), KINDS[kind][1]
    csv, png = tmp_path / "m.csv", tmp_path / "m.png"
    code, _, err = run(["solve", name, *base, "--csv", str(csv), "--plot", str(png)], capsys)
    assert code == 0, err
    assert csv.read_text().startswith("type,") and png.stat().st_size > 1000


def test_options_refused_by_a_setting_name_the_option_and_the_setting() -> None:
    from mechdesign import ProblemSpecError, load_problem

    with pytest.raises(ProblemSpecError, match="polish.*contractible"):
        load_problem("binary_screening").solve(polish=False)
    with pytest.raises(ProblemSpecError, match="time_limit.*leader_fringe"):
        load_problem("figure1_leader_fringe").solve(time_limit=5)
    with pytest.raises(ProblemSpecError, match="n.*discrete"):
        load_problem("multimodel_two_models")  # continuous: n is fine
        from mechdesign import DiscreteTypes, SingleModelProblem, cobb_douglas

        SingleModelProblem(cobb_douglas([0.5], [1.0]), DiscreteTypes([0.5, 1.0], [0.5, 0.5])).solve(n=50)
    with pytest.raises(ProblemSpecError, match="not a solve option"):
        SolveOptions.make(nn=3)


def test_leader_fringe_file_n_is_used(tmp_path: Path) -> None:
    # `n = 50` in a leader-fringe [types] table was accepted and ignored (200 types were solved)
    from mechdesign import load_problem

    text = (PROBLEMS / "figure1_leader_fringe.toml").read_text()
    path = tmp_path / "lf.toml"
    path.write_text(text.replace('[types]\nkind = "distribution"', '[types]\nkind = "distribution"\nn = 37', 1))
    problem = load_problem(path)
    assert problem.n == 37
    assert problem.solve().types.n == 37
    assert problem.solve(n=41).types.n == 41


def test_zero_fringe_cost_is_refused_naming_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # fringe.cost = 0 was accepted and ended in a ZeroDivisionError traceback inside LeaderFringe.psi
    text = (PROBLEMS / "figure1_leader_fringe.toml").read_text()
    path = tmp_path / "lf.toml"
    head, _, tail = text.partition("[fringe]")
    fringe = "\n".join("cost = 0.0" if line.strip().startswith("cost") else line for line in tail.split("\n"))
    path.write_text(head + "[fringe]" + fringe)
    code, _, err = run(["solve", str(path)], capsys)
    assert code == 2 and "fringe.cost" in err and "Traceback" not in err


def test_options_resolve_defaults_then_file_then_caller(tmp_path: Path) -> None:
    """One order everywhere (:func:`mechdesign.settings.base.resolve_options`): the setting's defaults, the
    file's ``[solve]`` table over them, the caller's options over both."""
    from mechdesign.settings.base import resolve_options

    path = tmp_path / "s.toml"
    path.write_text((PROBLEMS / "single_model_cobb_douglas.toml").read_text()
                    + '\n[solve]\nic = "all"\nsolver = "CLARABEL"\n')
    problem = load_problem(path)
    assert resolve_options(problem).given() == {"ic": "all", "solver": "CLARABEL"}
    assert resolve_options(problem, ic="local").given() == {"ic": "local", "solver": "CLARABEL"}
    # the caller's exact structured solver: the file's conic options do not apply (no conflict)
    assert resolve_options(problem, method="structured").given() == {"method": "structured"}
    assert resolve_options(load_problem("single_model_cobb_douglas")).given() == {}
    structured = tmp_path / "m.toml"
    structured.write_text(path.read_text().replace('ic = "all"', 'method = "structured"'))
    assert resolve_options(load_problem(structured), ic="local").given() == {"ic": "local", "solver": "CLARABEL"}
    result = problem.solve(n=30)
    assert result.solver["method"] == "conic" and result.solver["ic"] == "all"
    assert result.to_dict()["options"] == {"n": 30, "ic": "all", "solver": "CLARABEL"}
    assert problem.solve(n=30, method="structured").solver["method"] == "structured"
    with pytest.raises(ProblemSpecError, match="polish.*leader_fringe"):
        resolve_options(load_problem("figure1_leader_fringe"), polish=False)
