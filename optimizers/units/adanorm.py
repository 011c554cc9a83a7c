"""AdaNorm's gradient-norm correction (paper 000, eqs. 2-4; Alg. 2 lines 6-9)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from optimizers._hyperparameters import Hyperparameter
from optimizers._validation import Choice, Interval
from optimizers.units.context import GroupStep, Unit, by_kind, norm
from optimizers.units.moments import saturate_


class GradientNormCorrection(Unit):
    """Scale g_t up to the running norm e_t when its norm falls below it.

    ``e_t = γ e_{t-1} + (1-γ)‖g_t‖`` (eq. 4, e_0 = 0) and
    ``s_t = (e_t/‖g_t‖) g_t`` if ``e_t > ‖g_t‖`` else ``g_t`` (eq. 3), so
    ``‖s_t‖ = max(‖g_t‖, e_t)`` and s_t keeps g_t's direction. A zero gradient
    has no direction to keep and stays zero (eq. 3 would divide by zero).

    Group options: ``gamma`` (γ), ``norm_scope`` ("tensor": one e per tensor;
    "global": one e for the whole group and one ratio for all its tensors),
    ``corrected_moments`` ("first": s feeds m only, the paper's method;
    "second": s replaces g in the second-moment statistic only; "both").

    Range: norms of float16/bfloat16 tensors are accumulated in float32; e is
    kept in the parameter's dtype and held to its finite range (a spike whose
    norm overflows leaves e at the largest float, from which it decays, rather
    than at ∞ for good); where e/‖g‖ itself overflows, s_t is formed as
    ``(g/‖g‖)·e``, which has the same value and stays finite.
    """

    reduction_reads = 1  # ‖g_t‖ before s_t = g_t·e_t/‖g_t‖
    traced = ("s", "first_inputs", "square_inputs")
    """What the invariant runners record after this unit: (trace key, context field, ...)."""
    traced_state = (("e", "norm_ema"),)  # (trace key, state slot) read after the step
    group_slots = ("global_norm_ema",)  # one e for the group (scope "global")
    traced_group_state = (("e", "global_norm_ema"),)
    hyperparameters = (
        Hyperparameter(
            "gamma",
            Interval(0.0, 1.0, high_open=True),
            0.95,
            "γ, the rate of the norm EMA e_t (000 eq. 4; 0.95 in §4)",
            examples=(0.0, 0.5, 0.999),
        ),
        Hyperparameter(
            "norm_scope",
            Choice(("tensor", "global")),
            "tensor",
            "one e_t per tensor, or one for the whole group (an open choice of 000)",
        ),
        Hyperparameter(
            "corrected_moments",
            Choice(("first", "second", "both")),
            "first",
            "which moment averages s_t: m_t (000 eq. 5) or v_t / both (001 Table 3 ablation)",
        ),
    )

    def init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"norm_ema": torch.zeros((), dtype=param.dtype, device=param.device)}

    def __call__(self, ctx: GroupStep) -> None:
        gamma = ctx.group["gamma"]
        where = ctx.group["corrected_moments"]
        if ctx.foreach:
            ratios = _in_grad_dtypes(ctx, self._multi_tensor_ratios(ctx, gamma))
            if where == "first":
                # s_t only feeds m_t, which is updated next: a workspace buffer will do.
                corrected = ctx.compute("work", "mul", ctx.grads, ratios)
            else:
                corrected = [g * r for g, r in zip(ctx.grads, ratios, strict=True)]
            _rescale_overflowed(ctx, ratios, corrected)
        else:
            if ctx.group["norm_scope"] == "global":
                ratios = self._global_ratios(ctx, gamma)
            else:
                ratios = self._tensor_ratios(ctx, gamma)
            ratios = _in_grad_dtypes(ctx, ratios)
            corrected = [g * r for g, r in zip(ctx.grads, ratios, strict=True)]
            _rescale_overflowed(ctx, ratios, corrected)
        if where in ("first", "both"):
            ctx.first_inputs = corrected
        if where in ("second", "both"):
            ctx.square_inputs = corrected

    @staticmethod
    def _ratio(ema: Tensor, norm: Tensor) -> Tensor:
        # max(1, e/n) without dividing by a zero norm: a zero gradient stays zero.
        safe_norm = torch.where(norm > 0, norm, torch.ones_like(norm))
        return torch.where(ema > norm, ema / safe_norm, torch.ones_like(norm))

    def _tensor_ratios(self, ctx: GroupStep, gamma: float) -> list[Tensor]:
        ratios = []
        for i, (g, state) in enumerate(zip(ctx.grads, ctx.states, strict=True)):
            g_norm = ctx.over(i).norm(g)
            ema = state["norm_ema"]
            ema.mul_(gamma).add_((1.0 - gamma) * g_norm)
            saturate_(ema)
            ratios.append(self._ratio(ema, g_norm))
        return ratios

    def _global_ratios(self, ctx: GroupStep, gamma: float) -> list[Tensor]:
        group_norm = _group_norm([norm(g) for g in ctx.grads])
        ema = _global_ema(ctx, group_norm)
        ema.mul_(gamma).add_((1.0 - gamma) * group_norm)
        saturate_(ema)
        return [self._ratio(ema, group_norm)] * len(ctx.grads)

    def _multi_tensor_ratios(self, ctx: GroupStep, gamma: float) -> list[Tensor]:
        # The same arithmetic as the two methods above, on one stacked vector of
        # norms per (device, dtype) instead of per 0-d tensor, and with the norms
        # the finiteness check already took where g is still the raw gradient.
        norms = ctx.norms(ctx.grads)
        if ctx.group["norm_scope"] == "global":
            group_norm = _group_norm(norms)
            ema = _global_ema(ctx, group_norm)
            ema.mul_(gamma).add_((1.0 - gamma) * group_norm)
            saturate_(ema)
            return [self._ratio(ema, group_norm)] * len(ctx.grads)
        ratios: list[Tensor] = [None] * len(norms)  # type: ignore[list-item]
        for indices in by_kind(norms):
            kind_norms = torch.stack([norms[i] for i in indices])
            emas = [ctx.states[i]["norm_ema"] for i in indices]
            updated = torch.stack(emas).mul_(gamma).add_((1.0 - gamma) * kind_norms)
            saturate_(updated)
            torch._foreach_copy_(emas, list(updated.unbind()))
            for i, ratio in zip(indices, self._ratio(updated, kind_norms).unbind(), strict=True):
                ratios[i] = ratio
        return ratios


def _in_grad_dtypes(ctx: GroupStep, ratios: list[Tensor]) -> list[Tensor]:
    # A float32 ratio (from a widened norm) would promote a 0-d float16 g to float32.
    return [r.to(g.dtype) for g, r in zip(ctx.grads, ratios, strict=True)]


def _group_norm(norms: list[Tensor]) -> Tensor:
    """``‖(g_1, …, g_n)‖`` from the tensors' norms, in the widest of their dtypes."""
    wide = torch.promote_types(norms[0].dtype, norms[-1].dtype)
    for n in norms:
        wide = torch.promote_types(wide, n.dtype)
    return torch.linalg.vector_norm(torch.stack([n.to(wide) for n in norms]))


def _global_ema(ctx: GroupStep, group_norm: Tensor) -> Tensor:
    # e of the whole group lives in the group's state (its anchor parameter's
    # state entry), in the dtype of the group's first tensor that is stepped.
    state = ctx.group_state
    if "global_norm_ema" not in state:
        state["global_norm_ema"] = torch.zeros(
            (), dtype=ctx.params[0].dtype, device=group_norm.device
        )
    return state["global_norm_ema"]


def _rescale_overflowed(ctx: GroupStep, ratios: list[Tensor], corrected: list[Tensor]) -> None:
    """Rebuild ``s = g·(e/‖g‖)`` as ``(g/‖g‖)·e`` where the ratio overflows g's dtype.

    Only a tiny ‖g‖ after a spike near the dtype's maximum does that. The test
    costs one host synchronisation per group; the rebuild happens only then.
    A capturable step makes no such test: it forms both and selects on the device.
    """
    if ctx.capturable:
        _select_rescaled(ctx, ratios, corrected)
        return
    in_range = [r.isfinite() for r in ratios]
    if bool(torch.stack(in_range).all()):
        return
    norms, emas = _norms_and_emas(ctx, ctx.norms(ctx.grads))
    for i, g in enumerate(ctx.grads):
        if not bool(in_range[i]):
            corrected[i] = _rebuilt(g, norms[i], emas[i])


def _select_rescaled(ctx: GroupStep, ratios: list[Tensor], corrected: list[Tensor]) -> None:
    # _rescale_overflowed's rebuild, formed for every tensor and chosen by torch.where.
    norms, emas = _norms_and_emas(ctx)
    for i, g in enumerate(ctx.grads):
        rebuilt = _rebuilt(g, norms[i], emas[i])
        corrected[i] = torch.where(ratios[i].isfinite(), corrected[i], rebuilt)


def _norms_and_emas(
    ctx: GroupStep, norms: list[Tensor] | None = None
) -> tuple[list[Tensor], list[Tensor]]:
    """The ‖g‖ and e each tensor's s_t is formed with: its own, or, under ``norm_scope``
    "global", the group's norm and the group's e. ``norms``: the tensors' norms if known."""
    count = len(ctx.grads)
    if ctx.group["norm_scope"] == "global":
        # The norm of each entry whole (a flat block's too): their norm is the group's.
        whole = norms if norms is not None else [norm(g) for g in ctx.grads]
        return [_group_norm(whole)] * count, [ctx.group_state["global_norm_ema"]] * count
    if norms is None:
        norms = [ctx.over(i).norm(g) for i, g in enumerate(ctx.grads)]
    return norms, [state["norm_ema"] for state in ctx.states]


def _rebuilt(g: Tensor, g_norm: Tensor, ema: Tensor) -> Tensor:
    """``s = (g/‖g‖)·e`` in g's dtype: the value of ``g·(e/‖g‖)`` where e/‖g‖ overflows."""
    return (g / g_norm).mul_(ema).to(g.dtype)
