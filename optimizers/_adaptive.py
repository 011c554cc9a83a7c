"""The bases of the Adam-type optimizers: explicit signatures over the declared options.

The signatures exist so that users (and their editors) see the arguments;
domains, defaults and validation belong to the units that read each option
(:mod:`optimizers._hyperparameters`), and a test checks that every signature's
defaults are the declared ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from torch import Tensor

from optimizers._base import RecipeOptimizer
from optimizers.units import FirstMoment, GradientNormCorrection, Unit

Params = Iterable[Tensor] | Iterable[dict[str, Any]]


class AdaptiveOptimizer(RecipeOptimizer):
    """Adam-type optimizer: ``lr, betas, eps, weight_decay`` and where ε goes.

    ``eps_mode=None`` takes the class's default (``default_options``; see
    ``docs/ALGORITHMS.md``: the papers place ε differently).
    """

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
    ) -> None:
        self._from_signature(locals())


def with_norm_correction(recipe: Sequence[Unit]) -> tuple[Unit, ...]:
    """The base recipe with AdaNorm's correction inserted just before the first moment.

    This is the whole of AdaNorm (paper 000 §2): "the proposed gradient norm
    correction ... can be integrated with any existing SGD optimization technique".
    """
    position = next(i for i, unit in enumerate(recipe) if isinstance(unit, FirstMoment))
    return (*recipe[:position], GradientNormCorrection(), *recipe[position:])


class NormCorrectedOptimizer(RecipeOptimizer):
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
    ) -> None:
        self._from_signature(locals())
