"""Closed forms of the paper, one module per part. Pure economics: never imports the solver layer."""

from mechdesign.analytic.cost_based import (
    CostBasedTariff,
    cost_based_tariff,
    joint_profiles,
    separability_gap,
    separable_profiles,
)
from mechdesign.analytic.efficient import (
    buyer_allocation,
    efficient_allocation,
    efficient_task_tokens,
    indirect_utility,
)
from mechdesign.analytic.monopoly import (
    ContinuousMenu,
    DiscreteMenu,
    continuous_menu,
    discrete_menu,
    predicted_tight_ic,
)
from mechdesign.analytic.value_scale import (
    Assumption2Report,
    ValueScaleMenu,
    ValueScaleTypes,
    assumption2,
    flat_virtual_value_types,
    observable_scale_menu,
    scale_cost,
    scale_marginal_cost,
    scale_quality,
)

__all__ = [
    "Assumption2Report",
    "ContinuousMenu",
    "CostBasedTariff",
    "DiscreteMenu",
    "ValueScaleMenu",
    "ValueScaleTypes",
    "assumption2",
    "buyer_allocation",
    "continuous_menu",
    "cost_based_tariff",
    "discrete_menu",
    "efficient_allocation",
    "efficient_task_tokens",
    "flat_virtual_value_types",
    "indirect_utility",
    "joint_profiles",
    "observable_scale_menu",
    "predicted_tight_ic",
    "scale_cost",
    "scale_marginal_cost",
    "scale_quality",
    "separability_gap",
    "separable_profiles",
]
