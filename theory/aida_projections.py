"""Aida's mutual orthogonal projections (paper 004 eqs. 12-16) in closed form.

Eqs. 12-13, from the pair ``(m, g)`` (eq. 13's left side reads ``g^{(k-1)}`` in
the extraction; it is ``g^{(k)}``):

``m^(k) = ⟨g^(k-1), m^(k-1)⟩/(‖g^(k-1)‖² + ξ) · g^(k-1)``,
``g^(k) = ⟨m^(k-1), g^(k-1)⟩/(‖m^(k-1)‖² + ξ) · m^(k-1)``.

Everything depends on the pair only through its Gram data: ``a = ‖m‖``,
``b = ‖g‖`` and ``c = cos∠(m, g)`` (``p = ⟨m, g⟩ = abc``). By bilinearity one
projection maps

``a → |c| a b²/(b²+ξ)``, ``b → |c| b a²/(a²+ξ)``, ``c → c``

(the new m lies along the old g and vice versa). Closed forms:

* ``‖m^(1) - g^(1)‖² = c² (P² + Q² - 2cPQ)`` with ``P = ab²/(b²+ξ)``, ``Q = ba²/(a²+ξ)``;
* for ξ = 0: ``‖m^(k) - g^(k)‖² = cos^{2k}θ · ‖m - g‖²`` — each projection
  multiplies the squared distance by cos²θ, θ being the (unchanged) angle.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import sympy as sp

from theory.search import find_example

a, b = sp.symbols("a b", positive=True)
c = sp.Symbol("c", real=True)
xi = sp.Symbol("xi", nonnegative=True)


def gram_step() -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """The Gram map of one projection: new ``(‖m‖², ‖g‖², ⟨m, g⟩)`` from ``(a, b, c, ξ)``."""
    p = a * b * c
    return (
        p**2 * b**2 / (b**2 + xi) ** 2,
        p**2 * a**2 / (a**2 + xi) ** 2,
        p**3 / ((a**2 + xi) * (b**2 + xi)),
    )


def gram_step_from_vectors(n: int = 3) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """Differences between eqs. 12-13 applied to symbolic vectors in R^n and :func:`gram_step`.

    All three simplify to 0: the Gram map is exact (it only uses bilinearity).
    """
    m = sp.Matrix(sp.symbols(f"m1:{n + 1}", real=True))
    g = sp.Matrix(sp.symbols(f"g1:{n + 1}", real=True))
    p = m.dot(g)
    mm, gg = m.dot(m), g.dot(g)
    m1 = p / (gg + xi) * g
    g1 = p / (mm + xi) * m
    want = (p**2 * gg / (gg + xi) ** 2, p**2 * mm / (mm + xi) ** 2, p**3 / ((mm + xi) * (gg + xi)))
    got = (m1.dot(m1), g1.dot(g1), m1.dot(g1))
    return tuple(sp.simplify(x - y) for x, y in zip(got, want, strict=True))  # type: ignore[return-value]


def symbolic_checks() -> dict[str, sp.Expr]:
    """AI-1, AI-2, AI-3 in closed form; each entry is a sympy result (see the keys)."""
    mm1, gg1, mg1 = gram_step()
    d0 = a**2 + b**2 - 2 * a * b * c
    d1 = mm1 + gg1 - 2 * mg1
    P = a * b**2 / (b**2 + xi)
    Q = b * a**2 / (a**2 + xi)
    # AI-1: 1 - ‖m1‖²/‖m‖² = (1 - c²) + c²·ξ(2b² + ξ)/(b² + ξ)²
    shrink_m = sp.simplify(
        1 - mm1 / a**2 - ((1 - c**2) + c**2 * xi * (2 * b**2 + xi) / (b**2 + xi) ** 2)
    )
    shrink_g = sp.simplify(
        1 - gg1 / b**2 - ((1 - c**2) + c**2 * xi * (2 * a**2 + xi) / (a**2 + xi) ** 2)
    )
    # AI-2 closed form and decomposition of the decrease into nonnegative parts
    closed = sp.simplify(d1 - c**2 * (P**2 + Q**2 - 2 * c * P * Q))
    xi0 = sp.simplify(d1.subs(xi, 0) - c**2 * d0)
    p_minus_q = sp.factor(P - Q)
    first = (a**2 + xi) * (b**2 + xi) - a * b * (a * b - xi)
    second = (a**2 + xi) * (b**2 + xi) + a * b * (a * b - xi)
    pq_gap = sp.factor(a * b - P * Q)
    decomposition = sp.simplify(
        (d0 - d1)
        - (
            (1 - c**2) * d0
            + c**2 * ((a - b) ** 2 - (P - Q) ** 2)
            + 2 * c**2 * (1 - c) * (a * b - P * Q)
        )
    )
    ab_gap = sp.factor((a - b) ** 2 - (P - Q) ** 2)
    # AI-3: cos of the new pair
    cos_new = sp.simplify(mg1 / (sp.sqrt(mm1) * sp.sqrt(gg1)))
    # k-fold, ξ = 0: norms scale by |c|, angle kept, so D_k = c² D_{k-1}
    k_step = sp.simplify(
        d0.subs({a: sp.Abs(c) * a, b: sp.Abs(c) * b}, simultaneous=True) - c**2 * d0
    )
    return {
        "ai1_m_shrink_identity": shrink_m,
        "ai1_g_shrink_identity": shrink_g,
        "ai1_xi_factor": sp.factor(1 - b**4 / (b**2 + xi) ** 2),
        "ai2_closed_form_minus_d1": closed,
        "ai2_xi0_d1_minus_cos2_d0": xi0,
        "ai2_P_minus_Q": p_minus_q,
        "ai2_first_bracket": sp.expand(first),
        "ai2_second_bracket": sp.expand(second),
        # the only term of the second bracket that can be negative is -abξ: a² - ab + b² ≥ 0
        "ai2_second_bracket_square_form": sp.simplify(
            a**2 - a * b + b**2 - ((a - b / 2) ** 2 + 3 * b**2 / 4)
        ),
        "ai2_ab_minus_PQ": pq_gap,
        "ai2_abgap_factor": ab_gap,
        "ai2_decrease_decomposition_residual": decomposition,
        "ai2_equality_xi0": sp.factor(d0 - d1.subs(xi, 0)),
        "ai3_cos_after": cos_new,
        "ai2_kfold_xi0_step_residual": k_step,
    }


# --------------------------------------------------------------------------- numerics


def project(
    m: np.ndarray, g: np.ndarray, xi_value: float, K: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(m^(0), g^(0)), ..., (m^(K), g^(K))]`` by eqs. 12-13 in float64.

    A projection whose denominator is 0 gives 0 (docs/ALGORITHMS.md).
    """
    pairs = [(np.asarray(m, dtype=np.float64), np.asarray(g, dtype=np.float64))]
    for _ in range(K):
        mk, gk = pairs[-1]
        inner = float(np.dot(gk, mk))
        dg = float(np.dot(gk, gk)) + xi_value
        dm = float(np.dot(mk, mk)) + xi_value
        m_next = inner / dg * gk if dg > 0 else np.zeros_like(mk)
        g_next = inner / dm * mk if dm > 0 else np.zeros_like(gk)
        pairs.append((m_next, g_next))
    return pairs


def _cos(x: np.ndarray, y: np.ndarray) -> float | None:
    nx, ny = float(np.linalg.norm(x)), float(np.linalg.norm(y))
    if nx == 0.0 or ny == 0.0:
        return None
    return float(np.dot(x, y)) / (nx * ny)


def check_pair(
    m: np.ndarray, g: np.ndarray, xi_value: float, K: int, rtol: float = 1e-9
) -> list[str]:
    """The claims AI-1..AI-3 and the ξ = 0 closed form on one pair; returns the names that fail."""
    pairs = project(m, g, xi_value, K)
    scale = max(float(np.dot(m, m)), float(np.dot(g, g)), 1e-300)
    failed: list[str] = []
    cos0 = _cos(m, g)
    d0 = float(np.sum((m - g) ** 2))
    for k in range(1, K + 1):
        (mp, gp), (mk, gk) = pairs[k - 1], pairs[k]
        if np.linalg.norm(mk) > np.linalg.norm(mp) * (1 + rtol) + 1e-300:
            failed.append("AI-1 m")
        if np.linalg.norm(gk) > np.linalg.norm(gp) * (1 + rtol) + 1e-300:
            failed.append("AI-1 g")
        dk, dp = float(np.sum((mk - gk) ** 2)), float(np.sum((mp - gp) ** 2))
        if dk > dp + rtol * scale:
            failed.append("AI-2")
        ck = _cos(mk, gk)
        # the angle is defined while both vectors are nonzero; compare where they are not tiny
        if cos0 is not None and ck is not None and abs(cos0) > 1e-6:
            if abs(ck - cos0) > 1e-7:
                failed.append("AI-3")
        if xi_value == 0.0 and cos0 is not None:
            if abs(dk - cos0 ** (2 * k) * d0) > 1e-8 * scale:
                failed.append("closed form")
    return failed


def search(max_examples: int) -> dict[str, object]:
    """Hypothesis search for a pair violating any of :func:`check_pair`'s checks."""
    from hypothesis import strategies as st

    counts = {"examples": 0}
    entry = st.floats(-10.0, 10.0, allow_nan=False, allow_subnormal=False)

    @st.composite
    def case(draw: Callable) -> tuple[np.ndarray, np.ndarray, float, int]:
        n = draw(st.integers(1, 8))
        m = np.asarray([draw(entry) for _ in range(n)])
        g = np.asarray([draw(entry) for _ in range(n)])
        xi_value = draw(st.sampled_from([0.0, 1e-20, 1e-3, 1.0, 10.0]))
        return m, g, xi_value, draw(st.integers(1, 3))

    def bad(raw: tuple[np.ndarray, np.ndarray, float, int]) -> bool:
        counts["examples"] += 1
        return bool(check_pair(*raw))

    found = find_example(case(), bad, max_examples)
    if found is None:
        return {"examples": counts["examples"], "found": False}
    m, g, xi_value, K = found
    return {
        "examples": counts["examples"],
        "found": True,
        "m": m.tolist(),
        "g": g.tolist(),
        "xi": xi_value,
        "K": K,
        "failed": check_pair(m, g, xi_value, K),
    }


def edge_cases() -> dict[str, object]:
    """The degenerate pairs the claims' wording leaves open.

    * ``m = 0, g ≠ 0`` (linearly dependent, "on one line"): both projections
      are 0, so ``‖m^(1) - g^(1)‖² = 0 < ‖g‖²`` — AI-2's "equality iff on the
      same line" fails for this dependent pair;
    * orthogonal pair: both projections vanish, the angle after is undefined;
    * elementwise: eq. 16 bounds the sum, not each coordinate —
      ``(m^(1)_i - g^(1)_i)²`` can exceed ``(m_i - g_i)²``.
    """
    zero_m = project(np.zeros(2), np.array([1.0, 2.0]), 0.0, 1)[1]
    orth = project(np.array([1.0, 0.0]), np.array([0.0, 2.0]), 0.0, 1)[1]
    m, g = np.array([1.0, 0.0]), np.array([1.0, 1.0])
    m1, g1 = project(m, g, 0.0, 1)[1]
    return {
        "zero_m": {
            "m": [0.0, 0.0],
            "g": [1.0, 2.0],
            "dist_before": 5.0,
            "dist_after": float(np.sum((zero_m[0] - zero_m[1]) ** 2)),
        },
        "orthogonal": {
            "m": [1.0, 0.0],
            "g": [0.0, 2.0],
            "after": [orth[0].tolist(), orth[1].tolist()],
        },
        "elementwise": {
            "m": m.tolist(),
            "g": g.tolist(),
            "sq_diff_before": ((m - g) ** 2).tolist(),
            "sq_diff_after": ((m1 - g1) ** 2).tolist(),
        },
    }


def angle_preserved_example() -> dict[str, float]:
    """A pair at 60° through K = 3 projections (ξ = 0): the angle and the cos^{2k} law."""
    m = np.array([2.0, 0.0, 0.0])
    g = np.array([0.5, 0.5 * math.sqrt(3.0), 0.0])  # |g| = 1, cos = 1/2
    pairs = project(m, g, 0.0, 3)
    out = {"cos0": 0.5, "dist0": float(np.sum((m - g) ** 2))}
    for k, (mk, gk) in enumerate(pairs[1:], start=1):
        out[f"cos{k}"] = float(np.dot(mk, gk) / (np.linalg.norm(mk) * np.linalg.norm(gk)))
        out[f"dist{k}"] = float(np.sum((mk - gk) ** 2))
    return out
