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
# # 4. Figure 1 and a sweep of the fringe's cost
#
# §5.3: a leader model competes with an open-source fringe sold at marginal cost. Prop 7 gives the
# leader's menu in closed form: buyers below θ₁ buy from the fringe only, the leader *deters* top-ups
# between θ₁ and θ₂ and sells as a monopolist above θ₂ (θ̂ is where the efficient allocation switches
# from the fringe to the leader). `figure1_leader_fringe` is the paper's Figure 1 market; its cutoffs:

# %%
import matplotlib.pyplot as plt
from IPython.display import Image

import mechdesign as md
from mechdesign.app.cli import main as mechdesign
from mechdesign.app.plotting import plot_leader_fringe
from mechdesign.app.sweep import run_sweep
from mechdesign.shipped import shipped_dir

problem = md.load_problem("figure1_leader_fringe")
print(problem.market)
cut = problem.market.cutoffs(problem.dist)
print({k: (round(v, 4) if v is not None else None) for k, v in cut.items()})
theta_1, theta_2 = cut["theta_1"], cut["theta_2"]
print(f"fringe only below θ₁ = {theta_1:.4f}; monopoly above θ₂ = {theta_2:.4f}")

# %% [markdown]
# Figure 1 from Python (`plot_leader_fringe`) or from the command line (`mechdesign plot
# figure1_leader_fringe --out figure1.png`); both write the same PNG.

# %%
mechdesign(["plot", "figure1_leader_fringe", "--out", "figure1.png"])
plot_leader_fringe(problem.market, problem.dist, "figure1-python.png", name="figure1_leader_fringe")
Image("figure1.png", width=520)

# %% [markdown]
# ## The certified numeric leader program
#
# The discretised leader problem is solved with a certificate too; its cutoffs agree with Prop 7's
# within a grid cell.

# %%
result = problem.solve(n=100)
print(result.status, f"profit {result.profit:.6f}")

# %% [markdown]
# ## A sweep: the fringe's cost
#
# `run_sweep` (the `mechdesign sweep` command) sets a key of the problem file to every point of a grid
# and solves each instance, here in this process (`workers=1`; by default one process per core, or a Dask
# cluster). As the open-source fringe gets cheaper, the leader's market shrinks: every cutoff rises.

# %%
path = shipped_dir() / "figure1_leader_fringe.toml"
costs = [0.02, 0.04, 0.06, 0.08, 0.1, 0.115]
sweep = run_sweep(path, [("fringe.cost", costs)], n=50, workers=1, progress=False)
sweep[["fringe.cost", "status", "profit", "theta_hat", "theta_1", "theta_m", "theta_2"]]

# %% [markdown]
# (`mechdesign.app.plotting` and the CLI draw into files, with matplotlib's file backend; in a notebook,
# `%matplotlib inline` shows the next figure in the page again.)

# %%
# %matplotlib inline
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
for key, label in (("theta_hat", "$\\hat\\theta$ (leader entry, efficient)"), ("theta_1", "$\\theta_1$"),
                   ("theta_m", "$\\theta^m$"), ("theta_2", "$\\theta_2$")):
    axes[0].plot(sweep["fringe.cost"], sweep[key], "o-", label=label)
axes[0].set_xlabel("fringe cost $c_F$ (leader $c_L$ = 0.125)")
axes[0].set_ylabel("cutoff type")
axes[0].legend(fontsize=8)
axes[1].plot(sweep["fringe.cost"], sweep["profit"], "o-", color="C3")
axes[1].set_xlabel("fringe cost $c_F$")
axes[1].set_ylabel("leader's profit (certified, N = 50)")
for ax in axes:
    ax.grid(alpha=0.3)
fig.suptitle("Figure 1's market as the open-source fringe gets cheaper")
plt.show()
