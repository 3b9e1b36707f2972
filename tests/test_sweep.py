"""Parameter sweeps (issue 6): the grid, local processes, a Dask distributed cluster started here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mechdesign import ProblemSpecError
from mechdesign.analytic.leader_fringe import LeaderFringe
from mechdesign.app.cli import main
from mechdesign.app.sweep import parse_param, run_sweep

PROBLEMS = Path(__file__).resolve().parents[1] / "problems"
FIG1 = PROBLEMS / "figure1_leader_fringe.toml"


def test_parse_param() -> None:
    assert parse_param("leader.cost=0.1:0.2:3") == ("leader.cost", pytest.approx([0.1, 0.15, 0.2]))
    assert parse_param("fringe.cost=0.05,0.1") == ("fringe.cost", [0.05, 0.1])
    for bad in ("leader.cost", "leader.cost=a:b:3", "leader.cost=0.1:0.2:0"):
        with pytest.raises(ProblemSpecError, match="--param"):
            parse_param(bad)


def test_sweep_rows_match_closed_forms_and_bad_keys() -> None:
    table = run_sweep(FIG1, [parse_param("leader.cost=0.12,0.2"), parse_param("fringe.cost=0.1")], n=40, workers=1)
    assert len(table) == 2 and (table["status"] == "optimal").all()
    for _, row in table.iterrows():  # each row carries the cutoffs of its own instance (eq. 46)
        lf = LeaderFringe(0.5, 0.25, row["leader.cost"], row["fringe.cost"])
        assert row["theta_1"] == pytest.approx(lf.theta_1(), rel=1e-12)
        assert row["theta_hat"] == pytest.approx(lf.theta_hat(), rel=1e-12)
    assert table["profit"].iloc[0] > table["profit"].iloc[1]   # a costlier leader earns less
    with pytest.raises(ProblemSpecError, match="names no"):
        run_sweep(FIG1, [parse_param("leader.bogus=1,2")], workers=1)
    bad = run_sweep(FIG1, [parse_param("leader.cost=0.05")], workers=1)   # c_L < c_F: a row with the error
    assert bad["status"].iloc[0] == "error" and "fringe.cost" in bad["error"].iloc[0]


@pytest.mark.slow  # two worker processes, each importing the package: half a minute
def test_sweep_on_a_local_dask_cluster(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cl:
        table = run_sweep(FIG1, [parse_param("leader.cost=0.11:0.2:4")], n=40, scheduler=cl.scheduler_address)
        local = run_sweep(FIG1, [parse_param("leader.cost=0.11:0.2:4")], n=40, workers=1)
        js = tmp_path / "s.json"
        assert main(["sweep", str(FIG1), "--param", "leader.cost=0.11:0.2:2", "--n", "40", "--scheduler",
                     cl.scheduler_address, "--json", str(js), "--plot", str(tmp_path / "s.png"), "--y", "theta_1"]) == 0
    assert len(table) == 4 and (table["status"] == "optimal").all()
    np.testing.assert_allclose(table["profit"], local["profit"], rtol=1e-12)   # same answers as local processes
    data = json.loads(js.read_text())
    assert data["provenance"]["mechdesign"] and len(data["rows"]) == 2 and (tmp_path / "s.png").stat().st_size > 0
