r"""The technology as exact conic constraints :math:`g(x, z) \ge q` on real token variables (cvxpy).

Every constraint is exact, never a rational approximation: a tree of second-order cones when the
exponents are fractions with small denominators (decimal inputs), otherwise 3-D power cones
(``cvxpy.PowCone3D``, native in Clarabel and SCS):

* degree-one CES hypograph :math:`u \le (\sum_j a_j v_j^\rho)^{1/\rho}`:

  - :math:`\rho = 0`: a chain of power cones for :math:`u \le \prod_j v_j^{a_j}`;
  - :math:`0 < \rho < 1`: :math:`s_j \le v_j^\rho u^{1-\rho}` and :math:`\sum_j a_j s_j \ge u`;
  - :math:`\rho < 0` (:math:`r=-\rho`): :math:`u \le s_j^{1/(1+r)} v_j^{r/(1+r)}` and
    :math:`\sum_j a_j s_j \le u`;

* the product :math:`q \le y^\sigma \hat y^{\hat\sigma}\cdot 1^{1-\sigma-\hat\sigma}` as a chain.

Variables are scaled (proof of Lemma 3 in reverse): tokens are measured in units of the
cost-minimising budgets :math:`(\bar X, \bar Z)` at a reference quality :math:`\bar Q`, so that
:math:`g(\bar X\circ\tilde x, \bar Z\circ\tilde z) =
\bar Q\,\tilde y(\tilde x)^\sigma\tilde{\hat y}(\tilde z)^{\hat\sigma}`
with reweighted CES aggregators (:meth:`~mechdesign.technology.CES.reweighted`), and the solver sees
numbers near one whatever the token costs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import cvxpy as cp
import numpy as np
from cvxpy.utilities.power_tools import gm_constrs

from mechdesign.exceptions import ProblemSpecError
from mechdesign.technology import CES, BaselineFineTuning, CESFineTuning, NoFineTuning, Technology

FloatArray = np.ndarray


#: largest denominator for which rational exponents are written as an exact SOC tree
MAX_DENOM = 1024


def exact_fractions(weights: Sequence[float] | FloatArray) -> tuple[Fraction, ...] | None:
    """The weights as fractions with denominators <= MAX_DENOM if that is exact in float64, else None."""
    w = [float(x) for x in weights]
    fr = tuple(Fraction(x).limit_denominator(MAX_DENOM) for x in w)
    if sum(fr) != 1 or any(abs(float(f) - x) > 4 * np.finfo(float).eps * max(abs(x), 1.0) for f, x in zip(fr, w)):
        return None
    return fr


def geo_mean_hypograph(terms: Sequence[cp.Expression], weights: Sequence[float] | FloatArray,
                       out: cp.Expression) -> list[cp.Constraint]:
    r"""Constraints for :math:`|out| \le \prod_i terms_i^{w_i}` with :math:`\sum_i w_i = 1`, elementwise.

    When every weight is a fraction with denominator at most :data:`MAX_DENOM` (as decimal inputs
    such as 0.3 or 0.25 are), the weighted geometric mean is written *exactly* as a tree of
    second-order cones (dyadic completion, cvxpy's ``gm_constrs``), on which interior-point solvers
    reach high accuracy. Otherwise it is a chain of exact 3-D power cones: :math:`p_1 = terms_1`,
    :math:`p_i \le p_{i-1}^{\beta_i} terms_i^{1-\beta_i}`, :math:`\beta_i = W_{i-1}/W_i`,
    :math:`W_i = \sum_{l\le i} w_l`, :math:`p_m = out`.
    """
    w = np.asarray(weights, dtype=float)
    if len(terms) == 1:
        return [out <= terms[0]]
    fr = exact_fractions(w)
    if fr is not None:
        keep = [i for i, f in enumerate(fr) if f > 0]
        return gm_constrs(out, [terms[i] for i in keep], tuple(fr[i] for i in keep))
    cons: list[cp.Constraint] = []
    acc, W = terms[0], w[0]
    for i in range(1, len(terms)):
        W_new = W + w[i]
        last = i == len(terms) - 1
        nxt = out if last else cp.Variable(out.shape)
        cons.append(cp.PowCone3D(acc, terms[i], nxt, W / W_new))
        acc, W = nxt, W_new
    return cons


def power_cone(x: cp.Expression, y: cp.Expression, z: cp.Expression, alpha: float) -> list[cp.Constraint]:
    r""":math:`|z| \le x^\alpha y^{1-\alpha}` (SOC tree when :math:`\alpha` is a small fraction)."""
    return geo_mean_hypograph([x, y], [alpha, 1.0 - alpha], z)


def ces_hypograph(ces: CES, v: cp.Expression, u: cp.Expression) -> list[cp.Constraint]:
    r"""Constraints for :math:`u \le (\sum_j a_j v_j^\rho)^{1/\rho}` row-wise; ``v`` is ``(N, n)``, ``u`` ``(N,)``."""
    a, rho, n = ces.weights, ces.rho, ces.size
    cols = [v[:, j] for j in range(n)]
    if n == 1:
        return [u <= cols[0]]
    if rho == 0.0:
        return geo_mean_hypograph(cols, a, u)
    s = cp.Variable(v.shape)
    if rho > 0:
        cons = [c for j in range(n) for c in power_cone(cols[j], u, s[:, j], rho)]
        return cons + [s @ a >= u]
    r = -rho
    cons = [c for j in range(n) for c in power_cone(s[:, j], cols[j], u, 1.0 / (1.0 + r))]
    return cons + [s @ a <= u]


def scaled_profile_cost(tech: Technology, a: FloatArray, measures: FloatArray, q_ref: float,
                        money_ref: float) -> tuple[FloatArray, FloatArray, FloatArray]:
    """:meth:`Technology.profile_cost` in the program's units (quality / ``q_ref``, money / ``money_ref``)."""
    # the least cost is homogeneous of degree 1/(sigma + sigma_hat) in the qualities (Lemma 3), so it is
    # evaluated at the scaled qualities and multiplied by q_ref^degree / money_ref, computed in logs (q_ref
    # can be 1e185 where q_ref**2 overflows, or 1e-22 where the natural-unit Hessian does)
    degree = 1.0 / (tech.sigma + tech.sigma_hat)
    factor = float(np.exp(degree * np.log(q_ref) - np.log(money_ref)))
    v, g, h = tech.profile_cost(np.asarray(a, dtype=float), measures)
    return v * factor, g * factor, h * factor


@dataclass
class TokenCostModel:
    r"""Per-type token variables, the constraint :math:`g(X_n, Z_n) \ge Q_n` and their cost.

    Quality is measured in units of ``q_ref`` (:math:`\bar Q`) and money in units of ``money_ref``.
    The reference budgets are the cost-minimising ones at :math:`\bar Q` (Lemma 3).
    """

    tech: Technology
    q_ref: float
    money_ref: float

    def __post_init__(self) -> None:
        X, Z = self.tech.budgets(np.array(self.q_ref))
        self.x_ref = np.maximum(X, 1e-300)
        ft = self.tech.finetuning
        if isinstance(ft, BaselineFineTuning):
            self.z_ref = np.array([max(float(Z[0]), ft.b)])
            self.z_anchor = float(Z[0])
        else:
            self.z_ref = np.maximum(Z, 1e-300)
        self.q_scale = float(self.tech.gain(X, Z if self.tech.K else None))

    def build(self, q: cp.Expression) -> tuple[list[cp.Constraint], cp.Expression, dict[str, cp.Variable]]:
        """Constraints linking scaled quality ``q`` (shape (N,)) to scaled tokens, and the scaled cost."""
        tech, N = self.tech, q.shape[0]
        X = cp.Variable((N, tech.J), nonneg=True, name="X")
        y = cp.Variable(N, nonneg=True, name="y")
        cons = ces_hypograph(tech.inference.reweighted(self.x_ref), X, y)
        terms: list[cp.Expression] = [y]
        weights = [tech.sigma]
        cost = X @ (tech.c * self.x_ref)
        tokens: dict[str, cp.Variable] = {"X": X}
        ft = tech.finetuning
        if not isinstance(ft, NoFineTuning):
            Z = cp.Variable((N, tech.K), nonneg=True, name="Z")
            tokens["Z"] = Z
            cost = cost + Z @ (ft.c_hat * self.z_ref)
            if isinstance(ft, CESFineTuning):
                yh = cp.Variable(N, nonneg=True, name="y_hat")
                cons += ces_hypograph(ft.aggregator.reweighted(self.z_ref), Z, yh)
                terms.append(yh)
                weights.append(ft.sigma_hat)
            else:
                assert isinstance(ft, BaselineFineTuning)
                terms.append((ft.b + self.z_ref[0] * Z[:, 0]) / (ft.b + self.z_anchor))
                weights.append(ft.gamma)
        rest = 1.0 - sum(weights)
        terms.append(cp.Constant(np.ones(N)))
        weights.append(rest)
        # scaled quality: g / q_scale; the model is homogeneous in the reference budgets
        cons += geo_mean_hypograph(terms, weights, q * (self.q_ref / self.q_scale))
        cons.append(q >= 0)
        return cons, cost / self.money_ref, tokens

    def smooth_cost(self, a: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray] | None:
        """Scaled cost of scaled qualities ``a`` (N, 1) with gradient and Hessian (None: baseline form)."""
        if not self.tech.is_homogeneous:
            return None
        return scaled_profile_cost(self.tech, a, np.ones(1), self.q_ref, self.money_ref)

    def smooth_tokens(self, a: FloatArray) -> dict[str, FloatArray]:
        """Scaled cost-minimising tokens for scaled qualities ``a`` (the shapes of :meth:`build`'s variables)."""
        X, Z = self.tech.profile_tokens(np.asarray(a) * self.q_ref, np.ones(1))
        out = {"X": X[:, 0, :] / self.x_ref}
        if self.tech.K:
            out["Z"] = Z / self.z_ref
        return out

    def unscale(self, tokens: dict[str, FloatArray]) -> tuple[FloatArray, FloatArray]:
        """Token budgets in natural units from the solved scaled variables."""
        X = tokens["X"] * self.x_ref
        Z = tokens["Z"] * self.z_ref if "Z" in tokens else np.zeros((X.shape[0], 0))
        return X, Z


@dataclass
class QualityCostModel(TokenCostModel):
    r"""Lemma 3's least cost of quality written directly: one cone per type instead of token variables.

    For a homogeneous technology :math:`C(Q) = C_0 Q^{1/(\sigma+\hat\sigma)}` (Lemma 3, eq. 10), so
    the scaled cost :math:`k_n` of scaled quality :math:`a_n` satisfies
    :math:`k_n \ge \kappa a_n^{1/(\sigma+\hat\sigma)}`, :math:`\kappa = C_0\bar Q^{1/(\sigma+\hat\sigma)}/M`,
    i.e. :math:`a_n \le (k_n/\kappa)^{\sigma+\hat\sigma}\,1^{1-\sigma-\hat\sigma}`: one exact power cone
    (an SOC tree for decimal exponents). The cost-minimising tokens are recovered from the solution in
    closed form (:meth:`Technology.budgets`). The token formulation (:class:`TokenCostModel`) solves the
    same program without using Lemma 3 and is kept as the independent check.
    """

    def __post_init__(self) -> None:
        if not self.tech.is_homogeneous:
            raise ProblemSpecError(
                "formulation", "quality",
                "needs a homogeneous technology (Lemma 3); the baseline fine-tuning form has no power "
                "cost: use formulation='tokens'",
            )
        super().__post_init__()
        self.kappa = float(self.tech.C0) * self.q_ref**self.tech.cost_exponent / self.money_ref

    def build(self, q: cp.Expression) -> tuple[list[cp.Constraint], cp.Expression, dict[str, cp.Variable]]:
        N = q.shape[0]
        k = cp.Variable(N, nonneg=True, name="cost")
        s = self.tech.sigma + self.tech.sigma_hat
        cons = power_cone(k / self.kappa, cp.Constant(np.ones(N)), q, s)
        cons.append(q >= 0)
        return cons, k, {}


#: the largest |log| of a quantity the program may meet (double precision ends near 709; 300 keeps the
#: product of two such quantities, e.g. a quantity times a price, finite)
LOG_LIMIT = 300.0


def check_units(field: str, value: object, q_ref: float, money: float, what: str) -> None:
    """Refuse program units (the top type's efficient allocation ``q_ref`` and payoff ``money``) beyond
    :data:`LOG_LIMIT` or not finite and positive, naming ``field``; ``what`` says which inputs set them."""
    logs = [float(np.log(x)) if np.isfinite(x) and x > 0 else np.inf for x in (q_ref, money)]
    if max(abs(x) for x in logs) < LOG_LIMIT:
        return
    size = ("beyond double precision" if not np.all(np.isfinite(logs)) else
            f"of about 10^{logs[0] / np.log(10):.0f} and 10^{logs[1] / np.log(10):.0f}")
    raise ProblemSpecError(field, value, f"{what} give the top type an efficient allocation and payoff {size}, "
                           "which double precision cannot represent (allowed: "
                           f"10^-{LOG_LIMIT / np.log(10):.0f} .. 10^{LOG_LIMIT / np.log(10):.0f})",
                           "Measure the values or the costs in other units.")


def program_units(tech: Technology, th_max: float) -> tuple[float, float]:
    """Quality and money units: the top type's efficient quality and its gross payoff.

    Refuses magnitudes that double precision cannot represent, naming the fields that set them.
    """
    if tech.is_homogeneous:
        beta = tech.cost_exponent
        log_q = (np.log(th_max) - np.log(tech.C0 * beta)) / (beta - 1.0)
    else:
        with np.errstate(all="ignore"):
            try:
                log_q = float(np.log(tech.efficient_quality(np.array([th_max]))[0]))
            except (ValueError, ZeroDivisionError, OverflowError):  # its root finder met inf or nan
                log_q = np.inf
    log_money = np.log(th_max) + log_q
    if not (np.isfinite(log_q) and abs(log_q) < LOG_LIMIT and abs(log_money) < LOG_LIMIT):
        raise ProblemSpecError(
            "types.theta / technology costs", {"theta_max": th_max, "c": tech.c.tolist(),
                                               "c_hat": tech.c_hat.tolist(), "sigma": tech.sigma},
            f"give an efficient quality of the top type of about 10^{log_q / np.log(10):.0f} and a "
            f"gross payoff of 10^{log_money / np.log(10):.0f}, which double precision cannot represent "
            f"(allowed: 10^-{LOG_LIMIT / np.log(10):.0f} .. 10^{LOG_LIMIT / np.log(10):.0f})",
            "Measure theta or the token costs in other units, or move sigma + sigma_hat away from 1.",
        )
    q_ref = float(np.exp(log_q))
    return q_ref, th_max * q_ref
