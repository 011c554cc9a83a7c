"""Tests of the batched augmentation and the on-device loader."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from experiments.data import CIFAR10_MEAN, CIFAR10_STD, DeviceLoader, crop_flip, normalize
from experiments.data.augment import (
    crop_flip_padded,
    pad_images,
    pixel_statistics,
    sample_crop_flip,
)
from experiments.data.device_loader import epoch_generator

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _images(n: int = 16, size: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, size, size, 3), dtype=np.uint8)


def _reference_crop_flip(image: np.ndarray, oy: int, ox: int, flip: bool, pad: int) -> np.ndarray:
    """One (C, H, W) image the slow, obvious way: pad with zeros, slice, mirror."""
    c, h, w = image.shape
    padded = np.zeros((c, h + 2 * pad, w + 2 * pad), image.dtype)
    padded[:, pad : pad + h, pad : pad + w] = image
    crop = padded[:, oy : oy + h, ox : ox + w]
    return crop[:, :, ::-1] if flip else crop


@pytest.mark.parametrize("device", DEVICES)
def test_crop_flip_matches_per_image_reference(device: str) -> None:
    images = torch.from_numpy(_images(32)).permute(0, 3, 1, 2).contiguous()
    params = sample_crop_flip(32, 4, torch.Generator().manual_seed(1))
    out = crop_flip(images.to(device), *params, padding=4).cpu().numpy()
    assert out.shape == (32, 3, 32, 32) and out.dtype == np.uint8
    for b in range(32):
        oy, ox, flip = (int(params[0][b]), int(params[1][b]), bool(params[2][b]))
        assert np.array_equal(out[b], _reference_crop_flip(images[b].numpy(), oy, ox, flip, 4))


def test_centre_crop_without_flip_is_identity() -> None:
    images = torch.from_numpy(_images(4)).permute(0, 3, 1, 2)
    same = torch.full((4,), 4)
    assert torch.equal(crop_flip(images, same, same, torch.zeros(4, dtype=torch.bool), 4), images)


def test_flip_mirrors_columns() -> None:
    images = torch.from_numpy(_images(4)).permute(0, 3, 1, 2)
    flips = torch.tensor([True, False, True, False])
    out = crop_flip(images, torch.full((4,), 4), torch.full((4,), 4), flips, 4)
    assert torch.equal(out[0], images[0].flip(-1)) and torch.equal(out[1], images[1])


def test_corner_crop_shifts_in_zero_padding() -> None:
    images = torch.from_numpy(_images(1)).permute(0, 3, 1, 2)
    no_flip = torch.zeros(1, dtype=torch.bool)
    out = crop_flip(images, torch.tensor([0]), torch.tensor([8]), no_flip, 4)[0]
    # Window starts 4 rows above and 4 columns right of the image: content moves down-left.
    assert (out[:, :4, :] == 0).all() and (out[:, :, 28:] == 0).all()
    assert torch.equal(out[:, 4:, :28], images[0, :, :28, 4:])


def test_crop_offsets_cover_the_padding_range() -> None:
    oy, ox, flips = sample_crop_flip(20_000, 4, torch.Generator().manual_seed(0))
    assert set(oy.tolist()) == set(range(9)) == set(ox.tolist())
    assert 0.48 < flips.float().mean().item() < 0.52


def test_normalize_matches_to_tensor_then_normalize() -> None:
    images = torch.from_numpy(_images(2)).permute(0, 3, 1, 2)
    expected = (
        images.double() / 255 - torch.tensor(CIFAR10_MEAN).double().view(1, 3, 1, 1)
    ) / torch.tensor(CIFAR10_STD).double().view(1, 3, 1, 1)
    out = normalize(images)
    assert out.dtype == torch.float32
    assert torch.allclose(out.double(), expected, atol=1e-5)


def test_test_loader_is_ordered_and_only_normalised() -> None:
    images, labels = _images(10), np.arange(10) % 3
    loader = DeviceLoader(images, labels, 4, train=False)
    batches = list(loader)
    assert [len(y) for _, y in batches] == [4, 4, 2] == [len(x) for x, _ in batches] and len(
        loader
    ) == 3
    x = torch.cat([b[0] for b in batches])
    y = torch.cat([b[1] for b in batches])
    assert torch.equal(y, torch.as_tensor(labels)) and y.dtype == torch.int64
    assert torch.equal(x, normalize(torch.from_numpy(images).permute(0, 3, 1, 2)))
    assert torch.equal(x, torch.cat([b[0] for b in loader]))  # every epoch identical


def test_train_epoch_is_a_permutation_with_augmented_images() -> None:
    images = _images(50)
    labels = np.arange(50)  # label = index, to recover the order
    loader = DeviceLoader(images, labels, 16, train=True, seed=3)
    seen = torch.cat([y for _, y in loader])
    assert sorted(seen.tolist()) == list(range(50)) and seen.tolist() != list(range(50))
    x, y = next(iter(loader))
    assert x.shape == (16, 3, 32, 32) and x.dtype == torch.float32
    # Each batch image is one crop/flip of its source image.
    plain = normalize(torch.from_numpy(images).permute(0, 3, 1, 2))[y]
    assert not torch.equal(x, plain)


def test_same_seed_same_batches_different_seed_or_epoch_differs() -> None:
    images, labels = _images(40), np.arange(40)

    def epoch(seed: int, e: int) -> list[torch.Tensor]:
        loader = DeviceLoader(images, labels, 8, train=True, seed=seed)
        return [t for batch in loader.iter_epoch(e) for t in batch]

    a, b = epoch(0, 0), epoch(0, 0)
    assert all(torch.equal(p, q) for p, q in zip(a, b, strict=True))
    assert not torch.equal(torch.cat(a[1::2]), torch.cat(epoch(1, 0)[1::2]))
    assert not torch.equal(torch.cat(a[1::2]), torch.cat(epoch(0, 1)[1::2]))


def test_iter_advances_the_epoch_and_set_epoch_replays() -> None:
    images, labels = _images(20), np.arange(20)
    loader = DeviceLoader(images, labels, 5, train=True, seed=0)
    first = [y for _, y in loader]
    second = [y for _, y in loader]
    assert loader.epoch == 2 and not torch.equal(torch.cat(first), torch.cat(second))
    loader.set_epoch(1)
    assert all(torch.equal(p, q) for p, q in zip(second, [y for _, y in loader], strict=True))


def test_drop_last_and_no_augment() -> None:
    images, labels = _images(10), np.arange(10)
    loader = DeviceLoader(images, labels, 4, train=True, drop_last=True, augment=False)
    batches = list(loader)
    assert len(loader) == len(batches) == 2
    x, y = batches[0]
    assert torch.equal(x, normalize(torch.from_numpy(images).permute(0, 3, 1, 2))[y])


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        DeviceLoader(_images(2), np.zeros(2), 0, train=True)
    with pytest.raises(ValueError, match="labels"):
        DeviceLoader(_images(2), np.zeros(3), 1, train=True)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_batches_equal_cpu_batches() -> None:
    images, labels = _images(64), np.arange(64) % 10
    cpu = DeviceLoader(images, labels, 16, train=True, seed=5)
    gpu = DeviceLoader(images, labels, 16, train=True, seed=5, device="cuda")
    for (xc, yc), (xg, yg) in zip(cpu, gpu, strict=True):
        assert xg.device.type == "cuda" and yg.device.type == "cuda"
        assert torch.equal(yc, yg.cpu())
        assert torch.allclose(xc, xg.cpu(), atol=1e-6)


@pytest.mark.parametrize("padding", [0, 2, 4])
def test_cropping_a_padded_store_gives_crop_flip_pixel_for_pixel(padding: int) -> None:
    nhwc = torch.from_numpy(_images(24))
    index = torch.tensor([5, 0, 23, 5, 11, 7])
    offset_y, offset_x, flips = sample_crop_flip(6, padding, torch.Generator().manual_seed(2))
    out = crop_flip_padded(pad_images(nhwc, padding), index, offset_y, offset_x, flips, padding)
    expected = crop_flip(nhwc.permute(0, 3, 1, 2)[index], offset_y, offset_x, flips, padding)
    assert torch.equal(out, expected) and out.is_contiguous(memory_format=torch.channels_last)


def test_loader_batches_are_the_epochs_crops_in_channels_last() -> None:
    images, labels = _images(20), np.arange(20)
    loader = DeviceLoader(images, labels, 8, train=True, seed=4)
    generator = epoch_generator(4, 1)
    order = torch.randperm(20, generator=generator)
    params = sample_crop_flip(20, 4, generator)
    nchw = torch.from_numpy(images).permute(0, 3, 1, 2)
    for start, (batch, batch_labels) in zip(range(0, 20, 8), loader.iter_epoch(1), strict=True):
        index = order[start : start + 8]
        crops = crop_flip(nchw[index], *(p[start : start + 8] for p in params), padding=4)
        assert torch.equal(batch, normalize(crops)) and torch.equal(batch_labels, index)
        assert batch.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_normalizing_with_pixel_statistics_is_normalizing_per_channel(layout) -> None:
    images = torch.from_numpy(_images(5)).permute(0, 3, 1, 2).contiguous(memory_format=layout)
    mean, std = (pixel_statistics(v, 32, 32) for v in (CIFAR10_MEAN, CIFAR10_STD))
    out = normalize(images, mean, std)
    assert torch.equal(out, normalize(images)) and out.is_contiguous(memory_format=layout)
    floats = images.float()
    normalize(floats, mean, std)
    assert torch.equal(floats, images.float())  # a batch already in the dtype is not changed
