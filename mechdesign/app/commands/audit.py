"""``mechdesign audit``: a posted menu (CSV) against a problem's types: each type's choice, the profit share
of the optimum, and IC and IR when the menu is a direct one."""

from __future__ import annotations

import argparse
import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from mechdesign.exceptions import ProblemFileError, ProblemSpecError

#: accepted names of a posted menu's columns (audit); the first of each group that is present is used
PRICE_COLUMNS = ("transfer", "fee", "payment", "upfront_fee")
QUALITY_COLUMNS = ("quality",)
BUDGET_COLUMNS = ("budget", "credit_budget")
#: pages whose items are priced per token with a markup (``mechdesign price --format min-spend / two-part``)
MARKUP_PAGES = {"committed_spend": "min-spend", "fixed_fee": "two-part"}


def _read_menu(path_text: str) -> pd.DataFrame:
    """A menu CSV as text cells (numbers are parsed by :func:`_menu_numbers`, which names bad cells)."""
    path = Path(path_text)
    if path.is_dir():
        raise ProblemFileError(f"menu file {path_text!r} is a folder, not a CSV file")
    if not path.is_file():
        raise ProblemFileError(f"menu file {path_text!r} does not exist")
    try:
        menu = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise ProblemFileError(f"menu file {path_text!r} is empty: it needs a header and one row per item") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ProblemFileError(f"menu file {path_text!r} is not a readable CSV: {first}") from None
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:  # pandas renames repeats (x, x.1)
        header = [str(c).strip() for c in next(csv.reader(fh, skipinitialspace=True), [])]
    menu.columns = [str(c).strip() for c in menu.columns]
    dup = next((c for c in header if header.count(c) > 1), None)
    if dup is not None:
        raise ProblemFileError(f"menu file {path_text!r} has the column {dup!r} twice")
    if menu.empty:
        raise ProblemFileError(f"menu file {path_text!r} has a header but no items (one row per item)")
    return menu


def _menu_numbers(menu: pd.DataFrame, column: str, source: str) -> np.ndarray:
    """A column as finite floats; a cell that is not a number is named with its row."""
    out = np.empty(len(menu))
    for i, cell in enumerate(menu[column].tolist()):
        text = str(cell).strip()
        try:
            val = float(text)
        except ValueError:
            val = None
        if val is None or not np.isfinite(val):
            what = "is empty" if not text else "is not a number" if val is None else "is not finite"
            raise ProblemSpecError(column, text, f"must be a finite number; item {i + 1} of {source} {what}")
        out[i] = val
    return out


def _pick_column(menu: pd.DataFrame, names: Sequence[str], source: str) -> str | None:
    found = [c for c in names if c in menu.columns]
    if len(found) > 1:
        raise ProblemSpecError("menu columns", found, f"name the same quantity twice in {source}; keep one")
    return found[0] if found else None


def _posted_items(menu: pd.DataFrame, problem: object, source: str) -> tuple[str, np.ndarray, np.ndarray,
                                                                              np.ndarray | None]:
    """``(kind, price, quality_or_budget, markup)`` of a posted menu: kind is ``direct`` (price and quality),
    ``budget`` (price and a budget at marginal-cost prices times the markup), ``min-spend`` or ``two-part``."""
    tech = problem.technology  # type: ignore[attr-defined]
    price_col = _pick_column(menu, PRICE_COLUMNS, source)
    page_col = _pick_column(menu, tuple(MARKUP_PAGES), source)
    q_col = _pick_column(menu, QUALITY_COLUMNS + BUDGET_COLUMNS, source)
    markup = _menu_numbers(menu, "markup", source) if "markup" in menu.columns else None
    if markup is not None and np.any(markup <= 0):
        raise ProblemSpecError("markup", markup[markup <= 0][0], f"must be > 0 (in {source})")
    if markup is not None:
        _check_token_prices(menu, problem, markup, source)
    if page_col is not None and price_col is None:
        if q_col is not None:
            raise ProblemSpecError(q_col, source, f"does not go with {page_col} (a {MARKUP_PAGES[page_col]} page "
                                   "sets quantities by the markup); remove one of them")
        if markup is None:
            raise ProblemSpecError("menu columns", list(menu.columns), f"a {MARKUP_PAGES[page_col]} page "
                                   f"({page_col}) needs a markup column")
        return MARKUP_PAGES[page_col], _menu_numbers(menu, page_col, source), np.full(len(menu), np.nan), markup
    if price_col is None or q_col is None or page_col is not None:
        raise ProblemSpecError("menu columns", list(menu.columns),
                               "need a price (transfer, fee, payment or upfront_fee) and a quality (quality, "
                               "budget or credit_budget), or committed_spend / fixed_fee with markup")
    price = _menu_numbers(menu, price_col, source)
    amount = _menu_numbers(menu, q_col, source)
    if np.any(amount < 0):
        raise ProblemSpecError(q_col, float(amount[amount < 0][0]), f"must be >= 0 (in {source})")
    if q_col in QUALITY_COLUMNS:
        if markup is not None and not np.allclose(markup, 1.0, rtol=1e-12, atol=0.0):
            raise ProblemSpecError("markup", source, "applies to budgets at posted prices; with a quality "
                                   "column the item is fixed (remove markup)")
        return "direct", price, amount, None
    quality = tech.inverse_cost(amount if markup is None else amount / markup)
    return "budget", price, quality, markup


def _check_token_prices(menu: pd.DataFrame, problem: object, markup: np.ndarray, source: str) -> None:
    """Posted per-token prices (``price_<class>`` columns) must be the markup times the marginal cost: the
    audit prices by the markup, so other prices would be silently ignored."""
    tech = problem.technology  # type: ignore[attr-defined]
    names = list(problem.inference_names) + list(problem.finetuning_names)  # type: ignore[attr-defined]
    costs = np.concatenate([tech.c, tech.c_hat])
    for col in menu.columns:
        if not col.startswith("price_"):
            continue
        name = col[len("price_"):]
        if name not in names:
            raise ProblemSpecError(col, source, "names no token class of the problem (classes: "
                                   + ", ".join(names) + ")")
        posted = _menu_numbers(menu, col, source)
        expect = markup * costs[names.index(name)]
        bad = np.flatnonzero(~np.isclose(posted, expect, rtol=1e-9, atol=0.0))
        if bad.size:
            k = int(bad[0])
            raise ProblemSpecError(col, float(posted[k]), f"must be markup x marginal cost = {expect[k]:.10g} "
                                   f"(item {k + 1} of {source}); the audit prices tokens by the markup")


def _choices(kind: str, tech: object, theta: np.ndarray, price: np.ndarray, quality: np.ndarray,
             markup: np.ndarray | None) -> pd.DataFrame:
    """Each type's choice (item, quality, payment, payoff, profit; item -1 = nothing). Payoffs within
    :data:`~mechdesign.analytic.formats.TIE_RTOL` of the best count as ties, broken toward the seller, as
    in :func:`~mechdesign.analytic.formats.simulate`."""
    from mechdesign.analytic.formats import TIE_RTOL, PostedFormat, simulate

    if kind in ("min-spend", "two-part"):
        assert markup is not None
        fmt = PostedFormat(kind, price, np.full(price.size, np.nan), markup, np.arange(price.size))
        return simulate(fmt, tech, theta)  # type: ignore[arg-type]
    q = np.append(quality, 0.0)
    pay = np.append(price, 0.0)
    seller = pay - tech.cost(q)  # type: ignore[attr-defined]
    scale = max(float(theta.max(initial=0.0)) * float(q.max(initial=0.0)), 1e-300)
    pick = np.empty(theta.size, dtype=int)
    step = max(1, 4_000_000 // q.size)
    for s in range(0, theta.size, step):
        U = theta[s:s + step, None] * q[None, :] - pay[None, :]
        near = U >= U.max(axis=1, keepdims=True) - TIE_RTOL * scale
        pick[s:s + step] = np.argmax(np.where(near, seller[None, :], -np.inf), axis=1)
    return pd.DataFrame({"item": np.where(pick < price.size, pick, -1), "quality": q[pick], "payment": pay[pick],
                         "payoff": theta * q[pick] - pay[pick], "profit": seller[pick]})


def _direct_owner(menu: pd.DataFrame, types: object, problem: object, source: str) -> np.ndarray:
    """The ``type`` column of a direct menu as the order of its items (item of type 0 first)."""
    from mechdesign.types import Distribution

    n_types = types.n  # type: ignore[attr-defined]
    owner = _menu_numbers(menu, "type", source)
    if np.any(owner != np.round(owner)):
        raise ProblemSpecError("type", float(owner[owner != np.round(owner)][0]),
                               f"must be a type index 0..{n_types - 1} (in {source})")
    if len(owner) != n_types:
        hint = (f"; pass --n {len(owner)} if the menu was solved with --n {len(owner)}"
                if isinstance(problem.types, Distribution) else "")  # type: ignore[attr-defined]
        raise ProblemSpecError("type", f"{len(owner)} items", f"must list each of the problem's {n_types} types "
                               f"once{hint}")
    if sorted(owner.astype(int).tolist()) != list(range(n_types)):
        raise ProblemSpecError("type", source, f"must list each type 0..{n_types - 1} exactly once")
    order = np.argsort(owner)
    if "theta" in menu.columns:
        th_menu = _menu_numbers(menu, "theta", source)[order]
        theta = types.theta  # type: ignore[attr-defined]
        if not np.allclose(th_menu, theta, rtol=1e-9, atol=1e-12 * float(np.max(np.abs(theta), initial=1.0))):
            k = int(np.flatnonzero(~np.isclose(th_menu, theta, rtol=1e-9))[0])
            raise ProblemSpecError("theta", float(th_menu[k]), f"of type {k} in {source} differs from the problem's "
                                   f"type {float(theta[k]):.10g}: the menu was made for other types")
    return order


def run(args: argparse.Namespace) -> int:
    from mechdesign.analytic.monopoly import discrete_menu
    from mechdesign.engine.audit import audit_menu
    from mechdesign.problemfile import check_n, load_single_model

    problem = load_single_model(args.problem, "audit")
    n = check_n(problem, args.n)
    menu = _read_menu(args.menu)
    source = Path(args.menu).name
    tech = problem.technology
    types = problem.discrete_types(n)
    kind, price, quality, markup = _posted_items(menu, problem, source)
    order = None
    if "type" in menu.columns:
        if kind not in ("direct", "budget"):
            raise ProblemSpecError("type", source, "marks direct menus (an item per type with its quality or "
                                   "budget); a min-spend or two-part page has no direct items")
        order = _direct_owner(menu, types, problem, source)
    th, f = types.theta, types.prob
    chosen = _choices(kind, tech, th, price, quality, markup)
    profit = float(f @ chosen["profit"].to_numpy())
    opt = discrete_menu(tech, types).profit
    table = pd.DataFrame({"theta": th, "prob": f, **{c: chosen[c].to_numpy() for c in chosen.columns}})
    print(f"Audit of {args.menu} ({len(menu)} items, {kind} menu) for {problem.name} ({types.n} types); ties go "
          "to the seller")
    with pd.option_context("display.width", 140, "display.float_format", "{:.6g}".format):
        print(table.to_string() if types.n <= 20 else pd.concat([table.head(10), table.tail(10)]).to_string())
    share = f"{profit / opt:.12g}" if opt > 0 else "n/a (the optimum is 0)"
    print(f"profit {profit:.12g}; optimum {opt:.12g}; profit share {share} (gap {opt - profit:.4g})")
    if order is None:
        print("no type column: each type's choice is shown; IC and IR of a direct menu are not checked")
        return 0
    rep = audit_menu(th, quality[order], price[order])
    tol = rep.rtol * rep.scale
    bad = np.flatnonzero(rep.ic_violation > tol)
    bad_ir = np.flatnonzero(rep.ir_violation > tol)
    print(f"direct menu: max IC violation {rep.max_ic_violation:.3e} ({rep.max_ic_violation_rel:.2e} rel), "
          f"max IR violation {rep.max_ir_violation:.3e} (tolerance {tol:.3e}); {bad.size} of {th.size} types "
          f"prefer another type's item, {bad_ir.size} get less than nothing")
    for k in bad[:20]:
        print(f"  type {k} (theta {th[k]:.6g}) prefers item of type {rep.best_deviation[k]}, "
              f"gain {rep.ic_violation[k]:.4g}")
    for k in bad_ir[:20]:
        print(f"  type {k} (theta {th[k]:.6g}) gets payoff {-rep.ir_violation[k]:.4g} < 0 (IR)")
    if bad.size or bad_ir.size:
        print("verdict: NOT incentive compatible" if bad.size else "verdict: NOT individually rational")
        return 1
    print("verdict: incentive compatible and individually rational")
    return 0
