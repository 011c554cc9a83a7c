"""SGD with momentum, the non-adaptive baseline of papers 002 and 004."""

from __future__ import annotations

from optimizers._adaptive import Params
from optimizers._base import RecipeOptimizer
from optimizers._validation import check_interval
from optimizers.units import ApplyUpdate, HeavyBallMomentum, WeightDecay


class SGDM(RecipeOptimizer):
    """SGD with heavy-ball momentum in torch's convention.

    Defaults ``lr=0.1, momentum=0.9`` are the SGD settings of paper 004 §IV-A
    (and the scale AdaRem borrows, paper 002 §4.1.1). ``weight_decay`` is L2
    into the gradient, as in torch's SGD.
    """

    recipe = (WeightDecay(), HeavyBallMomentum(), ApplyUpdate())

    def __init__(
        self,
        params: Params,
        lr: float = 0.1,
        momentum: float = 0.9,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        *,
        nesterov: bool = False,
        foreach: bool | None = None,
        on_nonfinite: str = "raise",
    ) -> None:
        check_interval("momentum", momentum, 0.0, 1.0, high_open=True)
        check_interval("dampening", dampening, 0.0, 1.0)
        check_interval("weight_decay", weight_decay, 0.0)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("nesterov requires momentum > 0 and dampening = 0")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "decoupled_weight_decay": False,
            "foreach": foreach,
        }
        super().__init__(params, defaults, on_nonfinite=on_nonfinite)
