"""AdaRem and its sphere-constrained variant AdaRem-S (paper 002, Algs. 1-2)."""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from optimizers._base import NdimAtLeastTwo, RecipeOptimizer, chosen_by_shape
from optimizers.units import (
    AdaRemModulation,
    ApplyUpdate,
    MomentumAfterUpdate,
    SphereRetraction,
    WeightDecay,
)
from optimizers.units.sphere import SPHERE


class AdaRem(RecipeOptimizer):
    """AdaRem (Alg. 1, eqs. 1-2): SGD whose per-coordinate rate is
    ``η̂ (1 + λ^k b)`` with ``b = g·m/(|g| max|m| + ε)``.

    The rate rises where the gradient agrees with the momentum and falls where
    it opposes it; the momentum m is updated after the step. Args: ``lr`` η̂
    (SGD-scale: the paper borrows SGDM's rate), ``beta`` β (0.9), ``lam`` λ
    (0.999), ``eps`` ε, ``weight_decay`` γ (decoupled and scaled by η̂ as in
    Alg. 1; ``decoupled_weight_decay=False`` puts it into g instead),
    ``lam_tick`` ("step": k = steps taken; "epoch": k = calls of
    :meth:`tick_epoch`, the paper's "multiplying λ once per epoch"),
    ``max_scope`` ("tensor" or "global" max of |m|).
    """

    recipe = (WeightDecay(), AdaRemModulation(), ApplyUpdate(), MomentumAfterUpdate())

    default_options: ClassVar[dict[str, Any]] = {"lr": 0.1, "decoupled_weight_decay": True}

    positional_options: ClassVar[tuple[str, ...]] = ("lr", "beta", "lam", "eps", "weight_decay")

    def tick_epoch(self) -> None:
        """Advance λ's exponent by one in groups with ``lam_tick="epoch"`` (call once per epoch)."""
        for group in self.param_groups:
            if group["lam_tick"] == "epoch":
                group["lam_epoch"] += 1


_on_sphere = NdimAtLeastTwo(SPHERE)


class AdaRemS(AdaRem):
    """AdaRem-S (Alg. 2): AdaRem with every weight tensor kept on a sphere.

    At construction each sphere tensor is scaled to norm ``radius`` (R); after
    each step it is retracted, ``θ ← R θ/‖θ‖``. ``radius=None`` uses each
    tensor's norm at construction. Which tensors: group option ``sphere``
    (None: tensors with ndim ≥ 2, the weights that precede normalisation layers;
    biases and normalisation scales follow plain AdaRem).
    """

    recipe = (
        *AdaRem.recipe,
        SphereRetraction(_on_sphere, rows=False),
    )

    def _start_group(self, group: dict[str, Any]) -> None:
        """Put a new group's sphere tensors on their spheres (Alg. 2, ``θ̂_0``)."""
        for p in group["params"]:
            if not chosen_by_shape(p, group["sphere"]):
                continue
            norm = torch.linalg.vector_norm(p)
            if group["radius"] is None:
                radius = norm.clone()
            else:
                radius = torch.tensor(group["radius"], dtype=p.dtype, device=p.device)
                if norm > 0:
                    p.mul_(radius / norm)
            self.state[p]["radius"] = radius
