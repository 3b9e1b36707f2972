"""The benchmark harness: rates, isolation, the hand-written baseline, the CLI's errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mechdesign.app import bench, bench_accuracy, bench_contractible, bench_problems
from mechdesign.app.cli import main


def test_fitted_rate_recovers_a_power_law() -> None:
    n = np.array([10, 20, 40, 80, 160])
    assert bench_accuracy.fitted_rate(n, 3.0 * n**-2.0) == pytest.approx(-2.0, abs=1e-12)
    assert bench_accuracy.fitted_rate(n, 0.5 * n**-1.0) == pytest.approx(-1.0, abs=1e-12)
    assert np.isnan(bench_accuracy.fitted_rate(n[:1], np.array([1.0])))


def _sleepy(seconds: float) -> dict[str, object]:
    import time

    time.sleep(seconds)
    return {"slept": seconds}


def _broken() -> dict[str, object]:
    raise RuntimeError("on purpose")


def test_isolated_cases_report_time_limits_and_failures_as_rows() -> None:
    ok = bench.run_isolated(_sleepy, {"seconds": 0.0}, timeout=60)
    assert ok["slept"] == 0.0 and ok["peak_rss_mb"] > 0
    late = bench.run_isolated(_sleepy, {"seconds": 30.0}, timeout=2)
    assert str(late["status"]).startswith("not finished in 2 s")
    bad = bench.run_isolated(_broken, {}, timeout=60)
    assert str(bad["status"]).startswith("failed: RuntimeError: on purpose")


def test_handwritten_baseline_is_a_correct_independent_formulation() -> None:
    """The hand-written every-pair program (written without mechdesign's program layer) reaches the
    exact discrete menu (closed form, Prop 3 discrete) up to Clarabel's default tolerance."""
    for style in ("matrix", "loop"):
        row = bench.case_handwritten(N=12, style=style)
        assert row["status"] == "optimal"
        assert row["profit_err"] < 1e-5 and row["Q_err"] < 1e-3
        assert row["max_ic_viol_rel"] < 1e-6


def test_speedup_column_is_relative_to_the_baseline_at_the_same_n() -> None:
    df = pd.DataFrame({"N": [10, 10, 20, 20], "method": ["base", "fast", "base", "fast"],
                       "wall_s": [4.0, 1.0, 9.0, 3.0]})
    out = bench._with_ratio(df, {"speedup": "base"})
    assert out["speedup"].tolist() == [1.0, 4.0, 1.0, 3.0]


def test_bench_cli_rejects_unknown_suites(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "nonsense", "--out", "unused"]) == 2
    err = capsys.readouterr().err
    assert "suite" in err and "scaling" in err and "Traceback" not in err


def test_problem_files_are_found_from_any_directory(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    from mechdesign.shipped import shipped_dir

    monkeypatch.chdir(str(tmp_path))  # no problems/ here: the bench reads the shipped problems, not ./problems
    assert bench_problems.problems_dir() == shipped_dir()
    assert (bench_problems.problems_dir() / "single_model_cobb_douglas.toml").is_file()
    assert not (Path(str(tmp_path)) / "problems").exists()


def test_search_speedup_compares_the_two_final_formulations_at_the_same_size() -> None:
    df = pd.DataFrame({"N": [50, 50, 50, 100, 100], "T": [5, 5, 5, 5, 5],
                       "ic": ["all", "adaptive", "adaptive", "adaptive", "adaptive"],
                       "formulation": ["tokens", "profile", "tokens", "profile", "tokens"],
                       "wall_s": [9.0, 2.0, 6.0, 5.0, 20.0]})
    out = bench_contractible.search_speedup(df)["speedup_vs_tokens_final"].tolist()
    assert np.isnan(out[0]) and out[1] == 3.0 and np.isnan(out[2]) and out[3] == 4.0 and np.isnan(out[4])


def test_value_scale_speedup_is_over_the_all_pairs_row_at_the_same_grid() -> None:
    from mechdesign.app.bench_value_scale import all_pairs_speedup

    df = pd.DataFrame({"n_w": [20, 20, 40, 100], "ic": ["adaptive", "all", "adaptive", "adaptive"],
                       "status": ["optimal", "optimal", "optimal", "not finished in 600 s"],
                       "wall_s": [1.0, 3.0, 2.0, 600.0]})
    out = all_pairs_speedup(df)["speedup_vs_all_pairs"].tolist()
    assert out[0] == 3.0 and out[1] == 1.0 and np.isnan(out[2]) and np.isnan(out[3])


def test_value_scale_case_is_certified_and_equals_prop10() -> None:
    """One row of the value-scale suite: the shipped problem at n_w = 10 (40 types), certified with margin, and its
    profit equal to Prop 10's observable-scale benchmark (eqs. 61-63: Assumption 2 holds there) to rounding."""
    from mechdesign.app.bench_value_scale import case_value_scale

    row = case_value_scale(10)
    assert row["N"] == 40 and row["status"] == "optimal" and row["margin"]
    assert abs(row["vs_prop10_rel"]) <= 1e-12 and abs(row["gap_rel"]) <= 1e-12
