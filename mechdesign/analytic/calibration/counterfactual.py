r"""Counterfactual menus from the calibrated primitives: fewer or more tiers, simple formats, a second model
(BBS §5.1-5.2, Prop 6) and an open-source fringe (BBS §5.3, Prop 7), in one table (:func:`counterfactuals`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ... import _validate as V
from ...exceptions import ProblemSpecError
from ...types import DiscreteTypes
from ..leader_fringe import LeaderFringe
from ..multimodel import ModelSpec, MultiModel
from .core import CalibrationResult, calibrate, calibrate_fees
from .data import FloatArray
from .pricing import (
    best_item_menu,
    linear_price,
    max_spend_items,
    min_spend_items,
    overage_items,
    reproduces,
    simulate_items,
    single_two_part,
    two_part_items,
)


def refine_top(
    theta: FloatArray, prob: FloatArray, share: float = 0.5, ratio: float | None = None
) -> tuple[FloatArray, FloatArray]:
    r"""K+1 types from K: a share of the top type's mass moves to a new type
    :math:`\theta_{K+1} = \theta_K \cdot \text{ratio}`; default ratio :math:`(\theta_K/\theta_{K-1})^{1/2}`,
    half the last step of the type ladder (geometric). With an even split the old top type's virtual value
    becomes :math:`\theta_K(2 - \text{ratio})`, so a full step would often make it pool with the tier
    below. An assumption, stated in the counterfactual report."""
    theta, prob = np.asarray(theta, dtype=float), np.asarray(prob, dtype=float)
    share = V.in_open("split_share", share, 0.0, 1.0)
    ratio = float(np.sqrt(theta[-1] / theta[-2])) if ratio is None else V.as_float("split_ratio", ratio)
    if not ratio > 1:
        raise ProblemSpecError("split_ratio", ratio, "must be > 1")
    th = np.append(theta, theta[-1] * ratio)
    pr = np.append(prob, prob[-1] * share)
    pr[-2] *= 1 - share
    return th, pr


def _split(res: CalibrationResult, sigma_share: float) -> tuple[float, float]:
    r""":math:`(\sigma, \hat\sigma)` with :math:`\sigma+\hat\sigma = 1/b`: the split is not identified by a
    single-model menu (only the sum is), so ``sigma_share`` = :math:`\sigma/(\sigma+\hat\sigma)` is an
    assumption."""
    share = V.in_open("sigma_share", sigma_share, 0.0, 1.0)
    return share * res.sigma_total, (1.0 - share) * res.sigma_total


def multimodel_counterfactual(
    res: CalibrationResult,
    sigma_hat_step: float = 0.1,
    kappa_ratio: float = 2.0,
    sigma_share: float = 0.5,
    name: str = "new model",
) -> dict[str, object]:
    r"""The multi-model menu (BBS §5.1-5.2, Prop 6) when a second, more capable model is added.

    Mapping (Lemma 3): the calibrated cost :math:`C(Q) = C_0Q^b` is model 1 with
    :math:`\sigma+\hat\sigma_1 = 1/b` and :math:`\kappa_1 = C_0`, i.e. :math:`C_1(Q) = \kappa_1
    Q^{1/(\sigma+\hat\sigma_1)}`. The new model (an assumption) has :math:`\hat\sigma_2 = \hat\sigma_1 +`
    ``sigma_hat_step`` (more capable: higher returns to fine-tuning) and :math:`\kappa_2 =` ``kappa_ratio``
    :math:`\times\kappa_1` (costlier per unit). The seller's cost of quality is the lower envelope eq. (21);
    each type gets the efficient model and quality of Prop 5 (eqs. 22-23) at its (ironed) discrete virtual
    value, Prop 6 (eqs. 25-27), via :meth:`MultiModel.discrete_monopoly`; fees from the binding local
    downward ICs. The menu depends on :math:`\sigma+\hat\sigma_l` and :math:`\kappa_l` only, so the split
    ``sigma_share`` (needed to build the models, Assumption 1) does not move it. Types and masses are the
    calibrated ones (shares among subscribers).

    Returns per-tier ``model, quality, fee, margin`` and the totals ``profit``, ``consumer_surplus``
    (:math:`\sum_k f_k(\theta_kQ_k - t_k)`), their ratios to the calibrated menu, and ``moved`` (tiers on
    the new model).
    """
    _tech, types = res.primitives()
    sigma, sh1 = _split(res, sigma_share)
    step = V.as_float("sigma_hat_step", sigma_hat_step)
    if not step > 0:
        raise ProblemSpecError("sigma_hat_step", step, "must be > 0 (the new model is more capable)")
    if not res.sigma_total + step < 1.0:
        raise ProblemSpecError(
            "sigma_hat_step",
            step,
            f"must keep sigma + sigma_hat < 1 (Assumption 1): here sigma + sigma_hat = {res.sigma_total:.4g}",
        )
    kr = V.positive("kappa_ratio", kappa_ratio)
    mm = MultiModel(
        sigma,
        (ModelSpec(sh1, res.C0, "calibrated"), ModelSpec(sh1 + step, kr * res.C0, name)),
    )
    model, Q, t, margin = mm.discrete_monopoly(types)
    f, th = types.prob, types.theta
    profit = float(f @ margin)
    cs = float(f @ (th * Q - t))
    labels = ["none" if m < 0 else mm.models[int(m)].name for m in model]
    return {
        "assumptions": {
            "sigma": sigma,
            "sigma_hat": [sh1, sh1 + step],
            "kappa": [res.C0, kr * res.C0],
            "sigma_hat_step": step,
            "kappa_ratio": kr,
            "sigma_share": sigma_share,
        },
        "tiers": pd.DataFrame(
            {
                "tier": res.names,
                "model": labels,
                "quality": Q,
                "calibrated_quality": res.quality,
                "fee": t,
                "posted_fee": res.fees,
                "margin": margin,
            }
        ),
        "profit": profit,
        "consumer_surplus": cs,
        "profit_share": profit / res.profit,
        "cs_share": cs / res.consumer_surplus if res.consumer_surplus else float("nan"),
        "moved": [n for n, m in zip(res.names, model, strict=True) if m == 1],
        "switch_types": mm.switch_types(),
    }


def fringe_counterfactual(
    res: CalibrationResult, c_F_ratio: float = 1.25, sigma_share: float = 0.5
) -> dict[str, object]:
    r"""The leader's menu when an open-source fringe enters at marginal cost (BBS §5.3, Lemma 4, Prop 7).

    Mapping: the calibrated model is the leader, :math:`\sigma+\hat\sigma_L = 1/b` (split by the
    assumption ``sigma_share``), leader quantity :math:`q_L = Q^{1/(\sigma+\hat\sigma_L)} = Q^b` at unit
    cost :math:`c_L = C_0` (so :math:`c_Lq_L = C(Q)`, USD). The fringe has :math:`\hat\sigma_F = 0`: its
    quality :math:`Q_F = q_F^\sigma` costs :math:`c_FQ_F^{1/\sigma}`, with :math:`c_F =` ``c_F_ratio``
    :math:`\times c_L` in the calibrated quality unit (top tier :math:`Q_K = 1`): at the top tier's quality
    the fringe costs ``c_F_ratio`` times the leader, and less below :math:`Q = (c_L/c_F)^{1/(1/\sigma-b)}`.
    Buyers top up at the fringe (eq. 28); Lemma 4's payoff net of the fringe-only option, eq. (31), with
    eq. (30)'s :math:`\hat q, \psi`; the leader's discrete menu by Prop 7's case analysis
    (:meth:`LeaderFringe.discrete_menu`: :math:`(q, t, \text{profit})`).

    :class:`LeaderFringe` normalises :math:`c_F < c_L`; that ratio depends on the unit of quality
    (:math:`Q' = \alpha Q` scales it by :math:`\alpha^{b-1/\sigma}`), so when ``c_F_ratio`` :math:`\ge 1`
    the problem is solved in the unit :math:`\alpha = (2\,c_F/c_L)^{1/(1/\sigma-b)}` (types
    :math:`\theta/\alpha`, where :math:`c_F/c_L = 1/2`) and mapped back; fees and profit are in USD either way.

    Returns per-tier leader quality, fee and whether the tier is served; ``profit``, ``profit_share``
    (relative to the calibrated monopoly menu), ``consumer_surplus`` (:math:`\sum_k f_k(u + \psi - t)`,
    including the fringe-only surplus), and ``monotone`` (the discrete menu is the full optimum when the
    quantities are non-decreasing).
    """
    _tech, types = res.primitives()
    sigma, shL = _split(res, sigma_share)
    ratio = V.positive("c_F_ratio", c_F_ratio)
    b = res.cost_exponent
    alpha = 1.0 if ratio < 1.0 else (2.0 * ratio) ** (1.0 / (1.0 / sigma - b))
    c_L = res.C0 * alpha ** (-b)
    c_F = ratio * res.C0 * alpha ** (-1.0 / sigma)
    lf = LeaderFringe(sigma, shL, c_L, c_F)
    th = types.theta / alpha
    f = types.prob
    q, t, profit = lf.discrete_menu(DiscreteTypes(th, f))
    Q = q**lf.d / alpha
    served = q > 0
    u = lf.u(th, q)
    psi = lf.psi(th)
    cs = float(f @ (u + psi - t))
    return {
        "assumptions": {
            "sigma": sigma,
            "sigma_hat_L": shL,
            "sigma_hat_F": 0.0,
            "c_L": res.C0,
            "c_F": ratio * res.C0,
            "c_F_ratio": ratio,
            "sigma_share": sigma_share,
            "unit_rescale": alpha,
            "fringe_cheaper_below_quality": float((1.0 / ratio) ** (1.0 / (1.0 / sigma - b))),
        },
        "tiers": pd.DataFrame(
            {
                "tier": res.names,
                "served": served,
                "leader_quality": Q,
                "calibrated_quality": res.quality,
                "fee": t,
                "posted_fee": res.fees,
                "fringe_only_surplus": psi,
            }
        ),
        "profit": float(profit),
        "profit_share": float(profit) / res.profit,
        "consumer_surplus": cs,
        "cs_share": cs / res.consumer_surplus if res.consumer_surplus else float("nan"),
        "served": [n for n, s in zip(res.names, served, strict=True) if s],
        "monotone": bool(np.all(np.diff(q) >= -1e-12 * max(float(q.max()), 1e-300))),
    }


def counterfactuals(
    res: CalibrationResult,
    split_share: float = 0.5,
    split_ratio: float | None = None,
    overage_price: float | None = None,
    sigma_hat_step: float = 0.1,
    kappa_ratio: float = 2.0,
    c_F_ratio: float = 1.25,
    sigma_share: float = 0.5,
) -> tuple[pd.DataFrame, dict[str, object]]:
    r"""Counterfactual menus from the calibrated primitives, in one table plus details.

    Rows: the calibrated optimum (= the posted menu), the best K-1 tier menu, the best K and K+1 tier
    menus on a refined population (:func:`refine_top`), one linear price, one two-part tariff, and the
    implementations of the calibrated optimum (max spend, min spend, allowance plus flat overage price,
    two-part tariffs with and without caps), each simulated, then the market-structure counterfactuals:
    the multi-model menu with a second model (:func:`multimodel_counterfactual`, Prop 6; ``sigma_hat_step``,
    ``kappa_ratio``) and the leader's menu against an open-source fringe (:func:`fringe_counterfactual`,
    Prop 7; ``c_F_ratio``), both with the unidentified split ``sigma_share`` of :math:`\sigma+\hat\sigma`.
    ``profit_share`` and ``cs_share`` are relative to the optimal K-tier menu of the same population. For an
    inconsistent menu the primitives of its nearest consistent menu are used (stated in the details).
    """
    details: dict[str, object] = {}
    if not res.consistent:
        if res.nearest is None:
            raise ProblemSpecError(
                "menu", res.menu.name, "is inconsistent and no nearest consistent menu exists"
            )
        details["based_on"] = (
            "nearest consistent menu (fees " + ", ".join(f"{f:.4g}" for f in res.nearest.fees) + ")"
        )
        res = calibrate(calibrate_fees(res.menu, res.nearest.fees), res.cost_exponent, C0=res.C0)
        if not res.consistent:
            raise ProblemSpecError(
                "menu", res.menu.name, "has no consistent projection at this cost exponent"
            )
    else:
        details["based_on"] = "posted menu"
    tech, types = res.primitives()
    th, f, K = types.theta, types.prob, types.n
    Q, T = res.quality, res.fees
    lam = res.cost_scale
    base_p, base_cs = res.profit, res.consumer_surplus
    rows: list[dict[str, object]] = []

    def add(
        scheme: str,
        population: str,
        items: int,
        profit: float,
        cs: float,
        ref: tuple[float, float],
        exact: object = None,
        note: str = "",
    ) -> None:
        rows.append(
            {
                "scheme": scheme,
                "population": population,
                "items": items,
                "profit": profit,
                "consumer_surplus": cs,
                "total_surplus": profit + cs,
                "profit_share": profit / ref[0],
                "cs_share": cs / ref[1] if ref[1] else float("nan"),
                "exact": exact,
                "note": note,
            }
        )

    ref = (base_p, base_cs)
    add("calibrated optimum (posted menu)", "calibrated", K, base_p, base_cs, ref, True)
    km1 = best_item_menu(tech, th, f, K - 1)
    add(
        f"optimal {K - 1} tier{'s' if K > 2 else ''}",
        "calibrated",
        len(km1.blocks),
        km1.profit,
        km1.consumer_surplus,
        ref,
        note="blocks " + ", ".join(f"{res.names[s]}..{res.names[e - 1]}" for s, e in km1.blocks),
    )
    th2, f2 = refine_top(th, f, split_share, split_ratio)
    k_ref = best_item_menu(tech, th2, f2, K)
    kp1 = best_item_menu(tech, th2, f2, K + 1)
    ref2 = (k_ref.profit, k_ref.consumer_surplus)
    note2 = f"top tier's mass split {split_share:g}/{1 - split_share:g}, new type theta = {th2[-1]:.4g}"
    add(
        f"optimal {K} tiers",
        "refined",
        len(k_ref.blocks),
        k_ref.profit,
        k_ref.consumer_surplus,
        ref2,
        note=note2,
    )
    add(
        f"optimal {K + 1} tiers",
        "refined",
        len(kp1.blocks),
        kp1.profit,
        kp1.consumer_surplus,
        ref2,
        note=note2,
    )
    lin = linear_price(tech, th, f)
    add(
        "one linear price",
        "calibrated",
        1,
        lin["profit"],
        lin["consumer_surplus"],
        ref,
        note=f"price = {lin['markup']:.4g} x marginal cost = {lin['markup'] * lam:.4g} USD per unit",
    )
    tp = single_two_part(tech, th, f)
    add(
        "one two-part tariff",
        "calibrated",
        1,
        tp["profit"],
        tp["consumer_surplus"],
        ref,
        note=f"fee {tp['fee']:.4g} USD + {tp['markup']:.4g} x marginal cost "
        f"({tp['markup'] * lam:.4g} USD per unit); lowest buyer: tier {res.names[int(tp['lowest_buyer'])]}",
    )
    impls = [
        (
            "maximum spend (Def 1)",
            max_spend_items(tech, Q, T),
            "budgets = posted allowances at marginal cost",
        ),
        (
            "minimum spend (Def 2)",
            min_spend_items(tech, Q, T),
            "overage price per unit r_k * lambda = T_k / A_k: "
            + ", ".join(f"{n} {t / a:.4g}" for n, t, a in zip(res.names, T, res.allowances, strict=True)),
        ),
    ]
    p_o = overage_price if overage_price is not None else res.menu.overage_price
    if p_o is not None:
        impls.append(
            (
                f"allowance + overage at {p_o:g} USD/unit",
                overage_items(tech, Q, T, p_o / lam),
                f"overage = {p_o / lam:.4g} x marginal cost",
            )
        )
    impls += [
        ("two-part tariffs, capped (markup)", two_part_items(tech, th, Q, T, True, "markup"), "p_k = m_k"),
        (
            "two-part tariffs, capped (floor)",
            two_part_items(tech, th, Q, T, True, "floor"),
            "p_k = theta_1 / C'(Q_k)",
        ),
        ("two-part tariffs, no caps (markup)", two_part_items(tech, th, Q, T, False, "markup"), "p_k = m_k"),
    ]
    repro = {}
    for name, items, note in impls:
        rep = reproduces(items, tech, th, f, Q, T)
        repro[name] = rep
        extra = "" if rep.exact else " missorted tiers: " + ", ".join(res.names[i] for i in rep.missorted)
        add(name, "calibrated", items.size, rep.profit, rep.consumer_surplus, ref, rep.exact, note + extra)
    details["overage"] = {
        "implied_min_spend_overage_usd_per_unit": {
            n: float(t / a) for n, t, a in zip(res.names, T, res.allowances, strict=True)
        },
        "posted_overage_usd_per_unit": p_o,
        "marginal_cost_usd_per_unit": lam,
        "posted_overage_over_marginal_cost": None if p_o is None else p_o / lam,
        "markups_m": dict(zip(res.names, res.m.tolist(), strict=True)),
    }
    if p_o is not None:
        sim = simulate_items(overage_items(tech, Q, T, p_o / lam), tech, th)
        details["overage"]["buys_overage"] = {  # type: ignore[index]
            res.names[i]: bool(sim["quality"].iloc[i] > Q[int(sim["item"].iloc[i])] * (1 + 1e-12))
            if sim["item"].iloc[i] >= 0
            else False
            for i in range(K)
        }
    try:
        mm = multimodel_counterfactual(res, sigma_hat_step, kappa_ratio, sigma_share)
    except ProblemSpecError as exc:
        details["multimodel"] = {"skipped": str(exc)}
    else:
        details["multimodel"] = mm
        tiers: Any = mm["tiers"]
        add(
            "multi-model menu (Prop 6)",
            "calibrated",
            int(np.unique(np.round(tiers["quality"].to_numpy(), 12)).size),
            mm["profit"],  # type: ignore[arg-type]
            mm["consumer_surplus"],  # type: ignore[arg-type]
            ref,
            note=f"new model: sigma_hat + {sigma_hat_step:g}, kappa x {kappa_ratio:g}; on it: "
            + (", ".join(mm["moved"]) or "no tier"),  # type: ignore[arg-type]
        )
    try:
        fr = fringe_counterfactual(res, c_F_ratio, sigma_share)
    except ProblemSpecError as exc:
        details["fringe"] = {"skipped": str(exc)}
    else:
        details["fringe"] = fr
        add(
            f"leader vs fringe at c_F = {c_F_ratio:g} c_L (Prop 7)",
            "calibrated",
            len(fr["served"]),  # type: ignore[arg-type]
            fr["profit"],  # type: ignore[arg-type]
            fr["consumer_surplus"],  # type: ignore[arg-type]
            ref,
            note=f"sigma share {sigma_share:g}; leader serves: "
            + (", ".join(fr["served"]) or "no tier")  # type: ignore[arg-type]
            + "; CS includes the fringe-only surplus",
        )
    details["assumptions"] = {
        "split_share": split_share,
        "new_top_type": float(th2[-1]),
        "cost_exponent": res.cost_exponent,
        "cost_scale": lam,
    }
    details["reproduction"] = {
        k: {"exact": v.exact, "quality_error": v.quality_error, "payment_error": v.payment_error}
        for k, v in repro.items()
    }
    return pd.DataFrame(rows), details
