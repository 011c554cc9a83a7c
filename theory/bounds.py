"""The regret bounds as plain functions of what an experiment measures.

Each function lambdifies the sympy statement of :mod:`theory.adanorm_bounds`
or :mod:`theory.adarem_bounds` once (at import) and evaluates it with NumPy,
so the regret experiments compare measured regret with exactly the
expressions the theory checks analyse.

Measured inputs (all may be NumPy arrays broadcasting over a leading axis of
horizons):

* ``T`` horizon; ``vhat_T`` the bias-corrected second moment v̂_T per
  coordinate (shape ``(..., d)``); ``gnorms`` ``‖g_{1:T,i}‖₂`` per coordinate
  (shape ``(..., d)``), i.e. ``sqrt(Σ_{t≤T} g_{t,i}²)``;
* ``D, D_inf`` the L2 / L∞ diameters of the iterates (or of the feasible set);
* ``G, G_inf`` (or ``G2``) the gradient bounds.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import sympy as sp

from theory import symbols as S
from theory.adanorm_bounds import LEMMA1_CONSTANT, theorem
from theory.adarem_bounds import adarem_theorem

_ADAM_ARGS = (
    S.T,
    S.d,
    S.D,
    S.D_inf,
    S.G,
    S.G_inf,
    S.S_v,
    S.S_g,
    S.alpha,
    S.beta1,
    S.beta2,
    S.lam,
    S.gamma,
)
_ETA = S.beta1**2 / sp.sqrt(S.beta2)


def _lambdify_terms(
    terms: tuple[tuple[str, sp.Expr], ...], args: tuple[sp.Symbol, ...]
) -> dict[str, Callable]:
    return {
        name: sp.lambdify(args, expr.subs(S.eta, _ETA), modules="numpy") for name, expr in terms
    }


_ADAMNORM_TERMS = {
    version: _lambdify_terms(theorem(version).rhs_terms, _ADAM_ARGS)
    for version in ("arxiv", "wacv")
}
_LEMMA1 = sp.lambdify(
    (S.G, S.G_inf, S.g_norm_i, S.beta1, S.beta2),
    (LEMMA1_CONSTANT * S.g_norm_i).subs(S.eta, _ETA),
    modules="numpy",
)
_ADAREM_ARGS = (S.T, S.d, S.D_inf, S.G2, S.eta_lr, S.lam)
_ADAREM_TERMS = _lambdify_terms(adarem_theorem().rhs_terms, _ADAREM_ARGS)


def _sums(
    T: np.ndarray | float, vhat_T: np.ndarray, gnorms: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    vhat = np.asarray(vhat_T, dtype=np.float64)
    g = np.asarray(gnorms, dtype=np.float64)
    T_arr = np.asarray(T, dtype=np.float64)
    s_v = np.sum(np.sqrt(T_arr[..., None] * vhat), axis=-1)
    s_g = np.sum(g, axis=-1)
    return s_v, s_g, vhat.shape[-1]


def adamnorm_regret_bound_terms(
    *,
    T: np.ndarray | float,
    D: float,
    D_inf: float,
    G: float,
    G_inf: float,
    vhat_T: np.ndarray,
    gnorms: np.ndarray,
    alpha: float,
    beta1: float,
    beta2: float,
    lam: float,
    gamma: float = 0.0,
    version: str = "wacv",
) -> dict[str, np.ndarray]:
    """The three terms of paper 000 Theorem 1 (``"arxiv"``, constant (1-γ)²) or
    paper 001 Theorem 2 (``"wacv"``, constant (1-η)², η = β1²/√β2).

    ``gamma`` is AdaNorm's γ and only enters the arXiv version.
    """
    s_v, s_g, dim = _sums(T, vhat_T, gnorms)
    args = (T, dim, D, D_inf, G, G_inf, s_v, s_g, alpha, beta1, beta2, lam, gamma)
    shape = np.shape(s_v)
    # the third term does not depend on T: broadcast it to the horizons' shape
    return {
        name: np.broadcast_to(np.asarray(fn(*args), dtype=np.float64), shape).copy()
        for name, fn in _ADAMNORM_TERMS[version].items()
    }


def adamnorm_regret_bound(**kwargs: object) -> np.ndarray:
    """Sum of :func:`adamnorm_regret_bound_terms` (same keyword arguments)."""
    terms = adamnorm_regret_bound_terms(**kwargs)  # type: ignore[arg-type]
    return sum(terms.values())  # type: ignore[return-value]


def adamnorm_regret_bound_worst_case(
    *,
    T: np.ndarray | float,
    d: int,
    D: float,
    D_inf: float,
    G: float,
    G_inf: float,
    alpha: float,
    beta1: float,
    beta2: float,
    lam: float,
    gamma: float = 0.0,
    version: str = "wacv",
) -> np.ndarray:
    """The bound with the paper's worst cases ``Σ√(T v̂) ≤ d G∞ √T`` and ``Σ‖g_{1:T,i}‖ ≤ d G∞ √T``
    (the form behind Corollary 1)."""
    T_arr = np.asarray(T, dtype=np.float64)
    worst = d * G_inf * np.sqrt(T_arr)
    args = (T_arr, d, D, D_inf, G, G_inf, worst, worst, alpha, beta1, beta2, lam, gamma)
    return sum(np.asarray(fn(*args), dtype=np.float64) for fn in _ADAMNORM_TERMS[version].values())  # type: ignore[return-value]


def adamnorm_lemma1_rhs(
    *, G: float, G_inf: float, gnorm: np.ndarray | float, beta1: float, beta2: float
) -> np.ndarray:
    """Right side of paper 001 Lemma 1, one coordinate: ``2G∞³/(G²(1-η)²√(1-β2)) ‖g_{1:T,i}‖₂``."""
    return np.asarray(_LEMMA1(G, G_inf, gnorm, beta1, beta2), dtype=np.float64)


def adarem_regret_bound_terms(
    *, T: np.ndarray | float, d: int, D_inf: float, G2: float, eta: float, lam: float
) -> dict[str, np.ndarray]:
    """The three terms of paper 002 Theorem 1 (η_t = η/√t, weight decay γ = 0)."""
    args = (T, d, D_inf, G2, eta, lam)
    shape = np.shape(np.asarray(T))
    return {
        name: np.broadcast_to(np.asarray(fn(*args), dtype=np.float64), shape).copy()
        for name, fn in _ADAREM_TERMS.items()
    }


def adarem_regret_bound(
    *, T: np.ndarray | float, d: int, D_inf: float, G2: float, eta: float, lam: float
) -> np.ndarray:
    """Paper 002 Theorem 1.

    ``D∞²d/(η(1-λ)³)[(5-4λ)√T + 2λ - 1] + D∞²d/(2η(1-λ)) + G₂²dη(2√T - 1)``.
    """
    terms = adarem_regret_bound_terms(T=T, d=d, D_inf=D_inf, G2=G2, eta=eta, lam=lam)
    return sum(terms.values())  # type: ignore[return-value]
