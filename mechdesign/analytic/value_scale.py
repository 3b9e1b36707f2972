r"""Value-scale heterogeneity with contractible tasks (BBS Appendix B.3): Lemma 5, eqs. (54)-(63), Prop 10.

A type is :math:`(w, s)`: value :math:`w` on each of the tasks :math:`i \le s` and zero beyond
(eq. 54), with :math:`w` and :math:`s` independent. The cost of delivering total quality :math:`q`
to :math:`s` tasks (eq. 56) spreads inference tokens evenly and shares the fine-tuning vector:

.. math::
    C(q, s) = \min_{x, z \ge 0} s\, c\cdot x + \hat c\cdot z \ \text{s.t.}\ s\,g(x, z) = q
    \;=\; s\, C_{\hat c/s}(q/s),

where :math:`C_{\hat c/s}` is the single-model cost of quality (Lemma 3) with fine-tuning costs
divided by :math:`s` (substitute :math:`Q = q/s` and divide the objective by :math:`s`). So every
closed form of Lemma 3 carries over: :math:`C_q(q, s) = C'_{\hat c/s}(q/s)`, and the quality of
eq. (62), :math:`\varphi(w) = C_q(q, s)`, is :math:`q(w, s) = s\,(C'_{\hat c/s})^{-1}(\varphi(w))`.

**Observable-scale benchmark.** With :math:`s` observed, each scale is a Mussa-Rosen problem. For
discrete :math:`w_1<\dots<w_N` the exact discrete optimum for scale :math:`s` is the discrete menu of
:mod:`mechdesign.analytic.monopoly` for the technology with costs :math:`(c, \hat c/s)`, with
qualities and transfers multiplied by :math:`s` (the discrete counterparts of eqs. 62-63). Its
profit is an upper bound for the contractible program (it drops every cross-scale IC).

**Assumption 2** (bounded rent increase) :math:`s\int_0^w q_s(r, s)\,dr \le w\,q(w, s)`. Its
discrete counterpart replaces the integral with the discrete rent
:math:`U_k(s) = \sum_{j<k}(w_{j+1}-w_j)q_j(s)`; :func:`assumption2` evaluates
:math:`w_k q_k(s) - s\,\partial_s U_k(s)` on a fine grid of scales (the proof of Prop 10 integrates
the condition over all scales between two types, not just at the grid points).

**Prop 10.** Under Assumption 2 the benchmark menu is incentive compatible across scales too, so it is
optimal with contractible tasks. :meth:`ValueScaleMenu.cross_scale_gain` checks this directly: the
best gain any type gets from taking another scale's item, :math:`w\min(s,\tilde s)\,\tilde q/\tilde s
- \tilde t - U(w, s)`.

Note on the closed form: the Cobb-Douglas case :math:`g = x^{a} z^{b}` gives
:math:`q(w,s) \propto s^{(1-a)/(1-a-b)}\varphi(w)^{(a+b)/(1-a-b)}`, for which Assumption 2 holds for
every :math:`F_w` whose virtual value grows at least linearly; it fails when :math:`\varphi` is flat
(a long right tail, e.g. :func:`flat_virtual_value_types`), see ``problems/value_scale_a2_fails.toml``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mechdesign import _validate as V
from mechdesign.analytic.monopoly import discrete_menu
from mechdesign.exceptions import ProblemSpecError
from mechdesign.technology import Technology
from mechdesign.types import DiscreteTypes, TaskProfileTypes

FloatArray = np.ndarray


# ------------------------------------------------------------------------------------------ costs
def scale_technology(tech: Technology, s: float) -> Technology:
    r"""The single-model technology whose cost :math:`C_{\hat c/s}` gives :math:`C(q,s) = s\,C_{\hat c/s}(q/s)`."""
    s = V.positive("s", s)
    return tech.with_costs(tech.c, tech.c_hat / s) if tech.K else tech


def scale_cost(tech: Technology, q: FloatArray, s: float) -> FloatArray:
    r""":math:`C(q, s)` of eq. (56), closed form via Lemma 3 (see the module docstring)."""
    return s * scale_technology(tech, s).cost(np.asarray(q, dtype=float) / s)


def scale_marginal_cost(tech: Technology, q: FloatArray, s: float) -> FloatArray:
    r""":math:`C_q(q, s)` (eq. 62's right-hand side)."""
    return scale_technology(tech, s).marginal_cost(np.asarray(q, dtype=float) / s)


def scale_quality(tech: Technology, p: FloatArray, s: float) -> FloatArray:
    r"""The quality :math:`q` with :math:`C_q(q, s) = p` (0 for :math:`p \le 0`); eq. (62) solved for q."""
    return s * scale_technology(tech, s).inverse_marginal_cost(np.asarray(p, dtype=float))


def scale_cost_numeric(tech: Technology, q: float, s: float) -> float:
    """:math:`C(q, s)` by numerical minimisation of eq. (56) over the tokens (SLSQP; for checks)."""
    return s * scale_technology(tech, s).cost_numeric(q / s)[0]


# ------------------------------------------------------------------------------------------ types
@dataclass(frozen=True)
class ValueScaleTypes:
    r"""Independent value and scale types of eq. (54).

    Parameters
    ----------
    w : DiscreteTypes
        Values :math:`w_k` (the ``theta`` field) and their probabilities.
    s : array_like
        Scales :math:`0 < s_1 < \dots < s_M \le 1` (the measure of tasks the buyer values).
    s_prob : array_like
        Their probabilities (> 0, sum 1).

    Notes
    -----
    Types are ordered scale-major: type ``m * len(w) + k`` is :math:`(w_k, s_m)`.
    """

    w: DiscreteTypes
    s: FloatArray
    s_prob: FloatArray

    def __post_init__(self) -> None:
        s = V.vector("types.s", self.s)
        V.strictly_increasing("types.s", s)
        if s[0] <= 0 or s[-1] > 1:
            raise ProblemSpecError("types.s", s.tolist(), "scales must lie in (0, 1] (a measure of tasks)")
        pr = V.vector("types.s_prob", self.s_prob, length=s.size)
        if np.any(pr <= 0) or abs(pr.sum() - 1.0) > V.PROB_SUM_TOL:
            raise ProblemSpecError("types.s_prob", pr.tolist(), f"must be > 0 and sum to 1 (sum {pr.sum():.12g})")
        object.__setattr__(self, "s", s)
        object.__setattr__(self, "s_prob", pr)

    @property
    def n(self) -> int:
        """Number of (w, s) types."""
        return self.w.n * self.s.size

    @property
    def pairs(self) -> tuple[FloatArray, FloatArray]:
        """Arrays ``(w, s)`` of length :attr:`n` in type order."""
        return np.tile(self.w.theta, self.s.size), np.repeat(self.s, self.w.n)

    @property
    def prob(self) -> FloatArray:
        """Joint probabilities (independence)."""
        return np.outer(self.s_prob, self.w.prob).ravel()

    def to_profiles(self) -> TaskProfileTypes:
        r"""Task profiles on segments cut at the scale grid (eq. 54 discretised exactly).

        Segment :math:`m` is :math:`(s_{m-1}, s_m]`; a last segment :math:`(s_M, 1]` that nobody values
        is added when :math:`s_M < 1`. Type :math:`(w_k, s_m)` values segments :math:`1..m` at
        :math:`w_k`.
        """
        tail = np.array([1.0]) if self.s[-1] < 1.0 else np.zeros(0)
        edges = np.concatenate([np.zeros(1), self.s, tail])
        mu = np.diff(edges)
        T = mu.size
        w, _ = self.pairs
        m = np.repeat(np.arange(self.s.size), self.w.n)
        profile = (np.arange(T)[None, :] <= m[:, None]) * w[:, None]
        return TaskProfileTypes(profile, self.prob, mu)


def flat_virtual_value_types(w: FloatArray, level: float) -> DiscreteTypes:
    r"""Probabilities on the grid ``w`` that make every discrete virtual value but the top one equal ``level``.

    Solves :math:`w_k - (w_{k+1}-w_k)(1-F_k)/f_k = \text{level}` downward from the top (a discrete
    truncated generalised Pareto law, the long-tail case where Assumption 2 fails).
    """
    w = V.vector("w", w)
    V.strictly_increasing("w", w)
    if not 0.0 < level < w[0]:
        raise ProblemSpecError("level", level, f"must lie in (0, w[0] = {w[0]:g})")
    f = np.zeros(w.size)
    f[-1] = 1.0
    tail = 1.0
    for k in range(w.size - 2, -1, -1):
        f[k] = (w[k + 1] - w[k]) * tail / (w[k] - level)
        tail += f[k]
    return DiscreteTypes(w, f / f.sum())


# ------------------------------------------------------------------------------------------ benchmark
@dataclass(frozen=True)
class ValueScaleMenu:
    """The observable-scale benchmark (eqs. 61-63, discrete w): arrays of shape ``(M, N_w)``."""

    types: ValueScaleTypes
    phi_bar: FloatArray
    quality: FloatArray
    transfer: FloatArray
    cost: FloatArray

    @property
    def rent(self) -> FloatArray:
        """:math:`U(w, s) = w\\,q(w, s) - t(w, s)`."""
        return self.types.w.theta[None, :] * self.quality - self.transfer

    @property
    def profit(self) -> float:
        """Expected profit; an upper bound for the contractible program (cross-scale ICs dropped)."""
        return float(self.types.prob @ (self.transfer - self.cost).ravel())

    def payoff_matrix(self) -> FloatArray:
        r"""Payoff of type :math:`(w, s)` (rows) from item :math:`(\tilde w, \tilde s)` (columns), type order."""
        w, s = self.types.pairs
        share = np.minimum(s[:, None], s[None, :]) / s[None, :]
        return w[:, None] * share * self.quality.ravel()[None, :] - self.transfer.ravel()[None, :]

    def cross_scale_gain(self) -> tuple[float, tuple[int, int] | None]:
        """Largest gain from misreporting (any pair, type order) and the pair; <= 0 means IC across scales."""
        gain = self.payoff_matrix() - self.rent.ravel()[:, None]
        i, j = np.unravel_index(int(np.argmax(gain)), gain.shape)
        best = float(gain[i, j])
        return best, ((int(i), int(j)) if best > 0 else None)


def observable_scale_menu(tech: Technology, types: ValueScaleTypes) -> ValueScaleMenu:
    """The optimal menu when the scale is observed: one exact discrete Mussa-Rosen menu per scale."""
    rows = []
    for s in types.s:
        dm = discrete_menu(scale_technology(tech, float(s)), types.w)
        rows.append((dm.phi_bar, s * dm.quality, s * dm.transfer, s * dm.cost))
    phi_bar, q, t, c = (np.array(x) for x in zip(*rows))
    return ValueScaleMenu(types, phi_bar, q, t, c)


# ------------------------------------------------------------------------------------------ Assumption 2
@dataclass(frozen=True)
class Assumption2Report:
    """Slack of Assumption 2 on a grid: ``slack[i, k]`` at scale ``s_grid[i]`` and value ``w_k`` (relative)."""

    s_grid: FloatArray
    w: FloatArray
    slack: FloatArray
    tol: float

    @property
    def min_slack(self) -> float:
        return float(self.slack.min())

    @property
    def holds(self) -> bool:
        return self.min_slack >= -self.tol

    @property
    def worst(self) -> tuple[float, float]:
        """The (w, s) where the slack is smallest."""
        i, k = np.unravel_index(int(np.argmin(self.slack)), self.slack.shape)
        return float(self.w[k]), float(self.s_grid[i])


def _discrete_rent(tech: Technology, w: DiscreteTypes, s: float) -> tuple[FloatArray, FloatArray]:
    dm = discrete_menu(scale_technology(tech, s), w)
    q = s * dm.quality
    rent = np.concatenate([[0.0], np.cumsum(np.diff(w.theta) * q[:-1])])
    return q, rent


def assumption2(tech: Technology, w: DiscreteTypes, s_lo: float, s_hi: float, n_s: int = 60,
                tol: float = 1e-9) -> Assumption2Report:
    r"""Check Assumption 2 (discrete form, see the module docstring) for scales in ``[s_lo, s_hi]``.

    The slack :math:`(w_k q_k(s) - s\,\partial_s U_k(s)) / \max_k w_k q_k(s)` is computed with a
    central difference in :math:`\log s` on ``n_s`` geometrically spaced scales. For a continuous
    :math:`F_w` pass a fine discretisation (``dist.discretize(2000)``).
    """
    s_lo = V.positive("s_lo", s_lo)
    if not s_hi >= s_lo:
        raise ProblemSpecError("s_hi", s_hi, f"must be >= s_lo = {s_lo:g}")
    grid = np.geomspace(s_lo, s_hi, n_s) if s_hi > s_lo else np.array([s_lo])
    h = 1e-5
    slack = np.empty((grid.size, w.n))
    for i, s in enumerate(grid):
        q, _ = _discrete_rent(tech, w, s)
        _, up = _discrete_rent(tech, w, s * np.exp(h))
        _, dn = _discrete_rent(tech, w, s * np.exp(-h))
        s_dU = (up - dn) / (2 * h)  # s * dU/ds = dU/dlog s
        scale = max(float(np.max(w.theta * q)), 1e-300)
        slack[i] = (w.theta * q - s_dU) / scale
    return Assumption2Report(grid, w.theta, slack, tol)
