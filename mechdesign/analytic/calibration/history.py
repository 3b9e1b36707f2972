r"""Price pages through time: calibrate an earlier menu, predict a later one, and ask what changed.

Out-of-sample test of the single-model screening model (BBS §4, Prop 3, discrete types; §6): the earlier
page's primitives :math:`(\theta, f, C)` are calibrated by (C1)-(C6) of
:mod:`mechdesign.analytic.calibration.core`, and the later page is set against what they predict:

* **the optimal K'-tier menu** (K' the later page's number of paid tiers). A new tier needs a type to
  serve: one is inserted for every tier without a predecessor (:func:`insert_types`, an assumption stated
  in the result), and the optimum over the enlarged population is the exhaustive block search
  :func:`~mechdesign.analytic.calibration.pricing.best_item_menu` (Prop 3 with pooling allowed); each
  posted tier is compared with the predicted tier that serves its type (fee, allowance);
* **where a new tier's fee must sit**: with the earlier tiers and types kept, a tier of allowance
  :math:`A'` (quality :math:`Q' = (\lambda A'/C_0)^{1/b}`, (C1)) draws no earlier type away from its
  tier iff its fee is at least :math:`\max_k(\theta_kQ' - U_k)` (:math:`U_k` the calibrated rents,
  eq. 13): the no-cannibalisation fee;
* **the profit and surplus effect of each posted fee or allowance change** of a continuing tier,
  simulated on the earlier population (every type takes its best tier,
  :func:`~mechdesign.analytic.calibration.pricing.simulate_items`), and of the whole later menu;
* **the reverse question**: is the later page consistent at the earlier cost exponent, with the earlier
  cost scale :math:`\lambda` (the top's no-distortion condition (C4) as a restriction), and which
  primitives (:math:`b, \lambda`, the top budget, the top and bottom types, the tier masses) must have
  changed for it to be optimal.

Allowances are compared in the earlier page's unit. When the units differ (premium requests and AI
credits) or are relative to a base tier, the comparison goes through a tier present on both pages (the
anchor), assuming its allowance unchanged in real terms: an assumption, stated. Free tiers are outside
the model (their IR fails, (C7)) and are dropped from both pages, as ``--paid-only`` does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from ... import _validate as V
from ...exceptions import ProblemSpecError
from .core import CalibrationResult, calibrate, calibrate_fees
from .data import FloatArray, ObservedMenu
from .identified import AllowanceSet, allowance_identified_set
from .pricing import BlockMenu, best_item_menu, max_spend_items, simulate_items

#: a primitive is reported as changed when its ratio to the earlier value is off 1 by more than this
CHANGE_RTOL = 1e-6
#: share of a neighbouring type's mass given to an inserted type (an assumption, see insert_types)
INSERT_SHARE = 0.5


def insert_types(
    theta: FloatArray, prob: FloatArray, positions: list[int], share: float = INSERT_SHARE
) -> tuple[FloatArray, FloatArray, list[int]]:
    r"""Types for new tiers: one new type at each ``position`` (0 = below the lowest, K = above the top).

    A type inserted between :math:`\theta_{p-1}` and :math:`\theta_p` sits at their geometric mean and
    takes ``share`` of the upper neighbour's mass; below the lowest type it sits half a (geometric) step
    below, :math:`\theta_1(\theta_1/\theta_2)^{1/2}`, with ``share`` times :math:`f_1` of new mass (the
    non-subscribers' mass is not identified, (C6)); above the top, half a step above,
    :math:`\theta_K(\theta_K/\theta_{K-1})^{1/2}`, with ``share`` of the top mass
    (:func:`~mechdesign.analytic.calibration.counterfactual.refine_top`). Several types at one position
    split the step evenly in logs and the share evenly. Masses are renormalised to sum to one.

    Returns ``(theta, prob, new_index)``: the enlarged sorted types and the index of each inserted type
    (in the order of ``positions``).
    """
    theta, prob = np.asarray(theta, dtype=float), np.asarray(prob, dtype=float)
    share = V.in_open("insert_share", share, 0.0, 1.0)
    K = theta.size
    if K < 2:
        raise ProblemSpecError("theta", theta.tolist(), "needs at least 2 types to insert new ones")
    lt = np.log(theta)
    th = list(theta)
    pr = list(prob)
    tags = [-1] * K
    counts = {p: positions.count(p) for p in set(positions)}
    seen: dict[int, int] = {}
    for i, p in enumerate(positions):
        if not 0 <= p <= K:
            raise ProblemSpecError("positions", p, f"must be in [0, {K}]")
        j, m = seen.get(p, 0) + 1, counts[p]
        seen[p] = j
        if p == 0:
            step = lt[0] - lt[1]
            x = lt[0] + step * j / (m + 1)
            pr.append(share * prob[0] / m)
        elif p == K:
            step = lt[-1] - lt[-2]
            x = lt[-1] + step * j / (m + 1)
            pr.append(share * prob[-1] / m)
            pr[K - 1] -= share * prob[-1] / m
        else:
            x = lt[p - 1] + (lt[p] - lt[p - 1]) * j / (m + 1)
            pr.append(share * prob[p] / m)
            pr[p] -= share * prob[p] / m
        th.append(math.exp(x))
        tags.append(i)
    order = np.argsort(th, kind="stable")
    th_s, pr_s = np.array(th)[order], np.array(pr)[order]
    new_index = [0] * len(positions)
    for pos, o in enumerate(order):
        if tags[o] >= 0:
            new_index[tags[o]] = pos
    return th_s, pr_s / pr_s.sum(), new_index


def _paid(menu: ObservedMenu) -> tuple[ObservedMenu, list[str]]:
    free = [t.name for t in menu.tiers if t.fee <= 0]
    if not free:
        return menu, []
    return replace(menu, tiers=tuple(t for t in menu.tiers if t.fee > 0)), free


def _matches(old: ObservedMenu, new: ObservedMenu) -> dict[str, str | None]:
    """Later tier -> the earlier tier it continues (``continues``, else the same name), or None."""
    names = set(old.names)
    out: dict[str, str | None] = {}
    for t in new.tiers:
        prev = t.continues or t.name
        out[t.name] = prev if prev in names else None
    return out


def _unit_scale(
    old: ObservedMenu, new: ObservedMenu, match: dict[str, str | None]
) -> tuple[float | None, str]:
    """Factor turning a later allowance into the earlier unit, and how it was obtained."""
    if old.unit == new.unit and old.unit != "relative usage":
        return 1.0, f"both pages in {old.unit}: allowances compared as posted"
    A_old = {t.name: t.allowance for t in old.tiers}
    for t in sorted(new.tiers, key=lambda t: t.fee):
        prev = match.get(t.name)
        if prev is not None and t.allowance is not None and A_old.get(prev) is not None:
            a_old = float(A_old[prev])  # type: ignore[arg-type]
            scale = a_old / t.allowance
            return scale, (
                f"allowances compared in the earlier unit ({old.unit}) through tier {prev!r}, assumed unchanged "
                f"in real terms: {t.allowance:g} {new.unit} = {a_old:g} {old.unit} (factor {scale:.6g}); "
                "an assumption, not a fact of either page"
            )
    return None, (
        f"no tier with a known allowance on both pages: {new.unit} cannot be put in {old.unit}, so "
        "allowance-based predictions are not made"
    )


def _sim(res: CalibrationResult, Q: FloatArray, T: FloatArray) -> pd.DataFrame:
    tech, types = res.primitives()
    order = np.argsort(Q)
    return simulate_items(
        max_spend_items(tech, np.asarray(Q)[order], np.asarray(T)[order]), tech, types.theta
    )


@dataclass(frozen=True)
class OutOfSample:
    """The earlier page calibrated, its predictions for the later page, and the reverse question."""

    old: CalibrationResult
    base: CalibrationResult
    new: ObservedMenu
    based_on: str
    scale: float | None
    unit_note: str
    match: dict[str, str | None]
    tiers: pd.DataFrame
    theta_ext: FloatArray
    prob_ext: FloatArray
    type_labels: list[str]
    predicted: BlockMenu | None
    predicted_table: pd.DataFrame
    changes_effects: pd.DataFrame
    new_on_old: dict[str, object]
    new_res: CalibrationResult | None
    new_at_old_b: CalibrationResult | None
    new_with_old_scale: CalibrationResult | None
    new_allowance_set: AllowanceSet | None
    primitives: pd.DataFrame
    answers: dict[str, object]
    notes: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------------------------ output
    def summary(self) -> str:
        o, n = self.old.menu, self.new
        fmt = {"float_format": lambda v: f"{v:.6g}", "index": False}
        lines = [
            f"Out-of-sample test: {o.name} ({o.effective_date}) -> {n.name} ({n.effective_date})",
            f"earlier page: {self.old.verdict()}",
            f"predictions use the primitives of the {self.based_on}",
            "units: " + self.unit_note,
            "",
            (
                "later page, tier by tier (allowance_old: in the earlier unit; predicted_*: the optimal "
                f"{n.K}-tier menu of the earlier primitives; no_cannibalisation_fee: the least fee at which no "
                "earlier type leaves its tier):"
            ),
        ]
        with pd.option_context("display.width", 220, "display.max_columns", 30, "display.max_colwidth", 40):
            lines.append(self.tiers.to_string(**fmt))  # type: ignore[arg-type]
            if not self.predicted_table.empty:
                lines += ["", f"predicted optimal {n.K}-tier menu (types: {', '.join(self.type_labels)}):"]
                lines.append(self.predicted_table.to_string(**fmt))  # type: ignore[arg-type]
            if not self.changes_effects.empty:
                lines += [
                    "",
                    "effect of each posted change on the earlier population (per subscriber-month):",
                ]
                lines.append(self.changes_effects.to_string(**fmt))  # type: ignore[arg-type]
            if self.new_on_old:
                nl: dict[str, Any] = self.new_on_old
                lines += [
                    "",
                    (
                        f"the later menu on the earlier population: profit {nl['profit']:.6g} USD "
                        f"({100 * nl['profit_change']:+.3g}%), consumer surplus {nl['consumer_surplus']:.6g} USD "
                        f"({100 * nl['cs_change']:+.3g}%); choices: {nl['choices']}"
                    ),
                ]
            lines += ["", "reverse question: is the later page optimal for the same primitives?"]
            lines.append(self.primitives.to_string(**fmt))  # type: ignore[arg-type]
        for k, v in self.answers.items():
            lines.append(f"{k}: {v}")
        if self.new_allowance_set is not None:
            lines.append(self.new_allowance_set.describe())
        lines.extend("note: " + x for x in self.notes)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        return {
            "earlier": self.old.to_dict(),
            "later_menu": self.new.describe(),
            "based_on": self.based_on,
            "unit_scale": self.scale,
            "unit_note": self.unit_note,
            "match": self.match,
            "tiers": self.tiers.to_dict(orient="records"),
            "types": {
                "theta": self.theta_ext.tolist(),
                "prob": self.prob_ext.tolist(),
                "labels": self.type_labels,
            },
            "predicted": self.predicted_table.to_dict(orient="records"),
            "predicted_profit": None if self.predicted is None else self.predicted.profit,
            "predicted_consumer_surplus": None if self.predicted is None else self.predicted.consumer_surplus,
            "change_effects": self.changes_effects.to_dict(orient="records"),
            "later_on_earlier_population": self.new_on_old,
            "later": None if self.new_res is None else self.new_res.to_dict(),
            "later_at_earlier_b": None if self.new_at_old_b is None else self.new_at_old_b.to_dict(),
            "later_allowance_set": None
            if self.new_allowance_set is None
            else self.new_allowance_set.to_dict(),
            "primitives": self.primitives.to_dict(orient="records"),
            "answers": self.answers,
            "notes": self.notes,
        }


def out_of_sample(
    old: ObservedMenu,
    new: ObservedMenu,
    cost_exponent: float | None = None,
    *,
    sigma_total: float | None = None,
    insert_share: float = INSERT_SHARE,
) -> OutOfSample:
    r"""Calibrate ``old`` (the earlier page), predict ``new`` (the later page) and ask what changed.

    Parameters
    ----------
    old, new : ObservedMenu
        The two snapshots of one provider (:func:`~mechdesign.analytic.calibration.load_observed`), with
        every allowance of ``old`` known (set assumptions with ``with_allowances``). A later tier with an
        unknown allowance is predicted (its fee and allowance from the earlier primitives) but left out of
        the later page's own calibration, whose identified set over that allowance is reported instead.
    cost_exponent, sigma_total : float, optional
        :math:`b` (or :math:`1/b`) for the earlier page; default the midpoint of its identified set
        (:func:`~mechdesign.analytic.calibration.calibrate`).
    insert_share : float
        The share of a neighbouring type's mass given to each new type (:func:`insert_types`).

    Returns
    -------
    OutOfSample
        Tables of the comparison; ``summary()`` prints it, ``to_dict()`` is JSON-ready.
    """
    notes: list[str] = []
    old_p, free_old = _paid(old)
    new_p, free_new = _paid(new)
    if free_old or free_new:
        notes.append(
            "free tiers dropped from both pages (outside the model: the lowest served type pays, eq. 13): "
            + ", ".join([f"{n} (earlier)" for n in free_old] + [f"{n} (later)" for n in free_new])
        )
    res = calibrate(old_p, cost_exponent, sigma_total=sigma_total, identify=True)
    if res.consistent:
        base, based_on = res, "earlier page as posted"
    else:
        if res.nearest is None:
            raise ProblemSpecError(
                "menu", old.name, "is inconsistent and has no consistent projection: " + res.verdict()
            )
        base = calibrate(calibrate_fees(old_p, res.nearest.fees), res.cost_exponent, C0=res.C0)
        based_on = (
            "nearest consistent menu to the earlier page (fees "
            + ", ".join(f"{f:.4g}" for f in res.nearest.fees)
            + "), since the page itself is inconsistent"
        )
    tech, types = base.primitives()
    theta, prob = types.theta, types.prob
    b, lam, C0 = base.cost_exponent, base.cost_scale, base.C0
    match = _matches(old_p, new_p)
    scale, unit_note = _unit_scale(old_p, new_p, match)
    U = base.rent

    def q_of(a_old: float) -> float:
        return float((lam * a_old / C0) ** (1.0 / b))  # (C1)

    # ---------------------------------------------------------------- the optimal K'-tier menu
    old_idx = {n: i for i, n in enumerate(base.names)}
    fee_of_old = {}
    for n in base.names:
        succ = [t for t, p in match.items() if p == n]
        fee_of_old[n] = (
            next(t.fee for t in new_p.tiers if t.name == succ[0]) if succ else float(base.fees[old_idx[n]])
        )
    new_tiers = [t for t in new_p.tiers if match[t.name] is None]
    positions = [sum(1 for n in base.names if fee_of_old[n] < t.fee) for t in new_tiers]
    if new_tiers:
        th_x, f_x, new_index = insert_types(theta, prob, positions, insert_share)
        notes.append(
            f"new tiers ({', '.join(t.name for t in new_tiers)}) need types the earlier page does not reveal: "
            f"each gets a type at the geometric middle of its neighbours (half a step beyond an end) with "
            f"{insert_share:g} of a neighbour's mass (insert_types); an assumption, and the predicted menu "
            "depends on it"
        )
    else:
        th_x, f_x, new_index = theta, prob, []
    labels = [""] * th_x.size
    j = 0
    inserted = set(new_index)
    for i in range(th_x.size):
        if i not in inserted:
            labels[i] = base.names[j]
            j += 1
    for t, i in zip(new_tiers, new_index, strict=True):
        labels[i] = "new: " + t.name
    K_new = new_p.K
    pred = best_item_menu(tech, th_x, f_x, K_new)
    block_of = {}
    rows_p = []
    for i, (s, e) in enumerate(pred.blocks):
        for k in range(s, e):
            block_of[labels[k]] = i
        a_old = float(tech.cost(pred.quality[i : i + 1])[0] / lam)
        rows_p.append(
            {
                "item": i + 1,
                "types": ", ".join(labels[s:e]),
                "fee": float(pred.transfer[i]),
                "allowance_old": a_old,
                "allowance_new": a_old / scale if scale else float("nan"),
                "quality": float(pred.quality[i]),
            }
        )
    pred_table = pd.DataFrame(rows_p)

    # -------------------------------------------------------------------- tier by tier
    rows = []
    for t in sorted(new_p.tiers, key=lambda t: t.fee):
        prev = match[t.name]
        label = prev if prev is not None else "new: " + t.name
        a_old = t.allowance * scale if (t.allowance is not None and scale) else float("nan")
        row: dict[str, object] = {
            "tier": t.name,
            "continues": prev or "",
            "fee": t.fee,
            "allowance": float("nan") if t.allowance is None else t.allowance,
            "allowance_old": a_old,
            "earlier_fee": float(res.fees[old_idx[prev]]) if prev else float("nan"),
            "earlier_allowance": float(base.allowances[old_idx[prev]]) if prev else float("nan"),
        }
        bi = block_of.get(label)
        row["predicted_fee"] = float(pred.transfer[bi]) if bi is not None else float("nan")
        row["predicted_allowance_old"] = (
            pred_table["allowance_old"].iloc[bi] if bi is not None else float("nan")
        )
        row["predicted_served"] = bi is not None
        if np.isfinite(a_old):
            q = q_of(a_old)
            vals = theta * q - U
            k = int(np.argmax(vals))
            row["no_cannibalisation_fee"] = float(max(vals[k], 0.0))
            row["draws_below_that"] = base.names[k]
            row["cost_usd"] = lam * a_old
        else:
            row["no_cannibalisation_fee"] = float("nan")
            row["draws_below_that"] = ""
            row["cost_usd"] = float("nan")
        rows.append(row)
    tiers = pd.DataFrame(rows)

    # ---------------------------------------------- effects of posted changes on the earlier population
    f0 = prob
    eff = []
    for t in new_p.tiers:
        prev = match[t.name]
        if prev is None:
            continue
        k = old_idx[prev]
        fee_changed = abs(t.fee - base.fees[k]) > 1e-12 * max(t.fee, 1.0)
        a_new = t.allowance * scale if (t.allowance is not None and scale) else None
        allow_changed = a_new is not None and abs(a_new - base.allowances[k]) > 1e-9 * base.allowances[k]
        variants: list[tuple[str, float | None, float | None]] = []
        if fee_changed:
            variants.append((f"fee {base.fees[k]:.6g} -> {t.fee:.6g}", t.fee, None))
        if allow_changed:
            variants.append(
                (f"allowance {base.allowances[k]:.6g} -> {a_new:.6g} (earlier unit)", None, a_new)
            )
        if fee_changed and allow_changed:
            variants.append(("both", t.fee, a_new))
        for what, fee, allowance in variants:
            Q, T = base.quality.copy(), base.fees.copy()
            if fee is not None:
                T[k] = fee
            if allowance is not None:
                Q[k] = q_of(allowance)
            sim = _sim(base, Q, T)
            p, cs = float(f0 @ sim["profit"]), float(f0 @ sim["payoff"])
            eff.append(
                {
                    "tier": prev,
                    "change": what,
                    "profit": p,
                    "consumer_surplus": cs,
                    "profit_change": p - base.profit,
                    "cs_change": cs - base.consumer_surplus,
                    "choices": ", ".join(_choice_names(sim, Q, base.names)),
                }
            )
    changes_effects = pd.DataFrame(eff)

    new_on_old: dict[str, object] = {}
    known_new = [t for t in new_p.tiers if t.allowance is not None]
    if scale and known_new:
        Qn = np.array([q_of(t.allowance * scale) for t in known_new])  # type: ignore[operator]
        Tn = np.array([t.fee for t in known_new])
        sim = _sim(base, Qn, Tn)
        p, cs = float(f0 @ sim["profit"]), float(f0 @ sim["payoff"])
        new_on_old = {
            "profit": p,
            "consumer_surplus": cs,
            "profit_change": p / base.profit - 1.0,
            "cs_change": cs / base.consumer_surplus - 1.0 if base.consumer_surplus else float("nan"),
            "choices": dict(
                zip(base.names, _choice_names(sim, Qn, [t.name for t in known_new]), strict=True)
            ),
            "left_out": [t.name for t in new_p.tiers if t.allowance is None],
        }

    # ------------------------------------------------------------------------- reverse question
    unknown = [t.name for t in new_p.tiers if t.allowance is None]
    aset = None
    new_known = replace(new_p, tiers=tuple(t for t in new_p.tiers if t.allowance is not None))
    if unknown:
        if len(unknown) == 1:
            aset = allowance_identified_set(new_p, unknown[0])
        notes.append(
            "later tiers with an unknown allowance ("
            + ", ".join(unknown)
            + ") are left out of the later page's "
            "calibration; what they leave unidentified: their allowance (identified set below) and, with it, "
            "the types and masses of the full later menu"
        )
    new_res = new_b = new_lam = None
    prim_rows: list[dict[str, object]] = []
    answers: dict[str, object] = {}
    if new_known.K >= 2:
        new_res = calibrate(new_known, identify=True)
        new_b = calibrate(new_known, b, C0=C0, identify=False)
        ident = new_res.identified
        inside = ident is not None and any(lo <= 1 / b <= hi for lo, hi in ident.intervals_sigma_total)
        answers["later page consistent (own identified set)"] = f"{new_res.consistent}: " + (
            "empty" if ident is None else ident.describe()
        )
        answers["earlier cost exponent inside the later identified set"] = (
            f"{inside} (b = {b:.6g}, sigma + sigma_hat = {1 / b:.6g})"
        )
        answers["later page consistent at the earlier b"] = f"{new_b.consistent}: {new_b.verdict()}"
        if scale:
            new_lam = calibrate(new_known, b, C0=C0, cost_scale=lam * scale, identify=False, nearest=False)
            top = [r for r in new_lam.restrictions if r.kind == "top"]
            answers["later page consistent with the earlier b and cost scale"] = f"{new_lam.consistent}: " + (
                top[0].message if top else new_lam.verdict()
            )

        def add(q: str, a: float, z: float, unit: str) -> None:
            ratio = z / a if a else float("nan")
            prim_rows.append(
                {
                    "quantity": q,
                    "unit": unit,
                    "earlier": a,
                    "later": z,
                    "ratio": ratio,
                    "changed": bool(np.isfinite(ratio) and abs(ratio - 1) > CHANGE_RTOL),
                }
            )

        add("cost exponent b (own identified set)", b, new_res.cost_exponent, "")
        if scale:
            add("cost scale lambda at the earlier b", lam, new_b.cost_scale / scale, f"USD per {old.unit}")
        add("top budget B_K at the earlier b", float(base.budget[-1]), float(new_b.budget[-1]), "USD")
        add(
            "top type theta_K at the earlier b", float(theta[-1]), float(new_b.theta[-1]), "USD per unit of Q"
        )
        add(
            "lowest type theta_1 at the earlier b",
            float(theta[0]),
            float(new_b.theta[0]),
            "USD per unit of Q",
        )
        for n in new_known.names:
            prev = match.get(n)
            if prev is not None and new_b._masses_ok:
                add(
                    f"mass of {n} at the earlier b",
                    float(prob[old_idx[prev]]),
                    float(new_b.masses[new_known.names.index(n)]),
                    "share",
                )
        add("profit per subscriber at the earlier b", base.profit, new_b.profit, "USD/month")
        add(
            "consumer surplus per subscriber at the earlier b",
            base.consumer_surplus,
            new_b.consumer_surplus,
            "USD/month",
        )
        changed = [r["quantity"] for r in prim_rows if r["changed"]]
        same = (
            new_b.consistent
            and new_known.K == base.menu.K
            and not changed
            and (new_lam is None or new_lam.consistent)
        )
        answers["same primitives"] = (
            "yes: the later page is the optimal menu of the earlier primitives"
            if same
            else "no; changed for the later page to be optimal: "
            + (", ".join(str(c) for c in changed) or "the tier count")
        )
    else:
        answers["same primitives"] = (
            "not answered: the later page has fewer than 2 tiers with known allowances"
        )
    return OutOfSample(
        res,
        base,
        new_p,
        based_on,
        scale,
        unit_note,
        match,
        tiers,
        th_x,
        f_x,
        labels,
        pred,
        pred_table,
        changes_effects,
        new_on_old,
        new_res,
        new_b,
        new_lam,
        aset,
        pd.DataFrame(prim_rows),
        answers,
        notes,
    )


def _choice_names(sim: pd.DataFrame, Q: FloatArray, names: list[str]) -> list[str]:
    """The tier each simulated type takes (``sim`` rows follow the types), found by its quality."""
    Q = np.asarray(Q, dtype=float)
    out = []
    for i, q in zip(sim["item"].to_numpy(), sim["quality"].to_numpy(), strict=True):
        out.append("none" if i < 0 else names[int(np.argmin(np.abs(Q - q)))])
    return out
