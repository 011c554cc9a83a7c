"""The stages the report runs, each a separate process so a crash cannot take the others down.

A stage (:class:`theory.stage_protocol.Stage`) runs as one or more processes
(shards run side by side on the machine's cores) that write verdict files in
the format of :mod:`theory.verdicts`. A finished stage leaves a ``done.json`` naming
the exact commands it ran and the records it produced, so a rerun with the
same settings reuses them (even after a reader has rerun one of the report's
printed commands, which may rewrite a stage's own files); a stage that fails
keeps its log, and the claims it covers are reported with the log's tail
instead of a verdict.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from experiments.regret.stage import REGRET
from experiments.training.stage import TRAINING
from invariants.stage import INVARIANTS
from theory.stage import THEORY
from theory.stage_protocol import Stage
from theory.verdicts import ClaimResult, read_results

STAGES: tuple[Stage, ...] = (THEORY, INVARIANTS, REGRET, TRAINING)
"""In the order the report runs them; each described by :mod:`theory.stage_protocol`."""


@dataclass
class StageOutcome:
    """What a stage left behind: its verdict records, or the reason it has none."""

    stage: Stage
    claims: list[str]
    results: list[ClaimResult]
    seconds: float
    reused: bool = False
    error: str | None = None


def _fingerprint(commands: list[list[str]]) -> str:
    return hashlib.sha256(json.dumps(commands).encode()).hexdigest()[:16]


def _collect(out: Path) -> list[ClaimResult]:
    results: list[ClaimResult] = []
    for path in sorted(out.rglob("*.json")):
        if path.name == "done.json" or "runs" in path.relative_to(out).parts:
            continue
        try:
            results.extend(read_results(path))
        except (KeyError, TypeError, ValueError):
            continue  # not a verdict file (a stage's own auxiliary output)
    return results


def run_stage(
    stage: Stage,
    mode: str,
    wanted: Sequence[str] | None,
    root: Path,
    gpu: bool,
    fresh: bool,
    on_line: Callable[[str], None] | None = None,
) -> StageOutcome:
    """Run (or reuse) one stage and return its records; never raises for a stage's failure."""
    claims = stage.claims_for(wanted)
    out = root / "stages" / stage.name
    if not claims:
        return StageOutcome(stage, claims, [], 0.0)
    commands = stage.run_commands(mode, claims, out, gpu)
    done = out / "done.json"
    fingerprint = _fingerprint(commands)
    finished = json.loads(done.read_text()) if done.exists() and not fresh else {}
    if finished.get("fingerprint") == fingerprint:
        if "records" in finished:
            records = [ClaimResult(**r) for r in finished["records"]]
        else:
            records = _collect(out)
        return StageOutcome(stage, claims, records, finished.get("seconds", 0.0), reused=True)
    out.mkdir(parents=True, exist_ok=True)
    done.unlink(missing_ok=True)
    started = time.perf_counter()
    env = dict(os.environ, PYTHONUNBUFFERED="1", MPLBACKEND="Agg")
    logs = [out / f"log{i}.txt" for i in range(len(commands))]
    processes = []
    for command, log in zip(commands, logs, strict=True):
        handle = log.open("w")
        handle.write("$ " + " ".join(command) + "\n")
        handle.flush()
        processes.append(
            (subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=env), handle)
        )
    positions = [0] * len(logs)
    while any(p.poll() is None for p, _ in processes):
        time.sleep(0.5)
        if on_line is not None:
            for i, log in enumerate(logs):
                text = log.read_text(errors="replace")
                fresh_lines = text[positions[i] :].splitlines()
                positions[i] = len(text)
                for line in fresh_lines[-3:]:
                    if line.strip():
                        on_line(line.strip())
    failed = []
    for (process, handle), command, log in zip(processes, commands, logs, strict=True):
        handle.close()
        if process.returncode != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
            failed.append(f"exit {process.returncode}: {' '.join(command)}\n{tail}")
    seconds = time.perf_counter() - started
    results = _collect(out)
    if failed:
        return StageOutcome(stage, claims, results, seconds, error="\n\n".join(failed))
    done.write_text(
        json.dumps(
            {
                "fingerprint": fingerprint,
                "commands": commands,
                "seconds": seconds,
                "records": [asdict(r) for r in results],
            },
            default=float,
        )
    )
    return StageOutcome(stage, claims, results, seconds)
