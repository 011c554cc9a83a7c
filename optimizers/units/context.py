"""What a unit sees: one param group during one ``step()``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor


@dataclass
class GroupStep:
    """The working values of one param group during one optimizer step.

    Lists are aligned: entry ``i`` of every list belongs to ``params[i]``. Only
    parameters that have a gradient this step are present. Units read and
    replace list entries; they never modify ``param.grad``.
    """

    group: dict[str, Any]
    params: list[Tensor]
    grads: list[Tensor]
    """The gradient g_t after preprocessing (L2 decay, tangent projection)."""
    states: list[dict[str, Any]]
    steps: list[int]
    """t for each tensor: 1 on its first step."""
    foreach: bool
    first_inputs: list[Tensor] | None = None
    """What the first moment averages (AdaNorm's s_t); ``None`` means the gradient."""
    square_inputs: list[Tensor] | None = None
    """What stands for g in the second-moment statistic; ``None`` means the gradient."""
    statistics: list[Tensor] = field(default_factory=list)
    """The per-step statistic whose EMA is the second moment (g², (g-m)², ...)."""
    directions: list[Tensor] = field(default_factory=list)
    """The update per unit rate: ``θ ← θ - rate · direction``."""
    rates: list[float] = field(default_factory=list)
    """The rate per tensor (``lr`` unless a unit says otherwise, e.g. ND-Adam's scalar set)."""

    def moment_inputs(self) -> list[Tensor]:
        return self.grads if self.first_inputs is None else self.first_inputs

    def squared_inputs(self) -> list[Tensor]:
        return self.grads if self.square_inputs is None else self.square_inputs

    @property
    def first_state(self) -> dict[str, Any]:
        """State of the group's first parameter: home of group-wide quantities
        (a global norm EMA), because torch only serialises per-parameter state."""
        return self.states[0]


class Unit:
    """One idea of one paper, applied to a param group.

    ``init_state`` adds the buffers this unit owns to a parameter's state the
    first time the parameter is stepped; ``__call__`` does the unit's work.
    """

    def init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {}

    def __call__(self, ctx: GroupStep) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


def zeros_like(param: Tensor) -> Tensor:
    return torch.zeros_like(param, memory_format=torch.preserve_format)
