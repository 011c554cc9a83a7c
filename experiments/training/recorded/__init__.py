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

A record whose evidence holds ``part_of_claim`` covers only some arms of its claim (a
campaign's first pair of a conjunction such as AN-9): it can falsify the claim, never make
it hold (:func:`part_fidelity`). A campaign folder's ``runs.json.gz`` (every run's log) is
what a later campaign reads to skip runs already recorded (:func:`recorded_runs`).

    python -m experiments.training.recorded add campaign.json.gz [--name NAME] [--root DIR]

turns the bundle a GPU campaign (``python -m experiments.training.campaign``) brought back
into a new folder here (see :func:`experiments.training.campaign.add`).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from experiments.training.claims import STUDIES, fidelity, reading, study_verdict
from experiments.training.protocols import Protocol
from theory.verdicts import FALSIFIED, ClaimResult

ROOT = Path(__file__).resolve().parent
MANIFEST = "manifest.json"
RUNS = "runs.json.gz"
"""Every run's per-epoch log (a list of ``history.json`` records), gzip-compressed JSON."""


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
    decided = evidence["decided_at_this_scale"]
    match = part_fidelity(
        fidelity(study.paper, protocol, int(images), len(evidence["seeds"])), decided, evidence
    )
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


def part_fidelity(match: dict[str, Any], decided: str, evidence: dict[str, Any]) -> dict[str, Any]:
    """The fidelity of a record that may cover only part of its claim's arms.

    The claims split this way are conjunctions ("each Norm variant improves on its base"):
    one part falsified at the claim's scope falsifies the claim, so it keeps its match; any
    other result of a part leaves the rest of the claim to test, so the part does not match
    the claim's scope (it is evidence in the ladder, below a study of the whole claim).
    """
    if evidence.get("part_of_claim") and decided != FALSIFIED and match["matches_scope"]:
        return {**match, "matches_scope": False, "part_of_claim": True}
    return match


def campaign_runs(folder: Path) -> list[dict[str, Any]] | None:
    """The run logs of one campaign folder (its ``runs.json.gz``), or None if it keeps none."""
    path = folder / RUNS
    if not path.exists():
        return None
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            logs = json.load(fh)
    except (OSError, ValueError, EOFError) as error:
        raise RecordError(f"{path}: unreadable run logs ({error})") from error
    if not isinstance(logs, list):
        raise RecordError(f"{path}: expected a list of run logs")
    return logs


def recorded_runs(root: Path = ROOT) -> dict[str, dict[str, Any]]:
    """Every run log recorded under ``root`` (each campaign's ``runs.json.gz``), by run key."""
    runs: dict[str, dict[str, Any]] = {}
    for folder in campaigns(root):
        for log in campaign_runs(folder) or []:
            if isinstance(log, dict) and "run" in log:
                runs[log["run"]] = log
    return runs


def main(argv: Sequence[str] | None = None) -> int:
    """``add BUNDLE [--name NAME] [--root DIR]``: record a campaign's bundle as a new folder."""
    from experiments.training.campaign import CampaignError, add

    parser = argparse.ArgumentParser(prog="python -m experiments.training.recorded")
    commands = parser.add_subparsers(dest="command", required=True)
    adding = commands.add_parser("add", help="record a campaign bundle (campaign.json.gz)")
    adding.add_argument("bundle", type=Path)
    adding.add_argument("--name", default=None, help="folder name (default: from the bundle)")
    adding.add_argument("--root", type=Path, default=ROOT, help="where recorded campaigns live")
    args = parser.parse_args(argv)
    try:
        folder = add(args.bundle, name=args.name, root=args.root)
    except (CampaignError, RecordError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"recorded {folder}")
    return 0
