"""Layerwise post-processing of step sizes (paper 004, Alg. 1, eqs. 9-10)."""

from __future__ import annotations

import torch

from optimizers.units.context import GroupStep, Quotient, Unit, widened
from optimizers.units.moments import BETAS, EPS, EPS_MODE
from optimizers.units.update import bias_corrections, divide_where_positive


class LayerMeanStepSize(Unit):
    """One step size per tensor: ``γ_l = mean(1/sqrt(v̂_l))`` and ``direction = γ_l m̂_l``.

    AdamL / AdaBeliefL (Alg. 1). With ε inside the EMA (the paper's eq. 8) no ε
    is added here; with ``eps_mode`` "outside"/"both" the elementwise sizes are
    ``1/(sqrt(v̂)+ε)`` before the mean. An entry with a zero denominator (ε = 0
    and no signal yet) gets step size 0, like the zero-denominator rule elsewhere.
    float16/bfloat16 sizes are formed in float32 (``v̂`` overflows float16 on step 1).
    """

    traced = ("direction", "directions")
    """What the invariant runners record after this unit: (trace key, context field, ...)."""
    hyperparameters = (BETAS, EPS, EPS_MODE)

    def __call__(self, ctx: GroupStep) -> None:
        eps_outside = ctx.group["eps_mode"] in ("outside", "both")
        eps = ctx.group["eps"]
        if ctx.foreach and eps > 0 and not ctx.reduced_precision:
            self._multi_tensor(ctx, eps if eps_outside else 0.0)
            return
        # ε that rounds to 0 in a tensor's dtype (1e-8 in float16) guards nothing.
        guard = not ctx.positive_in_every_dtype(eps)
        directions = []
        for i, state in enumerate(ctx.states):
            bc1, bc2 = bias_corrections(ctx, i)
            root = (widened(state["exp_avg_sq"]) / bc2).sqrt_()
            if eps_outside:
                root.add_(eps)
            sizes = divide_where_positive(torch.ones_like(root), root, guard=guard)
            layer_step = sizes.mean()
            directions.append(state["exp_avg"] * (layer_step / bc1))
        ctx.directions = directions

    @staticmethod
    def _multi_tensor(ctx: GroupStep, eps_outside: float) -> None:
        # The loop above pass by pass in a workspace buffer (1/root is the same
        # division as ones/root); ε > 0 keeps roots positive, so no guard. The
        # step m · (γ_l/bc1) is left to ApplyUpdate as one addcmul.
        corrections = ctx.bias_corrections
        squares = [state["exp_avg_sq"] for state in ctx.states]
        roots = ctx.compute("work", "div", squares, [bc2 for _, bc2 in corrections])
        torch._foreach_sqrt_(roots)
        if eps_outside:
            torch._foreach_add_(roots, eps_outside)
        torch._foreach_reciprocal_(roots)
        scales = [size.mean() / bc1 for size, (bc1, _) in zip(roots, corrections, strict=True)]
        ctx.pending = Quotient(
            numerators=[state["exp_avg"] for state in ctx.states],
            scales=scales,
            denominators=[1.0] * len(scales),
        )
