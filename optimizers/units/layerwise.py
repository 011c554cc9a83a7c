"""Layerwise post-processing of step sizes (paper 004, Alg. 1, eqs. 9-10)."""

from __future__ import annotations

import torch

from optimizers.units.context import GroupStep, Quotient
from optimizers.units.update import AdaptiveStep, divide_where_positive


class LayerMeanStepSize(AdaptiveStep):
    """One step size per tensor: ``γ_l = mean(1/sqrt(v̂_l))`` and ``direction = γ_l m̂_l``.

    AdamL / AdaBeliefL (Alg. 1). With ε inside the EMA (the paper's eq. 8) no ε
    is added here; with ``eps_mode`` "outside"/"both" the elementwise sizes are
    ``1/(sqrt(v̂)+ε)`` before the mean. An entry with a zero denominator (ε = 0
    and no signal yet) gets step size 0, like the zero-denominator rule elsewhere.
    float16/bfloat16 sizes are formed in float32 (``v̂`` overflows float16 on step 1).
    Where ε goes, the zero guard and the per-tensor loop are :class:`AdaptiveStep`'s; only
    the direction from the root differs.
    """

    reduction_reads = 2  # mean(1/sqrt(v̂)) needs the updated v: g and v read first

    @staticmethod
    def _direction(
        ctx: GroupStep, i: int, m: torch.Tensor, root: torch.Tensor, bc1: float, guard: bool
    ) -> torch.Tensor:
        """``γ_l m̂`` with ``γ_l = mean(1/root)`` (eq. 9), ``root = sqrt(v̂) [+ ε]``."""
        sizes = divide_where_positive(torch.ones_like(root), root, guard=guard)
        return m * (ctx.over(i).mean(sizes) / bc1)

    @staticmethod
    def _multi_tensor(ctx: GroupStep, eps_outside: float) -> None:
        # The per-tensor loop (AdaptiveStep.__call__ with _direction) pass by pass in a
        # workspace buffer (1/root is the same division as ones/root); ε > 0 keeps roots
        # positive, so no guard. The step m · (γ_l/bc1) is left to ApplyUpdate as one addcmul.
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
