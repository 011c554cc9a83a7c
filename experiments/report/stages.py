"""The stages the report runs, each a separate process so a crash cannot take the others down.

A stage is one or more shell commands (shards run side by side on the
machine's cores) that write verdict files in the format of
:mod:`theory.verdicts`. A finished stage leaves a ``done.json`` naming
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
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from theory.verdicts import ClaimResult, read_results

MODES = ("quick", "default", "full")


def _invariant_ids() -> list[str]:
    from invariants.claims import CLAIMS

    return list(CLAIMS)


def _theory_ids() -> list[str]:
    from theory.checks import CHECKS

    return list(CHECKS)


def _regret_ids() -> list[str]:
    from experiments.regret.claims import CLAIMS

    return list(CLAIMS)


def _training_ids() -> list[str]:
    from experiments.training.claims import STUDIES

    return list(STUDIES)


@dataclass(frozen=True)
class Stage:
    """A named step of the report and how to run it in each mode."""

    name: str
    covers: Callable[[], list[str]]
    commands: Callable[[str, list[str], Path, bool], list[list[str]]]
    """(mode, claim IDs to run, output dir, gpu) -> one command per shard."""
    description: str
    shares_work: bool = False
    """Its claims share computations (training runs, regret problems), so one claim's
    record times only its own share: rerunning one claim costs up to the whole stage."""

    def claims_for(self, wanted: Sequence[str] | None) -> list[str]:
        covered = self.covers()
        return covered if wanted is None else [c for c in covered if c in wanted]


def _python(*args: str) -> list[str]:
    return [sys.executable, *args]


def _shards(ids: list[str], count: int) -> list[list[str]]:
    return [ids[i::count] for i in range(count) if ids[i::count]]


def _invariants(mode: str, ids: list[str], out: Path, gpu: bool) -> list[list[str]]:
    profile = {"quick": "dev", "default": "ci", "full": "thorough"}[mode]
    return [
        _python(
            "-m",
            "invariants",
            "--profile",
            profile,
            "--claims",
            ",".join(shard),
            "--out",
            str(out / f"shard{i}"),
        )
        for i, shard in enumerate(_shards(ids, os.cpu_count() or 1))
    ]


def _theory(mode: str, ids: list[str], out: Path, gpu: bool) -> list[list[str]]:
    examples = {"quick": "100", "default": "500", "full": "3000"}[mode]
    return [
        _python(
            "-m", "theory", "--examples", examples, "--claims", ",".join(ids), "--out", str(out)
        )
    ]


def _regret(mode: str, ids: list[str], out: Path, gpu: bool) -> list[list[str]]:
    size = {"quick": "--quick", "default": "--quick", "full": "--full"}[mode]
    return [_python("-m", "experiments.regret", size, "--claims", ",".join(ids), "--out", str(out))]


def _training(mode: str, ids: list[str], out: Path, gpu: bool) -> list[list[str]]:
    jobs = str(os.cpu_count() or 1)
    common = ["--out", str(out), "--runs", str(out / "runs"), "--quiet", "--jobs", jobs]
    size = {"quick": ["--epochs", "2", "--train-subset", "600"], "default": [], "full": []}
    # Outside --full, claims about the papers' scale or data are recorded as needing a GPU
    # or data without spending CPU time on their reduced studies.
    skip = [] if mode == "full" else ["--skip-scale-bound"]

    def study(scale: str, *options: str) -> list[str]:
        return _python(
            "-m", "experiments.training", "--claims", ",".join(ids), "--scale", scale,
            *options, *common,
        )  # fmt: skip

    commands = [study("reduced", *size[mode], *skip)]
    if gpu:
        commands.append(study("paper", "--device", "cuda"))
    return commands


STAGES: tuple[Stage, ...] = (
    Stage("theory", _theory_ids, _theory, "sympy derivations and numeric searches (thy)"),
    Stage("invariants", _invariant_ids, _invariants, "Hypothesis properties (inv, red)"),
    Stage("regret", _regret_ids, _regret, "online-convex regret experiments (reg)", True),
    Stage("training", _training_ids, _training, "training studies (emp, gpu)", True),
)


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
    commands = stage.commands(mode, claims, out, gpu)
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
