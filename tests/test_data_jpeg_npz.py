"""Tests of the JPEG-npz reader: decoding, corrupt-file errors, and the decoded-array cache."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from experiments.data import (
    DataError,
    cached,
    jpeg_npz,
    load_jpeg_npz,
    read_jpeg_npz,
    source_fingerprint,
)
from experiments.data.fakes import encode_jpeg, write_fake_jpeg_npz
from experiments.data.jpeg_npz import write_jpeg_npz
from experiments.data.loading import DataSource, read_source
from experiments.data.make_subset import common_prefix


@pytest.fixture
def fake_npz(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    return write_fake_jpeg_npz(
        tmp_path / "fake.npz", n_classes=3, train_per_class=4, test_per_class=2
    )


def _arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def _rewrite(path: Path, **changes: np.ndarray) -> Path:
    arrays = _arrays(path) | changes
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    return path


def test_decodes_to_the_encoded_images(fake_npz: tuple[Path, dict[str, np.ndarray]]) -> None:
    path, originals = fake_npz
    data = load_jpeg_npz(path, name="fake")
    assert data.classes == ("class0", "class1", "class2")
    assert data.train_images.shape == (12, 32, 32, 3) and data.train_images.dtype == np.uint8
    assert data.test_images.shape == (6, 32, 32, 3)
    assert data.train_labels.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert data.train_labels.dtype == np.int64
    for split in ("train", "test"):
        decoded = getattr(data, f"{split}_images").astype(int)
        assert np.abs(decoded - originals[split]).max() <= 2  # JPEG rounding only


def test_shared_prefix_is_lossless(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(4, 32, 32, 3), dtype=np.uint8)
    blobs = [encode_jpeg(im) for im in images]
    prefix = common_prefix(blobs)
    assert len(prefix) > 100  # Pillow writes identical tables into every file
    labels = np.array([0, 1, 0, 1])
    plain = write_jpeg_npz(
        tmp_path / "plain.npz", ["a", "b"], {"train": (blobs, labels), "test": (blobs, labels)}
    )
    bodies = [b[len(prefix) :] for b in blobs]
    split = (bodies, labels)
    packed = write_jpeg_npz(
        tmp_path / "packed.npz", ["a", "b"], {"train": split, "test": split}, prefix=prefix
    )
    assert packed.stat().st_size < plain.stat().st_size
    assert np.array_equal(load_jpeg_npz(plain).train_images, load_jpeg_npz(packed).train_images)


def test_metadata_is_exposed(tmp_path: Path) -> None:
    blob = encode_jpeg(np.zeros((32, 32, 3), np.uint8))
    split = ([blob], np.array([0]))
    path = write_jpeg_npz(
        tmp_path / "m.npz",
        ["a"],
        {"train": split, "test": split},
        metadata={"seed": 7, "note": "x"},
    )
    archive = read_jpeg_npz(path)
    assert archive.metadata == {"seed": 7, "note": "x"}
    assert load_jpeg_npz(path).info == {"seed": 7, "note": "x"}


# --- corrupt and inconsistent files: always a DataError that names the file ---


def _assert_data_error(path: Path, match: str) -> DataError:
    with pytest.raises(DataError, match=match) as info:
        load_jpeg_npz(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)
    return info.value


def test_missing_file(tmp_path: Path) -> None:
    _assert_data_error(tmp_path / "nope.npz", "not found")


def test_directory_instead_of_file(tmp_path: Path) -> None:
    _assert_data_error(tmp_path, "directory")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.npz"
    path.write_bytes(b"")
    _assert_data_error(path, "file is empty")


def test_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "noise.npz"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    _assert_data_error(path, "not an .npz archive")


def test_truncated_download(fake_npz: tuple[Path, dict[str, np.ndarray]]) -> None:
    path, _ = fake_npz
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _assert_data_error(path, "truncated or corrupt")


def test_flipped_byte_fails_the_zip_checksum(tmp_path: Path) -> None:
    path, _ = write_fake_jpeg_npz(tmp_path / "f.npz")
    _rewrite(path)  # uncompressed, so the jpeg bytes lie in the file as they are
    with zipfile.ZipFile(path) as zf:
        member = zf.getinfo("train_jpeg.npy")
    raw = bytearray(path.read_bytes())
    raw[member.header_offset + 200] ^= 0xFF  # inside the member's data
    path.write_bytes(bytes(raw))
    _assert_data_error(path, "(?i)crc|corrupt")


def test_single_npy_array(tmp_path: Path) -> None:
    path = tmp_path / "array.npz"
    with open(path, "wb") as fh:
        np.save(fh, np.zeros(3))
    _assert_data_error(path, "single .npy array")


def test_missing_key(fake_npz: tuple[Path, dict[str, np.ndarray]]) -> None:
    path, _ = fake_npz
    arrays = _arrays(path)
    del arrays["test_labels"]
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    _assert_data_error(path, r"missing arrays \['test_labels'\]")


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda a: {"train_offsets": a["train_offsets"][:-1]}, "need 13 offsets"),
        (lambda a: {"train_offsets": a["train_offsets"] + 1}, "start at 0"),
        (lambda a: {"train_jpeg": a["train_jpeg"][:-10]}, "truncated or mismatched"),
        (
            lambda a: {
                "test_offsets": np.sort(
                    np.r_[a["test_offsets"][:-2], a["test_offsets"][1], a["test_offsets"][-1]]
                )
            },
            "increase strictly",
        ),
        (lambda a: {"train_labels": a["train_labels"] + 3}, r"labels must lie in \[0, 3\)"),
        (lambda a: {"train_jpeg": a["train_jpeg"].astype(np.int16)}, "1-D uint8"),
        (lambda a: {"classes": np.array([1, 2, 3])}, "classes must be"),
    ],
    ids=[
        "offset-count",
        "offset-start",
        "offset-end",
        "offset-order",
        "label-range",
        "jpeg-dtype",
        "classes",
    ],
)
def test_inconsistent_arrays(
    fake_npz: tuple[Path, dict[str, np.ndarray]], change, match: str
) -> None:
    path, _ = fake_npz
    _rewrite(path, **change(_arrays(path)))
    _assert_data_error(path, match)


def _replace_image(path: Path, split: str, index: int, blob: bytes) -> None:
    a = _arrays(path)
    jpeg, offsets = a[f"{split}_jpeg"], a[f"{split}_offsets"]
    blobs = [jpeg[offsets[i] : offsets[i + 1]].tobytes() for i in range(len(offsets) - 1)]
    blobs[index] = blob
    lengths = [len(b) for b in blobs]
    _rewrite(
        path,
        **{
            f"{split}_jpeg": np.frombuffer(b"".join(blobs), np.uint8),
            f"{split}_offsets": np.r_[0, np.cumsum(lengths)],
        },
    )


def test_garbage_jpeg_names_the_image(fake_npz: tuple[Path, dict[str, np.ndarray]]) -> None:
    path, _ = fake_npz
    _replace_image(path, "train", 5, b"this is not a jpeg at all")
    _assert_data_error(path, "train image 5: not a decodable JPEG")


def test_truncated_jpeg(fake_npz: tuple[Path, dict[str, np.ndarray]]) -> None:
    path, _ = fake_npz
    blob = encode_jpeg(np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8))
    _replace_image(path, "test", 1, blob[: len(blob) // 2])
    _assert_data_error(path, "test image 1: not a decodable JPEG")


def test_png_is_not_accepted(fake_npz: tuple[Path, dict[str, np.ndarray]]) -> None:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 32)).save(buffer, format="PNG")
    path, _ = fake_npz
    _replace_image(path, "train", 0, buffer.getvalue())
    _assert_data_error(path, "train image 0: is PNG, not JPEG")


def test_wrong_image_size(fake_npz: tuple[Path, dict[str, np.ndarray]]) -> None:
    path, _ = fake_npz
    _replace_image(path, "train", 2, encode_jpeg(np.zeros((16, 32, 3), np.uint8)))
    _assert_data_error(path, r"train image 2: is \(16, 32, 3\)")


def test_checksum_of_known_file(tmp_path: Path) -> None:
    # A file with the shared file's name must have the published sha256.
    path, _ = write_fake_jpeg_npz(tmp_path / "cifar10-jpeg.npz")
    with pytest.raises(DataError, match=r"sha256 is [0-9a-f]{64}, expected b1091c5e"):
        load_jpeg_npz(path)
    assert len(load_jpeg_npz(path, verify_sha256=False).train_labels) == 12


# --- cache ---


def test_cache_miss_then_hit(
    fake_npz: tuple[Path, dict[str, np.ndarray]], tmp_path: Path, monkeypatch
) -> None:
    path, _ = fake_npz
    cache_dir = tmp_path / "cache"
    source = DataSource("jpeg_npz", path)
    first = read_source("cifar10", source, cache_dir)
    assert first.info["cache"] == "miss"
    assert Path(first.info["cache_file"]).parent == cache_dir

    def no_decoding(*args, **kwargs):
        raise AssertionError("a cache hit must not decode")

    monkeypatch.setattr(jpeg_npz, "decode_split", no_decoding)
    second = read_source("cifar10", source, cache_dir)
    assert second.info["cache"] == "hit"
    assert np.array_equal(first.train_images, second.train_images)
    assert np.array_equal(first.test_labels, second.test_labels)
    assert (second.classes, second.source, second.name) == (first.classes, first.source, first.name)


def test_cache_invalidated_when_source_changes(
    fake_npz: tuple[Path, dict[str, np.ndarray]], tmp_path: Path
) -> None:
    path, _ = fake_npz
    source = DataSource("jpeg_npz", path)
    read_source("cifar10", source, tmp_path / "cache")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert read_source("cifar10", source, tmp_path / "cache").info["cache"] == "miss"
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 2


def test_corrupt_cache_entry_is_rebuilt(
    fake_npz: tuple[Path, dict[str, np.ndarray]], tmp_path: Path, caplog
) -> None:
    path, _ = fake_npz
    source = DataSource("jpeg_npz", path)
    entry = Path(read_source("cifar10", source, tmp_path / "cache").info["cache_file"])
    entry.write_bytes(entry.read_bytes()[:100])
    rebuilt = read_source("cifar10", source, tmp_path / "cache")
    assert rebuilt.info["cache"] == "miss"
    assert "ignoring unreadable cache entry" in caplog.text
    assert read_source("cifar10", source, tmp_path / "cache").info["cache"] == "hit"


def test_no_cache_dir_means_no_cache(fake_npz: tuple[Path, dict[str, np.ndarray]]) -> None:
    path, _ = fake_npz
    assert read_source("cifar10", DataSource("jpeg_npz", path), None).info["cache"] == "off"


def test_fingerprint_depends_on_size_and_mtime(tmp_path: Path) -> None:
    f = tmp_path / "a.bin"
    f.write_bytes(b"1234")
    before = source_fingerprint([f])
    assert source_fingerprint([f]) == before
    f.write_bytes(b"12345")
    assert source_fingerprint([f]) != before
    assert (
        cached(
            None, "x", before, lambda: load_jpeg_npz(write_fake_jpeg_npz(tmp_path / "y.npz")[0])
        ).info["cache"]
        == "off"
    )
