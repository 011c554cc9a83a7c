"""Floating-point tolerances, each derived from the float64 unit roundoff.

Notation: ``EPS = 2^-52 ≈ 2.22e-16`` is float64's machine epsilon, twice the
unit roundoff ``u = 2^-53``: one correctly rounded operation has relative
error at most ``u = EPS/2``. Every bound below counts roundings in units of
``u`` and is then expressed in ``EPS``; using ``EPS`` rather than ``u`` is a
stated safety factor of 2 that covers the difference between recursive,
pairwise and blocked summation orders (torch and NumPy both use orders whose
error bound is at most the recursive one). No tolerance here is tuned to make
a property pass: each is the bound written next to it.
"""

from __future__ import annotations

import numpy as np

EPS = float(np.finfo(np.float64).eps)
"""float64 machine epsilon, 2^-52 (twice the unit roundoff)."""

TINY = float(np.finfo(np.float64).tiny)
"""Smallest normal float64; below it relative error bounds no longer apply."""


def norm_rel(n: int) -> float:
    """Relative error of a computed 2-norm of ``n`` numbers.

    Sum of squares: n products and n-1 additions, relative error
    ≤ γ_n ≈ n·u; the root halves it and adds one rounding: ≤ (n/2 + 1)·u
    ≤ (n + 2)·EPS/4. Returned as ``(n + 2)·EPS/2`` (factor 2 margin).
    """
    return (n + 2) * EPS / 2


def dot_abs(n: int, abs_dot: float) -> float:
    """Absolute error of a computed inner product of ``n`` terms:
    ≤ γ_n · Σ|x_i y_i| ≤ n·u·Σ|x_i y_i| (Higham, Thm 3.1) = n·EPS/2·abs_dot; returned
    with EPS instead of EPS/2."""
    return n * EPS * abs_dot


def ema_rel(steps: int) -> float:
    """Relative error of an EMA of non-negative terms after ``steps`` steps.

    Each step ``β x + (1-β) y`` (or torch's lerp) costs at most 3 roundings and
    the earlier error is carried with weight ≤ 1, so the error grows by ≤ 3u a
    step: ≤ 3·steps·u, returned as ``3·steps·EPS``.
    """
    return 3 * steps * EPS


def retraction_rel(n: int) -> float:
    """Relative error of ‖θ‖ right after ``θ ← R θ/‖θ‖`` (``n`` entries), as measured.

    The computed norm used by the retraction is off by ≤ norm_rel(n); the
    division R/‖θ‖ and the product with each entry add 2 roundings; measuring
    the result adds another norm_rel(n). The error does not accumulate over
    steps because each retraction rescales to R afresh. Total ≤ 2·norm_rel(n) + 2·EPS.
    """
    return 2 * norm_rel(n) + 2 * EPS
