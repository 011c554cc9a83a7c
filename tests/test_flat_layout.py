"""The flat layout of the fused step (``optimizers/flat.py``), run without a compiler.

``fused=True`` compiles :func:`optimizers.flat.masked_step`; what the compiler does to it
is checked in tests/test_fused.py. Here ``torch.compile`` is replaced by the function
itself, so every optimizer and option set can be run over the flat layout in seconds:
the same recipe, on one entry per block, with per-tensor reductions over segments. It must
give the single-tensor definition's trajectory (to the rounding of float64 partial sums)
and keep the contract a ``torch.optim`` optimizer has with the model: parameters,
gradients and state where the user put them, in their memory format.
"""

from __future__ import annotations

import pytest
import torch

from optimizers import flat, fused
from optimizers.harness import (
    battery,
    max_relative_difference,
    reference_trajectory,
    tolerance_for,
    torch_trajectory,
)
from optimizers.registry import REGISTRY
from tests.test_capturable import NAMES, OPTION_CASES
from tests.test_fast_paths import fresh, gradients


@pytest.fixture(autouse=True)
def uncompiled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fused.torch, "compile", lambda fn, **_: fn)


def run(name: str, steps: int = 12, *, params=None, missing=(), nan_at=(), **options):
    """Parameters after ``steps`` steps; ``missing``: (step, index) pairs with no gradient."""
    params = fresh() if params is None else params
    optimizer = REGISTRY[name].torch_class(params, lr=1e-2, on_nonfinite="skip", **options)
    for t in range(steps):
        for i, (p, g) in enumerate(zip(params, gradients(t, params), strict=True)):
            if t in nan_at and i == 1:
                g = g.clone().fill_(float("nan"))
            p.grad = None if (t, i) in missing else g
        optimizer.step()
    return params, optimizer


def step_together(runs, ts) -> None:
    """Step ``t``'s gradients into every ``(params, optimizer)`` of ``runs``, then its step."""
    for t in ts:
        for params, optimizer in runs:
            for p, g in zip(params, gradients(t, params), strict=True):
                p.grad = g
            optimizer.step()


def assert_close(left, right, **tolerance) -> None:
    for a, b in zip(left, right, strict=True):
        torch.testing.assert_close(a, b, **({"rtol": 1e-10, "atol": 1e-12} | tolerance))


@pytest.mark.filterwarnings("ignore:.*0-d float64 CPU:RuntimeWarning")
@pytest.mark.parametrize(("name", "options"), OPTION_CASES, ids=str)
def test_the_flat_step_follows_the_single_tensor_definition(name: str, options: dict) -> None:
    # Steps 3 and 4 leave gradient 2 out (then its tensor's step count falls behind, and
    # the block's counts are no longer uniform); step 6 has a NaN gradient (skipped).
    missing = {(3, 2), (4, 2)}
    single, reference = run(name, foreach=False, missing=missing, nan_at=(6,), **options)
    flat_params, optimizer = run(name, fused=True, missing=missing, nan_at=(6,), **options)
    assert_close(flat_params, single)
    assert int(optimizer.skipped_steps) == reference.skipped_steps == 1
    for p, q in zip(flat_params, single, strict=True):
        assert int(optimizer.state[p]["step"]) == reference.state[q]["step"]
    assert optimizer._flat_layouts, "the fused step did not run over the flat layout"


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=str)
@pytest.mark.parametrize("name", NAMES)
def test_half_precision_blocks_follow_the_definition(name: str, dtype: torch.dtype) -> None:
    # Blocks of float16/bfloat16 tensors beside float32 ones: statistics widened as in the
    # definition, so the trajectories agree to within rounding in the narrow dtype (the
    # capturable form of a unit may round one operation differently: two ulps).
    def trajectory(**options) -> list[torch.Tensor]:
        params = fresh([(4, 3), (3,), (2, 2, 3, 3), (), (5, 1, 2)], dtypes=(dtype, torch.float32))
        return run(name, steps=10, params=params, **options)[0]

    worst = max(
        float(((a.double() - b.double()).abs() / b.double().abs().clamp(min=1.0)).max())
        for a, b in zip(trajectory(fused=True), trajectory(foreach=False), strict=True)
    )
    assert worst <= 2 * torch.finfo(dtype).eps, worst


@pytest.mark.parametrize("name", NAMES)
def test_the_flat_step_matches_the_float64_reference(name: str) -> None:
    scenario = battery(20, seed=5, shapes=[(), (7,), (5, 3), (1,), (2, 3, 2, 2)])
    ours = torch_trajectory(name, scenario, fused=True)
    reference = reference_trajectory(name, scenario)
    assert max_relative_difference(ours, reference) <= tolerance_for(torch.float64)


def test_parameters_gradients_and_state_are_views_into_one_buffer_per_block() -> None:
    conv = torch.randn(6, 4, 3, 3).contiguous(memory_format=torch.channels_last)
    params = [conv, torch.randn(6), torch.randn(5, 7), torch.randn(())]
    values = [p.clone() for p in params]
    optimizer = REGISTRY["AdamNorm"].torch_class(params, lr=1e-2, fused=True)
    for _ in range(2):
        for p in params:
            p.grad = torch.ones_like(p)
        optimizer.step()
    (layout,) = optimizer._flat_layouts.values()
    assert sorted(len(block.params) for block in layout.blocks) == [2, 2]  # ndim ≥ 2 or not
    for block in layout.blocks:
        storage = block.tensors["values"].untyped_storage().data_ptr()
        for p in block.params:
            assert p.untyped_storage().data_ptr() == storage
            assert p.grad.untyped_storage().data_ptr() == block.tensors["grads"].data_ptr()
            m = optimizer.state[p]["exp_avg"]
            assert m.untyped_storage().data_ptr() == block.tensors["state/exp_avg"].data_ptr()
            assert m.stride() == p.stride()
    assert conv.is_contiguous(memory_format=torch.channels_last)
    # Both steps moved every parameter; nothing else was written into the model's tensors.
    assert all(not torch.equal(p, v) for p, v in zip(params, values, strict=True))
    # A per-tensor state entry is a 0-d view of its tensor's first chunk: the step count.
    assert all(int(optimizer.state[p]["step"]) == 2 for p in params)


def test_padding_stays_zero_and_the_layout_is_kept_between_steps() -> None:
    params = fresh([(3, 5), (7,), (2, 2, 3)], dtypes=(torch.float32,))
    optimizer = REGISTRY["Aida"].torch_class(params, lr=1e-2, fused=True)
    layouts = []
    for t in range(5):
        for p, g in zip(params, gradients(t, params), strict=True):
            p.grad = g
        optimizer.step()
        layouts.append(next(iter(optimizer._flat_layouts.values()), None))
    assert layouts[1] is not None and all(layout is layouts[1] for layout in layouts[1:])
    for block in layouts[-1].blocks:
        padding = ~block.tensors["valid"]
        for name, buffer in block.tensors.items():
            if name in ("values", "grads", "state/exp_avg"):
                assert not buffer[padding].any(), name


def test_a_replaced_gradient_is_copied_in_and_zero_grad_keeps_the_views() -> None:
    model = torch.nn.Linear(4, 3)
    optimizer = REGISTRY["Adam"].torch_class(model.parameters(), lr=1e-2, fused=True)
    x = torch.randn(8, 4)
    for _ in range(2):
        optimizer.zero_grad(set_to_none=True)  # backward allocates new gradients
        model(x).square().sum().backward()
        optimizer.step()
    (layout,) = optimizer._flat_layouts.values()
    buffers = {b.tensors["grads"].data_ptr() for b in layout.blocks}

    def in_buffers() -> bool:
        return all(p.grad.untyped_storage().data_ptr() in buffers for p in model.parameters())

    assert in_buffers()  # the replaced gradients were copied in, p.grad points at the views
    optimizer.zero_grad()  # under fused: zeroes the views in place (set_to_none=False)
    assert in_buffers() and all(not p.grad.any() for p in model.parameters())
    model(x).square().sum().backward()  # and backward accumulates into them
    assert in_buffers()
    previous = [optimizer.state[p]["exp_avg"].clone() for p in model.parameters()]
    taken = [p.grad.clone() for p in model.parameters()]
    optimizer.step()
    for p, m, g in zip(model.parameters(), previous, taken, strict=True):
        torch.testing.assert_close(optimizer.state[p]["exp_avg"], m.lerp(g, 0.1))


def test_state_dicts_are_copies_and_loading_rebuilds_the_layout() -> None:
    params = fresh([(3, 4), (4,)], dtypes=(torch.float32,))
    twin = [p.clone() for p in params]
    optimizer = REGISTRY["DiffGradNorm"].torch_class(params, lr=1e-2, fused=True)
    plain = REGISTRY["DiffGradNorm"].torch_class(twin, lr=1e-2)
    step_together([(params, optimizer), (twin, plain)], range(3))
    saved = optimizer.state_dict()
    m = saved["state"][0]["exp_avg"]
    assert m.untyped_storage().nbytes() == m.numel() * m.element_size()  # not the buffer
    before = m.clone()
    for p, g in zip(params, gradients(3, params), strict=True):
        p.grad = g
    optimizer.step()
    assert torch.equal(m, before)  # the saved state did not move with the step
    optimizer.load_state_dict(plain.state_dict())
    assert not optimizer._flat_layouts
    with torch.no_grad():
        for p, q in zip(params, twin, strict=True):
            p.copy_(q)
    step_together([(params, optimizer), (twin, plain)], range(4, 7))
    assert_close(params, twin, rtol=1e-5, atol=1e-6)


def test_a_model_moved_to_another_memory_format_is_laid_out_again() -> None:
    models = [torch.nn.Conv2d(3, 4, 3) for _ in range(2)]
    models[1].load_state_dict(models[0].state_dict())
    fast = REGISTRY["AdamNorm"].torch_class(models[0].parameters(), lr=1e-2, fused=True)
    slow = REGISTRY["AdamNorm"].torch_class(models[1].parameters(), lr=1e-2)
    x = torch.randn(2, 3, 5, 5)

    def steps(count: int) -> None:
        for _ in range(count):
            for model, optimizer in zip(models, (fast, slow), strict=True):
                optimizer.zero_grad()
                model(x).square().sum().backward()
                optimizer.step()

    steps(2)
    first = next(iter(fast._flat_layouts.values()))
    for model in models:
        model.to(memory_format=torch.channels_last)  # new weight tensors
    steps(2)
    second = next(iter(fast._flat_layouts.values()))
    assert second is not first
    weight = models[0].weight
    assert weight.is_contiguous(memory_format=torch.channels_last)
    block = next(b for b in second.blocks if b.params[0] is weight)
    assert weight.untyped_storage().data_ptr() == block.tensors["values"].data_ptr()
    assert_close(list(models[0].parameters()), list(models[1].parameters()), rtol=1e-5, atol=1e-6)


def test_ndadam_lays_out_one_row_per_chunk() -> None:
    weight = torch.randn(3, 5, 2, 2).contiguous(memory_format=torch.channels_last)
    params = [weight, torch.randn(3)]
    twin = [p.clone() for p in params]
    fast = REGISTRY["NDAdam"].torch_class(params, lr=1e-2, fused=True)
    slow = REGISTRY["NDAdam"].torch_class(twin, lr=1e-2, foreach=False)
    step_together([(params, fast), (twin, slow)], range(4))
    assert_close(params, twin, rtol=1e-6, atol=1e-7)
    block = next(b for b in next(iter(fast._flat_layouts.values())).blocks if b.params[0] is weight)
    assert block.rows and block.chunk == 20  # one row of 5·2·2 values per chunk, no padding
    assert weight.is_contiguous(memory_format=torch.channels_last)
    v = fast.state[weight]["exp_avg_sq"]  # one value per row, a view of the row's first chunk
    assert v.shape == (3, 1, 1, 1)
    torch.testing.assert_close(v, slow.state[twin[0]]["exp_avg_sq"], rtol=1e-6, atol=0)
    rows = torch.linalg.vector_norm(weight.reshape(3, -1), dim=1)
    torch.testing.assert_close(rows, torch.ones(3), rtol=1e-6, atol=0)


def test_a_state_entry_of_another_shape_is_refused_clearly() -> None:
    params = [torch.randn(4, 3)]
    optimizer = REGISTRY["Adam"].torch_class(params, lr=1e-2, fused=True)
    params[0].grad = torch.ones(4, 3)
    optimizer.step()
    optimizer.state[params[0]]["odd"] = torch.zeros(2, 2)
    with pytest.raises(flat.FlatLayoutError, match="'odd'"):
        optimizer.step()
