"""A data loader that keeps a whole split on the training device.

CIFAR-sized sets fit in device memory as uint8 (150 MB for CIFAR-10), so
instead of decoding and copying every batch from worker processes, the
split is uploaded once and each batch is an index gather plus the batched
augmentation of :mod:`experiments.data.augment`. The shuffling permutation
and the augmentation parameters come from a CPU generator seeded from
(seed, epoch): the same seed gives the same batches on CPU and CUDA, and an
epoch can be replayed on its own (e.g. after resuming).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence

import numpy as np
import torch

from experiments.data.augment import (
    CIFAR10_MEAN,
    CIFAR10_STD,
    crop_flip_padded,
    normalize,
    pad_images,
    pixel_statistics,
    sample_crop_flip,
)
from experiments.data.dataset import ImageDataset


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """A CPU generator seeded from (seed, epoch) via numpy's SeedSequence.

    SeedSequence mixes the pair, so nearby seeds or epochs give unrelated streams.
    """
    state = np.random.SeedSequence([seed, epoch]).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator().manual_seed(int(state))


class DeviceLoader:
    """Iterate over (images, labels) batches of a split held on ``device``.

    ``train=True`` shuffles and augments (random crop with ``padding`` pixels
    of zero padding, random horizontal flip) each epoch; ``train=False``
    yields the split in order, only normalised. Images come out as
    ``dtype`` (B, C, H, W) tensors in channels_last memory, normalised with ``mean``/``std``, labels
    as int64. Each ``iter()`` runs the next epoch (starting at 0; see
    :meth:`set_epoch`); :meth:`iter_epoch` runs a given one.
    """

    def __init__(
        self,
        images: np.ndarray | torch.Tensor,
        labels: np.ndarray | torch.Tensor,
        batch_size: int,
        *,
        train: bool,
        device: str | torch.device = "cpu",
        seed: int = 0,
        augment: bool | None = None,
        drop_last: bool = False,
        padding: int = 4,
        flip: bool = True,
        mean: Sequence[float] = CIFAR10_MEAN,
        std: Sequence[float] = CIFAR10_STD,
        dtype: torch.dtype | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"images must be (N, H, W, 3), got {tuple(images.shape)}")
        if len(labels) != len(images):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.device = torch.device(device)
        self.augment = train if augment is None else augment
        # Stored (N, H, W, C), zero-padded once where batches are cropped, so a batch is a
        # gather of whole rows and comes out channels_last, the layout the models train in.
        store = torch.as_tensor(images, dtype=torch.uint8).to(self.device)
        self._store = pad_images(store, padding) if self.augment else store.contiguous()
        self.labels = torch.as_tensor(labels).to(device=self.device, dtype=torch.int64)
        self.batch_size = batch_size
        self.train = train
        self.shuffle = train
        self.drop_last = drop_last
        self.padding = padding
        self.flip = flip
        self.mean, self.std = tuple(mean), tuple(std)
        # None: torch's default dtype, so a float64 model (the equivalence tests) gets
        # float64 batches without every caller passing it.
        self.dtype = dtype or torch.get_default_dtype()
        # Made once on the device, so normalising a batch copies nothing from the host, and
        # per pixel, so that it runs along whole images (see pixel_statistics).
        height, width = images.shape[1], images.shape[2]
        self._mean, self._std = (
            pixel_statistics(values, height, width, self.dtype, self.device)
            for values in (self.mean, self.std)
        )
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        n = len(self.labels)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    @property
    def num_samples(self) -> int:
        """Number of images in the split."""
        return len(self.labels)

    def set_epoch(self, epoch: int) -> None:
        """Make the next ``iter()`` run ``epoch`` (e.g. when resuming a run)."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        epoch = self.epoch
        self.epoch += 1  # advance now, so an abandoned epoch is not replayed by accident
        return self.iter_epoch(epoch)

    def with_seed(self, seed: int) -> DeviceLoader:
        """The same split, sharing its device tensors, with another run's ``seed``: what a
        loader built with ``seed`` yields, without a second copy of the data."""
        loader = copy.copy(self)
        loader.seed, loader.epoch = seed, 0
        return loader

    def _epoch_plan(self, seed: int, epoch: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The order of ``epoch`` and its augmentation (offsets y, x and flips stacked as
        rows, or None), on the device: a pure function of (seed, epoch)."""
        generator = epoch_generator(seed, epoch)
        n = len(self.labels)
        order = torch.randperm(n, generator=generator) if self.shuffle else torch.arange(n)
        # The whole epoch's random numbers go to the device in one copy each, rather
        # than several tiny synchronous copies per batch.
        order = order.to(self.device)
        if not self.augment:
            return order, None
        params = sample_crop_flip(n, self.padding, generator, self.flip)
        return order, torch.stack([p.to(torch.int64) for p in params]).to(self.device)

    def _batch(self, index: torch.Tensor, augmentation: torch.Tensor | None) -> torch.Tensor:
        if augmentation is None:
            batch = self._store.index_select(0, index).permute(0, 3, 1, 2)
        else:
            offset_y, offset_x, flips = augmentation
            batch = crop_flip_padded(
                self._store, index, offset_y, offset_x, flips.bool(), self.padding
            )
        return normalize(batch, self._mean, self._std, self.dtype)

    def iter_epoch(self, epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The batches of ``epoch``; a pure function of (seed, epoch) and the data."""
        order, augmentation = self._epoch_plan(self.seed, epoch)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            index = order[start : start + self.batch_size]
            window = None if augmentation is None else augmentation[:, start : start + len(index)]
            yield self._batch(index, window), self.labels.index_select(0, index)

    def iter_stacked_epoch(
        self, seeds: Sequence[int], epoch: int
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Batches of ``epoch`` for several runs at once: (runs, B, C, H, W) images and
        (runs, B) labels, row i being exactly the batch that :meth:`iter_epoch` of a loader
        seeded ``seeds[i]`` yields; one gather, crop and normalisation serve every run."""
        plans = [self._epoch_plan(seed, epoch) for seed in seeds]
        orders = torch.stack([order for order, _ in plans])  # (runs, n)
        augmentation = None if plans[0][1] is None else torch.stack([a for _, a in plans], 1)
        runs = len(seeds)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            index = orders[:, start : start + self.batch_size]
            size = index.shape[1]
            window = None
            if augmentation is not None:  # (3, runs, size) -> (3, runs * size)
                window = augmentation[:, :, start : start + size].reshape(3, runs * size)
            flat = index.reshape(-1)
            images = self._batch(flat, window)
            yield (
                images.view(runs, size, *images.shape[1:]),
                self.labels.index_select(0, flat).view(runs, size),
            )


def make_loaders(
    data: ImageDataset,
    batch_size: int,
    *,
    device: str | torch.device = "cpu",
    seed: int = 0,
    test_batch_size: int | None = None,
    augment: bool = True,
    mean: Sequence[float] = CIFAR10_MEAN,
    std: Sequence[float] = CIFAR10_STD,
) -> tuple[DeviceLoader, DeviceLoader]:
    """Train loader (shuffled, augmented) and test loader (in order, normalised only)."""
    train = DeviceLoader(
        data.train_images, data.train_labels, batch_size, train=True, device=device,
        seed=seed, augment=augment, mean=mean, std=std,
    )  # fmt: skip
    test = DeviceLoader(
        data.test_images, data.test_labels, test_batch_size or batch_size, train=False,
        device=device, seed=seed, mean=mean, std=std,
    )  # fmt: skip
    return train, test
