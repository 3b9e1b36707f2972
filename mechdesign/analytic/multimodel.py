r"""Several models with a common :math:`\sigma` (BBS §5.1-5.2): Lemma 2, eq. (21), Props 5-6, closed forms.

Model :math:`l` is summarised by Lemma 3's aggregate parameters: :math:`\hat\sigma_l \in [0, 1-\sigma)`
and :math:`\kappa_l > 0`, with :math:`C_l(Q) = \kappa_l Q^{1/(\sigma+\hat\sigma_l)}`
(:meth:`ModelSpec.from_technology` takes them from a full technology: :math:`\kappa_l = C_0`).

* Lemma 2 (eq. 20): the buyer's best payoff from qualities :math:`(Q_l)` is
  :math:`\theta(\sum_l Q_l^{1/\sigma})^\sigma`.
* Eq. (21): the cost of aggregate quality is the lower envelope :math:`\min_l \kappa_l Q^{1/(\sigma+\hat\sigma_l)}`.
* Prop 5 (eqs. 22-23): type :math:`\theta` uses the model maximising
  :math:`u_l^*(\theta) = (1-\sigma-\hat\sigma_l)
  ((\sigma+\hat\sigma_l)/\kappa_l)^{(\sigma+\hat\sigma_l)/(1-\sigma-\hat\sigma_l)}
  \theta^{1/(1-\sigma-\hat\sigma_l)}` with :math:`Q^*(\theta) =
  (\theta(\sigma+\hat\sigma_l)/\kappa_l)^{(\sigma+\hat\sigma_l)/(1-\sigma-\hat\sigma_l)}`;
  at a switch the quality jumps by :math:`(1-\sigma-\hat\sigma_l)/(1-\sigma-\hat\sigma_{l'})`.
* Prop 6 (eqs. 25-27): the monopoly menu is efficient for the virtual type; for discrete types the exact
  discrete optimum uses the (ironed) discrete virtual values, since :math:`Q^*` is increasing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mechdesign import _validate as V
from mechdesign.exceptions import ProblemSpecError
from mechdesign.technology import Technology
from mechdesign.types import DiscreteTypes, iron_discrete

FloatArray = np.ndarray


@dataclass(frozen=True)
class ModelSpec:
    """One model's aggregate parameters (Lemma 3): returns to fine-tuning and cost scale."""

    sigma_hat: float
    kappa: float
    name: str = ""

    def __post_init__(self) -> None:
        if not 0.0 <= float(self.sigma_hat) < 1.0:
            raise ProblemSpecError(f"models.{self.name or '?'}.sigma_hat", self.sigma_hat, "must lie in [0, 1)")
        object.__setattr__(self, "kappa", V.positive(f"models.{self.name or '?'}.kappa", self.kappa))
        object.__setattr__(self, "sigma_hat", float(self.sigma_hat))

    @classmethod
    def from_technology(cls, tech: Technology, name: str = "") -> ModelSpec:
        """:math:`(\\hat\\sigma, \\kappa = C_0)` of a homogeneous technology (Lemma 3)."""
        return cls(tech.sigma_hat, tech.C0, name)


@dataclass(frozen=True)
class MultiModel:
    r"""Models sharing :math:`\sigma` (Assumption 1); ``models`` in any order."""

    sigma: float
    models: tuple[ModelSpec, ...]

    def __post_init__(self) -> None:
        V.in_open("sigma", self.sigma, 0.0, 1.0)
        if not self.models:
            raise ProblemSpecError("models", [], "needs at least one model")
        for m in self.models:
            if self.sigma + m.sigma_hat >= 1.0:
                raise ProblemSpecError(f"models.{m.name}.sigma_hat", m.sigma_hat,
                                       f"must be < 1 - sigma = {1 - self.sigma:g} (Assumption 1)")

    @property
    def L(self) -> int:
        return len(self.models)

    @property
    def degrees(self) -> FloatArray:
        r""":math:`\sigma + \hat\sigma_l`."""
        return np.array([self.sigma + m.sigma_hat for m in self.models])

    @property
    def kappas(self) -> FloatArray:
        return np.array([m.kappa for m in self.models])

    # ------------------------------------------------------------------ Lemma 2, eq. (21)
    def payoff(self, theta: float, Q: FloatArray) -> float:
        r"""Lemma 2, eq. (20): :math:`\theta(\sum_l Q_l^{1/\sigma})^\sigma`."""
        Q = np.maximum(np.asarray(Q, dtype=float), 0.0)
        return float(theta * np.sum(Q ** (1.0 / self.sigma)) ** self.sigma)

    def model_costs(self, Q: FloatArray) -> FloatArray:
        """:math:`C_l(Q)` for every model, shape ``(L,) + Q.shape``."""
        Q = np.maximum(np.asarray(Q, dtype=float), 0.0)
        return self.kappas.reshape((-1,) + (1,) * Q.ndim) * Q[None] ** (1.0 / self.degrees).reshape(
            (-1,) + (1,) * Q.ndim)

    def cost(self, Q: FloatArray) -> FloatArray:
        """Eq. (21): the lower envelope of the models' cost curves."""
        return self.model_costs(Q).min(axis=0)

    def cheapest_model(self, Q: FloatArray) -> FloatArray:
        """Index of the model attaining eq. (21)."""
        return self.model_costs(Q).argmin(axis=0)

    # ------------------------------------------------------------------ Prop 5
    def model_surplus(self, theta: FloatArray) -> FloatArray:
        """:math:`u_l^*(\\theta)` of eq. (22) for every model, shape ``(L,) + theta.shape`` (0 for theta <= 0)."""
        th = np.maximum(np.asarray(theta, dtype=float), 0.0)
        d = self.degrees.reshape((-1,) + (1,) * th.ndim)
        k = self.kappas.reshape(d.shape)
        return (1.0 - d) * (d / k) ** (d / (1.0 - d)) * th[None] ** (1.0 / (1.0 - d))

    def model_quality(self, theta: FloatArray) -> FloatArray:
        """Eq. (23) for every model: :math:`(\\theta(\\sigma+\\hat\\sigma_l)/\\kappa_l)^{d/(1-d)}`, shape
        ``(L,) + theta.shape``."""
        th = np.maximum(np.asarray(theta, dtype=float), 0.0)
        d = self.degrees.reshape((-1,) + (1,) * th.ndim)
        k = self.kappas.reshape(d.shape)
        return (th[None] * d / k) ** (d / (1.0 - d))

    def efficient(self, theta: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Prop 5: the model each type uses (-1 if theta <= 0) and its quality :math:`Q^*(\\theta)`."""
        th = np.asarray(theta, dtype=float)
        u = self.model_surplus(th)
        best = u.argmax(axis=0)
        Q = np.take_along_axis(self.model_quality(th), best[None], axis=0)[0]
        return np.where(th > 0, best, -1), np.where(th > 0, Q, 0.0)

    def switch_types(self) -> list[tuple[float, int, int]]:
        r"""Types where the efficient model changes, ``(theta, from, to)``, ascending.

        :math:`u_l^* = A_l\theta^{b_l}` with :math:`b_l = 1/(1-\sigma-\hat\sigma_l)`, so the upper envelope
        over :math:`\theta > 0` is traced exactly from the pairwise crossings
        :math:`\theta = (A_l/A_{l'})^{1/(b_{l'}-b_l)}`.
        """
        d = self.degrees
        A = (1.0 - d) * (d / self.kappas) ** (d / (1.0 - d))
        b = 1.0 / (1.0 - d)
        out: list[tuple[float, int, int]] = []
        cur = int(np.argmax(np.where(b == b.min(), A, -np.inf)))  # near theta = 0 the smallest power wins
        theta = 0.0
        while True:
            best_t, best_l = np.inf, -1
            for l in range(self.L):
                if b[l] > b[cur]:
                    t = (A[cur] / A[l]) ** (1.0 / (b[l] - b[cur]))
                    if t > theta and (t < best_t or (t == best_t and b[l] > b[best_l])):
                        best_t, best_l = t, l
            if best_l < 0:
                return out
            out.append((float(best_t), cur, best_l))
            cur, theta = best_l, best_t

    def jump_ratio(self, l_from: int, l_to: int) -> float:
        r""":math:`Q_{l'}/Q_l = (1-\sigma-\hat\sigma_l)/(1-\sigma-\hat\sigma_{l'})` at a switch (§5.1)."""
        d = self.degrees
        return float((1.0 - d[l_from]) / (1.0 - d[l_to]))

    # ------------------------------------------------------------------ Prop 6
    def discrete_monopoly(self, types: DiscreteTypes) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """Exact discrete Prop 6 menu: (model, quality, transfer, profit per type) with ironed virtual values."""
        phi_bar, _ = iron_discrete(types.virtual_values(), types.prob)
        model, Q = self.efficient(phi_bar)
        rent = np.concatenate([[0.0], np.cumsum(np.diff(types.theta) * Q[:-1])])
        transfer = types.theta * Q - rent
        return model, Q, transfer, transfer - self.cost(Q)
