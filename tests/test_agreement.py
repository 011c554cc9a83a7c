"""torch (float64) against the independent NumPy reference, for every optimizer and option."""

from __future__ import annotations

import numpy as np
import pytest

from optimizers.agreement import check
from optimizers.harness import (
    FLOAT64_TOLERANCE,
    Scenario,
    battery,
    gradient_battery,
    initial_parameters,
    max_relative_difference,
    reference_trajectory,
    torch_trajectory,
)
from optimizers.registry import specs


def random_shapes(seed: int) -> list[tuple[int, ...]]:
    """A parameter set mixing the layer kinds of a real network, drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    kinds = [
        (),
        (int(rng.integers(1, 9)),),
        (int(rng.integers(1, 7)), int(rng.integers(1, 7))),
        tuple(int(n) for n in rng.integers(1, 5, size=4)),
        (1,),
    ]
    order = rng.permutation(len(kinds))[: int(rng.integers(3, len(kinds) + 1))]
    return [kinds[i] for i in order]


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("name", [spec.name for spec in specs()])
def test_torch_matches_reference_on_random_layer_shapes(name: str, seed: int) -> None:
    result = check(name, steps=60, seed=seed, shapes=random_shapes(seed))
    assert result.max_relative_difference <= FLOAT64_TOLERANCE, result


OPTION_CASES = [(spec.name, options) for spec in specs() for options in spec.option_sets]


@pytest.mark.parametrize(("name", "options"), OPTION_CASES, ids=lambda x: str(x))
def test_torch_matches_reference_with_options(name: str, options: dict) -> None:
    result = check(name, steps=55, seed=7, **options)
    assert result.max_relative_difference <= FLOAT64_TOLERANCE, result


@pytest.mark.parametrize("name", [spec.name for spec in specs()])
def test_missing_gradients_are_skipped_the_same_way(name: str) -> None:
    shapes = [(3, 2), (4,), (2, 2, 1, 1)]
    params = initial_parameters(shapes, seed=5)
    gradients = gradient_battery(shapes, steps=50, seed=5)
    for t, grads in enumerate(gradients):
        if t % 3 == 1:
            grads[1] = None
        if t % 7 == 2:
            grads[0] = None
    scenario = Scenario.of(params, gradients)
    ours = torch_trajectory(name, scenario)
    theirs = reference_trajectory(name, scenario)
    assert max_relative_difference(ours, theirs) <= FLOAT64_TOLERANCE


@pytest.mark.parametrize("name", [s.name for s in specs() if "lam_tick" in s.hyperparameters])
def test_lambda_ticking_per_epoch_matches_reference(name: str) -> None:
    """λ's exponent counts epochs ticked with ``tick_epoch()`` (every 10 steps here)."""
    shapes = [(3, 3), (3,)]
    scenario = battery(40, seed=11, shapes=shapes, epoch_ticks=frozenset({10, 20, 30}))
    ours = torch_trajectory(name, scenario, lam=0.9, lam_tick="epoch")
    theirs = reference_trajectory(name, scenario, lam=0.9, lam_tick="epoch")
    assert max_relative_difference(ours, theirs) <= FLOAT64_TOLERANCE
    unticked = battery(40, seed=11, shapes=shapes)
    never = reference_trajectory(name, unticked, lam=0.9, lam_tick="epoch")
    assert max_relative_difference(ours, never) > 1e-6  # the ticks reached both sides


def test_agreement_detects_a_wrong_implementation() -> None:
    """The comparison itself can fail: Adam against AdamNorm's reference differs."""
    shapes = [(4, 3)]
    params = initial_parameters(shapes, seed=0)
    gradients = gradient_battery(shapes, steps=30, seed=0)
    scenario = Scenario.of(params, gradients)
    ours = torch_trajectory("Adam", scenario)
    theirs = reference_trajectory("AdamNorm", scenario)
    assert max_relative_difference(ours, theirs) > 1e-6
