"""Figures of the menus of the settings other than the single model: value scale, contractible tasks, a
menu whose types are split into groups (the model each type buys, or the leader's region), and a fallback.

Each ``*_figure`` function returns a matplotlib :class:`~matplotlib.figure.Figure` (Agg backend, no display)
drawn with constrained layout and its legend *below* the panels, outside every axes, so that no legend hides
data; :func:`save_figure` writes and closes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.legend import Legend

#: colour of the types a grouped figure marks as excluded (no group)
EXCLUDED_COLOUR = "0.55"
#: group labels that mean "no group" (an excluded type), compared lower-case without parentheses
NO_GROUP = frozenset({"", "none", "nan", "excluded", "-", "\u2013"})
#: marker shapes cycled over the series of a figure
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "*")
#: total width (in type-index units) over which a contractible figure spreads one type's segment markers
OFFSET_SPAN = 0.6


def save_figure(fig: Figure, path: str | Path, dpi: int = 120) -> None:
    """Write ``fig`` as a PNG at ``path`` and close it.

    Parameters
    ----------
    fig : Figure
        The figure.
    path : str or Path
        Output file.
    dpi : int
        Resolution.
    """
    try:
        fig.savefig(path, dpi=dpi)
    finally:
        plt.close(fig)


def legend_below(fig: Figure, ncols: int = 4) -> Legend | None:
    """One legend for the whole figure, centred below the panels (outside every axes).

    Parameters
    ----------
    fig : Figure
        A figure drawn with constrained layout; the handles of all its axes are collected, duplicates
        (same label) dropped.
    ncols : int
        Most columns of the legend.

    Returns
    -------
    Legend or None
        The legend, or None if no artist has a label.
    """
    seen: dict[str, object] = {}
    for ax in fig.axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(label, handle)
    if not seen:
        return None
    return fig.legend(list(seen.values()), list(seen), loc="outside lower center",  # type: ignore[call-overload]
                      ncols=min(ncols, len(seen)), fontsize=8, frameon=False)


def _panels(title: str, ylabels: Sequence[str], xlabel: str) -> tuple[Figure, list[Axes]]:
    fig, axes = plt.subplots(1, len(ylabels), figsize=(11, 4.6), layout="constrained", squeeze=False)
    for ax, ylabel in zip(axes[0], ylabels):
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=11)
    return fig, list(axes[0])


def value_scale_figure(frame: pd.DataFrame, title: str = "") -> Figure:
    """Total quality and transfer against the value ``w``, one line per scale ``s`` (App. B.3).

    Parameters
    ----------
    frame : DataFrame
        Columns ``w``, ``s``, ``quality``, ``transfer`` and optionally ``quality_benchmark`` and
        ``transfer_benchmark`` (the observable-scale benchmark, eqs. 61-63, drawn dashed).
    title : str
        Figure title.

    Returns
    -------
    Figure
    """
    fig, axes = _panels(title, ("total quality $\\int_0^s g\\,di$", "transfer $t(w, s)$"), "value $w$")
    cmap = plt.get_cmap("viridis")
    scales = np.unique(frame["s"].to_numpy())
    groups = [frame[frame["s"] == s].sort_values("w") for s in scales]
    for ax, col in zip(axes, ("quality", "transfer")):
        for k, (s, rows) in enumerate(zip(scales, groups)):
            ax.plot(rows["w"], rows[col], "-", marker=MARKERS[k % len(MARKERS)], ms=3.5,
                    color=cmap(0.1 + 0.8 * k / max(len(scales) - 1, 1)), label=f"scale $s$ = {s:g}")
        for rows in groups if f"{col}_benchmark" in frame else ():
            ax.plot(rows["w"], rows[f"{col}_benchmark"], "--", color="k", lw=0.8,
                    label="observable-scale benchmark (eqs. 61-63)")
    legend_below(fig, ncols=len(scales) + 1)
    return fig


def contractible_figure(frame: pd.DataFrame, title: str = "") -> Figure:
    """Per-segment qualities and the transfer of each type (App. B.1-B.2), as markers over the type index.

    Types are discrete, so nothing is joined by lines; the segments' markers are spread side by side
    around each type's index (so equal qualities, e.g. ``q_3 = q_4``, stay visible).

    Parameters
    ----------
    frame : DataFrame
        Columns ``q_1 ... q_T``, ``transfer`` and ``prob``, one row per type.
    title : str
        Figure title.

    Returns
    -------
    Figure
    """
    fig, (ax_q, ax_t) = _panels(title, ("quality $q_k$ of task segment $k$", "transfer $t$"), "type")
    segs = [c for c in frame.columns if c.startswith("q_")]
    idx = np.arange(len(frame))
    offsets = (np.arange(len(segs)) - (len(segs) - 1) / 2) * (OFFSET_SPAN / max(len(segs), 1))
    for k, (col, dx) in enumerate(zip(segs, offsets)):
        ax_q.plot(idx + dx, frame[col].to_numpy(), ls="none", marker=MARKERS[k % len(MARKERS)], ms=6,
                  mfc="none" if k % 2 else None, color=f"C{k % 10}", label=f"segment {col[2:]} ($q_{{{col[2:]}}}$)")
    ax_t.plot(idx, frame["transfer"].to_numpy(), ls="none", marker="o", ms=6, color="k", label="transfer $t$")
    for ax in (ax_q, ax_t):
        ax.set_xlim(-0.5, len(frame) - 0.5)
        if len(frame) <= 6:  # room for each type's probability under its index
            ax.set_xticks(idx, [f"{i}\np = {p:.2g}" for i, p in zip(idx, frame["prob"])], fontsize=8)
        elif len(frame) <= 24:
            ax.set_xticks(idx)
        else:
            ax.xaxis.get_major_locator().set_params(integer=True)  # type: ignore[call-arg]
    legend_below(fig, ncols=min(len(segs) + 1, 6))
    return fig


def grouped_figure(frame: pd.DataFrame, group: str, title: str = "", ylabel: str = "quality") -> Figure:
    """Quality and transfer against ``theta``, the types coloured and marked by ``frame[group]``.

    Used for multi-model menus (the model each type buys, §5.2) and leader-fringe menus (the region). A thin
    grey line joins all types; types with no group (null, or a label in :data:`NO_GROUP`) are drawn as
    ``excluded``.

    Parameters
    ----------
    frame : DataFrame
        Columns ``theta``, ``quality``, ``transfer`` and ``group``.
    group : str
        The column whose values split the types.
    title : str
        Figure title.
    ylabel : str
        Label of the allocation panel.

    Returns
    -------
    Figure
    """
    fig, axes = _panels(title, (ylabel, "transfer $t(\\theta)$"), "aggregate type $\\theta$")
    labels = frame[group].astype(object).where(frame[group].notna(), "excluded").astype(str)
    labels = labels.where(~labels.str.strip("() ").str.lower().isin(NO_GROUP), "excluded")
    order = list(dict.fromkeys(labels))
    if "excluded" in order:  # the excluded types first, in grey; the groups in order of first appearance
        order.remove("excluded")
        order.insert(0, "excluded")
    for ax, col in zip(axes, ("quality", "transfer")):
        ax.plot(frame["theta"], frame[col], "-", color="0.8", lw=0.8, zorder=1)
        k = 0
        for name in order:
            sel = (labels == name).to_numpy()
            colour = EXCLUDED_COLOUR if name == "excluded" else f"C{k % 10}"
            marker = "." if name == "excluded" else MARKERS[k % len(MARKERS)]
            k += name != "excluded"
            ax.plot(frame["theta"][sel], frame[col][sel], ls="none", marker=marker, ms=4, color=colour,
                    label=f"{name} ({int(sel.sum())} type{'' if sel.sum() == 1 else 's'})")
    legend_below(fig, ncols=len(order))
    return fig


def by_type_figure(frame: pd.DataFrame, title: str = "") -> Figure:
    """Fallback: each allocation column (``quality``, ``q_*``) and the transfer against ``theta`` (else the
    type index), lines with markers.

    Parameters
    ----------
    frame : DataFrame
        Columns ``transfer``, allocation columns, optionally ``theta``.
    title : str
        Figure title.

    Returns
    -------
    Figure
    """
    x = frame["theta"].to_numpy() if "theta" in frame else np.arange(len(frame))
    fig, (ax1, ax2) = _panels(title, ("allocation", "transfer"), "aggregate type $\\theta$" if "theta" in frame
                              else "type")
    for c in [c for c in frame.columns if c == "quality" or c.startswith("q_")]:
        ax1.plot(x, frame[c].to_numpy(), ".-", ms=3, label=c)
    ax2.plot(x, frame["transfer"].to_numpy(), ".-", ms=3, color="k", label="transfer")
    legend_below(fig)
    return fig


def settings_figure(result: object) -> Figure:
    """The figure of a non-single-model, scalar-or-profile result, chosen from its table's columns.

    Parameters
    ----------
    result : object
        A result with ``to_frame()``, ``name`` and ``status`` (value-scale, contractible, multi-model,
        leader-fringe, ...).

    Returns
    -------
    Figure
    """
    frame = result.to_frame()  # type: ignore[attr-defined]
    title = f"{getattr(result, 'name', '')}: status {getattr(result, 'status', '')}"
    if {"w", "s"} <= set(frame.columns):
        return value_scale_figure(frame, title)
    if "theta" not in frame and any(c.startswith("q_") for c in frame.columns):
        return contractible_figure(frame, title)
    if "theta" in frame and "model" in frame:
        return grouped_figure(frame, "model", title + " (colour: the model each type buys)",
                              ylabel="aggregate quality $Q(\\theta)$")
    if "theta" in frame and "region" in frame:
        return grouped_figure(frame, "region", title + " (colour: region)",
                              ylabel="leader quantity $q_L(\\theta)$" if "q_leader" in frame else "quality")
    return by_type_figure(frame, title)
