"""The gradient sequences the conformance checks feed both sides.

The battery is the differential test's (``optimizers.agreement``): steady
Gaussian gradients, a 100× drop (AdaNorm's correction fires), a burst, sign
flips, an all-zero step and a tensor that is zero for a while, on a scalar,
a bias, a matrix, a conv kernel and two one-element layers. ``scale``
multiplies it: ``tiny`` gradients (1e-7) make ε's placement visible,
``large`` ones (1e4) test that nothing depends on the gradient's unit.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from invariants.conformance.trajectory import Scenario
from optimizers.agreement import DEFAULT_SHAPES, gradient_battery, initial_parameters

SCALES: Mapping[str, float] = {"unit": 1.0, "tiny": 1e-7, "large": 1e4}


def battery(steps: int = 60, seed: int = 0, scale: float = 1.0, **options) -> Scenario:
    """The differential battery at ``scale`` as a scenario (``options`` go to Scenario)."""
    params = initial_parameters(DEFAULT_SHAPES, seed)
    grads = gradient_battery(DEFAULT_SHAPES, steps, seed)
    return Scenario(
        params=tuple(params),
        gradients=tuple(tuple(scale * g for g in step) for step in grads),
        **options,
    )


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
    """Tensor 1 has no gradient for its first three steps, tensor 2 none at steps 6-7."""
    rng = np.random.default_rng(seed + 30_000)
    params = initial_parameters(DEFAULT_SHAPES, seed)
    steps = []
    for t in range(12):
        grads: list[np.ndarray | None] = [rng.standard_normal(s) for s in DEFAULT_SHAPES]
        if t < 3:
            grads[1] = None
        if t in (5, 6):
            grads[2] = None
        steps.append(tuple(grads))
    return Scenario(params=tuple(params), gradients=tuple(steps))
