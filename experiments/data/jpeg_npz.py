"""The JPEG-in-npz format of ``cifar10-jpeg.npz``: verify, decode, write.

Layout (see the data README): per split ``<split>_jpeg`` (uint8, all JPEG
files concatenated), ``<split>_offsets`` (int64, n + 1 entries; image i is
``jpeg[offsets[i]:offsets[i+1]]``) and ``<split>_labels``; plus ``classes``.

One optional extension, used by the embedded subset: ``jpeg_prefix`` (uint8).
When present, image i is ``jpeg_prefix + jpeg[offsets[i]:offsets[i+1]]``.
The shared file's JPEGs all start with the same ~620 header bytes
(quantisation and Huffman tables), two thirds of each 32x32 image, so
storing them once lets 6,000 original, bit-identical images fit in ~2 MB.
Any other keys are provenance metadata (seed, source hash, ...).
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

try:  # Pillow is only needed to decode JPEGs; the CIFAR pickle reader works without it.
    from PIL import Image
except ImportError:  # pragma: no cover - exercised only on installs without Pillow
    Image = None

from experiments.data.dataset import ImageDataset
from experiments.data.errors import DataError

SPLITS = ("train", "test")
REQUIRED_KEYS = (
    *(f"{split}_{part}" for split in SPLITS for part in ("jpeg", "offsets", "labels")),
    "classes",
)
PREFIX_KEY = "jpeg_prefix"

# Published checksums of known files, keyed by file name (from the data README).
KNOWN_SHA256 = {
    "cifar10-jpeg.npz": "b1091c5ea41ae05745b054dfe78e169e8ec1f4dc2df004961759ace1b182b15c",
}


@dataclass(frozen=True)
class JpegSplit:
    """One split's encoded images: concatenated bytes, offsets, labels."""

    jpeg: np.ndarray
    offsets: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def body(self, i: int) -> bytes:
        """The stored bytes of image ``i`` (without the archive's shared prefix)."""
        return self.jpeg[self.offsets[i] : self.offsets[i + 1]].tobytes()


@dataclass(frozen=True)
class JpegArchive:
    """A verified JPEG npz, not yet decoded."""

    path: Path
    classes: tuple[str, ...]
    splits: dict[str, JpegSplit]
    prefix: bytes
    metadata: dict[str, Any]

    def image_bytes(self, split: str, i: int) -> bytes:
        """The complete JPEG file of image ``i`` of ``split``."""
        return self.prefix + self.splits[split].body(i)


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in chunks so large files need little memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _scalar(value: np.ndarray) -> Any:
    # 0-d metadata arrays become plain Python values; others stay arrays.
    return value.item() if value.ndim == 0 else value


def _check_split(
    path: Path, split: str, jpeg: Any, offsets: Any, labels: Any, n_classes: int
) -> None:
    """Raise DataError unless the split's three arrays describe a consistent set of images."""
    where = f"{path}: {split} split"
    if jpeg.ndim != 1 or jpeg.dtype != np.uint8:
        raise DataError(
            f"{where}: {split}_jpeg must be a 1-D uint8 array, got {jpeg.dtype} {jpeg.shape}"
        )
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(
            f"{where}: {split}_labels must be 1-D integers, got {labels.dtype} {labels.shape}"
        )
    if offsets.ndim != 1 or not np.issubdtype(offsets.dtype, np.integer):
        raise DataError(
            f"{where}: {split}_offsets must be 1-D integers, got {offsets.dtype} {offsets.shape}"
        )
    n = len(labels)
    if len(offsets) != n + 1:
        raise DataError(f"{where}: {n} labels need {n + 1} offsets, found {len(offsets)}")
    if n == 0:
        raise DataError(f"{where}: contains no images")
    if offsets[0] != 0:
        raise DataError(f"{where}: offsets must start at 0, start at {offsets[0]}")
    steps = np.diff(offsets)
    if (steps <= 0).any():
        bad = int(np.flatnonzero(steps <= 0)[0])
        raise DataError(
            f"{where}: offsets must increase strictly; image {bad} spans "
            f"[{offsets[bad]}, {offsets[bad + 1]})"
        )
    if offsets[-1] != len(jpeg):
        raise DataError(
            f"{where}: offsets end at {offsets[-1]} but {split}_jpeg holds {len(jpeg)} bytes "
            "(truncated or mismatched arrays)"
        )
    if labels.min() < 0 or labels.max() >= n_classes:
        raise DataError(
            f"{where}: labels must lie in [0, {n_classes}), found [{labels.min()}, {labels.max()}]"
        )


def read_jpeg_npz(path: str | os.PathLike, expected_sha256: str | None = None) -> JpegArchive:
    """Open and verify a JPEG npz without decoding it.

    Checks that the file exists, is a readable npz (zip CRCs included), has
    the required arrays with consistent offsets and labels, and, when
    ``expected_sha256`` is given, that the file has that hash. Raises
    :class:`DataError` naming the file and the problem otherwise.
    """
    path = Path(path)
    if not path.is_file():
        what = "is a directory, not a file" if path.is_dir() else "not found"
        raise DataError(f"{path}: {what}")
    if expected_sha256 is not None:
        actual = sha256_file(path)
        if actual != expected_sha256.lower():
            raise DataError(
                f"{path}: sha256 is {actual}, expected {expected_sha256} "
                "(corrupt or different file; download it again)"
            )
    with open(path, "rb") as fh:
        magic = fh.read(6)
    if not magic:
        raise DataError(f"{path}: file is empty (0 bytes; interrupted download?)")
    if magic.startswith(b"\x93NUMPY"):
        raise DataError(f"{path}: holds a single .npy array, not an .npz archive")
    if not magic.startswith(b"PK"):
        raise DataError(f"{path}: not an .npz archive (no zip signature at the start of the file)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in REQUIRED_KEYS if k not in npz.files]
            if missing:
                raise DataError(
                    f"{path}: missing arrays {missing}; it holds {sorted(npz.files)} "
                    "(not a JPEG npz of this project?)"
                )
            # Reading each member here runs zipfile's CRC check, so a corrupt byte
            # anywhere in the archive surfaces now rather than as garbage pixels.
            arrays = {key: npz[key] for key in npz.files}
    except DataError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError) as exc:
        raise DataError(
            f"{path}: not a readable .npz archive (truncated or corrupt download?): "
            f"{type(exc).__name__}: {exc}"
        ) from exc

    classes = arrays.pop("classes")
    if classes.ndim != 1 or classes.dtype.kind not in "US" or len(classes) == 0:
        raise DataError(
            f"{path}: classes must be a non-empty 1-D string array, got {classes.dtype}"
        )
    class_names = tuple(str(c) for c in classes)
    splits = {}
    for split in SPLITS:
        jpeg, offsets, labels = (
            arrays.pop(f"{split}_{part}") for part in ("jpeg", "offsets", "labels")
        )
        _check_split(path, split, jpeg, offsets, labels, len(class_names))
        splits[split] = JpegSplit(jpeg, offsets.astype(np.int64), labels.astype(np.int64))
    prefix = b""
    if PREFIX_KEY in arrays:
        raw = arrays.pop(PREFIX_KEY)
        if raw.ndim != 1 or raw.dtype != np.uint8:
            raise DataError(f"{path}: {PREFIX_KEY} must be 1-D uint8, got {raw.dtype} {raw.shape}")
        prefix = raw.tobytes()
    metadata = {key: _scalar(value) for key, value in arrays.items()}
    return JpegArchive(path, class_names, splits, prefix, metadata)


def decode_jpeg(data: bytes, what: str) -> np.ndarray:
    """Decode one JPEG file to an (H, W, 3) uint8 array; ``what`` names it in errors."""
    if Image is None:
        raise ImportError(
            "decoding JPEG data needs Pillow: pip install 'pillow>=10' "
            "(part of this project's [experiments] extra)"
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "JPEG":
                raise DataError(f"{what}: is {image.format}, not JPEG")
            if image.mode != "RGB":
                image = image.convert("RGB")  # grayscale/CMYK files exist in some sets
            return np.asarray(image, dtype=np.uint8)
    except DataError:
        raise
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, ... on bad input
        raise DataError(f"{what}: not a decodable JPEG: {type(exc).__name__}: {exc}") from exc


def decode_split(archive: JpegArchive, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Decode every image of ``split``; all must share the first image's size."""
    part = archive.splits[split]
    first = decode_jpeg(archive.image_bytes(split, 0), f"{archive.path}: {split} image 0")
    images = np.empty((len(part), *first.shape), dtype=np.uint8)
    images[0] = first
    for i in range(1, len(part)):
        what = f"{archive.path}: {split} image {i}"
        pixels = decode_jpeg(archive.image_bytes(split, i), what)
        if pixels.shape != first.shape:
            raise DataError(f"{what}: is {pixels.shape}, but image 0 is {first.shape}")
        images[i] = pixels
    return images, part.labels


def load_jpeg_npz(
    path: str | os.PathLike,
    name: str = "cifar10",
    verify_sha256: bool = True,
    is_subset: bool = False,
) -> ImageDataset:
    """Verify and decode a JPEG npz into an :class:`ImageDataset`.

    With ``verify_sha256`` the file's hash is checked against
    :data:`KNOWN_SHA256` when its name is listed there.
    """
    path = Path(path)
    expected = KNOWN_SHA256.get(path.name) if verify_sha256 else None
    archive = read_jpeg_npz(path, expected_sha256=expected)
    train_images, train_labels = decode_split(archive, "train")
    test_images, test_labels = decode_split(archive, "test")
    info = {key: value for key, value in archive.metadata.items() if np.ndim(value) == 0}
    return ImageDataset(
        name=name,
        classes=archive.classes,
        train_images=train_images,
        train_labels=train_labels,
        test_images=test_images,
        test_labels=test_labels,
        source=str(path),
        is_subset=is_subset,
        info=info,
    )


def write_jpeg_npz(
    path: str | os.PathLike,
    classes: Sequence[str],
    splits: dict[str, tuple[Sequence[bytes], np.ndarray]],
    prefix: bytes = b"",
    metadata: dict[str, Any] | None = None,
    compress: bool = True,
) -> Path:
    """Write ``splits`` ({split: (jpeg_bodies, labels)}) in the JPEG npz format.

    ``prefix`` is stored once as ``jpeg_prefix`` and must already be stripped
    from the bodies. ``metadata`` values are stored as extra arrays.
    """
    arrays: dict[str, np.ndarray] = {"classes": np.asarray(list(classes), dtype=str)}
    for split in SPLITS:
        bodies, labels = splits[split]
        lengths = np.fromiter((len(b) for b in bodies), dtype=np.int64, count=len(bodies))
        arrays[f"{split}_jpeg"] = np.frombuffer(b"".join(bodies), dtype=np.uint8)
        arrays[f"{split}_offsets"] = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        # uint8 like the shared file where it fits (<= 256 classes).
        label_dtype = np.uint8 if len(classes) <= 256 else np.int64
        arrays[f"{split}_labels"] = np.asarray(labels, dtype=label_dtype)
    if prefix:
        arrays[PREFIX_KEY] = np.frombuffer(prefix, dtype=np.uint8)
    for key, value in (metadata or {}).items():
        if key in arrays:
            raise ValueError(f"metadata key {key!r} clashes with a data array")
        arrays[key] = np.asarray(value)
    path = Path(path)
    with open(path, "wb") as fh:  # a file object stops numpy from appending ".npz"
        (np.savez_compressed if compress else np.savez)(fh, **arrays)
    return path
