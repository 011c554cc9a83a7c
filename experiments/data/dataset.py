"""The in-memory form every loader returns: decoded uint8 images plus labels."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from experiments.data.errors import DataError


# eq=False: field-wise == on numpy arrays is ambiguous; identity comparison is what is meant.
@dataclass(frozen=True, eq=False)
class ImageDataset:
    """A train/test image classification set held as numpy arrays.

    Images are uint8 arrays of shape (N, H, W, 3) (RGB, channels last, as
    decoded); labels are int64 class indices into ``classes``. ``source`` says
    where the data came from (a path, or the embedded subset) and ``info``
    holds provenance: subset seed and source hash, cache status, etc.
    """

    name: str
    classes: tuple[str, ...]
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    source: str
    is_subset: bool = False
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Readers validate their own formats; this catches a reader bug or a hand-built
        # dataset early, before a shape mismatch surfaces inside a training step.
        for split in ("train", "test"):
            images = getattr(self, f"{split}_images")
            labels = getattr(self, f"{split}_labels")
            if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
                raise DataError(
                    f"{self.source}: {split} images must be uint8 (N, H, W, 3), "
                    f"got {images.dtype} {images.shape}"
                )
            if labels.dtype.kind not in "iu":
                raise DataError(
                    f"{self.source}: {split} labels must be integer class indices, "
                    f"got {labels.dtype}"
                )
            if labels.ndim != 1 or len(labels) != len(images):
                raise DataError(
                    f"{self.source}: {split} has {len(images)} images but labels of shape "
                    f"{labels.shape}"
                )
            if len(labels) and (labels.min() < 0 or labels.max() >= len(self.classes)):
                raise DataError(
                    f"{self.source}: {split} labels must lie in [0, {len(self.classes)}), "
                    f"got [{labels.min()}, {labels.max()}]"
                )
        if self.train_images.shape[1:] != self.test_images.shape[1:]:
            raise DataError(
                f"{self.source}: train images are {self.train_images.shape[1:]} but test images "
                f"are {self.test_images.shape[1:]}"
            )

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.classes)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(H, W, 3) of every image."""
        h, w, c = self.train_images.shape[1:]
        return (int(h), int(w), int(c))

    def fingerprint(self) -> str:
        """A short digest of the content a run trains and is tested on.

        Part of a training run's identity (``RunSpec.data``): the embedded subset and the
        full CIFAR-10 give different runs even at the same ``--train-subset``. Hashes the
        name, classes, shapes, every label and every 101st image (a few MB for CIFAR-10),
        so it is cheap to recompute and still tells any two of our data sources apart.
        """
        digest = hashlib.sha256()
        digest.update(repr((self.name, self.classes)).encode())
        for array in (self.train_labels, self.test_labels):
            digest.update(repr(array.shape).encode())
            digest.update(np.ascontiguousarray(array, dtype=np.int64).tobytes())
        for array in (self.train_images, self.test_images):
            digest.update(repr(array.shape).encode())
            digest.update(np.ascontiguousarray(array[::101]).tobytes())
        return f"{self.name}-{len(self.train_labels)}-{digest.hexdigest()[:12]}"

    def describe(self) -> str:
        """One line for logs: name, sizes and where the data came from."""
        kind = "embedded subset" if self.is_subset else "full set"
        return (
            f"{self.name} ({kind}: {len(self.train_labels)} train / {len(self.test_labels)} test, "
            f"{self.num_classes} classes, {self.image_shape[0]}x{self.image_shape[1]}) "
            f"from {self.source}"
        )
