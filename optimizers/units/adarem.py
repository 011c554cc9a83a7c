"""AdaRem's momentum-guided modulation of the learning rate (paper 002, eqs. 1-2, Alg. 1)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from optimizers.units.context import GroupStep, Unit, zeros_like


def lambda_exponent(ctx: GroupStep, i: int) -> int:
    """k in ``λ^k``: steps already taken (Alg. 1 starts at t = 0), or epochs ticked."""
    if ctx.group["lam_tick"] == "epoch":
        return ctx.group["lam_epoch"]
    return ctx.steps[i] - 1


class AdaRemModulation(Unit):
    """``direction = a_t ⊙ g_t`` with ``a = 1 + λ^k b``, ``b = g·m/(|g| max|m| + ε)``.

    m is the momentum *before* this step's update (Alg. 1 updates it after
    the parameter), so the first step is plain SGD. ``b ∈ [-1, 1]`` because
    ``|m_i| ≤ max|m|``; b is 0 where its denominator is 0 (ε = 0 with g_i = 0
    or m = 0). ``max_scope``: "tensor" (max over the tensor) or "global" (over
    the group).
    """

    def init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"momentum": zeros_like(param)}

    def __call__(self, ctx: GroupStep) -> None:
        lam, eps = ctx.group["lam"], ctx.group["eps"]
        momenta = [state["momentum"] for state in ctx.states]
        peaks = [m.abs().max() if m.numel() else m.new_zeros(()) for m in momenta]
        if ctx.group["max_scope"] == "global":
            peaks = [torch.stack(peaks).max()] * len(peaks)
        directions = []
        for i, (g, m, peak) in enumerate(zip(ctx.grads, momenta, peaks, strict=True)):
            denominator = g.abs() * peak + eps
            positive = denominator > 0
            b = torch.where(positive, g * m / torch.where(positive, denominator, 1.0), 0.0)
            a = 1.0 + lam ** lambda_exponent(ctx, i) * b
            directions.append(a * g)
        ctx.directions = directions


class MomentumAfterUpdate(Unit):
    """``m_{t+1} = β m_t + (1-β) g_t``, run after the parameter update (Alg. 1, last line)."""

    def __call__(self, ctx: GroupStep) -> None:
        beta = ctx.group["beta"]
        for g, state in zip(ctx.grads, ctx.states, strict=True):
            state["momentum"].lerp_(g, 1.0 - beta)
