"""Corruption fuzz of every file the suite writes and reads back: each damage gets a named
error naming the file, or a rebuild (with a warning where the file was a cache), never a
raw traceback from pickle, zipfile or json."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import pickle
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from experiments.data import DataError, ImageDataset, load_cifar_python
from experiments.data.cache import cache_path, cached
from experiments.data.fakes import write_fake_cifar_python
from experiments.data.loading import load_dataset
from experiments.regret import store
from experiments.training.loop import (
    CHECKPOINT,
    HISTORY,
    METRICS,
    RunFileError,
    RunSpec,
    read_metrics,
    train,
)
from experiments.training.protocols import PROTOCOLS
from tests.embedded import subset_fingerprint
from tests.run_interrupts import crash_at
from theory.verdicts import ClaimResult, write_results


def flip_middle(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes(b ^ 0xFF for b in data[middle : middle + 64]) + data[middle + 64 :]


DAMAGES = {
    "empty": lambda data: b"",
    "truncated": lambda data: data[: len(data) // 2],
    "flipped": flip_middle,
    "garbage": lambda data: b"\x00\xffnot a file of ours\n" * 3,
}
JSON_DAMAGES = {**DAMAGES, "wrong-shape": lambda data: b'{"history": 3}'}


def damage(path: Path, how) -> None:
    path.write_bytes(how(path.read_bytes()))


# --- training run files --------------------------------------------------------------------


@pytest.fixture(scope="module")
def subset():
    return load_dataset("cifar10", subset=True)


def tiny_spec(epochs: int = 2) -> RunSpec:
    scale = {"epochs": epochs, "model": "small_cnn", "width": 0.25, "train_subset": 100}
    protocol = dataclasses.replace(PROTOCOLS["adanorm"].reduced(**scale), batch_size=50)
    return RunSpec(protocol, "AdamNorm", 0, subset_fingerprint())


@pytest.fixture(scope="module")
def unfinished_run(subset, tmp_path_factory) -> Path:
    """A runs directory holding one run stopped after its first of two epochs."""
    out = tmp_path_factory.mktemp("unfinished")
    with crash_at("checkpoint", 1):
        train(tiny_spec(), subset, out)
    return out


@pytest.fixture(scope="module")
def finished_run(subset, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("finished")
    train(tiny_spec(epochs=1), subset, out)
    return out


def copy_of(runs: Path, tmp_path: Path) -> Path:
    target = tmp_path / "runs"
    shutil.copytree(runs, target)
    return target


@pytest.mark.parametrize("how", DAMAGES, ids=list(DAMAGES))
def test_a_damaged_checkpoint_is_a_named_error(subset, unfinished_run, tmp_path, how) -> None:
    runs = copy_of(unfinished_run, tmp_path)
    path = runs / tiny_spec().key / CHECKPOINT
    damage(path, DAMAGES[how])
    with pytest.raises(RunFileError) as raised:
        train(tiny_spec(), subset, runs)
    assert str(path) in str(raised.value) and "delete the run's directory" in str(raised.value)


@pytest.mark.parametrize("how", JSON_DAMAGES, ids=list(JSON_DAMAGES))
@pytest.mark.parametrize("which", ["unfinished", "finished"])
def test_a_damaged_run_log_is_a_named_error(
    subset, unfinished_run, finished_run, tmp_path, how, which
) -> None:
    spec = tiny_spec() if which == "unfinished" else tiny_spec(epochs=1)
    runs = copy_of(unfinished_run if which == "unfinished" else finished_run, tmp_path)
    path = runs / spec.key / HISTORY
    damage(path, JSON_DAMAGES[how])
    with pytest.raises(RunFileError, match=str(path).replace("+", r"\+")):
        train(spec, subset, runs)


@pytest.mark.parametrize("how", DAMAGES, ids=list(DAMAGES))
def test_damaged_metrics_lines_are_rebuilt_from_the_log(
    subset, unfinished_run, tmp_path, how
) -> None:
    runs = copy_of(unfinished_run, tmp_path)
    run_dir = runs / tiny_spec().key
    damage(run_dir / METRICS, DAMAGES[how])
    if how in ("flipped", "garbage"):  # a reader tailing the run gets a named error meanwhile
        with pytest.raises(RunFileError, match=r"metrics\.jsonl"):
            read_metrics(run_dir)
    record = train(tiny_spec(), subset, runs)
    assert read_metrics(run_dir) == json.loads(json.dumps(record["history"]))


class _Planted:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def test_a_planted_checkpoint_runs_no_code(subset, unfinished_run, tmp_path) -> None:
    runs = copy_of(unfinished_run, tmp_path)
    marker = tmp_path / "code-ran"
    path = runs / tiny_spec().key / CHECKPOINT
    # a well-formed torch checkpoint (a zip with good CRCs) whose pickle would run code
    planted = {"model": _Planted(marker), "optimizer": {}, "epoch": 0, "oscillation": {}}
    torch.save(planted, path)
    with pytest.raises(RunFileError, match="checkpoint"):
        train(tiny_spec(), subset, runs)
    assert not marker.exists()


# --- regret stores -------------------------------------------------------------------------

CONFIG = {"problem": "toy", "T": 10, "seeds": [0, 1]}


def stored_result(tmp_path: Path) -> Path:
    arrays = {"regret": np.arange(1000.0), "iterates": np.ones((3, 50))}
    store.save(tmp_path, "quick", "toy", CONFIG, {"T": 10}, arrays)
    assert store.load(tmp_path, "quick", "toy", CONFIG) is not None
    return tmp_path / "regret" / "quick"


REGRET_DAMAGES = [(".npz", how) for how in DAMAGES] + [(".json", how) for how in JSON_DAMAGES]


@pytest.mark.parametrize(("suffix", "how"), REGRET_DAMAGES, ids=lambda x: x.strip("."))
def test_a_damaged_regret_result_is_recomputed_with_a_warning(tmp_path, suffix, how) -> None:
    path = stored_result(tmp_path) / f"toy{suffix}"
    damage(path, JSON_DAMAGES[how])
    with pytest.warns(store.DamagedResultWarning, match=str(path)):
        assert store.load(tmp_path, "quick", "toy", CONFIG) is None


def test_a_bad_crc_in_a_regret_result_is_recomputed(tmp_path) -> None:
    # np.savez_compressed deflates; an uncompressed member lets one byte flip reach the CRC.
    folder = stored_result(tmp_path)
    path = folder / "toy.npz"
    np.savez(path, regret=np.arange(1000.0), iterates=np.ones((3, 50)))
    data = bytearray(path.read_bytes())
    data[600] ^= 0x01  # inside the first member's float data
    path.write_bytes(bytes(data))
    with pytest.warns(store.DamagedResultWarning, match="BadZipFile"):
        assert store.load(tmp_path, "quick", "toy", CONFIG) is None


def test_the_regret_command_recomputes_a_damaged_result(tmp_path) -> None:
    from experiments.regret import __main__ as cli

    argv = ["--problems", "reddi-periodic", "--horizon", "200", "--instances", "2",
            "--out", str(tmp_path), "--quiet", "--no-plots"]  # fmt: skip
    assert cli.main(argv) == 0
    path = tmp_path / "regret" / "custom" / "reddi-periodic.npz"
    damage(path, DAMAGES["truncated"])
    with pytest.warns(store.DamagedResultWarning, match="reddi-periodic.npz"):
        assert cli.main(argv) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert store.load(tmp_path, "custom", "reddi-periodic", _stored_config(tmp_path))


def _stored_config(tmp_path: Path) -> dict:
    meta = tmp_path / "regret" / "custom" / "reddi-periodic.json"
    config = json.loads(meta.read_text())["config"]
    config.pop("schema")
    return config


# --- data decode cache ---------------------------------------------------------------------


def tiny_dataset() -> ImageDataset:
    images = np.zeros((4, 8, 8, 3), np.uint8)
    labels = np.array([0, 1, 0, 1])
    return ImageDataset("toy", ("a", "b"), images, labels, images, labels, "memory")


@pytest.mark.parametrize("how", DAMAGES, ids=list(DAMAGES))
def test_a_damaged_decode_cache_entry_is_rebuilt(tmp_path, caplog, how) -> None:
    builds = []

    def build() -> ImageDataset:
        builds.append(1)
        return tiny_dataset()

    cached(tmp_path, "toy", "f" * 64, build)
    damage(cache_path(tmp_path, "toy", "f" * 64), DAMAGES[how])
    with caplog.at_level(logging.WARNING):
        data = cached(tmp_path, "toy", "f" * 64, build)
    assert len(builds) == 2 and data.info["cache"] == "miss"
    assert "unreadable cache entry" in caplog.text
    assert cached(tmp_path, "toy", "f" * 64, build).info["cache"] == "hit"


# --- data sets and results files -----------------------------------------------------------


@pytest.mark.parametrize("labels", [[1.7] * 6, [1.0] * 6, ["1"] * 6], ids=str)
def test_cifar_labels_must_be_integers(tmp_path, labels) -> None:
    directory = write_fake_cifar_python(tmp_path, "cifar10", python2=False)
    path = directory / "data_batch_2"
    with path.open("rb") as fh:
        batch = pickle.load(fh)
    batch["labels"] = labels
    path.write_bytes(pickle.dumps(batch, protocol=4))
    with pytest.raises(DataError, match=r"data_batch_2.*integer"):
        load_cifar_python(directory)


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_results_files_get_the_usual_permissions(tmp_path, umask, mode) -> None:
    result = ClaimResult("XX-1", "holds", "fine", "true")
    previous = os.umask(umask)
    try:
        path = write_results("stage", [result], tmp_path)
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == mode
    assert not list(tmp_path.glob(".*.tmp"))
