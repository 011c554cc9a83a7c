"""Robustness of training runs: divergence as a result, run identity, exact resume after
SIGKILL at any point (mid-epoch and between the metrics, history and checkpoint writes)."""

from __future__ import annotations

import dataclasses
import json
import math
import multiprocessing
import os
import random
import signal

import pytest
import torch

from experiments.data import load_dataset
from experiments.training import claims, loop
from experiments.training.__main__ import run_study
from experiments.training.loop import CHECKPOINT, HISTORY, METRICS, RunSpec, read_metrics, train
from experiments.training.protocols import PROTOCOLS, Protocol, identity_fields
from tests.embedded import subset_fingerprint
from tests.run_interrupts import crash_at

TIMING = ("seconds", "images_per_second")
"""The only fields of a log entry that may differ between two runs of one spec."""
STEPS_PER_EPOCH = 2  # 100 images in batches of 50
SOAK_CYCLES = int(os.environ.get("ROBUSTNESS_SOAK_CYCLES", "0"))
"""``nox -s soak`` sets this: that many more random kill sequences."""


@pytest.fixture(scope="module")
def subset():
    return load_dataset("cifar10", subset=True)


def tiny_spec(optimizer: str = "AdamNorm", seed: int = 0, epochs: int = 3, **options) -> RunSpec:
    scale = {"epochs": epochs, "model": "small_cnn", "width": 0.25, "train_subset": 100}
    protocol = dataclasses.replace(PROTOCOLS["adanorm"].reduced(**scale), batch_size=50)
    # A milestone inside the run, so that the learning-rate schedule is part of what resumes.
    protocol = dataclasses.replace(protocol, milestones=(2,))
    return RunSpec(protocol, optimizer, seed, subset_fingerprint(), tuple(options.items()))


def without_timing(record: dict) -> dict:
    return {
        **record,
        "history": [{k: v for k, v in e.items() if k not in TIMING} for e in record["history"]],
    }


def saved_record(run_dir) -> dict:
    return without_timing(json.loads((run_dir / HISTORY).read_text()))


@pytest.fixture(scope="module")
def uninterrupted(subset, tmp_path_factory):
    """The reference: one tiny AdaRem run (oscillation-heavy), never interrupted."""
    out = tmp_path_factory.mktemp("whole")
    spec = tiny_spec("AdaRem", seed=5, lr=0.1)
    train(spec, subset, out)
    return spec, out / spec.key


def assert_same_run(run_dir, reference_dir, finished_by_log: bool = False) -> None:
    """Every recorded field equals the uninterrupted run's; the weights are bit-identical.

    ``finished_by_log``: the last kill came right after the last epoch's log was written.
    The log is the result, so the run is finished then and its checkpoint stays one epoch
    behind (it is only ever read to resume an unfinished run).
    """
    assert saved_record(run_dir) == saved_record(reference_dir)
    history = json.loads((run_dir / HISTORY).read_text())["history"]
    assert read_metrics(run_dir) == history
    ours = torch.load(run_dir / CHECKPOINT, weights_only=True)
    theirs = torch.load(reference_dir / CHECKPOINT, weights_only=True)
    assert ours["epoch"] == theirs["epoch"] - finished_by_log
    if not finished_by_log:
        for name, tensor in theirs["model"].items():
            assert torch.equal(ours["model"][name], tensor), name


# --- divergence --------------------------------------------------------------------------


def test_a_diverging_run_is_recorded_as_diverged_not_raised(subset, tmp_path) -> None:
    spec = tiny_spec("Adam", lr=1e36)  # the first step overflows the weights
    record = train(spec, subset, tmp_path)
    last = record["history"][-1]
    assert last["diverged"] is True
    assert last["diverged_at"]["epoch"] == last["epoch"] < spec.protocol.epochs
    assert last["diverged_at"]["step"] >= 1
    assert math.isnan(last["test_accuracy"]) and math.isnan(last["train_loss"])
    assert read_metrics(tmp_path / spec.key)[-1]["diverged_at"] == last["diverged_at"]
    # The run is finished: starting it again reads the record back instead of replaying it.
    assert (
        train(spec, subset, tmp_path)["history"]
        == json.loads((tmp_path / spec.key / HISTORY).read_text())["history"]
    )


def test_a_study_with_a_diverged_arm_is_undecided_and_says_why(subset, tmp_path) -> None:
    study = claims.Study(
        "XX-1",
        "adanorm",
        (claims.Arm("stable", "Adam"), claims.Arm("exploding", "Adam", (("lr", 1e36),))),
        claims._superior_pairs((("stable", "exploding"),), claims.ACCURACY, "accuracy"),
        # Stated scale-free with no warm-up, so this tiny run is within the claim's scope
        # and its own verdict (not needs-gpu) is what the divergence must make undecided.
        paper=claims.PaperSetting(
            "a toy claim", ("small_cnn",), ("cifar10",), 1, 128, "constant rate", (),
            scale_free=True, averaging_window=1,
        ),
    )  # fmt: skip
    scale = {"epochs": 1, "model": "small_cnn", "width": 0.25, "train_subset": 100}
    result = run_study(study, "reduced", scale, [0, 1], subset, tmp_path, "cpu", quiet=True)
    assert result.verdict == "inconclusive"
    assert result.evidence["fidelity"]["matches_scope"]
    diverged = result.evidence["diverged_runs"]
    assert [(d["arm"], d["seed"], d["epoch"]) for d in diverged] == [
        ("exploding", 0, 1),
        ("exploding", 1, 1),
    ]
    assert all(d["step"] >= 1 for d in diverged)
    assert result.summary.startswith("2 run(s) diverged")


# --- run identity ------------------------------------------------------------------------


def changed(value):
    """A different value of the same kind, for any field of RunSpec or Protocol."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, tuple):
        return (
            (*value, value[-1] + 1)
            if value and not isinstance(value[0], tuple)
            else (
                *value,
                ("momentum", 0.5),
            )
        )
    if value is None:
        return 7
    if isinstance(value, dict):
        return {**value, "SGDM": {"lr": 0.5}}
    raise AssertionError(f"no change defined for {value!r}: extend `changed`")


def test_every_field_of_a_run_changes_its_key() -> None:
    spec = tiny_spec("SGDM")
    for field in dataclasses.fields(RunSpec):
        if field.name == "protocol":
            continue
        other = dataclasses.replace(spec, **{field.name: changed(getattr(spec, field.name))})
        assert other.key != spec.key, field.name
    for name in identity_fields(Protocol):
        protocol = dataclasses.replace(
            spec.protocol, **{name: changed(getattr(spec.protocol, name))}
        )
        assert dataclasses.replace(spec, protocol=protocol).key != spec.key, name
    # What is left out is left out on purpose, field by field.
    described_only = {f.name for f in dataclasses.fields(Protocol)} - set(identity_fields(Protocol))
    assert described_only == {"source"}


def test_a_smaller_training_subset_is_another_run() -> None:
    base = PROTOCOLS["adanorm"]
    small = RunSpec(base.reduced(epochs=4, model="small_cnn", train_subset=200), "Adam", 0, "d")
    large = RunSpec(base.reduced(epochs=4, model="small_cnn", train_subset=1000), "Adam", 0, "d")
    assert small.key != large.key


def test_a_key_stays_readable_as_protocol_arm_seed() -> None:
    # the report groups runs by the first two parts (experiments/report/figures.py)
    spec = tiny_spec("Adam")
    protocol, arm, seed = spec.key.split("/")
    assert (protocol, arm) == (spec.protocol.name, "Adam") and seed.startswith("seed0-")


# --- exact resume ------------------------------------------------------------------------


def test_a_resumed_run_records_what_the_uninterrupted_run_records(
    subset, tmp_path, uninterrupted
) -> None:
    spec, reference = uninterrupted
    with crash_at("checkpoint", 1):
        train(spec, subset, tmp_path)
    train(spec, subset, tmp_path)
    assert_same_run(tmp_path / spec.key, reference)


def _train_until_killed(spec: RunSpec, data, out, kill_at: str, threads: int) -> None:
    # The parent's thread count, so that the kernels sum in the parent's order: the resumed
    # run is compared with an uninterrupted one bit for bit.
    torch.set_num_threads(threads)
    os.environ[loop.KILL_AT_ENV] = kill_at
    train(spec, data, out)
    os._exit(0)  # not reached: the loop kills itself at kill_at


def kill_points(epochs: int) -> list[str]:
    """Every place the loop can be killed, in the order a run passes them."""
    points = []
    for epoch in range(1, epochs + 1):
        points += [f"step:{epoch}:{s}" for s in range(1, STEPS_PER_EPOCH + 1)]
        points += [f"{write}:{epoch}" for write in ("metrics", "history", "checkpoint")]
    # After the last epoch's log the run is finished (see assert_same_run): a later kill
    # point is never reached.
    return points[: points.index(f"history:{epochs}") + 1]


def kill_and_resume(spec: RunSpec, data, out, sequence: list[str]) -> None:
    """SIGKILL the run at each point of ``sequence`` in turn (each attempt resumes the last),
    then let it finish."""
    # Not "fork": a CUDA build of torch refuses autograd in a child forked from a process that
    # already ran autograd (torch 2.11+cu130 here: "Unable to handle autograd's threading in
    # combination with fork-based multiprocessing"), and pytest's worker has. A fork server
    # that imported this module (and so torch) once keeps each child's start fast.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    for point in sequence:
        child = context.Process(
            target=_train_until_killed, args=(spec, data, out, point, torch.get_num_threads())
        )
        child.start()
        child.join()
        assert child.exitcode == -signal.SIGKILL, (point, child.exitcode)
    train(spec, data, out)


@pytest.mark.parametrize("seed", range(1 + SOAK_CYCLES))
def test_sigkill_at_random_points_then_resume_equals_the_uninterrupted_run(
    subset, tmp_path, uninterrupted, seed
) -> None:
    spec, reference = uninterrupted
    points = kill_points(spec.protocol.epochs)
    # Each kill lies after the previous one, so every attempt gets further.
    sequence = sorted(random.Random(seed).sample(points, 4), key=points.index)
    if seed == 0:  # always include the writes of one epoch, each killed in turn
        sequence = ["step:1:1", "metrics:1", "history:1", "metrics:2", "history:2"]
    kill_and_resume(spec, subset, tmp_path, sequence)
    finished_by_log = sequence[-1] == f"history:{spec.protocol.epochs}"
    assert_same_run(tmp_path / spec.key, reference, finished_by_log)
    assert not list((tmp_path / spec.key).glob("*.tmp"))
    assert (tmp_path / spec.key / METRICS).read_text().endswith("\n")


def test_the_data_set_is_part_of_a_runs_identity(subset) -> None:
    spec = tiny_spec("Adam")
    other = dataclasses.replace(spec, data="cifar10-50000-000000000000")
    assert other.key != spec.key
    # Another data set (every other image of the subset) has another fingerprint,
    # and a run on the subset refuses it.
    half = dataclasses.replace(
        subset, train_images=subset.train_images[::2], train_labels=subset.train_labels[::2]
    )
    assert half.fingerprint() != subset.fingerprint()
    with pytest.raises(ValueError, match="is a run on data"):
        train(spec, half, "unused-runs-dir")
