"""Tests of the reader for the original CIFAR-10/100 python releases, on fake directories."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from experiments.data import DataError, load_cifar_python
from experiments.data.cifar_python import read_pickle
from experiments.data.fakes import py2_pickle, write_fake_cifar_python


@pytest.mark.parametrize("python2", [True, False], ids=["py2-pickles", "py3-pickles"])
def test_cifar10_layout(tmp_path: Path, python2: bool) -> None:
    directory = write_fake_cifar_python(tmp_path, "cifar10", per_file=6, python2=python2)
    data = load_cifar_python(directory, "cifar10")
    assert data.name == "cifar10"
    assert data.classes == tuple(f"class{i}" for i in range(10))
    assert data.train_images.shape == (30, 32, 32, 3)  # 5 batches of 6
    assert data.test_images.shape == (6, 32, 32, 3)
    assert data.train_labels.tolist() == [i % 10 for i in range(30)]
    assert data.train_labels.dtype == np.int64


def test_cifar100_uses_fine_labels(tmp_path: Path) -> None:
    directory = write_fake_cifar_python(tmp_path, "cifar100", per_file=8)
    data = load_cifar_python(directory, "cifar100")
    assert data.num_classes == 100 and data.classes[:2] == ("fine0", "fine1")
    assert data.train_labels.tolist() == list(range(8))
    assert data.test_labels.tolist() == list(range(8, 16))


def test_planar_rows_become_hwc_images(tmp_path: Path) -> None:
    directory = write_fake_cifar_python(tmp_path, "cifar10", per_file=2)
    with open(directory / "data_batch_1", "rb") as fh:
        row = pickle.load(fh, encoding="bytes")[b"data"][1]
    image = load_cifar_python(directory).train_images[1]
    # The release stores 1024 red values, then green, then blue, each row-major.
    assert image[0, 0].tolist() == [row[0], row[1024], row[2048]]
    assert image[2, 5, 1] == row[1024 + 2 * 32 + 5]
    assert np.array_equal(image[..., 2].ravel(), row[2048:])


def test_missing_batch_file(tmp_path: Path) -> None:
    directory = write_fake_cifar_python(tmp_path, "cifar10")
    (directory / "data_batch_3").unlink()
    with pytest.raises(DataError, match="data_batch_3: not found"):
        load_cifar_python(directory)


def test_truncated_pickle(tmp_path: Path) -> None:
    directory = write_fake_cifar_python(tmp_path, "cifar10")
    path = directory / "test_batch"
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(DataError, match="test_batch: not a readable CIFAR pickle"):
        load_cifar_python(directory)


def test_code_in_a_pickle_is_refused(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil"
    path.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(DataError, match=r"refusing to load global builtins\.print"):
        read_pickle(path)


@pytest.mark.parametrize(
    ("name", "batch", "message"),
    [
        (
            "data_batch_2",
            {b"labels": [0, 1], b"data": np.zeros((2, 1000), np.uint8)},
            r"data_batch_2: 'data' must be a uint8 \(N, 3072\) array",
        ),
        (
            "data_batch_5",
            {b"labels": [0, 1, 2], b"data": np.zeros((2, 3072), np.uint8)},
            "data_batch_5: 2 images but 'labels' has shape",
        ),
        (
            "test_batch",
            {b"labels": [0, 10], b"data": np.zeros((2, 3072), np.uint8)},
            r"test_batch: labels must lie in \[0, 10\)",
        ),
    ],
    ids=["wrong-data-shape", "label-count-mismatch", "label-out-of-range"],
)
def test_a_damaged_batch_is_named(tmp_path: Path, name: str, batch: dict, message: str) -> None:
    directory = write_fake_cifar_python(tmp_path, "cifar10")
    (directory / name).write_bytes(py2_pickle(batch))
    with pytest.raises(DataError, match=message):
        load_cifar_python(directory)


def test_meta_without_names(tmp_path: Path) -> None:
    directory = write_fake_cifar_python(tmp_path, "cifar100")
    (directory / "meta").write_bytes(py2_pickle({b"coarse_label_names": [b"x"]}))
    with pytest.raises(DataError, match="meta: no 'fine_label_names' entry"):
        load_cifar_python(directory, "cifar100")


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not a directory"):
        load_cifar_python(tmp_path / "missing")
