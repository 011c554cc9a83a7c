"""The bases of the Adam-type optimizers: which options come by position, in torch's order.

Each class's constructor signature (``help(AdamNorm)``, ``inspect.signature``)
is built from the options its recipe's units declare
(:func:`optimizers._base.constructor_signature`): names, defaults and
validation live with the units (:mod:`optimizers._hyperparameters`), and no
class repeats them in a hand-written ``__init__``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from torch import Tensor

from optimizers._base import RecipeOptimizer
from optimizers.units import FirstMoment, GradientNormCorrection, Unit

Params = Iterable[Tensor] | Iterable[dict[str, Any]]
ADAM_POSITIONAL = ("lr", "betas", "eps", "weight_decay")
"""torch's ``Adam(params, lr, betas, eps, weight_decay)`` order; the rest is keyword-only."""


class AdaptiveOptimizer(RecipeOptimizer):
    """Adam-type optimizer: ``lr, betas, eps, weight_decay`` and where ε goes.

    ``eps_mode=None`` takes the class's default (``default_options``; see
    ``docs/ALGORITHMS.md``: the papers place ε differently).
    """

    positional_options: ClassVar[tuple[str, ...]] = ADAM_POSITIONAL


def with_norm_correction(recipe: Sequence[Unit]) -> tuple[Unit, ...]:
    """The base recipe with AdaNorm's correction inserted just before the first moment.

    This is the whole of AdaNorm (paper 000 §2): "the proposed gradient norm
    correction ... can be integrated with any existing SGD optimization technique".
    """
    position = next(i for i, unit in enumerate(recipe) if isinstance(unit, FirstMoment))
    return (*recipe[:position], GradientNormCorrection(), *recipe[position:])


class NormCorrectedOptimizer(RecipeOptimizer):
    """An Adam-type optimizer whose recipe carries AdaNorm's correction (γ = 0.95 by default)."""

    positional_options: ClassVar[tuple[str, ...]] = (*ADAM_POSITIONAL, "gamma")
