"""Writing the report: ``claims.json``, ``REPORT.md`` and a self-contained ``report.html``."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import re
import subprocess
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from experiments.report.commands import Command, claim_commands, describe_time
from experiments.report.document import (
    MISSING,
    Badge,
    Block,
    Bullets,
    Code,
    CodeSpan,
    Heading,
    Image,
    Inline,
    Link,
    Markdown,
    Paragraph,
    Table,
    Text,
    VerdictLegend,
    to_html,
    to_markdown,
)
from experiments.report.evidence import (
    caveat_blocks,
    conditions_blocks,
    counterexample_blocks,
    ladder_blocks,
    slug,
)
from experiments.report.merge import ClaimVerdict
from experiments.report.paper_numbers import PAPER_ACCURACY
from theory.verdicts import (
    CONDITIONAL,
    FALSIFIED,
    HOLDS,
    INCONCLUSIVE,
    NEEDS_DATA,
    NEEDS_GPU,
    PRECEDENCE,
    write_text_atomically,
)

VERDICT_RULES = Path(__file__).with_name("verdict_rules.md")
"""How a verdict is reached (written with the merge rules); embedded when present."""


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


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(‖|⟨])")


def first_sentences(text: str, at_least: int = 60) -> str:
    """The first sentence of ``text`` (whole: never cut mid-sentence), and the next ones while
    the result is shorter than ``at_least`` characters."""
    sentences = _SENTENCE_END.split(" ".join(text.split()))
    out = sentences[0]
    for sentence in sentences[1:]:
        if len(out) >= at_least:
            break
        out += " " + sentence
    return out


def _condition_text(entry: dict[str, Any]) -> str:
    """The one-line reason of a conditional verdict: the conditions that are needed."""
    conditions = entry["evidence"].get("conditions")
    if isinstance(conditions, str):
        return conditions
    if isinstance(conditions, list):
        texts = [
            c.get("text", c.get("name", "")) if isinstance(c, dict) else str(c)
            for c in conditions
            if not (isinstance(c, dict) and c.get("needed") is False)
        ]
        if texts:
            return "; ".join(texts)
    return first_sentences(entry["summary"])


def _ours_beside_paper(entry: dict[str, Any]) -> list[Block]:
    """The paper's accuracy table next to our per-arm means, where both exist."""
    paper = PAPER_ACCURACY.get(entry["id"])
    if paper is None:
        return []
    ours: dict[str, float] = {}
    scale = ""
    for part in entry["evidence"].get("parts", []):
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
    return [Table(header, rows, caption=caption)]


VERDICT_MEANINGS = {
    FALSIFIED: "a counterexample inside what the claim speaks of, or a paper-scale study "
    "that contradicts it",
    CONDITIONAL: "true once a condition the paper does not state is added (the condition is named)",
    HOLDS: "no counterexample in the search, a proof, or a paper-scale study that supports it",
    INCONCLUSIVE: "the evidence does not decide (e.g. the implementations disagree)",
    NEEDS_GPU: "only the papers' scale can decide; smaller studies are shown as evidence",
    NEEDS_DATA: "the data set is not on this machine",
}


def _link(entry: dict[str, Any]) -> Link:
    return Link(entry["id"], entry["id"])


def _headlines(entries: list[dict[str, Any]]) -> list[Block]:
    """Per paper: what is falsified, what holds only under a condition, what holds, what is
    open, each with its one-line reason and a link to the claim."""
    blocks: list[Block] = [Heading("Headlines")]
    for paper in dict.fromkeys(e["paper"] for e in entries):
        mine = [e for e in entries if e["paper"] == paper]
        by_verdict: dict[str, list[dict[str, Any]]] = {}
        for e in mine:
            by_verdict.setdefault(e["verdict"] or MISSING, []).append(e)
        counts = ", ".join(
            f"{len(by_verdict[v])} {v if v != MISSING else 'without a verdict'}"
            for v in (*PRECEDENCE, MISSING)
            if v in by_verdict
        )
        blocks.append(Heading(f"{paper}: {counts}", 3))
        items: list[Text] = []
        for e in by_verdict.get(FALSIFIED, []):
            items.append((Badge(FALSIFIED), " ", _link(e), f" — {first_sentences(e['summary'])}"))
        for e in by_verdict.get(CONDITIONAL, []):
            items.append((Badge(CONDITIONAL), " ", _link(e), f" only if {_condition_text(e)}"))
        for label, verdicts in (
            (Badge(HOLDS), (HOLDS,)),
            ("open: ", (NEEDS_GPU, NEEDS_DATA, INCONCLUSIVE, MISSING)),
        ):
            chosen = [(e, v) for v in verdicts for e in by_verdict.get(v, [])]
            if not chosen:
                continue
            pieces: list[Inline] = [label, " "] if isinstance(label, Badge) else [label]
            for i, (e, v) in enumerate(chosen):
                pieces += [", " if i else "", _link(e)]
                if v != HOLDS:
                    pieces.append(f" ({v if v != MISSING else 'no verdict'})")
            items.append(tuple(pieces))
        blocks.append(Bullets(tuple(items)))
    return blocks


def _commands_blocks(commands: list[Command]) -> list[Block]:
    """Each kind of command under one line that says what it does and how long it takes
    (commands of the same kind and time share a block, one command per line)."""
    blocks: list[Block] = []
    titles = {
        "reproduce": "Reproduce the verdict",
        "replay": "Replay the stored counterexample",
        "rung": "Run the study of a ladder rung",
    }
    groups: dict[tuple[str, str], list[str]] = {}
    for command in commands:
        groups.setdefault((command.kind, describe_time(command)), []).append(command.command)
    for (kind, time), lines in groups.items():
        each = " each" if len(lines) > 1 else ""
        title = titles[kind] + ("s" if kind == "replay" and len(lines) > 1 else "")
        blocks.append(Paragraph(f"{title} ({time}{each}), from the project root:"))
        blocks.append(Code("\n".join(lines)))
    return blocks


def _problem_figure(counterexample: Any, figures: list[tuple[Path, str]]) -> list[Block]:
    """The regret figure of the problem a counterexample names (its trajectory in context)."""
    problem = counterexample.get("problem") if isinstance(counterexample, dict) else None
    chosen = [(p, c) for p, c in figures if problem and p.stem.endswith(f"-{problem}_regret")]
    return [Image(path, caption) for path, caption in chosen[:1]]


def _claim_blocks(
    entry: dict[str, Any],
    commands: list[Command],
    figures_dir: Path,
    figures: list[tuple[Path, str]],
) -> list[Block]:
    claim_id, verdict = entry["id"], entry["verdict"] or MISSING
    evidence = entry["evidence"]
    statement = entry["statement"]
    blocks: list[Block] = [
        Heading(f"{claim_id}: {verdict}", 3, claim_id),
        Table(
            ("claim", "where", "kind", "verdict"),
            ((claim_id, entry["where"], entry["kind"], verdict),),
        ),
        Paragraph(f"Claim: {statement}"),
        Paragraph(f"Evidence: {' '.join(entry['summary'].split())}"),
    ]
    if evidence.get("ladder"):
        blocks += ladder_blocks(evidence["ladder"], evidence.get("scale_dependence"))
    elif evidence.get("scale_dependence"):
        blocks.append(Paragraph(f"Scale dependence: {evidence['scale_dependence']}"))
    parts = evidence.get("parts", [])
    if len(parts) > 1:
        blocks.append(
            Table(
                ("stage", "verdict", "evidence"),
                tuple((p["stage"], p["verdict"], first_sentences(p["summary"])) for p in parts),
                caption="Parts (the most cautious decides):",
            )
        )
    if "counterexample" in evidence:
        blocks.append(Paragraph("Counterexample:"))
        blocks += counterexample_blocks(
            claim_id,
            statement,
            evidence["counterexample"],
            figures_dir / f"cx-{slug(claim_id)}.png",
        )
        blocks += _problem_figure(evidence["counterexample"], figures)
    if "conditions" in evidence:
        blocks += conditions_blocks(claim_id, statement, evidence["conditions"])
    if evidence.get("caveats"):
        blocks += caveat_blocks(claim_id, statement, evidence["caveats"])
    blocks += _ours_beside_paper(entry)
    blocks += _commands_blocks(commands)
    failure = evidence.get("failure")
    if failure:
        blocks.append(
            Paragraph(
                "No verdict: the stage failed."
                if entry["verdict"] is None
                else "The stage exited with an error after writing this record:"
            )
        )
        blocks.append(Code(failure[-4000:]))
    blocks.append(Paragraph((Link("back to the summary", "summary"),)))
    return blocks


def build_blocks(
    entries: list[dict[str, Any]],
    commands: dict[str, list[Command]],
    meta: dict[str, Any],
    figures: list[tuple[Path, str]],
    recorded_gpu: list[dict[str, Any]],
    figures_dir: Path,
    rules: str | None,
) -> list[Block]:
    """The report, top to bottom: headlines per paper, the summary, how a verdict is reached,
    every claim with its evidence and commands, the recorded GPU runs and the figures."""
    counts = Counter(e["verdict"] or MISSING for e in entries)
    env = meta["environment"]
    blocks: list[Block] = [
        Heading("Verification report: adaptive gradient optimizers", 1),
        Paragraph(
            (
                f"Generated {meta['generated']} by ",
                CodeSpan(meta["command"]),
                f" (mode: {meta['mode']}); Python {env['python']}, torch {env['torch']}, "
                f"{env['cpus']} CPUs, device {env['device']}. Verdicts: "
                + ", ".join(f"{v}: {counts[v]}" for v in (*PRECEDENCE, MISSING) if counts[v])
                + f" (of {len(entries)} claims). Every command below runs as printed from the "
                "project root.",
            )
        ),
        VerdictLegend(tuple((v, VERDICT_MEANINGS[v]) for v in PRECEDENCE)),
        *_headlines(entries),
        Heading("Summary", 2, "summary"),
        Table(
            ("claim", "kind", "verdict", "evidence"),
            tuple(
                (
                    (_link(e),),
                    e["kind"],
                    e["verdict"] or MISSING,
                    first_sentences(e["summary"]),
                )
                for e in entries
            ),
        ),
    ]
    if rules:
        blocks += [Heading("How a verdict is reached", 2, "verdict-rules"), Markdown(rules)]
    blocks += [
        Heading("Stages"),
        Table(
            ("stage", "claims", "seconds", "status"),
            tuple(
                (s["name"], str(len(s["claims"])), f"{s['seconds']:.0f}", _stage_status(s))
                for s in meta["stages"]
            ),
        ),
    ]
    for paper in dict.fromkeys(e["paper"] for e in entries):
        blocks.append(Heading(paper))
        for entry in (e for e in entries if e["paper"] == paper):
            blocks += _claim_blocks(entry, commands[entry["id"]], figures_dir, figures)
    if recorded_gpu:
        blocks += _recorded_blocks(recorded_gpu)
    if figures:
        blocks.append(Heading("Figures", 2, "figures"))
        for path, caption in figures:
            blocks.append(Image(path, caption))
    return blocks


def _recorded_role(record: dict[str, Any]) -> str:
    """What a recorded study does in its claim's verdict: decide it (it matches the claim's
    scope), or stand as a rung below the scope the verdict still waits for."""
    evidence = record["evidence"]
    if evidence["fidelity"]["matches_scope"]:
        return f"decides: {record['verdict']}"
    return f"{evidence['reading']} at its scale; the verdict stays {record['verdict']}"


def _recorded_blocks(recorded: list[dict[str, Any]]) -> list[Block]:
    """The training campaigns recorded on GPU machines, one row per claim they studied."""
    return [
        Heading("Recorded GPU campaigns", 2, "recorded-gpu"),
        Paragraph(
            (
                "Training campaigns run on GPU machines are kept under ",
                CodeSpan("experiments/training/recorded/"),
                " (one folder with a manifest.json per campaign) and are records like this "
                "run's own studies: each enters its claims' evidence ladder with its fidelity, "
                "and decides a claim where it is the highest-fidelity study and matches the "
                "claim's scope (the papers' model, data and protocol). Below the scope it is "
                "evidence at its scale, shown in the claim's ladder; its run logs are drawn "
                "among the figures.",
            )
        ),
        Table(
            ("claim", "campaign", "protocol", "in the verdict"),
            tuple(
                (
                    (Link(r["claim_id"], r["claim_id"]),),
                    r["evidence"]["source"],
                    r["evidence"].get("protocol", ""),
                    _recorded_role(r),
                )
                for r in recorded
            ),
        ),
    ]


def write_report(
    out: Path,
    rows: Sequence[ClaimVerdict | dict[str, Any]],
    meta: dict[str, Any],
    figures: list[tuple[Path, str]],
    recorded_gpu: list[dict[str, Any]],
) -> dict[str, Path]:
    """Write the three outputs atomically; return their paths. ``rows``: the merged verdicts,
    or their ``claims.json`` form (what the report renders)."""
    entries = [row if isinstance(row, dict) else row.as_json() for row in rows]
    commands = {e["id"]: claim_commands(e, meta["stages"]) for e in entries}
    for entry in entries:
        entry["commands"] = [c.as_json() for c in commands[entry["id"]]]
    payload = {
        "generated": meta["generated"],
        "environment": meta["environment"],
        "mode": meta["mode"],
        "command": meta["command"],
        "stages": meta["stages"],
        "claims": entries,
        "recorded_gpu": recorded_gpu,
    }
    figures_dir = out / "figures"
    figures_dir.mkdir(parents=True, exist_ok=True)
    rules = VERDICT_RULES.read_text() if VERDICT_RULES.exists() else None
    blocks = build_blocks(entries, commands, meta, figures, recorded_gpu, figures_dir, rules)
    outputs = {
        "claims.json": json.dumps(payload, indent=1, ensure_ascii=False, default=str),
        "REPORT.md": to_markdown(blocks, out),
        "report.html": to_html(blocks, "Verification report"),
    }
    paths = {}
    for name, text in outputs.items():
        paths[name] = write_text_atomically(out / name, text)
    return paths


def now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
