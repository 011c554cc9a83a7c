"""AdaRem's Theorem 1 (paper 002 §3.3) as a sympy object, and a derivation of it.

Theorem 1: with ``η_{t,i} = η/√t · a_{t,i}``, ``a_{t,i} = 1 + λ^t b_{t,i}`` (eqs.
1-2), weight decay γ = 0, ``‖x - y‖∞ ≤ D∞`` on F and ``‖∇f_t‖ ≤ G₂``:

``R_T ≤ D∞²d/(η(1-λ)³)[(5-4λ)√T + 2λ - 1] + D∞²d/(2η(1-λ)) + G₂²dη(2√T - 1)``.

The appendix with the paper's proof is not part of the seed text, so this
module derives a bound from the standard projected online-gradient argument
and proves symbolically that the stated bound dominates it:

1. per step and coordinate (projection onto a box is nonexpansive per
   coordinate): ``g x_t ≤ (x_t² - x_{t+1}²)/(2η_t) + η_t g²/2``, ``x = θ - θ*``;
2. summation by parts and ``x² ≤ D∞²``: the distance part is at most
   ``D∞²/2 [1/η_1 + Σ_{t≥2} (1/η_t - 1/η_{t-1})_+]``;
3. AR-1's range ``a ∈ [1-λ^t, 1+λ^t]`` (t ≥ 1) gives ``1/η_t ≤ u_t/η`` and
   ``1/η_{t-1} ≥ l_{t-1}/η`` with ``u_t = √t/(1-λ^t)``, ``l_t = √t/(1+λ^t)``;
4. ``u_t - l_{t-1} = (√t - √(t-1)) + √t λ^t/(1-λ^t) + √(t-1) λ^{t-1}/(1+λ^{t-1})``,
   whose sums are at most ``√T - 1``, ``λ/(1-λ)³`` and ``λ/(1-λ)²``;
5. the gradient part is at most ``η(1+λ)G₂²(2√T - 1)/2`` (``Σ 1/√t ≤ 2√T - 1``).

The result, ``B_closed``, is below the paper's bound for all ``T ≥ 1`` and
``0 ≤ λ < 1`` (:func:`dominance`).
"""

from __future__ import annotations

import sympy as sp

from theory import symbols as S
from theory.dimensions import SGD_SCALING, term_report
from theory.statements import Statement


def adarem_theorem() -> Statement:
    """Paper 002 §3.3 Theorem 1, as stated."""
    lam, T, d, D_inf, G2, eta = S.lam, S.T, S.d, S.D_inf, S.G2, S.eta_lr
    return Statement(
        name="AdaRem regret bound",
        source="paper 002 §3.3, Theorem 1",
        lhs=S.R_T,
        rhs_terms=(
            (
                "distance_term",
                D_inf**2 * d / (eta * (1 - lam) ** 3) * ((5 - 4 * lam) * sp.sqrt(T) + 2 * lam - 1),
            ),
            ("initial_term", D_inf**2 * d / (2 * eta * (1 - lam))),
            ("gradient_term", G2**2 * d * eta * (2 * sp.sqrt(T) - 1)),
        ),
        assumptions=(
            "eta_t,i = eta/sqrt(t) * (1 + lambda**t * b_t,i), t = 1..T; weight decay gamma = 0",
            "||x - y||_inf <= D_inf on F; ||grad f_t(x)|| <= G_2",
            sp.Lt(S.lam, 1),
        ),
    )


def closed_form_bound() -> sp.Expr:
    """``B_closed``: the bound derived in the module docstring (all d coordinates)."""
    lam, T, d, D_inf, G2, eta = S.lam, S.T, S.d, S.D_inf, S.G2, S.eta_lr
    distance = (
        d
        * D_inf**2
        / (2 * eta)
        * (1 / (1 - lam) + sp.sqrt(T) - 1 + lam / (1 - lam) ** 3 + lam / (1 - lam) ** 2)
    )
    gradient = eta * (1 + lam) * G2**2 * (2 * sp.sqrt(T) - 1) / 2
    return distance + gradient


def rate_bracket_identity() -> sp.Expr:
    """``u_t - l_{t-1}`` minus its three-part decomposition (step 4); sympy reduces it to 0."""
    t, lam = S.t, S.lam
    u_t = sp.sqrt(t) / (1 - lam**t)
    l_prev = sp.sqrt(t - 1) / (1 + lam ** (t - 1))
    parts = (
        (sp.sqrt(t) - sp.sqrt(t - 1))
        + sp.sqrt(t) * lam**t / (1 - lam**t)
        + sp.sqrt(t - 1) * lam ** (t - 1) / (1 + lam ** (t - 1))
    )
    return sp.simplify(u_t - l_prev - parts)


def dominance() -> dict[str, sp.Expr]:
    """Symbolic proof that the paper's bound is at least ``B_closed``.

    The gradient parts: ``G₂²dη(2√T-1) - η(1+λ)G₂²(2√T-1)/2 ≥ 0`` because
    ``d ≥ 1 ≥ (1+λ)/2``. The distance parts, per ``dD∞²/η`` and with
    ``x = √T ≥ 1``: the difference times ``2(1-λ)³`` is ``Δ(x, λ)``, linear in
    x with a positive slope, and ``Δ(1, λ) = (λ-2)(λ-4) > 0`` on [0, 1).
    """
    lam, d, D_inf, eta = S.lam, S.d, S.D_inf, S.eta_lr
    x = sp.Symbol("x", positive=True)
    paper = adarem_theorem()
    paper_distance = (paper.term("distance_term") + paper.term("initial_term")).subs(
        sp.sqrt(S.T), x
    )
    mine = closed_form_bound()
    mine_distance = (mine - mine.coeff(S.G2**2) * S.G2**2).subs(sp.sqrt(S.T), x)
    delta = sp.expand(
        sp.simplify((paper_distance - mine_distance) * 2 * (1 - lam) ** 3 * eta / (d * D_inf**2))
    )
    slope = sp.expand(sp.diff(delta, x))
    at_one = sp.factor(delta.subs(x, 1))
    # slope = 2(5-4λ) - (1-λ)³; with λ = 1 - μ (0 < μ ≤ 1): 2 + 8μ - μ³ > 0
    mu = sp.Symbol("mu", positive=True)
    slope_mu = sp.expand(slope.subs(lam, 1 - mu))
    grad_gap = sp.factor(paper.term("gradient_term") - mine.coeff(S.G2**2) * S.G2**2)
    return {
        "delta": delta,
        "slope": slope,
        "slope_in_mu": slope_mu,
        "delta_at_T1": at_one,
        "gradient_gap": grad_gap,
    }


def ar1_bounds() -> dict[str, sp.Expr]:
    """AR-1's range (eqs. 1-2), the fact step 3 leans on.

    With ``max|m| = |m_i| + δ`` (δ ≥ 0) and ε ≥ 0,
    ``1 - |b| = (|g|δ + ε)/(|g| max|m| + ε) ≥ 0``; and ``λ^t ≤ λ`` for t ≥ 1,
    so ``a ∈ [1-λ^t, 1+λ^t] ⊆ [1-λ, 1+λ]``. At Alg. 1's first iteration
    (t = 0) the range is [0, 2], harmless there because m_0 = 0 makes b = 0.
    """
    g_abs, m_abs, delta, eps = sp.symbols("g_abs m_abs delta epsilon", nonnegative=True)
    lam = sp.Symbol("lambda", positive=True)
    b_abs = g_abs * m_abs / (g_abs * (m_abs + delta) + eps)
    slack = sp.simplify(1 - b_abs)
    k = sp.Symbol("k", positive=True, integer=True)
    lam_power_gap = sp.factor(lam - lam ** (k + 1))  # λ - λ^{k+1} = λ(1 - λ^k) ≥ 0 for λ ≤ 1
    return {"one_minus_abs_b": sp.factor(slack), "lambda_minus_lambda_pow": lam_power_gap}


def dimension_report() -> dict[str, object]:
    """Scaling of the regret and each term, with gradients × c, parameters × s, η ~ s/c."""
    stmt = adarem_theorem()
    return term_report(stmt.lhs, stmt.rhs_terms, SGD_SCALING)
