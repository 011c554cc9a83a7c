"""The embedded CIFAR-10 subset, loaded once per test process, and its fingerprint."""

from __future__ import annotations

import functools

from experiments.data import ImageDataset, load_dataset


@functools.cache
def embedded_subset() -> ImageDataset:
    return load_dataset("cifar10", subset=True)


def subset_fingerprint() -> str:
    """What ``RunSpec.data`` holds for a run on the embedded subset."""
    return embedded_subset().fingerprint()
