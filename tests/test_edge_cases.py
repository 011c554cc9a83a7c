"""Bad input gets a clear error and loses nothing; degenerate input gives finite results."""

from __future__ import annotations

import copy

import pytest
import torch

from optimizers import NonFiniteGradientError
from optimizers.registry import REGISTRY

NAMES = list(REGISTRY)


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
    options = {} if name in ("SGDM",) else {"eps": eps}
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


COMMON_BAD = [
    ({"lr": -1.0}, "lr"),
    ({"lr": float("nan")}, "lr"),
    ({"weight_decay": -0.1}, "weight_decay"),
    ({"foreach": "yes"}, "foreach"),
    ({"on_nonfinite": "ignore"}, "on_nonfinite"),
]
ADAPTIVE_BAD = [
    ({"betas": (1.0, 0.999)}, r"betas\[0\]"),
    ({"betas": (0.9, -0.1)}, r"betas\[1\]"),
    ({"betas": (0.9,)}, "betas"),
    ({"eps": -1e-8}, "eps"),
]
SPECIFIC_BAD = {
    "AdamNorm": [
        ({"gamma": 1.0}, "gamma"),
        ({"norm_scope": "layer"}, "norm_scope"),
        ({"corrected_moments": "none"}, "corrected_moments"),
    ],
    "Adam": [({"eps_mode": "middle"}, "eps_mode")],
    "RAdam": [({"rectify_threshold": 4.0}, "rectify_threshold")],
    "AdaRem": [
        ({"lam": 1.0}, "lam"),
        ({"lam": 0.0}, "lam"),
        ({"beta": 1.0}, "beta"),
        ({"lam_tick": "batch"}, "lam_tick"),
        ({"max_scope": "row"}, "max_scope"),
    ],
    "AdaRemS": [({"radius": 0.0}, "radius"), ({"sphere": "auto"}, "sphere")],
    "NDAdam": [({"scalar_lr": -1.0}, "scalar_lr"), ({"vectorwise": 1}, "vectorwise")],
    "Aida": [({"K": -1}, "K"), ({"K": 1.5}, "K"), ({"xi": -1.0}, "xi")],
    "AidaGrad": [({"xi": -1.0}, "xi")],
    "LAida": [({"K": -2}, "K")],
    "SGDM": [
        ({"momentum": 1.0}, "momentum"),
        ({"dampening": 2.0}, "dampening"),
        ({"nesterov": True, "momentum": 0.0}, "nesterov"),
    ],
}
INVALID = (
    [(n, kw, arg) for n in NAMES for kw, arg in COMMON_BAD]
    + [
        (n, kw, arg)
        for n in NAMES
        if n not in ("SGDM", "AdaRem", "AdaRemS")
        for kw, arg in ADAPTIVE_BAD
    ]
    + [(n, kw, arg) for n, cases in SPECIFIC_BAD.items() for kw, arg in cases]
)


@pytest.mark.parametrize(("name", "kwargs", "argument"), INVALID, ids=str)
def test_invalid_hyperparameters_raise_naming_the_argument(name, kwargs, argument) -> None:
    with pytest.raises(ValueError, match=argument):
        REGISTRY[name].torch_class([torch.zeros(3, 2)], **kwargs)
