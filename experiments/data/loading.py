"""``load_dataset``: pick the data source, load it (through the cache), log which was used.

Resolution, in order:

1. ``subset=True``: the embedded CIFAR-10 subset committed in this package.
2. ``data_dir`` when given: the data set must be found there (else DataError).
3. ``$OPTVERIFY_DATA_DIR`` when set (e.g. ``../shared/data``): used when it
   holds the data set; otherwise a warning and step 4.
4. The embedded subset (CIFAR-10 only; other data sets raise DataError),
   unless ``subset=False`` demands the full set.

Within a directory the loaders accept ``<name>-jpeg.npz`` (the shared
format), the original python release (``cifar-10-batches-py``,
``cifar-100-python``) and ``tiny-imagenet-200``, either directly in the
directory or as the directory itself. Decoded arrays are cached in
``cache_dir`` (or ``$OPTVERIFY_CACHE_DIR``) when one is given.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from experiments.data.cache import cached, source_fingerprint
from experiments.data.cifar_python import (
    LAYOUTS,
    cifar_python_files,
    find_cifar_python_dir,
    load_cifar_python,
)
from experiments.data.dataset import ImageDataset
from experiments.data.errors import DataError
from experiments.data.jpeg_npz import load_jpeg_npz
from experiments.data.tiny_imagenet import (
    find_tiny_imagenet_dir,
    load_tiny_imagenet,
    tiny_imagenet_files,
)

logger = logging.getLogger(__name__)

DATA_DIR_ENV = "OPTVERIFY_DATA_DIR"
CACHE_DIR_ENV = "OPTVERIFY_CACHE_DIR"
SUBSET_PATH = Path(__file__).with_name("cifar10_subset.npz")
DATASET_NAMES = ("cifar10", "cifar100", "tinyimagenet")
_ALIASES = {
    "cifar-10": "cifar10",
    "cifar-100": "cifar100",
    "tiny-imagenet": "tinyimagenet",
    "tiny-imagenet-200": "tinyimagenet",
    "tinyimagenet200": "tinyimagenet",
}
# Archives a user may have downloaded but not unpacked; named in the "not found" error.
_ARCHIVES = {
    "cifar10": "cifar-10-python.tar.gz",
    "cifar100": "cifar-100-python.tar.gz",
    "tinyimagenet": "tiny-imagenet-200.zip",
}


@dataclass(frozen=True)
class DataSource:
    """A located data set: its format and where it is."""

    kind: str  # "jpeg_npz" | "cifar_python" | "tiny_imagenet"
    path: Path


def canonical_name(name: str) -> str:
    """Normalise a data-set name ("CIFAR-10" -> "cifar10"); ValueError if unknown."""
    key = name.strip().lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    if key not in DATASET_NAMES:
        raise ValueError(f"unknown data set {name!r}; known: {', '.join(DATASET_NAMES)}")
    return key


def find_source(name: str, root: str | os.PathLike) -> DataSource | None:
    """Locate data set ``name`` at ``root`` (a directory, or a JPEG npz file), or None."""
    name = canonical_name(name)
    root = Path(root)
    if root.is_file():
        return DataSource("jpeg_npz", root) if root.suffix == ".npz" else None
    npz = root / f"{name}-jpeg.npz"
    if npz.is_file():
        return DataSource("jpeg_npz", npz)
    if name in LAYOUTS:
        found = find_cifar_python_dir(root, name)
        if found is not None:
            return DataSource("cifar_python", found)
    if name == "tinyimagenet":
        found = find_tiny_imagenet_dir(root)
        if found is not None:
            return DataSource("tiny_imagenet", found)
    return None


def _looked_for(name: str, root: Path) -> str:
    options = [f"{name}-jpeg.npz"]
    if name in LAYOUTS:
        options.append(LAYOUTS[name]["dir"] + "/")
    if name == "tinyimagenet":
        options.append("tiny-imagenet-200/")
    text = f"looked in {root} for {' or '.join(options)}"
    archive = root / _ARCHIVES[name]
    if archive.is_file():
        text += f"; found {archive}, which needs unpacking first"
    return text


def read_source(
    name: str,
    source: DataSource,
    cache_dir: str | os.PathLike | None = None,
    verify_sha256: bool = True,
    is_subset: bool = False,
) -> ImageDataset:
    """Load a located source, through the decoded-array cache when ``cache_dir`` is set."""
    name = canonical_name(name)
    build: Callable[[], ImageDataset]
    if source.kind == "jpeg_npz":
        files = [source.path]

        def build() -> ImageDataset:
            return load_jpeg_npz(source.path, name, verify_sha256, is_subset)

    elif source.kind == "cifar_python":
        files = cifar_python_files(source.path, name)

        def build() -> ImageDataset:
            return load_cifar_python(source.path, name)

    elif source.kind == "tiny_imagenet":
        try:
            files = tiny_imagenet_files(source.path)
        except OSError as exc:
            raise DataError(f"{source.path}: cannot list files: {exc}") from exc

        def build() -> ImageDataset:
            return load_tiny_imagenet(source.path)

    else:
        raise ValueError(f"unknown source kind {source.kind!r}")
    try:
        fingerprint = source_fingerprint(files, extra=f"{name}|{source.kind}")
    except FileNotFoundError as exc:
        raise DataError(f"{exc.filename}: not found") from None
    return cached(cache_dir, name, fingerprint, build)


def load_subset(cache_dir: str | os.PathLike | None = None) -> ImageDataset:
    """The embedded class-balanced CIFAR-10 subset (see ``make_subset``)."""
    if not SUBSET_PATH.is_file():
        raise DataError(f"{SUBSET_PATH}: the embedded subset is missing from this installation")
    # No published hash to check: zip CRCs plus the structural checks guard the file,
    # and a test compares it with the shared source where that is available.
    return read_source("cifar10", DataSource("jpeg_npz", SUBSET_PATH), cache_dir, False, True)


def load_dataset(
    name: str = "cifar10",
    data_dir: str | os.PathLike | None = None,
    subset: bool | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    verify_sha256: bool = True,
) -> ImageDataset:
    """Load a train/test image data set, choosing the source as the module docstring says.

    ``subset``: ``None`` uses the full data when found and the embedded
    CIFAR-10 subset otherwise; ``True`` forces the subset; ``False``
    requires the full data. Logs one INFO line naming what was loaded.
    """
    name = canonical_name(name)
    if cache_dir is None:
        cache_dir = os.environ.get(CACHE_DIR_ENV) or None
    if subset and data_dir is not None:
        raise ValueError("subset=True loads the embedded subset; do not also pass data_dir")
    if subset and name != "cifar10":
        raise DataError(f"{name}: there is no embedded subset (only cifar10 has one)")

    root: Path | None = None
    fallback_reason = f"no data_dir given and ${DATA_DIR_ENV} is not set"
    if not subset:
        env_dir = os.environ.get(DATA_DIR_ENV) or None
        root = Path(data_dir) if data_dir is not None else (Path(env_dir) if env_dir else None)
        if root is not None:
            source = find_source(name, root)
            if source is not None:
                data = read_source(name, source, cache_dir, verify_sha256)
                logger.info(
                    "load_dataset: using %s [cache: %s]", data.describe(), data.info["cache"]
                )
                return data
            where = _looked_for(name, root)
            if data_dir is not None or subset is False or name != "cifar10":
                origin = "data_dir" if data_dir is not None else f"${DATA_DIR_ENV}"
                raise DataError(f"{name} not found via {origin}: {where}")
            fallback_reason = f"${DATA_DIR_ENV}={env_dir} has no {name} data ({where})"
            logger.warning("load_dataset: %s; falling back to the embedded subset", fallback_reason)
        elif subset is False or name != "cifar10":
            raise DataError(
                f"{name}: {fallback_reason}; pass data_dir=... or set {DATA_DIR_ENV} "
                "to a directory holding the data"
                + ("" if name != "cifar10" else " (or allow the embedded subset: subset=None)")
            )

    data = load_subset(cache_dir)
    hint = "requested" if subset else f"{fallback_reason}; pass data_dir= for the full set"
    logger.info("load_dataset: using %s (%s)", data.describe(), hint)
    return data
