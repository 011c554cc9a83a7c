"""Tests of the embedded CIFAR-10 subset and of the script that makes it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from experiments.data import SUBSET_PATH, DataError, ImageDataset, load_subset, read_jpeg_npz
from experiments.data.fakes import write_fake_jpeg_npz
from experiments.data.jpeg_npz import KNOWN_SHA256, load_jpeg_npz, sha256_file
from experiments.data.make_subset import main, make_subset, select_balanced

# Per-channel train mean of the full set, from the data README.
README_MEAN = (0.4913, 0.4821, 0.4465)
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip


def _shared_source() -> Path | None:
    """The full cifar10-jpeg.npz: in $OPTVERIFY_DATA_DIR or next to this checkout."""
    candidates = [Path(__file__).resolve().parents[2] / "shared" / "data"]
    if os.environ.get("OPTVERIFY_DATA_DIR"):
        candidates.insert(0, Path(os.environ["OPTVERIFY_DATA_DIR"]))
    for directory in candidates:
        if (directory / "cifar10-jpeg.npz").is_file():
            return directory / "cifar10-jpeg.npz"
    return None


@pytest.fixture(scope="module")
def subset() -> ImageDataset:
    return load_subset()


def test_subset_file_is_small() -> None:
    assert SUBSET_PATH.stat().st_size <= 3_000_000


def test_subset_decodes(subset: ImageDataset) -> None:
    assert subset.is_subset and subset.name == "cifar10"
    assert subset.classes == CIFAR10_CLASSES
    assert subset.train_images.shape == (5000, 32, 32, 3) and subset.train_images.dtype == np.uint8
    assert subset.test_images.shape == (1000, 32, 32, 3)
    assert subset.train_labels.dtype == np.int64


def test_subset_is_class_balanced(subset: ImageDataset) -> None:
    assert np.bincount(subset.train_labels, minlength=10).tolist() == [500] * 10
    assert np.bincount(subset.test_labels, minlength=10).tolist() == [100] * 10


def test_subset_channel_means_match_the_full_set(subset: ImageDataset) -> None:
    mean = subset.train_images.reshape(-1, 3).mean(axis=0) / 255
    # A 5,000-image sample's per-channel mean has a standard error of about 0.002.
    assert np.allclose(mean, README_MEAN, atol=0.01), mean


def test_subset_records_its_provenance() -> None:
    archive = read_jpeg_npz(SUBSET_PATH)
    meta = archive.metadata
    assert meta["seed"] == 0 and meta["train_per_class"] == 500 and meta["test_per_class"] == 100
    assert meta["source_name"] == "cifar10-jpeg.npz"
    assert meta["source_sha256"] == KNOWN_SHA256["cifar10-jpeg.npz"]
    for split, n in (("train", 50_000), ("test", 10_000)):
        index = meta[f"{split}_source_index"]
        assert len(index) == len(archive.splits[split])
        assert np.all(np.diff(index) > 0) and 0 <= index[0] and index[-1] < n
    assert archive.prefix.startswith(b"\xff\xd8")  # the shared JPEG header (SOI marker first)


def test_subset_equals_the_shared_source() -> None:
    source = _shared_source()
    if source is None:
        pytest.skip("the full cifar10-jpeg.npz is not available here")
    full = read_jpeg_npz(source)
    ours = read_jpeg_npz(SUBSET_PATH)
    rng = np.random.default_rng(ours.metadata["seed"])
    for split, per_class in (("train", 500), ("test", 100)):
        index = ours.metadata[f"{split}_source_index"]
        # Re-drawing with the recorded seed selects the same images...
        assert np.array_equal(select_balanced(full.splits[split].labels, per_class, rng), index)
        assert np.array_equal(ours.splits[split].labels, full.splits[split].labels[index])
        # ...and their bytes were copied unchanged (no re-encoding).
        for k in range(0, len(index), 97):
            assert ours.image_bytes(split, k) == full.image_bytes(split, int(index[k]))


def test_make_subset_on_a_fake_source(tmp_path: Path) -> None:
    source, _ = write_fake_jpeg_npz(
        tmp_path / "src.npz", n_classes=10, train_per_class=5, test_per_class=3
    )
    out = tmp_path / "subset.npz"
    summary = make_subset(source, out, seed=4, train_per_class=2, test_per_class=1)
    assert summary["train"] == 20 and summary["test"] == 10 and summary["prefix_bytes"] > 0
    made = read_jpeg_npz(out)
    assert made.metadata["seed"] == 4
    assert made.metadata["source_sha256"] == sha256_file(source)
    src = read_jpeg_npz(source)
    index = made.metadata["train_source_index"]
    assert np.bincount(made.splits["train"].labels).tolist() == [2] * 10
    assert all(
        made.image_bytes("train", k) == src.image_bytes("train", int(i))
        for k, i in enumerate(index)
    )
    data = load_jpeg_npz(out)
    assert np.array_equal(data.train_images, load_jpeg_npz(source).train_images[index])


def test_make_subset_enforces_the_size_limit(tmp_path: Path) -> None:
    source, _ = write_fake_jpeg_npz(
        tmp_path / "src.npz", n_classes=2, train_per_class=3, test_per_class=1
    )
    with pytest.raises(DataError, match="over the 1000-byte limit"):
        make_subset(
            source, tmp_path / "out.npz", train_per_class=3, test_per_class=1, max_bytes=1000
        )
    assert not list(tmp_path.glob("out.npz*"))


def test_make_subset_command_line(tmp_path: Path, capsys) -> None:
    source, _ = write_fake_jpeg_npz(
        tmp_path / "src.npz", n_classes=2, train_per_class=3, test_per_class=2
    )
    out = tmp_path / "s.npz"
    argv = [
        "--source",
        str(source),
        "--out",
        str(out),
        "--train-per-class",
        "2",
        "--test-per-class",
        "1",
    ]
    assert main(argv) == 0
    assert f"out: {out}" in capsys.readouterr().out
    assert main(["--source", str(tmp_path / "missing.npz"), "--out", str(out)]) == 1
    assert "missing.npz: not found" in capsys.readouterr().err
    assert main([*argv[:4], "--train-per-class", "9"]) == 1
    assert "fewer than 9" in capsys.readouterr().err
