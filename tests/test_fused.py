"""``fused=True``: the flat step compiled into one graph, against the eager capturable one.

The semantics (layouts that change: a missing gradient, a replaced ``p.grad``,
``zero_grad(set_to_none=True)``, a group added mid-run, a model cast after construction;
state dicts between fused and unfused optimizers) are checked with the "eager" backend:
dynamo traces the same fullgraph, dynamic-shape graph (where every guard, recompile and
graph break is decided) and ATen runs it, with no C++ compile. The functionalised graph is
checked with aot_eager in tests/test_capturable.py, and one test here compiles with
inductor for real (tens of seconds on a cold cache).
"""

from __future__ import annotations

import pytest
import torch
import torch._dynamo

from optimizers import fused
from optimizers.registry import REGISTRY, specs
from tests.test_fast_paths import fresh, gradients

SHAPES = [(3, 2), (4,), (2, 1, 3)]


@pytest.fixture
def cheap_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fused, "BACKEND", "eager")
    torch._dynamo.reset()


def pair(name: str = "Adam", shapes=SHAPES, **options):
    """A fused optimizer and an eager capturable one on equal copies of the same parameters."""
    params = fresh(shapes, dtypes=(torch.float32,))
    copies = [p.clone() for p in params]
    options = {"lr": 1e-2, "on_nonfinite": "skip"} | options
    fast = REGISTRY[name].torch_class(params, fused=True, **options)
    slow = REGISTRY[name].torch_class(copies, capturable=True, **options)
    return fast, slow


def feed(optimizers, t: int, *, missing=(), nan=False) -> None:
    """Gradients of step ``t`` into both optimizers (``None`` for the indices in ``missing``)."""
    for optimizer in optimizers:
        params = [p for group in optimizer.param_groups for p in group["params"]]
        grads = gradients(t, params)
        if nan:
            grads[0] = grads[0].clone().fill_(float("nan"))
        for i, (p, g) in enumerate(zip(params, grads, strict=True)):
            p.grad = None if i in missing else g


def assert_agree(fast, slow, **tolerance) -> None:
    left = [p for group in fast.param_groups for p in group["params"]]
    right = [p for group in slow.param_groups for p in group["params"]]
    for a, b in zip(left, right, strict=True):
        torch.testing.assert_close(a, b, **({"rtol": 1e-6, "atol": 1e-7} | tolerance))
    assert int(fast.skipped_steps) == int(slow.skipped_steps)


def steps(fast, slow, ts, **kwargs) -> None:
    for t in ts:
        feed((fast, slow), t, **kwargs)
        fast.step()
        slow.step()


def test_inductor_compiles_the_step_and_it_matches_eager() -> None:
    torch._dynamo.reset()
    fast, slow = pair("AdamNorm", [(3, 2), (), (4,)])
    steps(fast, slow, range(2))
    steps(fast, slow, [2], nan=True)
    steps(fast, slow, range(3, 5))
    assert fast._compiled_step is not None
    assert_agree(fast, slow)
    assert int(fast.skipped_steps) == 1


def test_no_compiler_is_a_clear_error_and_changes_nothing(monkeypatch) -> None:
    def broken(graph, inputs):
        raise RuntimeError("no C++ compiler")

    monkeypatch.setattr(fused, "BACKEND", broken)
    torch._dynamo.reset()
    fast, _ = pair()
    feed((fast,), 0)
    fast.step()  # the first step is eager
    before = [p.clone() for p in fast.param_groups[0]["params"]]
    state = [v.clone() for s in fast.state.values() for v in s.values()]
    feed((fast,), 1)
    with pytest.raises(fused.FusedStepUnavailable, match="no C\\+\\+ compiler"):
        fast.step()
    for p, q in zip(fast.param_groups[0]["params"], before, strict=True):
        assert torch.equal(p, q)
    assert all(
        torch.equal(v, w)
        for v, w in zip([v for s in fast.state.values() for v in s.values()], state, strict=True)
    )


@pytest.mark.usefixtures("cheap_backend")
@pytest.mark.parametrize("name", [spec.name for spec in specs()])
def test_fused_follows_the_eager_capturable_step(name: str) -> None:
    fast, slow = pair(name)
    steps(fast, slow, range(3))
    steps(fast, slow, [3], nan=True)
    steps(fast, slow, range(4, 6))
    assert_agree(fast, slow)


@pytest.mark.usefixtures("cheap_backend")
def test_a_missing_gradient_and_a_replaced_grad() -> None:
    fast, slow = pair()
    steps(fast, slow, range(2))
    steps(fast, slow, range(2, 4), missing=(1,))  # another layout: p1 is not stepped
    frozen = fast.param_groups[0]["params"][1].clone()
    steps(fast, slow, [4], missing=(1,))
    assert torch.equal(fast.param_groups[0]["params"][1], frozen)
    # Replaced p.grad tensors (feed assigns new ones each step) are read where they are.
    steps(fast, slow, range(5, 7))
    assert_agree(fast, slow)


@pytest.mark.usefixtures("cheap_backend")
def test_zero_grad_set_to_none_between_steps() -> None:
    fast, slow = pair()
    for t in range(4):
        feed((fast, slow), t)
        fast.step()
        slow.step()
        fast.zero_grad(set_to_none=t % 2 == 0)
        slow.zero_grad(set_to_none=t % 2 == 0)
        fast.step()  # no gradient (None) or zero gradients: what eager does
        slow.step()
    assert_agree(fast, slow)


@pytest.mark.usefixtures("cheap_backend")
def test_a_param_group_added_mid_run() -> None:
    fast, slow = pair()
    steps(fast, slow, range(3))
    for optimizer in (fast, slow):
        extra = fresh([(5,)], dtypes=(torch.float32,), seed=9)[0]
        optimizer.add_param_group({"params": [extra], "lr": 3e-2})
    steps(fast, slow, range(3, 6))
    assert_agree(fast, slow)


@pytest.mark.usefixtures("cheap_backend")
def test_a_model_cast_after_construction() -> None:
    models = [torch.nn.Linear(3, 2) for _ in range(2)]
    models[1].load_state_dict(models[0].state_dict())
    fast = REGISTRY["AdamNorm"].torch_class(models[0].parameters(), fused=True)
    slow = REGISTRY["AdamNorm"].torch_class(models[1].parameters(), capturable=True)
    for model in models:
        model.to(torch.bfloat16)
    x = torch.randn(4, 3).to(torch.bfloat16)
    for _ in range(4):
        for model, optimizer in zip(models, (fast, slow), strict=True):
            optimizer.zero_grad()
            model(x).square().sum().backward()
            optimizer.step()
    assert models[0].weight.dtype == torch.bfloat16
    assert_agree(fast, slow, rtol=1e-2, atol=1e-3)


@pytest.mark.usefixtures("cheap_backend")
@pytest.mark.parametrize("fused_first", [True, False], ids=["fused-to-plain", "plain-to-fused"])
def test_state_dicts_between_fused_and_unfused(fused_first: bool) -> None:
    # Three steps in one mode, the state handed over, three in the other: the trajectory
    # of an optimizer that stayed in one mode (the plain one is the foreach path).
    _, whole = pair("DiffGradNorm")
    steps(whole, whole, range(6))
    params = fresh(SHAPES, dtypes=(torch.float32,))
    modes = [{"fused": True}, {}] if fused_first else [{}, {"fused": True}]
    cls = REGISTRY["DiffGradNorm"].torch_class
    first = cls(params, lr=1e-2, on_nonfinite="skip", **modes[0])
    steps(first, first, range(3))
    second = cls(params, lr=1e-2, on_nonfinite="skip", **modes[1])
    second.load_state_dict(first.state_dict())
    assert second.param_groups[0]["fused"] is modes[1].get("fused", None)
    steps(second, second, range(3, 6))
    for p, q in zip(params, whole.param_groups[0]["params"], strict=True):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


@pytest.mark.usefixtures("cheap_backend")
def test_a_float64_scalar_is_compiled_in_its_block() -> None:
    params = fresh([(3,), ()])  # float64: the 0-d one is a view into its block's buffer
    copies = [p.clone() for p in params]
    fast = REGISTRY["Adam"].torch_class(params, fused=True)
    slow = REGISTRY["Adam"].torch_class(copies, capturable=True)
    steps(fast, slow, range(3))
    assert fast._compiled_step is not None
    assert_agree(fast, slow, rtol=0, atol=0)


@pytest.mark.usefixtures("cheap_backend")
def test_a_float64_group_state_runs_eagerly_with_a_warning() -> None:
    # AdaNorm's global e_t is one 0-d tensor of the group, outside the blocks: in float64
    # on the CPU, torch.compile (2.13) would lose its update, so the flat step runs eagerly.
    params = fresh([(3,), (2, 2)])
    copies = [p.clone() for p in params]
    options = {"norm_scope": "global"}
    fast = REGISTRY["AdamNorm"].torch_class(params, fused=True, **options)
    slow = REGISTRY["AdamNorm"].torch_class(copies, capturable=True, **options)
    feed((fast, slow), 0)
    fast.step()
    slow.step()
    feed((fast, slow), 1)
    with pytest.warns(RuntimeWarning, match="0-d float64"):
        fast.step()
    slow.step()
    assert fast._compiled_step is None
    assert_agree(fast, slow, rtol=1e-12, atol=1e-14)


def test_the_float64_workaround_is_still_needed() -> None:
    # Why fused steps a 0-d float64 CPU tensor eagerly: aot_autograd (torch 2.13) drops
    # the in-place write to such a graph input. When this fails, torch has fixed it and
    # optimizers.fused._loses_writes can go.
    torch._dynamo.reset()

    def update(x: torch.Tensor) -> None:
        x.sub_(1.0)

    scalar, vector = torch.tensor(2.0, dtype=torch.float64), torch.full((2,), 2.0)
    compiled = torch.compile(update, fullgraph=True, backend="aot_eager")
    compiled(vector)
    compiled(scalar)
    assert vector.tolist() == [1.0, 1.0]
    assert scalar.item() == 2.0  # the write was lost
