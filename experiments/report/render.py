"""Writing the report: ``claims.json``, ``REPORT.md`` and a self-contained ``report.html``."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from experiments.report.document import (
    Block,
    Code,
    Heading,
    Image,
    Paragraph,
    Table,
    to_html,
    to_markdown,
)
from experiments.report.merge import PRECEDENCE, ClaimVerdict
from experiments.report.paper_numbers import PAPER_ACCURACY
from experiments.verdicts import write_text_atomically

SUMMARY_WIDTH = 180


def environment() -> dict[str, Any]:
    """Versions and hardware, so a reader knows where the numbers come from."""
    import numpy
    import scipy
    import sympy
    import torch

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
            cwd=Path(__file__).resolve().parent,
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "sympy": sympy.__version__,
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
        "git_commit": commit or None,
    }


def _stage_status(stage: dict[str, Any]) -> str:
    if stage["error"]:
        return "failed"
    if not stage["claims"]:
        return "not asked for"
    return "reused" if stage["reused"] else "ran"


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SUMMARY_WIDTH else text[: SUMMARY_WIDTH - 1] + "…"


def _ours_beside_paper(row: ClaimVerdict) -> list[Block]:
    """The paper's accuracy table next to our per-arm means, where both exist."""
    paper = PAPER_ACCURACY.get(row.claim.id)
    if paper is None:
        return []
    ours: dict[str, float] = {}
    scale = ""
    for part in row.parts:
        evidence = part["evidence"]
        scale = scale or evidence.get("protocol", "")
        for comparison in evidence.get("comparisons", []):
            label = comparison["label"]
            if "accuracy" not in label or ":" not in label:
                continue
            a, b = (s.strip() for s in label.split(":", 1)[1].split(" - "))
            ours.setdefault(a, comparison["a_mean"])
            ours.setdefault(b, comparison["b_mean"])
    arms = sorted({arm for table in paper["rows"].values() for arm in table})
    header = ("optimizer", *(f"paper: {m}" for m in paper["rows"]), "ours")
    rows = tuple(
        (
            arm,
            *(f"{paper['rows'][m].get(arm, '')}" for m in paper["rows"]),
            f"{ours[arm]:.2f}" if arm in ours else "not run",
        )
        for arm in arms
    )
    caption = f"Test accuracy (%): {paper['source']}; ours: {scale or 'not run in this mode'}."
    return [Paragraph(caption), Table(header, rows)]


def build_blocks(
    rows: list[ClaimVerdict],
    meta: dict[str, Any],
    figures: list[tuple[Path, str]],
    recorded_gpu: list[dict[str, Any]],
) -> list[Block]:
    counts = Counter(row.verdict or "missing" for row in rows)
    blocks: list[Block] = [
        Heading("Verification report: adaptive gradient optimizers", 1),
        Paragraph(
            f"Generated {meta['generated']} by `{meta['command']}` (mode: {meta['mode']}). "
            f"Environment: Python {meta['environment']['python']}, torch "
            f"{meta['environment']['torch']}, {meta['environment']['cpus']} CPUs, device "
            f"{meta['environment']['device']}."
        ),
        Paragraph(
            "Verdicts: "
            + ", ".join(f"{v}: {counts[v]}" for v in (*PRECEDENCE, "missing") if counts[v])
            + f" (of {len(rows)} claims)."
        ),
        Heading("Summary"),
        Table(
            ("claim", "kind", "verdict", "evidence"),
            tuple(
                (
                    row.claim.id,
                    ", ".join(row.claim.kinds),
                    row.verdict or "missing",
                    _one_line(row.summary),
                )
                for row in rows
            ),
        ),
        Heading("Stages"),
        Table(
            ("stage", "claims", "seconds", "status"),
            tuple(
                (
                    s["name"],
                    str(len(s["claims"])),
                    f"{s['seconds']:.0f}",
                    _stage_status(s),
                )
                for s in meta["stages"]
            ),
        ),
    ]
    papers = list(dict.fromkeys(row.claim.paper for row in rows))
    for paper in papers:
        blocks.append(Heading(paper))
        for row in (r for r in rows if r.claim.paper == paper):
            blocks.append(Heading(f"{row.claim.id}: {row.verdict or 'missing'}", 3, row.claim.id))
            blocks.append(Paragraph(f"Claim ({row.claim.where}): {row.claim.statement}"))
            blocks.append(Paragraph(f"Evidence: {row.summary}"))
            if row.reproduce:
                blocks.append(Paragraph("Reproduce:"))
                blocks.append(Code(row.reproduce))
            for part in row.parts:
                if len(row.parts) > 1:
                    blocks.append(
                        Paragraph(
                            f"[{part['stage']}] {part['verdict']}: {_one_line(part['summary'])}"
                        )
                    )
                evidence = part["evidence"]
                for key in ("counterexample", "conditions"):
                    if key in evidence:
                        text = json.dumps(evidence[key], indent=1, default=str)
                        if len(text) > 3000:
                            text = text[:3000] + "\n… (full text in claims.json)"
                        blocks.append(Paragraph(f"{key.capitalize()}:"))
                        blocks.append(Code(text))
            blocks += _ours_beside_paper(row)
            if row.failure:
                blocks.append(
                    Paragraph(
                        "No verdict: the stage failed."
                        if row.verdict is None
                        else "The stage exited with an error after writing this record:"
                    )
                )
                blocks.append(Code(row.failure[-4000:]))
    if recorded_gpu:
        blocks.append(Heading("Recorded GPU runs (evidence only)"))
        blocks.append(
            Paragraph(
                "Studies run on an NVIDIA H100 at the 'shortened' scale (the papers' models and "
                "full CIFAR-10, fewer epochs): see experiments/training/recorded/. They do not set "
                "the verdicts above; a claim about the papers' scale stays needs-gpu until "
                "`--scale paper` has been run."
            )
        )
        blocks.append(
            Table(
                ("claim", "decided at that scale", "protocol", "evidence"),
                tuple(
                    (
                        r["claim_id"],
                        r["evidence"].get("decided_at_this_scale", r["verdict"]),
                        r["evidence"].get("protocol", ""),
                        _one_line(r["summary"]),
                    )
                    for r in recorded_gpu
                ),
            )
        )
    if figures:
        blocks.append(Heading("Figures"))
        for path, caption in figures:
            blocks.append(Image(path, caption))
    return blocks


def write_report(
    out: Path,
    rows: list[ClaimVerdict],
    meta: dict[str, Any],
    figures: list[tuple[Path, str]],
    recorded_gpu: list[dict[str, Any]],
) -> dict[str, Path]:
    """Write the three outputs atomically; return their paths."""
    payload = {
        "generated": meta["generated"],
        "environment": meta["environment"],
        "mode": meta["mode"],
        "command": meta["command"],
        "stages": meta["stages"],
        "claims": [row.as_json() for row in rows],
        "recorded_gpu": recorded_gpu,
    }
    blocks = build_blocks(rows, meta, figures, recorded_gpu)
    outputs = {
        "claims.json": json.dumps(payload, indent=1, default=str),
        "REPORT.md": to_markdown(blocks, out),
        "report.html": to_html(blocks, "Verification report"),
    }
    paths = {}
    for name, text in outputs.items():
        paths[name] = write_text_atomically(out / name, text)
    return paths


def now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
