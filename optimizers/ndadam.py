"""ND-Adam, normalized direction-preserving Adam (paper 003, Alg. 1)."""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from optimizers._adaptive import AdaptiveOptimizer
from optimizers._base import NdimAtLeastTwo, chosen_by_shape
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
from optimizers.units.context import as_rows
from optimizers.units.ndadam import VECTORWISE
from optimizers.units.sphere import retract

_is_vector_set = NdimAtLeastTwo(VECTORWISE)


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

    pinned_options: ClassVar[dict[str, Any]] = {
        "eps_mode": "outside",
        "decoupled_weight_decay": False,
    }

    def _start_group(self, group: dict[str, Any]) -> None:
        """Normalise a new group's weight vectors (Alg. 1, initialisation)."""
        vectors = [p for p in group["params"] if chosen_by_shape(p, group["vectorwise"])]
        if any(p.ndim == 0 for p in vectors):
            raise ValueError("vectorwise=True needs tensors with a dimension")
        for p in vectors:
            if not _on_unit_sphere(p):
                retract(p, 1.0, rows=True)


def _on_unit_sphere(p: torch.Tensor) -> bool:
    """Whether every row already has unit norm to within rounding.

    Re-normalising a unit vector can move it by an ulp, so an optimizer rebuilt
    from a checkpoint would otherwise perturb the weights it is asked to resume.
    """
    norms = torch.linalg.vector_norm(as_rows(p), dim=1)
    return bool(torch.all((norms - 1.0).abs() <= 4 * torch.finfo(p.dtype).eps))
