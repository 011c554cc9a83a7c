"""ND-Adam's tangent gradient (paper 003, Alg. 1)."""

from __future__ import annotations

import torch
from torch import Tensor

from optimizers._hyperparameters import Hyperparameter
from optimizers._validation import Flag, Interval, Optional
from optimizers.units.context import GroupStep, Unit, as_rows
from optimizers.units.moments import saturate_

VECTORWISE = Hyperparameter(
    "vectorwise",
    Optional(Flag()),
    None,
    "which tensors are sets of weight vectors (003 Alg. 1); None: those with ndim ≥ 2",
    examples=(False,),  # True fails on 0-d tensors, which have no rows
)


class TangentProjection(Unit):
    """``g(w_i) ← ḡ(w_i) - (ḡ(w_i)·w_i) w_i`` for every unit-norm row w_i of a vector tensor.

    Removes the radial part of the gradient, so the step moves each weight
    vector along the sphere. ``applies(ctx, i)`` says which tensors are weight
    vector sets; the others keep their gradient.
    """

    reduction_reads = 2  # the rows' ḡ·w (g and θ) before the tangent
    reduces_rows = True
    traced = ("g", "grads")
    """What the invariant runners record after this unit: (trace key, context field, ...)."""

    def __init__(self, applies) -> None:
        self.applies = applies

    def __call__(self, ctx: GroupStep) -> None:
        for i, (p, g) in enumerate(zip(ctx.params, ctx.grads, strict=True)):
            if not self.applies(ctx, i):
                continue
            rows, grad_rows = as_rows(p), as_rows(g)
            if ctx.foreach:
                # Row dot products as one batched matrix product (a read of g and
                # w, no product tensor), and g - (g·w)w as one addcmul into the
                # workspace: two passes where the lines below take four.
                n, width = rows.shape
                radial = torch.bmm(grad_rows.reshape(n, 1, width), rows.reshape(n, width, 1))
                # ḡ·w and ḡ - (ḡ·w)w of a gradient near the dtype's maximum can
                # overflow though ḡ and w are finite: held at ±max, the tangent stays
                # finite (the spike's g² makes v_t ∞, so its step is 0, as in torch).
                saturate_(radial)
                tangent = torch.addcmul(
                    grad_rows, rows, radial.reshape(n, 1), value=-1.0, **_into(ctx, i, g)
                )
                ctx.grads[i] = saturate_(tangent).reshape(g.shape)
                continue
            radial = saturate_(ctx.over(i).row_sums(g * p))
            ctx.grads[i] = saturate_(g - radial * p)


def _into(ctx: GroupStep, i: int, g: Tensor) -> dict[str, Tensor]:
    # The "grad" workspace buffer as out=, where a row view of it exists (on the
    # CPU: see GroupStep.buffers); otherwise let addcmul allocate.
    if not (ctx.on_cpu and g.is_contiguous()):
        return {}
    buffer = ctx.buffer("grad", i)
    return {"out": as_rows(buffer)} if buffer.is_contiguous() else {}


class ScalarSetRate(Unit):
    """ND-Adam's second learning rate α^s for the tensors updated by plain Adam
    (``scalar_lr``; ``None`` means the same rate as the weight vectors)."""

    hyperparameters = (
        Hyperparameter(
            "scalar_lr",
            Optional(Interval(0.0)),
            None,
            "α^s, the rate of the tensors Adam updates (003 Alg. 1); None: lr",
            examples=(0.05,),
        ),
    )

    def __init__(self, applies) -> None:
        self.applies = applies

    def __call__(self, ctx: GroupStep) -> None:
        scalar_lr = ctx.group["scalar_lr"]
        if scalar_lr is None:
            return
        for i in range(len(ctx.params)):
            if not self.applies(ctx, i):
                ctx.rates[i] = scalar_lr
