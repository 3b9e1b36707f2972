"""Figures: numeric versus analytic quality and transfer schedules (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mechdesign.analytic.leader_fringe import LeaderFringe
from mechdesign.app.plot2d import types_2d_figure
from mechdesign.app.plot_kinds import legend_below, save_figure, settings_figure
from mechdesign.registry import spec_of_result
from mechdesign.settings.multidim import MultiDimResult
from mechdesign.settings.results import MenuResult
from mechdesign.types import Distribution


def _short(text: object) -> str:
    """The part of a solver description before its first parenthesis (``"chain (pool ...)"`` -> ``"chain"``)."""
    return str(text).split(" (")[0]


def menu_figure(result: MenuResult) -> Figure:
    r"""Two panels: :math:`Q(\theta)` and :math:`t(\theta)`, numeric (dots) against the exact discrete
    menu (line) and Prop 3's continuous closed form (dashed), with the exclusion cutoff (dotted) and the
    pooled (ironed) blocks (shaded) marked; one legend below the panels.

    Parameters
    ----------
    result : MenuResult
        A single-model result.

    Returns
    -------
    Figure
    """
    theta = result.menu["theta"].to_numpy()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), layout="constrained")
    numeric = f"numeric ({_short(result.solver.get('name'))}, ic = {_short(result.solver.get('ic'))})"
    for ax, col, label in ((axes[0], "quality", "aggregate quality $Q(\\theta)$"),
                           (axes[1], "transfer", "transfer $t(\\theta)$")):
        if result.continuous is not None:
            grid = np.linspace(result.continuous.dist.lo, result.continuous.dist.hi, 600)
            vals = result.continuous.quality(grid) if col == "quality" else result.continuous.transfer(grid)
            ax.plot(grid, vals, "--", color="0.4", lw=1.2, label="continuous closed form (Prop 3)")
            ax.axvline(result.continuous.cutoff, color="0.5", lw=0.9, ls=":",
                       label=f"exclusion cutoff $\\hat\\theta$ = {result.continuous.cutoff:.3g} (Prop 3)")
        if result.analytic is not None:
            ax.plot(theta, getattr(result.analytic, col), "-", color="C0", lw=1.5, label="exact discrete menu")
            for i, j in result.analytic.pooled_blocks:
                ax.axvspan(theta[i], theta[j - 1], color="C1", alpha=0.12, label="pooled (ironed) types")
        step = max(1, len(theta) // 80)
        ax.plot(theta[::step], result.menu[col].to_numpy()[::step], "o", ms=3.5, color="C3", label=numeric)
        ax.set_xlabel("aggregate type $\\theta$")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    legend_below(fig, ncols=3)
    fig.suptitle(f"{result.problem_name}: optimal menu of token budgets (N = {len(theta)})", fontsize=11)
    return fig


def plot_menu(result: MenuResult, path: str | Path) -> None:
    """Write :func:`menu_figure` of ``result`` as a PNG at ``path``."""
    save_figure(menu_figure(result), path, dpi=130)


def plot_pricing(name: str, markups: pd.DataFrame, report: pd.DataFrame, path: str | Path) -> None:
    """Two panels: the two-part markup m and the minimum-spend markup r by type (Prop 4), and the
    profit share of the best K-item menu against K (with one two-part tariff and one linear price)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    ax = axes[0]
    ax.plot(markups["theta"], markups["m"], "-", color="C0", label="two-part markup $m = \\theta/C'(Q)$ (eq. 14)")
    ax.plot(markups["theta"], markups["r"], "--", color="C3", label="minimum-spend markup $r = t/C(Q)$")
    ax.set_xlabel("aggregate type $\\theta$")
    ax.set_ylabel("price / marginal cost")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax = axes[1]
    tiers = report[report["format"].str.startswith("best ")]
    ks = np.arange(1, len(tiers) + 1)
    ax.plot(ks, tiers["profit_share"], "o-", color="C0", label="best K-item menu")
    for label, style in (("one two-part tariff", ":"), ("one linear price", "--")):
        row = report[report["format"] == label]
        if len(row):
            ax.axhline(float(row["profit_share"].iloc[0]), ls=style, color="0.4", label=label)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xlabel("number of items K")
    ax.set_ylabel("profit share of the optimal menu")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.suptitle(f"{name}: markups and what simpler formats leave on the table", fontsize=11)
    fig.savefig(path, dpi=130)
    plt.close(fig)


def plot_leader_fringe(lf: LeaderFringe, dist: Distribution, path: str | Path, name: str = "") -> None:
    r"""Figure 1 of the paper: leader quantity (top) and fringe quantity (bottom) under the efficient
    allocation (solid), leader-fringe competition (dotted, Prop 7) and the integrated multi-model monopoly
    (dashed), with the cutoffs :math:`\hat\theta, \theta_1, \theta^m, \theta_2` marked (closed forms)."""
    grid = np.linspace(dist.lo, dist.hi, 1201)[1:]
    c = lf.cutoffs(dist)
    eff = lf.efficient(grid)
    comp = lf.competition(grid, dist)
    mono = lf.integrated_monopoly(grid, dist)
    fig, axes = plt.subplots(2, 1, figsize=(7, 7.5), sharex=True, constrained_layout=True)
    for k, (ax, label) in enumerate(zip(axes, ("leader quantity $q_L(\\theta)$", "fringe quantity $q_F(\\theta)$"))):
        ax.plot(grid, eff[k], "-", color="C0", lw=1.6, label="efficient")
        ax.plot(grid, comp[k], ":", color="C3", lw=2.2, label="leader-fringe competition (Prop 7)")
        ax.plot(grid, mono[k], "--", color="C2", lw=1.6, label="integrated multi-model monopoly")
        for key, tex in (("theta_hat", "\\hat\\theta"), ("theta_1", "\\theta_1"), ("theta_m", "\\theta^m"),
                         ("theta_2", "\\theta_2"), ("theta_3", "\\theta_3")):
            val = c.get(key)
            if val is not None and dist.lo < val < dist.hi:
                ax.axvline(val, color="0.6", lw=0.8, ls="-.")
                if k == 0:
                    ha = {"theta_m": "right", "theta_2": "left"}.get(key, "center")
                    ax.annotate(f" ${tex}$ " if ha == "center" else f"${tex}$", (val, 1.0),
                                xycoords=("data", "axes fraction"), ha=ha, va="bottom", fontsize=10)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_yscale("symlog", linthresh=1.0)
    axes[0].set_ylim(bottom=0.0)
    axes[1].set_xlabel("aggregate type $\\theta$")
    axes[1].legend(fontsize=8, loc="upper right")
    title = (f"{name + ': ' if name else ''}$\\sigma$ = {lf.sigma:g}, $\\hat\\sigma_L$ = {lf.sigma_hat_L:g}, "
             f"$c_F$ = {lf.c_F:g}, $c_L$ = {lf.c_L:g}")
    fig.suptitle(title, fontsize=10, y=1.03)
    fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)


def result_figure(result: object) -> Figure:
    """The figure of any setting's menu, as its spec says (:attr:`~mechdesign.settings.spec.SettingSpec.figure`,
    found in the registry by the result's class): :func:`menu_figure` (``"menu"``, a single model), the 2-D
    type-space panels and, for two goods, the product range (``"types_2d"``,
    :func:`~mechdesign.app.plot2d.types_2d_figure`, vector types), else
    :func:`~mechdesign.app.plot_kinds.settings_figure` (``"table"``: value scale, contractible, multi-model,
    leader-fringe, and results of no registered setting).

    Parameters
    ----------
    result : object
        A result of any setting.

    Returns
    -------
    Figure
    """
    spec = spec_of_result(result)
    figure = spec.figure if spec is not None else "table"
    if figure == "menu":
        assert isinstance(result, MenuResult)
        return menu_figure(result)
    if figure == "types_2d":  # vector types: allocation field, regions, binding IC graph
        assert isinstance(result, MultiDimResult)
        return types_2d_figure(result.types.points, result.quality, result.regions, result.ic_pairs,
                               result.ic_duals, title=f"{result.name}: status {result.status}", prob=result.prob)
    return settings_figure(result)


def plot_result(result: object, path: str | Path) -> None:
    """Write :func:`result_figure` of ``result`` as a PNG at ``path``."""
    save_figure(result_figure(result), path, dpi=130 if isinstance(result, MenuResult) else 110)
