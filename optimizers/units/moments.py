"""The two moment estimates every Adam-type method keeps, and the statistics fed to the second."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from optimizers._hyperparameters import Hyperparameter
from optimizers._validation import Choice, Interval, Pair
from optimizers.units.context import GroupStep, Unit, widened, zeros_like

BETAS = Hyperparameter(
    "betas",
    Pair(Interval(0.0, 1.0, high_open=True)),
    (0.9, 0.999),
    "(β1, β2), the EMA rates of the first and second moments (000 Alg. 1, eqs. 5-6)",
    # β < 1/2, where 1 - (1 - β) is not β in floating point.
    examples=((0.0, 0.5), (1e-16, 1e-16)),
)
EPS = Hyperparameter(
    "eps",
    Interval(0.0),
    1e-8,
    "ε ≥ 0, the constant that keeps denominators positive",
    examples=(0.0,),
)
EPS_MODES = ("outside", "inside", "both")
EPS_MODE = Hyperparameter(
    "eps_mode",
    Choice(EPS_MODES),
    "outside",
    "where ε goes: after the root (000 Alg. 1), into v_t each step (004 eq. 8), or both "
    "(004 eqs. 6-7)",
)


def ema_(average: Tensor, value: Tensor, beta: float) -> None:
    """``average ← β·average + (1-β)·value`` in place.

    ``lerp`` with weight ``1-β`` is one kernel, and exact in its weight when
    β ≥ 1/2 (then ``1-β`` is representable exactly). For a smaller β the lerp
    uses ``fl(1 - fl(1-β))`` in place of β, which is not β (β = 1e-16 would act
    as 1.1e-16), so the two products are formed explicitly.
    """
    if beta >= 0.5:
        average.lerp_(value, 1.0 - beta)
    else:
        average.mul_(beta).add_(value, alpha=1.0 - beta)


def foreach_ema_(averages: list[Tensor], values: list[Tensor], beta: float) -> None:
    """:func:`ema_` over lists of tensors with multi-tensor kernels."""
    if beta >= 0.5:
        torch._foreach_lerp_(averages, values, 1.0 - beta)
    else:
        torch._foreach_mul_(averages, beta)
        torch._foreach_add_(averages, values, alpha=1.0 - beta)


def keep_overflow_(square: Tensor) -> None:
    """Keep an overflowed second moment at +∞ instead of letting its EMA turn it into NaN.

    A finite gradient can still overflow g² (float32 above ~1.8e19). v_t = ∞
    then gives the step ``m/∞ = 0``, which is what ``torch.optim.Adam`` does;
    but the next EMA, ``lerp`` = ``v + w(x - v)``, forms ∞ - ∞ = NaN, where
    torch's ``mul_(β2).addcmul_`` keeps ∞. v ≥ 0 and gradients are checked
    finite, so NaN here can only be that ∞ - ∞ and is put back to +∞. Finite
    values pass unchanged (one in-place pass; no host synchronisation).
    """
    if torch.compiler.is_compiling():
        # The same values for v ≥ 0 or NaN, in a form inductor vectorises (x == x);
        # its nan_to_num tests each value of a vector one by one.
        square.copy_(torch.where(square == square, square, math.inf))
        return
    torch.nan_to_num_(square, nan=math.inf, posinf=math.inf)


def saturate_(x: Tensor) -> Tensor:
    """Hold ``x`` within its dtype's finite range, ±∞ at ±max, in place; returns ``x``.

    For quantities formed from finite values that may still overflow and that
    must stay finite to be used again: AdaNorm's e_t (at ∞ every later
    s_t = g_t·e_t/‖g_t‖ would be ∞ or NaN for good; at the largest value it
    decays with γ) and ND-Adam's radial part and tangent. NaN, which only an
    ∞ - ∞ could have produced, reads as +max. Finite values pass unchanged.
    """
    peak = torch.finfo(x.dtype).max
    if torch.compiler.is_compiling():
        # nan_to_num's values in a form inductor vectorises (see keep_overflow_).
        return x.copy_(torch.where(x == x, x.clamp(-peak, peak), peak))
    return torch.nan_to_num_(x, nan=peak)


def wide_ema_(average: Tensor, value: Tensor, beta: float) -> None:
    """:func:`ema_` where ``value`` may be wider than ``average`` (a float32 statistic
    of a float16 parameter): computed in the wider dtype, stored rounded."""
    if value.dtype == average.dtype:
        ema_(average, value, beta)
        return
    wide = average.to(value.dtype)
    ema_(wide, value, beta)
    average.copy_(wide)


class FirstMoment(Unit):
    """``m_t = β1 m_{t-1} + (1-β1) x_t`` with x_t the gradient or AdaNorm's s_t (eq. 5)."""

    traced_state = (("m", "exp_avg"),)  # (trace key, state slot) read after the step
    hyperparameters = (BETAS,)

    def init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"exp_avg": zeros_like(param)}

    def __call__(self, ctx: GroupStep) -> None:
        beta1 = ctx.group["betas"][0]
        averages = [state["exp_avg"] for state in ctx.states]
        inputs = ctx.moment_inputs()
        if ctx.foreach:
            foreach_ema_(averages, inputs, beta1)
        else:
            for m, x in zip(averages, inputs, strict=True):
                ema_(m, x, beta1)


class GradientSquare(Unit):
    """Adam's statistic ``q_t = g_t²`` (Alg. 1)."""

    traced = ("q", "statistics")
    """What the invariant runners record after this unit: (trace key, context field, ...)."""

    def __call__(self, ctx: GroupStep) -> None:
        inputs = ctx.squared_inputs()
        if ctx.foreach and not ctx.reduced_precision:
            ctx.statistics = ctx.compute("work", "mul", inputs, inputs)
        else:
            ctx.statistics = [w * w for w in map(widened, inputs)]


class BeliefResidualSquare(Unit):
    """AdaBelief's statistic ``q_t = (g_t - m_t)²`` with the updated m_t (001 Alg. 7; 004 eq. 6).

    Must run after :class:`FirstMoment`.
    """

    traced = ("q", "statistics")
    """What the invariant runners record after this unit: (trace key, context field, ...)."""

    def __call__(self, ctx: GroupStep) -> None:
        averages = [state["exp_avg"] for state in ctx.states]
        inputs = ctx.squared_inputs()
        if ctx.foreach and not ctx.reduced_precision:
            ctx.statistics = ctx.squared_differences("work", inputs, averages)
        else:
            ctx.statistics = [
                (widened(x) - widened(m)).square_() for x, m in zip(inputs, averages, strict=True)
            ]


Reduction = str | Callable[[GroupStep, int], str]


class SecondMoment(Unit):
    """``v_t = β2 v_{t-1} + (1-β2) R(q_t)`` (+ ε when ε sits inside the EMA).

    ``R`` is the reduction: "elementwise" (Adam, AdaBelief, Aida), "layer_mean"
    (one scalar per tensor, the mean of q_t: LAdam/LAdaBelief eq. 11, LAida),
    or "row_sum" (one scalar per row of ``θ.reshape(rows, -1)``, ND-Adam's
    ``‖g_t(w_i)‖²``). The buffer keeps a shape that broadcasts against θ.
    ``eps_mode`` "inside" or "both" adds ε to v_t on every step (004 eqs. 6, 8, 11, 14).
    A float16/bfloat16 v_t is updated in float32 from the float32 statistic and
    stored rounded; an overflowed v_t stays +∞ (a zero step, as in torch: :func:`keep_overflow_`).
    """

    traced_state = (("v", "exp_avg_sq"),)  # (trace key, state slot) read after the step
    hyperparameters = (BETAS, EPS, EPS_MODE)

    def __init__(self, reduction: Reduction = "elementwise") -> None:
        self.reduction = reduction

    @property
    def reduces_rows(self) -> bool:  # type: ignore[override]
        # A reduction chosen per tensor (ND-Adam's) may be "row_sum".
        return callable(self.reduction) or self.reduction == "row_sum"

    @property
    def reduction_reads(self) -> int:  # type: ignore[override]
        # A per-layer or per-row v_t is a reduction of q_t = g²: g is read before the step.
        return 0 if self.reduction == "elementwise" else 1

    def _reduction_for(self, ctx: GroupStep, i: int) -> str:
        return self.reduction(ctx, i) if callable(self.reduction) else self.reduction

    def __call__(self, ctx: GroupStep) -> None:
        beta2 = ctx.group["betas"][1]
        eps_inside = ctx.group["eps_mode"] in ("inside", "both")
        eps = ctx.group["eps"]
        if ctx.foreach and not ctx.reduced_precision:
            reduced = [
                _reduce(ctx, i, q, self._reduction_for(ctx, i))
                for i, q in enumerate(ctx.statistics)
            ]
            squares = [
                _second_moment(state, r, p)
                for state, r, p in zip(ctx.states, reduced, ctx.params, strict=True)
            ]
            # The same lerp and ε as below, one multi-tensor call each (per-layer
            # and per-row buffers are small: the saving is in calls, not bytes).
            foreach_ema_(squares, reduced, beta2)
            if eps_inside:
                torch._foreach_add_(squares, eps)
            for v in squares:
                keep_overflow_(v)
            return
        for i, (p, q, state) in enumerate(zip(ctx.params, ctx.statistics, ctx.states, strict=True)):
            reduced = _reduce(ctx, i, q, self._reduction_for(ctx, i))
            v = _second_moment(state, reduced, p)
            wide_ema_(v, reduced, beta2)
            if eps_inside:
                v.add_(eps)
            keep_overflow_(v)


def _second_moment(state: dict[str, Any], reduced: Tensor, param: Tensor) -> Tensor:
    # Created on first use because its shape depends on the reduction; kept in
    # the parameter's dtype, as torch keeps Adam's state. Not setdefault: that
    # would build (and zero) a throwaway buffer on every step.
    if "exp_avg_sq" not in state:
        state["exp_avg_sq"] = torch.zeros_like(reduced, dtype=param.dtype)
    return state["exp_avg_sq"]


def _reduce(ctx: GroupStep, i: int, q: Tensor, reduction: str) -> Tensor:
    if reduction == "elementwise":
        return q
    if reduction == "layer_mean":
        # An empty layer has no statistic: 0 (the mean of nothing would be NaN).
        return ctx.over(i).mean(q)
    if reduction == "row_sum":
        return ctx.over(i).row_sums(q)
    raise ValueError(f"unknown second-moment reduction {reduction!r}")
