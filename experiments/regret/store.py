"""Per-problem results on disk, written as each problem finishes and reused on a rerun.

``<out>/regret/<size>/<problem>.json`` holds the run's configuration and its
summary, ``<out>/regret/<size>/<problem>.npz`` the arrays the plots need
(``<size>``: ``quick``, ``full``, or ``custom`` when ``--horizon`` or
``--instances`` override the sizes, so that the sizes never overwrite each other). A rerun whose
configuration (problem parameters, arms and hyperparameters, T, seeds, the
schema version) matches the stored one reuses the result instead of running
again; ``--fresh`` ignores stored results. Both files are written to a
temporary name and renamed, so a crash never leaves half a result. A stored
result is only a cache of a computation: a damaged one (truncated, bad CRC,
empty, not JSON) is treated as missing and computed again, with a
:class:`DamagedResultWarning` naming the file.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

SCHEMA = 1

_DAMAGE = (OSError, EOFError, ValueError, KeyError, TypeError, zipfile.BadZipFile, zlib.error)
"""What reading a damaged file raises (ValueError covers JSON and UTF-8 decoding errors)."""


class DamagedResultWarning(UserWarning):
    """A stored result could not be read and is computed again."""


def problem_dir(out_dir: str | os.PathLike, size: str) -> Path:
    """``<out>/regret/<size>``, created if needed."""
    path = Path(out_dir) / "regret" / size
    path.mkdir(parents=True, exist_ok=True)
    return path


def _normalise(config: dict[str, Any]) -> Any:
    # a JSON round trip makes tuples lists and numpy scalars floats, as a loaded config has them
    return json.loads(json.dumps({"schema": SCHEMA, **config}, default=float))


def load(
    out_dir: str | os.PathLike, size: str, key: str, config: dict[str, Any]
) -> tuple[dict, dict] | None:
    """The stored ``(summary, arrays)`` of problem ``key`` if its configuration is ``config``."""
    folder = Path(out_dir) / "regret" / size
    meta, data = folder / f"{key}.json", folder / f"{key}.npz"
    if not (meta.exists() and data.exists()):
        return None
    path = meta
    try:
        stored = json.loads(meta.read_text(encoding="utf-8"))
        if not isinstance(stored, dict) or "summary" not in stored:
            raise ValueError("no 'summary' entry")
        if stored.get("config") != _normalise(config):
            return None  # another configuration: not damaged, just not this result
        path = data
        with np.load(data, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}  # reading checks each CRC
    except _DAMAGE as error:
        warnings.warn(
            f"{path}: damaged stored result ({type(error).__name__}: {error}); "
            "treating it as missing and computing it again",
            DamagedResultWarning,
            stacklevel=2,
        )
        return None
    return stored["summary"], arrays


def save(
    out_dir: str | os.PathLike,
    size: str,
    key: str,
    config: dict[str, Any],
    summary: dict,
    arrays: dict,
) -> Path:
    """Write the summary and arrays of problem ``key`` atomically; returns the JSON path."""
    folder = problem_dir(out_dir, size)
    with tempfile.NamedTemporaryFile("wb", dir=folder, suffix=".npz.tmp", delete=False) as fh:
        np.savez_compressed(fh, **arrays)
        tmp_npz = Path(fh.name)
    tmp_npz.replace(folder / f"{key}.npz")
    payload = {"config": _normalise(config), "summary": summary}
    with tempfile.NamedTemporaryFile("w", dir=folder, suffix=".json.tmp", delete=False) as fh:
        json.dump(payload, fh, indent=1, default=float)
        tmp_json = Path(fh.name)
    target = folder / f"{key}.json"
    tmp_json.replace(target)
    return target
