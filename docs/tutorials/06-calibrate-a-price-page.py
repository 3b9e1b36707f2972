# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 6. Calibrate an observed price page (§6)
#
# A posted subscription page (tiers with fees and usage allowances) can be read as the optimal menu of
# the single-model model with one discrete type per tier (Prop 3). The calibration recovers the types θ_k,
# their masses, the markups and the cost scale, or says why no cost exponent makes the page optimal.
# The pages of the paper's §6 ship in `problems/observed/`; [§6 in numbers](../section6-in-numbers.md)
# has the full results.

# %%
from IPython.display import Image

from mechdesign.analytic import calibration as cal
from mechdesign.shipped import shipped_dir

observed = shipped_dir() / "observed"
print(sorted(p.name for p in observed.glob("*.toml")))

# %% [markdown]
# ## A consistent page: GitHub Copilot's AI credits
#
# With no cost exponent given, the calibration computes the **identified set** of σ + σ̂ (the exponents
# for which every restriction holds) and reports the calibration at its midpoint.

# %%
menu = cal.load_observed(observed / "github-copilot-credits-2026-06.toml")
res = cal.calibrate(menu)
print(res.verdict())
print("identified sigma + sigma_hat:", res.identified)
res.table()

# %% [markdown]
# The calibrated primitives are a problem like any other: solving it returns the posted menu (the
# *round trip* of `mechdesign calibrate`).

# %%
print(cal.round_trip_analytic(res))

# %% [markdown]
# ## An inconsistent page: Poe
#
# Poe's Basic tier is cheaper per point than the top increment, but the bottom tier must carry the
# highest markup: no cost exponent makes the page optimal. The nearest consistent menu moves the fees.

# %%
poe = cal.calibrate(cal.load_observed(observed / "poe-2025.toml"))
print(poe.verdict())
for r in poe.failures:
    print(" -", r.message)

# %% [markdown]
# The report figure of the consistent page: the posted menu, the implied types and masses, the markups
# and the identified set.

# %%
cal.plot_report(res, "copilot-credits.png")
Image("copilot-credits.png", width=760)
