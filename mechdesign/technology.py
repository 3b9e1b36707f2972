r"""Token technology: gain functions, unit-cost indices and the cost of aggregate quality.

Paper notation (Bergemann, Bonatti and Smolin 2026, "BBS" below):

=====================  ===============================  =========================================
paper                  attribute                        meaning
=====================  ===============================  =========================================
:math:`\Psi(x)`        ``Technology.psi``               inference gain, eq. (1), degree ``sigma``
:math:`\Phi(z)`        ``Technology.phi``               fine-tuning gain, eq. (1)
:math:`\alpha_j,\rho`  ``CES.weights``, ``CES.rho``     CES weights and curvature (rho=0: Cobb-Douglas)
:math:`\sigma`         ``Technology.sigma``             returns to inference tokens
:math:`\hat\sigma`     ``Technology.sigma_hat``         degree of homogeneous fine-tuning (Lemma 3)
:math:`c,\hat c`       ``Technology.c``, ``.c_hat``     marginal token costs
:math:`e,\hat e`       ``unit_costs()``                 unit-cost indices (proof of Lemma 3)
:math:`d,\hat d`       ``unit_costs()``                 cost-minimising directions (proof of Lemma 3)
:math:`C(Q)`           ``Technology.cost``              cost of aggregate quality, eq. (10)
:math:`C_0`            ``Technology.C0``                :math:`C(Q) = C_0 Q^{1/(\sigma+\hat\sigma)}`
=====================  ===============================  =========================================

The inference gain is :math:`\Psi(x) = y(x)^\sigma` where :math:`y` is the degree-one CES
aggregator :math:`y(x) = (\sum_j \alpha_j x_j^\rho)^{1/\rho}`, so that
:math:`\Psi(x) = (\sum_j \alpha_j x_j^\rho)^{\sigma/\rho}` as in BBS §2.1. Fine-tuning is one of

* ``NoFineTuning``: :math:`\Phi \equiv 1` (no fine-tuning classes, :math:`\hat\sigma = 0`);
* ``CESFineTuning``: :math:`\Phi(z) = \hat y(z)^{\hat\sigma}`, homogeneous of degree
  :math:`\hat\sigma` (Assumption 1), with :math:`\sigma + \hat\sigma < 1`;
* ``BaselineFineTuning``: the slides' form :math:`\Phi(z) = (b + z)^\gamma` with one fine-tuning
  class, :math:`b > 0` and :math:`\gamma < 1 - \sigma` (so that :math:`\Phi^{1/(1-\sigma)}` is
  strictly concave as §2.1 requires). :math:`C(Q)` has no power form here; it is computed from the
  first-order condition in the single fine-tuning quantity.

This module is pure economics: it never imports the solver layer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize

from mechdesign import _validate as V
from mechdesign.exceptions import ProblemSpecError

FloatArray = np.ndarray


@dataclass(frozen=True)
class CES:
    r"""Degree-one CES aggregator :math:`y(v) = (\sum_j a_j v_j^\rho)^{1/\rho}` (``rho = 0``: Cobb-Douglas).

    Parameters
    ----------
    weights : array_like
        :math:`a_j > 0`, summing to one.
    rho : float
        Curvature :math:`\rho < 1`; ``0`` means Cobb-Douglas :math:`\prod_j v_j^{a_j}`.
    """

    weights: FloatArray
    rho: float = 0.0
    name: str = "alpha"

    def __post_init__(self) -> None:
        w = V.weights(self.name, self.weights)
        object.__setattr__(self, "weights", w)
        # a problem-file key names the curvature's own key (technology.inference.alpha -> technology.inference.rho)
        rho_field = self.name[: -len("alpha")] + "rho" if self.name.endswith(".alpha") else f"{self.name}_rho"
        rho = V.as_float(rho_field, self.rho)
        if not rho < 1.0:
            raise ProblemSpecError(rho_field, self.rho, "must be < 1 (rho = 0 is Cobb-Douglas)")
        if rho != 0.0 and not abs(rho) >= MIN_RHO:
            raise ProblemSpecError(rho_field, self.rho, f"must be 0 (Cobb-Douglas) or at least {MIN_RHO:g} in size: "
                                   "closer to 0, 1/rho overflows and the aggregator is Cobb-Douglas to double "
                                   "precision (give 0)")
        object.__setattr__(self, "rho", rho)

    @property
    def size(self) -> int:
        """Number of token classes."""
        return int(self.weights.size)

    def __call__(self, v: FloatArray) -> FloatArray:
        """Evaluate :math:`y(v)` along the last axis (rows are bundles)."""
        v = np.asarray(v, dtype=float)
        a = self.weights
        with np.errstate(divide="ignore"):
            if self.rho == 0.0:
                return np.exp(np.sum(a * np.log(np.maximum(v, 0.0)), axis=-1))
            if self.rho < 0 and np.any(v <= 0):
                out = np.zeros(v.shape[:-1])
                pos = np.all(v > 0, axis=-1)
                out[pos] = np.sum(a * v[pos] ** self.rho, axis=-1) ** (1.0 / self.rho)
                return out
            return np.sum(a * np.maximum(v, 0.0) ** self.rho, axis=-1) ** (1.0 / self.rho)

    def unit_cost(self, prices: FloatArray) -> tuple[float, FloatArray]:
        r"""Unit-cost index and cost-minimising bundle: :math:`\min_v \{p\cdot v : y(v) \ge 1\}`.

        The dual CES: with :math:`s = 1/(1-\rho)`,
        :math:`e = (\sum_j a_j^s p_j^{1-s})^{1/(1-s)}` and, by Shephard's lemma,
        :math:`d_j = a_j^s p_j^{-s} e^s` (Cobb-Douglas: :math:`e = \prod_j (p_j/a_j)^{a_j}`,
        :math:`d_j = a_j e / p_j`). These are :math:`e, d` (and :math:`\hat e, \hat d`) of the proof
        of Lemma 3 once raised to the homogeneity degree.
        """
        p = np.asarray(prices, dtype=float)
        a = self.weights
        if self.rho == 0.0:
            e = float(np.exp(np.sum(a * np.log(p / a))))
            return e, a * e / p
        s = 1.0 / (1.0 - self.rho)
        e = float(np.sum(a**s * p ** (1.0 - s)) ** (1.0 / (1.0 - s)))
        return e, a**s * p ** (-s) * e**s

    def reweighted(self, scale: FloatArray) -> CES:
        r"""The aggregator of the rescaled bundle: :math:`y(s \circ v) = y(s)\,\tilde y(v)`.

        Returns :math:`\tilde y`, whose weights are :math:`a_j s_j^\rho / \sum_i a_i s_i^\rho`
        (Cobb-Douglas weights are unchanged). Used to present the solver with variables near one.
        """
        if self.rho == 0.0:
            return CES(self.weights.copy(), 0.0, self.name)
        w = self.weights * np.asarray(scale, dtype=float) ** self.rho
        return CES(w / w.sum(), self.rho, self.name)


@dataclass(frozen=True)
class NoFineTuning:
    r""":math:`\Phi \equiv 1`: no fine-tuning token classes (:math:`K = 0`, :math:`\hat\sigma = 0`)."""

    kind: str = field(default="none", init=False)

    @property
    def size(self) -> int:
        return 0

    @property
    def degree(self) -> float:
        return 0.0


@dataclass(frozen=True)
class CESFineTuning:
    r"""Homogeneous fine-tuning :math:`\Phi(z) = \hat y(z)^{\hat\sigma}` (Assumption 1, Lemma 3).

    Parameters
    ----------
    aggregator : CES
        Degree-one CES over the :math:`K` fine-tuning classes.
    sigma_hat : float
        Degree :math:`\hat\sigma \in (0, 1)`; the technology also needs :math:`\sigma+\hat\sigma<1`.
    c_hat : array_like
        Marginal costs :math:`\hat c_k > 0`.
    """

    aggregator: CES
    sigma_hat: float
    c_hat: FloatArray
    kind: str = field(default="ces", init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sigma_hat", V.in_open("sigma_hat", self.sigma_hat, 0.0, 1.0))
        object.__setattr__(
            self, "c_hat", V.positive_vector("c_hat", self.c_hat, length=self.aggregator.size)
        )

    @property
    def size(self) -> int:
        return self.aggregator.size

    @property
    def degree(self) -> float:
        return self.sigma_hat


@dataclass(frozen=True)
class BaselineFineTuning:
    r"""The slides' fine-tuning form :math:`\Phi(z) = (b + z)^\gamma`, one fine-tuning class.

    Parameters
    ----------
    b : float
        Baseline productivity :math:`b > 0` (fine-tuning is not needed to produce).
    gamma : float
        Sensitivity :math:`\gamma \in (0, 1-\sigma)`.
    c_hat : float
        Marginal cost of a fine-tuning token.
    """

    b: float
    gamma: float
    c_hat: FloatArray
    kind: str = field(default="baseline", init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "b", V.positive("finetuning.b", self.b))
        object.__setattr__(self, "gamma", V.in_open("finetuning.gamma", self.gamma, 0.0, 1.0))
        object.__setattr__(self, "c_hat", V.positive_vector("c_hat", self.c_hat, length=1))

    @property
    def size(self) -> int:
        return 1

    @property
    def degree(self) -> float:
        return 0.0


FineTuning = NoFineTuning | CESFineTuning | BaselineFineTuning


#: the smallest non-zero CES curvature |rho| (closer to 0 the aggregator overflows; rho = 0 is Cobb-Douglas)
MIN_RHO = 1e-9
#: the smallest returns to scale sigma + sigma_hat: the cost exponent 1/(sigma + sigma_hat) stays below 1e6. The
#: cost Q^beta amplifies the rounding of Q beta times, so the profit's own floating-point floor is about
#: beta eps of the cost: measured (Cobb-Douglas, Uniform(0, 1), N = 50), sigma + sigma_hat = 2e-9 left a gap of
#: 3.2e-9 of the profit (uncertified), 2e-8 1.6e-10, 2e-7 4.2e-12, 2e-6 5e-15 (certified with margin)
MIN_RETURNS = 1e-6


@dataclass(frozen=True)
class Technology:
    r"""A single model's technology :math:`g(x, z) = \Psi(x)\Phi(z)` with token costs (BBS eq. 1).

    Parameters
    ----------
    inference : CES
        Degree-one aggregator over the :math:`J` inference classes; :math:`\Psi = y^\sigma`.
    sigma : float
        :math:`\sigma \in (0, 1)`.
    c : array_like
        Inference token costs :math:`c_j > 0`.
    finetuning : NoFineTuning | CESFineTuning | BaselineFineTuning
        The fine-tuning gain :math:`\Phi`.

    Notes
    -----
    Closed forms (proof of Lemma 3): with :math:`e, d` the unit cost and direction of :math:`y`
    at prices :math:`c` (and :math:`\hat e, \hat d` for :math:`\hat y` at :math:`\hat c`),

    .. math::
        C(Q) = C_0 Q^{1/(\sigma+\hat\sigma)},\quad
        C_0 = e^{\sigma/(\sigma+\hat\sigma)}\hat e^{\hat\sigma/(\sigma+\hat\sigma)}
        \Big[(\sigma/\hat\sigma)^{\hat\sigma/(\sigma+\hat\sigma)} +
             (\hat\sigma/\sigma)^{\sigma/(\sigma+\hat\sigma)}\Big],

    and :math:`C(Q) = e\,Q^{1/\sigma}` without fine-tuning.
    """

    inference: CES
    sigma: float
    c: FloatArray
    finetuning: FineTuning = field(default_factory=NoFineTuning)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sigma", V.in_open("sigma", self.sigma, 0.0, 1.0))
        object.__setattr__(self, "c", V.positive_vector("c", self.c, length=self.inference.size))
        ft = self.finetuning
        if isinstance(ft, CESFineTuning) and self.sigma + ft.sigma_hat >= 1.0:
            raise ProblemSpecError(
                "sigma + sigma_hat", self.sigma + ft.sigma_hat,
                f"must be < 1 (sigma = {self.sigma:g}, sigma_hat = {ft.sigma_hat:g}); "
                "otherwise the cost of quality is not convex (Assumption 1)",
            )
        returns = self.sigma + (ft.sigma_hat if isinstance(ft, CESFineTuning) else 0.0)
        if not returns >= MIN_RETURNS:
            raise ProblemSpecError(
                "sigma + sigma_hat" if isinstance(ft, CESFineTuning) else "sigma", returns,
                f"must be >= {MIN_RETURNS:g}: the cost of quality grows like Q^{1 / returns:.3g}, an exponent "
                "double precision cannot resolve (it multiplies the rounding of every quality by that much, "
                "so no certificate can hold; at such returns the cost is a capacity constraint)",
            )
        if isinstance(ft, BaselineFineTuning) and ft.gamma >= 1.0 - self.sigma:
            raise ProblemSpecError(
                "finetuning.gamma", ft.gamma,
                f"must be < 1 - sigma = {1 - self.sigma:g} so that g is strictly concave (BBS §2.1)",
            )

    # ------------------------------------------------------------------ basic facts
    @property
    def J(self) -> int:
        """Number of inference token classes."""
        return self.inference.size

    @property
    def K(self) -> int:
        """Number of fine-tuning token classes."""
        return self.finetuning.size

    @property
    def c_hat(self) -> FloatArray:
        """Fine-tuning token costs (empty without fine-tuning)."""
        ft = self.finetuning
        return np.zeros(0) if isinstance(ft, NoFineTuning) else np.asarray(ft.c_hat)

    @property
    def sigma_hat(self) -> float:
        r""":math:`\hat\sigma` (0 without homogeneous fine-tuning)."""
        return self.finetuning.degree

    @property
    def is_homogeneous(self) -> bool:
        r"""True when :math:`C(Q) = C_0 Q^{1/(\sigma+\hat\sigma)}` (Lemma 3)."""
        return not isinstance(self.finetuning, BaselineFineTuning)

    @property
    def cost_exponent(self) -> float:
        r""":math:`1/(\sigma+\hat\sigma)` (homogeneous technologies only)."""
        self._need_homogeneous("cost_exponent")
        return 1.0 / (self.sigma + self.sigma_hat)

    # ------------------------------------------------------------------ gain
    def psi(self, X: FloatArray) -> FloatArray:
        r""":math:`\Psi(X) = y(X)^\sigma` along the last axis."""
        return self.inference(X) ** self.sigma

    def phi(self, Z: FloatArray | None) -> FloatArray | float:
        r""":math:`\Phi(Z)` along the last axis (1 without fine-tuning)."""
        ft = self.finetuning
        if isinstance(ft, NoFineTuning):
            return 1.0 if Z is None else np.ones(np.asarray(Z).shape[:-1])
        Z = np.asarray(Z, dtype=float)
        if isinstance(ft, CESFineTuning):
            return ft.aggregator(Z) ** ft.sigma_hat
        return (ft.b + Z[..., 0]) ** ft.gamma

    def gain(self, X: FloatArray, Z: FloatArray | None = None) -> FloatArray:
        r"""Aggregate quality :math:`Q = \Psi(X)\Phi(Z)`, eq. (9)."""
        return self.psi(X) * self.phi(Z)

    def token_cost(self, X: FloatArray, Z: FloatArray | None = None) -> FloatArray:
        r""":math:`c\cdot X + \hat c\cdot Z` along the last axis."""
        out = np.asarray(X, dtype=float) @ self.c
        if self.K:
            out = out + np.asarray(Z, dtype=float) @ self.c_hat
        return out

    # ------------------------------------------------------------------ Lemma 3
    def unit_costs(self) -> tuple[float, FloatArray, float, FloatArray]:
        r"""Unit-cost indices and directions :math:`(e, d, \hat e, \hat d)` (proof of Lemma 3).

        :math:`e = \min\{c\cdot x : \Psi(x)\ge 1\}` is attained at :math:`d`; likewise
        :math:`\hat e, \hat d` for :math:`\Phi` (``nan`` and an empty direction when there is no
        homogeneous fine-tuning).
        """
        e, d = self.inference.unit_cost(self.c)
        ft = self.finetuning
        if isinstance(ft, CESFineTuning):
            eh, dh = ft.aggregator.unit_cost(ft.c_hat)
            return e, d, eh, dh
        return e, d, float("nan"), np.zeros(0)

    @property
    def C0(self) -> float:
        r""":math:`C_0` of Lemma 3 (:math:`C(Q)=C_0 Q^{1/(\sigma+\hat\sigma)}`)."""
        self._need_homogeneous("C0")
        e, _, eh, _ = self.unit_costs()
        s, sh = self.sigma, self.sigma_hat
        if sh == 0.0:
            return e
        tot = s + sh
        return e ** (s / tot) * eh ** (sh / tot) * ((s / sh) ** (sh / tot) + (sh / s) ** (s / tot))

    def _baseline_z(self, Q: FloatArray) -> FloatArray:
        # FOC of min_z c_hat z + e (Q / (b+z)^gamma)^(1/sigma): (b+z)^{(gamma+sigma)/sigma}
        # = (gamma e / (sigma c_hat)) Q^{1/sigma}, z >= 0.
        ft = self.finetuning
        assert isinstance(ft, BaselineFineTuning)
        e = self.unit_costs()[0]
        s, g = self.sigma, ft.gamma
        ch = float(ft.c_hat[0])
        Q = np.asarray(Q, dtype=float)
        interior = ((g * e / (s * ch)) * Q ** (1.0 / s)) ** (s / (s + g)) - ft.b
        return np.maximum(interior, 0.0)

    def cost(self, Q: FloatArray) -> FloatArray:
        r""":math:`C(Q)` of eq. (10), closed form (Lemma 3; FOC in :math:`z` for the baseline form)."""
        Q = np.maximum(np.asarray(Q, dtype=float), 0.0)
        if self.is_homogeneous:
            return self.C0 * Q**self.cost_exponent
        ft = self.finetuning
        assert isinstance(ft, BaselineFineTuning)
        e = self.unit_costs()[0]
        z = self._baseline_z(Q)
        return float(ft.c_hat[0]) * z + e * (Q / (ft.b + z) ** ft.gamma) ** (1.0 / self.sigma)

    def marginal_cost(self, Q: FloatArray) -> FloatArray:
        r""":math:`C'(Q)`; by the envelope theorem for the baseline form."""
        Q = np.maximum(np.asarray(Q, dtype=float), 0.0)
        if self.is_homogeneous:
            k = self.cost_exponent
            with np.errstate(divide="ignore"):
                return self.C0 * k * Q ** (k - 1.0)
        ft = self.finetuning
        assert isinstance(ft, BaselineFineTuning)
        e = self.unit_costs()[0]
        z = self._baseline_z(Q)
        s = self.sigma
        return (e / s) * Q ** (1.0 / s - 1.0) * (ft.b + z) ** (-ft.gamma / s)

    def inverse_marginal_cost(self, p: FloatArray) -> FloatArray:
        r"""The quality :math:`Q` with :math:`C'(Q) = p` (0 for :math:`p \le 0`); eq. (12) inverted."""
        p = np.asarray(p, dtype=float)
        out = np.zeros_like(p)
        pos = p > 0
        if self.is_homogeneous:
            k = self.cost_exponent
            out[pos] = (p[pos] / (self.C0 * k)) ** (1.0 / (k - 1.0))
            return out
        return _invert_increasing(self.marginal_cost, p)

    def inverse_cost(self, B: FloatArray) -> FloatArray:
        r"""The quality a budget buys at marginal-cost prices: :math:`C^{-1}(B)` (0 for :math:`B \le 0`)."""
        B = np.asarray(B, dtype=float)
        if self.is_homogeneous:
            out = np.zeros_like(B)
            pos = B > 0
            out[pos] = (B[pos] / self.C0) ** (1.0 / self.cost_exponent)
            return out
        return _invert_increasing(self.cost, B)

    def budgets(self, Q: FloatArray) -> tuple[FloatArray, FloatArray]:
        r"""Cost-minimising token budgets :math:`(X(Q), Z(Q))` (proof of Lemma 3).

        .. math::
            X = Q^{1/(\sigma+\hat\sigma)} K^{\hat\sigma/(\sigma+\hat\sigma)} d,\quad
            Z = Q^{1/(\sigma+\hat\sigma)} K^{-\sigma/(\sigma+\hat\sigma)} \hat d,\quad
            K = \frac{\hat e\sigma}{e\hat\sigma}.

        Returns arrays of shape ``Q.shape + (J,)`` and ``Q.shape + (K,)``.
        """
        Q = np.maximum(np.asarray(Q, dtype=float), 0.0)
        e, d, eh, dh = self.unit_costs()
        s, sh = self.sigma, self.sigma_hat
        ft = self.finetuning
        if isinstance(ft, NoFineTuning):
            return (Q ** (1.0 / s))[..., None] * d, np.zeros(Q.shape + (0,))
        if isinstance(ft, CESFineTuning):
            tot = s + sh
            Kr = eh * s / (e * sh)
            scale = Q ** (1.0 / tot)
            return (scale * Kr ** (sh / tot))[..., None] * d, (scale * Kr ** (-s / tot))[..., None] * dh
        z = self._baseline_z(Q)
        psi0 = Q / (ft.b + z) ** ft.gamma
        return (psi0 ** (1.0 / s))[..., None] * d, z[..., None]

    def _profile_constants(self) -> tuple[float, float, float, float]:
        """(K, p, e, r) of :meth:`profile_cost`."""
        self._need_homogeneous("profile cost")
        e, _, eh, _ = self.unit_costs()
        s, sh = self.sigma, self.sigma_hat
        if sh == 0.0:
            return e, 1.0, e, 0.0
        r = sh / s
        p = 1.0 / (1.0 + r)
        return (1.0 + 1.0 / r) * eh ** (1.0 - p) * (r * e) ** p, p, e, r

    def profile_cost(self, q: FloatArray, measures: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        r"""Least cost of per-segment qualities with shared fine-tuning, its gradient and Hessian.

        For qualities :math:`q_t` on segments of measure :math:`\mu_t` (contractible tasks, App. B),
        :math:`\min \sum_t \mu_t\,c\cdot x_t + \hat c\cdot z` s.t. :math:`\Psi(x_t)\Phi(z) \ge q_t`
        equals :math:`K S^p` with :math:`S = \sum_t \mu_t q_t^{1/\sigma}`,
        :math:`p = \sigma/(\sigma+\hat\sigma)`, :math:`r = \hat\sigma/\sigma` and
        :math:`K = (1+1/r)\,\hat e^{1-p}(r e)^p` (minimise :math:`e S \hat y^{-r} + \hat e\hat y` over
        the fine-tuning index :math:`\hat y`); :math:`K = e`, :math:`p = 1` without fine-tuning. With one
        segment of measure one it is Lemma 3's :math:`C(Q) = C_0 Q^{1/(\sigma+\hat\sigma)}`.

        ``q`` has shape ``(N, T)``; returns the values ``(N,)``, gradients ``(N, T)`` and Hessians
        ``(N, T, T)`` (second derivatives of zero entries are reported as 0).
        """
        q = np.maximum(np.asarray(q, dtype=float), 0.0)
        mu = np.asarray(measures, dtype=float)
        K, p, _, _ = self._profile_constants()
        a = 1.0 / self.sigma
        S = (q**a) @ mu
        pos = q > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.where(pos, mu * a * q ** (a - 1.0), 0.0)
            d2 = np.where(pos, mu * a * (a - 1.0) * q ** (a - 2.0), 0.0)
            Sp = np.where(S > 0, S, 1.0)
            c1 = np.where(S > 0, K * p * Sp ** (p - 1.0), 0.0)
            c2 = np.where(S > 0, K * p * (p - 1.0) * Sp ** (p - 2.0), 0.0)
        val = K * S**p
        grad = c1[:, None] * g
        hess = c2[:, None, None] * g[:, :, None] * g[:, None, :]
        idx = np.arange(q.shape[1])
        hess[:, idx, idx] += c1[:, None] * d2
        return val, grad, hess

    def profile_tokens(self, q: FloatArray, measures: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Cost-minimising tokens for :meth:`profile_cost`: per-segment ``X`` ``(N, T, J)`` and shared ``Z``
        ``(N, K)``."""
        q = np.maximum(np.asarray(q, dtype=float), 0.0)
        _, p, e, r = self._profile_constants()
        _, d, eh, dh = self.unit_costs()
        S = (q ** (1.0 / self.sigma)) @ np.asarray(measures, dtype=float)
        if r == 0.0:
            return (q ** (1.0 / self.sigma))[..., None] * d, np.zeros(q.shape[:1] + (0,))
        yh = (r * e * S / eh) ** p
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.where(yh[:, None] > 0, (q / np.where(yh > 0, yh, 1.0)[:, None] ** self.sigma_hat), 0.0)
        return (y ** (1.0 / self.sigma))[..., None] * d, yh[:, None] * dh

    def efficient_quality(self, theta: FloatArray) -> FloatArray:
        r"""First-best quality :math:`Q^*(\theta)` solving :math:`\theta = C'(Q)` (Prop 1, eq. 23)."""
        return self.inverse_marginal_cost(theta)

    def cost_numeric(self, Q: float) -> tuple[float, FloatArray, FloatArray]:
        r"""Solve eq. (10) numerically for any technology: :math:`\min c\cdot X + \hat c\cdot Z`
        s.t. :math:`\Psi(X)\Phi(Z) \ge Q`.

        An independent check of the closed forms (it never uses :meth:`unit_costs`): SLSQP over
        log-tokens, started from a scale-free guess. Returns ``(cost, X, Z)``.
        """
        Q = V.positive("Q", Q)
        J, K = self.J, self.K
        costs = np.concatenate([self.c, self.c_hat])

        def split(u: FloatArray) -> tuple[FloatArray, FloatArray]:
            v = np.exp(u)
            return v[:J], v[J:]

        def gain_log(u: FloatArray) -> float:
            X, Z = split(u)
            return float(np.log(self.gain(X, Z if K else None)))

        # Start at the scale where a symmetric bundle reaches Q.
        u0 = np.zeros(J + K)
        for _ in range(200):
            gap = gain_log(u0) - np.log(Q)
            if abs(gap) < 1e-3:
                break
            u0 -= gap
        ref = float(costs @ np.exp(u0))
        bounds = [(float(u) - 60.0, float(u) + 60.0) for u in u0]
        x = u0
        for _ in range(4):  # restarts from the last point: budgets may span many orders of magnitude
            res = optimize.minimize(
                lambda u: float(costs @ np.exp(u)) / ref,
                x,
                jac=lambda u: costs * np.exp(u) / ref,
                constraints=[{"type": "ineq", "fun": lambda u: gain_log(u) - np.log(Q)}],
                method="SLSQP",
                bounds=bounds,
                options={"ftol": 1e-15, "maxiter": 2000},
            )
            if np.allclose(res.x, x, rtol=0, atol=1e-10):
                break
            x = res.x
        X, Z = split(res.x)
        return float(costs @ np.exp(res.x)), X, Z

    def _need_homogeneous(self, what: str) -> None:
        if not self.is_homogeneous:
            raise ProblemSpecError(
                "finetuning.kind", "baseline",
                f"has no {what}: C(Q) is not a power function with the baseline form (b + z)^gamma",
            )

    def with_costs(self, c: FloatArray, c_hat: FloatArray | None = None) -> Technology:
        """The same technology with other token costs (e.g. Cor 1's inflated costs)."""
        ft = self.finetuning
        if isinstance(ft, CESFineTuning):
            ft = CESFineTuning(ft.aggregator, ft.sigma_hat, ft.c_hat if c_hat is None else c_hat)
        elif isinstance(ft, BaselineFineTuning):
            ft = BaselineFineTuning(ft.b, ft.gamma, ft.c_hat if c_hat is None else c_hat)
        return Technology(self.inference, self.sigma, c, ft)

    def describe(self) -> dict[str, object]:
        """A JSON-ready description of the technology."""
        ft = self.finetuning
        out: dict[str, object] = {
            "sigma": self.sigma,
            "inference": {"alpha": self.inference.weights.tolist(), "rho": self.inference.rho,
                          "c": self.c.tolist()},
            "finetuning": {"kind": ft.kind},
        }
        ftd = out["finetuning"]
        assert isinstance(ftd, dict)
        if isinstance(ft, CESFineTuning):
            ftd.update(alpha=ft.aggregator.weights.tolist(), rho=ft.aggregator.rho,
                       sigma_hat=ft.sigma_hat, c_hat=ft.c_hat.tolist())
        elif isinstance(ft, BaselineFineTuning):
            ftd.update(b=ft.b, gamma=ft.gamma, c_hat=ft.c_hat.tolist())
        if self.is_homogeneous:
            out["C0"] = self.C0
            out["cost_exponent"] = self.cost_exponent
        return out


def _invert_increasing(func: Callable[[FloatArray], FloatArray], target: FloatArray) -> FloatArray:
    """Solve ``func(Q) = target`` elementwise for an increasing positive ``func`` (0 where target <= 0),
    by bracketing and Brent's method in log Q."""
    target = np.asarray(target, dtype=float)
    out = np.zeros_like(target)
    flat = out.reshape(-1)
    for i, v in enumerate(target.reshape(-1)):
        if v > 0:
            def gap(logq: float, v: float = float(v)) -> float:
                return float(np.log(func(np.exp(logq)))) - np.log(v)

            lo, hi = -5.0, 5.0
            while gap(lo) > 0:
                lo -= 10.0
            while gap(hi) < 0:
                hi += 10.0
            flat[i] = float(np.exp(optimize.brentq(gap, lo, hi, xtol=1e-14, rtol=1e-15)))
    return flat.reshape(target.shape)


def cobb_douglas(exponents: ArrayLike, c: ArrayLike, ft_exponents: ArrayLike | None = None,
                 c_hat: ArrayLike | None = None) -> Technology:
    r"""Build :math:`g = \prod_j x_j^{a_j}\prod_k z_k^{b_k}` from its raw exponents.

    ``sigma = sum(a)``, ``alpha = a / sigma``; likewise ``sigma_hat`` and the fine-tuning weights.
    E.g. ``cobb_douglas([0.3, 0.2], [1, 3], [0.25], [2])`` is the shipped problems' technology.
    """
    a = V.positive_vector("exponents", exponents)
    sigma = float(a.sum())
    inference = CES(a / sigma, 0.0, "alpha")
    if ft_exponents is None:
        return Technology(inference, sigma, V.positive_vector("c", c, length=a.size))
    b = V.positive_vector("ft_exponents", ft_exponents)
    if c_hat is None:
        raise ProblemSpecError("c_hat", None, "is required when fine-tuning exponents are given")
    sh = float(b.sum())
    ft = CESFineTuning(CES(b / sh, 0.0, "alpha_hat"), sh, V.positive_vector("c_hat", c_hat, length=b.size))
    return Technology(inference, sigma, V.positive_vector("c", c, length=a.size), ft)
