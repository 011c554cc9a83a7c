"""AdaRem's momentum-guided modulation of the learning rate (paper 002, eqs. 1-2, Alg. 1)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from optimizers._hyperparameters import Hyperparameter
from optimizers._validation import Choice, Integer, Interval
from optimizers.units.context import GroupStep, Quotient, Unit, zeros_like
from optimizers.units.moments import EPS, ema_, foreach_ema_


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

    reduction_reads = 1  # max|m| before b = g·m/(|g| max|m| + ε)
    traced = ("direction", "directions")
    """What the invariant runners record after this unit: (trace key, context field, ...)."""
    traced_state_before = (("m_prev", "momentum"),)
    """The momentum the modulation reads (the paper's m_t), before it is updated."""
    hyperparameters = (
        Hyperparameter(
            "lam",
            Interval(0.0, 1.0, low_open=True, high_open=True),
            0.999,
            "λ ∈ (0, 1), the decay of the modulation λ^k b (002 eq. 2)",
            examples=(0.5,),
        ),
        EPS,
        Hyperparameter(
            "lam_tick",
            Choice(("step", "epoch")),
            "step",
            "k counts steps, or epochs ticked with tick_epoch() (002 §3: once per epoch)",
        ),
        Hyperparameter(
            "lam_epoch",
            Integer(0),
            0,
            "epochs ticked so far (the k of lam_tick='epoch'); kept in the group",
            settable=False,
        ),
        Hyperparameter(
            "max_scope",
            Choice(("tensor", "global")),
            "tensor",
            "max|m| over the tensor or over the group (002 eq. 1 leaves it open)",
        ),
    )

    def init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"momentum": zeros_like(param)}

    def __call__(self, ctx: GroupStep) -> None:
        lam, eps = ctx.group["lam"], ctx.group["eps"]
        momenta = [state["momentum"] for state in ctx.states]
        if ctx.foreach:
            peaks = _peaks(momenta)
        else:
            peaks = [ctx.over(i).peak(m.abs()) for i, m in enumerate(momenta)]
        if ctx.group["max_scope"] == "global":
            # The peak of each entry's peaks: a flat block's holds one per tensor.
            peaks = [torch.stack([peak.max() for peak in peaks]).max()] * len(peaks)
        if ctx.foreach and ctx.positive_in_every_dtype(eps):
            self._multi_tensor(ctx, momenta, peaks, lam, eps)
            return
        directions = []
        for i, (g, m, peak) in enumerate(zip(ctx.grads, momenta, peaks, strict=True)):
            denominator = g.abs() * peak + eps
            positive = denominator > 0
            b = torch.where(positive, g * m / torch.where(positive, denominator, 1.0), 0.0)
            a = 1.0 + ctx.settle(lam ** lambda_exponent(ctx, i)) * b
            directions.append(a * g)
        ctx.directions = directions

    @staticmethod
    def _multi_tensor(
        ctx: GroupStep, momenta: list[Tensor], peaks: list[Tensor], lam: float, eps: float
    ) -> None:
        # The arithmetic of the loop above, pass by pass in two workspace buffers;
        # ε > 0 (in the tensors' dtype: 1e-8 is 0 in float16) makes every
        # denominator positive, so the guard drops out, and the
        # step a ⊙ g is left to ApplyUpdate as one addcmul.
        grads = ctx.grads
        denominators = ctx.compute("work", "abs", grads)
        torch._foreach_mul_(denominators, peaks)
        torch._foreach_add_(denominators, eps)
        modulation = ctx.compute("work2", "mul", grads, momenta)
        torch._foreach_div_(modulation, denominators)
        torch._foreach_mul_(modulation, [lam ** lambda_exponent(ctx, i) for i in range(len(grads))])
        torch._foreach_add_(modulation, 1.0)
        ctx.pending = Quotient(numerators=grads, scales=modulation, denominators=[1.0] * len(grads))


def _peaks(momenta: list[Tensor]) -> list[Tensor]:
    # max|m| = max(-min m, max m): one read per tensor with aminmax, against a
    # read and a write of |m| (and much slower than both, the ∞-norm kernel).
    peaks = []
    for m in momenta:
        if m.numel() == 0:
            peaks.append(m.new_zeros(()))
            continue
        low, high = torch.aminmax(m)
        peaks.append(torch.maximum(high, low.neg()))
    return peaks


class MomentumAfterUpdate(Unit):
    """``m_{t+1} = β m_t + (1-β) g_t``, run after the parameter update (Alg. 1, last line)."""

    traced_state = (("m", "momentum"),)  # (trace key, state slot) read after the step
    hyperparameters = (
        Hyperparameter(
            "beta",
            Interval(0.0, 1.0, high_open=True),
            0.9,
            "β ∈ [0, 1), the momentum's EMA rate (002 Alg. 1)",
            examples=(0.0, 1e-16, 0.3),
        ),
    )

    def __call__(self, ctx: GroupStep) -> None:
        beta = ctx.group["beta"]
        momenta = [state["momentum"] for state in ctx.states]
        if ctx.foreach:
            foreach_ema_(momenta, ctx.grads, beta)
            return
        for g, m in zip(ctx.grads, momenta, strict=True):
            ema_(m, g, beta)
