"""Layerwise step sizes of paper 004 (Zhang & Niwa, Aida), Section II.

* AdamL / AdaBeliefL — post-processing, Algorithm 1, eqs. (8)-(10): the
  elementwise step sizes ``1/sqrt(ṽ)`` of Adam / AdaBelief are averaged over
  the layer and the layer moves by ``η γ_l m̃``.
* LAdam / LAdaBelief — pre-processing, Algorithm 2, eq. (11): one scalar
  second moment per layer tracks the EMA of ``mean(q)``.

A *layer* is one parameter tensor. ε sits inside the EMA by default
(``eps_mode="inside"``; eq. 8 and "there is no need to introduce ε again").
With ``eps_mode`` "outside" or "both" the elementwise step ``1/(sqrt(ṽ)+ε)``
replaces ``1/sqrt(ṽ)``. See docs/ALGORITHMS.md, "Layerwise methods".
"""

from __future__ import annotations

import numpy as np

from ._adam_type import AdamTypeReference, adam_defaults
from ._common import (
    apply_weight_decay,
    bias_correction,
    ema,
    mean,
    reciprocal_or_zero,
)


class _Paper004Optimizer(AdamTypeReference):
    """Hyperparameters and the lines common to Algs. 1-5 of paper 004.

    ``_update_tensor(i, g)`` of each concrete class transcribes the lines of
    its algorithm after ``g_t ← ∇f(x_{t-1})`` (plus weight decay).
    """

    LAST_KEYS = ("g", "m", "v", "step_size")
    DEFAULTS = adam_defaults(eps_mode="inside")
    """ε inside the EMA (eq. 8: "there is no need to introduce ε again")."""

    def _statistic(self, g: np.ndarray, m: np.ndarray) -> np.ndarray:
        """The tracked quantity: ``g_t²`` (Adam's); the AdaBelief variants override."""
        return g**2

    def _step(self, grads, active):
        for i in active:
            g = apply_weight_decay(
                self.params[i], grads[i], self.lr, self.weight_decay, self.decoupled_weight_decay
            )
            self.state[i]["step"] += 1
            self._record(i, g=g)
            self._update_tensor(i, g)

    def _update_tensor(self, i: int, g: np.ndarray) -> None:
        raise NotImplementedError

    # -- lines shared by the algorithms ----------------------------------
    def _step_sizes(self, v, t: int) -> np.ndarray:
        """Adaptive step sizes ``1/sqrt(ṽ_t)`` with ``ṽ_t = v_t/(1-β2^t)``
        (``1/(sqrt(ṽ_t)+ε)`` with ε outside); 0 where the root is 0."""
        return reciprocal_or_zero(np.sqrt(v / bias_correction(self.beta2, t)) + self._eps_outside)

    def _m_tilde(self, m: np.ndarray, t: int) -> np.ndarray:
        """``m̃_t = m_t/(1-β1^t)``."""
        return m / bias_correction(self.beta1, t)


# ==========================================================================
# Post-processing: AdamL, AdaBeliefL (Algorithm 1, eqs. 8-10)
# ==========================================================================


class AdamLReference(_Paper004Optimizer):
    """AdamL, paper 004 Algorithm 1 (eqs. 8-10).

    ::

        m_t = β1 m_{t-1} + (1-β1) g_t                         line 5
        v_t = β2 v_{t-1} + (1-β2) g_t² + ε                    line 6, eq. (8)
        γ_l = mean[1/sqrt(v_{l,t}/(1-β2^t))]                  line 9, eq. (9)
        x_l ← x_l - η γ_l m_{l,t}/(1-β1^t)                    line 10, eq. (10)

    ``last["step_size"]`` is the layer's γ_l (a float).
    """

    def _update_tensor(self, i, g):
        st = self.state[i]
        t = st["step"]
        m = ema(st["m"], g, self.beta1)  # line 5
        v = self._second_moment(st["v"], self._statistic(g, m))  # line 6
        gamma_l = mean(self._step_sizes(v, t))  # line 9
        st["m"], st["v"] = m, v
        self._set_param(i, self.params[i] - self.lr * gamma_l * self._m_tilde(m, t))  # line 10
        self._record(i, m=m, v=v, step_size=gamma_l)


class AdaBeliefLReference(AdamLReference):
    """AdaBeliefL, paper 004 Algorithm 1 with ``g_t²`` replaced by
    ``(m_t - g_t)²`` (the updated m_t of line 5)."""

    def _statistic(self, g, m):
        return (m - g) ** 2


# ==========================================================================
# Pre-processing: LAdam, LAdaBelief (Algorithm 2, eq. 11)
# ==========================================================================


class LAdamReference(_Paper004Optimizer):
    """LAdam, paper 004 Algorithm 2 (eq. 11): one scalar v per layer.

    ::

        m_t     = β1 m_{t-1} + (1-β1) g_t                      line 5
        v_{l,t} = β2 v_{l,t-1} + (1-β2) mean[g_{l,t}²] + ε     line 7, eq. (11)
        x_l    ← x_l - η/sqrt(v_{l,t}/(1-β2^t)) · m_{l,t}/(1-β1^t)   line 11

    ``last["v"]`` and ``last["step_size"]`` (``1/sqrt(ṽ_l)``) are floats.
    """

    def _initial_v(self, p):
        return 0.0  # v_{l,0} = 0 ∈ ℝ

    def _update_tensor(self, i, g):
        st = self.state[i]
        t = st["step"]
        m = ema(st["m"], g, self.beta1)  # line 5
        v_l = float(self._second_moment(st["v"], mean(self._statistic(g, m))))  # line 7
        step_size = float(self._step_sizes(v_l, t))
        st["m"], st["v"] = m, v_l
        self._set_param(i, self.params[i] - self.lr * step_size * self._m_tilde(m, t))  # line 11
        self._record(i, m=m, v=v_l, step_size=step_size)


class LAdaBeliefReference(LAdamReference):
    """LAdaBelief, paper 004 Algorithm 2 with ``|g_{l,t}|²`` replaced by
    ``|m_{l,t} - g_{l,t}|²``."""

    def _statistic(self, g, m):
        return (m - g) ** 2
