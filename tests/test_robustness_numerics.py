"""Numerical robustness of every optimizer in the registry (issue 14, defects 1, 2 and 12).

* Overflow fuzz: per dtype and path, a gradient spike up to the dtype's largest
  value followed by ordinary gradients. ``torch.optim.Adam`` is the yardstick:
  wherever its parameters stay finite, ours must too.
* Half precision: float16 and bfloat16 on both paths follow the float64 run of
  the same optimizer, with zero gradient entries (the branches where only
  ε > 0 keeps a denominator positive) and a layer whose ‖g‖² passes 65504.
* Empty tensors, and the scratch workspace not keeping parameters alive.
"""

from __future__ import annotations

import gc
import weakref

import pytest
import torch

from optimizers.registry import REGISTRY

DTYPES = (torch.float64, torch.float32, torch.bfloat16, torch.float16)
SHAPES = ((3, 4), (5,), ())
STEPS_AFTER_SPIKE = 4


def spike_sizes(dtype: torch.dtype) -> tuple[float, ...]:
    """Magnitudes from the first one whose square overflows to the dtype's maximum."""
    largest = torch.finfo(dtype).max
    first_overflow = 2.0 * largest**0.5
    sizes = (first_overflow, largest / 4, largest)
    return (300.0, *sizes) if dtype == torch.float16 else sizes


def spiked_gradients(dtype: torch.dtype, size: float, seed: int) -> list[list[torch.Tensor]]:
    """A spike of ±``size`` (random signs) in every tensor, then ordinary gradients."""
    generator = torch.Generator().manual_seed(seed)
    signs = [
        torch.randint(0, 2, s, generator=generator).to(torch.float64) * 2.0 - 1.0 for s in SHAPES
    ]
    spike = [(size * sign).to(dtype) for sign in signs]
    ordinary = [
        [(0.1 * torch.randn(s, generator=generator, dtype=torch.float64)).to(dtype) for s in SHAPES]
        for _ in range(STEPS_AFTER_SPIKE)
    ]
    return [spike, *ordinary]


def finite_after(
    make: type[torch.optim.Optimizer], dtype: torch.dtype, foreach: bool, grads
) -> bool:
    params = [torch.ones(s, dtype=dtype) for s in SHAPES]
    optimizer = make(params, lr=1e-3, foreach=foreach)
    for step in grads:
        for p, g in zip(params, step, strict=True):
            p.grad = g.clone()
        optimizer.step()
    return all(bool(p.isfinite().all()) for p in params)


@pytest.mark.parametrize("foreach", [False, True], ids=["single", "foreach"])
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_a_finite_spike_leaves_parameters_finite_where_torch_adam_does(dtype, foreach):
    failures, compared = [], 0
    for size in spike_sizes(dtype):
        grads = spiked_gradients(dtype, size, seed=0)
        assert all(bool(g.isfinite().all()) for g in grads[0]), "the spike must be finite"
        if not finite_after(torch.optim.Adam, dtype, foreach, grads):
            continue  # the yardstick itself does not survive: nothing to compare
        compared += 1
        failures += [
            f"{name} (spike {size:.3g})"
            for name, spec in REGISTRY.items()
            if not finite_after(spec.torch_class, dtype, foreach, grads)
        ]
    assert compared >= 2, "the yardstick must survive some spikes, or the test says nothing"
    assert not failures, f"non-finite parameters where torch.optim.Adam stays finite: {failures}"


def test_the_float16_spike_reproducer_takes_torch_adams_step():
    """Issue 14's reproducer: float16 ones, gradients 300 then 0.1 (torch: 0.9985)."""
    expected = torch.ones(1, dtype=torch.float16)
    yardstick = torch.optim.Adam([expected], lr=1e-3)
    for g in (300.0, 0.1):
        expected.grad = torch.full((1,), g, dtype=torch.float16)
        yardstick.step()
    for foreach in (False, True):
        p = torch.ones(1, dtype=torch.float16)
        optimizer = REGISTRY["Adam"].torch_class([p], lr=1e-3, foreach=foreach)
        for g in (300.0, 0.1):
            p.grad = torch.full((1,), g, dtype=torch.float16)
            optimizer.step()
        assert float(p) == pytest.approx(float(expected), abs=1e-3), foreach


HALF_SHAPES = ((16, 16), (4, 3), (5,), ())
HALF_STEPS = 5
LR = 0.05


def half_gradients() -> list[list[torch.Tensor]]:
    """float64 gradients with exact zeros (ε-only denominators) and a 16×16 layer of
    entries ~30, whose ‖g‖² (~2e5) passes float16's 65504 though no entry's square does."""
    generator = torch.Generator().manual_seed(3)
    steps = []
    for t in range(HALF_STEPS):
        grads = [torch.randn(s, generator=generator, dtype=torch.float64) for s in HALF_SHAPES]
        grads[0] = grads[0] * 30.0
        for g in grads[1:]:
            g[g.abs() < 0.5] = 0.0
        if t == 1:
            grads[2] = torch.zeros(HALF_SHAPES[2], dtype=torch.float64)
        steps.append(grads)
    return steps


REPRESENTABLE_EPS = 1e-3
"""An ε that float16 holds as a normal number (1e-8, the default, rounds to 0 there)."""


def trajectory_in(
    name: str, dtype: torch.dtype, foreach: bool, eps: float | None = None
) -> list[torch.Tensor]:
    initial = torch.Generator().manual_seed(4)
    params = [torch.randn(s, generator=initial, dtype=torch.float64).to(dtype) for s in HALF_SHAPES]
    options = {} if eps is None or "eps" not in REGISTRY[name].defaults else {"eps": eps}
    optimizer = REGISTRY[name].torch_class(params, lr=LR, foreach=foreach, **options)
    for step in half_gradients():
        for p, g in zip(params, step, strict=True):
            p.grad = g.to(dtype)
        optimizer.step()
    return [p.detach().to(torch.float64) for p in params]


@pytest.mark.parametrize("foreach", [False, True], ids=["single", "foreach"])
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
def test_half_precision_with_the_default_eps_stays_finite(dtype, foreach):
    """Every class, both paths, ε = 1e-8 (0 in float16): where only ε kept a denominator
    positive, the step must be zero, not 0/0 (AdaRem's fast path was NaN on step 1)."""
    failures = [
        name
        for name in REGISTRY
        if not all(bool(p.isfinite().all()) for p in trajectory_in(name, dtype, foreach))
    ]
    assert not failures, f"non-finite parameters in {dtype}: {failures}"


@pytest.mark.parametrize("foreach", [False, True], ids=["single", "foreach"])
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
def test_half_precision_follows_the_float64_run(dtype, foreach):
    """Every class, both paths: finite, and within a few of the dtype's roundings per
    step of the float64 trajectory (the same optimizer, the same gradients, an ε
    the dtype can hold)."""
    tolerance = 4 * HALF_STEPS * torch.finfo(dtype).eps
    failures = []
    for name in REGISTRY:
        low = trajectory_in(name, dtype, foreach, REPRESENTABLE_EPS)
        exact = trajectory_in(name, torch.float64, foreach, REPRESENTABLE_EPS)
        for i, (a, b) in enumerate(zip(low, exact, strict=True)):
            if not bool(a.isfinite().all()):
                failures.append(f"{name}: tensor {i} not finite")
                break
            error = float(((a - b).abs() / b.abs().clamp(min=1.0)).max()) if a.numel() else 0.0
            if error > tolerance:
                failures.append(f"{name}: tensor {i} off by {error:.3g} (> {tolerance:.3g})")
                break
    assert not failures, failures


def test_float16_zero_gradient_entries_are_not_nan():
    """Widened to float32, ε = 1e-8 does not vanish, so a zero gradient entry gives a
    zero step where torch.optim.Adam's float16 step is 0/0 = NaN (docs/ALGORITHMS.md)."""
    grad = torch.tensor([0.0, 1.0], dtype=torch.float16)
    theirs = torch.ones(2, dtype=torch.float16)
    torch_adam = torch.optim.Adam([theirs])
    theirs.grad = grad.clone()
    torch_adam.step()
    assert bool(theirs[0].isnan())  # the behaviour we improve on, recorded
    for foreach in (False, True):
        ours = torch.ones(2, dtype=torch.float16)
        optimizer = REGISTRY["Adam"].torch_class([ours], foreach=foreach)
        ours.grad = grad.clone()
        optimizer.step()
        assert float(ours[0]) == 1.0 and float(ours[1]) < 1.0


@pytest.mark.parametrize("foreach", [False, True], ids=["single", "foreach"])
@pytest.mark.parametrize("name", list(REGISTRY))
def test_empty_tensors_step_and_keep_finite_state(name, foreach):
    empty, matrix = torch.zeros(0, 3), torch.ones(2, 3)
    optimizer = REGISTRY[name].torch_class([empty, matrix], foreach=foreach)
    for _ in range(2):
        empty.grad, matrix.grad = torch.zeros(0, 3), torch.full((2, 3), 0.5)
        optimizer.step()
    for key, value in optimizer.state[empty].items():
        if torch.is_tensor(value):
            assert bool(value.isfinite().all()), f"{name}: state {key!r} of an empty tensor"
    assert bool(matrix.isfinite().all())


def test_the_workspace_does_not_keep_parameters_alive():
    kept, dropped = torch.ones(3), torch.ones(50)
    optimizer = REGISTRY["Adam"].torch_class([kept, dropped], foreach=True)
    kept.grad, dropped.grad = torch.ones(3), torch.ones(50)
    optimizer.step()
    gone = weakref.ref(dropped)
    optimizer.param_groups[0]["params"] = [kept]
    del optimizer.state[dropped]
    dropped.grad = None
    del dropped
    gc.collect()
    assert gone() is None
    optimizer.step()
    assert len(optimizer._workspace) == 1
