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
# # 2. Write your own problem: in Python and in TOML
#
# A single-model problem is a **technology** (the token classes, their returns and costs) and a
# **distribution of types**. Here: a Cobb-Douglas technology g = x₁^0.3 x₂^0.2 z^0.25 with token costs
# (1, 3) for inference and 2 for fine-tuning, and five discrete types whose middle type is rare, so that
# the virtual values are not monotone and the optimal menu **pools** (irons) types.

# %%
import tomllib

import matplotlib.pyplot as plt
import numpy as np

import mechdesign as md

tech = md.cobb_douglas([0.3, 0.2], c=[1, 3], ft_exponents=[0.25], c_hat=[2])
theta = [0.5, 0.6, 0.7, 0.8, 1.0]
prob = [0.4, 0.3, 0.05, 0.15, 0.1]
types = md.DiscreteTypes(theta, prob)
print("discrete virtual values:", np.round(types.virtual_values(), 4))

problem = md.SingleModelProblem(tech, types)
result = problem.solve()
print(result.status, f"profit {result.profit:.6e}")
print("pooled blocks (first type, one past the last):", result.analytic.pooled_blocks)
result.menu[["theta", "prob", "quality", "transfer", "rent"]]

# %% [markdown]
# ## The same problem as a problem file
#
# Problem files are TOML; [the reference](../problem-files.md) lists every key with its paper symbol and
# range (and `mechdesign schema` prints the JSON Schema). `problem_from_dict` builds a problem from the
# parsed file, exactly as `mechdesign solve FILE` does.

# %%
text = """
[problem]
name = "five_types"
kind = "single_model"

[technology.inference]
exponents = [0.3, 0.2]     # sigma = 0.5, alpha = (0.6, 0.4)
cost = [1.0, 3.0]

[technology.finetuning]
kind = "ces"
exponents = [0.25]         # sigma_hat = 0.25
cost = [2.0]

[types]
kind = "discrete"
theta = [0.5, 0.6, 0.7, 0.8, 1.0]
prob = [0.4, 0.3, 0.05, 0.15, 0.1]
"""
from_file = md.problem_from_dict(tomllib.loads(text)).solve()
print(from_file.status, "same menu:", np.allclose(from_file.menu["quality"], result.menu["quality"], rtol=1e-9))

# %% [markdown]
# A mistake is an error that names the key, the value and the allowed range:

# %%
try:
    md.problem_from_dict(tomllib.loads(text.replace("prob = [0.4,", "prob = [-0.4,")))
except md.ProblemSpecError as exc:
    print(exc)

# %% [markdown]
# ## The menu as a price schedule
#
# Each item is a (quality, price) pair; the pooled types buy the same item. The price lies above the
# cost of the quality sold, C(Q): the gap is the seller's margin on each item.

# %%
m = result.menu
fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
ax.plot(m["quality"], m["transfer"], "o-", color="C0")
for (q_item, t_item), buyers in m.groupby(["quality", "transfer"]):  # pooled types share an item
    label = "θ = " + ", ".join(f"{x:.1f}" for x in buyers["theta"])
    ax.annotate(label, (q_item, t_item), textcoords="offset points", xytext=(6, -12), fontsize=8)
q = np.linspace(0, m["quality"].max(), 100)
ax.plot(q, tech.cost(q), "--", color="0.5", label="cost of quality $C(Q)$ (Lemma 3)")
ax.set_xlabel("quality $Q$")
ax.set_ylabel("price $t$")
ax.legend()
ax.grid(alpha=0.3)
ax.set_title("five discrete types: the optimal menu (θ = 0.6 and 0.7 pooled)")
plt.show()
