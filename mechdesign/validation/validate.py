"""`mechdesign validate`: every proposition check the package has, over shipped and seeded random instances.

Each check compares an independent numerical computation (a cvxpy program, SLSQP, a buyer simulation)
with the paper's closed form and reports the largest error and, where the proposition says which
constraints bind, whether the binding sets agree. A check passes when every instance is within its
tolerance and its binding sets agree.

The checks live by part of the paper in :mod:`~mechdesign.validation.monopoly_checks` (§2-4),
:mod:`~mechdesign.validation.appendix_b_checks` (App. B) and :mod:`~mechdesign.validation.market_checks`
(§5); this module is their table :data:`CHECKS` and the runner :func:`run_checks`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from mechdesign.validation.appendix_b_checks import (
    check_assumption2,
    check_lemma5,
    check_prop8,
    check_prop9,
    check_prop10,
    check_prop10_tariffs,
)
from mechdesign.validation.instances import CheckResult
from mechdesign.validation.market_checks import (
    check_leader_lottery,
    check_lemma2,
    check_lemma4_prop7,
    check_prop5_6,
    check_prop7_discrete,
)
from mechdesign.validation.monopoly_checks import (
    check_cor1,
    check_lemma1,
    check_lemma3,
    check_prop1,
    check_prop2,
    check_prop3,
    check_prop4,
)

CHECKS: dict[str, Callable[[np.random.Generator, Path], CheckResult]] = {
    "lemma1": check_lemma1, "lemma3": check_lemma3, "prop1": check_prop1, "prop2": check_prop2,
    "cor1": check_cor1, "prop3": check_prop3, "prop4": check_prop4, "lemma5": check_lemma5, "prop8": check_prop8,
    "prop9": check_prop9, "prop10": check_prop10, "assumption2": check_assumption2,
    "prop10_tariffs": check_prop10_tariffs, "lemma2": check_lemma2, "prop5_6": check_prop5_6,
    "lemma4_prop7": check_lemma4_prop7, "prop7_discrete": check_prop7_discrete,
    "leader_lottery": check_leader_lottery,
}


def run_checks(only: list[str] | None = None, seed: int = 0, problems: str | Path = "problems") -> pd.DataFrame:
    """Run the selected checks (default all) and return the table."""
    rows = []
    for name, fn in CHECKS.items():
        if only and name not in only:
            continue
        t0 = time.perf_counter()
        res = fn(np.random.default_rng(seed), Path(problems))
        res.seconds = time.perf_counter() - t0
        if res.instances == 0:  # nothing checked is no evidence: a failure (CheckResult.passed), said why
            res.note = (f"checked 0 instances: no problem file of this check in {str(problems)!r}; "
                        + (res.note or "")).rstrip("; ")
        rows.append({"check": res.check, "claim": res.claim, "instances": res.instances,
                     "max_error": res.max_error, "tolerance": res.tolerance,
                     "binding_agree": "-" if res.binding_agree is None else bool(res.binding_agree),
                     "pass": res.passed, "seconds": round(res.seconds, 2), "note": res.note})
    return pd.DataFrame(rows)
