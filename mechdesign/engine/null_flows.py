r"""Multipliers for the types at the null item: the part of the KKT conditions an active-set finish leaves out.

At an optimum of the screening program (see :mod:`mechdesign.engine.certificate`) every type's *virtual
value* :math:`s_n = (f_n + \text{in}_n)\,v_n - \sum_m \lambda_{mn} v_m` (with the IR multiplier
:math:`\nu_n = f_n - \text{out}_n + \text{in}_n \ge 0` absorbing the balance) satisfies stationarity:
:math:`s_n = f_n \nabla c(a_n)` on the components it is served, and :math:`s_n \le f_n\nabla c(0)` on those at
zero. A type at the null item gets nothing, so its condition is the inequality alone: it needs inflow
:math:`\lambda_{mn}` from types that value more (in one dimension, the chain of downward IC rows through the
excluded types, whose multipliers are the mass above). The Newton finish (:mod:`mechdesign.engine.refine`)
solves the served types' equalities exactly and leaves these rows out: they are tight at any menu (two
types at the null item, or a zero-rent type and the null item) and carry no equality, so they make its KKT
system singular. :func:`null_type_flows` supplies them afterwards by a small linear program: flows into the
null types from other null types and from served types whose IR binds (moving part of a served type's IR
multiplier onto a row towards the null item leaves its own virtual value unchanged), so that every null type's
virtual value is below its marginal cost at zero. The served types' multipliers are kept as given.

Like the rest of the engine it knows nothing about LLMs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

FloatArray = np.ndarray

#: candidate source types per null type (nearest first, among the types that value at least as much in
#: total): in one dimension the next type up suffices; the cap keeps the program linear in the types
NULL_SOURCES_MAX = 48
#: the first LP offers each null type this many sources; the wider one (NULL_SOURCES_MAX) runs only when it
#: leaves a null type uncertified
NULL_SOURCES_FIRST = 4
#: HiGHS's feasibility tolerances for the flows' LP (scaled units: the largest f_n v_nd is 1)
LP_TOL = 1e-10
#: a null type whose excess stays above this share of the largest f_n v_nd is reported as a violator
VIOLATOR_RTOL = 1e-9


@dataclass(frozen=True)
class NullFlows:
    """Rows into the null types, their multipliers and how well they certify those types.

    ``residual`` is the largest positive part of :math:`s_{nd} - f_n\\partial_d c(0)` over the null types
    after the flows, relative to the largest :math:`f_n v_{nd}` (0 when every null type is certified).
    """

    pairs: FloatArray
    lam: FloatArray
    residual: float
    #: the null types left with a positive excess above ``VIOLATOR_RTOL`` (they should be served)
    violators: FloatArray = field(default_factory=lambda: np.zeros(0, dtype=int))
    #: the linear programs' size, counted (nonzeros times the smaller dimension) for the caller's work budget
    work: float = 0.0


def null_type_flows(values: FloatArray, prob: FloatArray, null: FloatArray, zero_rent: FloatArray,
                    pairs: FloatArray, lam: FloatArray, nu: FloatArray, grad0: FloatArray | None = None,
                    max_sources: int = NULL_SOURCES_MAX) -> NullFlows:
    r"""Flows into the null types that make their virtual values non-positive (an LP, HiGHS).

    Parameters
    ----------
    values : (N, D)
        Types.
    prob : (N,)
        Probabilities.
    null, zero_rent : (N,) bool
        Types at the null item; served types whose IR binds (the sources beside the null types).
    pairs, lam : (P, 2) int, (P,)
        The multipliers at hand (balanced: ``nu`` >= 0 is each type's IR multiplier).
    nu : (N,)
        IR multipliers of ``lam``'s flow balance.
    grad0 : (N, D), optional
        Marginal cost at zero (0 when omitted: the costs of this package are flat at the null item).

    Returns
    -------
    NullFlows
        The new rows (sources to null types) and multipliers; the caller appends them to ``pairs``.
    """
    v = np.asarray(values, dtype=float)
    v = v[:, None] if v.ndim == 1 else v
    N, D = v.shape
    f = np.asarray(prob, dtype=float)
    null = np.asarray(null, dtype=bool)
    nulls = np.flatnonzero(null)
    if nulls.size == 0:
        return NullFlows(np.zeros((0, 2), dtype=int), np.zeros(0), 0.0)
    pairs = np.asarray(pairs, dtype=int).reshape(-1, 2)
    lam = np.asarray(lam, dtype=float).reshape(-1)
    g0 = np.zeros((N, D)) if grad0 is None else np.asarray(grad0, dtype=float).reshape(N, D)
    # in units of the largest probability and the largest value: HiGHS's tolerances are absolute, and f_n v_n is
    # 1e-9 with 10,000 types (measured: a 1-D chain flagged its lowest type as a violator at residual 5e-5)
    fs = max(float(f.max(initial=0.0)), 1e-300)
    vs = max(float(np.max(np.abs(v), initial=0.0)), 1e-300)
    f, lam, nu, v, g0 = f / fs, lam / fs, np.asarray(nu, dtype=float) / fs, v / vs, g0 / vs
    inn = np.bincount(pairs[:, 1], weights=lam, minlength=N)
    # each null type's virtual value under the flows at hand, minus its marginal cost at zero
    s0 = (f + inn)[:, None] * v
    np.subtract.at(s0, pairs[:, 1], lam[:, None] * v[pairs[:, 0]])
    excess0 = s0[nulls] - f[nulls, None] * g0[nulls]
    ref = max(float(np.max(f[:, None] * np.abs(v))), 1e-300)
    if float(np.max(excess0, initial=0.0)) <= 0.0:
        return NullFlows(np.zeros((0, 2), dtype=int), np.zeros(0), 0.0)
    sources = np.flatnonzero(null | (np.asarray(zero_rent, dtype=bool) & (nu > 0)))
    out = _unrouted(excess0, nulls, ref)
    for k in sorted({min(NULL_SOURCES_FIRST, max_sources), max_sources}):  # the nearest few, then more if needed
        trial = _route(v, f, nu, nulls, sources, excess0, ref, k)
        if trial.residual < out.residual or (trial.residual == out.residual and len(trial.pairs) < len(out.pairs)):
            out = trial
        if out.residual <= VIOLATOR_RTOL:
            break
    return NullFlows(out.pairs, out.lam * fs, out.residual, out.violators, out.work)


def _route(v: FloatArray, f: FloatArray, nu: FloatArray, nulls: FloatArray, sources: FloatArray,
           excess0: FloatArray, ref: float, max_sources: int) -> NullFlows:
    """The LP over the rows from each null type's ``max_sources`` nearest sources (scaled units)."""
    from scipy.optimize import linprog

    N, D = v.shape
    cand = _candidates(v, nulls, sources, max_sources)
    if len(cand) == 0:
        return _unrouted(excess0, nulls, ref)
    P, K = len(cand), nulls.size
    pos = -np.ones(N, dtype=int)
    pos[nulls] = np.arange(K)
    src, dst = cand[:, 0], cand[:, 1]
    pc = np.arange(P)
    # (1) stationarity of each null type n, component d: sum_{p into n} mu_p (v_nd - v_{src,d}) - r_nd <= -excess0_nd
    rows = (pos[dst][:, None] * D + np.arange(D)[None, :]).ravel()
    cols = np.repeat(pc, D)
    vals = (v[dst] - v[src]).ravel()
    A1 = sp.hstack([sp.csr_matrix((vals, (rows, cols)), shape=(K * D, P)), -sp.identity(K * D)])
    b1 = -excess0.ravel()
    # (2) the IR multiplier of every source stays >= 0: out(mu) - in(mu) <= nu (served sources get no inflow)
    srow = -np.ones(N, dtype=int)
    srow[sources] = np.arange(sources.size)
    A2 = sp.hstack([sp.csr_matrix((np.concatenate([np.ones(P), -np.ones(P)]),
                                   (np.concatenate([srow[src], srow[dst]]), np.concatenate([pc, pc]))),
                                  shape=(sources.size, P)), sp.csr_matrix((sources.size, K * D))])
    b2 = np.maximum(nu[sources], 0.0)
    c = np.concatenate([np.zeros(P), np.ones(K * D) / ref])
    A = sp.vstack([A1, A2]).tocsc()
    work = float(A.nnz) * float(min(A.shape))  # counted like a simplex's pivots over the matrix (a bound)
    try:
        res = linprog(c, A_ub=A, b_ub=np.concatenate([b1, b2]), bounds=(0, None), method="highs-ds",
                      options={"primal_feasibility_tolerance": LP_TOL, "dual_feasibility_tolerance": LP_TOL})
    except ValueError:
        res = None
    if res is None or res.status != 0:
        out = _unrouted(excess0, nulls, ref)
        return NullFlows(out.pairs, out.lam, out.residual, out.violators, work)
    mu = np.maximum(res.x[:P], 0.0)
    # (2) met exactly: a source whose outflow exceeds its IR multiplier (by the LP's tolerance) sends less
    out_flow = np.bincount(srow[src], weights=mu, minlength=sources.size)
    in_flow = np.bincount(srow[dst], weights=mu, minlength=sources.size)
    over = out_flow - in_flow - b2
    with np.errstate(divide="ignore", invalid="ignore"):
        shrink = np.where((over > 0) & (out_flow > 0), np.clip((out_flow - over) / out_flow, 0.0, 1.0), 1.0)
    mu = mu * shrink[srow[src]]
    used = mu > 0
    # the residual of the flows actually returned (not the LP's own slack variables)
    s = excess0.copy()
    np.add.at(s, pos[dst[used]], mu[used, None] * (v[dst[used]] - v[src[used]]))
    return NullFlows(cand[used], mu[used], max(float(np.max(s, initial=0.0)), 0.0) / ref,
                     nulls[np.max(s, axis=1) > VIOLATOR_RTOL * ref], work)


def _unrouted(excess0: FloatArray, nulls: FloatArray, ref: float) -> NullFlows:
    """No flows: the null types' excess as it is."""
    return NullFlows(np.zeros((0, 2), dtype=int), np.zeros(0), float(np.max(excess0)) / ref,
                     nulls[np.max(excess0, axis=1) > VIOLATOR_RTOL * ref])


def _candidates(v: FloatArray, nulls: FloatArray, sources: FloatArray, max_sources: int) -> FloatArray:
    """Rows (source, null type): per null type the nearest sources (Euclidean, in values) among those that
    value at least as much in total, at most ``max_sources`` (ties broken by index: deterministic)."""
    total = v.sum(axis=1)
    out: list[FloatArray] = []
    for n in nulls:
        m = sources[(sources != n) & (total[sources] >= total[n])]
        if m.size == 0:
            continue
        if m.size > max_sources:
            d = np.sum((v[m] - v[n]) ** 2, axis=1)
            m = m[np.lexsort((m, d))[:max_sources]]
        out.append(np.column_stack([m, np.full(m.size, n)]))
    return np.concatenate(out) if out else np.zeros((0, 2), dtype=int)
