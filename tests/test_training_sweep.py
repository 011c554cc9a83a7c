"""Per-epoch metrics lines, the sweep backends (sequential, pool, Ray) and torch.compile."""

from __future__ import annotations

import dataclasses
import json
import sys
import time

import pytest
import torch

from experiments.data import load_dataset
from experiments.training import loop
from experiments.training.__main__ import main as training_main
from experiments.training.loop import METRICS, RunSpec, read_metrics, train
from experiments.training.protocols import PROTOCOLS
from experiments.training.sweep import BackendUnavailable, check_backend, run_sweep
from tests.embedded import subset_fingerprint
from tests.run_interrupts import crash_at

TOY = {"epochs": 2, "model": "small_cnn", "width": 0.25, "train_subset": 200}


@pytest.fixture(scope="module")
def subset():
    return load_dataset("cifar10", subset=True)


def toy_spec(optimizer: str = "AdamNorm", seed: int = 0, epochs: int = 2) -> RunSpec:
    protocol = dataclasses.replace(
        PROTOCOLS["adanorm"].reduced(**TOY), batch_size=50, epochs=epochs
    )
    return RunSpec(protocol, optimizer, seed, subset_fingerprint())


def assert_metrics_match_history(run_dir, epochs: int) -> None:
    lines = read_metrics(run_dir)
    history = json.loads((run_dir / "history.json").read_text())["history"]
    assert [line["epoch"] for line in lines] == list(range(1, epochs + 1))
    assert lines == history
    for line in lines:
        for field in ("train_loss", "test_accuracy", "mean_first_moment_input_norm",
                      "oscillation_index", "optimizer_state_bytes", "layer_step_sizes",
                      "seconds", "images_per_second"):  # fmt: skip
            assert field in line


def test_metrics_lines_survive_a_resume_once_per_epoch(subset, tmp_path) -> None:
    with crash_at("checkpoint", 1):
        train(toy_spec(epochs=2), subset, tmp_path)
    run_dir = tmp_path / toy_spec().key
    assert_metrics_match_history(run_dir, 1)
    train(toy_spec(epochs=2), subset, tmp_path)
    assert_metrics_match_history(run_dir, 2)


def test_a_crash_before_the_checkpoint_does_not_count_an_epoch_twice(
    subset, tmp_path, monkeypatch
) -> None:
    whole = train(toy_spec(seed=1, epochs=3), subset, tmp_path / "whole")
    real_save, saves = torch.save, []

    def crash_on_the_second_checkpoint(obj, path, *args, **kwargs):
        saves.append(path)
        if len(saves) == 2:
            raise KeyboardInterrupt("simulated crash")
        return real_save(obj, path, *args, **kwargs)

    monkeypatch.setattr(torch, "save", crash_on_the_second_checkpoint)
    with pytest.raises(KeyboardInterrupt):
        train(toy_spec(seed=1, epochs=3), subset, tmp_path / "split")
    monkeypatch.setattr(torch, "save", real_save)
    run_dir = tmp_path / "split" / toy_spec(seed=1, epochs=3).key
    # Epoch 2 reached the metrics and the log but not the checkpoint; a torn line as from a
    # crash in mid-append comes on top.
    assert len(read_metrics(run_dir)) == 2
    with (run_dir / METRICS).open("a") as fh:
        fh.write('{"epoch": 3, "train_lo')
    resumed = train(toy_spec(seed=1, epochs=3), subset, tmp_path / "split")
    assert_metrics_match_history(run_dir, 3)
    for a, b in zip(whole["history"], resumed["history"], strict=True):
        assert a["train_loss"] == b["train_loss"]


def eager_compile(calls: list[type]):
    """torch.compile with the eager backend: Dynamo really wraps and traces the model (an
    OptimizedModule with ``_orig_mod``), without the minute of C++ codegen inductor takes
    here on a cold cache."""
    real_compile = torch.compile

    def compile_(model, **kwargs):
        compiled = real_compile(model, backend="eager")
        calls.append(type(compiled))
        return compiled

    return compile_


def test_a_compiled_run_keeps_plain_checkpoint_keys_and_resumes_eager_runs(
    subset, tmp_path, monkeypatch
) -> None:
    calls: list[type] = []
    monkeypatch.setattr(torch, "compile", eager_compile(calls))
    with crash_at("checkpoint", 1):  # eager, then resumed compiled
        train(toy_spec(seed=2, epochs=2), subset, tmp_path)
    record = train(toy_spec(seed=2, epochs=2), subset, tmp_path, compile_model=True)
    assert [c.__name__ for c in calls] == ["OptimizedModule"]
    assert "compiled_model" not in record["history"][0] and record["history"][1]["compiled_model"]
    saved = torch.load(tmp_path / toy_spec(seed=2).key / "checkpoint.pt", weights_only=True)
    assert saved["epoch"] == 1
    assert not [k for k in saved["model"] if k.startswith("_orig_mod")]
    eager = train(toy_spec(seed=2, epochs=2), subset, tmp_path / "eager")
    assert record["history"][1]["train_loss"] == pytest.approx(
        eager["history"][1]["train_loss"], rel=1e-4
    )


def test_a_run_trains_through_inductor(subset, tmp_path) -> None:
    record = train(toy_spec(seed=2, epochs=1), subset, tmp_path, compile_model=True)
    assert record["history"][0]["compiled_model"]
    saved = torch.load(
        tmp_path / toy_spec(seed=2, epochs=1).key / "checkpoint.pt", weights_only=True
    )
    assert not [k for k in saved["model"] if k.startswith("_orig_mod")]


def test_the_cli_flag_reaches_the_loop(tmp_path, monkeypatch) -> None:
    seen = []
    real_train = loop.train

    def spy(*args, **kwargs):
        seen.append(kwargs.get("compile_model"))
        return real_train(*args, **{**kwargs, "compile_model": False})

    monkeypatch.setattr("experiments.training.__main__.train", spy)
    code = training_main(
        ["--claims", "AN-14", "--seeds", "2", "--epochs", "1", "--train-subset", "100",
         "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "out"), "--quiet",
         "--compile-model"]
    )  # fmt: skip
    assert code == 0 and seen and all(seen)


def test_sequential_sweep_trains_then_skips_finished_runs(subset, tmp_path) -> None:
    specs = [toy_spec(seed=0, epochs=1), toy_spec(seed=1, epochs=1), toy_spec(seed=0, epochs=1)]
    trained = run_sweep(specs, runs=tmp_path, data=subset, device="cpu", progress=None)
    assert trained == [specs[0].key, specs[1].key]  # the duplicate trains once
    for spec in specs[:2]:
        assert_metrics_match_history(tmp_path / spec.key, 1)
    assert run_sweep(specs, runs=tmp_path, data=subset, progress=None) == []


def test_pool_sweep_trains_in_worker_processes(tmp_path) -> None:
    specs = [toy_spec(seed=0, epochs=1), toy_spec("Adam", seed=0, epochs=1)]
    trained = run_sweep(
        specs, backend="pool", jobs=2, runs=tmp_path, subset=True, device="cpu", progress=None
    )
    assert sorted(trained) == sorted(s.key for s in specs)
    for spec in specs:
        assert_metrics_match_history(tmp_path / spec.key, 1)


def test_without_ray_the_ray_backend_names_the_extra(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` fail as if absent
    with pytest.raises(BackendUnavailable, match=r"pip install '\.\[sweeps\]'"):
        run_sweep([toy_spec()], backend="ray", runs=tmp_path)
    with pytest.raises(SystemExit):
        training_main(["--backend", "ray", "--runs", str(tmp_path), "--out", str(tmp_path)])
    assert not list(tmp_path.iterdir())  # refused before anything was loaded or trained
    check_backend("sequential")
    check_backend("pool")


def test_cli_refuses_conflicting_backend_options(tmp_path) -> None:
    with pytest.raises(SystemExit):
        training_main(["--backend", "sequential", "--jobs", "2", "--out", str(tmp_path)])
    with pytest.raises(SystemExit):
        training_main(["--ray-address", "auto", "--out", str(tmp_path)])


def test_ray_sweep_trains_tiny_runs(tmp_path) -> None:
    ray = pytest.importorskip("ray")
    specs = [toy_spec(seed=0, epochs=1), toy_spec(seed=1, epochs=1)]
    started = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        trained = run_sweep(specs, backend="ray", runs=tmp_path, subset=True, progress=None)
        assert sorted(trained) == sorted(s.key for s in specs)
        assert ray.is_initialized()  # an instance the caller started is left to the caller
    finally:
        ray.shutdown()
    for spec in specs:
        assert_metrics_match_history(tmp_path / spec.key, 1)
        record = json.loads((tmp_path / spec.key / "history.json").read_text())
        assert record["device"] == "cpu"
    assert run_sweep(specs, backend="ray", runs=tmp_path, progress=None) == []
    print(f"ray sweep: {time.perf_counter() - started:.1f} s")
