"""Differential check: every torch optimizer against its independent float64 reference.

Both implementations take the same gradient sequence on the same parameter
set; the largest relative difference of the parameters over the trajectory is
reported. ``python -m optimizers.agreement`` prints the table for the whole
registry and exits non-zero if any optimizer diverges from its reference.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from optimizers.arguments import int_at_least
from optimizers.registry import REGISTRY

DEFAULT_SHAPES: tuple[tuple[int, ...], ...] = ((), (7,), (5, 3), (4, 3, 3, 3), (1,), (1, 1))
"""A scalar, a bias, a matrix, a conv kernel and two one-element layers."""

TOLERANCE = 1e-10


@dataclass(frozen=True)
class Agreement:
    """The outcome of one differential run."""

    name: str
    steps: int
    shapes: tuple[tuple[int, ...], ...]
    max_relative_difference: float

    @property
    def agrees(self) -> bool:
        return self.max_relative_difference <= TOLERANCE


def gradient_battery(
    shapes: Sequence[tuple[int, ...]], steps: int, seed: int
) -> list[list[np.ndarray]]:
    """A gradient sequence that exercises every branch the papers have.

    Gaussian gradients whose scale changes over time: steady, a sudden drop by
    100× (AdaNorm's correction fires), a burst, sign flips, one all-zero step,
    and one tensor that is zero for a while (a layer with no signal).
    """
    rng = np.random.default_rng(seed)
    sequence = []
    for t in range(steps):
        phase = t % 25
        scale = 1.0
        if 8 <= phase < 14:
            scale = 1e-2
        elif phase == 17:
            scale = 30.0
        grads = [scale * rng.standard_normal(shape) for shape in shapes]
        if phase == 20:
            grads = [np.zeros(shape) for shape in shapes]
        if 3 <= phase < 6:
            grads[0] = np.zeros(shapes[0])
        if phase in (15, 16):
            grads = [-g for g in grads]
        sequence.append(grads)
    return sequence


def initial_parameters(shapes: Sequence[tuple[int, ...]], seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed + 10_000)
    return [rng.standard_normal(shape) for shape in shapes]


def run_torch(
    name: str,
    params: Sequence[np.ndarray],
    gradients: Sequence[Sequence[np.ndarray]],
    dtype: torch.dtype = torch.float64,
    **hyperparameters: Any,
) -> list[list[np.ndarray]]:
    """The torch optimizer's parameters after each step (float64 copies)."""
    tensors = [torch.tensor(p, dtype=dtype) for p in params]
    optimizer = REGISTRY[name].torch_class(tensors, **hyperparameters)
    trajectory = []
    for grads in gradients:
        for tensor, grad in zip(tensors, grads, strict=True):
            tensor.grad = None if grad is None else torch.tensor(grad, dtype=dtype)
        optimizer.step()
        trajectory.append([t.detach().to(torch.float64).numpy().copy() for t in tensors])
    return trajectory


def run_reference(
    name: str,
    params: Sequence[np.ndarray],
    gradients: Sequence[Sequence[np.ndarray]],
    **hyperparameters: Any,
) -> list[list[np.ndarray]]:
    """The NumPy reference's parameters after each step."""
    optimizer = REGISTRY[name].reference(
        [np.array(p, dtype=np.float64) for p in params], **hyperparameters
    )
    trajectory = []
    for grads in gradients:
        optimizer.step(grads)
        trajectory.append([p.copy() for p in optimizer.params])
    return trajectory


def max_relative_difference(
    left: Sequence[Sequence[np.ndarray]], right: Sequence[Sequence[np.ndarray]]
) -> float:
    """``max |a-b| / max(|b|, 1)`` over every step, tensor and entry."""
    worst = 0.0
    for step_a, step_b in zip(left, right, strict=True):
        for a, b in zip(step_a, step_b, strict=True):
            if a.size == 0:
                continue
            if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
                return float("inf")
            scale = np.maximum(np.abs(b), 1.0)
            worst = max(worst, float(np.max(np.abs(a - b) / scale)))
    return worst


def check(
    name: str,
    steps: int = 60,
    seed: int = 0,
    shapes: Sequence[tuple[int, ...]] = DEFAULT_SHAPES,
    **hyperparameters: Any,
) -> Agreement:
    """Run torch (float64) and the reference side by side and compare trajectories."""
    params = initial_parameters(shapes, seed)
    gradients = gradient_battery(shapes, steps, seed)
    ours = run_torch(name, params, gradients, **hyperparameters)
    theirs = run_reference(name, params, gradients, **hyperparameters)
    return Agreement(name, steps, tuple(shapes), max_relative_difference(ours, theirs))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--steps", type=int_at_least(1), default=200, help="steps per run (default 200)"
    )
    parser.add_argument(
        "--seeds", type=int_at_least(1), default=3, help="independent runs per optimizer"
    )
    parser.add_argument("--only", default="", help="comma-separated optimizer names")
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or list(REGISTRY)
    unknown = sorted(set(names) - set(REGISTRY))
    if unknown:
        parser.error(f"unknown optimizer(s): {', '.join(unknown)}; known: {', '.join(REGISTRY)}")

    print(
        f"torch float64 vs NumPy float64 reference, {args.steps} steps x {args.seeds} seeds, "
        f"shapes {list(DEFAULT_SHAPES)}, tolerance {TOLERANCE:g} relative"
    )
    print(f"{'optimizer':<15}{'source':<26}{'max rel. diff':>15}  verdict")
    failures = 0
    started = time.perf_counter()
    for name in names:
        worst = max(
            check(name, steps=args.steps, seed=seed).max_relative_difference
            for seed in range(args.seeds)
        )
        verdict = "agrees" if worst <= TOLERANCE else "DIVERGES"
        failures += verdict != "agrees"
        print(f"{name:<15}{REGISTRY[name].algorithm:<26}{worst:>15.2e}  {verdict}", flush=True)
    print(
        f"{len(names) - failures}/{len(names)} optimizers agree with their reference "
        f"({time.perf_counter() - started:.1f} s)"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
