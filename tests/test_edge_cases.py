"""Bad input gets a clear error and loses nothing; degenerate input gives finite results."""

from __future__ import annotations

import copy

import pytest
import torch

from optimizers import NonFiniteGradientError
from optimizers.registry import REGISTRY, specs

NAMES = [spec.name for spec in specs()]


def make_params() -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    shapes = [(4, 3), (3,), (2, 2, 3, 3), ()]
    return [torch.randn(s, generator=gen, dtype=torch.float64) for s in shapes]


def set_grads(params: list[torch.Tensor], scale: float = 1.0, seed: int = 1) -> None:
    gen = torch.Generator().manual_seed(seed)
    for p in params:
        p.grad = scale * torch.randn(p.shape, generator=gen, dtype=torch.float64)


@pytest.mark.parametrize("name", NAMES)
def test_zero_gradient_after_history_keeps_parameters_finite(name: str) -> None:
    params = make_params()
    optimizer = REGISTRY[name].torch_class(params)
    for t in range(5):
        set_grads(params, seed=t)
        optimizer.step()
    for _ in range(5):
        for p in params:
            p.grad = torch.zeros_like(p)
        optimizer.step()
    assert all(bool(torch.isfinite(p).all()) for p in params)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("eps", [1e-8, 0.0])
def test_all_zero_layer_from_the_start_stays_finite(name: str, eps: float) -> None:
    params = make_params()
    options = {"eps": eps} if "eps" in REGISTRY[name].hyperparameters else {}
    optimizer = REGISTRY[name].torch_class(params, **options)
    for t in range(6):
        set_grads(params, seed=t)
        params[0].grad = torch.zeros_like(params[0])
        optimizer.step()
    assert all(bool(torch.isfinite(p).all()) for p in params)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_nonfinite_gradient_raises_and_changes_nothing(name: str, bad: float) -> None:
    params = make_params()
    optimizer = REGISTRY[name].torch_class(params)
    set_grads(params)
    optimizer.step()
    before_params = [p.clone() for p in params]
    before_state = copy.deepcopy(optimizer.state_dict())
    set_grads(params, seed=2)
    params[2].grad[0, 0, 1, 1] = bad
    with pytest.raises(NonFiniteGradientError, match="NaN or inf"):
        optimizer.step()
    for p, q in zip(params, before_params, strict=True):
        assert torch.equal(p, q)
    assert_state_equal(optimizer.state_dict(), before_state)


@pytest.mark.parametrize("name", NAMES)
def test_nonfinite_gradient_can_be_skipped(name: str) -> None:
    params = make_params()
    optimizer = REGISTRY[name].torch_class(params, on_nonfinite="skip")
    set_grads(params)
    optimizer.step()
    before_params = [p.clone() for p in params]
    before_state = copy.deepcopy(optimizer.state_dict())
    set_grads(params, seed=2)
    params[1].grad[0] = float("nan")
    optimizer.step()
    assert optimizer.skipped_steps == 1
    for p, q in zip(params, before_params, strict=True):
        assert torch.equal(p, q)
    assert_state_equal(optimizer.state_dict(), before_state)
    set_grads(params, seed=3)
    optimizer.step()
    assert not all(torch.equal(p, q) for p, q in zip(params, before_params, strict=True))


def assert_state_equal(left: dict, right: dict) -> None:
    assert left["param_groups"] == right["param_groups"]
    assert left["state"].keys() == right["state"].keys()
    for key, state in left["state"].items():
        for name, value in state.items():
            other = right["state"][key][name]
            if isinstance(value, torch.Tensor):
                assert torch.equal(value, other), name
            else:
                assert value == other, name


@pytest.mark.parametrize("name", NAMES)
def test_sparse_gradients_are_rejected_with_a_type_error(name: str) -> None:
    p = torch.zeros(5, 3)
    optimizer = REGISTRY[name].torch_class([p])
    p.grad = torch.zeros(5, 3).to_sparse()
    with pytest.raises(TypeError, match="sparse"):
        optimizer.step()


@pytest.mark.parametrize("name", NAMES)
def test_complex_parameters_are_rejected_with_a_type_error(name: str) -> None:
    p = torch.zeros(5, dtype=torch.complex64)
    optimizer = REGISTRY[name].torch_class([p])
    p.grad = torch.ones(5, dtype=torch.complex64)
    with pytest.raises(TypeError, match="complex"):
        optimizer.step()


INVALID = [(spec.name, invalid) for spec in specs() for invalid in spec.invalid_inputs]


@pytest.mark.parametrize(("name", "invalid"), INVALID, ids=str)
def test_invalid_hyperparameters_raise_naming_the_argument(name, invalid) -> None:
    with pytest.raises(invalid.error, match=invalid.match):
        REGISTRY[name].torch_class([torch.zeros(3, 2)], **invalid.kwargs)
