r"""Calibrating a posted price menu to the single-model screening model (BBS §6; §4, Prop 3, discrete types).

A posted menu has :math:`K \ge 2` tiers with fees :math:`T_1 < \dots < T_K` (USD per month) and
allowances :math:`A_1 < \dots < A_K` in the provider's unit (points, premium requests, AI credits, usage
relative to a base tier). Read as a **maximum-spend mechanism** (Def 1, proof of Prop 4), tier k is a
budget :math:`B_k = C(Q_k)` of tokens priced at marginal cost, so with :math:`\lambda` the (unpublished)
marginal cost in USD of one allowance unit, :math:`B_k = \lambda A_k`. The technology enters only through
its cost of quality, Lemma 3: :math:`C(Q) = C_0 Q^b` with :math:`b = 1/(\sigma+\hat\sigma) > 1`.

The algebra (C1)-(C7), with the paper's equation numbers, is the docstring of
:mod:`mechdesign.analytic.calibration.core`. One job per module, every public name re-exported here:

* :mod:`~mechdesign.analytic.calibration.data`: the menu and API price-list records and their TOML readers;
* :mod:`~mechdesign.analytic.calibration.consistency`: input checks, the restrictions (C7), the nearest
  consistent menu;
* :mod:`~mechdesign.analytic.calibration.identified`: identified sets over the cost exponent and over an
  unpublished allowance;
* :mod:`~mechdesign.analytic.calibration.core`: (C1)-(C6), :func:`calibrate` and its result;
* :mod:`~mechdesign.analytic.calibration.pricing`: pricing formats simulated type by type, the best simple
  formats;
* :mod:`~mechdesign.analytic.calibration.counterfactual`: counterfactual menus (fewer or more tiers, a
  second model, an open-source fringe);
* :mod:`~mechdesign.analytic.calibration.history`: price pages through time, the out-of-sample test of an
  earlier page's primitives against a later page;
* :mod:`~mechdesign.analytic.calibration.figures`: the PNG figures.

Pure economics: numpy, scipy and pandas only (matplotlib inside the plot functions); no conic solver.
"""

from .consistency import (
    CONSISTENCY_RTOL,
    MAX_FEE,
    NEAREST_MARGIN,
    NearestMenu,
    Restriction,
    max_margin,
    nearest_consistent_menu,
)
from .core import POOLING_NOTE, CalibrationResult, calibrate, calibrate_fees, round_trip_analytic
from .counterfactual import counterfactuals, fringe_counterfactual, multimodel_counterfactual, refine_top
from .data import (
    BILLING,
    UNITS,
    Disagreement,
    FloatArray,
    ModelCost,
    ObservedMenu,
    Tier,
    api_costs,
    api_technology,
    load_api_prices,
    load_observed,
)
from .figures import (
    plot_allowance_set,
    plot_identified_set,
    plot_markups,
    plot_menu,
    plot_out_of_sample,
    plot_report,
    plot_types,
)
from .history import CHANGE_RTOL, INSERT_SHARE, OutOfSample, insert_types, out_of_sample
from .identified import (
    ALLOWANCE_HI,
    ALLOWANCE_LO,
    ALLOWANCE_N,
    DEFAULT_SIGMA_TOTAL,
    SCAN_HI,
    SCAN_LO,
    SCAN_N,
    AllowanceSet,
    IdentifiedSet,
    allowance_identified_set,
    identified_set,
)
from .pricing import (
    MAX_BLOCK_TYPES,
    TIE_RTOL,
    BlockMenu,
    Items,
    Reproduction,
    best_item_menu,
    linear_price,
    max_spend_items,
    min_spend_items,
    overage_items,
    reproduces,
    simulate_items,
    single_two_part,
    two_part_items,
)
from .pricing import (
    _menu_items as _menu_items,  # used by tests/test_calibration.py
)

__all__ = [
    "ALLOWANCE_HI",
    "ALLOWANCE_LO",
    "ALLOWANCE_N",
    "BILLING",
    "CHANGE_RTOL",
    "CONSISTENCY_RTOL",
    "DEFAULT_SIGMA_TOTAL",
    "INSERT_SHARE",
    "MAX_BLOCK_TYPES",
    "MAX_FEE",
    "NEAREST_MARGIN",
    "POOLING_NOTE",
    "SCAN_HI",
    "SCAN_LO",
    "SCAN_N",
    "TIE_RTOL",
    "UNITS",
    "AllowanceSet",
    "BlockMenu",
    "CalibrationResult",
    "Disagreement",
    "FloatArray",
    "IdentifiedSet",
    "Items",
    "ModelCost",
    "NearestMenu",
    "ObservedMenu",
    "OutOfSample",
    "Reproduction",
    "Restriction",
    "Tier",
    "allowance_identified_set",
    "api_costs",
    "api_technology",
    "best_item_menu",
    "calibrate",
    "calibrate_fees",
    "counterfactuals",
    "fringe_counterfactual",
    "identified_set",
    "insert_types",
    "linear_price",
    "load_api_prices",
    "load_observed",
    "max_margin",
    "max_spend_items",
    "min_spend_items",
    "multimodel_counterfactual",
    "nearest_consistent_menu",
    "out_of_sample",
    "overage_items",
    "plot_allowance_set",
    "plot_identified_set",
    "plot_markups",
    "plot_menu",
    "plot_out_of_sample",
    "plot_report",
    "plot_types",
    "refine_top",
    "reproduces",
    "round_trip_analytic",
    "simulate_items",
    "single_two_part",
    "two_part_items",
]
