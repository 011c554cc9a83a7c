"""ND-Adam, normalized direction-preserving Adam (paper 003, Alg. 1)."""

from __future__ import annotations

from typing import Any

import torch

from optimizers._adaptive import AdaptiveOptimizer, Params
from optimizers._base import ndim_at_least_two
from optimizers._validation import check_interval, check_optional_bool
from optimizers.units import (
    AdaptiveStep,
    ApplyUpdate,
    FirstMoment,
    GradientSquare,
    ScalarSetRate,
    SecondMoment,
    SphereRetraction,
    TangentProjection,
    WeightDecay,
)
from optimizers.units.ndadam import as_rows
from optimizers.units.sphere import retract

_is_vector_set = ndim_at_least_two("vectorwise")


def _is_scalar_set(ctx, i: int) -> bool:
    return not _is_vector_set(ctx, i)


def _second_moment_reduction(ctx, i: int) -> str:
    return "row_sum" if _is_vector_set(ctx, i) else "elementwise"


class NDAdam(AdaptiveOptimizer):
    """ND-Adam (Alg. 1): unit-norm weight vectors moved along their sphere.

    A tensor with ndim ≥ 2 (group option ``vectorwise``: None = by shape) is a
    set of weight vectors, the rows of ``θ.reshape(out, -1)`` (one output unit's
    incoming weights). For each: tangent gradient ``g - (g·w)w``, vector first
    moment, one scalar second moment ``‖g‖²`` per vector, Adam step with rate
    ``lr`` (α^v), then ``w ← w̄/‖w̄‖``. Rows are normalised at construction.
    Other tensors (biases, normalisation parameters) follow Adam with rate
    ``scalar_lr`` (α^s; None = ``lr``) and take the (L2) weight decay; vectors
    take none, since their norm is fixed.
    """

    recipe = (
        ScalarSetRate(_is_vector_set),
        WeightDecay(applies=_is_scalar_set),
        TangentProjection(_is_vector_set),
        FirstMoment(),
        GradientSquare(),
        SecondMoment(_second_moment_reduction),
        AdaptiveStep(),
        ApplyUpdate(),
        SphereRetraction(_is_vector_set, rows=True),
    )

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        scalar_lr: float | None = None,
        vectorwise: bool | None = None,
        foreach: bool | None = None,
        on_nonfinite: str = "raise",
    ) -> None:
        if scalar_lr is not None:
            check_interval("scalar_lr", scalar_lr, 0.0)
        check_optional_bool("vectorwise", vectorwise)
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            foreach=foreach,
            on_nonfinite=on_nonfinite,
            extra_defaults={"scalar_lr": scalar_lr, "vectorwise": vectorwise},
        )

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group and normalise its weight vectors (Alg. 1, initialisation)."""
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        check_optional_bool("vectorwise", group["vectorwise"])
        with torch.no_grad():
            for p in group["params"]:
                chosen = group["vectorwise"]
                if p.ndim >= 2 if chosen is None else chosen:
                    if p.ndim == 0:
                        raise ValueError("vectorwise=True needs tensors with a dimension")
                    if not _on_unit_sphere(p):
                        retract(p, 1.0, rows=True)


def _on_unit_sphere(p: torch.Tensor) -> bool:
    """Whether every row already has unit norm to within rounding.

    Re-normalising a unit vector can move it by an ulp, so an optimizer rebuilt
    from a checkpoint would otherwise perturb the weights it is asked to resume.
    """
    norms = torch.linalg.vector_norm(as_rows(p), dim=1)
    return bool(torch.all((norms - 1.0).abs() <= 4 * torch.finfo(p.dtype).eps))
