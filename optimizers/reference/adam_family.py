"""Adam, diffGrad, RAdam, AdaBelief and their AdaNorm variants (float64 NumPy).

Sources:

* paper 000 (AdaNorm, arXiv): Alg. 1 (Adam), Alg. 2 (AdamNorm), eqs. (2)-(9);
* paper 001 (AdaNorm, WACV + supplementary B): Alg. 3 (diffGrad),
  Alg. 4 (diffGradNorm), Alg. 5 (Radam), Alg. 6 (RadamNorm), Alg. 7 (AdaBelief),
  Alg. 8 (AdaBeliefNorm);
* paper 004 (Aida), eqs. (6)-(7): AdaBelief's own form with ε inside the EMA
  and outside the root (the default ``eps_mode="both"`` of AdaBelief here);
* docs/ALGORITHMS.md, "Adam family": the suite's reading, step by step.

Each concrete class implements ``_update_tensor``, which transcribes the
lines of its algorithm after the gradient and the moment inputs are known.
The AdaNorm classes add the gradient norm correction (eqs. 2-4) in front of
the same update: ``AdamNorm = AdaNorm correction + Adam`` exactly as Alg. 2
marks its changes to Alg. 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._adam_type import AdamTypeReference, adam_defaults
from ._common import (
    apply_weight_decay,
    bias_correction,
    check_bool,
    check_choice,
    check_real,
    divide_or_zero,
    ema,
    l2_norm,
    reciprocal_or_zero,
)

NORM_SCOPES = ("tensor", "global")
CORRECTED_MOMENTS = ("first", "second", "both")
NORM_DEFAULTS = {"gamma": 0.95, "norm_scope": "tensor", "corrected_moments": "first"}
"""AdaNorm's options (paper 000 eqs. 2-4; γ = 0.95 as in §4), added to the base method's."""
RECTIFY_DEFAULTS = {"rectify_threshold": 5.0, "threshold_inclusive": True}
"""RAdam's switch ``ρ_t ≥ 5`` (paper 001 Alg. 5)."""


class _AdamFamily(AdamTypeReference):
    """Skeleton shared by the Adam-type methods of papers 000/001.

    Per step: (0) weight decay (L2 into g, or decoupled shrink of θ);
    (1) the moment inputs — ``(g, g)`` here, ``(s, g)`` etc. in the AdaNorm
    variants; (2)-(6) ``_update_tensor`` of the concrete class.

    ``eps_mode``: "outside" puts ε outside the root, ``sqrt(v̂) + ε``
    (paper 000 Alg. 1); "inside" adds ε to the second-moment EMA,
    ``v ← β2 v + (1-β2) q + ε`` (paper 004 eq. 8); "both" does both
    (paper 004 eqs. 6-7, AdaBelief).
    """

    LAST_KEYS = ("g", "m", "v", "step_size")

    # -- the step --------------------------------------------------------
    def _step(self, grads, active):
        g = {
            i: apply_weight_decay(
                self.params[i], grads[i], self.lr, self.weight_decay, self.decoupled_weight_decay
            )
            for i in active
        }
        inputs = self._moment_inputs(g, active)
        for i in active:
            self.state[i]["step"] += 1
            first_input, second_input = inputs[i]
            self._record(i, g=g[i])
            self._update_tensor(i, g[i], first_input, second_input)

    def _moment_inputs(
        self, g: dict[int, np.ndarray], active: list[int]
    ) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Without the AdaNorm correction both moments are built from g."""
        return {i: (g[i], g[i]) for i in active}

    def _update_tensor(
        self, i: int, g: np.ndarray, first_input: np.ndarray, second_input: np.ndarray
    ) -> None:
        raise NotImplementedError

    # -- lines shared by Algs. 1-8 ---------------------------------------
    def _denominator(self, v: np.ndarray, t: int) -> np.ndarray:
        """``sqrt(v_t/(1-β2^t))`` (+ ε when ε is outside the root)."""
        return np.sqrt(v / bias_correction(self.beta2, t)) + self._eps_outside

    def _adaptive_update(
        self, i: int, m: np.ndarray, v: np.ndarray, friction: np.ndarray | float = 1.0
    ) -> None:
        """``θ ← θ - lr · f · (m_t/(1-β1^t)) / d`` with a zero step where d = 0."""
        t = self.state[i]["step"]
        m_hat = m / bias_correction(self.beta1, t)
        d = self._denominator(v, t)
        self._set_param(i, self.params[i] - self.lr * friction * divide_or_zero(m_hat, d))
        step_size = np.asarray(friction * reciprocal_or_zero(d), dtype=np.float64)
        self._record(i, step_size=step_size)


# ==========================================================================
# The AdaNorm gradient norm correction (paper 000 eqs. 2-4, Alg. 2 blue lines)
# ==========================================================================


class _AdaNormCorrection:
    """Mixin: ``s_t = (e_t/‖g_t‖) g_t`` if ``e_t > ‖g_t‖`` else ``g_t`` with
    ``e_t = γ e_{t-1} + (1-γ) ‖g_t‖``, ``e_0 = 0`` (paper 000 eqs. 2-4).

    ``norm_scope="tensor"``: one e per parameter tensor (default);
    ``"global"``: one e for all tensors that have a gradient this step, the
    norm taken over all of them concatenated, one common ratio e/n.
    ``corrected_moments``: which moments are built from s — "first" (eq. 5-6,
    default), "second", "both". When ‖g‖ = 0 the direction is undefined and
    s = g = 0.
    """

    # provided by the Adam-family class this is mixed into
    params: list[np.ndarray]
    state: list[dict]

    def _configure(
        self,
        params: Sequence[np.ndarray],
        *,
        gamma: float,
        norm_scope: str,
        corrected_moments: str,
        **options: Any,
    ) -> None:
        super()._configure(params, **options)  # the Adam-family class after this mixin
        self.gamma = check_real("gamma", gamma, low=0.0, high=1.0, high_open=True)
        self.norm_scope = check_choice("norm_scope", norm_scope, NORM_SCOPES)
        self.corrected_moments = check_choice(
            "corrected_moments", corrected_moments, CORRECTED_MOMENTS
        )
        for st in self.state:
            st["e"] = 0.0  # e_0 = 0 (per tensor)
        self.group_state = {"e": 0.0}  # e_0 = 0 (norm_scope="global")

    def _correct(self, g: np.ndarray, g_norm: float, e: float) -> np.ndarray:
        """Eq. (3): scale g up to the historical norm when e_t > g_norm."""
        if e > g_norm and g_norm > 0.0:
            return (e / g_norm) * g
        return g

    def _moment_inputs(self, g, active):
        s: dict[int, np.ndarray] = {}
        e: dict[int, float] = {}
        if self.norm_scope == "tensor":
            for i in active:
                g_norm = l2_norm(g[i])  # eq. (2)
                e_t = self.gamma * self.state[i]["e"] + (1.0 - self.gamma) * g_norm  # eq. (4)
                self.state[i]["e"] = e_t
                s[i] = self._correct(g[i], g_norm, e_t)  # eq. (3)
                e[i] = e_t
        elif active:
            g_norm = l2_norm(np.concatenate([g[i].ravel() for i in active]))
            e_t = self.gamma * self.group_state["e"] + (1.0 - self.gamma) * g_norm
            self.group_state["e"] = e_t
            for i in active:
                s[i] = self._correct(g[i], g_norm, e_t)
                e[i] = e_t
        inputs = {}
        for i in active:
            self._record(i, s=s[i], e=e[i])
            first = s[i] if self.corrected_moments in ("first", "both") else g[i]
            second = s[i] if self.corrected_moments in ("second", "both") else g[i]
            inputs[i] = (first, second)
        return inputs


# ==========================================================================
# Adam (paper 000 Alg. 1) and AdamNorm (paper 000 Alg. 2)
# ==========================================================================


class AdamReference(_AdamFamily):
    """Adam, paper 000 Algorithm 1 (and eqs. 5-9 without the correction).

    ::

        m_t = β1 m_{t-1} + (1-β1) g_t
        v_t = β2 v_{t-1} + (1-β2) g_t²          (+ε if eps_mode is inside/both)
        θ_t = θ_{t-1} - α (m_t/(1-β1^t)) / (sqrt(v_t/(1-β2^t)) + ε)

    ``step_size`` in ``last`` is ``1/(sqrt(v̂)+ε)``: θ moves by
    ``-lr · step_size · m̂``.
    """

    DEFAULTS = adam_defaults()

    def _update_tensor(self, i, g, first_input, second_input):
        st = self.state[i]
        m = ema(st["m"], first_input, self.beta1)  # Alg. 1 line 5 / eq. (5)
        v = self._second_moment(st["v"], second_input**2)  # Alg. 1 line 6 / eq. (6)
        st["m"], st["v"] = m, v
        self._record(i, m=m, v=v)
        self._adaptive_update(i, m, v)  # bias correction + update, eqs. (7)-(9)


class AdamWReference(AdamReference):
    """AdamW: Adam with decoupled weight decay ``θ ← θ(1 - lr·wd)`` before the
    Adam step (torch's AdamW); defaults ``weight_decay=1e-2``,
    ``decoupled_weight_decay=True``."""

    DEFAULTS = adam_defaults(weight_decay=1e-2, decoupled_weight_decay=True)


class AdamNormReference(_AdaNormCorrection, AdamReference):
    """AdamNorm, paper 000 Algorithm 2: Adam whose first moment is built from
    the norm-corrected gradient ``s_t`` (eqs. 2-5) while ``v_t`` keeps the raw
    ``g_t`` (eq. 6). ``last`` adds "s" and "e"."""

    LAST_KEYS = ("g", "s", "e", "m", "v", "step_size")

    DEFAULTS = AdamReference.DEFAULTS | NORM_DEFAULTS


# ==========================================================================
# diffGrad (paper 001 Alg. 3) and diffGradNorm (Alg. 4)
# ==========================================================================


class DiffGradReference(_AdamFamily):
    """diffGrad, paper 001 supplementary Algorithm 3.

    ::

        ξ_t = 1/(1 + exp(-|g_t - g_{t-1}|))      (g_0 = 0; the raw g, not s)
        m_t, v_t as Adam
        θ_t = θ_{t-1} - α ξ_t m̂_t/(sqrt(v̂_t) + ε)

    ``last`` adds "xi"; ``step_size`` is ``ξ_t/(sqrt(v̂)+ε)``.
    """

    LAST_KEYS = ("g", "xi", "m", "v", "step_size")

    DEFAULTS = adam_defaults()

    def _configure(self, params: Sequence[np.ndarray], **options: Any) -> None:
        super()._configure(params, **options)
        for p, st in zip(self.params, self.state, strict=True):
            st["g_prev"] = np.zeros_like(p)  # g_0 = 0

    def _update_tensor(self, i, g, first_input, second_input):
        st = self.state[i]
        xi = 1.0 / (1.0 + np.exp(-np.abs(g - st["g_prev"])))  # Alg. 3 line "ξ_t ←"
        st["g_prev"] = g.copy()
        m = ema(st["m"], first_input, self.beta1)
        v = self._second_moment(st["v"], second_input**2)
        st["m"], st["v"] = m, v
        self._record(i, xi=xi, m=m, v=v)
        self._adaptive_update(i, m, v, friction=xi)


class DiffGradNormReference(_AdaNormCorrection, DiffGradReference):
    """diffGradNorm, paper 001 supplementary Algorithm 4: diffGrad with the
    AdaNorm correction on the first moment; ξ_t still uses the raw g_t."""

    LAST_KEYS = ("g", "s", "e", "xi", "m", "v", "step_size")

    DEFAULTS = DiffGradReference.DEFAULTS | NORM_DEFAULTS


# ==========================================================================
# RAdam (paper 001 Alg. 5) and RAdamNorm (Alg. 6)
# ==========================================================================


class RAdamReference(_AdamFamily):
    """Rectified Adam, paper 001 supplementary Algorithm 5.

    ::

        m_t, v_t as Adam (v is updated on every step)
        ρ∞ = 2/(1-β2) - 1,   ρ_t = ρ∞ - 2 t β2^t/(1-β2^t)
        if ρ_t ≥ 5:   r = sqrt((1-β2^t)(ρ_t-4)(ρ_t-2)ρ∞ / ((ρ∞-4)(ρ∞-2)ρ_t))
                      θ_t = θ_{t-1} - α r/(1-β1^t) · m_t/(sqrt(v_t) + ε)
        else:         θ_t = θ_{t-1} - α/(1-β1^t) · m_t

    The extraction prints ``(1-β2)`` in r; the superscript t was lost (RAdam's
    definition, docs/ALGORITHMS.md). ``threshold_inclusive=False`` uses torch's
    ``ρ_t > 5``; ``rectify_threshold`` must be ≥ 4 so that r is real.
    ``last`` adds "rho" and "r" (None when un-rectified); ``step_size`` is
    ``r/(sqrt(v_t)+ε)`` when rectified (θ moves by -lr·step_size·m̂) and 1
    otherwise.
    """

    LAST_KEYS = ("g", "m", "v", "rho", "r", "step_size")

    DEFAULTS = adam_defaults() | RECTIFY_DEFAULTS

    def _configure(
        self,
        params: Sequence[np.ndarray],
        *,
        rectify_threshold: float,
        threshold_inclusive: bool,
        **options: Any,
    ) -> None:
        super()._configure(params, **options)
        self.rectify_threshold = check_real("rectify_threshold", rectify_threshold, low=4.0)
        self.threshold_inclusive = check_bool("threshold_inclusive", threshold_inclusive)

    def rho(self, t: int) -> tuple[float, float]:
        """``(ρ∞, ρ_t)`` of Alg. 5 for step t ≥ 1."""
        rho_inf = 2.0 / (1.0 - self.beta2) - 1.0
        beta2_t = self.beta2**t
        rho_t = rho_inf - 2.0 * t * beta2_t / (1.0 - beta2_t)
        return rho_inf, rho_t

    def _rectified(self, rho_t: float) -> bool:
        if self.threshold_inclusive:
            return rho_t >= self.rectify_threshold
        return rho_t > self.rectify_threshold

    def _update_tensor(self, i, g, first_input, second_input):
        st = self.state[i]
        t = st["step"]
        m = ema(st["m"], first_input, self.beta1)
        v = self._second_moment(st["v"], second_input**2)
        st["m"], st["v"] = m, v
        rho_inf, rho_t = self.rho(t)
        bc1 = bias_correction(self.beta1, t)
        theta = self.params[i]
        if self._rectified(rho_t):
            rho_u = (rho_t - 4.0) * (rho_t - 2.0) * rho_inf
            rho_d = (rho_inf - 4.0) * (rho_inf - 2.0) * rho_t
            r = math.sqrt(bias_correction(self.beta2, t) * rho_u / rho_d)
            denom = np.sqrt(v) + self._eps_outside
            self._set_param(i, theta - (self.lr * r / bc1) * divide_or_zero(m, denom))
            step_size = r * reciprocal_or_zero(denom)
        else:
            r = None
            self._set_param(i, theta - (self.lr / bc1) * m)
            step_size = np.ones_like(m)
        self._record(i, m=m, v=v, rho=rho_t, r=r, step_size=step_size)


class RAdamNormReference(_AdaNormCorrection, RAdamReference):
    """RadamNorm, paper 001 supplementary Algorithm 6: RAdam with the AdaNorm
    correction on the first moment (v_t from the raw g_t)."""

    LAST_KEYS = ("g", "s", "e", "m", "v", "rho", "r", "step_size")

    DEFAULTS = adam_defaults() | NORM_DEFAULTS | RECTIFY_DEFAULTS


# ==========================================================================
# AdaBelief (paper 001 Alg. 7; paper 004 eqs. 6-7) and AdaBeliefNorm (Alg. 8)
# ==========================================================================


class AdaBeliefReference(_AdamFamily):
    """AdaBelief, paper 001 supplementary Algorithm 7 / paper 004 eqs. (6)-(7).

    ::

        m_t = β1 m_{t-1} + (1-β1) g_t
        v_t = β2 v_{t-1} + (1-β2) (g_t - m_t)² + ε     (the *updated* m_t)
        θ_t = θ_{t-1} - α m̂_t/(sqrt(v̂_t) + ε)

    Default ``eps_mode="both"`` (AdaBelief's own definition, paper 004
    eqs. 6-7; Alg. 7 of paper 001 omits the inner ε).
    """

    DEFAULTS = adam_defaults(eps_mode="both")

    def _update_tensor(self, i, g, first_input, second_input):
        st = self.state[i]
        m = ema(st["m"], first_input, self.beta1)
        v = self._second_moment(st["v"], (second_input - m) ** 2)  # belief (g_t - m_t)²
        st["m"], st["v"] = m, v
        self._record(i, m=m, v=v)
        self._adaptive_update(i, m, v)


class AdaBeliefNormReference(_AdaNormCorrection, AdaBeliefReference):
    """AdaBeliefNorm, paper 001 supplementary Algorithm 8: m_t from s_t, the
    belief ``(g_t - m_t)²`` with the raw g_t and the corrected m_t."""

    LAST_KEYS = ("g", "s", "e", "m", "v", "step_size")

    DEFAULTS = AdaBeliefReference.DEFAULTS | NORM_DEFAULTS
