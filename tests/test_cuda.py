"""On CUDA every optimizer follows its CPU trajectory (skipped where there is no CUDA)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from optimizers.registry import REGISTRY

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")

SHAPES = [(8, 4, 3, 3), (8,), (10, 8), (), (1,)]


def trajectory(name: str, device: str, foreach: bool) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    params = [torch.randn(s, generator=gen, dtype=torch.float64).to(device) for s in SHAPES]
    optimizer = REGISTRY[name].torch_class(params, lr=1e-2, foreach=foreach)
    for t in range(30):
        scale = 1e-2 if t % 7 in (3, 4) else 1.0
        for p in params:
            p.grad = (scale * torch.randn(p.shape, generator=gen, dtype=torch.float64)).to(device)
        optimizer.step()
    return [p.cpu() for p in params]


@pytest.mark.parametrize("foreach", [True, False])
@pytest.mark.parametrize("name", list(REGISTRY))
def test_cuda_matches_cpu(name: str, foreach: bool) -> None:
    for on_gpu, on_cpu in zip(
        trajectory(name, "cuda", foreach), trajectory(name, "cpu", foreach), strict=True
    ):
        torch.testing.assert_close(on_gpu, on_cpu, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("name", list(REGISTRY))
def test_state_dict_moves_between_devices(name: str) -> None:
    p = torch.randn(6, 3, device="cuda")
    optimizer = REGISTRY[name].torch_class([p])
    p.grad = torch.randn_like(p)
    optimizer.step()
    state = optimizer.state_dict()
    q = p.detach().cpu().clone()
    restored = REGISTRY[name].torch_class([q])
    restored.load_state_dict(state)
    for value in restored.state[q].values():
        if isinstance(value, torch.Tensor) and value.ndim > 0:
            assert value.device.type == "cpu"
    q.grad = p.grad.cpu()
    restored.step()


def test_engine_trains_a_study_on_cuda(tmp_path) -> None:
    """The stacked engine's CUDA path (bf16 autocast, channels_last, batched evaluation) runs
    and logs what loop.train logs; bf16 leaves ~1e-2 between the two paths, so the numbers
    are compared loosely and the bitwise checks stay with tests/test_engine.py on the CPU."""
    from experiments.data import load_dataset
    from experiments.training.engine import train_together
    from experiments.training.loop import finished_record, train
    from tests.test_engine import _specs

    full = load_dataset("cifar10", subset=True)
    data = dataclasses.replace(
        full, test_images=full.test_images[:100], test_labels=full.test_labels[:100]
    )
    specs = _specs(data)
    together = train_together(specs, data, tmp_path / "together", device="cuda")
    for spec, record in zip(specs, together, strict=True):
        alone = train(spec, data, tmp_path / "alone", device="cuda")
        assert finished_record(spec, tmp_path / "together") is not None
        for mine, theirs in zip(record["history"], alone["history"], strict=True):
            assert set(mine) - {"stacked_runs"} == set(theirs)
            assert mine["train_loss"] == pytest.approx(theirs["train_loss"], rel=0.05)


def run_mode(name: str, device: str, **options) -> tuple[list[torch.Tensor], object]:
    """A float32 run with a non-finite gradient at step 5, in one execution mode."""
    gen = torch.Generator().manual_seed(0)
    params = [torch.randn(s, generator=gen).to(device) for s in SHAPES]
    optimizer = REGISTRY[name].torch_class(params, lr=1e-2, on_nonfinite="skip", **options)
    for t in range(12):
        for p in params:
            p.grad = torch.randn(p.shape, generator=gen).to(device)
        if t == 5:
            params[1].grad[0] = float("nan")
        optimizer.step()
    return [p.cpu() for p in params], optimizer


@pytest.mark.parametrize("name", list(REGISTRY))
def test_capturable_on_cuda_follows_the_cpu_definition(name: str) -> None:
    on_gpu, optimizer = run_mode(name, "cuda", capturable=True)
    on_cpu, _ = run_mode(name, "cpu", foreach=False)
    for a, b in zip(on_gpu, on_cpu, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    assert optimizer.skipped_steps.device.type == "cuda" and int(optimizer.skipped_steps) == 1
    # No host synchronisation inside step(): CUDA's sync debug mode would raise on one.
    torch.cuda.set_sync_debug_mode("error")
    try:
        optimizer.step()
    finally:
        torch.cuda.set_sync_debug_mode("default")


@pytest.mark.parametrize("name", ["Adam", "AdamNorm", "Aida"])
def test_fused_on_cuda_compiles_with_triton_and_follows_capturable(name: str) -> None:
    fused, optimizer = run_mode(name, "cuda", fused=True)
    captured, _ = run_mode(name, "cuda", capturable=True)
    assert optimizer._compiled_step is not None
    for a, b in zip(fused, captured, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
