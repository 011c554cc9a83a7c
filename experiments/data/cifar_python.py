"""Reader for the original CIFAR-10 / CIFAR-100 "python version" releases.

``cifar-10-batches-py/`` holds ``data_batch_1`` ... ``data_batch_5``,
``test_batch`` and ``batches.meta``; ``cifar-100-python/`` holds ``train``,
``test`` and ``meta``. Each file is a Python 2 pickle of a dict whose
``data`` entry is an (N, 3072) uint8 array (1024 red, then 1024 green, then
1024 blue values, row-major) and whose labels are a list of ints.

Pickles can run arbitrary code when loaded, and these come from a
user-supplied directory, so they are read with an unpickler that only
resolves the handful of globals a numpy array needs.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from experiments.data.dataset import ImageDataset
from experiments.data.errors import DataError

CIFAR10_TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
LAYOUTS: dict[str, dict[str, Any]] = {
    "cifar10": {
        "dir": "cifar-10-batches-py",
        "train": CIFAR10_TRAIN_FILES,
        "test": ("test_batch",),
        "meta": "batches.meta",
        "labels": "labels",
        "names": "label_names",
    },
    "cifar100": {
        "dir": "cifar-100-python",
        "train": ("train",),
        "test": ("test",),
        "meta": "meta",
        "labels": "fine_labels",
        "names": "fine_label_names",
    },
}

# Everything an ndarray pickle needs, for Python 2 (numpy.core) and 3 (numpy._core)
# writers, and nothing else; ``_codecs.encode`` is how Python 3 stores bytes in protocol 2.
_ALLOWED_GLOBALS = frozenset(
    {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }
)


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickler that refuses any global outside :data:`_ALLOWED_GLOBALS`."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load global {module}.{name}")


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def read_pickle(path: Path) -> dict[str, Any]:
    """Load one release file as a dict with str keys, or raise DataError naming it."""
    if not path.is_file():
        raise DataError(f"{path}: not found (incomplete CIFAR python release?)")
    try:
        with open(path, "rb") as fh:
            # encoding="bytes" reads the Python 2 strings inside the arrays as raw bytes.
            obj = _ArrayOnlyUnpickler(fh, encoding="bytes").load()
    except Exception as exc:  # truncated files raise EOFError, damaged ones anything
        raise DataError(
            f"{path}: not a readable CIFAR pickle (truncated or corrupt?): "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(obj, dict):
        raise DataError(f"{path}: expected a pickled dict, got {type(obj).__name__}")
    return {_text(k): v for k, v in obj.items()}


def _read_batch(path: Path, label_key: str, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    batch = read_pickle(path)
    for key in ("data", label_key):
        if key not in batch:
            raise DataError(f"{path}: no {key!r} entry; it has {sorted(batch)}")
    data = batch["data"]
    if (
        not isinstance(data, np.ndarray)
        or data.dtype != np.uint8
        or data.ndim != 2
        or data.shape[1] != 3072
    ):
        shape = getattr(data, "shape", None)
        raise DataError(
            f"{path}: 'data' must be a uint8 (N, 3072) array, got {type(data).__name__} {shape}"
        )
    try:
        # No dtype here: asking numpy for int64 would truncate a label of 1.7 to 1.
        raw = np.asarray(batch[label_key])
    except (TypeError, ValueError) as exc:
        raise DataError(f"{path}: {label_key!r} is not a list of integers: {exc}") from exc
    if raw.dtype.kind not in "iu":
        example = next((x for x in raw.ravel() if not isinstance(x, int | np.integer)), None)
        raise DataError(
            f"{path}: {label_key!r} must hold integer class indices, found "
            f"{example!r} ({raw.dtype})"
        )
    labels = raw.astype(np.int64)
    if labels.shape != (len(data),):
        raise DataError(f"{path}: {len(data)} images but {label_key!r} has shape {labels.shape}")
    if len(labels) and (labels.min() < 0 or labels.max() >= n_classes):
        raise DataError(
            f"{path}: labels must lie in [0, {n_classes}), found [{labels.min()}, {labels.max()}]"
        )
    # Planar RGB rows -> (N, 32, 32, 3), the layout every other reader returns.
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def find_cifar_python_dir(root: str | os.PathLike, name: str) -> Path | None:
    """The release directory for ``name`` at or directly under ``root``, or None."""
    layout = LAYOUTS[name]
    root = Path(root)
    for candidate in (root / layout["dir"], root):
        if (candidate / layout["meta"]).is_file() and (candidate / layout["test"][0]).is_file():
            return candidate
    return None


def cifar_python_files(directory: str | os.PathLike, name: str) -> list[Path]:
    """Every file the reader opens, for cache fingerprints."""
    layout = LAYOUTS[name]
    directory = Path(directory)
    return [directory / f for f in (layout["meta"], *layout["train"], *layout["test"])]


def load_cifar_python(directory: str | os.PathLike, name: str = "cifar10") -> ImageDataset:
    """Read a ``cifar-10-batches-py`` (``name="cifar10"``) or ``cifar-100-python`` directory.

    CIFAR-100 uses the 100 fine labels. Raises :class:`DataError` naming the
    file for a missing, unreadable or inconsistent file.
    """
    if name not in LAYOUTS:
        raise ValueError(f"name must be one of {sorted(LAYOUTS)}, got {name!r}")
    layout = LAYOUTS[name]
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"{directory}: not a directory")
    meta_path = directory / layout["meta"]
    meta = read_pickle(meta_path)
    if layout["names"] not in meta:
        raise DataError(f"{meta_path}: no {layout['names']!r} entry; it has {sorted(meta)}")
    classes = tuple(_text(c) for c in meta[layout["names"]])
    splits = {}
    for split in ("train", "test"):
        parts = [_read_batch(directory / f, layout["labels"], len(classes)) for f in layout[split]]
        splits[split] = (
            np.concatenate([p[0] for p in parts]),
            np.concatenate([p[1] for p in parts]),
        )
    return ImageDataset(
        name=name,
        classes=classes,
        train_images=splits["train"][0],
        train_labels=splits["train"][1],
        test_images=splits["test"][0],
        test_labels=splits["test"][1],
        source=str(directory),
    )
