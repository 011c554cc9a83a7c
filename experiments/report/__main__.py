"""Run every check this machine can run and write the verification report.

    python -m experiments.report                 # default: under 20 minutes on 2 cores
    python -m experiments.report --quick         # under 3 minutes
    python -m experiments.report --full          # thorough profiles, every reduced study
    python -m experiments.report --gpu           # also the papers' protocols on CUDA
    python -m experiments.report --claims AN-1,AI-4 --out report/

Writes ``claims.json``, ``REPORT.md``, ``report.html`` and the figures to
``--out``. Finished stages are reused on a rerun with the same settings
(``--fresh`` recomputes). Exits 1 if any claim is left without a verdict.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from experiments.report import figures
from experiments.report.merge import merge
from experiments.report.render import environment, first_sentences, now, write_report
from experiments.report.stages import STAGES, run_stage
from experiments.training.recorded import load_recorded
from theory.catalogue import load_claims
from theory.stage_protocol import python_command


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="optverify", description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small searches and runs (< 3 min)")
    size.add_argument("--full", action="store_true", help="thorough searches, all studies")
    parser.add_argument("--gpu", action="store_true", help="also run the papers' protocols on CUDA")
    parser.add_argument("--claims", default="", help="comma-separated claim IDs (default: all)")
    parser.add_argument("--out", type=Path, default=Path("report"))
    parser.add_argument("--fresh", action="store_true", help="recompute finished stages")
    args = parser.parse_args(argv)
    known = {c.id for c in load_claims()}
    wanted = [c.strip() for c in args.claims.split(",") if c.strip()]
    unknown = sorted(set(wanted) - known)
    if unknown:
        parser.error(f"unknown claim ID(s) {', '.join(unknown)}; see ../shared/CLAIMS.md")
    blocking = [p for p in (args.out, *args.out.parents) if p.exists() and not p.is_dir()]
    if blocking:
        parser.error(f"--out {args.out}: {blocking[0]} is a file, not a folder")
    args.wanted = wanted or None
    args.mode = "quick" if args.quick else "full" if args.full else "default"
    if args.gpu:
        import torch

        if not torch.cuda.is_available():
            parser.error("--gpu needs a CUDA device; none is visible")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    console = Console()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    claims = tuple(c for c in load_claims() if args.wanted is None or c.id in args.wanted)
    started = time.perf_counter()

    outcomes = []
    with Progress(
        TextColumn("[bold]{task.description:<12}"),
        BarColumn(),
        TextColumn("{task.fields[now]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        tasks = {
            stage.name: progress.add_task(stage.name, total=1, now=stage.description)
            for stage in STAGES
        }
        for stage in STAGES:
            task = tasks[stage.name]

            def show(line: str, task=task) -> None:
                progress.update(task, now=line[:70])

            outcome = run_stage(stage, args.mode, args.wanted, out, args.gpu, args.fresh, show)
            status = "failed" if outcome.error else ("reused" if outcome.reused else "done")
            if not outcome.claims:
                status = "nothing to run"
            progress.update(task, completed=1, now=f"{status}, {len(outcome.results)} verdicts")
            outcomes.append(outcome)

    records = {o.stage.name: o.results for o in outcomes}
    failures = {o.stage.name: o.error for o in outcomes if o.error}
    covered_by: dict[str, list[str]] = {}
    for outcome in outcomes:
        for claim_id in outcome.claims:
            covered_by.setdefault(claim_id, []).append(outcome.stage.name)
    recorded = load_recorded()
    rows = merge(claims, records, failures, covered_by, recorded)

    drawn = figures.draw_all(out, {c.id for c in claims})

    meta = {
        "generated": now(),
        "environment": environment(),
        "mode": args.mode + (" + gpu" if args.gpu else ""),
        "command": python_command("experiments.report", *(sys.argv[1:] if argv is None else argv)),
        "stages": [
            {
                "name": o.stage.name,
                "claims": o.claims,
                "seconds": round(o.seconds, 1),
                "reused": o.reused,
                "shares_work": o.stage.shares_work,
                "error": o.error,
            }
            for o in outcomes
        ],
    }
    paths = write_report(
        out, rows, meta, drawn, [asdict(r) for results in recorded.values() for r in results]
    )

    table = RichTable(title=f"{len(rows)} claims ({time.perf_counter() - started:.0f} s)")
    for column in ("claim", "verdict", "evidence"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row.claim.id, row.verdict or "[red]missing", first_sentences(row.summary))
    console.print(table)
    console.print(f"wrote {', '.join(str(p) for p in paths.values())}")
    missing = [row.claim.id for row in rows if row.verdict is None]
    if missing:
        console.print(f"[red]no verdict for {', '.join(missing)}; see the report for why")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
