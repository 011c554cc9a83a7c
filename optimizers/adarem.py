"""AdaRem and its sphere-constrained variant AdaRem-S (paper 002, Algs. 1-2)."""

from __future__ import annotations

from typing import Any

import torch

from optimizers._adaptive import Params
from optimizers._base import RecipeOptimizer, ndim_at_least_two
from optimizers._validation import check_choice, check_interval, check_optional_bool
from optimizers.units import (
    AdaRemModulation,
    ApplyUpdate,
    MomentumAfterUpdate,
    SphereRetraction,
    WeightDecay,
)


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

    def __init__(
        self,
        params: Params,
        lr: float = 0.1,
        beta: float = 0.9,
        lam: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        decoupled_weight_decay: bool = True,
        lam_tick: str = "step",
        max_scope: str = "tensor",
        foreach: bool | None = None,
        on_nonfinite: str = "raise",
        extra_defaults: dict[str, Any] | None = None,
    ) -> None:
        check_interval("beta", beta, 0.0, 1.0, high_open=True)
        check_interval("lam", lam, 0.0, 1.0, low_open=True, high_open=True)
        check_interval("eps", eps, 0.0)
        check_interval("weight_decay", weight_decay, 0.0)
        check_choice("lam_tick", lam_tick, ("step", "epoch"))
        check_choice("max_scope", max_scope, ("tensor", "global"))
        defaults = {
            "lr": lr,
            "beta": beta,
            "lam": lam,
            "eps": eps,
            "weight_decay": weight_decay,
            "decoupled_weight_decay": decoupled_weight_decay,
            "lam_tick": lam_tick,
            "lam_epoch": 0,
            "max_scope": max_scope,
            "foreach": foreach,
        }
        defaults.update(extra_defaults or {})
        super().__init__(params, defaults, on_nonfinite=on_nonfinite)

    def tick_epoch(self) -> None:
        """Advance λ's exponent by one in groups with ``lam_tick="epoch"`` (call once per epoch)."""
        for group in self.param_groups:
            if group["lam_tick"] == "epoch":
                group["lam_epoch"] += 1


_on_sphere = ndim_at_least_two("sphere")


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

    def __init__(
        self,
        params: Params,
        lr: float = 0.1,
        beta: float = 0.9,
        lam: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        radius: float | None = None,
        sphere: bool | None = None,
        decoupled_weight_decay: bool = True,
        lam_tick: str = "step",
        max_scope: str = "tensor",
        foreach: bool | None = None,
        on_nonfinite: str = "raise",
    ) -> None:
        if radius is not None:
            check_interval("radius", radius, 0.0, low_open=True)
        check_optional_bool("sphere", sphere)
        super().__init__(
            params,
            lr,
            beta,
            lam,
            eps,
            weight_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            lam_tick=lam_tick,
            max_scope=max_scope,
            foreach=foreach,
            on_nonfinite=on_nonfinite,
            extra_defaults={"radius": radius, "sphere": sphere},
        )

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group and put its sphere tensors on their spheres (Alg. 2, ``θ̂_0``)."""
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        check_optional_bool("sphere", group["sphere"])
        with torch.no_grad():
            for p in group["params"]:
                chosen = group["sphere"]
                if not (p.ndim >= 2 if chosen is None else chosen):
                    continue
                norm = torch.linalg.vector_norm(p)
                if group["radius"] is None:
                    radius = norm.clone()
                else:
                    radius = torch.tensor(group["radius"], dtype=p.dtype, device=p.device)
                    if norm > 0:
                        p.mul_(radius / norm)
                self.state[p]["radius"] = radius
