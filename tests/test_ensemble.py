"""Runs trained together in a ModelStack follow the trajectories they follow alone."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from experiments.models.registry import build_model
from experiments.training.ensemble import ModelStack
from optimizers.registry import REGISTRY

MEMBERS, BATCH, STEPS = 3, 6, 3
# float64 trajectories of batched and per-run kernels differ only in summation order.
TOLERANCE = 1e-10


def _member(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return build_model("small_cnn", num_classes=10, width=0.125).double()


def _batches(seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(1000 + seed)
    return [
        (
            torch.randn(BATCH, 3, 16, 16, generator=generator, dtype=torch.float64),
            torch.randint(0, 10, (BATCH,), generator=generator),
        )
        for _ in range(STEPS)
    ]


def _train_alone(name: str, seed: int) -> tuple[nn.Module, torch.optim.Optimizer]:
    model = _member(seed)
    optimizer = REGISTRY[name].torch_class(model.parameters(), lr=1e-2)
    model.train()
    for images, labels in _batches(seed):
        optimizer.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(images), labels).backward()
        optimizer.step()
    return model, optimizer


def _train_together(name: str) -> list[tuple[nn.Module, torch.optim.Optimizer]]:
    members = [_member(seed) for seed in range(MEMBERS)]
    optimizers = [REGISTRY[name].torch_class(m.parameters(), lr=1e-2) for m in members]
    stack = ModelStack(members).train()
    batches = [_batches(seed) for seed in range(MEMBERS)]
    for step in range(STEPS):
        images = torch.stack([batches[i][step][0] for i in range(MEMBERS)])
        labels = torch.stack([batches[i][step][1] for i in range(MEMBERS)])
        for optimizer in optimizers:
            optimizer.zero_grad(set_to_none=True)
        logits = stack(images)
        # Each member's loss is its own mean; the sum separates because members share nothing.
        loss = sum(nn.functional.cross_entropy(logits[i], labels[i]) for i in range(MEMBERS))
        loss.backward()
        for optimizer in optimizers:
            optimizer.step()
    return list(zip(members, optimizers, strict=True))


def _relative_gap(a: torch.Tensor, b: torch.Tensor) -> float:
    scale = max(float(a.abs().max()), 1.0) if a.numel() else 1.0
    return float((a.double() - b.double()).abs().max()) / scale if a.numel() else 0.0


# The optimizers with per-tensor reductions: a Norm variant, a layerwise method, Aida, ND-Adam.
@pytest.mark.parametrize("name", ["AdamNorm", "LAdam", "Aida", "NDAdam"])
def test_members_follow_their_single_run_trajectories(name: str) -> None:
    together = _train_together(name)
    for seed, (member, optimizer) in enumerate(together):
        alone, alone_optimizer = _train_alone(name, seed)
        for (key, mine), (_, theirs) in zip(
            member.state_dict().items(), alone.state_dict().items(), strict=True
        ):
            assert _relative_gap(mine, theirs) <= TOLERANCE, (name, seed, key)
        states = optimizer.state_dict()["state"]
        alone_states = alone_optimizer.state_dict()["state"]
        assert states.keys() == alone_states.keys()
        for index, state in states.items():
            for key, value in state.items():
                other = alone_states[index][key]
                if isinstance(value, torch.Tensor):
                    assert _relative_gap(value, other) <= TOLERANCE, (name, seed, index, key)
                else:
                    assert value == other, (name, seed, index, key)


def test_members_keep_their_own_batch_norm_statistics() -> None:
    members = [_member(seed) for seed in range(2)]
    stack = ModelStack(members).train()
    stack(torch.stack([torch.zeros(4, 3, 16, 16), torch.ones(4, 3, 16, 16)]).double())
    first, second = (m.features[1].running_mean for m in members)
    assert torch.equal(first, torch.zeros_like(first))  # a zero image gives zero conv outputs
    assert not torch.equal(second, torch.zeros_like(second))
    assert all(int(m.features[1].num_batches_tracked) == 1 for m in members)


def test_eval_mode_uses_running_statistics() -> None:
    members = [_member(seed) for seed in range(2)]
    stack = ModelStack(members).eval()
    images = torch.randn(2, 4, 3, 16, 16, dtype=torch.float64)
    with torch.no_grad():
        together = stack(images)
        alone = [m(images[i]) for i, m in enumerate(members)]
    for i in range(2):
        assert _relative_gap(together[i], alone[i]) <= TOLERANCE


def test_bad_stacks_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one member"):
        ModelStack([])
    narrow = build_model("small_cnn", num_classes=10, width=0.125)
    wide = build_model("small_cnn", num_classes=10, width=0.25)
    with pytest.raises(ValueError, match="member 1 differs"):
        ModelStack([narrow, wide])
    stack = ModelStack([narrow, build_model("small_cnn", num_classes=10, width=0.125)])
    with pytest.raises(ValueError, match="one batch per member"):
        stack(torch.zeros(3, 1, 3, 16, 16))
    with pytest.raises(TypeError, match="before building"):
        stack.to(torch.float64)


def test_throughput_benchmark_writes_both_layouts(tmp_path) -> None:
    import json

    from experiments.training import throughput

    out = tmp_path / "throughput.json"
    arguments = "--width 0.125 --batch 4 --runs 1,2 --optimizers AdamNorm --steps 1 --warmup 1"
    assert throughput.main([*arguments.split(), "--peak-tflops", "1", "--out", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert {(r["runs"], r["layout"]) for r in rows} == {
        (1, "separate"), (1, "stacked"), (2, "separate"), (2, "stacked"),
    }  # fmt: skip
    for row in rows:
        assert row["images_per_second"] == pytest.approx(row["runs"] * 4 / row["step_seconds"])
        assert 0 < row["optimizer_share"] < 1 and 0 < row["probe_share"] < 1
        assert row["optimizer_share"] + row["probe_share"] < 1  # the forward and backward too
        assert row["flops_per_image"] > 0 and row["mfu"] > 0
    assert "| AdamNorm | 2 | stacked |" in out.with_suffix(".md").read_text()


def test_throughput_benchmark_passes_options_to_every_optimizer_and_times_one_layout(
    tmp_path,
) -> None:
    import json

    from experiments.training import throughput

    out = tmp_path / "throughput.json"
    arguments = "--width 0.125 --batch 4 --runs 2 --optimizers Adam,Aida --steps 1 --warmup 1"
    options = ["--layouts", "stacked", "--options", "foreach=False,weight_decay=0.5"]
    assert throughput.main([*arguments.split(), *options, "--out", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [(r["optimizer"], r["layout"]) for r in rows] == [
        ("Adam", "stacked"),
        ("Aida", "stacked"),
    ]
    assert all(r["options"] == {"foreach": False, "weight_decay": 0.5} for r in rows)
    assert "optimizer options" in out.with_suffix(".md").read_text()
    # The options reach the optimizers the rows time.
    arm = throughput.Arm("small_cnn", 0.125, 4, "Adam", 2, torch.device("cpu"), {"foreach": False})
    assert all(m.optimizer.param_groups[0]["foreach"] is False for m in arm.members)


@pytest.mark.parametrize(
    "arguments",
    [
        "--runs 0", "--optimizers Nope", "--width -1", "--steps 0", "--layouts grouped",
        "--layouts ,", "--options lr", "--compile-model fast",
        "--compile-model default",  # compiles each run's model: only the separate layout
    ],
)  # fmt: skip
def test_throughput_benchmark_refuses_bad_arguments(arguments: str) -> None:
    from experiments.training import throughput

    with pytest.raises(SystemExit) as exit_info:
        throughput.parse_args(arguments.split())
    assert exit_info.value.code == 2
