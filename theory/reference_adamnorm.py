"""A small float64 NumPy transcription of AdamNorm, for the theory checks only.

Written from paper 000 Alg. 2 / eqs. 2-9 and the proof of paper 001 Theorem 2
(which lets β1 decay as β1,t = β1 λ^{t-1} while the bias correction keeps
the power of the initial β1). It shares no code with ``optimizers/``: the
lemma and theorem checks must not depend on the implementation under test.

Conventions (docs/ALGORITHMS.md): e_0 = 0, m_0 = v_0 = 0, t starts at 1, the
norm is the L2 norm of the whole gradient vector, ``s = g = 0`` when
``‖g‖ = 0``, and ε = 0 (the proofs ignore it). Where ``v̂_{t,i} = 0`` the
direction ``m̂/√v̂`` is 0: then every gradient of coordinate i so far was 0,
so ``m̂_{t,i} = 0`` as well.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter


@dataclass(frozen=True)
class AdamNormTrace:
    """Every per-step quantity of AdamNorm on a gradient sequence (T steps, d coordinates)."""

    norms: np.ndarray  # (T,)   ‖g_t‖₂
    e: np.ndarray  # (T,)   e_t, eq. 4
    active: np.ndarray  # (T,)   e_t > ‖g_t‖: the correction fires
    s: np.ndarray  # (T, d) corrected gradient, eq. 3
    m: np.ndarray  # (T, d)
    v: np.ndarray  # (T, d)
    m_hat: np.ndarray  # (T, d) eq. 7
    v_hat: np.ndarray  # (T, d) eq. 8

    def direction(self) -> np.ndarray:
        """``m̂_t / √v̂_t`` elementwise, 0 where ``v̂ = 0`` (see module docstring)."""
        safe = np.where(self.v_hat > 0.0, self.v_hat, 1.0)
        return np.where(self.v_hat > 0.0, self.m_hat / np.sqrt(safe), 0.0)


def _correction(
    grads: np.ndarray, gamma: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Norms, e_t, activity and s_t (eqs. 2-4), e_t by a first-order linear filter."""
    norms = np.linalg.norm(grads, axis=1)
    e = lfilter([1.0 - gamma], [1.0, -gamma], norms)
    active = e > norms
    ratio = np.where(active, e / np.where(norms > 0.0, norms, 1.0), 1.0)
    # ‖g_t‖ = 0 with e_t > 0: the direction is undefined and s = g = 0.
    ratio = np.where(norms > 0.0, ratio, 1.0)
    return norms, e, active, grads * ratio[:, None]


def adamnorm_trace(
    grads: np.ndarray, beta1: float, beta2: float, gamma: float, lam: float = 1.0
) -> AdamNormTrace:
    """AdamNorm's moments on ``grads`` (shape (T, d)), step by step in float64.

    ``lam`` is the β1 decay of the regret theorem (β1,t = β1 λ^{t-1});
    ``lam = 1`` is Alg. 2 as used in training.
    """
    grads = np.asarray(grads, dtype=np.float64)
    if grads.ndim != 2:
        raise ValueError("grads must have shape (T, d)")
    T, dim = grads.shape
    norms = np.empty(T)
    e_all = np.empty(T)
    active = np.zeros(T, dtype=bool)
    s_all = np.empty((T, dim))
    m_all = np.empty((T, dim))
    v_all = np.empty((T, dim))
    e = 0.0
    m = np.zeros(dim)
    v = np.zeros(dim)
    for idx in range(T):
        step = idx + 1
        g = grads[idx]
        n = float(math.sqrt(float(np.dot(g, g))))
        e = gamma * e + (1.0 - gamma) * n
        if e > n and n > 0.0:
            s = (e / n) * g
            active[idx] = True
        else:
            s = g.copy()
            active[idx] = e > n  # n = 0 < e: "active" but s = g = 0
        b1t = beta1 * lam ** (step - 1)
        m = b1t * m + (1.0 - b1t) * s
        v = beta2 * v + (1.0 - beta2) * g * g
        norms[idx], e_all[idx] = n, e
        s_all[idx], m_all[idx], v_all[idx] = s, m, v
    steps = np.arange(1, T + 1, dtype=np.float64)
    m_hat = m_all / (1.0 - beta1**steps)[:, None]
    v_hat = v_all / (1.0 - beta2**steps)[:, None]
    return AdamNormTrace(norms, e_all, active, s_all, m_all, v_all, m_hat, v_hat)


def adamnorm_trace_fast(
    grads: np.ndarray, beta1: float, beta2: float, gamma: float
) -> AdamNormTrace:
    """Same as :func:`adamnorm_trace` with constant β1, by linear filters (long sequences).

    The EMAs are first-order linear recurrences, so ``scipy.signal.lfilter``
    evaluates them exactly in exact arithmetic; in float64 the two functions
    agree to rounding (a test pins this).
    """
    grads = np.asarray(grads, dtype=np.float64)
    T = grads.shape[0]
    norms, e, active, s = _correction(grads, gamma)
    m = lfilter([1.0 - beta1], [1.0, -beta1], s, axis=0)
    v = lfilter([1.0 - beta2], [1.0, -beta2], grads * grads, axis=0)
    steps = np.arange(1, T + 1, dtype=np.float64)
    # 1 - β^t through expm1 keeps precision when β is close to 1
    bc1 = -np.expm1(steps * math.log(beta1)) if beta1 > 0.0 else np.ones(T)
    bc2 = -np.expm1(steps * math.log(beta2)) if beta2 > 0.0 else np.ones(T)
    return AdamNormTrace(norms, e, active, s, m, v, m / bc1[:, None], v / bc2[:, None])
