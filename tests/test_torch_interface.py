"""The torch.optim contract: state_dict, param groups, schedulers, closures, both code paths."""

from __future__ import annotations

import io

import pytest
import torch

import optimizers
from optimizers.registry import REGISTRY

NAMES = list(REGISTRY)
SHAPES = [(4, 3), (3,), (2, 2, 3, 3), (), (1,)]


def fresh_params(dtype: torch.dtype = torch.float64) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return [torch.randn(s, generator=gen, dtype=torch.float64).to(dtype) for s in SHAPES]


def gradients_for(t: int, params: list[torch.Tensor]) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(100 + t)
    scale = 1e-2 if t % 6 in (3, 4) else 1.0
    draws = [torch.randn(p.shape, generator=gen, dtype=torch.float64) for p in params]
    return [(scale * g).to(p.dtype) for g, p in zip(draws, params, strict=True)]


def advance(optimizer, params, start: int, stop: int) -> None:
    for t in range(start, stop):
        for p, g in zip(params, gradients_for(t, params), strict=True):
            p.grad = g
        optimizer.step()


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trip_reproduces_the_rest_of_the_trajectory(name: str) -> None:
    cls = REGISTRY[name].torch_class
    params = fresh_params()
    optimizer = cls(params, lr=1e-2)
    advance(optimizer, params, 0, 8)

    buffer = io.BytesIO()
    torch.save({"params": [p.clone() for p in params], "opt": optimizer.state_dict()}, buffer)
    advance(optimizer, params, 8, 20)

    buffer.seek(0)
    saved = torch.load(buffer, weights_only=False)
    resumed_params = fresh_params()
    resumed = cls(resumed_params, lr=1e-2)
    with torch.no_grad():
        for p, q in zip(resumed_params, saved["params"], strict=True):
            p.copy_(q)
    resumed.load_state_dict(saved["opt"])
    advance(resumed, resumed_params, 8, 20)
    for p, q in zip(params, resumed_params, strict=True):
        assert torch.equal(p, q)


@pytest.mark.parametrize("name", NAMES)
def test_foreach_and_single_tensor_paths_agree(name: str) -> None:
    results = []
    for foreach in (True, False):
        params = fresh_params()
        advance(REGISTRY[name].torch_class(params, foreach=foreach), params, 0, 25)
        results.append(params)
    for p, q in zip(*results, strict=True):
        torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", NAMES)
def test_param_groups_take_their_own_learning_rate(name: str) -> None:
    cls = REGISTRY[name].torch_class
    grouped = fresh_params()
    optimizer = cls([{"params": grouped[:2], "lr": 1e-3}, {"params": grouped[2:], "lr": 5e-2}])
    advance(optimizer, grouped, 0, 10)

    separate = fresh_params()
    first, second = cls(separate[:2], lr=1e-3), cls(separate[2:], lr=5e-2)
    for t in range(10):
        for p, g in zip(separate, gradients_for(t, separate), strict=True):
            p.grad = g
        first.step()
        second.step()
    for p, q in zip(grouped, separate, strict=True):
        torch.testing.assert_close(p, q, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", NAMES)
def test_lr_scheduler_drives_the_step(name: str) -> None:
    cls = REGISTRY[name].torch_class
    scheduled = fresh_params()
    optimizer = cls(scheduled, lr=1e-2)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=5, gamma=0.1)
    manual = fresh_params()
    reference = cls(manual, lr=1e-2)
    for t in range(12):
        for p, g in zip(scheduled, gradients_for(t, scheduled), strict=True):
            p.grad = g
        for p, g in zip(manual, gradients_for(t, manual), strict=True):
            p.grad = g
        optimizer.step()
        scheduler.step()
        reference.step()
        if t in (4, 9):
            reference.param_groups[0]["lr"] *= 0.1
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1e-4)
    for p, q in zip(scheduled, manual, strict=True):
        torch.testing.assert_close(p, q, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", NAMES)
def test_closure_is_evaluated_once_and_its_loss_returned(name: str) -> None:
    weight = torch.nn.Parameter(torch.randn(3, 2, dtype=torch.float64))
    optimizer = REGISTRY[name].torch_class([weight], lr=1e-2)
    calls = []

    def closure():
        optimizer.zero_grad()
        loss = (weight**2).sum()
        loss.backward()
        calls.append(1)
        return loss

    loss = optimizer.step(closure)
    assert len(calls) == 1
    assert isinstance(loss, torch.Tensor) and loss.ndim == 0


@pytest.mark.parametrize("name", NAMES)
def test_float32_parameters_follow_the_float64_trajectory(name: str) -> None:
    results = []
    for dtype in (torch.float32, torch.float64):
        params = fresh_params(dtype)
        advance(REGISTRY[name].torch_class(params, lr=1e-2), params, 0, 15)
        results.append(params)
    for p32, p64 in zip(*results, strict=True):
        assert p32.dtype == torch.float32
        torch.testing.assert_close(p32.double(), p64, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("name", NAMES)
def test_parameters_without_gradients_are_left_alone(name: str) -> None:
    params = fresh_params()
    optimizer = REGISTRY[name].torch_class(params)
    frozen_before = params[1].clone()
    for t in range(5):
        grads = gradients_for(t, params)
        for i, (p, g) in enumerate(zip(params, grads, strict=True)):
            p.grad = None if i == 1 else g
        optimizer.step()
    assert torch.equal(params[1], frozen_before)
    assert params[1] not in optimizer.state or "step" not in optimizer.state[params[1]]


def test_lambda_exponent_advances_only_on_tick_in_epoch_mode() -> None:
    p = torch.zeros(2, dtype=torch.float64)
    optimizer = optimizers.AdaRem([p], lam_tick="epoch")
    assert optimizer.param_groups[0]["lam_epoch"] == 0
    optimizer.tick_epoch()
    optimizer.tick_epoch()
    assert optimizer.param_groups[0]["lam_epoch"] == 2
    step_mode = optimizers.AdaRem([torch.zeros(2)])
    step_mode.tick_epoch()
    assert step_mode.param_groups[0]["lam_epoch"] == 0


def test_ndadam_normalises_weight_vectors_at_construction_and_keeps_biases() -> None:
    weight = torch.randn(5, 3, 2, 2, dtype=torch.float64) * 7
    bias = torch.randn(5, dtype=torch.float64) * 7
    bias_before = bias.clone()
    optimizers.NDAdam([weight, bias])
    torch.testing.assert_close(
        weight.reshape(5, -1).norm(dim=1), torch.ones(5, dtype=torch.float64)
    )
    assert torch.equal(bias, bias_before)


def test_adarems_puts_weights_on_the_requested_sphere() -> None:
    weight = torch.randn(4, 3, dtype=torch.float64)
    bias = torch.randn(4, dtype=torch.float64)
    bias_norm = float(bias.norm())
    optimizer = optimizers.AdaRemS([weight, bias], radius=3.0)
    assert float(weight.norm()) == pytest.approx(3.0)
    advance(optimizer, [weight, bias], 0, 10)
    assert float(weight.norm()) == pytest.approx(3.0, rel=1e-13)
    assert float(bias.norm()) != pytest.approx(bias_norm)


def test_layerwise_second_moment_keeps_one_scalar_per_tensor() -> None:
    params = fresh_params()
    optimizer = optimizers.LAdam(params)
    advance(optimizer, params, 0, 2)
    for p in params:
        assert optimizer.state[p]["exp_avg_sq"].numel() == 1
        assert optimizer.state[p]["exp_avg"].shape == p.shape
