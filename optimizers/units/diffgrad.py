"""diffGrad's friction coefficient (paper 001, supplementary Alg. 3-4)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from optimizers.units.context import GroupStep, Quotient, Unit, zeros_like


class DiffGradFriction(Unit):
    """Multiply the step by ``ξ_t = sigmoid(|g_t - g_{t-1}|)`` elementwise (g_0 = 0).

    ξ_t ∈ [0.5, 1), so the step is damped where the gradient barely changes.
    It uses the raw gradient g_t, not AdaNorm's s_t (Alg. 4 computes ξ_t before
    the correction). Runs after the step size has set ``ctx.directions``.
    """

    traced = ("direction", "directions")
    """What the invariant runners record after this unit: (trace key, context field, ...)."""
    traced_state_before = (("g_prev", "previous_grad"),)
    traced_before = (("adaptive_direction", "directions"),)
    """g_{t-1} as the friction reads it, and the step before the friction."""

    def init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"previous_grad": zeros_like(param)}

    def __call__(self, ctx: GroupStep) -> None:
        pending = ctx.pending
        if ctx.foreach and pending is not None and _owned_full_size(ctx, pending):
            self._multi_tensor(ctx, pending.denominators)
            return
        directions = []
        for g, state, direction in zip(ctx.grads, ctx.states, ctx.directions, strict=True):
            previous = state["previous_grad"]
            friction = torch.sigmoid((g - previous).abs_())
            directions.append(direction * friction)
            previous.copy_(g)
        ctx.directions = directions

    @staticmethod
    def _multi_tensor(ctx: GroupStep, denominators: list[Tensor]) -> None:
        # The step's denominator is divided by ξ: n/(d/ξ) is n/d·ξ with no extra
        # buffer and no pass over the step. ξ is built in g_{t-1}'s own buffer
        # (|g_{t-1} - g_t| = |g_t - g_{t-1}|), which takes g_t next anyway. (One
        # compiled pass for all of it: fused=True.)
        previous = [state["previous_grad"] for state in ctx.states]
        torch._foreach_sub_(previous, ctx.grads)
        torch._foreach_abs_(previous)
        torch._foreach_sigmoid_(previous)
        torch._foreach_div_(denominators, previous)
        torch._foreach_copy_(previous, ctx.grads)


def _owned_full_size(ctx: GroupStep, pending: Quotient) -> bool:
    # A tensor denominator belongs to the step (see Quotient); it must also be
    # elementwise for ξ to divide it in place.
    return all(
        isinstance(d, Tensor) and d.shape == p.shape
        for d, p in zip(pending.denominators, ctx.params, strict=True)
    )
