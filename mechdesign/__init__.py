"""mechdesign: optimal price menus for LLM tokens by convex optimisation.

Implements the single-model framework of Bergemann, Bonatti and Smolin (2026), *Menu Pricing of
Large Language Models*: technology and cost of quality (Lemmas 1, 3), efficient allocation and the
buyer's indirect utility (Props 1-2), and the optimal menu of token budgets (Prop 3), solved as a
convex screening program in cvxpy and compared with the closed forms.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .analytic import (
    ContinuousMenu,
    DiscreteMenu,
    buyer_allocation,
    continuous_menu,
    discrete_menu,
    efficient_allocation,
    efficient_task_tokens,
    indirect_utility,
)
from .audit import AuditReport, BindingSets, audit_menu
from .compare import Comparison
from .exceptions import (
    AuditError,
    DiscretisationWarning,
    InfeasibleProgramError,
    MechDesignError,
    MechDesignWarning,
    ProblemFileError,
    ProblemSpecError,
    SolverError,
    SolverInaccurateWarning,
    UnboundedProgramError,
)
from .formats import PostedFormat, build_format, check_format, markups, simulate
from .problem import SingleModelProblem
from .problemfile import load_problem, problem_from_dict
from .program import ScreeningProgram
from .results import MenuResult
from .technology import CES, BaselineFineTuning, CESFineTuning, NoFineTuning, Technology, cobb_douglas
from .types import (
    BetaDist,
    DiscreteTypes,
    Mixture,
    Power,
    Tabulated,
    TaskProfileTypes,
    Uniform,
    aggregate_type,
)

__all__ = [
    "CES",
    "AuditError",
    "AuditReport",
    "BaselineFineTuning",
    "BetaDist",
    "BindingSets",
    "CESFineTuning",
    "Comparison",
    "ContinuousMenu",
    "DiscreteMenu",
    "DiscreteTypes",
    "DiscretisationWarning",
    "InfeasibleProgramError",
    "MechDesignError",
    "MechDesignWarning",
    "MenuResult",
    "Mixture",
    "NoFineTuning",
    "PostedFormat",
    "Power",
    "ProblemFileError",
    "ProblemSpecError",
    "ScreeningProgram",
    "SingleModelProblem",
    "SolverError",
    "SolverInaccurateWarning",
    "Tabulated",
    "TaskProfileTypes",
    "Technology",
    "UnboundedProgramError",
    "Uniform",
    "aggregate_type",
    "audit_menu",
    "build_format",
    "buyer_allocation",
    "check_format",
    "cobb_douglas",
    "continuous_menu",
    "discrete_menu",
    "efficient_allocation",
    "efficient_task_tokens",
    "indirect_utility",
    "load_problem",
    "markups",
    "problem_from_dict",
    "simulate",
]
