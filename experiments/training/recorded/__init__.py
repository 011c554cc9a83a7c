"""Training runs recorded on other machines (GPU campaigns), read back as first-class evidence.

Every folder under this one that holds a ``manifest.json`` is one campaign::

    {
      "source": "recorded H100 run h100-2026-11-23",   # how the evidence ladder names it
      "device": "...", "environment": {...},            # where and with what it ran
      "results": [
        {"file": "training-paper.json",                 # written by python -m experiments.training
         "command": "python -m experiments.training ...",
         "protocol": {...}, "train_images": 50000}      # only for files written before the
      ]                                                 # training stage recorded them itself
    }

Each record of each listed file is re-read with the current paper settings: its fidelity
(:func:`experiments.training.claims.fidelity`) from the protocol and data size it ran with,
and its verdict from the result it computed (``decided_at_this_scale``) by the one rule of
:func:`experiments.training.claims.study_verdict`. A campaign at the papers' protocols
therefore decides its claims as soon as its folder is here; nothing else changes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from experiments.training.claims import STUDIES, fidelity, reading, study_verdict
from experiments.training.protocols import Protocol
from theory.verdicts import FALSIFIED, ClaimResult

ROOT = Path(__file__).resolve().parent
MANIFEST = "manifest.json"


class RecordError(ValueError):
    """A recorded campaign that cannot be read as evidence (the message names the file)."""


def campaigns(root: Path = ROOT) -> list[Path]:
    """The campaign folders under ``root``, in name order."""
    return sorted(p.parent for p in root.glob(f"*/{MANIFEST}"))


def load_recorded(root: Path = ROOT) -> dict[str, list[ClaimResult]]:
    """Every recorded campaign under ``root``: its source label -> its records."""
    return {source: records for source, records in map(load_campaign, campaigns(root))}


def load_campaign(folder: Path) -> tuple[str, list[ClaimResult]]:
    """One campaign's source label and its records, re-read under the current rule."""
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text())
        source = manifest["source"]
        entries = manifest["results"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise RecordError(f"{path}: not a campaign manifest ({error!r})") from error
    records = []
    for entry in entries:
        if not isinstance(entry, dict) or "file" not in entry:
            raise RecordError(f"{path}: each entry of 'results' names its 'file'")
        results = folder / entry["file"]
        try:
            payload = json.loads(results.read_text())
        except (OSError, ValueError) as error:
            raise RecordError(f"{results}: unreadable results file ({error})") from error
        for record in payload.get("claims", []):
            records.append(_reread(record, entry, manifest, results))
    return source, records


def _reread(
    record: dict[str, Any], entry: dict[str, Any], manifest: dict[str, Any], path: Path
) -> ClaimResult:
    claim_id = record["claim_id"]
    if claim_id not in STUDIES:
        raise RecordError(f"{path}: {claim_id} has no training study")
    study = STUDIES[claim_id]
    evidence = dict(record["evidence"])
    settings = evidence.get("protocol_settings") or entry.get("protocol")
    images = evidence.get("train_images") or entry.get("train_images")
    if settings is None or images is None or "decided_at_this_scale" not in evidence:
        raise RecordError(
            f"{path}: {claim_id} lacks its protocol, data size or decided_at_this_scale"
        )
    protocol = Protocol(**{**settings, "milestones": tuple(settings["milestones"])})
    match = fidelity(study.paper, protocol, int(images), len(evidence["seeds"]))
    decided = evidence["decided_at_this_scale"]
    verdict = study_verdict(study, decided, match)
    read = reading(decided, match)
    evidence.update(
        source=manifest["source"],
        paper_setting=study.paper.as_json(),
        fidelity=match,
        reading=read,
        recorded={
            "file": str(path.relative_to(ROOT.parents[2]))
            if path.is_relative_to(ROOT)
            else str(path),
            "command": entry.get("command", ""),
            "device": manifest.get("device", ""),
            "environment": manifest.get("environment", {}),
        },
    )
    if decided != FALSIFIED:
        evidence.pop("counterexample", None)
    summary = f"[{manifest['source']}: {read}] " + record["summary"].split("] ", 1)[-1]
    return ClaimResult(claim_id, verdict, summary, record["reproduce"], evidence)
