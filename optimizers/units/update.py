"""Turning the moments into a step, and taking it."""

from __future__ import annotations

import torch

from optimizers.units.context import GroupStep, Unit


def bias_corrections(ctx: GroupStep, i: int) -> tuple[float, float]:
    """``(1-β1^t, 1-β2^t)`` for tensor ``i`` (eqs. 7-8 of paper 000)."""
    beta1, beta2 = ctx.group["betas"]
    t = ctx.steps[i]
    return 1.0 - beta1**t, 1.0 - beta2**t


class AdaptiveStep(Unit):
    """``direction = m̂_t / (sqrt(v̂_t) [+ ε])`` with ``m̂ = m/(1-β1^t)``, ``v̂ = v/(1-β2^t)``.

    ε is added after the root when ``eps_mode`` is "outside" (Adam, Alg. 1) or
    "both" (AdaBelief, 004 eq. 7). Where the denominator is exactly zero (only
    with ε = 0 and an all-zero history, so m is zero too) the step is zero.
    """

    def __call__(self, ctx: GroupStep) -> None:
        eps_outside = ctx.group["eps_mode"] in ("outside", "both")
        eps = ctx.group["eps"]
        averages = [state["exp_avg"] for state in ctx.states]
        squares = [state["exp_avg_sq"] for state in ctx.states]
        corrections = [bias_corrections(ctx, i) for i in range(len(ctx.params))]
        same_shapes = all(m.shape == v.shape for m, v in zip(averages, squares, strict=True))
        if ctx.foreach and eps_outside and eps > 0 and same_shapes:
            denominators = torch._foreach_div(squares, [bc2 for _, bc2 in corrections])
            torch._foreach_sqrt_(denominators)
            torch._foreach_add_(denominators, eps)
            torch._foreach_mul_(denominators, [bc1 for bc1, _ in corrections])
            ctx.directions = list(torch._foreach_div(averages, denominators))
            return
        directions = []
        for m, v, (bc1, bc2) in zip(averages, squares, corrections, strict=True):
            denominator = (v / bc2).sqrt_()
            if eps_outside:
                denominator.add_(eps)
            directions.append(divide_where_positive(m / bc1, denominator, guard=eps == 0))
        ctx.directions = directions


def divide_where_positive(
    numerator: torch.Tensor, denominator: torch.Tensor, *, guard: bool
) -> torch.Tensor:
    """``numerator / denominator``, and 0 where the denominator is 0 when ``guard`` is set.

    The guard is only needed when ε = 0 (otherwise denominators are ≥ ε > 0), so
    the common path pays nothing for it.
    """
    quotient = numerator / denominator
    if guard:
        quotient = torch.where(denominator == 0, torch.zeros_like(quotient), quotient)
    return quotient


class ApplyUpdate(Unit):
    """``θ ← θ - rate · direction`` (the "Update" line of every algorithm)."""

    def __call__(self, ctx: GroupStep) -> None:
        if ctx.foreach and len(set(ctx.rates)) == 1:
            torch._foreach_add_(ctx.params, ctx.directions, alpha=-ctx.rates[0])
            return
        for p, direction, rate in zip(ctx.params, ctx.directions, ctx.rates, strict=True):
            p.add_(direction, alpha=-rate)
