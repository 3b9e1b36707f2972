"""IC pair sets and the sparse IC rows of the screening program (engine).

Pair sets: every ordered pair, each type against the next one down (scalar types), adjacent types, each
type's nearest neighbours (vector types); the IC rows in transfer or rent variables; and the chunked
search for each type's best item (memory O(N x chunk)).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

FloatArray = np.ndarray

#: entries (types x items) of one chunk of the dense payoff matrices built to pick IC pairs (as in
#: :mod:`mechdesign.engine.audit`): memory stays O(N x chunk) however many types violate
PAIR_CHUNK_ENTRIES = 4_000_000
#: nearest neighbours per type in the adaptive strategy's first pair set when types are vectors (D > 1)
KNN_PAIRS = 8

def adjacent_pairs(n: int) -> FloatArray:
    """Pairs (k, k+1) and (k+1, k) for k = 0..n-2."""
    k = np.arange(n - 1)
    return np.concatenate([np.column_stack([k + 1, k]), np.column_stack([k, k + 1])])


def downward_pairs(n: int) -> FloatArray:
    """Pairs (k+1, k) for k = 0..n-2: each type's IC against the next type down."""
    k = np.arange(n - 1)
    return np.column_stack([k + 1, k])


def all_pairs(n: int) -> FloatArray:
    """Every ordered pair (i, j), i != j."""
    i, j = np.nonzero(~np.eye(n, dtype=bool))
    return np.column_stack([i, j])


def ic_matrix(values: FloatArray, pairs: FloatArray) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    r"""Sparse rows :math:`v_n\cdot(a_m - a_n) - (t_m - t_n) \le 0` as ``(A_alloc, A_transfer)``.

    ``values`` is ``(N, D)``; the allocation is flattened row-major (index ``n*D + d``).
    """
    N, D = values.shape
    P = len(pairs)
    n, m = pairs[:, 0], pairs[:, 1]
    rows = np.repeat(np.arange(P), 2 * D)
    cols = np.column_stack([m[:, None] * D + np.arange(D), n[:, None] * D + np.arange(D)]).reshape(-1)
    data = np.column_stack([values[n], -values[n]]).reshape(-1)
    A_a = sp.csr_matrix((data, (rows, cols)), shape=(P, N * D))
    rows_t = np.repeat(np.arange(P), 2)
    cols_t = np.column_stack([m, n]).reshape(-1)
    data_t = np.tile([-1.0, 1.0], P)
    A_t = sp.csr_matrix((data_t, (rows_t, cols_t)), shape=(P, N))
    return A_a, A_t


def rent_ic_matrix(values: FloatArray, pairs: FloatArray) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    r"""Sparse IC rows in rent variables :math:`u_n = v_n\cdot a_n - t_n` as ``(A_alloc, A_rent)``.

    Row :math:`(n, m)`: :math:`(v_n - v_m)\cdot a_m - u_n + u_m \le 0` (type :math:`n`'s rent is at least
    what it gets from item :math:`m`, :math:`u_m + (v_n - v_m)\cdot a_m`). The same inequality as
    :func:`ic_matrix`'s row, with :math:`D + 2` nonzeros instead of :math:`2D + 2`: the KKT factor of
    the interior-point method is much sparser when types are vectors (issue 14's measurements:
    1.2M -> 0.53M nonzeros at N = 400, T = 10).
    """
    N, D = values.shape
    P = len(pairs)
    n, m = pairs[:, 0], pairs[:, 1]
    rows = np.repeat(np.arange(P), D)
    cols = (m[:, None] * D + np.arange(D)).reshape(-1)
    data = (values[n] - values[m]).reshape(-1)
    A_a = sp.csr_matrix((data, (rows, cols)), shape=(P, N * D))
    A_a.eliminate_zeros()
    rows_u = np.repeat(np.arange(P), 2)
    cols_u = np.column_stack([n, m]).reshape(-1)
    data_u = np.tile([-1.0, 1.0], P)
    A_u = sp.csr_matrix((data_u, (rows_u, cols_u)), shape=(P, N))
    return A_a, A_u


def knn_pairs(values: FloatArray, k: int = KNN_PAIRS) -> FloatArray:
    """Each type paired (both directions) with its ``k`` nearest neighbours in type space (Euclidean).

    Binding IC constraints of multidimensional screening join nearby types, so these pairs are the
    adaptive strategy's first candidate set when types are vectors (ties broken by index, so the set
    is deterministic)."""
    from scipy.spatial import cKDTree

    N = values.shape[0]
    k = min(int(k), N - 1)
    if k <= 0:
        return np.zeros((0, 2), dtype=int)
    _, idx = cKDTree(values).query(values, k=k + 1)
    idx = np.asarray(idx).reshape(N, k + 1)
    n = np.repeat(np.arange(N), k + 1)
    m = idx.reshape(-1)
    keep = n != m
    pairs = np.column_stack([n[keep], m[keep]])
    pairs = np.concatenate([pairs, pairs[:, ::-1]])
    return np.unique(pairs, axis=0)


def _chunk_rows(n_cols: int, chunk_entries: int | None = None) -> int:
    """Rows of a chunk of a dense ``rows x n_cols`` matrix with at most ``chunk_entries`` entries (at least one row)."""
    entries = PAIR_CHUNK_ENTRIES if chunk_entries is None else int(chunk_entries)
    return max(1, entries // max(n_cols, 1))


def _best_items(v: FloatArray, a: FloatArray, t: FloatArray, rows: FloatArray,
                chunk_entries: int | None = None) -> FloatArray:
    """For each type in ``rows``, the item it likes best (first on ties), computed in row chunks."""
    rows = np.asarray(rows, dtype=int)
    out = np.empty(rows.size, dtype=int)
    step = _chunk_rows(a.shape[0], chunk_entries)
    for s in range(0, rows.size, step):
        out[s:s + step] = np.argmax(v[rows[s:s + step]] @ a.T - t[None, :], axis=1)
    return out


def top_pairs(values: FloatArray, alloc: FloatArray, transfer: FloatArray, types: FloatArray, per_type: int,
              min_gain: float, seen: set[tuple[int, int]], chunk_entries: int | None = None,
              nearest: bool = False) -> FloatArray:
    """For each of ``types``, the ``per_type`` items it gains most from taking instead of its own,
    kept when that gain exceeds ``min_gain`` and the pair is not in ``seen`` (which is updated).

    ``nearest``: among the items that gain more than ``min_gain``, the ``per_type`` whose types are
    nearest in type space instead (vector types: an IC row between far-apart types fills in the
    interior point's KKT factor. Measured on the Rochet–Choné 70 x 70 grid: the second round's 2,000
    most-violated pairs, a median 8 cells apart, made it 12x slower than the first round, and the
    solve took 4 rounds, 81 s; with the nearest tempting items, a median 4 cells apart, 3 rounds, 38 s.
    The audit adds whatever is still missing).

    The gains are computed for chunks of ``types`` (at most ``chunk_entries`` entries each, default
    :data:`PAIR_CHUNK_ENTRIES`), so memory stays O(N x chunk); each row's result does not depend
    on the chunking."""
    k = min(per_type, values.shape[0] - 1)
    types = np.asarray(types, dtype=int)
    if types.size == 0 or k <= 0:
        return np.zeros((0, 2), dtype=int)
    v, a, t = values, alloc, transfer
    out = []
    step = _chunk_rows(values.shape[0], chunk_entries)
    for s in range(0, types.size, step):
        chunk = types[s:s + step]
        own = np.sum(v[chunk] * a[chunk], axis=1) - t[chunk]
        gain = v[chunk] @ a.T - t[None, :] - own[:, None]
        gain[np.arange(chunk.size), chunk] = -np.inf
        if nearest:  # rank the gaining items by distance (squared), the others last
            dist = (np.sum(v[chunk] ** 2, axis=1)[:, None] - 2.0 * v[chunk] @ v.T
                    + np.sum(v**2, axis=1)[None, :])
            score = np.where(gain > min_gain, -dist, -np.inf)
            top = np.argpartition(-score, k - 1, axis=1)[:, :k]
        else:
            top = np.argpartition(-gain, k - 1, axis=1)[:, :k]
        for row, n in enumerate(chunk):
            for m in top[row]:
                if gain[row, m] > min_gain and (int(n), int(m)) not in seen:
                    seen.add((int(n), int(m)))
                    out.append((int(n), int(m)))
    return np.array(out, dtype=int).reshape(-1, 2)
