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
# # 1. Solve a shipped problem and read the result
#
# mechdesign ships the paper's examples as problem files. `single_model_cobb_douglas` is the §3-4 model:
# one LLM with two inference token classes and one fine-tuning class, g = x₁^0.3 x₂^0.2 z^0.25, token
# costs (1, 3; 2), and buyer types θ uniform on [0, 1], cut into 200 cells. Solving it returns the
# profit-maximising menu of token budgets (Prop 3), which constraints bind, and a certificate.

# %%
import matplotlib.pyplot as plt

import mechdesign as md

problem = md.load_problem("single_model_cobb_douglas")  # a shipped name, or a path to a .toml file
result = problem.solve()
print(result.status, result.profit)

# %% [markdown]
# ## The status and the certificate
#
# `status` is `"optimal"` only when the **certificate** holds: the menu passes the all-pairs IC/IR audit,
# and a Lagrangian upper bound on the profit of *every* feasible menu is within 1e-9 (relative) of this
# menu's profit. Otherwise the status is `"uncertified"` and `mechdesign solve` exits 1.

# %%
cert = result.certificate
print(cert.line())
print(f"profit {cert.profit:.10e}  bound {cert.bound:.10e}  relative gap {cert.gap_rel:.1e}  "
      f"audit passed: {cert.audit_passed}")

# %% [markdown]
# ## The menu
#
# One row per type: θ, its probability, the aggregate quality Q, the transfer t, the buyer's rent
# U = θQ − t, the token budgets that produce Q at least cost (Lemma 3) and their cost. Types below the
# exclusion cutoff get nothing.

# %%
menu = result.menu
served = menu[menu["quality"] > 0]
print(f"{len(served)} of {len(menu)} types served; the lowest served type is theta = {served['theta'].iloc[0]:.4f}")
served.iloc[::20]

# %% [markdown]
# ## Which constraints bind
#
# The binding sets are reported two ways: *tight* (slack within 1e-10 of the largest gross payoff) and
# *active* (positive multiplier). Prop 3 predicts the local downward ICs bind for every served type and
# the IR binds for the lowest served type only; the comparison with the exact discrete menu checks that.

# %%
print(result.binding_table())
cmp = result.comparison
print(f"numeric vs exact discrete menu: profit {cmp.profit_rel_error:.1e}, quality {cmp.quality_rel_error:.1e} "
      f"(relative); binding sets agree: {cmp.tight_missing == 0 and cmp.tight_unexpected == 0}")

# %% [markdown]
# ## The menu against the closed form
#
# The numeric menu (dots) lies on the exact discrete menu, and both approach Prop 3's continuous closed
# form (eqs. 12-13) as the number of cells grows.

# %%
theta = menu["theta"].to_numpy()
cont = result.continuous
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
for ax, col, label in ((axes[0], "quality", "quality $Q(\\theta)$"), (axes[1], "transfer", "transfer $t(\\theta)$")):
    ax.plot(theta, getattr(cont, col)(theta), "-", color="0.5", label="continuous closed form (Prop 3)")
    ax.plot(theta[::4], menu[col].to_numpy()[::4], "o", ms=3, color="C3", label="certified numeric menu")
    ax.axvline(cont.cutoff, ls=":", color="0.6")
    ax.set_xlabel("type $\\theta$")
    ax.set_ylabel(label)
    ax.grid(alpha=0.3)
axes[0].legend(fontsize=8)
fig.suptitle("single_model_cobb_douglas: the optimal menu of token budgets")
plt.show()
