"""Dimensional consistency of a bound: how each side scales.

Scale every gradient by ``c > 0`` and every parameter by ``s > 0``. For the
losses of the online-convex framework the regret scales as ``c·s`` (it is a
sum of ``⟨g_t, θ_t - θ*⟩`` terms for linear losses, and bounded by them for
convex ones). An optimizer's trajectory scales with the parameters only if
its step size scales suitably: an Adam-type step ``α m̂/√v̂`` is free of the
gradient scale, so ``α ~ s``; an SGD-type step ``η a g`` (AdaRem) needs
``η ~ s/c``. A bound that is correct for all inputs must scale like the
quantity it bounds, term by term (each term may dominate for some inputs);
a term with another exponent makes the bound fail at some scale.

:func:`scaling_exponents` returns the pair ``(p, q)`` with
``expr(c·g, s·θ) = c**p s**q expr(g, θ)`` or ``None`` when the expression
is not homogeneous.
"""

from __future__ import annotations

from collections.abc import Mapping

import sympy as sp

from theory import symbols as S

c, s = S.c_scale, S.s_scale

#: How each measurable quantity scales (gradients × c, parameters × s).
ADAM_SCALING: dict[sp.Basic, sp.Expr] = {
    S.G: c * S.G,
    S.G_inf: c * S.G_inf,
    S.D: s * S.D,
    S.D_inf: s * S.D_inf,
    S.alpha: s * S.alpha,  # Adam-type step: α m̂/√v̂ is gradient-scale free
    S.S_v: c * S.S_v,  # Σ sqrt(T v̂) ~ |g|
    S.S_g: c * S.S_g,
    S.g_norm_i: c * S.g_norm_i,
    S.R_T: c * s * S.R_T,  # Σ ⟨g_t, θ_t - θ*⟩
}

#: AdaRem: θ ← θ - η a g, so η carries parameter/gradient units.
SGD_SCALING: dict[sp.Basic, sp.Expr] = {
    S.G2: c * S.G2,
    S.D_inf: s * S.D_inf,
    S.eta_lr: (s / c) * S.eta_lr,
    S.R_T: c * s * S.R_T,
}


def scaling_exponents(
    expr: sp.Expr, scaling: Mapping[sp.Basic, sp.Expr]
) -> tuple[sp.Expr, sp.Expr] | None:
    """Exponents ``(p, q)`` with ``expr(scaled) = c**p s**q expr``, or ``None``.

    The ratio ``expr(scaled)/expr`` is reduced with ``powsimp``; the exponents
    are read off as logarithmic derivatives, which are constants exactly when
    the expression is homogeneous in both scales.
    """
    scaled = expr.xreplace(dict(scaling))
    ratio = sp.powsimp(sp.simplify(scaled / expr), force=True)
    p = sp.simplify(c * sp.diff(ratio, c) / ratio)
    q = sp.simplify(s * sp.diff(ratio, s) / ratio)
    if p.free_symbols or q.free_symbols:
        return None
    return p, q


def term_report(
    lhs: sp.Expr,
    terms: tuple[tuple[str, sp.Expr], ...],
    scaling: Mapping[sp.Basic, sp.Expr],
) -> dict[str, object]:
    """Scaling exponents of the left side and of each right-side term.

    Returns ``{"lhs": [p, q], "terms": {name: [p, q] or None},
    "inconsistent": [names whose exponents differ from the left side's]}``.
    """
    lhs_exp = scaling_exponents(lhs, scaling)
    out_terms: dict[str, list[str] | None] = {}
    bad: list[str] = []
    for name, term in terms:
        exp = scaling_exponents(term, scaling)
        out_terms[name] = None if exp is None else [str(exp[0]), str(exp[1])]
        if exp is None or lhs_exp is None or exp != lhs_exp:
            bad.append(name)
    return {
        "lhs": None if lhs_exp is None else [str(lhs_exp[0]), str(lhs_exp[1])],
        "terms": out_terms,
        "inconsistent": bad,
    }
