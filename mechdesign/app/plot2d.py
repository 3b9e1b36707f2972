"""Figures over a two-dimensional type space: allocation field, exclusion/bunching/separation regions, binding IC graph.

For menus of multidimensional screening programs (e.g. the Rochet-Choné instance solved by
:func:`mechdesign.app.peers.pdhg_screening`). The first two coordinates of the types are plotted;
matplotlib with the Agg backend, no display needed.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from mechdesign.app.plot_kinds import legend_below, save_figure

FloatArray = np.ndarray

#: the region labels :func:`plot_types_2d` accepts, with their colours
REGIONS = {"exclusion": "0.6", "bunching": "C1", "separation": "C0"}


def plot_types_2d(values: FloatArray, allocation: FloatArray, regions: FloatArray, pairs: FloatArray,
                  duals: FloatArray, path: str | Path, *, title: str = "", dual_tol: float = 1e-9) -> None:
    """Write :func:`types_2d_figure` as a PNG at ``path`` (same arguments; ``path`` is the output file).

    Raises
    ------
    ValueError
        As :func:`types_2d_figure` (nothing is written).
    """
    save_figure(types_2d_figure(values, allocation, regions, pairs, duals, title=title, dual_tol=dual_tol), path,
                dpi=110)


def types_2d_figure(values: FloatArray, allocation: FloatArray, regions: FloatArray, pairs: FloatArray,
                    duals: FloatArray, *, title: str = "", dual_tol: float = 1e-9) -> Figure:
    """Three panels over the 2-D type space; the regions' legend sits below the panels, off the grid points.

    (a) the allocation field (arrows :math:`q_n` at :math:`v_n` when D = 2, otherwise colour by
    :math:`|q_n|`); (b) the regions (``"exclusion"``, ``"bunching"``, ``"separation"``); (c) the binding
    IC graph: a thin segment :math:`v_n \\to v_m` for each pair ``(n, m)`` with dual above ``dual_tol``.

    Parameters
    ----------
    values : ndarray, shape (N, D), D >= 2
        Types (the first two coordinates are plotted).
    allocation : ndarray, shape (N, D)
        Allocations.
    regions : array of str, shape (N,)
        One of ``"exclusion"``, ``"bunching"``, ``"separation"`` per type.
    pairs : ndarray, shape (P, 2)
        IC pairs ``(n, m)``.
    duals : ndarray, shape (P,)
        Their multipliers.
    title : str
        Figure title.
    dual_tol : float
        Pairs with a dual above this are drawn as binding.

    Returns
    -------
    Figure

    Raises
    ------
    ValueError
        On shape mismatches, fewer than two type coordinates, or an unknown region label (named).
    """
    v = np.asarray(values, dtype=float)
    q = np.asarray(allocation, dtype=float)
    if v.ndim != 2 or v.shape[1] < 2:
        raise ValueError(f"values must be (N, D) with D >= 2, got shape {v.shape}")
    N = v.shape[0]
    q = q.reshape(N, -1)
    reg = np.asarray(regions).astype(str).reshape(-1)
    if reg.size != N:
        raise ValueError(f"regions has {reg.size} labels for {N} types")
    unknown = sorted(set(reg.tolist()) - set(REGIONS))
    if unknown:
        raise ValueError(f"unknown region label(s) {unknown}; expected one of {sorted(REGIONS)}")
    pr = np.asarray(pairs, dtype=int).reshape(-1, 2)
    lam = np.asarray(duals, dtype=float).reshape(-1)
    if lam.size != pr.shape[0]:
        raise ValueError(f"{lam.size} duals for {pr.shape[0]} pairs")

    fig, axes = plt.subplots(1, 3, figsize=(15, 5.2), layout="constrained")
    ax = axes[0]
    if q.shape[1] == 2:
        norm = np.linalg.norm(q, axis=1)
        quiv = ax.quiver(v[:, 0], v[:, 1], q[:, 0], q[:, 1], norm, angles="xy", cmap="viridis")
        fig.colorbar(quiv, ax=ax, label="$|q_n|$")
    else:
        sc = ax.scatter(v[:, 0], v[:, 1], c=np.linalg.norm(q, axis=1), s=14, cmap="viridis")
        fig.colorbar(sc, ax=ax, label="$|q_n|$")
    ax.set_title("(a) allocation field")

    ax = axes[1]
    for name, colour in REGIONS.items():
        sel = reg == name
        ax.scatter(v[sel, 0], v[sel, 1], s=14, color=colour, label=f"{name} ({int(sel.sum())})")
    ax.set_title("(b) regions")

    ax = axes[2]
    binding = pr[lam > dual_tol]
    segments = np.stack([v[binding[:, 0], :2], v[binding[:, 1], :2]], axis=1) if binding.size else np.zeros((0, 2, 2))
    ax.add_collection(LineCollection(list(segments), linewidths=0.4, colors="C3", alpha=0.7))
    ax.scatter(v[:, 0], v[:, 1], s=4, color="0.3")
    ax.set_title(f"(c) binding IC graph ({binding.shape[0]} pairs, dual > {dual_tol:g})")

    for ax in axes:
        ax.set_xlabel("$v_1$")
        ax.set_ylabel("$v_2$")
        ax.set_aspect("equal", adjustable="datalim")
        ax.grid(alpha=0.3)
    legend_below(fig, ncols=3)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig
