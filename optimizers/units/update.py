"""Turning the moments into a step, and taking it."""

from __future__ import annotations

import math

import torch

from optimizers.units.context import GroupStep, Quotient, Unit, widened
from optimizers.units.moments import BETAS, EPS, EPS_MODE


class AdaptiveStep(Unit):
    """``direction = m̂_t / (sqrt(v̂_t) [+ ε])`` with ``m̂ = m/(1-β1^t)``, ``v̂ = v/(1-β2^t)``.

    ε is added after the root when ``eps_mode`` is "outside" (Adam, Alg. 1) or
    "both" (AdaBelief, 004 eq. 7). Where the denominator is exactly zero (only
    with ε = 0 and an all-zero history, so m is zero too) the step is zero.
    """

    traced = ("direction", "directions")
    """What the invariant runners record after this unit: (trace key, context field, ...)."""
    hyperparameters = (BETAS, EPS, EPS_MODE)

    def __call__(self, ctx: GroupStep) -> None:
        eps_outside = ctx.group["eps_mode"] in ("outside", "both")
        eps = ctx.group["eps"]
        if ctx.foreach and eps > 0 and not ctx.reduced_precision:
            # eps > 0 keeps every denominator positive (ε after the root, or ε in
            # v_t on every step), so the zero-denominator guard is not needed.
            self._multi_tensor(ctx, eps if eps_outside else 0.0)
            return
        # ε that rounds to 0 in a tensor's dtype (1e-8 in float16) guards nothing.
        guard = not ctx.positive_in_every_dtype(eps)
        directions = []
        for i, (state, (bc1, bc2)) in enumerate(zip(ctx.states, ctx.bias_corrections, strict=True)):
            # Widened: a float16 v/(1-β2^t) overflows on the first step (v = 90, 1-β2 = 1e-3).
            root = (widened(state["exp_avg_sq"]) / bc2).sqrt_()
            if eps_outside:
                root.add_(eps)
            directions.append(self._direction(ctx, i, state["exp_avg"], root, bc1, guard))
        ctx.directions = directions

    @staticmethod
    def _direction(
        ctx: GroupStep, i: int, m: torch.Tensor, root: torch.Tensor, bc1: float, guard: bool
    ) -> torch.Tensor:
        """``m̂ / root`` elementwise, ``root = sqrt(v̂) [+ ε]``, for entry ``i``."""
        return divide_where_positive(widened(m) / bc1, root, guard=guard)

    @staticmethod
    def _multi_tensor(ctx: GroupStep, eps_outside: float) -> None:
        # m̂/(sqrt(v̂) + ε) = (sqrt(1-β2^t)/(1-β1^t)) · m / (sqrt(v) + ε·sqrt(1-β2^t)):
        # the bias corrections move into per-tensor scalars, which saves one pass
        # over v, and the scale is folded into the final addcdiv by ApplyUpdate.
        averages = [state["exp_avg"] for state in ctx.states]
        squares = [state["exp_avg_sq"] for state in ctx.states]
        corrections = ctx.bias_corrections
        roots = [math.sqrt(bc2) for _, bc2 in corrections]
        elementwise = all(v.shape == p.shape for v, p in zip(squares, ctx.params, strict=True))
        if elementwise:
            denominators = ctx.compute("work", "sqrt", squares)
        else:
            # One v per layer or per row: small tensors, allocate.
            denominators = list(torch._foreach_sqrt(squares))
        if eps_outside:
            torch._foreach_add_(denominators, [eps_outside * root for root in roots])
        ctx.pending = Quotient(
            numerators=averages,
            scales=[root / bc1 for root, (bc1, _) in zip(roots, corrections, strict=True)],
            denominators=denominators,
        )


def divide_where_positive(
    numerator: torch.Tensor, denominator: torch.Tensor, *, guard: bool
) -> torch.Tensor:
    """``numerator / denominator``, and 0 where the denominator is 0 when ``guard`` is set.

    The guard is only needed when ε is 0 in the tensor's dtype (otherwise
    denominators are ≥ ε > 0), so the common path pays nothing for it.
    """
    quotient = numerator / denominator
    if guard:
        quotient = torch.where(denominator == 0, torch.zeros_like(quotient), quotient)
    return quotient


class ApplyUpdate(Unit):
    """``θ ← θ - rate · direction`` (the "Update" line of every algorithm)."""

    def __call__(self, ctx: GroupStep) -> None:
        if ctx.pending is not None:
            self._apply_quotient(ctx, ctx.pending)
            return
        if ctx.foreach and len(set(ctx.rates)) == 1:
            torch._foreach_add_(ctx.params, ctx.directions, alpha=-ctx.rates[0])
            return
        for p, direction, rate in zip(ctx.params, ctx.directions, ctx.rates, strict=True):
            if isinstance(rate, torch.Tensor):  # a capturable lr: the same p - rate·direction
                p.sub_(direction * rate)
            else:
                p.add_(direction, alpha=-rate)

    @staticmethod
    def _apply_quotient(ctx: GroupStep, q: Quotient) -> None:
        # θ ← θ - rate·scale·n/d in one pass over θ: addcdiv when d is a tensor,
        # addcmul when the scale is, a scaled add when both are numbers.
        divide, multiply = [], []
        for i, (scale, denominator) in enumerate(zip(q.scales, q.denominators, strict=True)):
            if isinstance(denominator, torch.Tensor) and not isinstance(scale, torch.Tensor):
                divide.append(i)
            elif isinstance(scale, torch.Tensor) and not isinstance(denominator, torch.Tensor):
                multiply.append(i)
            elif isinstance(scale, torch.Tensor):
                ctx.params[i].add_(q.evaluate(i), alpha=-ctx.rates[i])
            else:
                ctx.params[i].add_(q.numerators[i], alpha=-ctx.rates[i] * scale / denominator)
        if divide:
            torch._foreach_addcdiv_(
                [ctx.params[i] for i in divide],
                [q.numerators[i] for i in divide],
                [q.denominators[i] for i in divide],
                [-ctx.rates[i] * q.scales[i] for i in divide],
            )
        if multiply:
            torch._foreach_addcmul_(
                [ctx.params[i] for i in multiply],
                [q.numerators[i] for i in multiply],
                [q.scales[i] for i in multiply],
                [-ctx.rates[i] / q.denominators[i] for i in multiply],
            )
