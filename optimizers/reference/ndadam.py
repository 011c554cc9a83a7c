"""ND-Adam, normalized direction-preserving Adam (paper 003, Algorithm 1).

Weight vectors (rows of ``θ.reshape(θ.shape[0], -1)``: one output unit's
incoming weights) are kept at unit L2 norm; each gets the tangent gradient,
a vector first moment and a *scalar* second moment, so its update is parallel
to its m̂ (the gradient direction is preserved, §II). Every other tensor is
updated by plain Adam ("AdamUpdate(θ^s; α^s, β1, β2)"). See
docs/ALGORITHMS.md, "ND-Adam".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._common import (
    ReferenceOptimizer,
    bias_correction,
    check_betas,
    check_eps,
    check_lr,
    check_optional_bool,
    check_weight_decay,
    divide_or_zero,
    ema,
    reciprocal_or_zero,
)


def _rows(x: np.ndarray) -> np.ndarray:
    """View of a tensor as its weight vectors, ``x.reshape(x.shape[0], -1)``
    (a 0-d tensor is one vector of one element)."""
    if x.ndim == 0:
        return x.reshape(1, 1)
    return x.reshape(x.shape[0], int(np.prod(x.shape[1:], dtype=np.int64)))


class NDAdamReference(ReferenceOptimizer):
    """ND-Adam, paper 003 Algorithm 1.

    Initialisation: ``w_{i,0} ← w_{i,0}/‖w_{i,0}‖₂`` for every weight vector
    (a zero row cannot be normalised and is left as is). Per step, per vector
    w (value w_{t-1})::

        g      = ḡ - (ḡ·w) w                         tangent gradient
        m_t    = β1 m_{t-1} + (1-β1) g               (a vector)
        v_t    = β2 v_{t-1} + (1-β2) ‖g‖²₂            (one scalar per vector)
        w̄      = w - α^v (m_t/(1-β1^t)) / (sqrt(v_t/(1-β2^t)) + ε)
        w_t    = w̄/‖w̄‖₂                              (a zero w̄ stays zero)

    No weight decay on weight vectors. Other tensors: Adam (ε outside the
    root, L2 weight decay) with rate ``scalar_lr`` (None → ``lr``).
    ``vectorwise``: None → tensors with ``ndim ≥ 2`` are vector sets;
    True/False force every tensor to be / not to be one.

    ``last``: "g" (tangent gradient for vector sets, L2-decayed gradient
    otherwise), "m", "v" (shape ``(rows,)`` for vector sets), "step_size"
    (``1/(sqrt(v̂)+ε)``: shape ``(rows,)`` for vector sets, elementwise
    otherwise; the pre-retraction move is ``-lr · step_size · m̂``).
    """

    LAST_KEYS = ("g", "m", "v", "step_size")

    def __init__(
        self,
        params: Sequence[np.ndarray],
        *,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        scalar_lr: float | None = None,
        vectorwise: bool | None = None,
    ) -> None:
        self.lr = check_lr("lr", lr)
        self.beta1, self.beta2 = check_betas(betas)
        self.eps = check_eps(eps)
        self.weight_decay = check_weight_decay(weight_decay)
        # None stays None: the scalar set then follows lr, also after lr changes mid-run.
        self.scalar_lr = None if scalar_lr is None else check_lr("scalar_lr", scalar_lr)
        self.vectorwise = check_optional_bool("vectorwise", vectorwise)
        super().__init__(params)
        for p, st in zip(self.params, self.state, strict=True):
            st["vectorwise"] = p.ndim >= 2 if self.vectorwise is None else self.vectorwise
            st["m"] = np.zeros_like(p)
            if st["vectorwise"]:
                w = _rows(p)
                norms = np.sqrt(np.sum(w * w, axis=1, keepdims=True))
                p[...] = np.where(norms > 0.0, divide_or_zero(w, norms), w).reshape(p.shape)
                st["v"] = np.zeros(w.shape[0])  # one scalar per weight vector
            else:
                st["v"] = np.zeros_like(p)

    def _step(self, grads, active):
        for i in active:
            self.state[i]["step"] += 1
            if self.state[i]["vectorwise"]:
                self._vector_step(i, grads[i])
            else:
                self._adam_step(i, grads[i])

    def _vector_step(self, i: int, grad: np.ndarray) -> None:
        st = self.state[i]
        t = st["step"]
        theta = self.params[i]
        w = _rows(theta).copy()  # w_{i,t-1}, unit rows
        g_bar = _rows(grad)
        g = g_bar - np.sum(g_bar * w, axis=1, keepdims=True) * w  # tangent gradient
        m = ema(_rows(st["m"]), g, self.beta1)
        v = ema(st["v"], np.sum(g * g, axis=1), self.beta2)  # ‖g‖²₂ per vector
        m_hat = m / bias_correction(self.beta1, t)
        d = np.sqrt(v / bias_correction(self.beta2, t)) + self.eps
        w_bar = w - self.lr * divide_or_zero(m_hat, d[:, None])
        norms = np.sqrt(np.sum(w_bar * w_bar, axis=1, keepdims=True))
        w_new = np.where(norms > 0.0, divide_or_zero(w_bar, norms), w_bar)
        st["m"] = m.reshape(theta.shape)
        st["v"] = v
        self._set_param(i, w_new.reshape(theta.shape))
        self._record(i, g=g.reshape(theta.shape), m=st["m"], v=v, step_size=reciprocal_or_zero(d))

    def _adam_step(self, i: int, grad: np.ndarray) -> None:
        """AdamUpdate of Alg. 1 (paper 000 Alg. 1) with L2 weight decay."""
        st = self.state[i]
        t = st["step"]
        theta = self.params[i]
        g = grad + self.weight_decay * theta if self.weight_decay else grad
        m = ema(st["m"], g, self.beta1)
        v = ema(st["v"], g * g, self.beta2)
        m_hat = m / bias_correction(self.beta1, t)
        d = np.sqrt(v / bias_correction(self.beta2, t)) + self.eps
        st["m"], st["v"] = m, v
        rate = self.lr if self.scalar_lr is None else self.scalar_lr
        self._set_param(i, theta - rate * divide_or_zero(m_hat, d))
        self._record(i, g=g, m=m, v=v, step_size=reciprocal_or_zero(d))
