"""The results file: one record per claim, written by ``python -m invariants`` (the report's
invariants stage). The test suite runs the same checks but keeps its records in temporary
folders, so only the stage writes what a report reads.

Each claim check writes ``<dir>/invariants.d/<ID>.json`` (one file per claim, so
the stage's parallel shards never write the same file); :func:`merge` folds them into
``<dir>/invariants.json`` through :func:`theory.verdicts.write_results`, the
format the verification report reads. ``INVARIANTS_RESULTS`` overrides the
directory (default ``results``).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from invariants.stage import INVARIANTS
from theory.stage_protocol import python_command
from theory.verdicts import (
    ClaimResult,
    read_results,
    write_results,
    write_text_atomically,
)

STAGE = INVARIANTS.name
ENV = "INVARIANTS_RESULTS"
DEFAULT_DIR = Path("results")


def results_dir() -> Path:
    return Path(os.environ.get(ENV, str(DEFAULT_DIR)))


def results_file(out_dir: Path | None = None) -> Path:
    """The merged results file of ``out_dir`` (default: :func:`results_dir`)."""
    return (out_dir or results_dir()) / f"{STAGE}.json"


def replay_command(claim_id: str, out_dir: Path = DEFAULT_DIR, caveat: str | None = None) -> str:
    """The replay command of a record kept under ``out_dir``, exactly as it must be typed:
    ``--results`` names the file unless it is the replay's default, and ``--caveat`` picks
    one caveat's counterexample of a ``holds`` record. The one place that builds it: the
    searches name the default location, :func:`record` the place the record is kept."""
    arguments = [claim_id]
    target = results_file(out_dir)
    if target != results_file(DEFAULT_DIR):
        arguments += ["--results", str(target)]
    if caveat is not None:
        arguments += ["--caveat", caveat]
    return python_command("invariants.replay", *arguments)


def _caveat_names(evidence: dict[str, Any]) -> list[str]:
    return [c["name"] for c in evidence.get("caveats", []) if isinstance(c, dict) and "name" in c]


def _locate_replays(value: Any, located: dict[str, str]) -> Any:
    """``value`` with every stored replay command that is a key of ``located`` replaced."""
    if isinstance(value, dict):
        return {
            k: located.get(v, v) if k == "replay" and isinstance(v, str)
            else _locate_replays(v, located)
            for k, v in value.items()
        }  # fmt: skip
    if isinstance(value, list):
        return [_locate_replays(v, located) for v in value]
    return value


def record(result: ClaimResult, out_dir: Path | None = None) -> Path:
    """Write one claim's record atomically to ``<dir>/invariants.d/<ID>.json``.

    The checks name their replay commands without knowing where the record will be
    kept; here each becomes the command that finds this record (``--results``)."""
    folder = (out_dir or results_dir()) / f"{STAGE}.d"
    folder.mkdir(parents=True, exist_ok=True)
    here = out_dir or results_dir()
    located = {
        replay_command(result.claim_id, DEFAULT_DIR, caveat): replay_command(
            result.claim_id, here, caveat
        )
        for caveat in (None, *_caveat_names(result.evidence))
    }
    result = replace(result, evidence=_locate_replays(result.evidence, located))
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
    """The merged records by claim ID (``path``: the results file, or the folder holding it)."""
    target = path or results_file()
    if target.is_dir():
        target = results_file(target)
    if not target.exists():
        raise FileNotFoundError(
            f"no results file {target}; write one with python -m invariants (or pass --results)"
        )
    return {r.claim_id: r for r in read_results(target)}
