"""The training loop, its probes, the statistics and the claim studies, at toy size."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

import optimizers
from experiments.data import ImageDataset, load_dataset
from experiments.training import statistics
from experiments.training.__main__ import main as training_main
from experiments.training.claims import STUDIES, fidelity, protocol_for, reading, study_verdict
from experiments.training.loop import RunSpec, _subset, train
from experiments.training.probes import (
    OscillationIndex,
    first_moment_input_norm,
    layerwise_step_statistics,
    state_bytes,
)
from experiments.training.protocols import PROTOCOLS
from tests.embedded import subset_fingerprint
from tests.run_interrupts import crash_at
from theory.verdicts import READINGS

TOY = {"epochs": 2, "model": "small_cnn", "width": 0.25, "train_subset": 200}


@pytest.fixture(scope="module")
def subset():
    return load_dataset("cifar10", subset=True)


def toy_spec(optimizer: str = "AdamNorm", seed: int = 0) -> RunSpec:
    protocol = dataclasses.replace(PROTOCOLS["adanorm"].reduced(**TOY), batch_size=50)
    return RunSpec(protocol, optimizer, seed, subset_fingerprint())


def test_a_run_logs_every_epoch_and_its_probes(subset, tmp_path) -> None:
    record = train(toy_spec(), subset, tmp_path)
    assert [e["epoch"] for e in record["history"]] == [1, 2]
    last = record["history"][-1]
    assert np.isfinite(last["train_loss"]) and 0 <= last["test_accuracy"] <= 100
    assert last["mean_first_moment_input_norm"] > 0
    assert last["optimizer_state_bytes"] > 0
    assert last["layer_step_sizes"] and all(row["std"] >= 0 for row in last["layer_step_sizes"])
    saved = json.loads((tmp_path / toy_spec().key / "history.json").read_text())
    assert saved["history"] == json.loads(json.dumps(record["history"]))


def test_an_interrupted_run_resumes_to_the_uninterrupted_result(subset, tmp_path) -> None:
    whole = train(toy_spec(seed=3), subset, tmp_path / "whole")
    with crash_at("checkpoint", 1):
        train(toy_spec(seed=3), subset, tmp_path / "split")
    resumed = train(toy_spec(seed=3), subset, tmp_path / "split")
    for a, b in zip(whole["history"], resumed["history"], strict=True):
        assert a["train_loss"] == b["train_loss"]
        assert a["test_accuracy"] == b["test_accuracy"]


def test_a_finished_run_is_read_back_not_retrained(subset, tmp_path) -> None:
    first = train(toy_spec(), subset, tmp_path)
    (tmp_path / toy_spec().key / "checkpoint.pt").unlink()
    again = train(toy_spec(), subset, tmp_path)
    assert again["history"] == json.loads(json.dumps(first["history"]))


def test_a_training_subset_is_the_first_images_of_each_class_in_data_order() -> None:
    labels = np.array([2, 0, 0, 1, 2, 0, 1, 1, 2, 0, 2, 1])
    images = np.arange(len(labels), dtype=np.uint8)[:, None, None, None].repeat(3, 3)
    data = ImageDataset("toy", ("a", "b", "c"), images, labels, images, labels, "test")
    kept_images, kept_labels = _subset(data, 7)  # 7 // 3 = 2 of each class
    assert kept_images[:, 0, 0, 0].tolist() == [0, 1, 2, 3, 4, 6]
    assert kept_labels.tolist() == [2, 0, 0, 1, 2, 1]
    assert _subset(data, 12)[0] is images and _subset(data, None)[1] is labels


def test_first_moment_input_norm_reports_the_corrected_norm() -> None:
    p = torch.zeros(2)
    optimizer = optimizers.AdamNorm([p], gamma=0.5)
    p.grad = torch.tensor([3.0, 4.0])
    optimizer.step()
    p.grad = torch.tensor([0.3, 0.4])
    optimizer.step()
    expected = 0.5 * 2.5 + 0.5 * 0.5  # e_2 > ‖g_2‖ = 0.5, so ‖s_2‖ = e_2
    assert float(first_moment_input_norm(optimizer)) == pytest.approx(expected)
    plain = optimizers.Adam([p])
    assert float(first_moment_input_norm(plain)) == pytest.approx(0.5)


def test_first_moment_input_norm_is_the_mean_of_the_per_tensor_maxima() -> None:
    # Tensors with their own e_t (scope "tensor"), tensors without (scope "global") and a
    # tensor without a gradient: exactly the per-tensor maxima, stacked and averaged.
    torch.manual_seed(0)
    own, shared = [torch.randn(3, 4), torch.randn(5)], [torch.randn(2, 2), torch.randn(7)]
    idle = torch.randn(3)
    optimizer = optimizers.AdamNorm(
        [{"params": [*own, idle]}, {"params": shared, "norm_scope": "global"}], gamma=0.5
    )
    for scale in (1.0, 0.1):
        for p in own + shared:
            p.grad = scale * torch.randn_like(p)
        optimizer.step()
    per_tensor = [torch.maximum(p.grad.norm(), optimizer.state[p]["norm_ema"]) for p in own]
    per_tensor += [p.grad.norm() for p in shared]
    assert any(bool(optimizer.state[p]["norm_ema"] > p.grad.norm()) for p in own)
    assert torch.equal(first_moment_input_norm(optimizer), torch.stack(per_tensor).mean())


def test_layer_statistics_and_state_size_reflect_the_method() -> None:
    shapes = [(8, 4), (8,)]
    sizes = {}
    for name in ("Adam", "LAdam"):
        params = [torch.randn(s) for s in shapes]
        optimizer = optimizers.REGISTRY[name].torch_class(params)
        for p in params:
            p.grad = torch.randn_like(p)
        optimizer.step()
        sizes[name] = state_bytes(optimizer)
        stats = layerwise_step_statistics(optimizer)
        assert len(stats) == 2
        if name == "LAdam":
            assert all(row["std"] == 0 for row in stats)
    assert sizes["LAdam"] < 0.6 * sizes["Adam"]


def test_oscillation_index_is_path_over_displacement() -> None:
    p = torch.zeros(3)
    index = OscillationIndex([p], samples=3)
    for value in (1.0, -1.0, 2.0):
        p.fill_(value)
        index.update()
    # path 1 + 2 + 3 = 6, displacement 2, for every coordinate
    assert index.value() == pytest.approx(3.0)


def test_oscillation_index_reads_the_same_coordinates_in_any_memory_layout() -> None:
    # What it samples is row-major positions (reshape(-1)[index]): conv weights in
    # channels_last, transposed and offset views, a broadcast tensor and a 0-d tensor read
    # the same coordinates, and go on doing so after a tensor changes its layout.
    torch.manual_seed(1)
    params = [
        torch.randn(8, 4, 3, 3).contiguous(memory_format=torch.channels_last),
        torch.randn(6, 5).t(),
        torch.randn(40)[7:],
        torch.randn(5, 1).expand(5, 4),
        torch.randn(()),
        torch.randn(4, 2),
    ]
    index = OscillationIndex(params, samples=200, seed=2)

    def row_major() -> torch.Tensor:
        return torch.cat([p.reshape(-1)[i] for p, i in index.pieces])

    assert len(index.pieces) == len(params) and torch.equal(index.start, row_major())
    params[0].data = params[0].data.contiguous()
    params[5].data = params[5].data.t().contiguous().t()
    for p in params[:3] + params[4:]:  # (the broadcast one cannot be written in place)
        p.add_(torch.randn(()))
    index.update()
    assert torch.equal(index.previous, row_major())
    assert torch.equal(index.path, (index.previous - index.start).abs())


def test_paired_statistics_on_known_numbers() -> None:
    c = statistics.paired("x", [2.0, 3.0, 4.0], [1.0, 1.0, 1.0])
    assert c.mean == pytest.approx(2.0)
    assert c.sd == pytest.approx(1.0)
    half = 4.302652729911275 / np.sqrt(3)  # t_{0.975, 2} · sd / sqrt(n)
    assert (c.low, c.high) == pytest.approx((2.0 - half, 2.0 + half))
    assert statistics.superiority(c) == "inconclusive"  # the interval reaches below 0
    tight = statistics.paired("t", [2.0, 2.1, 1.9], [1.0, 1.0, 1.0])
    assert statistics.superiority(tight) == "holds"
    assert statistics.superiority(statistics.paired("y", [1, 1, 1], [2.0, 2.1, 1.9])) == "falsified"
    straddle = statistics.paired("z", [1.0, 2.0, 0.0], [1.0, 1.0, 1.0])
    assert statistics.superiority(straddle) == "inconclusive"
    assert (
        statistics.equivalence(statistics.paired("e", [1.0, 1.1, 0.9], [1, 1, 1]), 1.0) == "holds"
    )
    assert statistics.combine(["holds", "inconclusive"]) == "inconclusive"
    assert statistics.combine(["holds", "falsified"]) == "falsified"


def test_reduced_protocol_keeps_the_schedule_fraction() -> None:
    adanorm = PROTOCOLS["adanorm"].reduced(epochs=10)
    assert adanorm.milestones == (8,) and adanorm.model == "resnet18"
    aida = PROTOCOLS["aida"]
    assert aida.optimizer_options("SGDM")["lr"] == 0.1
    assert aida.optimizer_options("AdamW")["weight_decay"] == 1e-2
    assert aida.optimizer_options("Aida") == {"lr": 1e-3, "weight_decay": 5e-4}


def test_every_emp_claim_has_a_study() -> None:
    from pathlib import Path

    claims_file = Path(__file__).resolve().parents[2] / "shared" / "CLAIMS.md"
    expected = {"AN-9", "AN-10", "AN-11", "AN-12", "AN-13", "AN-14", "AN-15", "AB-1", "AR-8",
                "AR-9", "ND-5", "LW-4", "AI-5", "AI-6", "AI-8"}  # fmt: skip
    assert expected <= set(STUDIES)
    if claims_file.exists():
        text = claims_file.read_text()
        for claim in STUDIES:
            assert f"| {claim} |" in text
    for study in STUDIES.values():
        labels = [arm.label for arm in study.arms]
        assert len(labels) == len(set(labels)), study.claim_id
        protocol_for(study, TOY)
        assert set(study.paper.phases) <= {"early", "middle", "late", "end"}, study.claim_id
        assert study.paper.steps > 0


def test_cli_writes_a_verdict_per_claim(tmp_path, capsys) -> None:
    code = training_main(
        ["--claims", "AN-14,AN-9", "--seeds", "2", "--epochs", "1", "--train-subset", "100",
         "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "out"), "--quiet"]
    )  # fmt: skip
    assert code == 0
    payload = json.loads((tmp_path / "out" / "training-reduced.json").read_text())
    verdicts = {c["claim_id"]: c["verdict"] for c in payload["claims"]}
    assert verdicts["AN-9"] == "needs-gpu"
    # A small CNN on 100 images cannot decide a claim about Fig. 3's training: evidence only.
    assert verdicts["AN-14"] == "needs-gpu"
    an14 = next(c for c in payload["claims"] if c["claim_id"] == "AN-14")
    assert an14["evidence"]["reading"] in READINGS
    assert an14["evidence"]["fidelity"]["model"] == "small_cnn (width 0.5)"
    # 100 images (--train-subset) at batch 64 for one epoch: 2 steps, 0.2% of CIFAR-10
    assert an14["evidence"]["train_images"] == 100
    assert an14["evidence"]["fidelity"]["steps"] == 2
    assert an14["evidence"]["fidelity"]["data_fraction"] == 0.002
    assert an14["evidence"]["fidelity"]["matches_scope"] is False
    assert an14["evidence"]["decided_at_this_scale"] in {"holds", "falsified", "inconclusive"}
    for claim in payload["claims"]:
        assert claim["reproduce"].startswith("python -m experiments.training --claims")


def test_fidelity_of_the_reduced_and_the_papers_protocols() -> None:
    """The reduced AI-5 study is 64 steps, 0.08% of the paper's 78,200, inside the
    second-moment warm-up; the paper's protocol matches the claim's scope."""
    study = STUDIES["AI-5"]
    reduced = protocol_for(study, {"epochs": 4, "model": "small_cnn", "width": 0.5,
                                   "train_subset": 2000})  # fmt: skip
    small = fidelity(study.paper, reduced, 2000, 3)
    assert small["steps"] == 64 and small["paper_steps"] == 78_200
    assert small["data_fraction"] == 0.04 and not small["same_model"]
    assert not small["averaging_window_reached"] and not small["matches_scope"]
    assert study_verdict(study, "falsified", small) == "needs-gpu"
    full = fidelity(study.paper, protocol_for(study, None), 50_000, 3)
    assert full["matches_scope"] and full["phases"] == ["early", "middle", "late", "end"]
    assert study_verdict(study, "falsified", full) == "falsified"
    assert reading("holds", small) == "supported"
    late = fidelity(STUDIES["AI-6"].paper, protocol_for(STUDIES["AI-6"], {"epochs": 4}), 50_000, 3)
    assert reading("falsified", late) == "inconclusive"  # the late stage is not reached
