"""Runs trained together by the engine follow the trajectories ``loop.train`` gives them alone
(issue 17 item 4): parameters, optimizer state, probe state and the files of the run.

Looped layout: bitwise (the same kernels in the same order). Stacked layout: in float64 the
parameters and optimizer state agree to 1e-10 relative (the vmapped kernels sum in another
order, ~1e-16 per operation); the logged losses to 1e-6 relative, because both paths compute
the cross-entropy in float32 (``logits.float()``, the bf16-autocast path's choice), so a
last-bit change in a logit can move a float32 loss by an ulp.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest
import torch
from torch import nn

from experiments.data import ImageDataset, load_dataset
from experiments.training.engine import (
    _refuse_random_forward,
    group_for_stacking,
    stack_signature,
    train_together,
)
from experiments.training.loop import CHECKPOINT, HISTORY, METRICS, RunSpec, read_metrics, train
from experiments.training.protocols import PROTOCOLS
from tests.run_interrupts import crash_at

TIMINGS = {"seconds", "images_per_second", "stacked_runs"}
"""Entry fields that measure the machine, not the run."""
OPTIMIZERS = ("AdamNorm", "LAdam", "Aida", "NDAdam")
"""The optimizers with per-tensor reductions: a Norm variant, a layerwise method, Aida, ND-Adam."""
PARAMETER_TOLERANCE = 1e-10
LOSS_TOLERANCE = 1e-6
ZERO_TOLERANCE = 1e-12
"""Absolute, for logged values that are zero up to rounding (LAdam's step-size spread: the
std of one value broadcast over a layer is 0 or ~1e-15, as the mean of the copies rounds)."""


@pytest.fixture(scope="module")
def tiny() -> ImageDataset:
    """The embedded subset with 100 test images: evaluation dominates a toy epoch otherwise."""
    full = load_dataset("cifar10", subset=True)
    return dataclasses.replace(
        full, test_images=full.test_images[:100], test_labels=full.test_labels[:100]
    )


def _specs(data: ImageDataset, diverging: bool = False) -> list[RunSpec]:
    toy = PROTOCOLS["adanorm"].reduced(epochs=2, model="small_cnn", width=0.125, train_subset=40)
    protocol = dataclasses.replace(toy, batch_size=8, milestones=(1,))
    # Another base rate for one run: each run keeps its own schedule.
    faster = dataclasses.replace(protocol, lr=3e-3)
    specs = [
        RunSpec(faster if i == 1 else protocol, name, seed=i, data=data.fingerprint())
        for i, name in enumerate(OPTIMIZERS)
    ]
    if diverging:  # a rate that sends the weights to inf within the first epoch
        specs.append(RunSpec(protocol, "Adam", 7, data.fingerprint(), (("lr", 1e38),)))
    return specs


def _entries(entries: list[dict]) -> list[dict]:
    return [{k: v for k, v in e.items() if k not in TIMINGS} for e in entries]


def _checkpoint(root: Path, spec: RunSpec) -> dict:
    return torch.load(root / spec.key / CHECKPOINT, weights_only=True)


def _flat(tree) -> list[tuple[str, object]]:
    """(path, leaf) of a checkpoint's nested dicts and lists."""
    if isinstance(tree, dict):
        return [(f"{k}/{p}", v) for k, sub in tree.items() for p, v in _flat(sub)]
    if isinstance(tree, (list, tuple)):
        return [(f"{i}/{p}", v) for i, sub in enumerate(tree) for p, v in _flat(sub)]
    return [("", tree)]


def _assert_same_checkpoint(mine: dict, theirs: dict, tolerance: float) -> None:
    ours, other = _flat(mine), _flat(theirs)
    assert [p for p, _ in ours] == [p for p, _ in other]
    for (path, a), (_, b) in zip(ours, other, strict=True):
        if isinstance(a, torch.Tensor):
            assert a.dtype == b.dtype and a.shape == b.shape, path
            if tolerance == 0:  # bitwise, NaN where the other has NaN (a diverged run)
                torch.testing.assert_close(a, b, rtol=0, atol=0, equal_nan=True, msg=path)
            elif a.numel():
                scale = max(float(b.double().nan_to_num().abs().max()), 1.0)
                torch.testing.assert_close(
                    a, b, rtol=0, atol=tolerance * scale, equal_nan=True, msg=path
                )
        else:
            assert a == b, path


def _close(a, b, tolerance: float) -> bool:
    if isinstance(a, dict):
        bad = [k for k in a if k not in b or not _close(a[k], b[k], tolerance)]
        assert a.keys() == b.keys() and not bad, (bad, a, b)
        return True
    if isinstance(a, list):
        return len(a) == len(b) and all(_close(x, y, tolerance) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):  # tolerance 0: equal (NaN equals NaN)
        return (math.isnan(a) and math.isnan(b)) or math.isclose(
            a, b, rel_tol=tolerance, abs_tol=ZERO_TOLERANCE if tolerance else 0.0
        )
    return a == b


def test_looped_runs_match_single_runs_bitwise(tiny: ImageDataset, tmp_path: Path) -> None:
    specs = _specs(tiny, diverging=True)
    together = train_together(specs, tiny, tmp_path / "together", layout="looped")
    for spec, record in zip(specs, together, strict=True):
        alone = train(spec, tiny, tmp_path / "alone")
        assert _close(_entries(record["history"]), _entries(alone["history"]), 0)
        assert {e["stacked_runs"] for e in record["history"]} <= {4, 5}
        for root in ("alone", "together"):  # the files the report and resume read
            assert (tmp_path / root / spec.key / HISTORY).exists()
        assert _close(
            _entries(read_metrics(tmp_path / "together" / spec.key)),
            _entries(read_metrics(tmp_path / "alone" / spec.key)),
            0,
        )
        _assert_same_checkpoint(
            _checkpoint(tmp_path / "together", spec), _checkpoint(tmp_path / "alone", spec), 0
        )
    # The diverging run stopped in epoch 1; the others went on to the end.
    *others, diverged = together
    assert diverged["history"][-1]["diverged"] and len(diverged["history"]) == 1
    assert all(len(r["history"]) == 2 and not r["history"][-1].get("diverged") for r in others)


@pytest.fixture
def float64():
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


def test_stacked_runs_match_single_runs_to_rounding(
    tiny: ImageDataset, tmp_path: Path, float64: None
) -> None:
    specs = _specs(tiny, diverging=True)  # a run leaving the stack in mid-epoch
    together = train_together(specs, tiny, tmp_path / "together", layout="stacked")
    assert together[-1]["history"][-1]["diverged"]
    for spec, record in zip(specs, together, strict=True):
        alone = train(spec, tiny, tmp_path / "alone")
        assert _close(_entries(record["history"]), _entries(alone["history"]), LOSS_TOLERANCE)
        _assert_same_checkpoint(
            _checkpoint(tmp_path / "together", spec),
            _checkpoint(tmp_path / "alone", spec),
            PARAMETER_TOLERANCE,
        )


def test_an_interrupted_engine_resumes_each_run_where_it_stopped(
    tiny: ImageDataset, tmp_path: Path
) -> None:
    specs = _specs(tiny)
    # Killed right after the first run's epoch-1 checkpoint: that run resumes at epoch 2,
    # the others (whose epoch 1 was lost) train epoch 1 again, then all go on together.
    with crash_at("checkpoint", 1):
        train_together(specs, tiny, tmp_path / "split", layout="looped")
    assert len(json.loads((tmp_path / "split" / specs[0].key / HISTORY).read_text())["history"])
    assert not (tmp_path / "split" / specs[1].key / CHECKPOINT).exists()
    resumed = train_together(specs, tiny, tmp_path / "split", layout="looped")
    assert [{e["stacked_runs"] for e in r["history"]} for r in resumed] == [
        {4}, {3, 4}, {3, 4}, {3, 4}
    ]  # fmt: skip
    for spec, record in zip(specs, resumed, strict=True):
        alone = train(spec, tiny, tmp_path / "alone")
        assert _entries(record["history"]) == _entries(json.loads(json.dumps(alone["history"])))
        assert (tmp_path / "split" / spec.key / METRICS).read_text().count("\n") == 2
        _assert_same_checkpoint(
            _checkpoint(tmp_path / "split", spec), _checkpoint(tmp_path / "alone", spec), 0
        )
    # Killed in mid-epoch: the stacked engine redoes the epoch and ends where an
    # uninterrupted stacked run ends.
    whole = train_together(specs, tiny, tmp_path / "whole")
    with crash_at("step", 2, 3):
        train_together(specs, tiny, tmp_path / "mid")
    again = train_together(specs, tiny, tmp_path / "mid")
    for spec, a, b in zip(specs, whole, again, strict=True):
        assert _entries(a["history"]) == _entries(b["history"])
        _assert_same_checkpoint(
            _checkpoint(tmp_path / "mid", spec), _checkpoint(tmp_path / "whole", spec), 0
        )
    # A finished set is read back, not trained again.
    assert [r["history"] for r in train_together(specs, tiny, tmp_path / "mid")] == [
        r["history"] for r in again
    ]


def test_runs_that_cannot_share_a_stack_are_refused(tiny: ImageDataset, tmp_path: Path) -> None:
    specs = _specs(tiny)
    wider = dataclasses.replace(specs[0], protocol=dataclasses.replace(specs[0].protocol, width=1))
    assert stack_signature(wider) != stack_signature(specs[0])
    assert group_for_stacking([specs[0], wider, specs[1]]) == [[specs[0], specs[1]], [wider]]
    with pytest.raises(ValueError, match="must share model"):
        train_together([specs[0], wider], tiny, tmp_path)
    with pytest.raises(ValueError, match="appears twice"):
        train_together([specs[0], specs[0]], tiny, tmp_path)
    with pytest.raises(ValueError, match="layout"):
        train_together(specs, tiny, tmp_path, layout="grouped")  # type: ignore[arg-type]
    other = dataclasses.replace(specs[0], data="cifar10-5000-000000000000")
    with pytest.raises(ValueError, match="is a run on data"):
        train_together([other], tiny, tmp_path)
    # Dropout would draw every run's masks from one generator: refused, not silently shared.
    with pytest.raises(ValueError, match="draws random numbers"):
        _refuse_random_forward(nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.1)), "a run")
    _refuse_random_forward(nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.0)), "a run")


def test_stacked_batches_are_each_runs_own(tiny: ImageDataset) -> None:
    from experiments.training.loop import run_loaders

    protocol = _specs(tiny)[0].protocol
    seeds = [0, 5, 9]
    shared, _ = run_loaders(tiny, protocol, seeds[0], torch.device("cpu"))
    own = [run_loaders(tiny, protocol, seed, torch.device("cpu"))[0] for seed in seeds]
    for epoch in (0, 3):
        stacked = list(shared.iter_stacked_epoch(seeds, epoch))
        assert len(stacked) == len(own[0])
        for i, loader in enumerate(own):
            for (images, labels), (mine, my_labels) in zip(
                stacked, loader.iter_epoch(epoch), strict=True
            ):
                assert torch.equal(images[i], mine) and torch.equal(labels[i], my_labels)
            assert all(
                torch.equal(a, b)
                for (a, _), (b, _) in zip(
                    shared.with_seed(seeds[i]).iter_epoch(epoch),
                    loader.iter_epoch(epoch),
                    strict=True,
                )
            )


def test_a_study_trains_its_arms_and_seeds_through_the_engine(
    tiny: ImageDataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """run_study (the training stage) hands every arm x seed to the engine in stacks and
    reads each run's record from it: the same record that train() gives the run alone."""
    from experiments.training import __main__ as stage
    from experiments.training.claims import STUDIES

    study = STUDIES["AN-14"]
    scale = {"epochs": 1, "model": "small_cnn", "width": 0.125, "train_subset": 40}
    stacks_trained: list[int] = []

    def counted(stack, *args, **kwargs):
        stacks_trained.append(len(stack))
        return train_together(stack, *args, **kwargs)

    monkeypatch.setattr(stage, "train_together", counted)
    stage.run_study(study, "reduced", scale, [0, 1], tiny, tmp_path / "study", "cpu", quiet=True)
    assert stacks_trained == [len(study.arms) * 2]
    protocol = stage.protocol_for(study, scale)
    for arm in study.arms:
        for seed in (0, 1):
            spec = arm.spec(protocol, seed, tiny.fingerprint())
            alone = train(spec, tiny, tmp_path / "alone")
            together = json.loads((tmp_path / "study" / spec.key / HISTORY).read_text())
            assert _entries(together["history"]) == _entries(
                json.loads(json.dumps(alone["history"]))
            )
