"""Per-problem results on disk, written as each problem finishes and reused on a rerun.

``<out>/regret/<size>/<problem>.json`` holds the run's configuration and its
summary, ``<out>/regret/<size>/<problem>.npz`` the arrays the plots need
(``<size>``: ``quick``, ``full``, or ``custom`` when ``--horizon`` or
``--instances`` override the sizes, so that the sizes never overwrite each other). A rerun whose
configuration (problem parameters, arms and hyperparameters, T, seeds, the
schema version) matches the stored one reuses the result instead of running
again; ``--fresh`` ignores stored results. Both files are written to a
temporary name and renamed, so a crash never leaves half a result.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

SCHEMA = 1


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
    try:
        stored = json.loads(meta.read_text())
        if stored.get("config") != _normalise(config):
            return None
        with np.load(data) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (OSError, ValueError, KeyError):
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
