"""Tiny fake data sets in the on-disk layouts the readers accept, for tests and smoke runs.

The CIFAR python release is a set of Python 2 pickles; :func:`py2_pickle`
writes the same opcodes a Python 2 ``cPickle.dump(..., protocol=2)`` of
those dicts produces (byte strings as BINSTRING, arrays through
``numpy.core.multiarray._reconstruct``), so the reader is exercised on the
real format and not only on what Python 3's pickler would emit.
"""

from __future__ import annotations

import io
import os
import pickle
import struct
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from experiments.data.cifar_python import CIFAR10_TRAIN_FILES
from experiments.data.jpeg_npz import write_jpeg_npz


def random_images(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` random RGB images (uint8, (n, size, size, 3)) made of flat 8x8 tiles.

    Each tile is one JPEG DCT block, so with :func:`encode_jpeg`'s settings
    JPEG stores it almost exactly; tests can then compare decoded pixels with
    the originals within a few grey levels.
    """
    tiles = -(-size // 8)
    coarse = rng.integers(0, 256, size=(n, tiles, tiles, 3), dtype=np.uint8)
    images = np.repeat(np.repeat(coarse, 8, axis=1), 8, axis=2)[:, :size, :size]
    return np.ascontiguousarray(images)


def encode_jpeg(image: np.ndarray, quality: int = 95) -> bytes:
    """JPEG bytes of one (H, W, 3) or (H, W) uint8 image, without chroma subsampling.

    (Subsampled chroma is interpolated across block edges when decoding, which
    would blur the tiles of :func:`random_images`.)
    """
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality, subsampling=0)
    return buffer.getvalue()


# --- Python 2 pickle writer (protocol 2), for the handful of types CIFAR files hold ---


def _py2_value(out: io.BytesIO, value: Any) -> None:
    if isinstance(value, bytes):
        if len(value) < 256:
            out.write(b"U" + bytes([len(value)]) + value)  # SHORT_BINSTRING
        else:
            out.write(b"T" + struct.pack("<i", len(value)) + value)  # BINSTRING
    elif isinstance(value, bool) or value is None:
        out.write({True: b"\x88", False: b"\x89", None: b"N"}[value])
    elif isinstance(value, int):
        out.write(b"J" + struct.pack("<i", value))  # BININT
    elif isinstance(value, list | tuple):
        out.write(b"(")  # MARK
        for item in value:
            _py2_value(out, item)
        out.write(b"l" if isinstance(value, list) else b"t")  # LIST / TUPLE
    elif isinstance(value, dict):
        out.write(b"}(")  # EMPTY_DICT, MARK
        for key, item in value.items():
            _py2_value(out, key)
            _py2_value(out, item)
        out.write(b"u")  # SETITEMS
    elif isinstance(value, np.ndarray):
        if value.dtype != np.uint8:
            raise TypeError("only uint8 arrays are supported")
        # ndarray.__reduce__ under numpy 1 / Python 2:
        # _reconstruct(ndarray, (0,), 'b') then BUILD with
        # (1, shape, dtype('u1'), fortran=False, raw bytes).
        out.write(b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n")
        _py2_value(out, (0,))
        _py2_value(out, b"b")
        out.write(b"\x87R(")  # TUPLE3, REDUCE, MARK
        _py2_value(out, 1)
        _py2_value(out, tuple(int(d) for d in value.shape))
        out.write(b"cnumpy\ndtype\n")
        _py2_value(out, (b"u1", 0, 1))
        out.write(b"R")
        _py2_value(out, (3, b"|", None, None, None, -1, -1, 0))
        out.write(b"b")  # BUILD (dtype state)
        _py2_value(out, False)
        _py2_value(out, np.ascontiguousarray(value).tobytes())
        out.write(b"tb")  # TUPLE (array state), BUILD
    else:
        raise TypeError(f"unsupported type {type(value).__name__}")


def py2_pickle(obj: Any) -> bytes:
    """Pickle ``obj`` the way Python 2's cPickle (protocol 2) would."""
    out = io.BytesIO()
    out.write(b"\x80\x02")  # PROTO 2
    _py2_value(out, obj)
    out.write(b".")  # STOP
    return out.getvalue()


def write_fake_cifar_python(
    root: str | os.PathLike,
    name: str = "cifar10",
    per_file: int = 6,
    seed: int = 0,
    python2: bool = True,
) -> Path:
    """Write a miniature ``cifar-10-batches-py`` or ``cifar-100-python`` under ``root``.

    Every train/test file holds ``per_file`` images with labels cycling over
    the classes. ``python2=False`` writes Python 3 pickles instead.
    """
    rng = np.random.default_rng(seed)
    root = Path(root)
    if name == "cifar10":
        directory = root / "cifar-10-batches-py"
        n_classes, label_key = 10, b"labels"
        files = {f: "train" for f in CIFAR10_TRAIN_FILES} | {"test_batch": "test"}
        meta_name, meta = (
            "batches.meta",
            {
                b"label_names": [f"class{i}".encode() for i in range(10)],
                b"num_cases_per_batch": per_file,
                b"num_vis": 3072,
            },
        )
    elif name == "cifar100":
        directory = root / "cifar-100-python"
        n_classes, label_key = 100, b"fine_labels"
        files = {"train": "train", "test": "test"}
        meta_name, meta = (
            "meta",
            {
                b"fine_label_names": [f"fine{i}".encode() for i in range(100)],
                b"coarse_label_names": [f"coarse{i}".encode() for i in range(20)],
            },
        )
    else:
        raise ValueError(f"name must be cifar10 or cifar100, got {name!r}")
    directory.mkdir(parents=True, exist_ok=True)
    dump = py2_pickle if python2 else (lambda o: pickle.dumps(o, protocol=4))
    (directory / meta_name).write_bytes(dump(meta))
    for k, (filename, split) in enumerate(files.items()):
        images = rng.integers(0, 256, size=(per_file, 32, 32, 3), dtype=np.uint8)
        labels = [(k * per_file + i) % n_classes for i in range(per_file)]
        batch: dict[bytes, Any] = {
            b"batch_label": f"{split} batch {k}".encode(),
            label_key: labels,
            # The release's planar layout: all red values, then green, then blue.
            b"data": images.transpose(0, 3, 1, 2).reshape(per_file, 3072),
            b"filenames": [f"img_{k}_{i}.png".encode() for i in range(per_file)],
        }
        if name == "cifar100":
            batch[b"coarse_labels"] = [label // 5 for label in labels]
        (directory / filename).write_bytes(dump(batch))
    return directory


def write_fake_tiny_imagenet(
    root: str | os.PathLike,
    n_classes: int = 3,
    train_per_class: int = 4,
    val_per_class: int = 2,
    size: int = 64,
    seed: int = 0,
) -> Path:
    """Write a miniature ``tiny-imagenet-200`` under ``root`` (one image per class is grayscale)."""
    rng = np.random.default_rng(seed)
    directory = Path(root) / "tiny-imagenet-200"
    wnids = [f"n{10000000 + 7 * i:08d}" for i in range(n_classes)]
    (directory / "val" / "images").mkdir(parents=True, exist_ok=True)
    (directory / "wnids.txt").write_text("".join(f"{w}\n" for w in wnids))
    annotations = []
    for c, wnid in enumerate(wnids):
        folder = directory / "train" / wnid / "images"
        folder.mkdir(parents=True, exist_ok=True)
        for i, image in enumerate(random_images(train_per_class, size, rng)):
            pixels = image[..., 0] if i == 0 else image  # TinyImageNet has grayscale files
            (folder / f"{wnid}_{i}.JPEG").write_bytes(encode_jpeg(pixels))
        (directory / "train" / wnid / f"{wnid}_boxes.txt").write_text("")
        for i, image in enumerate(random_images(val_per_class, size, rng)):
            filename = f"val_{c * val_per_class + i}.JPEG"
            (directory / "val" / "images" / filename).write_bytes(encode_jpeg(image))
            annotations.append(f"{filename}\t{wnid}\t0\t0\t{size - 1}\t{size - 1}\n")
    (directory / "val" / "val_annotations.txt").write_text("".join(annotations))
    return directory


def write_fake_jpeg_npz(
    path: str | os.PathLike,
    n_classes: int = 3,
    train_per_class: int = 4,
    test_per_class: int = 2,
    size: int = 32,
    seed: int = 0,
) -> tuple[Path, dict[str, np.ndarray]]:
    """Write a small JPEG npz; returns its path and the original (pre-JPEG) images by split."""
    rng = np.random.default_rng(seed)
    originals, splits = {}, {}
    for split, per_class in (("train", train_per_class), ("test", test_per_class)):
        labels = np.repeat(np.arange(n_classes), per_class)
        images = random_images(len(labels), size, rng)
        originals[split] = images
        splits[split] = ([encode_jpeg(im) for im in images], labels)
    classes = [f"class{i}" for i in range(n_classes)]
    return write_jpeg_npz(path, classes, splits), originals
