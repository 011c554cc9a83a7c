"""Build the embedded CIFAR-10 subset from the full JPEG npz.

    python -m experiments.data.make_subset --source /path/to/cifar10-jpeg.npz

Draws ``--train-per-class`` train and ``--test-per-class`` test images of
every class with ``numpy.random.default_rng(--seed)``, copies their JPEG
bytes unchanged (no re-encoding, so the pixels equal the full set's), stores
the header bytes all of them share once (``jpeg_prefix``), and records the
seed, the per-class counts, the chosen source indices and the source's name
and sha256 in the npz. The result is checked by decoding it and comparing
every image with the source before the command reports success.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from experiments.data.errors import DataError
from experiments.data.jpeg_npz import (
    KNOWN_SHA256,
    decode_jpeg,
    decode_split,
    read_jpeg_npz,
    sha256_file,
    write_jpeg_npz,
)
from experiments.data.loading import SUBSET_PATH

DEFAULT_MAX_BYTES = 3_000_000


def select_balanced(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of ``per_class`` distinct random items of every class."""
    chosen = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        if len(members) < per_class:
            raise DataError(f"class {c} has {len(members)} images, fewer than {per_class}")
        chosen.append(rng.choice(members, size=per_class, replace=False))
    return np.sort(np.concatenate(chosen))


def common_prefix(blobs: Sequence[bytes]) -> bytes:
    """Longest byte prefix shared by every blob (empty when there is none)."""
    if not blobs:
        return b""
    # Every blob sorts between the smallest and the largest, so whatever prefix those
    # two share, all share.
    lo, hi = min(blobs), max(blobs)
    pairs = enumerate(zip(lo, hi, strict=False))
    n = next((i for i, (a, b) in pairs if a != b), min(len(lo), len(hi)))
    return lo[:n]


def make_subset(
    source: str | os.PathLike,
    out: str | os.PathLike = SUBSET_PATH,
    seed: int = 0,
    train_per_class: int = 500,
    test_per_class: int = 100,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> dict[str, object]:
    """Write the subset to ``out``, verify it against ``source`` and return a summary."""
    source = Path(source)
    source_sha = sha256_file(source) if source.is_file() else ""
    archive = read_jpeg_npz(source, expected_sha256=KNOWN_SHA256.get(source.name))
    rng = np.random.default_rng(seed)
    per_class = {"train": train_per_class, "test": test_per_class}
    index = {s: select_balanced(archive.splits[s].labels, per_class[s], rng) for s in per_class}
    blobs = {s: [archive.image_bytes(s, int(i)) for i in index[s]] for s in index}
    # The JPEG encoder behind the source wrote identical headers (quantisation and
    # Huffman tables) into every file; storing them once is lossless and saves ~2/3.
    prefix = common_prefix(blobs["train"] + blobs["test"])
    splits = {
        s: ([b[len(prefix) :] for b in blobs[s]], archive.splits[s].labels[index[s]]) for s in index
    }
    metadata = {
        "seed": np.int64(seed),
        "train_per_class": np.int64(train_per_class),
        "test_per_class": np.int64(test_per_class),
        "train_source_index": index["train"].astype(np.int64),
        "test_source_index": index["test"].astype(np.int64),
        "source_name": source.name,
        "source_sha256": source_sha,
        "made_by": "python -m experiments.data.make_subset",
    }
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    write_jpeg_npz(tmp, archive.classes, splits, prefix=prefix, metadata=metadata)

    # Verify before replacing the committed file: every decoded image must equal the
    # source image it was copied from.
    written = read_jpeg_npz(tmp)
    for split in index:
        images, labels = decode_split(written, split)
        if not np.array_equal(labels, archive.splits[split].labels[index[split]]):
            raise DataError(f"{tmp}: {split} labels differ from the source")
        for k, i in enumerate(index[split]):
            expected = decode_jpeg(
                archive.image_bytes(split, int(i)), f"{source}: {split} image {i}"
            )
            if not np.array_equal(images[k], expected):
                raise DataError(f"{tmp}: {split} image {k} differs from source image {i}")
    size = tmp.stat().st_size
    if size > max_bytes:
        tmp.unlink()
        raise DataError(f"subset would be {size} bytes, over the {max_bytes}-byte limit")
    tmp.replace(out)
    return {
        "out": str(out),
        "bytes": size,
        "train": len(index["train"]),
        "test": len(index["test"]),
        "prefix_bytes": len(prefix),
        "seed": seed,
        "source_sha256": source_sha,
        "sha256": sha256_file(out),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, help="the full cifar10-jpeg.npz")
    parser.add_argument(
        "--out", default=str(SUBSET_PATH), help="where to write (default: %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-per-class", type=int, default=500)
    parser.add_argument("--test-per-class", type=int, default=100)
    parser.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES)
    args = parser.parse_args(argv)
    try:
        summary = make_subset(
            args.source, args.out, args.seed, args.train_per_class, args.test_per_class,
            args.max_bytes,
        )  # fmt: skip
    except DataError as exc:
        print(f"make_subset: error: {exc}", file=sys.stderr)
        return 1
    for key, value in summary.items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
