"""AdamNorm's Lemma 1, Theorem 1 (arXiv) / Theorem 2 (WACV) and Corollary 1 as sympy objects.

Sources: paper 000 (arXiv) §3.2 Theorem 1 and Corollary 1; paper 001 (WACV)
§3.2 Theorem 1 and supplement A (Lemma 1, Theorem 2 with its proof). The two
versions of the theorem differ only in the constant of the second term:
``(1-γ)²`` in paper 000, ``(1-η)²`` with ``η ≜ β1²/√β2`` in paper 001.

This module holds the statements and the symbolic derivations about them:
which constant follows from Lemma 1, how every term scales, what the
lemma's assumptions imply for the correction, and the proof steps that can
be decided in closed form. The numeric evaluation of the lemma lives in
:mod:`theory.lemma1_numeric`, the regret instance in
:mod:`theory.adanorm_regret_instance`.
"""

from __future__ import annotations

import sympy as sp

from theory import symbols as S
from theory.dimensions import ADAM_SCALING, term_report
from theory.statements import Statement

ETA_DEFINITION = sp.Eq(S.eta, S.beta1**2 / sp.sqrt(S.beta2))

#: Lemma 1's constant in front of ‖g_{1:T,i}‖₂ (paper 001 supplement A).
LEMMA1_CONSTANT = 2 * S.G_inf**3 / (S.G**2 * (1 - S.eta) ** 2 * sp.sqrt(1 - S.beta2))

_COMMON_ASSUMPTIONS: tuple[sp.Basic | str, ...] = (
    sp.Le(0, S.beta1),
    sp.Lt(S.beta1, 1),
    sp.Le(0, S.beta2),
    sp.Lt(S.beta2, 1),
    sp.Lt(S.beta1**2 / sp.sqrt(S.beta2), 1),
    ETA_DEFINITION,
    "||g_t||_2 <= G and ||g_t||_inf <= G_inf for all t",
)


def lemma1() -> Statement:
    """Paper 001 supplement A, Lemma 1, for one coordinate ``i``.

    ``Σ_{t=1}^T m̂²_{t,i}/√(t v̂_{t,i}) ≤ 2G∞³/(G²(1-η)²√(1-β2)) ‖g_{1:T,i}‖₂``
    where m̂ is built from the corrected gradients s_t and v̂ from the raw g_t.
    """
    summand = S.m_hat[S.t] ** 2 / sp.sqrt(S.t * S.v_hat[S.t])
    return Statement(
        name="AdamNorm Lemma 1",
        source="paper 001 supplement A, Lemma 1",
        lhs=sp.Sum(summand, (S.t, 1, S.T)),
        rhs_terms=(("lemma_constant_times_gnorm", LEMMA1_CONSTANT * S.g_norm_i),),
        assumptions=(
            *_COMMON_ASSUMPTIONS,
            "e_t <= G_inf for all t",
            "e_t / ||g_t||_2 <= G_inf / G for all t",
        ),
        notes=("m̂ uses s_t (eq. 5), v̂ uses g_t (eq. 6); bias corrections eqs. 7-8",),
    )


def lemma1_summand() -> sp.Expr:
    """One term of Lemma 1's left side, ``m̂_t² / √(t v̂_t)``."""
    return S.m_hat[S.t] ** 2 / sp.sqrt(S.t * S.v_hat[S.t])


def theorem(version: str) -> Statement:
    """Paper 000 Theorem 1 (``version="arxiv"``) or paper 001 Theorem 2 (``"wacv"``).

    ``S_v = Σ_i √(T v̂_{T,i})`` and ``S_g = Σ_i ‖g_{1:T,i}‖₂``; the third term
    is summed over the d coordinates, hence the factor d.
    """
    if version == "arxiv":
        kappa, source = S.gamma, "paper 000 §3.2, Theorem 1"
    elif version == "wacv":
        kappa, source = S.eta, "paper 001 §3.2 Theorem 1 / supplement A Theorem 2"
    else:
        raise ValueError("version must be 'arxiv' or 'wacv'")
    terms = (
        ("distance_term", S.D**2 / (2 * S.alpha * (1 - S.beta1)) * S.S_v),
        (
            "gradient_term",
            S.alpha
            * (1 + S.beta1)
            * S.G_inf**3
            / ((1 - S.beta1) * sp.sqrt(1 - S.beta2) * (1 - kappa) ** 2 * S.G**2)
            * S.S_g,
        ),
        (
            "beta1_decay_term",
            S.d
            * S.D_inf**2
            * S.G_inf
            * sp.sqrt(1 - S.beta2)
            / (2 * S.alpha * (1 - S.beta1) * (1 - S.lam) ** 2),
        ),
    )
    return Statement(
        name=f"AdamNorm regret bound ({version})",
        source=source,
        lhs=S.R_T,
        rhs_terms=terms,
        assumptions=(
            *_COMMON_ASSUMPTIONS,
            "||theta_n - theta_m||_2 <= D, ||theta_n - theta_m||_inf <= D_inf",
            "alpha_t = alpha/sqrt(t); beta1_t = beta1 * lambda**(t-1), 0 < lambda < 1",
            sp.Lt(S.lam, 1),
        ),
    )


def corollary1(version: str = "wacv") -> dict[str, sp.Expr]:
    """Paper 000 Corollary 1: ``R(T)/T = O(1/√T)``, *given* the theorem.

    Uses the paper's own worst cases ``S_v ≤ d G∞ √T`` and ``S_g ≤ d G∞ √T``.
    Returns the worst-case bound, ``lim √T · bound/T`` (finite and positive:
    the rate is exactly 1/√T) and ``lim bound/T`` (0).
    """
    bound = theorem(version).rhs.subs(
        {S.S_v: S.d * S.G_inf * sp.sqrt(S.T), S.S_g: S.d * S.G_inf * sp.sqrt(S.T)}
    )
    rate = sp.limit(bound * sp.sqrt(S.T) / S.T, S.T, sp.oo)
    average = sp.limit(bound / S.T, S.T, sp.oo)
    return {
        "worst_case_bound": bound,
        "sqrtT_times_average": sp.simplify(rate),
        "average_limit": average,
    }


def derived_gradient_term_constant() -> dict[str, object]:
    """Which constant of the theorem's second term follows from Lemma 1.

    The proof of paper 001 Theorem 2 bounds, per coordinate, the two sums
    ``Σ_t α_t m̂²_{t,i}/(2(1-β1)√v̂_{t,i})`` and
    ``Σ_t β1 α_{t-1} m²_{t-1,i}/(2(1-β1)√v̂_{t-1,i})`` by Lemma 1 (with
    ``α_t = α/√t``), i.e. by ``α/(2(1-β1))·L`` and ``β1 α/(2(1-β1))·L`` where
    L is Lemma 1's right side. Their sum is compared with both versions.
    """
    lemma_rhs = LEMMA1_CONSTANT * S.S_g
    derived = sp.simplify(
        S.alpha / (2 * (1 - S.beta1)) * lemma_rhs
        + S.beta1 * S.alpha / (2 * (1 - S.beta1)) * lemma_rhs
    )
    wacv = theorem("wacv").term("gradient_term")
    arxiv = theorem("arxiv").term("gradient_term")
    wacv_gap = sp.simplify(derived - wacv)
    arxiv_gap = sp.simplify(derived - arxiv)
    # The arXiv term equals the derived one exactly when (1-γ)² = (1-η)², i.e. γ = η on [0, 1).
    solutions = sp.solve(sp.Eq((1 - S.gamma) ** 2, (1 - S.eta) ** 2), S.gamma)
    ratio = sp.simplify(arxiv / wacv)
    return {
        "derived": derived,
        "wacv_minus_derived": wacv_gap,
        "arxiv_minus_derived": arxiv_gap,
        "arxiv_equals_derived_when_gamma_in": solutions,
        "arxiv_over_wacv": ratio,
    }


def lemma1_rhs_derivative_in_G() -> sp.Expr:
    """``∂RHS/∂G · G/RHS`` of Lemma 1: ``-2``. Loosening the gradient bound G tightens the bound."""
    rhs = lemma1().rhs
    return sp.simplify(sp.diff(rhs, S.G) * S.G / rhs)


def dimension_report_lemma1() -> dict[str, object]:
    """Scaling of Lemma 1's summand and right side (gradients × c).

    ``m̂ ~ c`` (s_t scales with g_t because e_t does), ``v̂ ~ c²``, so the
    left side scales as c; the right side has ``G∞³/G² ~ c`` times
    ``‖g_{1:T,i}‖ ~ c``.
    """
    scaling = dict(ADAM_SCALING)
    scaling[S.m_hat[S.t]] = S.c_scale * S.m_hat[S.t]
    scaling[S.v_hat[S.t]] = S.c_scale**2 * S.v_hat[S.t]
    stmt = lemma1()
    return term_report(lemma1_summand(), stmt.rhs_terms, scaling)


def dimension_report_theorem(version: str) -> dict[str, object]:
    """Scaling of the regret (c·s) and of each term of the theorem."""
    stmt = theorem(version)
    return term_report(stmt.lhs, stmt.rhs_terms, ADAM_SCALING)


def assumptions_versus_correction() -> dict[str, object]:
    """What Lemma 1's assumptions say about the correction ``e_t > ‖g_t‖₂``.

    With ``r_t = e_t/‖g_t‖₂``, the assumption ``r_t ≤ G∞/G`` and the correction
    ``r_t > 1`` together need ``G∞ > G``. But ``‖g‖∞ ≤ ‖g‖₂`` for every vector,
    so the smallest admissible ``G∞`` (``sup ‖g_t‖∞``) never exceeds the
    smallest admissible ``G`` (``sup ‖g_t‖₂``): with tight bounds the
    assumptions forbid the correction, and the lemma is a statement about
    Adam. The correction is admissible only with a sup-norm bound inflated to
    ``G∞ ≥ G·max_t r_t``, which the right side's ``G∞³`` then amplifies.
    Separately, the proof's step ``max(1, e_k/‖g_k‖)² ≤ G∞²/G²`` needs
    ``G∞ ≥ G`` even when the correction is idle (``max(...) = 1``).
    """
    r, delta = sp.symbols("r delta", positive=True)
    # G∞ = G - δ (δ ≥ 0, tight bounds): the admissible ratio G∞/G - 1 is -δ/G ≤ 0.
    ratio_minus_one = sp.simplify((S.G - delta) / S.G - 1)
    # G∞ = G(1+δ) and the correction r > 1 admissible when r ≤ 1 + δ.
    needed_inflation = sp.solve(sp.Eq(r, (S.G * (1 + delta)) / S.G), delta)[0]
    return {
        "tight_bounds_ratio_minus_one": ratio_minus_one,
        "tight_bounds_ratio_minus_one_nonpositive": bool(ratio_minus_one.is_nonpositive),
        "inflation_delta_needed_for_ratio_r": needed_inflation,
        "statement": (
            "r_t = e_t/||g_t||_2 <= G_inf/G and ||g||_inf <= ||g||_2 imply: with tight bounds "
            "(G_inf = sup||g_t||_inf <= G = sup||g_t||_2) r_t <= 1, so the correction never fires; "
            "it can fire under the assumptions only if G_inf >= G * max_t r_t > G. "
            "Also e_t <= max_k ||g_k||_2 <= G (EMA of norms), so e_t <= G_inf is implied once "
            "G_inf >= G."
        ),
    }


def adam_telescoping_counterexample() -> dict[str, object]:
    """The theorem's first term needs ``√(t v̂_{t,i})`` non-decreasing in t; it is not.

    The proof of paper 001 Theorem 2 (after Kingma & Ba 2015) telescopes
    ``Σ_t (θ_t-θ*)²(√v̂_t/α_t - √v̂_{t-1}/α_{t-1})`` into ``D²√(T v̂_T)/α``,
    which needs each bracket ≥ 0 (Reddi et al. 2018 point out the same for
    Adam). Exact counterexample: β2 = 1/2, gradients 1 then 0.
    """
    b2 = sp.Rational(1, 2)
    grads = [sp.Integer(1), sp.Integer(0)]
    v = sp.Integer(0)
    values = []
    for step, g in enumerate(grads, start=1):
        v = b2 * v + (1 - b2) * g**2
        v_hat = v / (1 - b2**step)
        values.append(sp.sqrt(step * v_hat))
    return {
        "beta2": str(b2),
        "grads": [str(g) for g in grads],
        "sqrt_t_vhat": [str(sp.nsimplify(x)) for x in values],
        "decreases": bool(values[1] < values[0]),
    }
