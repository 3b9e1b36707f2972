"""mechdesign: optimal price menus for LLM tokens by convex optimisation, certified.

Implements the single-model framework of Bergemann, Bonatti and Smolin (2026), *Menu Pricing of
Large Language Models*: technology and cost of quality (Lemmas 1, 3), efficient allocation and the
buyer's indirect utility (Props 1-2), and the optimal menu of token budgets (Prop 3), solved as a
convex screening program in cvxpy and compared with the closed forms; and contractible tasks
(Appendix B: Props 8-10, Lemma 5, cost-based tariffs, value-scale types, task caps).
"""

from __future__ import annotations

__version__ = "0.1.0"

from mechdesign.analytic import (
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
from mechdesign.analytic.formats import PostedFormat, build_format, check_format, markups, simulate
from mechdesign.analytic.leader_fringe import LeaderFringe
from mechdesign.analytic.multimodel import ModelSpec, MultiModel
from mechdesign.analytic.taskcaps import simulate_task_caps, task_cap_menu
from mechdesign.engine.audit import AuditReport, BindingSets, audit_menu
from mechdesign.engine.certificate import Certificate, lagrangian_certificate
from mechdesign.engine.chain import solve_chain
from mechdesign.engine.program import ScreeningProgram
from mechdesign.exceptions import (
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
from mechdesign.problemfile import load_problem, problem_from_dict
from mechdesign.settings.base import SolveOptions
from mechdesign.settings.comparisons import Comparison
from mechdesign.settings.contractible import ContractibleProblem, solve_contractible
from mechdesign.settings.contractible_result import ContractibleResult
from mechdesign.settings.leader_fringe import LeaderFringeProblem
from mechdesign.settings.multidim import MultiDimProblem, MultiDimResult, VectorTypes, solve_multidim
from mechdesign.settings.multimodel import MultiModelProblem
from mechdesign.settings.results import MenuResult
from mechdesign.settings.single_model import SingleModelProblem
from mechdesign.settings.spec import SettingSpec
from mechdesign.settings.value_scale import ValueScaleProblem, ValueScaleResult, solve_value_scale
from mechdesign.settings.vector_costs import QuadraticCost, SeparablePowerCost, TokenTechnologyCost
from mechdesign.technology import (
    CES,
    BaselineFineTuning,
    CESFineTuning,
    NoFineTuning,
    Technology,
    cobb_douglas,
)
from mechdesign.types import (
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
    "MultiDimProblem",
    "MultiDimResult",
    "MultiModel",
    "MultiModelProblem",
    "NoFineTuning",
    "PostedFormat",
    "Power",
    "ProblemFileError",
    "ProblemSpecError",
    "QuadraticCost",
    "ScreeningProgram",
    "SeparablePowerCost",
    "SettingSpec",
    "SingleModelProblem",
    "SolveOptions",
    "SolverError",
    "SolverInaccurateWarning",
    "Tabulated",
    "TaskProfileTypes",
    "Technology",
    "TimeLimitError",
    "TokenTechnologyCost",
    "UnboundedProgramError",
    "UncertifiedWarning",
    "Uniform",
    "ValueScaleProblem",
    "ValueScaleResult",
    "ValueScaleTypes",
    "VectorTypes",
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
    "solve_multidim",
    "solve_value_scale",
    "task_cap_menu",
]
