"""Retraction onto a sphere after the update (AdaRem-S Alg. 2; ND-Adam Alg. 1)."""

from __future__ import annotations

import torch
from torch import Tensor

from optimizers.units.context import GroupStep, Unit


def retract(x: Tensor, radius: Tensor | float, rows: bool) -> None:
    """Rescale ``x`` in place to norm ``radius`` (each row separately when ``rows``).

    A zero vector has no direction and is left as it is.
    """
    if rows:
        norms = torch.linalg.vector_norm(x.reshape(x.shape[0], -1), dim=1)
        norms = norms.reshape((x.shape[0],) + (1,) * (x.ndim - 1))
    else:
        norms = torch.linalg.vector_norm(x)
    positive = norms > 0
    x.mul_(torch.where(positive, radius / torch.where(positive, norms, 1.0), 1.0))


class SphereRetraction(Unit):
    """``θ ← R θ/‖θ‖`` after the step, for the tensors ``applies(ctx, i)`` selects.

    ``rows=False``: the whole tensor lies on a sphere of radius
    ``state["radius"]`` (AdaRem-S, ``θ̂_{t+1} = θ_{t+1}/‖θ_{t+1}‖ R``).
    ``rows=True``: every weight vector (row) is kept at unit norm (ND-Adam's
    ``w_{i,t} ← w̄_{i,t}/‖w̄_{i,t}‖``).
    """

    def __init__(self, applies, rows: bool) -> None:
        self.applies = applies
        self.rows = rows

    def __call__(self, ctx: GroupStep) -> None:
        for i, (p, state) in enumerate(zip(ctx.params, ctx.states, strict=True)):
            if self.applies(ctx, i):
                retract(p, 1.0 if self.rows else state["radius"], self.rows)
