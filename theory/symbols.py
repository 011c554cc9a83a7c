"""The sympy symbols shared by the statements of every paper.

One symbol per quantity an experiment can measure or a hyperparameter, all
declared with the sign assumptions the papers state, so that sympy can use
them when it simplifies (e.g. ``sqrt(G**2) == G``).

Aggregated sums over coordinates are symbols of their own, because the
regret bounds only ever use them summed over ``i = 1..d``:

* ``S_v``  = Σ_i sqrt(T · v̂_{T,i})        (paper 000 Theorem 1, first term)
* ``S_g``  = Σ_i ‖g_{1:T,i}‖₂             (paper 000 Theorem 1, second term)
"""

from __future__ import annotations

import sympy as sp

# Horizon, dimension and the step index.
T = sp.Symbol("T", positive=True, integer=True)
d = sp.Symbol("d", positive=True, integer=True)
t = sp.Symbol("t", positive=True, integer=True)
j = sp.Symbol("j", nonnegative=True, integer=True)
k = sp.Symbol("k", positive=True, integer=True)

# Bounds on gradients and on the iterates (paper 000 Theorem 1, paper 002 Theorem 1).
G = sp.Symbol("G", positive=True)
G_inf = sp.Symbol("G_inf", positive=True)
G2 = sp.Symbol("G_2", positive=True)
D = sp.Symbol("D", positive=True)
D_inf = sp.Symbol("D_inf", positive=True)

# Hyperparameters.
alpha = sp.Symbol("alpha", positive=True)  # Adam-family step size (α, paper 000)
beta1 = sp.Symbol("beta1", nonnegative=True)
beta2 = sp.Symbol("beta2", nonnegative=True)
gamma = sp.Symbol("gamma", nonnegative=True)  # AdaNorm EMA of the gradient norm (eq. 4)
lam = sp.Symbol("lambda", positive=True)  # β1 decay (paper 000) or AdaRem's λ (paper 002)
eta = sp.Symbol("eta", nonnegative=True)  # η ≜ β1²/√β2 (paper 001 Lemma 1)
eta_lr = sp.Symbol("eta_lr", positive=True)  # AdaRem base learning rate η (paper 002 Thm 1)
xi = sp.Symbol("xi", nonnegative=True)  # Aida's ξ (paper 004 eqs. 12-13)

# Aggregated per-coordinate measurements (see module docstring).
S_v = sp.Symbol("S_v", nonnegative=True)
S_g = sp.Symbol("S_g", nonnegative=True)
g_norm_i = sp.Symbol("gnorm_i", nonnegative=True)  # ‖g_{1:T,i}‖₂ for one coordinate

# Per-step sequences of one coordinate (Lemma 1's summand).
m_hat = sp.IndexedBase("mhat", real=True)
v_hat = sp.IndexedBase("vhat", nonnegative=True)
g_seq = sp.IndexedBase("g", real=True)

# Scale factors for the dimensional checks: gradients × c, parameters × s.
c_scale = sp.Symbol("c", positive=True)
s_scale = sp.Symbol("s", positive=True)

# The regret R(T) itself (left side of the regret theorems).
R_T = sp.Symbol("R_T", nonnegative=True)
