"""Differential check: every torch optimizer against its independent float64 reference.

Both implementations take the same gradient sequence (the battery) on the same
parameter set, through :mod:`optimizers.harness`; the largest relative difference
of the parameters over the trajectory is reported. ``python -m optimizers.agreement``
prints the table for the whole registry and exits non-zero if any optimizer diverges
from its reference.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from optimizers.arguments import int_at_least
from optimizers.harness import (
    DEFAULT_SHAPES,
    FLOAT64_TOLERANCE,
    battery,
    max_relative_difference,
    reference_trajectory,
    torch_trajectory,
)
from optimizers.registry import REGISTRY


@dataclass(frozen=True)
class Agreement:
    """The outcome of one differential run."""

    name: str
    steps: int
    shapes: tuple[tuple[int, ...], ...]
    max_relative_difference: float

    @property
    def agrees(self) -> bool:
        return self.max_relative_difference <= FLOAT64_TOLERANCE


def check(
    name: str,
    steps: int = 60,
    seed: int = 0,
    shapes: Sequence[tuple[int, ...]] = DEFAULT_SHAPES,
    **hyperparameters: Any,
) -> Agreement:
    """Run torch (float64) and the reference side by side and compare trajectories."""
    scenario = battery(steps, seed, shapes=shapes)
    ours = torch_trajectory(name, scenario, **hyperparameters)
    theirs = reference_trajectory(name, scenario, **hyperparameters)
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
        f"shapes {list(DEFAULT_SHAPES)}, tolerance {FLOAT64_TOLERANCE:g} relative"
    )
    print(f"{'optimizer':<15}{'source':<26}{'max rel. diff':>15}  verdict")
    failures = 0
    started = time.perf_counter()
    for name in names:
        worst = max(
            check(name, steps=args.steps, seed=seed).max_relative_difference
            for seed in range(args.seeds)
        )
        verdict = "agrees" if worst <= FLOAT64_TOLERANCE else "DIVERGES"
        failures += verdict != "agrees"
        print(f"{name:<15}{REGISTRY[name].algorithm:<26}{worst:>15.2e}  {verdict}", flush=True)
    print(
        f"{len(names) - failures}/{len(names)} optimizers agree with their reference "
        f"({time.perf_counter() - started:.1f} s)"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
