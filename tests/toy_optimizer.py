"""A toy optimizer for the database test: a recipe, a reference and one database entry.

Loaded as a pytest plugin (``-p tests.toy_optimizer``), it registers the toy
before the test modules are collected, so every suite that iterates over
:func:`optimizers.registry.specs` parametrises over it too; nothing else
names it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from optimizers._base import RecipeOptimizer
from optimizers._hyperparameters import Hyperparameter
from optimizers._validation import Interval
from optimizers.registry import OptimizerSpec, heavy_ball_direction, register
from optimizers.units import ApplyUpdate, WeightDecay
from optimizers.units.context import GroupStep, Unit


class ScaledGradient(Unit):
    """``direction = c·g``: gradient descent with a declared step multiplier c."""

    hyperparameters = (
        Hyperparameter("scale", Interval(0.0, 10.0, low_open=True), 1.0, "c ∈ (0, 10]", (0.5,)),
    )
    traced = ("direction", "directions")

    def __call__(self, ctx: GroupStep) -> None:
        ctx.directions = [ctx.group["scale"] * g for g in ctx.grads]


class Toy(RecipeOptimizer):
    """θ ← θ - lr·c·g, with the shared weight decay unit."""

    recipe = (WeightDecay(), ScaledGradient(), ApplyUpdate())


class ToyReference:
    """The same algorithm written out in NumPy float64."""

    def __init__(
        self,
        params: list[Any],
        lr: float = 1e-3,
        scale: float = 1.0,
        weight_decay: float = 0.0,
        decoupled_weight_decay: bool = False,
    ) -> None:
        self.params = [np.array(p, dtype=np.float64) for p in params]
        self.lr, self.scale = lr, scale
        self.weight_decay, self.decoupled = weight_decay, decoupled_weight_decay
        self.state: list[dict[str, Any]] = [{"step": 0} for _ in self.params]
        self.last: dict[str, list[Any]] = {}

    def step(self, grads: list[Any]) -> None:
        self.last = {"g": [None] * len(self.params), "m": [None] * len(self.params)}
        for i, (p, g) in enumerate(zip(self.params, grads, strict=True)):
            if g is None:
                continue
            g = np.asarray(g, dtype=np.float64)
            if self.decoupled:
                p *= 1.0 - self.lr * self.weight_decay
            else:
                g = g + self.weight_decay * p
            self.state[i]["step"] += 1
            self.last["g"][i] = self.scale * g
            p -= self.lr * self.scale * g


TOY = OptimizerSpec(
    "Toy",
    Toy,
    "none (a test fixture)",
    "gradient descent with a multiplier",
    reference_class=ToyReference,
    # The direction is the (scaled) gradient: heavy ball without a buffer.
    reference_direction=heavy_ball_direction,
)


def pytest_configure(config: Any) -> None:
    register(TOY)
