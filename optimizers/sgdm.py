"""SGD with momentum, the non-adaptive baseline of papers 002 and 004."""

from __future__ import annotations

from typing import Any, ClassVar

from optimizers._base import RecipeOptimizer
from optimizers.units import ApplyUpdate, HeavyBallMomentum, WeightDecay


class SGDM(RecipeOptimizer):
    """SGD with heavy-ball momentum in torch's convention.

    Defaults ``lr=0.1, momentum=0.9`` are the SGD settings of paper 004 §IV-A
    (and the scale AdaRem borrows, paper 002 §4.1.1). ``weight_decay`` is L2
    into the gradient, as in torch's SGD.
    """

    recipe = (WeightDecay(), HeavyBallMomentum(), ApplyUpdate())

    default_options: ClassVar[dict[str, Any]] = {"lr": 0.1}
    pinned_options: ClassVar[dict[str, Any]] = {"decoupled_weight_decay": False}

    positional_options: ClassVar[tuple[str, ...]] = ("lr", "momentum", "dampening", "weight_decay")
