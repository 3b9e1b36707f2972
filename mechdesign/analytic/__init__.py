"""Closed forms of the paper, one module per part. Pure economics: never imports the solver layer."""

from .efficient import (
    buyer_allocation,
    efficient_allocation,
    efficient_task_tokens,
    indirect_utility,
)
from .monopoly import (
    ContinuousMenu,
    DiscreteMenu,
    continuous_menu,
    discrete_menu,
    predicted_tight_ic,
)

__all__ = [
    "ContinuousMenu",
    "DiscreteMenu",
    "buyer_allocation",
    "continuous_menu",
    "discrete_menu",
    "efficient_allocation",
    "efficient_task_tokens",
    "indirect_utility",
    "predicted_tight_ic",
]
