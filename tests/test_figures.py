"""What a reader sees in the figures (issue 22, item 16): every legend lies inside the figure and off every
panel (axes, tick and axis labels), nothing is drawn outside the figure, tick labels do not collide, and each
setting's figure shows what it should (one line per value scale against w, markers for contractible types,
the model each type buys)."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.legend import Legend

import mechdesign as md
from mechdesign.app.plot2d import types_2d_figure
from mechdesign.app.plot_kinds import contractible_figure, grouped_figure, value_scale_figure
from mechdesign.app.plotting import plot_result, result_figure

matplotlib.use("Agg")

#: pixels an artist may poke past the figure's edge (antialiasing)
EDGE_PX = 1.0


def _legends(fig: Figure) -> list[Legend]:
    return [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend() is not None)]


def layout_problems(fig: Figure) -> list[str]:
    """What is wrong with ``fig``'s layout: an artist outside the figure, a legend that overlaps a panel
    (its axes, ticks or labels) or leaves the figure, x tick labels that overlap each other."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    problems = []
    tight = fig.get_tightbbox(renderer)  # inches
    (x0, y0), (x1, y1) = tight.get_points() * fig.dpi
    W, H = fig.bbox.width, fig.bbox.height
    if x0 < -EDGE_PX or y0 < -EDGE_PX or x1 > W + EDGE_PX or y1 > H + EDGE_PX:
        problems.append(f"drawn outside the figure: {(x0, y0, x1, y1)} vs {(W, H)}")
    for leg in _legends(fig):
        box = leg.get_window_extent(renderer)
        if box.x0 < -EDGE_PX or box.y0 < -EDGE_PX or box.x1 > W + EDGE_PX or box.y1 > H + EDGE_PX:
            problems.append(f"legend leaves the figure: {box}")
        for k, ax in enumerate(fig.axes):
            if box.overlaps(ax.get_tightbbox(renderer)):
                problems.append(f"legend overlaps panel {k} ({ax.get_title() or ax.get_ylabel()})")
    for k, ax in enumerate(fig.axes):
        boxes = [t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_visible() and t.get_text()]
        problems += [f"x tick labels collide in panel {k}" for a, b in zip(boxes, boxes[1:]) if a.overlaps(b)]
    return problems


def legend_texts(fig: Figure) -> list[str]:
    return [t.get_text() for leg in _legends(fig) for t in leg.get_texts()]


class _Result:
    """A stand-in result: a table, a name and a status (what ``settings_figure`` reads)."""

    def __init__(self, frame: pd.DataFrame, name: str = "fake") -> None:
        self.frame, self.name, self.status = frame, name, "optimal"

    def to_frame(self) -> pd.DataFrame:
        return self.frame


def _value_scale_frame() -> pd.DataFrame:
    w = np.tile(np.linspace(0.05, 0.95, 10), 4)
    s = np.repeat([0.25, 0.5, 0.75, 1.0], 10)
    q = s * np.maximum(w - 0.5, 0.0) ** 2
    return pd.DataFrame({"w": w, "s": s, "prob": 1 / 40, "quality": q, "quality_benchmark": q,
                         "transfer": 0.8 * q, "transfer_benchmark": 0.8 * q})


@pytest.fixture(scope="module")
def single_ironing() -> object:
    return md.load_problem("single_model_ironing").solve()


def test_single_model_legend_is_off_the_curves_and_names_band_and_cutoff(single_ironing: object) -> None:
    fig = result_figure(single_ironing)
    assert layout_problems(fig) == []
    texts = legend_texts(fig)
    assert any("pooled" in t for t in texts), texts  # the ironing band
    assert any("cutoff" in t for t in texts), texts  # the exclusion cutoff line
    assert max(map(len, texts)) <= 60, texts  # the solver's long description is cut to its name
    assert any(t.startswith("numeric (chain") for t in texts), texts


def test_value_scale_draws_one_line_per_scale_against_w() -> None:
    frame = _value_scale_frame()
    fig = result_figure(_Result(frame))
    assert layout_problems(fig) == []
    for ax in fig.axes:
        assert "w" in ax.get_xlabel()
        lines = [ln for ln in ax.get_lines() if ln.get_label().startswith("scale")]
        assert len(lines) == 4  # one per scale, not one saw-tooth over a type index
        for line in lines:
            np.testing.assert_allclose(line.get_xdata(), np.linspace(0.05, 0.95, 10))
    scales = {t for t in legend_texts(fig) if t.startswith("scale")}
    assert scales == {f"scale $s$ = {s:g}" for s in (0.25, 0.5, 0.75, 1)}


def test_contractible_types_are_markers_and_equal_segments_stay_visible() -> None:
    result = md.load_problem("binary_screening").solve()
    frame = result.to_frame()
    assert np.allclose(frame["q_3"], frame["q_4"], atol=1e-9)  # the case where q_3 hid under q_4
    fig = result_figure(result)
    assert layout_problems(fig) == []
    ax = fig.axes[0]
    for line in [*fig.axes[0].get_lines(), *fig.axes[1].get_lines()]:
        assert line.get_linestyle() == "None" and line.get_marker() not in ("", "None", None)  # no lines between types
    x = {ln.get_label(): np.asarray(ln.get_xdata(), dtype=float) for ln in ax.get_lines()}
    seg3 = next(v for k, v in x.items() if "segment 3" in k)
    seg4 = next(v for k, v in x.items() if "segment 4" in k)
    assert np.all(np.abs(seg3 - seg4) > 0.05)  # side by side, not on top of each other
    assert np.allclose(np.round(seg3), [0, 1])  # each marker beside its type's index


def test_contractible_many_types_keep_tick_labels_apart() -> None:
    n = 12
    frame = pd.DataFrame({"prob": np.full(n, 1 / n), "q_1": np.linspace(0, 1, n), "q_2": np.linspace(1, 0, n),
                          "q_3": 0.5, "transfer": np.linspace(0, 1, n)})
    assert layout_problems(contractible_figure(frame, "twelve types")) == []


def test_multimodel_shows_the_model_each_type_buys() -> None:
    result = md.load_problem("multimodel_two_models").solve(n=20)
    frame = result.to_frame()
    fig = result_figure(result)
    assert layout_problems(fig) == []
    texts = legend_texts(fig)
    for name in ("base", "reasoning", "excluded"):
        assert any(t.startswith(name) for t in texts), texts
    ax = fig.axes[0]
    by_label = {ln.get_label().split(" (")[0]: ln for ln in ax.get_lines() if not ln.get_label().startswith("_")}
    for name, line in by_label.items():
        sel = frame["model"].isna() | (frame["model"] == "none") if name == "excluded" else frame["model"] == name
        np.testing.assert_allclose(line.get_xdata(), frame["theta"][sel])
    colours = {name: matplotlib.colors.to_hex(line.get_color()) for name, line in by_label.items()}
    assert len(set(colours.values())) == len(colours)  # one colour per model


@pytest.mark.parametrize("none", [None, float("nan"), "none", "(excluded)", ""])
def test_grouped_figure_draws_types_without_a_model_as_excluded(none: object) -> None:
    frame = pd.DataFrame({"theta": [0.1, 0.5, 0.9], "quality": [0.0, 1.0, 2.0], "transfer": [0.0, 0.5, 1.0],
                          "model": [none, "base", "reasoning"]})
    texts = legend_texts(grouped_figure(frame, "model"))
    assert texts == ["excluded (1 type)", "base (1 type)", "reasoning (1 type)"]


def test_leader_regions_are_grouped() -> None:
    frame = pd.DataFrame({"theta": np.linspace(0.1, 1, 6), "quality": [0, 0, 1, 2, 3, 4.0],
                          "q_leader": [0, 0, 1, 2, 3, 4.0], "transfer": [0, 0, 0.5, 1, 1.5, 2.0],
                          "region": ["fringe only"] * 2 + ["deterrence"] * 2 + ["monopoly"] * 2})
    fig = result_figure(_Result(frame))
    assert layout_problems(fig) == []
    assert sorted(t.split(" (")[0] for t in legend_texts(fig)) == ["deterrence", "fringe only", "monopoly"]


def test_multidim_regions_legend_is_off_the_grid_points() -> None:
    g = np.linspace(1.0, 2.0, 8)
    v = np.array([(a, b) for a in g for b in g])
    regions = np.where(v.sum(axis=1) < 2.5, "exclusion", np.where(v.sum(axis=1) < 3.0, "bunching", "separation"))
    fig = types_2d_figure(v, v - 1.0, regions, np.array([[0, 1], [1, 2]]), np.array([1.0, 1.0]), title="8 x 8")
    assert layout_problems(fig) == []
    assert [t.split(" (")[0] for t in legend_texts(fig)] == ["exclusion", "bunching", "separation"]


def test_the_layout_check_catches_a_legend_over_the_data() -> None:
    """The check itself can fail: the old placements (a legend in a panel, a label past the figure)."""
    fig = grouped_figure(pd.DataFrame({"theta": [0.0, 1.0], "quality": [0.0, 1.0], "transfer": [0.0, 1.0],
                                       "model": [None, "base"]}), "model")
    fig.axes[0].legend(loc="upper left")
    assert any("overlaps panel 0" in p for p in layout_problems(fig))
    fig = value_scale_figure(_value_scale_frame())
    fig.set_layout_engine("none")
    fig.axes[0].plot([0.0, 1.0], [0.0, 1.0], label="x" * 300)
    fig.axes[0].legend(loc="upper left")
    problems = layout_problems(fig)
    assert any("outside the figure" in p for p in problems) and any("leaves the figure" in p for p in problems)


def test_plot_result_writes_a_png(tmp_path: Path) -> None:
    path = tmp_path / "vs.png"
    plot_result(_Result(_value_scale_frame()), path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
