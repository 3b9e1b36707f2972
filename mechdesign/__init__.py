"""mechdesign: optimal price menus for LLM tokens by convex optimisation.

Implements the single-model framework of Bergemann, Bonatti and Smolin (2026), *Menu Pricing of
Large Language Models*: technology and cost of quality (Lemmas 1, 3), efficient allocation and the
buyer's indirect utility (Props 1-2), and the optimal menu of token budgets (Prop 3), solved as a
convex screening program in cvxpy and compared with the closed forms; and contractible tasks
(Appendix B: Props 8-10, Lemma 5, cost-based tariffs, value-scale types, task caps).
"""

from __future__ import annotations

__version__ = "0.1.0"

from .analytic import (
    Assumption2Report,
    ContinuousMenu,
    CostBasedTariff,
    DiscreteMenu,
    ValueScaleTypes,
    assumption2,
    buyer_allocation,
    continuous_menu,
    cost_based_tariff,
    discrete_menu,
    efficient_allocation,
    efficient_task_tokens,
    indirect_utility,
    joint_profiles,
    observable_scale_menu,
    separable_profiles,
)
from .analytic.leader_fringe import LeaderFringe
from .analytic.multimodel import ModelSpec, MultiModel
from .audit import AuditReport, BindingSets, audit_menu
from .certificate import Certificate, lagrangian_certificate
from .chain import solve_chain
from .compare import Comparison
from .competition import LeaderFringeProblem, MultiModelProblem
from .contractible import ContractibleProblem, ContractibleResult, solve_contractible
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
    TimeLimitError,
    UnboundedProgramError,
    UncertifiedWarning,
)
from .formats import PostedFormat, build_format, check_format, markups, simulate
from .problem import SingleModelProblem
from .problemfile import load_problem, problem_from_dict
from .program import ScreeningProgram
from .results import MenuResult
from .taskcaps import simulate_task_caps, task_cap_menu
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
from .value_scale import ValueScaleProblem, ValueScaleResult, solve_value_scale

__all__ = [
    "CES",
    "Assumption2Report",
    "AuditError",
    "AuditReport",
    "BaselineFineTuning",
    "BetaDist",
    "BindingSets",
    "CESFineTuning",
    "Certificate",
    "Comparison",
    "ContinuousMenu",
    "ContractibleProblem",
    "ContractibleResult",
    "CostBasedTariff",
    "DiscreteMenu",
    "DiscreteTypes",
    "DiscretisationWarning",
    "InfeasibleProgramError",
    "LeaderFringe",
    "LeaderFringeProblem",
    "MechDesignError",
    "MechDesignWarning",
    "MenuResult",
    "Mixture",
    "ModelSpec",
    "MultiModel",
    "MultiModelProblem",
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
    "TimeLimitError",
    "UnboundedProgramError",
    "UncertifiedWarning",
    "Uniform",
    "ValueScaleProblem",
    "ValueScaleResult",
    "ValueScaleTypes",
    "aggregate_type",
    "assumption2",
    "audit_menu",
    "build_format",
    "buyer_allocation",
    "check_format",
    "cobb_douglas",
    "continuous_menu",
    "cost_based_tariff",
    "discrete_menu",
    "efficient_allocation",
    "efficient_task_tokens",
    "indirect_utility",
    "joint_profiles",
    "lagrangian_certificate",
    "load_problem",
    "markups",
    "observable_scale_menu",
    "problem_from_dict",
    "separable_profiles",
    "simulate",
    "simulate_task_caps",
    "solve_chain",
    "solve_contractible",
    "solve_value_scale",
    "task_cap_menu",
]
