"""RAdam's variance rectification (paper 001, supplementary Alg. 5-6)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from optimizers._hyperparameters import Hyperparameter
from optimizers._validation import Flag, Interval
from optimizers.units.context import GroupStep, Quotient, Scalar, Unit, widened
from optimizers.units.moments import BETAS, EPS, EPS_MODE
from optimizers.units.update import divide_where_positive


def sma_length(beta2: float, t: int | Tensor) -> tuple[float, float | Tensor]:
    """``(ρ_∞, ρ_t)``: ``ρ_∞ = 2/(1-β2) - 1``, ``ρ_t = ρ_∞ - 2tβ2^t/(1-β2^t)``."""
    rho_inf = 2.0 / (1.0 - beta2) - 1.0
    return rho_inf, rho_inf - 2.0 * t * beta2**t / (1.0 - beta2**t)


def rectification(beta2: float, t: int | Tensor) -> float | Tensor:
    """``r_t = sqrt((1-β2^t)(ρ_t-4)(ρ_t-2)ρ_∞ / ((ρ_∞-4)(ρ_∞-2)ρ_t))``.

    The ``1-β2^t`` factor is the bias correction of v_t, which Alg. 5 folds into
    the rate (the text extraction shows ``(1-β2)`` with the superscript lost).
    """
    rho_inf, rho_t = sma_length(beta2, t)
    ratio = (rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t)
    if isinstance(ratio, Tensor):  # a capturable step's device count
        return ((1.0 - beta2**t) * ratio).sqrt()
    return math.sqrt((1.0 - beta2**t) * ratio)


class RectifiedStep(Unit):
    """The step of Alg. 5: rectified adaptive step when ``ρ_t`` passes the threshold.

    If ``ρ_t ≥ rectify_threshold`` (``>`` when ``threshold_inclusive`` is False,
    as in torch): ``direction = r_t/(1-β1^t) · m_t/(sqrt(v_t) + ε)``; otherwise
    the un-adapted momentum ``m_t/(1-β1^t)``. ε sits outside the root of the
    *uncorrected* v_t, as in Alg. 5 and torch (with ``eps_mode="inside"`` ε only
    enters v_t).
    """

    traced = ("direction", "directions")
    """What the invariant runners record after this unit: (trace key, context field, ...)."""
    hyperparameters = (
        BETAS,
        EPS,
        EPS_MODE,
        Hyperparameter(
            "rectify_threshold",
            Interval(4.0, low_open=True),
            5.0,
            "the threshold on ρ_t above which the step is rectified (001 Alg. 5: ρ_t ≥ 5); "
            "> 4 so that r_t is real",
            examples=(6.5,),
        ),
        Hyperparameter(
            "threshold_inclusive",
            Flag(),
            True,
            "ρ_t ≥ threshold (Alg. 5) or ρ_t > threshold (torch's RAdam)",
        ),
    )

    def __call__(self, ctx: GroupStep) -> None:
        beta2 = ctx.group["betas"][1]
        threshold = ctx.group["rectify_threshold"]
        inclusive = ctx.group["threshold_inclusive"]
        eps = ctx.group["eps"]
        eps_outside = ctx.group["eps_mode"] in ("outside", "both")
        if ctx.foreach and eps > 0 and not ctx.reduced_precision:
            self._multi_tensor(ctx, threshold, inclusive, eps if eps_outside else 0.0)
            return
        if ctx.capturable:
            self._selected(ctx, threshold, inclusive, eps_outside)
            return
        # ε that rounds to 0 in a tensor's dtype (1e-8 in float16) guards nothing.
        guard = not ctx.positive_in_every_dtype(eps)
        directions = []
        for i, state in enumerate(ctx.states):
            bc1, _ = ctx.bias_correction(i)
            m = state["exp_avg"]
            if _rectified(beta2, ctx.steps[i], threshold, inclusive):
                denominator = widened(state["exp_avg_sq"]).sqrt()
                if eps_outside:
                    denominator.add_(eps)
                scale = rectification(beta2, ctx.steps[i]) / bc1
                directions.append(
                    divide_where_positive(widened(m) * scale, denominator, guard=guard)
                )
            else:
                directions.append(widened(m) / bc1)
        ctx.directions = directions

    @staticmethod
    def _selected(ctx: GroupStep, threshold: float, inclusive: bool, eps_outside: bool) -> None:
        # The loop above with the branch on ρ_t taken on the device: both directions
        # are formed and torch.where keeps one (r_t of an unrectified step may be
        # NaN; it is never selected).
        beta2, eps = ctx.group["betas"][1], ctx.group["eps"]
        guard = not ctx.positive_in_every_dtype(eps)
        directions = []
        for i, state in enumerate(ctx.states):
            t = ctx.steps[i]
            bc1, _ = ctx.bias_correction(i)
            m = widened(state["exp_avg"])
            denominator = widened(state["exp_avg_sq"]).sqrt()
            if eps_outside:
                denominator.add_(eps)
            scale = ctx.settle(rectification(beta2, t) / bc1)
            rectified = divide_where_positive(m * scale, denominator, guard=guard)
            chosen = ctx.settle(_rectified(beta2, t, threshold, inclusive))
            directions.append(torch.where(chosen, rectified, m / bc1))
        ctx.directions = directions

    @staticmethod
    def _multi_tensor(ctx: GroupStep, threshold: float, inclusive: bool, eps: float) -> None:
        # The same step as a Quotient: m·(r/bc1)/(sqrt(v) + ε) where rectified and
        # m·1/bc1 (a number as denominator, so the step is exactly m̂) elsewhere.
        beta2 = ctx.group["betas"][1]
        averages = [state["exp_avg"] for state in ctx.states]
        scales: list[Scalar] = []
        denominators: list[Scalar] = []
        rectified = []
        for i, t in enumerate(ctx.steps):
            bc1, _ = ctx.bias_correction(i)
            if _rectified(beta2, t, threshold, inclusive):
                rectified.append(i)
                scales.append(rectification(beta2, t) / bc1)
                denominators.append(1.0)  # the root of v, filled in below
            else:
                scales.append(1.0)
                denominators.append(bc1)
        if rectified:
            # Roots of every v (tensors share t unless some skipped steps, so
            # normally all or none are rectified).
            roots = ctx.compute("work", "sqrt", [state["exp_avg_sq"] for state in ctx.states])
            chosen = [roots[i] for i in rectified]
            if eps:
                torch._foreach_add_(chosen, eps)
            for i, root in zip(rectified, chosen, strict=True):
                denominators[i] = root
        ctx.pending = Quotient(numerators=averages, scales=scales, denominators=denominators)


def _rectified(beta2: float, t: int | Tensor, threshold: float, inclusive: bool) -> bool | Tensor:
    _, rho_t = sma_length(beta2, t)
    return rho_t >= threshold if inclusive else rho_t > threshold
