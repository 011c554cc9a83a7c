"""Loading another optimizer's state is refused at load time, torch's own where it coincides
is translated (issue 14, item 4)."""

from __future__ import annotations

import copy
import io

import pytest
import torch

import optimizers
from optimizers.registry import REGISTRY


def params() -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return [torch.randn(s, generator=gen, dtype=torch.float64) for s in [(4, 3), (3,)]]


def grads(t: int, ps: list[torch.Tensor]) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(100 + t)
    return [torch.randn(p.shape, generator=gen, dtype=torch.float64) for p in ps]


def run(optimizer: torch.optim.Optimizer, ps: list[torch.Tensor], start: int, stop: int) -> None:
    for t in range(start, stop):
        for p, g in zip(ps, grads(t, ps), strict=True):
            p.grad = g
        optimizer.step()


def stepped(cls, **options) -> tuple[torch.optim.Optimizer, list[torch.Tensor]]:
    ps = params()
    optimizer = cls(ps, **options)
    run(optimizer, ps, 0, 3)
    return optimizer, ps


def snapshot(optimizer: torch.optim.Optimizer) -> dict:
    return copy.deepcopy({"groups": optimizer.param_groups, "state": dict(optimizer.state)})


def assert_unchanged(optimizer: torch.optim.Optimizer, before: dict) -> None:
    after = snapshot(optimizer)
    for a, b in zip(after["groups"], before["groups"], strict=True):
        assert {k: v for k, v in a.items() if k != "params"} == {
            k: v for k, v in b.items() if k != "params"
        }
    assert len(after["state"]) == len(before["state"])
    for state_a, state_b in zip(after["state"].values(), before["state"].values(), strict=True):
        assert state_a.keys() == state_b.keys()
        for key, value in state_a.items():
            if torch.is_tensor(value):
                assert torch.equal(value, state_b[key]), key
            else:
                assert value == state_b[key], key


FOREIGN = [
    ("Adam", "AdaBelief", "AdaBelief cannot load the state of Adam"),
    ("SGDM", "AdamNorm", "AdamNorm cannot load the state of SGDM"),
    ("Adam", "AdamNorm", "AdamNorm cannot load the state of Adam"),
    ("AdamL", "LAdam", "LAdam cannot load the state of AdamL"),
    ("AdamNorm", "DiffGradNorm", "DiffGradNorm cannot load the state of AdamNorm"),
]


@pytest.mark.parametrize(("source", "target", "message"), FOREIGN, ids=str)
def test_state_of_another_method_is_refused_and_nothing_changes(
    source: str, target: str, message: str
) -> None:
    saved = stepped(REGISTRY[source].torch_class)[0].state_dict()
    optimizer, _ = stepped(REGISTRY[target].torch_class)
    before = snapshot(optimizer)
    with pytest.raises(ValueError, match=message):
        optimizer.load_state_dict(saved)
    assert_unchanged(optimizer, before)


def test_state_of_the_same_recipe_loads_across_classes() -> None:
    # AdamW is Adam with other defaults: the state (and its options) carry over.
    saved = stepped(optimizers.AdamW)[0].state_dict()
    optimizer, _ = stepped(optimizers.Adam)
    optimizer.load_state_dict(saved)
    assert optimizer.param_groups[0]["decoupled_weight_decay"] is True


def unmarked(saved: dict) -> None:
    """As a checkpoint from before states carried their method."""
    del saved["recipe"], saved["optimizer"]


def invalid_gamma(saved: dict) -> None:
    saved["param_groups"][0]["gamma"] = 7


def misshapen(saved: dict) -> None:
    saved["state"][0]["exp_avg"] = torch.zeros(5, 3, dtype=torch.float64)


DAMAGED = [
    # An older SGDM checkpoint lacks AdamNorm's options.
    ("SGDM", unmarked, "AdamNorm", r"param group 0: option (betas|gamma) is missing"),
    ("AdamNorm", invalid_gamma, "AdamNorm", "gamma must be in"),
    # Every option DiffGrad takes, but no g_{t-1}: the next step would fail half-way.
    ("Adam", unmarked, "DiffGrad", "has no previous_grad"),
    ("Adam", misshapen, "Adam", "exp_avg of parameter 0 has shape"),
]


@pytest.mark.parametrize(
    ("source", "damage", "target", "message"), DAMAGED, ids=lambda v: getattr(v, "__name__", str(v))
)
def test_a_state_that_cannot_work_is_refused_and_nothing_changes(
    source: str, damage, target: str, message: str
) -> None:
    saved = stepped(REGISTRY[source].torch_class)[0].state_dict()
    damage(saved)
    optimizer, _ = stepped(REGISTRY[target].torch_class)
    before = snapshot(optimizer)
    with pytest.raises(ValueError, match=message):
        optimizer.load_state_dict(saved)
    assert_unchanged(optimizer, before)


def test_our_state_survives_weights_only_loading() -> None:
    optimizer, _ = stepped(optimizers.AdamNorm)
    buffer = io.BytesIO()
    torch.save(optimizer.state_dict(), buffer)
    buffer.seek(0)
    resumed = optimizers.AdamNorm(params())
    resumed.load_state_dict(torch.load(buffer, weights_only=True))
    assert resumed.state_dict()["recipe"] == optimizer.state_dict()["recipe"]


TORCH_PAIRS = [
    (torch.optim.Adam, {}, optimizers.Adam),
    (torch.optim.Adam, {"weight_decay": 0.1}, optimizers.Adam),
    (torch.optim.AdamW, {}, optimizers.AdamW),
    (torch.optim.AdamW, {"weight_decay": 0.3}, optimizers.Adam),
    (torch.optim.RAdam, {}, optimizers.RAdam),
    (torch.optim.RAdam, {"weight_decay": 0.1, "decoupled_weight_decay": True}, optimizers.RAdam),
]


@pytest.mark.parametrize(("torch_cls", "options", "ours"), TORCH_PAIRS, ids=str)
def test_torch_state_resumes_where_the_definitions_coincide(torch_cls, options, ours) -> None:
    """torch runs 8 steps; ours resumes from its state after 4 and ends where torch ends."""
    reference = params()
    theirs = torch_cls(reference, lr=1e-2, **options)
    run(theirs, reference, 0, 4)
    resumed_params = [p.clone() for p in reference]
    saved = copy.deepcopy(theirs.state_dict())
    run(theirs, reference, 4, 8)

    resumed = ours(resumed_params)
    resumed.load_state_dict(saved)
    assert all(isinstance(s["step"], int) and s["step"] == 4 for s in resumed.state.values())
    assert resumed.param_groups[0]["lr"] == 1e-2
    run(resumed, resumed_params, 4, 8)
    for p, q in zip(resumed_params, reference, strict=True):
        torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    ("torch_cls", "options", "ours", "message"),
    [
        (torch.optim.Adam, {"amsgrad": True}, optimizers.Adam, "amsgrad=True"),
        (torch.optim.Adam, {"maximize": True}, optimizers.Adam, "maximize=True"),
        (torch.optim.RAdam, {"maximize": True}, optimizers.RAdam, "maximize=True"),
        (torch.optim.Adam, {}, optimizers.AdaBelief, "resumes only states of its own class"),
        (torch.optim.Adam, {}, optimizers.RAdam, "resumes only torch.optim.RAdam"),
        (torch.optim.RAdam, {}, optimizers.Adam, "resumes only torch.optim.Adam"),
        (torch.optim.Adam, {}, optimizers.AdamNorm, "resumes only states of its own class"),
    ],
    ids=str,
)
def test_torch_state_is_refused_where_we_differ(torch_cls, options, ours, message) -> None:
    """Before the fix a torch Adam checkpoint changed step and exp_avg, then failed with
    KeyError('eps_mode'); now it is refused at load time and nothing moves."""
    source = params()
    theirs = torch_cls(source, **options)
    run(theirs, source, 0, 3)
    optimizer, _ = stepped(ours)
    before = snapshot(optimizer)
    with pytest.raises(ValueError, match=message):
        optimizer.load_state_dict(theirs.state_dict())
    assert_unchanged(optimizer, before)
