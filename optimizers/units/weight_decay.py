"""Weight decay: L2 into the gradient, or decoupled from it (AdamW)."""

from __future__ import annotations

import torch

from optimizers._hyperparameters import Hyperparameter
from optimizers._validation import Flag, Interval
from optimizers.units.context import GroupStep, Unit


class WeightDecay(Unit):
    """``g ← g + wd·θ`` (the papers' L2 decay) or ``θ ← θ(1 - rate·wd)`` (decoupled).

    The group's ``decoupled_weight_decay`` flag picks the form. ``applies`` lets
    an optimizer exempt tensors (ND-Adam's unit-norm weight vectors, for which
    decay is meaningless).
    """

    traced = ("g", "grads")
    """What the invariant runners record after this unit: (trace key, context field, ...)."""
    hyperparameters = (
        Hyperparameter("weight_decay", Interval(0.0), 0.0, "the decay rate wd ≥ 0", (0.1,)),
        Hyperparameter(
            "decoupled_weight_decay",
            Flag(),
            False,
            "θ ← θ(1 - rate·wd) (AdamW; AdaRem Alg. 1) instead of g ← g + wd·θ",
            alongside={"weight_decay": 0.1},
        ),
    )

    def __init__(self, applies=None) -> None:
        self.applies = applies

    def __call__(self, ctx: GroupStep) -> None:
        wd = ctx.group["weight_decay"]
        if wd == 0:
            return
        chosen = [i for i in range(len(ctx.params)) if self.applies is None or self.applies(ctx, i)]
        if ctx.group["decoupled_weight_decay"]:
            if ctx.foreach:
                torch._foreach_mul_(
                    [ctx.params[i] for i in chosen], [1.0 - ctx.rates[i] * wd for i in chosen]
                )
            else:
                for i in chosen:
                    ctx.params[i].mul_(1.0 - ctx.rates[i] * wd)
        elif ctx.foreach and len(chosen) == len(ctx.params):
            ctx.grads = ctx.compute("grad", "add", ctx.grads, ctx.params, alpha=wd)
        elif ctx.foreach and ctx.on_cpu:
            for i in chosen:
                ctx.grads[i] = torch.add(
                    ctx.grads[i], ctx.params[i], alpha=wd, out=ctx.buffer("grad", i)
                )
        else:
            for i in chosen:
                ctx.grads[i] = ctx.grads[i].add(ctx.params[i], alpha=wd)
