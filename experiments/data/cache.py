"""On-disk cache of decoded data sets, so that only the first load pays for decoding.

A cache entry is an uncompressed ``.npz`` in a user-chosen directory, named
after the data set and a fingerprint of its source files (resolved path,
size and modification time of each, plus :data:`CACHE_VERSION`). Changing
or replacing a source file changes the fingerprint, so a stale entry is never
used. The cache is only an optimisation: an unreadable entry is rebuilt and a
failed write is logged, neither is an error.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from experiments.data.dataset import ImageDataset

logger = logging.getLogger(__name__)

# Bump when decoding changes (e.g. a different colour conversion) to retire old entries.
CACHE_VERSION = 1


def source_fingerprint(paths: Iterable[str | os.PathLike], extra: str = "") -> str:
    """Hex digest of (resolved path, size, mtime_ns) of every file, plus ``extra``."""
    digest = hashlib.sha256(f"v{CACHE_VERSION}|{extra}".encode())
    for p in sorted(Path(p).resolve() for p in paths):
        st = p.stat()
        digest.update(f"|{p}|{st.st_size}|{st.st_mtime_ns}".encode())
    return digest.hexdigest()


def cache_path(cache_dir: str | os.PathLike, name: str, fingerprint: str) -> Path:
    """Where the entry for ``name`` with ``fingerprint`` lives."""
    return Path(cache_dir) / f"{name}-{fingerprint[:20]}.npz"


def _read(path: Path, fingerprint: str) -> ImageDataset | None:
    try:
        with np.load(path, allow_pickle=False) as npz:
            if str(npz["fingerprint"]) != fingerprint:
                return None
            meta = json.loads(str(npz["meta"]))
            return ImageDataset(
                name=meta["name"],
                classes=tuple(meta["classes"]),
                train_images=npz["train_images"],
                train_labels=npz["train_labels"],
                test_images=npz["test_images"],
                test_labels=npz["test_labels"],
                source=meta["source"],
                is_subset=meta["is_subset"],
                info=meta["info"],
            )
    except Exception as exc:  # any damage to a disposable file just means "rebuild"
        logger.warning("ignoring unreadable cache entry %s (%s: %s)", path, type(exc).__name__, exc)
        return None


def _write(path: Path, fingerprint: str, data: ImageDataset) -> None:
    meta = {
        "name": data.name,
        "classes": list(data.classes),
        "source": data.source,
        "is_subset": data.is_subset,
        "info": {k: v for k, v in data.info.items() if k not in ("cache", "cache_file")},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write to a temporary file and rename: a crash or a concurrent reader never
    # sees half an entry.
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as fh:
        tmp = Path(fh.name)
        try:
            np.savez(
                fh,
                fingerprint=np.asarray(fingerprint),
                meta=np.asarray(json.dumps(meta, default=str)),
                train_images=data.train_images,
                train_labels=data.train_labels,
                test_images=data.test_images,
                test_labels=data.test_labels,
            )
        except BaseException:
            fh.close()
            tmp.unlink(missing_ok=True)
            raise
    tmp.replace(path)


def cached(
    cache_dir: str | os.PathLike | None,
    name: str,
    fingerprint: str,
    build: Callable[[], ImageDataset],
) -> ImageDataset:
    """Return the cached data set for ``fingerprint``, or ``build()`` it and store it.

    ``cache_dir=None`` disables caching. The result's ``info["cache"]`` is
    ``"hit"``, ``"miss"`` or ``"off"``.
    """
    if cache_dir is None:
        data = build()
        data.info["cache"] = "off"
        return data
    path = cache_path(cache_dir, name, fingerprint)
    if path.is_file():
        data = _read(path, fingerprint)
        if data is not None:
            data.info.update(cache="hit", cache_file=str(path))
            return data
    data = build()
    try:
        _write(path, fingerprint, data)
        data.info.update(cache="miss", cache_file=str(path))
    except OSError as exc:
        logger.warning("could not write cache entry %s: %s", path, exc)
        data.info["cache"] = "miss (not written)"
    return data
