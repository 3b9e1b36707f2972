r"""Cost library of the generic multidimensional screening setting (:mod:`mechdesign.settings.multidim`).

A cost model of an allocation vector :math:`q \in \mathbb R^D_+` provides everything the engine and the
certificate need, written out in full (the protocol every cost model of this library follows):

``build(a) -> (constraints, cost, tokens)``
    the cost of the scaled allocations ``a`` (cvxpy, shape ``(N, D)``) as exact convex constraints and
    a per-type cost expression (no token variables: ``tokens`` is empty);
``smooth_cost(a) -> (value, gradient, hessian)``
    the same cost in numpy, for the engine's KKT multipliers and refinement;
``conjugate(s, f) -> values``
    :math:`\sup_{a \ge 0} s_n\cdot a - f_n c(a)` per type (the supremum over the cost's domain: :math:`\mathbb
    R^D_+`, or :class:`LinearCost`'s box or simplex), exact (the Lagrangian certificate of
    :mod:`mechdesign.engine.certificate`);
``scaled(q_ref, money) -> model``
    the cost in units ``a = q / q_ref`` and money ``money`` (:math:`c(q_\text{ref} a)/M`), again a
    model of the same family;
``efficient(v) -> q``
    the efficient allocation :math:`\arg\max_{q\ge0} v\cdot q - c(q)` of each type (for the units).

Two strictly convex families: :class:`QuadraticCost` :math:`\tfrac12 q^\top A q` (Rochet and Choné
1998's monopolist with :math:`A = I`; goods that are substitutes in production with positive off-diagonal
entries) and :class:`SeparablePowerCost` :math:`\sum_d c_d q_d^{p_d}/p_d`. A third, :class:`LinearCost`
:math:`k\cdot q` on a bounded domain (the box :math:`[0, 1]^D`: bundling, Manelli and Vincent 2006; or the
simplex :math:`\{q \ge 0, \sum_d q_d \le 1\}`: lotteries over goods), makes the program a linear program;
it says so with the class attribute ``linear = True`` (the settings then finish the solve at a simplex
vertex, :mod:`mechdesign.engine.lp_vertex`, instead of the Newton refinement, which needs a Hessian). The
token technology of the paper (Appendix B's least cost of a quality profile) is the fourth member, provided by
:class:`mechdesign.settings.contractible.ContractibleCostModel` with the conjugate of
:func:`mechdesign.engine.certificate.profile_conjugate`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, ClassVar

import cvxpy as cp
import numpy as np

from mechdesign.exceptions import ProblemSpecError
from mechdesign.settings.costs import power_cone

FloatArray = np.ndarray

#: largest dimension for which the quadratic conjugate enumerates the 2^D active sets (vectorised);
#: above it each type's non-negative quadratic program is solved by NNLS
ENUMERATE_MAX_D = 8


def _as_matrix(a: cp.Expression) -> cp.Expression:
    return cp.reshape(a, (a.shape[0], 1), order="C") if a.ndim == 1 else a


#: the allocation domains of :class:`QuadraticCost`: the non-negative orthant, or all of R^D (free in sign)
QUADRATIC_DOMAINS = ("nonneg", "free")


@dataclass(frozen=True)
class QuadraticCost:
    r""":math:`c(q) = \tfrac12 q^\top A q`, with :math:`A` symmetric positive definite.

    Parameters
    ----------
    A : array (D, D)
        The cost's Hessian. Rochet and Choné (1998): :math:`A = I`.
    domain : {"nonneg", "free"}
        Allocations in :math:`\mathbb R^D_+` (default) or free in sign, :math:`q \in \mathbb R^D` (a type may
        take a negative quantity of a good, e.g. sell it back: Rochet and Choné 1998 write the program on a
        general convex set of products). Free in sign, the conjugate is :math:`s^\top A^{-1} s / (2f)` and the
        engine's Newton refinement, which holds components at zero, is skipped (``refinable``).
    """

    A: FloatArray
    domain: str = "nonneg"

    def __post_init__(self) -> None:
        A = np.atleast_2d(np.asarray(self.A, dtype=float))
        if A.ndim != 2 or A.shape[0] != A.shape[1] or not np.all(np.isfinite(A)):
            raise ProblemSpecError("cost.A", A.tolist(), "must be a square matrix of finite numbers (D x D)")
        if not np.allclose(A, A.T, rtol=0, atol=1e-12 * max(np.abs(A).max(), 1.0)):
            raise ProblemSpecError("cost.A", A.tolist(), "must be symmetric")
        eig = np.linalg.eigvalsh(A)
        if eig.min() <= 1e-12 * max(eig.max(), 1e-300):
            raise ProblemSpecError("cost.A", A.tolist(), f"must be positive definite (smallest eigenvalue "
                                   f"{eig.min():.3g}); a cost with a flat direction makes profit unbounded")
        object.__setattr__(self, "A", 0.5 * (A + A.T))
        if self.domain not in QUADRATIC_DOMAINS:
            raise ProblemSpecError("cost.domain", self.domain,
                                   f"must be one of {list(QUADRATIC_DOMAINS)} for a quadratic cost")

    @property
    def dim(self) -> int:
        return int(self.A.shape[0])

    @property
    def signed(self) -> bool:
        """Allocations free in sign (``domain = "free"``)."""
        return self.domain == "free"

    @property
    def refinable(self) -> bool:
        r"""The engine's Newton refinement applies (allocations in :math:`\mathbb R^D_+` only)."""
        return not self.signed

    def describe(self) -> str:
        return ("quadratic 1/2 q'Aq, A = " + np.array2string(self.A, separator=", ").replace("\n", "")
                + (", q free in sign" if self.signed else ""))

    def to_dict(self) -> dict[str, object]:
        return {"kind": "quadratic", "A": self.A.tolist(), **({"domain": "free"} if self.signed else {})}

    def build(self, a: cp.Expression) -> tuple[list[cp.Constraint], cp.Expression, dict[str, cp.Variable]]:
        a = _as_matrix(a)
        L = np.linalg.cholesky(self.A)  # A = L L', so 1/2 a'Aa = 1/2 |L'a|^2
        return [] if self.signed else [a >= 0], 0.5 * cp.sum(cp.square(a @ L), axis=1), {}

    def value(self, q: FloatArray) -> FloatArray:
        q = np.asarray(q, dtype=float).reshape(-1, self.dim)
        return 0.5 * np.einsum("nd,de,ne->n", q, self.A, q)

    def smooth_cost(self, a: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        a = np.asarray(a, dtype=float).reshape(-1, self.dim)
        return self.value(a), a @ self.A, np.broadcast_to(self.A, (a.shape[0],) + self.A.shape).copy()

    def smooth_tokens(self, a: FloatArray) -> dict[str, FloatArray]:
        """No token variables (the cost is a function of the allocation alone): an empty dict, for the
        engine's refinement of one-dimensional programs."""
        return {}

    def scaled(self, q_ref: float, money: float) -> QuadraticCost:
        return QuadraticCost(self.A * (q_ref * q_ref / money), self.domain)

    def efficient(self, v: FloatArray) -> FloatArray:
        return self._argmax(np.atleast_2d(v), np.ones(np.atleast_2d(v).shape[0]))[0]

    def conjugate(self, s: FloatArray, f: FloatArray) -> FloatArray:
        r""":math:`\sup_{a\ge0} s\cdot a - \tfrac f2 a^\top A a` per type, exact.

        For positive definite :math:`A` the maximiser is the unconstrained maximiser on its support
        :math:`S`, :math:`a_S = A_{SS}^{-1}s_S/f`, with value :math:`s_S^\top A_{SS}^{-1}s_S/(2f)`; every
        support whose candidate is non-negative gives a feasible point, so the supremum is the largest
        such value (enumerated over the :math:`2^D` supports, vectorised over types). Free in sign: the
        supremum over :math:`\mathbb R^D`, :math:`s^\top A^{-1} s / (2f)` at :math:`a = A^{-1}s/f`."""
        return self._argmax(s, f)[1]

    def _argmax(self, s: FloatArray, f: FloatArray) -> tuple[FloatArray, FloatArray]:
        s = np.asarray(s, dtype=float).reshape(-1, self.dim)
        f = np.asarray(f, dtype=float)
        N, D = s.shape
        if self.signed:  # the unconstrained maximiser (A positive definite)
            arg = np.linalg.solve(self.A, s.T).T / f[:, None]
            return arg, 0.5 * np.einsum("nd,nd->n", s, arg)
        best_val = np.zeros(N)
        best_arg = np.zeros((N, D))
        if D > ENUMERATE_MAX_D:
            from scipy.optimize import nnls

            L = np.linalg.cholesky(self.A)
            for n in range(N):  # min 1/2 |L'a - L^{-1}s/f|^2 over a >= 0
                target = np.linalg.solve(L, s[n] / f[n])
                a, _ = nnls(L.T, target)
                best_arg[n] = a
                best_val[n] = max(float(s[n] @ a - 0.5 * f[n] * a @ self.A @ a), 0.0)
            return best_arg, best_val
        for k in range(1, D + 1):
            for S in itertools.combinations(range(D), k):
                idx = list(S)
                inv = np.linalg.inv(self.A[np.ix_(idx, idx)])
                cand = (s[:, idx] @ inv.T) / f[:, None]
                ok = np.all(cand >= 0, axis=1)
                val = 0.5 * np.einsum("nd,nd->n", s[:, idx], cand)
                better = ok & (val > best_val)
                best_val = np.where(better, val, best_val)
                best_arg[better] = 0.0  # the new support replaces the old one entirely
                best_arg[np.ix_(better, idx)] = cand[better]
        return best_arg, best_val


@dataclass(frozen=True)
class SeparablePowerCost:
    r""":math:`c(q) = \sum_d c_d\, q_d^{p_d}/p_d` with :math:`c_d > 0`, :math:`p_d > 1`.

    Written with exact power cones (:func:`~mechdesign.settings.costs.power_cone`), never a rational
    approximation of the exponent.
    """

    c: FloatArray
    p: FloatArray

    def __post_init__(self) -> None:
        c = np.atleast_1d(np.asarray(self.c, dtype=float))
        p = np.atleast_1d(np.asarray(self.p, dtype=float))
        if p.size == 1 and c.size > 1:
            p = np.full(c.size, float(p[0]))
        if c.size != p.size:
            raise ProblemSpecError("cost.p", p.tolist(),
                                   f"must have one exponent per dimension ({c.size}, like cost.c)")
        if not np.all(np.isfinite(c)) or np.any(c <= 0):
            raise ProblemSpecError("cost.c", c.tolist(), "must be positive finite numbers")
        if not np.all(np.isfinite(p)) or np.any(p <= 1) or np.any(p > 20):
            raise ProblemSpecError("cost.p", p.tolist(), "must lie in (1, 20]: the cost must be strictly convex")
        object.__setattr__(self, "c", c)
        object.__setattr__(self, "p", p)

    @property
    def dim(self) -> int:
        return int(self.c.size)

    def describe(self) -> str:
        return f"separable power sum c_d q_d^p_d / p_d, c = {self.c.tolist()}, p = {self.p.tolist()}"

    def to_dict(self) -> dict[str, object]:
        return {"kind": "power", "c": self.c.tolist(), "p": self.p.tolist()}

    def build(self, a: cp.Expression) -> tuple[list[cp.Constraint], cp.Expression, dict[str, cp.Variable]]:
        a = _as_matrix(a)
        N, D = a.shape
        s = cp.Variable((N, D), nonneg=True, name="power")
        cons: list[cp.Constraint] = [a >= 0]
        ones = cp.Constant(np.ones(N))
        for d in range(D):  # s >= a^p  <=>  a <= s^(1/p) 1^(1 - 1/p)
            cons += power_cone(s[:, d], ones, a[:, d], 1.0 / float(self.p[d]))
        return cons, s @ (self.c / self.p), {}

    def value(self, q: FloatArray) -> FloatArray:
        q = np.maximum(np.asarray(q, dtype=float).reshape(-1, self.dim), 0.0)
        return (q**self.p) @ (self.c / self.p)

    def smooth_cost(self, a: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        a = np.maximum(np.asarray(a, dtype=float).reshape(-1, self.dim), 0.0)
        grad = self.c * a ** (self.p - 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            d2 = np.where(a > 0, self.c * (self.p - 1.0) * a ** (self.p - 2.0), 0.0)
        hess = np.zeros((a.shape[0], self.dim, self.dim))
        idx = np.arange(self.dim)
        hess[:, idx, idx] = d2
        return self.value(a), grad, hess

    def smooth_tokens(self, a: FloatArray) -> dict[str, FloatArray]:
        """No token variables (the cost is a function of the allocation alone): an empty dict, for the
        engine's refinement of one-dimensional programs."""
        return {}

    def scaled(self, q_ref: float | FloatArray, money: float) -> SeparablePowerCost:
        return SeparablePowerCost(self.c * np.asarray(q_ref, dtype=float) ** self.p / money, self.p)

    def units(self, v: FloatArray) -> tuple[FloatArray, float]:
        """Program units, one allocation unit per dimension: each dimension's largest efficient allocation over
        the types (exponents that differ give allocations of very different sizes: with p = (1.2, 3.5) the top
        type's efficient allocations were 473 and 1.2, and one unit for both left the interior point stalling 0.4 %
        short of the optimum on 7 of 200 random instances), and the top type's efficient gross payoff. A
        dimension nobody values takes the largest unit of the others."""
        v = np.atleast_2d(np.asarray(v, dtype=float))
        eff = self.efficient(v)
        q_ref = eff.max(axis=0, initial=0.0)
        q_ref = np.where(q_ref > 0, q_ref, max(float(q_ref.max(initial=0.0)), 1.0))
        top = int(np.argmax(np.sum(v, axis=1)))
        return q_ref, float(v[top] @ eff[top])

    def efficient(self, v: FloatArray) -> FloatArray:
        v = np.maximum(np.atleast_2d(np.asarray(v, dtype=float)), 0.0)
        return (v / self.c) ** (1.0 / (self.p - 1.0))

    def conjugate(self, s: FloatArray, f: FloatArray) -> FloatArray:
        r""":math:`\sum_d (s_d^+)^{p'_d} / (p'_d (f c_d)^{p'_d-1})`, :math:`p' = p/(p-1)` (exact)."""
        s = np.maximum(np.asarray(s, dtype=float).reshape(-1, self.dim), 0.0)
        f = np.asarray(f, dtype=float)[:, None]
        q = self.p / (self.p - 1.0)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            terms = np.where(s > 0, s**q / (q * (f * self.c) ** (q - 1.0)), 0.0)
        return np.sum(terms, axis=1)


@dataclass(frozen=True)
class TokenTechnologyCost:
    r"""The paper's token technology as a cost of a quality vector (one entry per task segment):
    Appendix B's least cost :math:`K(\sum_t \mu_t q_t^{1/\sigma})^p` of a quality profile with shared
    fine-tuning (:meth:`mechdesign.technology.Technology.profile_cost`), written with its exact cones
    and certified with its closed-form conjugate (:func:`mechdesign.engine.certificate.profile_conjugate`).

    ``q_ref`` and ``money`` are the units of a scaled copy (:meth:`scaled`); 1 for the natural cost.
    """

    technology: Any
    measures: FloatArray
    q_ref: float = 1.0
    money: float = 1.0

    def __post_init__(self) -> None:
        from mechdesign.settings.contractible import check_technology

        check_technology(self.technology)
        mu = np.atleast_1d(np.asarray(self.measures, dtype=float))
        if not np.all(np.isfinite(mu)) or np.any(mu <= 0):
            raise ProblemSpecError("cost.measures", mu.tolist(), "must be positive finite segment measures")
        object.__setattr__(self, "measures", mu)

    @property
    def dim(self) -> int:
        return int(self.measures.size)

    def describe(self) -> str:
        t = self.technology
        return (f"token technology (sigma {t.sigma:g}, sigma_hat {t.sigma_hat:g}), "
                f"segment measures {self.measures.tolist()}")

    def to_dict(self) -> dict[str, object]:
        return {"kind": "tokens", "measures": self.measures.tolist(), "sigma": self.technology.sigma,
                "sigma_hat": self.technology.sigma_hat}

    def _model(self) -> Any:
        from mechdesign.settings.contractible import ContractibleCostModel

        return ContractibleCostModel(self.technology, self.measures, self.q_ref, self.money, "tokens")

    def build(self, a: cp.Expression) -> tuple[list[cp.Constraint], cp.Expression, dict[str, cp.Variable]]:
        return self._model().build(a)  # type: ignore[no-any-return]

    def value(self, q: FloatArray) -> FloatArray:
        return self.smooth_cost(q)[0]

    def smooth_cost(self, a: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        return self._model().smooth_cost(np.asarray(a, dtype=float).reshape(-1, self.dim))  # type: ignore[no-any-return]

    def smooth_tokens(self, a: FloatArray) -> dict[str, FloatArray]:
        """The token amounts of allocations ``a`` (the contractible cost model's closed form)."""
        return self._model().smooth_tokens(np.asarray(a, dtype=float).reshape(-1, self.dim))  # type: ignore[no-any-return]

    def scaled(self, q_ref: float, money: float) -> TokenTechnologyCost:
        return TokenTechnologyCost(self.technology, self.measures, self.q_ref * q_ref, self.money * money)

    def units(self, v: FloatArray) -> tuple[float, float]:
        """Quality and money units of the top aggregate type (as the contractible setting chooses them)."""
        from mechdesign.types import aggregate_type

        theta = aggregate_type(np.atleast_2d(v) / self.measures, self.measures, self.technology.sigma)
        th = float(theta.max())
        q = float(self.technology.efficient_quality(np.array([th]))[0])
        return q, th * q

    def conjugate(self, s: FloatArray, f: FloatArray) -> FloatArray:
        return self._model().conjugate(s, f)  # type: ignore[no-any-return]


def units(cost: Any, v: FloatArray) -> tuple[float | FloatArray, float]:
    """Program units of a cost model for types ``v``: the top type's efficient allocation (largest entry; a
    cost with its own ``units`` may give one per dimension, :meth:`SeparablePowerCost.units`) and its efficient
    gross payoff, so that the scaled program's allocations and payoffs are of order one."""
    if hasattr(cost, "units"):
        return cost.units(v)  # type: ignore[no-any-return]
    v = np.atleast_2d(np.asarray(v, dtype=float))
    top = int(np.argmax(np.sum(v, axis=1)))
    q_eff = cost.efficient(v[top:top + 1])[0]
    return float(np.max(q_eff)), float(v[top] @ q_eff)


#: the allocation domains of :class:`LinearCost`: the box [0, 1]^D (bundling) and the simplex (lotteries)
LINEAR_DOMAINS = ("box", "simplex")


@dataclass(frozen=True)
class LinearCost:
    r""":math:`c(q) = k\cdot q` with :math:`k \ge 0`, on a bounded domain of allocations.

    ``domain = "box"``: :math:`q \in [0, \bar q]^D`, each good sold in any share up to one unit (a
    deterministic menu sells bundles of goods, a random one lotteries over each good; Manelli and Vincent
    2006, "Bundling as an optimal selling mechanism for a multiple-good monopolist", JET 127);
    ``domain = "simplex"``: :math:`q \ge 0,\ \sum_d q_d \le \bar q` (one unit in all, a lottery over which
    good the buyer gets). :math:`\bar q` (``cap``) is 1 for the natural cost and ``1/q_ref`` for a scaled copy.

    The program is then a linear program (Rochet and Choné 1998's monopolist with a linear technology and
    capacity); its certificate uses the exact conjugate of the cost plus the domain's indicator
    (:meth:`conjugate`). ``linear = True`` tells the settings that the cost has no curvature: they finish the
    solve at a simplex vertex (:func:`mechdesign.engine.lp_vertex.vertex_solve`) instead of the Newton
    refinement.

    Parameters
    ----------
    k : array (D,)
        Marginal cost of each good, finite and non-negative (zero: digital goods).
    domain : {"box", "simplex"}
        The allocation domain.
    cap : float
        The domain's size :math:`\bar q` (1 in problem files).
    """

    k: FloatArray
    domain: str = "box"
    cap: float = 1.0

    #: the cost is linear: a linear program (no Hessian for a Newton refinement)
    linear: ClassVar[bool] = True
    #: the engine's Newton refinement does not apply (see :meth:`mechdesign.engine.program.ScreeningProgram.finish`)
    refinable: ClassVar[bool] = False

    def __post_init__(self) -> None:
        k = np.atleast_1d(np.asarray(self.k, dtype=float))
        if k.ndim != 1 or k.size < 1 or not np.all(np.isfinite(k)) or np.any(k < 0):
            raise ProblemSpecError("cost.k", np.asarray(self.k).tolist(),
                                   "must be finite non-negative marginal costs, one per good")
        if self.domain not in LINEAR_DOMAINS:
            raise ProblemSpecError("cost.domain", self.domain,
                                   f"must be one of {list(LINEAR_DOMAINS)} for a linear cost (a linear cost on an "
                                   "unbounded domain makes profit unbounded or the program degenerate)")
        cap = float(self.cap)
        if not np.isfinite(cap) or cap <= 0:
            raise ProblemSpecError("cost.cap", self.cap, "must be a positive finite number")
        object.__setattr__(self, "k", k)
        object.__setattr__(self, "cap", cap)

    @property
    def dim(self) -> int:
        return int(self.k.size)

    def describe(self) -> str:
        where = (f"q in [0, {self.cap:g}]^{self.dim}" if self.domain == "box"
                 else f"q >= 0, sum q <= {self.cap:g}")
        return f"linear k.q, k = {self.k.tolist()}, {where} ({self.domain})"

    def to_dict(self) -> dict[str, object]:
        return {"kind": "linear", "k": self.k.tolist(), "domain": self.domain}

    def build(self, a: cp.Expression) -> tuple[list[cp.Constraint], cp.Expression, dict[str, cp.Variable]]:
        a = _as_matrix(a)
        cons: list[cp.Constraint] = [a >= 0]
        cons.append(a <= self.cap if self.domain == "box" else cp.sum(a, axis=1) <= self.cap)
        return cons, a @ self.k, {}

    def value(self, q: FloatArray) -> FloatArray:
        return np.asarray(q, dtype=float).reshape(-1, self.dim) @ self.k

    def smooth_cost(self, a: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Value, gradient :math:`k` and a zero Hessian (the cost has no curvature: see ``linear``)."""
        a = np.asarray(a, dtype=float).reshape(-1, self.dim)
        N = a.shape[0]
        return self.value(a), np.broadcast_to(self.k, (N, self.dim)).copy(), np.zeros((N, self.dim, self.dim))

    def smooth_tokens(self, a: FloatArray) -> dict[str, FloatArray]:
        """No token variables: an empty dict."""
        return {}

    def scaled(self, q_ref: float, money: float) -> LinearCost:
        return LinearCost(self.k * (q_ref / money), self.domain, self.cap / q_ref)

    def efficient(self, v: FloatArray) -> FloatArray:
        r"""The efficient allocation :math:`\arg\max_{q \in \text{domain}} (v - k)\cdot q` of each type: the box
        gives every good whose value exceeds its cost (:math:`\bar q` of it), the simplex all of
        :math:`\bar q` to the good of the largest positive margin (the first one on ties)."""
        margin = np.atleast_2d(np.asarray(v, dtype=float)) - self.k
        if self.domain == "box":
            return np.where(margin > 0, self.cap, 0.0)
        out = np.zeros_like(margin)
        best = np.argmax(margin, axis=1)
        rows = np.arange(margin.shape[0])
        out[rows, best] = np.where(margin[rows, best] > 0, self.cap, 0.0)
        return out

    def units(self, v: FloatArray) -> tuple[float, float]:
        r"""Program units: allocations in units of the domain's size, money in the largest gross value of a
        unit allocation (the box: :math:`\max_n \sum_d v_{nd}`; the simplex: :math:`\max_{n,d} v_{nd}`), so that
        the scaled payoffs are at most one (types that value nothing: money 1)."""
        v = np.atleast_2d(np.asarray(v, dtype=float))
        gross = np.sum(v, axis=1) if self.domain == "box" else np.max(v, axis=1)
        top = float(np.max(gross, initial=0.0)) * self.cap
        return self.cap, top if top > 0 else 1.0

    def conjugate(self, s: FloatArray, f: FloatArray) -> FloatArray:
        r""":math:`\sup_{a \in \text{domain}} s\cdot a - f\,k\cdot a` per type, exact: the box gives
        :math:`\bar q \sum_d \max(0, s_d - f k_d)`, the simplex :math:`\bar q \max(0, \max_d (s_d - f k_d))`
        (a linear function's supremum over a polytope is at a vertex)."""
        s = np.asarray(s, dtype=float).reshape(-1, self.dim)
        f = np.asarray(f, dtype=float).reshape(-1)
        margin = s - f[:, None] * self.k
        if self.domain == "box":
            return self.cap * np.sum(np.maximum(margin, 0.0), axis=1)
        return self.cap * np.maximum(np.max(margin, axis=1), 0.0)
