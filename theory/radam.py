"""RAdam's variance rectification (paper 001 Alg. 5, after Liu et al. 2019), checked symbolically.

``ρ∞ = 2/(1-β2) - 1`` and ``ρ_t = ρ∞ - 2tβ2^t/(1-β2^t)``; when ``ρ_t ≥ 5`` the step
uses ``r_t = sqrt((1-β2^t)(ρ_t-4)(ρ_t-2)ρ∞ / ((ρ∞-4)(ρ∞-2)ρ_t))``. (The text
extraction shows ``(1-β2)`` where the superscript t was lost; docs/ALGORITHMS.md
reads ``(1-β2^t)``. Both readings are checked below.)

Claims (RA-1): ``ρ_1 = 1``; ``ρ_t`` increases to ``ρ∞``; ``r_t ∈ (0, 1]`` when
``ρ_t ≥ 5``. Proof sketch, each step decided by sympy:

* write ``β2 = e^{-a}`` (a > 0) and ``x = a t``: ``ρ_t = ρ∞ - (2/a) φ(x)`` with
  ``φ(x) = x/(e^x - 1)``; ``φ'(x) = k(x)/(e^x-1)²`` with ``k(x) = e^x(1-x) - 1``,
  ``k(0) = 0`` and ``k'(x) = -x e^x < 0``; so φ decreases, ρ_t increases in t;
* ``φ(x) → 0`` as ``x → ∞``: ``ρ_t → ρ∞``; since φ > 0, ``ρ_t < ρ∞`` for every t;
* ``F(ρ) = (ρ-4)(ρ-2)/ρ`` has ``F' = 1 - 8/ρ² > 0`` for ``ρ ≥ 5`` and ``F(5) > 0``,
  so ``0 < F(ρ_t) < F(ρ∞)`` and ``0 < r_t² = (1-β2^t) F(ρ_t)/F(ρ∞) < 1``.
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp

from theory import symbols as S

_b = sp.Symbol("beta2", positive=True)


def rho_inf(beta2: sp.Expr = _b) -> sp.Expr:
    """``ρ∞ = 2/(1-β2) - 1``."""
    return 2 / (1 - beta2) - 1


def rho_t(t: sp.Expr = S.t, beta2: sp.Expr = _b) -> sp.Expr:
    """``ρ_t = ρ∞ - 2tβ2^t/(1-β2^t)``."""
    return rho_inf(beta2) - 2 * t * beta2**t / (1 - beta2**t)


def rect_factor_sq(t: sp.Expr = S.t, beta2: sp.Expr = _b, literal: bool = False) -> sp.Expr:
    """``r_t²``; ``literal=True`` uses the extraction's ``(1-β2)`` instead of ``(1-β2^t)``."""
    rt, ri = rho_t(t, beta2), rho_inf(beta2)
    lead = (1 - beta2) if literal else (1 - beta2**t)
    return lead * (rt - 4) * (rt - 2) * ri / ((ri - 4) * (ri - 2) * rt)


def symbolic_checks() -> dict[str, object]:
    """Every step of the module docstring's proof; each entry is a sympy result."""
    a, x, u = sp.symbols("a x u", positive=True)
    rho_1 = sp.simplify(rho_t(1) - 1)
    rho_2 = sp.factor(sp.simplify(rho_t(2)))
    # β2 = e^{-a}: ρ_t - ρ∞ = -(2/a) φ(a t)
    phi = x / (sp.exp(x) - 1)
    substituted = sp.simplify(
        (rho_t(S.t, sp.exp(-a)) - rho_inf(sp.exp(-a))) + 2 / a * phi.subs(x, a * S.t)
    )
    k = sp.exp(x) * (1 - x) - 1
    phi_prime_numerator = sp.simplify(sp.diff(phi, x) * (sp.exp(x) - 1) ** 2 - k)
    k_prime = sp.simplify(sp.diff(k, x))
    limit_phi = sp.limit(phi, x, sp.oo)
    limit_rho = sp.limit(rho_t(S.t, sp.exp(-a)), S.t, sp.oo)
    rho_inf_gt_5 = sp.solve_univariate_inequality(rho_inf(_b) > 5, _b, relational=False).intersect(
        sp.Interval.Ropen(0, 1)
    )
    F = (x - 4) * (x - 2) / x
    F_shift = sp.factor(F.subs(x, 5 + u))
    F_prime_shift = sp.expand(sp.simplify(sp.diff(F, x) * x**2).subs(x, 5 + u))
    return {
        "rho_1_minus_1": rho_1,
        "rho_2": rho_2,
        "rho_t_with_beta2_exp_minus_a_plus_2phi_over_a": substituted,
        "phi_prime_times_denominator_minus_k": phi_prime_numerator,
        "k_prime": k_prime,
        "k_prime_negative_for_x_positive": bool(k_prime.is_negative),
        "k_at_0": k.subs(x, 0),
        "phi_limit": limit_phi,
        "rho_t_limit_minus_rho_inf": sp.simplify(limit_rho - rho_inf(sp.exp(-a))),
        # φ > 0: with e^x = 1 + y (y > 0), φ = log(1+y)/y
        "phi_positive_via_y": bool((sp.log(1 + u) / u).is_positive),
        "beta2_set_with_rho_inf_gt_5": rho_inf_gt_5,
        "F_at_5_plus_u": F_shift,
        "F_at_5_plus_u_positive": bool(F_shift.is_positive),
        "F_prime_times_rho_sq_at_5_plus_u": F_prime_shift,
        "F_prime_positive": bool(F_prime_shift.is_positive),
    }


def numeric_grid(t_max: int = 100_000) -> dict[str, object]:
    """ρ_t and r_t on a grid of β2 (1-β2 = 10^-k, k ∈ [0.5, 4] by 0.25) and t = 1..t_max.

    ``1 - β2^t`` is computed as ``-expm1(t log β2)`` so that it keeps its
    digits when (1-β2)t is small. Reports: max |ρ_1 - 1|, the smallest step
    ``ρ_{t+1} - ρ_t`` (≥ 0; exact ties only where both sides round to ρ∞),
    the range of r_t over the rectified steps in both readings and the first
    rectified step per β2.
    """
    ks = np.arange(0.5, 4.0001, 0.25)
    ts = np.arange(1, t_max + 1, dtype=np.float64)
    rows = []
    worst_rho1 = 0.0
    min_step = math.inf
    strict_decrease = 0
    r_min, r_max = math.inf, -math.inf
    r_lit_min, r_lit_max = math.inf, -math.inf
    for kk in ks:
        b2 = 1.0 - 10.0 ** (-kk)
        one_minus = -np.expm1(ts * math.log(b2))
        r_inf = 2.0 / (1.0 - b2) - 1.0
        rho = r_inf - 2.0 * ts * np.exp(ts * math.log(b2)) / one_minus
        worst_rho1 = max(worst_rho1, abs(rho[0] - 1.0))
        steps = np.diff(rho)
        min_step = min(min_step, float(steps.min()))
        # a float step below zero beyond rounding (relative to ρ∞) would contradict monotonicity
        strict_decrease += int(np.sum(steps < -8 * np.finfo(float).eps * r_inf))
        on = rho >= 5.0
        first = int(np.argmax(on)) + 1 if on.any() else None
        if on.any():
            F = lambda r: (r - 4.0) * (r - 2.0) / r  # noqa: E731
            r2 = one_minus[on] * F(rho[on]) / F(r_inf)
            r2_lit = (1.0 - b2) * F(rho[on]) / F(r_inf)
            r_min, r_max = (
                min(r_min, float(np.sqrt(r2).min())),
                max(r_max, float(np.sqrt(r2).max())),
            )
            r_lit_min = min(r_lit_min, float(np.sqrt(r2_lit).min()))
            r_lit_max = max(r_lit_max, float(np.sqrt(r2_lit).max()))
        rows.append({"beta2": float(b2), "rho_inf": float(r_inf), "first_rectified_t": first})
    return {
        "beta2_values": len(ks),
        "t_max": t_max,
        "grid_points": len(ks) * t_max,
        "max_abs_rho1_minus_1": worst_rho1,
        "min_rho_step": min_step,
        "steps_decreasing_beyond_rounding": strict_decrease,
        "r_range_rectified": [r_min, r_max],
        "r_range_rectified_literal_reading": [r_lit_min, r_lit_max],
        "first_rectified_step": rows,
    }
