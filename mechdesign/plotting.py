"""Figures: numeric versus analytic quality and transfer schedules (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .results import MenuResult


def plot_menu(result: MenuResult, path: str | Path) -> None:
    r"""Two panels: :math:`Q(\theta)` and :math:`t(\theta)`, numeric (dots) against the exact discrete
    menu (line) and Prop 3's continuous closed form (dashed), with the exclusion cutoff and pooled
    blocks marked."""
    theta = result.menu["theta"].to_numpy()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    for ax, col, label in ((axes[0], "quality", "aggregate quality $Q(\\theta)$"),
                           (axes[1], "transfer", "transfer $t(\\theta)$")):
        if result.continuous is not None:
            grid = np.linspace(result.continuous.dist.lo, result.continuous.dist.hi, 600)
            vals = result.continuous.quality(grid) if col == "quality" else result.continuous.transfer(grid)
            ax.plot(grid, vals, "--", color="0.4", lw=1.2, label="continuous closed form (Prop 3)")
            ax.axvline(result.continuous.cutoff, color="0.7", lw=0.8, ls=":")
        if result.analytic is not None:
            ax.plot(theta, getattr(result.analytic, col), "-", color="C0", lw=1.5, label="exact discrete menu")
            for i, j in result.analytic.pooled_blocks:
                ax.axvspan(theta[i], theta[j - 1], color="C1", alpha=0.12)
        step = max(1, len(theta) // 80)
        ax.plot(theta[::step], result.menu[col].to_numpy()[::step], "o", ms=3.5, color="C3",
                label=f"numeric ({result.solver.get('name')}, ic={result.solver.get('ic')})")
        ax.set_xlabel("aggregate type $\\theta$")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="upper left")
    fig.suptitle(f"{result.problem_name}: optimal menu of token budgets (N = {len(theta)})", fontsize=11)
    fig.savefig(path, dpi=130)
    plt.close(fig)


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
