"""Figures over a two-dimensional type space: allocation field, exclusion/bunching/separation regions, binding IC graph,
and the product range (the menu drawn in allocation space).

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
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from mechdesign.app.plot_kinds import legend_below, save_figure

FloatArray = np.ndarray

#: the region labels :func:`plot_types_2d` accepts, with their colours
REGIONS = {"exclusion": "0.6", "bunching": "C1", "separation": "C0"}
#: two allocations are one item of the product range when they differ by at most this share of the largest
#: allocation (as the results' regions compare items)
ITEM_RTOL = 1e-6
#: marker area (points^2) of the product range's largest and smallest item
ITEM_AREA = (12.0, 400.0)


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
                    duals: FloatArray, *, title: str = "", dual_tol: float = 1e-9,
                    prob: FloatArray | None = None) -> Figure:
    """Three panels over the 2-D type space, and the product range beside them; the regions' legend sits
    below the panels, off the grid points.

    (a) the allocation field (arrows :math:`q_n` at :math:`v_n` when D = 2, otherwise colour by
    :math:`|q_n|`); (b) the regions (``"exclusion"``, ``"bunching"``, ``"separation"``); (c) the binding
    IC graph: a thin segment :math:`v_n \\to v_m` for each pair ``(n, m)`` with dual above ``dual_tol``;
    (d) with ``prob`` and D = 2, the product range (:func:`draw_product_range`: each distinct item at its
    allocation, sized by the mass of the types that choose it, coloured by their region).

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
    prob : ndarray, shape (N,), optional
        The types' probabilities: with two-dimensional allocations, panel (d), the product range.

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

    f = None if prob is None else np.asarray(prob, dtype=float).reshape(-1)
    if f is not None and f.size != N:
        raise ValueError(f"prob has {f.size} entries for {N} types")
    product_range = f is not None and q.shape[1] == 2
    fig, axes = plt.subplots(1, 4 if product_range else 3, figsize=(20 if product_range else 15, 5.2),
                             layout="constrained")
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

    for ax in axes[:3]:
        ax.set_xlabel("$v_1$")
        ax.set_ylabel("$v_2$")
        ax.set_aspect("equal", adjustable="datalim")
        ax.grid(alpha=0.3)
    if product_range:
        assert f is not None
        draw_product_range(axes[3], q, f, reg, legend=False)
    legend_below(fig, ncols=3)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def product_items(allocation: FloatArray, rtol: float = ITEM_RTOL) -> FloatArray:
    """The item of each type: types whose allocations differ by at most ``rtol`` of the largest allocation
    (max norm, chained) share an item; returns one integer label per type, ``0 .. items - 1``.

    Parameters
    ----------
    allocation : ndarray, shape (N, D)
        Allocations.
    rtol : float
        Relative tolerance.

    Returns
    -------
    ndarray of int, shape (N,)
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    q = np.asarray(allocation, dtype=float)
    q = q.reshape(q.shape[0], -1)
    scale = max(float(np.abs(q).max(initial=0.0)), 1e-300)
    pairs = cKDTree(q / scale).query_pairs(rtol, p=np.inf, output_type="ndarray").reshape(-1, 2)
    N = q.shape[0]
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(N, N))
    return connected_components(graph, directed=False)[1]  # type: ignore[no-any-return]


def draw_product_range(ax: Axes, allocation: FloatArray, prob: FloatArray, regions: FloatArray,
                       legend: bool = True) -> int:
    """The product range on ``ax``: the menu in allocation space (Rochet and Choné 1998's picture of the
    goods sold; with a linear cost on the unit box, the bundles and lotteries of Manelli and Vincent 2006).

    Each distinct item (:func:`product_items`) is a point at its allocation :math:`(q_1, q_2)`, its marker's
    area proportional to the mass of the types that choose it, its colour their region (the null item:
    ``exclusion``; an item shared by several types: ``bunching``; one's own: ``separation``).

    Parameters
    ----------
    ax : Axes
        Where to draw.
    allocation : ndarray, shape (N, 2)
        Allocations.
    prob : ndarray, shape (N,)
        Probabilities of the types.
    regions : array of str, shape (N,)
        Region of each type (as :func:`types_2d_figure`).
    legend : bool
        Label the points for a legend (the figure's own legend otherwise has them).

    Returns
    -------
    int
        The number of distinct items drawn.

    Raises
    ------
    ValueError
        Unless the allocations are two-dimensional, with one probability and one region per type.
    """
    q = np.asarray(allocation, dtype=float)
    f = np.asarray(prob, dtype=float).reshape(-1)
    reg = np.asarray(regions).astype(str).reshape(-1)
    if q.ndim != 2 or q.shape[1] != 2:
        raise ValueError(f"the product range needs allocations of shape (N, 2), got {q.shape}")
    if f.size != q.shape[0] or reg.size != q.shape[0]:
        raise ValueError(f"{f.size} probabilities and {reg.size} regions for {q.shape[0]} types")
    label = product_items(q)
    K = int(label.max(initial=-1)) + 1
    mass = np.bincount(label, weights=f, minlength=K)
    first = np.full(K, -1)
    first[label[::-1]] = np.arange(q.shape[0])[::-1]  # each item's first type
    where = np.array([q[label == i].mean(axis=0) for i in range(K)]).reshape(K, 2)
    kind = reg[first]
    lo, hi = ITEM_AREA
    area = lo + (hi - lo) * mass / max(float(mass.max(initial=0.0)), 1e-300)
    for name, colour in REGIONS.items():
        sel = kind == name
        if sel.any():
            ax.scatter(where[sel, 0], where[sel, 1], s=area[sel], color=colour, alpha=0.75, edgecolors="k",
                       linewidths=0.4, label=f"{name} ({int(sel.sum())} item{'' if sel.sum() == 1 else 's'})"
                       if legend else None)
    ax.set_xlabel("$q_1$")
    ax.set_ylabel("$q_2$")
    ax.set_aspect("equal", adjustable="datalim")
    ax.grid(alpha=0.3)
    ax.set_title(f"(d) product range ({K} item{'' if K == 1 else 's'}; area: mass)")
    return K
