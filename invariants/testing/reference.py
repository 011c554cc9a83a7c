"""The float64 reference trajectory of a method, for comparison in a maintainer's tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from optimizers import harness
from optimizers.registry import REGISTRY


def reference_trajectory(
    method: str,
    params: Sequence[np.ndarray],
    gradients: Sequence[Sequence[np.ndarray | None]],
    **hyper: Any,
) -> list[list[np.ndarray]]:
    """The parameters after each step of the paper's algorithm ``method`` (a
    ``optimizers.registry.REGISTRY`` name) in float64, starting from ``params``.

    ``gradients[t][i]`` is tensor i's gradient at step t+1 (``None``: no gradient
    then, as ``p.grad is None`` in torch); ``hyper`` are the method's options by
    their torch names (``lr``, ``betas``, ``eps``, ``gamma``, …; unnamed ones take
    their defaults). The inputs are not modified. This is the run the conformance
    checker compares every target with (one param group, no schedule).
    """
    if method not in REGISTRY:
        raise ValueError(f"unknown method {method!r}; known: {', '.join(REGISTRY)}")
    unknown = sorted(set(hyper) - set(REGISTRY[method].defaults))
    if unknown:
        raise ValueError(
            f"{method} has no option(s) {', '.join(unknown)}; "
            f"it has {', '.join(REGISTRY[method].defaults)}"
        )
    arrays = tuple(np.array(p, dtype=np.float64) for p in params)
    steps = []
    for t, step in enumerate(gradients):
        if len(step) != len(arrays):
            raise ValueError(f"step {t + 1} has {len(step)} gradients for {len(arrays)} tensors")
        for i, (g, p) in enumerate(zip(step, arrays, strict=True)):
            if g is not None and np.shape(g) != p.shape:
                raise ValueError(
                    f"step {t + 1}, tensor {i}: gradient shape {np.shape(g)} != {p.shape}"
                )
        steps.append(tuple(None if g is None else np.asarray(g, dtype=np.float64) for g in step))
    return harness.reference_trajectory(method, harness.Scenario(arrays, tuple(steps)), **hyper)
