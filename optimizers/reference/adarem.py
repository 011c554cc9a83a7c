"""AdaRem and AdaRem-S (paper 002, Algs. 1-2, eqs. 1-2), float64 NumPy.

AdaRem scales SGD's learning rate per coordinate by ``a = 1 + λ^k b`` where
``b = g·m/(|g|·max|m| + ε)`` compares the current gradient with the momentum
(the past update trend) *before* this step's momentum update; the momentum
does not enter the step itself. AdaRem-S keeps the chosen tensors on a sphere
of radius R (Alg. 2). See docs/ALGORITHMS.md, "AdaRem, AdaRem-S".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from ._common import (
    ReferenceOptimizer,
    apply_weight_decay,
    check_bool,
    check_choice,
    check_eps,
    check_lr,
    check_optional_bool,
    check_real,
    check_weight_decay,
    divide_or_zero,
    ema,
    l2_norm,
    max_abs,
)

LAM_TICKS = ("step", "epoch")
MAX_SCOPES = ("tensor", "global")


class AdaRemReference(ReferenceOptimizer):
    """AdaRem, paper 002 Algorithm 1 with eqs. (1)-(2).

    Per tensor, with m the momentum before this step (m_0 = 0)::

        b   = g·m / (|g| · max|m| + ε)         eq. (1); 0 where the denominator is 0
        a   = 1 + λ^k b                        eq. (2)
        θ  ← θ - η̂ a g - η̂ wd θ                Alg. 1 (decoupled decay, Π_F = identity)
        m  ← β m + (1-β) g                     Alg. 1, after the update

    ``k`` counts from 0 (Alg. 1 loops ``t = 0..T``): ``lam_tick="step"`` —
    the number of steps this tensor has already taken; ``lam_tick="epoch"`` —
    the number of ``tick_epoch()`` calls (§4.1.1: "multiplying λ once per
    epoch is enough"). ``max_scope``: ``max|m|`` over the tensor or over all
    tensors that have a gradient this step. ``decoupled_weight_decay=False``
    instead adds ``wd·θ`` to g before b is formed.

    ``last``: "g", "b", "a", "m_prev" (the momentum used in b, the paper's
    m_t) and "m" (the momentum after this step, the paper's m_{t+1}).
    """

    LAST_KEYS = ("g", "b", "a", "m_prev", "m")

    DEFAULTS: ClassVar[dict[str, Any]] = {
        "lr": 0.1,
        "beta": 0.9,
        "lam": 0.999,
        "eps": 1e-8,
        "weight_decay": 0.0,
        "decoupled_weight_decay": True,
        "lam_tick": "step",
        "max_scope": "tensor",
    }

    def _configure(
        self,
        params: Sequence[np.ndarray],
        *,
        lr: float,
        beta: float,
        lam: float,
        eps: float,
        weight_decay: float,
        decoupled_weight_decay: bool,
        lam_tick: str,
        max_scope: str,
    ) -> None:
        self.lr = check_lr("lr", lr)
        self.beta = check_real("beta", beta, low=0.0, high=1.0)
        self.lam = check_real("lam", lam, low=0.0, high=1.0)
        self.eps = check_eps(eps)
        self.weight_decay = check_weight_decay(weight_decay)
        self.decoupled_weight_decay = check_bool("decoupled_weight_decay", decoupled_weight_decay)
        self.lam_tick = check_choice("lam_tick", lam_tick, LAM_TICKS)
        self.max_scope = check_choice("max_scope", max_scope, MAX_SCOPES)
        ReferenceOptimizer.__init__(self, params)
        self.epoch = 0
        for p, st in zip(self.params, self.state, strict=True):
            st["m"] = np.zeros_like(p)  # m_0 = 0

    def tick_epoch(self) -> None:
        """Advance the epoch counter used as λ's exponent under ``lam_tick="epoch"``."""
        self.epoch += 1

    def _lambda_exponent(self, i: int) -> int:
        return self.state[i]["step"] if self.lam_tick == "step" else self.epoch

    def _step(self, grads, active):
        g = {
            i: apply_weight_decay(
                self.params[i], grads[i], self.lr, self.weight_decay, self.decoupled_weight_decay
            )
            for i in active
        }
        global_max = 0.0
        if self.max_scope == "global":
            global_max = max((max_abs(self.state[i]["m"]) for i in active), default=0.0)
        for i in active:
            st = self.state[i]
            m = st["m"]
            max_m = global_max if self.max_scope == "global" else max_abs(m)
            b = divide_or_zero(g[i] * m, np.abs(g[i]) * max_m + self.eps)  # eq. (1)
            a = 1.0 + self.lam ** self._lambda_exponent(i) * b  # eq. (2)
            self._set_param(i, self.params[i] - self.lr * a * g[i])  # Alg. 1 θ update
            st["m"] = ema(m, g[i], self.beta)  # Alg. 1 m update, after θ
            st["step"] += 1
            self._after_update(i)
            self._record(i, g=g[i], b=b, a=a, m_prev=m, m=st["m"])

    def _after_update(self, i: int) -> None:
        """Hook for AdaRem-S's retraction; plain AdaRem leaves θ as is."""


class AdaRemSReference(AdaRemReference):
    """AdaRem-S, paper 002 Algorithm 2: AdaRem on a sphere.

    Every *sphere* tensor is placed on the sphere of radius R at construction,
    ``θ̂_0 = R θ_0/‖θ_0‖``, and retracted after each update,
    ``θ̂_{t+1} = R θ_{t+1}/‖θ_{t+1}‖`` (norm of the whole tensor).
    ``radius=None``: R is each tensor's own norm at construction. ``sphere``:
    None → tensors with ``ndim ≥ 2`` (weights in front of a normalisation
    layer); True/False force all tensors on/off the sphere. Other tensors follow
    plain AdaRem. A tensor of norm 0 cannot be retracted and is left as is.
    """

    DEFAULTS = AdaRemReference.DEFAULTS | {"radius": None, "sphere": None}

    def _configure(
        self,
        params: Sequence[np.ndarray],
        *,
        radius: float | None,
        sphere: bool | None,
        **options: Any,
    ) -> None:
        if radius is not None:
            radius = check_real("radius", radius, low=0.0, low_open=True)
        self.radius = radius
        self.sphere = check_optional_bool("sphere", sphere)
        super()._configure(params, **options)
        for i, (p, st) in enumerate(zip(self.params, self.state, strict=True)):
            on_sphere = p.ndim >= 2 if self.sphere is None else self.sphere
            st["sphere"] = on_sphere
            if on_sphere:
                st["radius"] = l2_norm(p) if self.radius is None else self.radius
                self._retract(i)  # θ̂_0 = R θ_0/‖θ_0‖

    def _retract(self, i: int) -> None:
        norm = l2_norm(self.params[i])
        if norm > 0.0:
            self._set_param(i, self.state[i]["radius"] * self.params[i] / norm)

    def _after_update(self, i: int) -> None:
        if self.state[i]["sphere"]:
            self._retract(i)  # θ̂_{t+1} = R θ_{t+1}/‖θ_{t+1}‖
