"""Figures: numeric versus analytic quality and transfer schedules (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

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
