"""Shared fixtures and named tolerances for the mechdesign tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mechdesign import CES, BaselineFineTuning, CESFineTuning, Technology, cobb_douglas

ROOT = Path(__file__).resolve().parents[1]
PROBLEMS = ROOT / "problems"

#: numeric menu vs exact discrete menu (issue acceptance: 1e-6 relative)
MENU_RTOL = 1e-6
#: all-pairs audit, relative to the largest gross payoff (issue acceptance: 1e-7)
AUDIT_RTOL = 1e-7
#: closed form vs independent numerical cost minimisation (SLSQP)
COST_RTOL = 1e-7
#: task-level convex programs (Props 1-2, Cor 1) vs closed forms
TASK_RTOL = 1e-5


@pytest.fixture
def shipped_tech() -> Technology:
    """g = x1^0.3 x2^0.2 z^0.25, c = (1, 3), c_hat = 2 (the shipped single-model problems)."""
    return cobb_douglas([0.3, 0.2], [1.0, 3.0], [0.25], [2.0])


TECHNOLOGIES = {
    "cobb_douglas": cobb_douglas([0.3, 0.2], [1.0, 3.0], [0.25], [2.0]),
    "ces_complements": Technology(CES(np.array([0.6, 0.4]), -0.5), 0.5, np.array([1.0, 3.0]),
                                  CESFineTuning(CES(np.array([0.3, 0.7]), 0.5, "a"), 0.2, np.array([2.0, 1.0]))),
    "ces_substitutes_baseline": Technology(CES(np.array([0.6, 0.4]), 0.25), 0.5, np.array([1.0, 3.0]),
                                           BaselineFineTuning(0.01, 0.25, np.array([2.0]))),
    "no_finetuning": Technology(CES(np.array([0.5, 0.3, 0.2]), 0.0), 0.6, np.array([1.0, 2.0, 0.5])),
}


@pytest.fixture(params=sorted(TECHNOLOGIES))
def any_tech(request: pytest.FixtureRequest) -> Technology:
    return TECHNOLOGIES[request.param]


def multidim_file(tmp_path: Path, cost: str) -> Path:
    """A 3 x 3 multidim problem file on [0, 1]^2 with the ``[cost]`` table's lines ``cost``."""
    p = tmp_path / "p.toml"
    p.write_text('[problem]\nkind = "multidim"\n[types]\ngrid = { lo = [0.0, 0.0], hi = [1.0, 1.0], n = [3, 3] }\n'
                 f"[cost]\n{cost}\n")
    return p
