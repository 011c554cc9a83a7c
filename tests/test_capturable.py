"""``capturable=True``: the step with no host synchronisation, for every optimizer.

The capturable step runs each unit's single-tensor path with device step counters and
decides every data-dependent case (RAdam's rectification, AdaNorm's overflow rebuild, a
non-finite gradient) with ``torch.where``. So it must give the single-tensor trajectory
(``foreach=False``) and the float64 reference's, and ``torch.compile(step, fullgraph=True)``
must trace it whole: a host synchronisation (``bool()``, ``.item()``) is a graph break,
which fullgraph turns into an error. The compile tests use the "eager" backend (dynamo's
tracing alone, which is what enforces fullgraph) on tiny layouts to stay cheap; one runs
aot_eager, which also functionalises the in-place updates.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch._dynamo

from optimizers import NonFiniteGradientError
from optimizers.harness import (
    battery,
    max_relative_difference,
    reference_trajectory,
    tolerance_for,
    torch_trajectory,
)
from optimizers.registry import REGISTRY, specs
from tests.test_fast_paths import fresh, gradients

NAMES = [spec.name for spec in specs()]
OPTION_CASES = [(n, {}) for n in NAMES] + [
    (spec.name, options) for spec in specs() for options in spec.option_sets
]
TINY = [(3, 2), ()]


def run(name: str, steps: int = 8, *, params=None, nan_at=(), lr=1e-2, **options):
    """Parameters after ``steps`` steps; gradient 1 holds a NaN at the steps in ``nan_at``."""
    params = fresh() if params is None else params
    optimizer = REGISTRY[name].torch_class(params, lr=lr, **options)
    for t in range(steps):
        grads = gradients(t, params)
        if t in nan_at:
            grads[1] = grads[1].clone()
            grads[1].view(-1)[0] = float("nan")
        for p, g in zip(params, grads, strict=True):
            p.grad = g
        optimizer.step()
    return params, optimizer


def assert_same(left: list[torch.Tensor], right: list[torch.Tensor], **tolerance) -> None:
    for a, b in zip(left, right, strict=True):
        torch.testing.assert_close(a, b, **({"rtol": 1e-12, "atol": 1e-14} | tolerance))


@pytest.mark.parametrize(("name", "options"), OPTION_CASES, ids=str)
def test_capturable_follows_the_single_tensor_definition(name: str, options: dict) -> None:
    single, _ = run(name, foreach=False, **options)
    captured, optimizer = run(name, capturable=True, **options)
    assert_same(captured, single)
    step = optimizer.state[captured[0]]["step"]
    assert isinstance(step, torch.Tensor) and step.dtype == torch.float32 and step == 8


@pytest.mark.parametrize("name", NAMES)
def test_capturable_matches_the_float64_reference(name: str) -> None:
    shapes = [(), (7,), (5, 3), (1,)]
    scenario = battery(30, seed=3, shapes=shapes)
    ours = torch_trajectory(name, scenario, capturable=True)
    theirs = reference_trajectory(name, scenario)
    assert max_relative_difference(ours, theirs) <= tolerance_for(torch.float64)


@pytest.mark.parametrize("name", NAMES)
def test_a_nonfinite_step_is_skipped_on_the_device_and_counted(name: str) -> None:
    eager, _ = run(name, nan_at=(0, 5), on_nonfinite="skip")
    captured, optimizer = run(name, nan_at=(0, 5), capturable=True, on_nonfinite="skip")
    assert_same(captured, eager)
    assert isinstance(optimizer.skipped_steps, torch.Tensor)
    assert int(optimizer.skipped_steps) == 2
    assert all(int(optimizer.state[p]["step"]) == 6 for p in captured)


def test_raise_under_capture_skips_and_raises_at_the_check() -> None:
    params, optimizer = run("AdamNorm", steps=4, nan_at=(2,), capturable=True)
    reference, _ = run("AdamNorm", steps=4, nan_at=(2,), on_nonfinite="skip")
    assert_same(params, reference)
    with pytest.raises(NonFiniteGradientError, match="1 step"):
        optimizer.check_nonfinite()
    optimizer.check_nonfinite()  # reported once


def test_state_created_by_a_skipped_first_step_is_as_if_fresh() -> None:
    # SGD's buffer is g at the first step: a skipped first step must not leave it behind.
    options = {"momentum": 0.9, "dampening": 0.5, "on_nonfinite": "skip"}
    params = fresh()
    skipped, _ = run("SGDM", params=params, nan_at=(0,), capturable=True, **options)
    optimizer = REGISTRY["SGDM"].torch_class(fresh(), lr=1e-2, foreach=False, **options)
    for t in range(1, 8):
        for p, g in zip(optimizer.param_groups[0]["params"], gradients(t, params), strict=True):
            p.grad = g
        optimizer.step()
    assert_same(skipped, optimizer.param_groups[0]["params"])


@pytest.mark.parametrize("name", NAMES)
def test_fullgraph_compile_traces_the_whole_step_and_matches_eager(name: str) -> None:
    torch._dynamo.reset()
    params = fresh(TINY, dtypes=(torch.float32,))
    optimizer = REGISTRY[name].torch_class(params, lr=1e-2, capturable=True, on_nonfinite="skip")
    eager_params = [p.clone() for p in params]
    eager = REGISTRY[name].torch_class(eager_params, lr=1e-2, capturable=True, on_nonfinite="skip")
    compiled = torch.compile(optimizer.step, fullgraph=True, backend="eager")
    for t in range(4):
        grads = gradients(t, params)
        if t == 2:
            grads[0] = grads[0].clone()
            grads[0][0, 0] = float("inf")
        for p, q, g in zip(params, eager_params, grads, strict=True):
            p.grad, q.grad = g, g.clone()
        eager.step()
        # The first step creates the state eagerly; the compiled steps find it.
        (optimizer.step if t == 0 else compiled)()
    # Bitwise under torch 2.13. Dynamo does not promise that across versions: under torch 2.11
    # the traced steps of LAdam and Aida left one element 1 ulp off (9.8e-8 relative), so two
    # float32 ulps are allowed; a missing or wrong operation would be far beyond that.
    assert_same(params, eager_params, rtol=2 * torch.finfo(torch.float32).eps, atol=0)
    assert int(optimizer.skipped_steps) == 1


def test_functionalised_compile_matches_eager_including_state_creation() -> None:
    # aot_eager functionalises the in-place updates (what inductor compiles), and here the
    # first compiled step creates the state inside the graph.
    torch._dynamo.reset()
    params = fresh(TINY, dtypes=(torch.float32,))
    eager_params = [p.clone() for p in params]
    optimizer = REGISTRY["Adam"].torch_class(params, capturable=True, on_nonfinite="skip")
    eager = REGISTRY["Adam"].torch_class(eager_params, capturable=True, on_nonfinite="skip")
    compiled = torch.compile(optimizer.step, fullgraph=True, backend="aot_eager")
    for t in range(3):
        grads = gradients(t, params)
        if t == 1:
            grads[1] = grads[1].clone().fill_(float("nan"))
        for p, q, g in zip(params, eager_params, grads, strict=True):
            p.grad, q.grad = g, g.clone()
        eager.step()
        compiled()
    assert_same(params, eager_params, rtol=1e-6, atol=1e-7)
    assert int(optimizer.skipped_steps) == 1


def test_a_tensor_lr_is_read_on_the_device() -> None:
    lr = torch.tensor(1e-2, dtype=torch.float64)
    with_tensor, optimizer = run("RAdamNorm", steps=6, capturable=True, lr=lr)
    with_float, _ = run("RAdamNorm", steps=6, capturable=True)
    assert_same(with_tensor, with_float)
    lr.fill_(0.0)  # a scheduler's in-place write: the next step moves nothing
    before = [p.clone() for p in with_tensor]
    for p in with_tensor:
        p.grad = torch.ones_like(p)
    optimizer.step()
    assert_same(with_tensor, before, rtol=0, atol=0)
    with pytest.raises(ValueError, match="capturable"):
        REGISTRY["Adam"].torch_class(fresh(), lr=torch.tensor(0.1))


@pytest.mark.parametrize("name", ["AdamNorm", "SGDM", "AdaRemS"])
def test_state_dicts_round_trip_between_capturable_and_not(name: str) -> None:
    # Half the run in one mode, the rest in the other: the trajectory of one mode throughout.
    whole, _ = run(name, foreach=False)
    for first, second in (({"capturable": True}, {}), ({}, {"capturable": True})):
        params = fresh()
        optimizer = REGISTRY[name].torch_class(params, lr=1e-2, **first)
        for t in range(4):
            for p, g in zip(params, gradients(t, params), strict=True):
                p.grad = g
            optimizer.step()
        saved = optimizer.state_dict()
        assert all(isinstance(entry["step"], int) for entry in saved["state"].values())
        resumed = REGISTRY[name].torch_class(params, lr=1e-2, **second)
        resumed.load_state_dict(saved)
        assert resumed.param_groups[0]["capturable"] == bool(second)  # its own mode kept
        for t in range(4, 8):
            for p, g in zip(params, gradients(t, params), strict=True):
                p.grad = g
            resumed.step()
        assert_same(params, whole)


def test_capturable_must_be_the_same_in_every_group() -> None:
    a, b = fresh()[:2]
    optimizer = REGISTRY["Adam"].torch_class([{"params": [a]}, {"params": [b]}], capturable=True)
    optimizer.param_groups[1]["capturable"] = False
    a.grad, b.grad = torch.ones_like(a), torch.ones_like(b)
    with pytest.raises(ValueError, match="every param group"):
        optimizer.step()
    with pytest.raises(ValueError, match="capturable"):
        REGISTRY["Adam"].torch_class([a], capturable="yes")


def test_the_step_counter_follows_a_switch_of_mode() -> None:
    params, optimizer = run("Adam", steps=3)
    optimizer.param_groups[0]["capturable"] = True
    for p in params:
        p.grad = torch.ones_like(p)
    optimizer.step()
    step = optimizer.state[params[0]]["step"]
    assert isinstance(step, torch.Tensor) and int(step) == 4
    assert np.isfinite(params[0].numpy()).all()
