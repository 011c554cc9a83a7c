"""Layerwise post-processing of step sizes (paper 004, Alg. 1, eqs. 9-10)."""

from __future__ import annotations

import torch

from optimizers.units.context import GroupStep, Unit
from optimizers.units.update import bias_corrections, divide_where_positive


class LayerMeanStepSize(Unit):
    """One step size per tensor: ``γ_l = mean(1/sqrt(v̂_l))`` and ``direction = γ_l m̂_l``.

    AdamL / AdaBeliefL (Alg. 1). With ε inside the EMA (the paper's eq. 8) no ε
    is added here; with ``eps_mode`` "outside"/"both" the elementwise sizes are
    ``1/(sqrt(v̂)+ε)`` before the mean. An entry with a zero denominator (ε = 0
    and no signal yet) gets step size 0, like the zero-denominator rule elsewhere.
    """

    def __call__(self, ctx: GroupStep) -> None:
        eps_outside = ctx.group["eps_mode"] in ("outside", "both")
        eps = ctx.group["eps"]
        directions = []
        for i, state in enumerate(ctx.states):
            bc1, bc2 = bias_corrections(ctx, i)
            root = (state["exp_avg_sq"] / bc2).sqrt_()
            if eps_outside:
                root.add_(eps)
            sizes = divide_where_positive(torch.ones_like(root), root, guard=eps == 0)
            layer_step = sizes.mean()
            directions.append(state["exp_avg"] * (layer_step / bc1))
        ctx.directions = directions
