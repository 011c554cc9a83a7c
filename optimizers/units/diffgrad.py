"""diffGrad's friction coefficient (paper 001, supplementary Alg. 3-4)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from optimizers.units.context import GroupStep, Unit, zeros_like


class DiffGradFriction(Unit):
    """Multiply the step by ``ξ_t = sigmoid(|g_t - g_{t-1}|)`` elementwise (g_0 = 0).

    ξ_t ∈ [0.5, 1), so the step is damped where the gradient barely changes.
    It uses the raw gradient g_t, not AdaNorm's s_t (Alg. 4 computes ξ_t before
    the correction). Runs after the step size has set ``ctx.directions``.
    """

    def init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"previous_grad": zeros_like(param)}

    def __call__(self, ctx: GroupStep) -> None:
        for i, (g, state) in enumerate(zip(ctx.grads, ctx.states, strict=True)):
            previous = state["previous_grad"]
            friction = torch.sigmoid((g - previous).abs_())
            ctx.directions[i] = ctx.directions[i] * friction
            previous.copy_(g)
