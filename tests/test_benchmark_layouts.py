"""The layout benchmark's pieces: the memory-traffic floor and the interleaved timing."""

from __future__ import annotations

import pytest
import torch

from experiments.models.registry import build_model
from optimizers.benchmark import LAYOUT_SHAPES, _interleaved, floor_bytes_per_parameter, main
from optimizers.registry import REGISTRY


@pytest.mark.parametrize(
    ("name", "floor"),
    # Read θ, g and the state, write θ and the state (float32), plus the reads of the
    # per-tensor reductions that come before the pointwise pass (issue 16's figures).
    [("Adam", 28), ("AdamNorm", 32), ("DiffGrad", 36), ("Aida", 36), ("SGDM", 20)],
)
def test_floor_bytes_per_parameter(name: str, floor: int) -> None:
    params = [torch.randn(256, 64), torch.randn(64)]
    optimizer = REGISTRY[name].torch_class(params)
    for p in params:
        p.grad = torch.randn_like(p)
    optimizer.step()
    assert floor_bytes_per_parameter(optimizer, params) == pytest.approx(floor, rel=1e-3)


def test_torch_adam_floor_is_28_bytes() -> None:
    params = [torch.randn(256, 64)]
    params[0].grad = torch.randn(256, 64)
    optimizer = torch.optim.Adam(params)
    optimizer.step()
    assert floor_bytes_per_parameter(optimizer, params) == pytest.approx(28, rel=1e-3)


def test_every_participant_steps_in_every_round() -> None:
    counts: dict[str, int] = {}

    class Counter:
        def __init__(self, key: str) -> None:
            self.key = key

        def step(self) -> None:
            counts[self.key] = counts.get(self.key, 0) + 1

    seconds = _interleaved({k: Counter(k) for k in "abc"}, 5, torch.device("cpu"))
    assert counts == {"a": 5, "b": 5, "c": 5}
    assert all(len(v) == 5 and min(v) >= 0 for v in seconds.values())


@pytest.mark.parametrize("model", sorted(LAYOUT_SHAPES))
def test_layouts_are_the_models_parameters(model: str) -> None:
    expected = [tuple(p.shape) for p in build_model(model, 10).parameters()]
    assert LAYOUT_SHAPES[model]() == expected


def test_an_unknown_layout_or_mode_is_refused(capsys) -> None:
    assert main(["--layouts", "resnet99", "--modes", "fused"]) == 2
    assert "resnet99" in capsys.readouterr().err
