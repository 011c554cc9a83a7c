"""Data sets and the on-device data loader for the training checks.

``load_dataset(name, data_dir=None, subset=None)`` returns an
:class:`ImageDataset` (decoded uint8 arrays) from the full data when it can
be found and from the embedded CIFAR-10 subset otherwise;
``make_loaders`` / :class:`DeviceLoader` turn it into augmented batches on
the training device. Every unusable input raises :class:`DataError`.
"""

from experiments.data.augment import CIFAR10_MEAN, CIFAR10_STD, crop_flip, normalize
from experiments.data.cache import cached, source_fingerprint
from experiments.data.cifar_python import load_cifar_python
from experiments.data.dataset import ImageDataset
from experiments.data.device_loader import DeviceLoader, make_loaders
from experiments.data.errors import DataError
from experiments.data.jpeg_npz import load_jpeg_npz, read_jpeg_npz
from experiments.data.loading import (
    CACHE_DIR_ENV,
    DATA_DIR_ENV,
    DATASET_NAMES,
    SUBSET_PATH,
    find_source,
    load_dataset,
    load_subset,
)
from experiments.data.tiny_imagenet import load_tiny_imagenet

__all__ = [
    "CACHE_DIR_ENV",
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "DATASET_NAMES",
    "DATA_DIR_ENV",
    "SUBSET_PATH",
    "DataError",
    "DeviceLoader",
    "ImageDataset",
    "cached",
    "crop_flip",
    "find_source",
    "load_cifar_python",
    "load_dataset",
    "load_jpeg_npz",
    "load_subset",
    "load_tiny_imagenet",
    "make_loaders",
    "normalize",
    "read_jpeg_npz",
    "source_fingerprint",
]
