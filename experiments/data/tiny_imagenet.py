"""Reader for the TinyImageNet-200 folder layout.

::

    tiny-imagenet-200/
        wnids.txt                         # optional: the class ids, one a line
        train/<wnid>/images/*.JPEG        # 500 64x64 images per class
        val/images/*.JPEG
        val/val_annotations.txt           # "<file>\t<wnid>\t<x0>\t<y0>\t<x1>\t<y1>"

The labelled ``val`` split serves as the test split (``test/`` has no
labels). Classes are the wnids in sorted order, the order folder-based
loaders in the papers' code bases assign. A few TinyImageNet images are
grayscale; they are converted to RGB.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from experiments.data.dataset import ImageDataset
from experiments.data.errors import DataError
from experiments.data.jpeg_npz import decode_jpeg

_JPEG_SUFFIXES = {".jpeg", ".jpg"}


def find_tiny_imagenet_dir(root: str | os.PathLike) -> Path | None:
    """The ``tiny-imagenet-200`` directory at or directly under ``root``, or None."""
    root = Path(root)
    for candidate in (root / "tiny-imagenet-200", root):
        if (candidate / "train").is_dir() and (candidate / "val" / "val_annotations.txt").is_file():
            return candidate
    return None


def _classes(root: Path) -> tuple[str, ...]:
    train = root / "train"
    if not train.is_dir():
        raise DataError(f"{train}: not found (not a TinyImageNet directory?)")
    on_disk = {p.name for p in train.iterdir() if p.is_dir()}
    wnids_file = root / "wnids.txt"
    if wnids_file.is_file():
        listed = {line.strip() for line in wnids_file.read_text().splitlines() if line.strip()}
        missing = sorted(listed - on_disk)
        if missing:
            raise DataError(f"{wnids_file}: lists classes without a train folder: {missing[:5]}")
        wnids = listed
    else:
        wnids = on_disk
    if not wnids:
        raise DataError(f"{train}: contains no class folders")
    return tuple(sorted(wnids))


def _train_files(root: Path, classes: tuple[str, ...]) -> list[tuple[Path, int]]:
    files = []
    for label, wnid in enumerate(classes):
        folder = root / "train" / wnid / "images"
        images = (
            sorted(p for p in folder.iterdir() if p.suffix.lower() in _JPEG_SUFFIXES)
            if folder.is_dir()
            else []
        )
        if not images:
            raise DataError(f"{folder}: no JPEG images for class {wnid}")
        files += [(p, label) for p in images]
    return files


def _val_files(root: Path, classes: tuple[str, ...]) -> list[tuple[Path, int]]:
    annotations = root / "val" / "val_annotations.txt"
    if not annotations.is_file():
        raise DataError(f"{annotations}: not found (not a TinyImageNet directory?)")
    index = {wnid: i for i, wnid in enumerate(classes)}
    files = []
    for lineno, line in enumerate(annotations.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2:
            raise DataError(f"{annotations}:{lineno}: expected '<file>\\t<wnid>...', got {line!r}")
        filename, wnid = fields[0].strip(), fields[1].strip()
        if wnid not in index:
            raise DataError(f"{annotations}:{lineno}: unknown class {wnid!r}")
        path = root / "val" / "images" / filename
        if not path.is_file():
            raise DataError(f"{annotations}:{lineno}: image {path} not found")
        files.append((path, index[wnid]))
    if not files:
        raise DataError(f"{annotations}: lists no images")
    return files


def tiny_imagenet_files(directory: str | os.PathLike) -> list[Path]:
    """Every file the reader opens, for cache fingerprints."""
    root = Path(directory)
    classes = _classes(root)
    pairs = _train_files(root, classes) + _val_files(root, classes)
    return [root / "val" / "val_annotations.txt", *(p for p, _ in pairs)]


def _decode_all(files: list[tuple[Path, int]]) -> tuple[np.ndarray, np.ndarray]:
    first = decode_jpeg(files[0][0].read_bytes(), str(files[0][0]))
    images = np.empty((len(files), *first.shape), dtype=np.uint8)
    images[0] = first
    for i, (path, _) in enumerate(files[1:], start=1):
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise DataError(f"{path}: cannot read: {exc}") from exc
        pixels = decode_jpeg(data, str(path))
        if pixels.shape != first.shape:
            raise DataError(f"{path}: is {pixels.shape}, but {files[0][0]} is {first.shape}")
        images[i] = pixels
    return images, np.fromiter((label for _, label in files), dtype=np.int64, count=len(files))


def load_tiny_imagenet(directory: str | os.PathLike) -> ImageDataset:
    """Read a TinyImageNet-200 directory (train split + labelled val split as test).

    Raises :class:`DataError` naming the file for a missing folder or
    annotation file, an unknown class in the annotations, or a bad JPEG.
    """
    root = Path(directory)
    if not root.is_dir():
        raise DataError(f"{root}: not a directory")
    classes = _classes(root)
    train_images, train_labels = _decode_all(_train_files(root, classes))
    test_images, test_labels = _decode_all(_val_files(root, classes))
    return ImageDataset(
        name="tinyimagenet",
        classes=classes,
        train_images=train_images,
        train_labels=train_labels,
        test_images=test_images,
        test_labels=test_labels,
        source=str(root),
    )
