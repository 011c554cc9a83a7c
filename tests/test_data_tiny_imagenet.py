"""Tests of the TinyImageNet folder reader, on a generated miniature tiny-imagenet-200."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from experiments.data import DataError, load_dataset, load_tiny_imagenet
from experiments.data.fakes import encode_jpeg, write_fake_tiny_imagenet


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write_fake_tiny_imagenet(tmp_path, n_classes=3, train_per_class=4, val_per_class=2)


def test_layout_is_read(tiny: Path) -> None:
    data = load_tiny_imagenet(tiny)
    assert data.name == "tinyimagenet"
    assert data.classes == tuple(sorted(data.classes)) and len(data.classes) == 3
    assert data.train_images.shape == (12, 64, 64, 3) and data.train_images.dtype == np.uint8
    assert data.test_images.shape == (6, 64, 64, 3)
    assert data.train_labels.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert data.test_labels.tolist() == [0, 0, 1, 1, 2, 2]


def test_val_labels_follow_the_annotations(tiny: Path) -> None:
    # Reverse the annotation order: labels must follow the file, not the listing order.
    annotations = tiny / "val" / "val_annotations.txt"
    lines = annotations.read_text().splitlines(keepends=True)
    annotations.write_text("".join(reversed(lines)))
    assert load_tiny_imagenet(tiny).test_labels.tolist() == [2, 2, 1, 1, 0, 0]


def test_grayscale_images_become_rgb(tiny: Path) -> None:
    image = load_tiny_imagenet(tiny).train_images[0]  # written as a grayscale JPEG
    assert image.shape == (64, 64, 3)
    assert np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(
        image[..., 1], image[..., 2]
    )


def test_classes_without_wnids_file(tiny: Path) -> None:
    wnids = (tiny / "wnids.txt").read_text().split()
    (tiny / "wnids.txt").unlink()
    assert load_tiny_imagenet(tiny).classes == tuple(sorted(wnids))


def test_unknown_class_in_annotations(tiny: Path) -> None:
    annotations = tiny / "val" / "val_annotations.txt"
    annotations.write_text(annotations.read_text() + "val_99.JPEG\tn99999999\t0\t0\t1\t1\n")
    with pytest.raises(DataError, match=r"val_annotations.txt:7: unknown class 'n99999999'"):
        load_tiny_imagenet(tiny)


def test_missing_val_image(tiny: Path) -> None:
    (tiny / "val" / "images" / "val_3.JPEG").unlink()
    with pytest.raises(DataError, match=r"val_3\.JPEG not found"):
        load_tiny_imagenet(tiny)


def test_corrupt_train_image(tiny: Path) -> None:
    wnid = (tiny / "wnids.txt").read_text().split()[1]
    bad = tiny / "train" / wnid / "images" / f"{wnid}_2.JPEG"
    bad.write_bytes(bad.read_bytes()[:50])
    with pytest.raises(DataError, match=f"{wnid}_2.JPEG: not a decodable JPEG"):
        load_tiny_imagenet(tiny)


def test_wrong_size_image(tiny: Path) -> None:
    odd = tiny / "val" / "images" / "val_5.JPEG"
    odd.write_bytes(encode_jpeg(np.zeros((32, 32, 3), np.uint8)))
    with pytest.raises(DataError, match=r"val_5.JPEG: is \(32, 32, 3\)"):
        load_tiny_imagenet(tiny)


def test_wnid_without_train_folder(tiny: Path) -> None:
    (tiny / "wnids.txt").write_text((tiny / "wnids.txt").read_text() + "n00000001\n")
    with pytest.raises(DataError, match="lists classes without a train folder"):
        load_tiny_imagenet(tiny)


def test_found_and_cached_by_load_dataset(tiny: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("OPTVERIFY_DATA_DIR", raising=False)
    first = load_dataset("tiny-imagenet", data_dir=tiny.parent, cache_dir=tmp_path / "cache")
    assert first.info["cache"] == "miss" and first.source == str(tiny)
    second = load_dataset("tinyimagenet", data_dir=tiny, cache_dir=tmp_path / "cache")
    assert second.info["cache"] == "hit"
    assert np.array_equal(first.train_images, second.train_images)
    # Touching one image changes the fingerprint.
    (tiny / "val" / "images" / "val_0.JPEG").write_bytes(
        encode_jpeg(np.zeros((64, 64, 3), np.uint8))
    )
    assert (
        load_dataset("tinyimagenet", data_dir=tiny, cache_dir=tmp_path / "cache").info["cache"]
        == "miss"
    )
