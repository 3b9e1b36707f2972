"""Figures of a calibration: menu, implied types, markups and identified sets (PNG, matplotlib).

matplotlib is imported inside the plot functions only (Agg backend).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ...exceptions import ProblemSpecError
from ..monopoly import discrete_menu
from .consistency import _checked, _margin
from .core import CalibrationResult
from .identified import SCAN_HI, SCAN_LO, AllowanceSet, IdentifiedSet, identified_set


def _plt():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _ax_menu(ax, res: CalibrationResult) -> None:  # type: ignore[no-untyped-def]
    ax.loglog(res.allowances, res.fees, "o-", color="C0", label="posted")
    if res.nearest is not None:
        ax.loglog(res.allowances, res.nearest.fees, "s--", color="C1", label="nearest consistent")
    elif res.consistent:
        tech, types = res.primitives()
        dm = discrete_menu(tech, types)
        ax.loglog(
            tech.cost(dm.quality) / res.cost_scale,
            dm.transfer,
            "x",
            ms=10,
            color="C3",
            label="calibrated optimum (Prop 3)",
        )
    for n, a, t in zip(res.names, res.allowances, res.fees, strict=True):
        ax.annotate(n, (a, max(t, 1e-9)), textcoords="offset points", xytext=(4, -10), fontsize=8)
    ax.set_xlabel(f"allowance ({res.menu.unit})")
    ax.set_ylabel("monthly fee (USD)")
    ax.set_title(f"{res.menu.name}: menu")
    ax.legend(fontsize=8)


def _ax_types(ax, res: CalibrationResult) -> None:  # type: ignore[no-untyped-def]
    ok = np.isfinite(res.masses)
    ax.bar(np.arange(res.menu.K)[ok], np.where(ok, res.masses, 0)[ok], color="C2")
    ax.set_xticks(
        np.arange(res.menu.K),
        [f"{n}\nθ={t:.3g}" for n, t in zip(res.names, res.theta, strict=True)],
        fontsize=7,
    )
    ax.axhline(0, color="k", lw=0.6)
    ax.set_ylabel("implied mass f_k")
    ax.set_title("implied type distribution (C2, C6)")


def _ax_markups(ax, res: CalibrationResult) -> None:  # type: ignore[no-untyped-def]
    x = np.arange(res.menu.K)
    ax.plot(x, res.m, "o-", label="m = θ/C'(Q) (eq. 14)")
    ax.plot(x, res.r, "s-", label="r = T/C(Q) (min spend)")
    ax.axhline(1, color="k", lw=0.6, ls=":")
    ax.set_xticks(x, res.names, fontsize=8)
    ax.set_ylabel("markup")
    ax.set_title("markups by tier")
    ax.legend(fontsize=8)


def _ax_ident(ax, iset: IdentifiedSet) -> None:  # type: ignore[no-untyped-def]
    ax.plot(iset.grid_sigma_total, iset.margin, color="C0")
    ax.axhline(0, color="k", lw=0.6)
    for lo, hi in iset.intervals_sigma_total:
        ax.axvspan(lo, hi, color="C2", alpha=0.25)
    ax.set_xlabel("σ + σ̂ = 1/b")
    ax.set_ylabel("smallest relative slack of (C7)")
    ax.set_yscale("symlog", linthresh=1e-2)
    ax.set_title("identified set (shaded)")


def _save(fig, path: str | Path) -> None:  # type: ignore[no-untyped-def]
    fig.savefig(path, dpi=120)
    _plt().close(fig)


def _one_panel(draw: Callable[[Any, Any], None], obj: Any, path: str | Path) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4.5), constrained_layout=True)
    draw(ax, obj)
    _save(fig, path)


def plot_menu(res: CalibrationResult, path: str | Path) -> None:
    """Posted menu against the calibrated optimum (or the nearest consistent menu), log axes."""
    _one_panel(_ax_menu, res, path)


def plot_types(res: CalibrationResult, path: str | Path) -> None:
    """Implied type distribution: mass of each tier's type."""
    _one_panel(_ax_types, res, path)


def plot_markups(res: CalibrationResult, path: str | Path) -> None:
    """Markups m_k and r_k by tier."""
    _one_panel(_ax_markups, res, path)


def plot_identified_set(iset: IdentifiedSet, path: str | Path) -> None:
    """Smallest slack of (C7) against sigma + sigma_hat, the identified set shaded."""
    _one_panel(_ax_ident, iset, path)


def plot_report(res: CalibrationResult, path: str | Path | Any) -> None:
    """All four panels in one PNG: menu, types, markups, identified set."""
    plt = _plt()
    fig, axes = plt.subplots(2, 2, figsize=(12, 9), constrained_layout=True)
    _ax_menu(axes[0, 0], res)
    _ax_types(axes[0, 1], res)
    _ax_markups(axes[1, 0], res)
    _ax_ident(axes[1, 1], res.identified if res.identified is not None else identified_set(res.menu))
    _save(fig, path)


def plot_allowance_set(aset: AllowanceSet, path: str | Path | Any, n_sigma: int = 120) -> None:
    """The feasible region in (M, sigma + sigma_hat): where the menu passes (C7), shaded; the fixed-b line."""
    plt = _plt()
    Ms = np.geomspace(aset.lo, aset.hi, 160)
    ss = np.linspace(SCAN_LO, SCAN_HI, int(n_sigma))
    ok = np.zeros((ss.size, Ms.size), dtype=bool)
    for j, M in enumerate(Ms):
        try:
            T, A, _ = _checked(aset.menu.with_allowances({aset.tier: float(M)}))
        except ProblemSpecError:
            continue
        ok[:, j] = [_margin(T, A, 1.0 / s) > 0 for s in ss]
    fig, ax = plt.subplots(figsize=(6.5, 4.5), constrained_layout=True)
    ax.contourf(Ms, ss, ok.astype(float), levels=[0.5, 1.5], colors=["C2"], alpha=0.35)
    ax.axhline(1.0 / aset.cost_exponent, color="C1", ls="--", lw=1, label=f"b = {aset.cost_exponent:.3g}")
    for a, z in aset.intervals_at_b:
        ax.plot([a, z], [1.0 / aset.cost_exponent] * 2, color="C1", lw=3)
    for a, _ in aset.intervals:
        ax.axvline(a, color="C0", lw=0.8, ls=":", label=f"lower end M = {a:.4g}")
    ax.set_xscale("log")
    ax.set_xlabel(f"allowance of {aset.tier} ({aset.menu.unit})")
    ax.set_ylabel("σ + σ̂ = 1/b")
    ax.set_title(f"{aset.menu.name}\n(M, σ+σ̂) where the posted menu can be optimal (shaded)", fontsize=10)
    ax.legend(fontsize=8)
    _save(fig, path)


def plot_out_of_sample(cmp: Any, path: str | Path | Any) -> None:
    """Two panels of an out-of-sample test (:func:`~mechdesign.analytic.calibration.history.out_of_sample`).

    Left: fee against allowance in the earlier page's unit (log-log): the earlier page, the later page
    and the optimal menu the earlier primitives predict for the later tier count. Right: what must have
    changed, the ratio later/earlier of each primitive at the earlier cost exponent (log scale).
    """
    plt = _plt()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 4.6))
    old = cmp.old
    ax.loglog(old.allowances, old.fees, "o-", color="C0", label=f"earlier ({old.menu.effective_date})")
    for a, f, n in zip(old.allowances, old.fees, old.names, strict=True):
        ax.annotate(n, (a, f), textcoords="offset points", xytext=(4, -10), fontsize=7, color="C0")
    tab = cmp.tiers
    known = tab[np.isfinite(tab["allowance_old"].to_numpy(dtype=float))]
    if not known.empty:
        ax.loglog(
            known["allowance_old"], known["fee"], "s-", color="C1", label=f"later ({cmp.new.effective_date})"
        )
        for _, r in known.iterrows():
            ax.annotate(
                r["tier"],
                (r["allowance_old"], r["fee"]),
                textcoords="offset points",
                xytext=(4, 4),
                fontsize=7,
                color="C1",
            )
    pt = cmp.predicted_table
    if not pt.empty:
        ok = pt["allowance_old"].to_numpy(dtype=float) > 0
        ax.loglog(
            pt["allowance_old"][ok],
            pt["fee"][ok],
            "x--",
            color="C2",
            ms=9,
            label=f"predicted optimal {cmp.new.K}-tier menu",
        )
    ax.set_xlabel(f"allowance ({old.menu.unit}, earlier unit)")
    ax.set_ylabel("fee (USD / month)")
    ax.set_title(f"{old.menu.provider or old.menu.name}: earlier, later, predicted")
    ax.legend(fontsize=7)
    prim = cmp.primitives
    if not prim.empty:
        pr = prim[np.isfinite(prim["ratio"].to_numpy(dtype=float))]
        y = np.arange(len(pr))
        colors = ["C3" if c else "C7" for c in pr["changed"]]
        bx.barh(y, pr["ratio"], color=colors)
        bx.axvline(1.0, color="k", lw=0.8)
        bx.set_xscale("log")
        bx.set_yticks(y, [str(q).replace(" at the earlier b", "") for q in pr["quantity"]], fontsize=7)
        bx.set_xlabel("later / earlier (at the earlier b)")
        bx.set_title("what must have changed (red)")
    else:  # pragma: no cover - later page without two known allowances
        bx.text(0.5, 0.5, "later page not calibrated", ha="center")
    fig.tight_layout()
    _save(fig, path)
