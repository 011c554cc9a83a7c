"""RAdam's variance rectification (paper 001, supplementary Alg. 5-6)."""

from __future__ import annotations

import math

from optimizers.units.context import GroupStep, Unit
from optimizers.units.update import bias_corrections, divide_where_positive


def sma_length(beta2: float, t: int) -> tuple[float, float]:
    """``(ρ_∞, ρ_t)``: ``ρ_∞ = 2/(1-β2) - 1``, ``ρ_t = ρ_∞ - 2tβ2^t/(1-β2^t)``."""
    rho_inf = 2.0 / (1.0 - beta2) - 1.0
    return rho_inf, rho_inf - 2.0 * t * beta2**t / (1.0 - beta2**t)


def rectification(beta2: float, t: int) -> float:
    """``r_t = sqrt((1-β2^t)(ρ_t-4)(ρ_t-2)ρ_∞ / ((ρ_∞-4)(ρ_∞-2)ρ_t))``.

    The ``1-β2^t`` factor is the bias correction of v_t, which Alg. 5 folds into
    the rate (the text extraction shows ``(1-β2)`` with the superscript lost).
    """
    rho_inf, rho_t = sma_length(beta2, t)
    ratio = (rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t)
    return math.sqrt((1.0 - beta2**t) * ratio)


class RectifiedStep(Unit):
    """The step of Alg. 5: rectified adaptive step when ``ρ_t`` passes the threshold.

    If ``ρ_t ≥ rectify_threshold`` (``>`` when ``threshold_inclusive`` is False,
    as in torch): ``direction = r_t/(1-β1^t) · m_t/(sqrt(v_t) + ε)``; otherwise
    the un-adapted momentum ``m_t/(1-β1^t)``. ε sits outside the root of the
    *uncorrected* v_t, as in Alg. 5 and torch (with ``eps_mode="inside"`` ε only
    enters v_t).
    """

    def __call__(self, ctx: GroupStep) -> None:
        beta2 = ctx.group["betas"][1]
        threshold = ctx.group["rectify_threshold"]
        inclusive = ctx.group["threshold_inclusive"]
        eps = ctx.group["eps"]
        eps_outside = ctx.group["eps_mode"] in ("outside", "both")
        directions = []
        for i, state in enumerate(ctx.states):
            bc1, _ = bias_corrections(ctx, i)
            m = state["exp_avg"]
            _, rho_t = sma_length(beta2, ctx.steps[i])
            rectified = rho_t >= threshold if inclusive else rho_t > threshold
            if rectified:
                denominator = state["exp_avg_sq"].sqrt()
                if eps_outside:
                    denominator.add_(eps)
                scale = rectification(beta2, ctx.steps[i]) / bc1
                directions.append(divide_where_positive(m * scale, denominator, guard=eps == 0))
            else:
                directions.append(m / bc1)
        ctx.directions = directions
