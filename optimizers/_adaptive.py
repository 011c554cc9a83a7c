"""The base of every Adam-type optimizer: validated hyperparameters plus a recipe."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from torch import Tensor

from optimizers._base import RecipeOptimizer
from optimizers._hyperparameters import adaptive_defaults, norm_correction_defaults
from optimizers.units import FirstMoment, GradientNormCorrection, Unit

Params = Iterable[Tensor] | Iterable[dict[str, Any]]


class AdaptiveOptimizer(RecipeOptimizer):
    """Adam-type optimizer: ``lr, betas, eps, weight_decay`` and where ε goes.

    ``eps_mode=None`` takes the class's ``default_eps_mode`` (see
    ``docs/ALGORITHMS.md``: the papers place ε differently).
    """

    default_eps_mode = "outside"

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        decoupled_weight_decay: bool = False,
        eps_mode: str | None = None,
        foreach: bool | None = None,
        on_nonfinite: str = "raise",
        extra_defaults: dict[str, Any] | None = None,
    ) -> None:
        defaults = adaptive_defaults(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            eps_mode=self.default_eps_mode if eps_mode is None else eps_mode,
            foreach=foreach,
        )
        defaults.update(extra_defaults or {})
        super().__init__(params, defaults, on_nonfinite=on_nonfinite)


def with_norm_correction(recipe: Sequence[Unit]) -> tuple[Unit, ...]:
    """The base recipe with AdaNorm's correction inserted just before the first moment.

    This is the whole of AdaNorm (paper 000 §2): "the proposed gradient norm
    correction ... can be integrated with any existing SGD optimization technique".
    """
    position = next(i for i, unit in enumerate(recipe) if isinstance(unit, FirstMoment))
    return (*recipe[:position], GradientNormCorrection(), *recipe[position:])


class NormCorrectedOptimizer(AdaptiveOptimizer):
    """An Adam-type optimizer whose recipe carries AdaNorm's correction (γ = 0.95 by default)."""

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        gamma: float = 0.95,
        *,
        norm_scope: str = "tensor",
        corrected_moments: str = "first",
        decoupled_weight_decay: bool = False,
        eps_mode: str | None = None,
        foreach: bool | None = None,
        on_nonfinite: str = "raise",
        extra_defaults: dict[str, Any] | None = None,
    ) -> None:
        correction = norm_correction_defaults(
            gamma=gamma, norm_scope=norm_scope, corrected_moments=corrected_moments
        )
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            eps_mode=eps_mode,
            foreach=foreach,
            on_nonfinite=on_nonfinite,
            extra_defaults=correction | (extra_defaults or {}),
        )
