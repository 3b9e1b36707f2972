"""The raw solution of the screening program (engine): what a solve, the polish and the refinement hand on."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

FloatArray = np.ndarray


@dataclass
class ProgramSolution:
    """Raw solution of the scaled program (before unscaling and reporting)."""

    allocation: FloatArray
    transfer: FloatArray
    tokens: dict[str, FloatArray]
    objective: float
    status: str
    ic_pairs: FloatArray
    ic_duals: FloatArray
    ir_duals: FloatArray
    rounds: int
    times: dict[str, float]
    solver: str
    solver_stats: dict[str, object] = field(default_factory=dict)
    #: multipliers of the monotonicity rows a_k <= a_{k+1} (local strategy only)
    mono_duals: FloatArray = field(default_factory=lambda: np.zeros(0))
    #: the exact finish's multipliers (IC pairs, their multipliers, IR rows, theirs) when it was applied
    finish_multipliers: tuple[FloatArray, FloatArray, FloatArray, FloatArray] | None = None
