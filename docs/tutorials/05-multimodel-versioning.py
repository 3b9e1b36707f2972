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
# # 5. Several models: versioning with a certificate
#
# §5.1-5.2: the seller offers several models l, each with its own returns to fine-tuning σ̂_l and cost
# scale κ_l (Lemma 2: C_l(Q) = κ_l Q^{1/(σ+σ̂_l)}). Each type buys from one model. Prop 5 says low types
# get the cheap model and high types the one with the higher returns, with a switch type; Prop 6 gives the
# menu. `multimodel_two_models` has a `base` (σ̂ = 0.1, κ = 0.5) and a `reasoning` model (σ̂ = 0.3, κ = 0.4).

# %%
import matplotlib.pyplot as plt

import mechdesign as md

problem = md.load_problem("multimodel_two_models")
result = problem.solve()
print(result.status, f"profit {result.profit:.8f}; switch type(s) {result.switch_types}")

# %% [markdown]
# ## The certificate
#
# The program maximises profit over the *convex envelope* of the models' costs (each type may randomise
# over models), which bounds the profit from above; the relaxed menu charged the true cost bounds it from
# below. Types left on a mix of models would be branched on; here the relaxation is already integral.

# %%
d = result.to_dict()
print(d["certificate"])
print("vs the exact discrete Prop 6 menu:", d["comparison"])

# %%
menu = result.to_frame()
menu[menu["quality"] > 0].iloc[::12]

# %% [markdown]
# Quality by type, coloured by the model sold:
# the switch from `base` to `reasoning` is a jump in quality (the menu skips qualities that neither model
# sells profitably).

# %%
theta = menu["theta"].to_numpy()
fig, ax = plt.subplots(figsize=(7, 4), constrained_layout=True)
for k, name in enumerate(result.model_names):
    sel = (menu["model"] == name).to_numpy()
    ax.plot(theta[sel], menu["quality"].to_numpy()[sel], "o", ms=3, color=f"C{k}", label=f"sold: {name}")
for s in result.switch_types:
    ax.axvline(s, ls=":", color="0.5")
    ax.annotate(" switch", (s, ax.get_ylim()[1] * 0.9), fontsize=8)
ax.set_xlabel("type $\\theta$")
ax.set_ylabel("quality $Q(\\theta)$")
ax.set_title("multimodel_two_models: the certified menu (N = 200)")
ax.legend()
ax.grid(alpha=0.3)
plt.show()
