"""Retraction onto a sphere after the update (AdaRem-S Alg. 2; ND-Adam Alg. 1)."""

from __future__ import annotations

import torch
from torch import Tensor

from optimizers._hyperparameters import Hyperparameter
from optimizers._validation import Flag, Interval, Optional
from optimizers.units.context import WHOLE_TENSOR, GroupStep, Unit, WholeTensor, by_kind

SPHERE = Hyperparameter(
    "sphere",
    Optional(Flag()),
    None,
    "which tensors AdaRem-S keeps on a sphere (002 Alg. 2); None: those with ndim ≥ 2",
    examples=(True, False),
)
RADIUS = Hyperparameter(
    "radius",
    Optional(Interval(0.0, low_open=True)),
    None,
    "R > 0, the sphere's radius (002 Alg. 2); None: each tensor's norm at construction",
    examples=(2.5,),
)


def retract(
    x: Tensor, radius: Tensor | float, rows: bool, over: WholeTensor = WHOLE_TENSOR
) -> None:
    """Rescale ``x`` in place to norm ``radius`` (each row separately when ``rows``;
    each tensor of a flat block: ``over``).

    A zero vector has no direction and is left as it is.
    """
    norms = over.row_norms(x) if rows else over.norm(x, widen=False)
    positive = norms > 0
    x.mul_(torch.where(positive, radius / torch.where(positive, norms, 1.0), 1.0))


class SphereRetraction(Unit):
    """``θ ← R θ/‖θ‖`` after the step, for the tensors ``applies(ctx, i)`` selects.

    ``rows=False``: the whole tensor lies on a sphere of radius
    ``state["radius"]`` (AdaRem-S, ``θ̂_{t+1} = θ_{t+1}/‖θ_{t+1}‖ R``).
    ``rows=True``: every weight vector (row) is kept at unit norm (ND-Adam's
    ``w_{i,t} ← w̄_{i,t}/‖w̄_{i,t}‖``).
    """

    reduction_reads = 2  # ‖θ_{t+1}‖ of the updated θ, then θ rescaled: a read and a write

    def __init__(self, applies, rows: bool) -> None:
        self.applies = applies
        self.rows = rows
        # A whole tensor lies on a sphere of radius R, a group option; rows on unit spheres.
        self.hyperparameters = () if rows else (RADIUS,)

    @property
    def reduces_rows(self) -> bool:  # type: ignore[override]
        return self.rows

    def __call__(self, ctx: GroupStep) -> None:
        chosen = [i for i in range(len(ctx.params)) if self.applies(ctx, i)]
        if ctx.foreach and not self.rows and chosen:
            self._multi_tensor(ctx, chosen)
            return
        for i in chosen:
            radius = 1.0 if self.rows else ctx.states[i]["radius"]
            retract(ctx.params[i], radius, self.rows, ctx.over(i))

    @staticmethod
    def _multi_tensor(ctx: GroupStep, chosen: list[int]) -> None:
        # retract() for whole tensors, with the norms of one multi-tensor call
        # and the factors R/‖θ‖ computed on one stacked vector per kind.
        params = [ctx.params[i] for i in chosen]
        norms = torch._foreach_norm(params)
        factors: list[Tensor] = [None] * len(params)  # type: ignore[list-item]
        for indices in by_kind(norms):
            norm = torch.stack([norms[j] for j in indices])
            radius = torch.stack([ctx.states[chosen[j]]["radius"] for j in indices])
            positive = norm > 0
            factor = torch.where(positive, radius / torch.where(positive, norm, 1.0), 1.0)
            for j, f in zip(indices, factor.unbind(), strict=True):
                factors[j] = f
        torch._foreach_mul_(params, factors)
