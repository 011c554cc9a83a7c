"""Aida, AidaGrad and LAida (paper 004, Algorithms 3-5, eqs. 12-16).

Aida replaces AdaBelief's ``(m_t - g_t)²`` with ``(m^(K) - g^(K))²``, where
``(m^(k), g^(k))`` are obtained from ``(m_t, g_t)`` by K rounds of mutual
orthogonal projections within each layer (one parameter tensor), eqs. (12)-(13).
See docs/ALGORITHMS.md, "Aida, AidaGrad, LAida".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._adam_type import adam_defaults
from ._common import check_int, check_real, ema, inner, mean
from .layerwise import _Paper004Optimizer


def _projection_coefficient(dot: float, squared_norm: float, xi: float) -> float:
    """``⟨a, b⟩/(‖b‖² + ξ)``; a zero denominator (ξ = 0, b = 0) gives 0."""
    denominator = squared_norm + xi
    return dot / denominator if denominator != 0.0 else 0.0


def mutual_projections(
    m: np.ndarray, g: np.ndarray, K: int, xi: float
) -> tuple[np.ndarray, np.ndarray]:
    """K rounds of eqs. (12)-(13), both vectors of round k from the pair of round k-1::

        m^(k) = ⟨g^(k-1), m^(k-1)⟩/(‖g^(k-1)‖² + ξ) · g^(k-1)
        g^(k) = ⟨m^(k-1), g^(k-1)⟩/(‖m^(k-1)‖² + ξ) · m^(k-1)

    starting from ``(m^(0), g^(0)) = (m, g)``; K = 0 returns the pair unchanged.
    """
    m_k = np.asarray(m, dtype=np.float64)
    g_k = np.asarray(g, dtype=np.float64)
    for _ in range(K):
        dot = inner(m_k, g_k)
        m_next = _projection_coefficient(dot, inner(g_k, g_k), xi) * g_k  # eq. (12)
        g_next = _projection_coefficient(dot, inner(m_k, m_k), xi) * m_k  # eq. (13)
        m_k, g_k = np.asarray(m_next), np.asarray(g_next)
    return m_k, g_k


class _MutualProjections(_Paper004Optimizer):
    """The options of the methods with K mutual projections (paper 004 eqs. 12-13):
    ``K`` (2) and ξ, the denominators' safeguard; ``last`` adds the K-th pair."""

    LAST_KEYS = ("g", "m", "m_proj", "g_proj", "v", "step_size")

    DEFAULTS = {"K": 2, "xi": 1e-20} | adam_defaults(eps_mode="inside")

    def _configure(
        self,
        params: Sequence[np.ndarray],
        *,
        K: int,
        xi: float,
        **options: Any,
    ) -> None:
        self.K = check_int("K", K, low=0)
        self.xi = check_real("xi", xi, low=0.0)
        super()._configure(params, **options)


class AidaReference(_MutualProjections):
    """Aida, paper 004 Algorithm 3 (eqs. 12-14).

    ::

        m_t = β1 m_{t-1} + (1-β1) g_t
        (m^(K), g^(K)) = K mutual projections of (m_{l,t}, g_{l,t})   eqs. (12)-(13)
        v_{l,t} = β2 v_{l,t-1} + (1-β2) (m^(K) - g^(K))² + ε           eq. (14)
        x_t = x_{t-1} - η (m_t/(1-β1^t)) / sqrt(v_t/(1-β2^t))

    The update line 15 of Alg. 3 is garbled in the extraction; it is read from
    Alg. 4 line 11 and Alg. 5 line 16 (no ε outside the root). ``eps_mode="both"``
    adds ε outside the root too, which makes K = 0 (or one-element layers with
    ξ = 0) identical to AdaBelief. ``last`` adds "m_proj" and "g_proj", the
    K-th pair; ``step_size`` is ``1/sqrt(ṽ)`` elementwise.
    """

    def _update_tensor(self, i, g):
        st = self.state[i]
        t = st["step"]
        m = ema(st["m"], g, self.beta1)  # line 5
        m_K, g_K = mutual_projections(m, g, self.K, self.xi)  # lines 7-11
        v = self._second_moment(st["v"], (m_K - g_K) ** 2)  # line 12, eq. (14)
        step_size = self._step_sizes(v, t)
        st["m"], st["v"] = m, v
        self._set_param(i, self.params[i] - self.lr * step_size * self._m_tilde(m, t))
        self._record(i, m=m, m_proj=m_K, g_proj=g_K, v=v, step_size=step_size)


class AidaGradReference(_Paper004Optimizer):
    """AidaGrad, paper 004 Appendix A, Algorithm 4: one projection of g onto m.

    ::

        m_t     = β1 m_{t-1} + (1-β1) g_t                               line 5
        g^p_l   = ⟨m_{l,t}, g_{l,t}⟩/(‖m_{l,t}‖² + ξ) · m_{l,t}          line 7
        v_{l,t} = β2 v_{l,t-1} + (1-β2) (g^p_l)² + ε                    line 8
        x_t     = x_{t-1} - η m̃_t/sqrt(ṽ_t)                             lines 10-11

    Line 11 reads ``η_t m_t/sqrt(ñ_t)``; ñ is read as the ṽ of line 10 and
    m as the bias-corrected m̃ computed there. ``last["g_proj"]`` is g^p.
    """

    LAST_KEYS = ("g", "m", "g_proj", "v", "step_size")

    DEFAULTS = {"xi": 1e-20} | adam_defaults(eps_mode="inside")

    def _configure(
        self,
        params: Sequence[np.ndarray],
        *,
        xi: float,
        **options: Any,
    ) -> None:
        self.xi = check_real("xi", xi, low=0.0)
        super()._configure(params, **options)

    def _update_tensor(self, i, g):
        st = self.state[i]
        t = st["step"]
        m = ema(st["m"], g, self.beta1)  # line 5
        g_p = _projection_coefficient(inner(m, g), inner(m, m), self.xi) * m  # line 7
        g_p = np.asarray(g_p, dtype=np.float64)
        v = self._second_moment(st["v"], g_p**2)  # line 8
        step_size = self._step_sizes(v, t)
        st["m"], st["v"] = m, v
        self._set_param(i, self.params[i] - self.lr * step_size * self._m_tilde(m, t))
        self._record(i, m=m, g_proj=g_p, v=v, step_size=step_size)


class LAidaReference(_MutualProjections):
    """LAida, paper 004 Appendix A, Algorithm 5: Aida with one scalar v per layer.

    ::

        m_t     = β1 m_{t-1} + (1-β1) g_t                                    line 5
        (m^(K), g^(K)) = K mutual projections                                 lines 7-11
        v_{l,t} = β2 v_{l,t-1} + (1-β2) mean[(m^(K) - g^(K))²] + ε            line 12
        x_l    ← x_l - η/sqrt(v_{l,t}/(1-β2^t)) · m_{l,t}/(1-β1^t)            line 16

    ``last["v"]`` and ``last["step_size"]`` are floats.
    """

    def _initial_v(self, p):
        return 0.0  # v_{l,0} ∈ ℝ

    def _update_tensor(self, i, g):
        st = self.state[i]
        t = st["step"]
        m = ema(st["m"], g, self.beta1)  # line 5
        m_K, g_K = mutual_projections(m, g, self.K, self.xi)  # lines 7-11
        v_l = float(self._second_moment(st["v"], mean((m_K - g_K) ** 2)))  # line 12
        step_size = float(self._step_sizes(v_l, t))
        st["m"], st["v"] = m, v_l
        self._set_param(i, self.params[i] - self.lr * step_size * self._m_tilde(m, t))  # line 16
        self._record(i, m=m, m_proj=m_K, g_proj=g_K, v=v_l, step_size=step_size)
