"""The results file: one record per claim, written by the CLI and by the pytest run.

Each claim check writes ``<dir>/invariants.d/<ID>.json`` (one file per claim, so
parallel pytest workers never write the same file); :func:`merge` folds them into
``<dir>/invariants.json`` through :func:`experiments.verdicts.write_results`, the
format the verification report reads. ``INVARIANTS_RESULTS`` overrides the
directory (default ``results``).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

from experiments.verdicts import (
    ClaimResult,
    read_results,
    write_results,
    write_text_atomically,
)

STAGE = "invariants"
ENV = "INVARIANTS_RESULTS"


def results_dir() -> Path:
    return Path(os.environ.get(ENV, "results"))


def record(result: ClaimResult, out_dir: Path | None = None) -> Path:
    """Write one claim's record atomically to ``<dir>/invariants.d/<ID>.json``."""
    folder = (out_dir or results_dir()) / f"{STAGE}.d"
    folder.mkdir(parents=True, exist_ok=True)
    return write_text_atomically(
        folder / f"{result.claim_id}.json", json.dumps(asdict(result), indent=2, default=float)
    )


def merge(out_dir: Path | None = None) -> Path | None:
    """Fold the per-claim records into ``<dir>/invariants.json`` (sorted by claim ID)."""
    folder = (out_dir or results_dir()) / f"{STAGE}.d"
    if not folder.is_dir():
        return None
    records = [ClaimResult(**json.loads(p.read_text())) for p in sorted(folder.glob("*.json"))]
    if not records:
        return None
    return write_results(STAGE, sorted(records, key=lambda r: r.claim_id), out_dir or results_dir())


def load(path: Path | None = None) -> dict[str, ClaimResult]:
    """The merged records by claim ID."""
    target = path or results_dir() / f"{STAGE}.json"
    return {r.claim_id: r for r in read_results(target)}
