"""The gradient sequences the conformance checks feed both sides.

The battery is the harness's (:func:`optimizers.harness.battery`): steady
Gaussian gradients, a 100× drop (AdaNorm's correction fires), a burst, sign
flips, an all-zero step and a tensor that is zero for a while, on a scalar,
a bias, a matrix, a conv kernel and two one-element layers. Its ``scale``
multiplies it: ``tiny`` gradients (1e-7) make ε's placement visible,
``large`` ones (1e4) test that nothing depends on the gradient's unit.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from optimizers.harness import DEFAULT_SHAPES, ParamGroup, Scenario, battery, initial_parameters

__all__ = ["SCALES", "battery", "missing_gradients", "two_groups", "zero_after_history"]

SCALES: Mapping[str, float] = {"unit": 1.0, "tiny": 1e-7, "large": 1e4}


def zero_after_history(seed: int = 0) -> Scenario:
    """Six ordinary steps, three all-zero steps, three ordinary steps."""
    rng = np.random.default_rng(seed + 20_000)
    params = initial_parameters(DEFAULT_SHAPES, seed)
    steps = []
    for t in range(12):
        if 6 <= t < 9:
            steps.append(tuple(np.zeros(s) for s in DEFAULT_SHAPES))
        else:
            steps.append(tuple(rng.standard_normal(s) for s in DEFAULT_SHAPES))
    return Scenario(params=tuple(params), gradients=tuple(steps))


def missing_gradients(seed: int = 0) -> Scenario:
    """Tensors without a gradient: the 1-D tensor 1 and the ≥ 2-D tensors 2 and 3 for
    the first three steps (state or initialisation done lazily at the first step()
    shows), and every tensor once in steps 4-9 (state and step count must stand still).
    """
    rng = np.random.default_rng(seed + 30_000)
    params = initial_parameters(DEFAULT_SHAPES, seed)
    steps = []
    for t in range(12):
        grads: list[np.ndarray | None] = [rng.standard_normal(s) for s in DEFAULT_SHAPES]
        if t < 3:
            grads[1] = grads[2] = grads[3] = None
        if 4 <= t < 4 + len(grads):
            grads[t - 4] = None
        steps.append(tuple(grads))
    return Scenario(params=tuple(params), gradients=tuple(steps))


def two_groups(steps: int, lr: float, weight_decay: bool, seed: int = 0) -> Scenario:
    """Two param groups with their own hyperparameters: the first (a scalar, a bias and
    a matrix) with weight decay 0.1, the second (a conv kernel and two one-element
    layers) with half the learning rate and no decay, added with ``add_param_group``
    before step 5. A hyperparameter read from the optimizer's defaults instead of the
    group, or one step count per optimizer, shows."""
    first = {"weight_decay": 0.1} if weight_decay else {}
    second = {"lr": lr / 2, **({"weight_decay": 0.0} if weight_decay else {})}
    return battery(
        steps,
        seed,
        groups=(ParamGroup((0, 1, 2), first), ParamGroup((3, 4, 5), second, added_at=4)),
    )
