"""Conformance results as files: JSON, a Markdown section and plots.

The JSON has the verification report's conventions (a generation time, the
environment, one record per item with its evidence and a reproduce command);
``CONFORMANCE.md`` can be read alone or pasted into a library's docs; each
diverging check gets a PNG of the diverging coordinate on both sides.
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from invariants.conformance.checks import FAIL, NOT_APPLICABLE, OPEN, PASS
from invariants.conformance.runner import ConformanceReport, jsonable
from theory.verdicts import write_text_atomically

_MARK = {PASS: "pass", OPEN: "open choice", FAIL: "**FAIL**", NOT_APPLICABLE: "n/a"}


def reproduce_command(report: ConformanceReport) -> str:
    target = report.target
    parts = ["python", "-m", "invariants.conformance", target.label, "--method", target.method]
    if target.kwargs:
        parts += ["--kwargs", json.dumps(jsonable(target.kwargs))]
    if target.reference_kwargs:
        parts += ["--reference-kwargs", json.dumps(jsonable(target.reference_kwargs))]
    return " ".join(shlex.quote(p) for p in parts)


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text).strip("-")


def write_reports(reports: Sequence[ConformanceReport], out: Path) -> list[Path]:
    """Write ``conformance.json``, ``CONFORMANCE.md`` and the plots into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    records = []
    for report in reports:
        record = report.as_json()
        record["reproduce"] = reproduce_command(report)
        record["plots"] = _plots(report, out)
        records.append(record)
    document = {
        "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "targets": records,
    }
    written = [
        write_text_atomically(out / "conformance.json", json.dumps(document, indent=1) + "\n"),
        write_text_atomically(out / "CONFORMANCE.md", markdown(records)),
    ]
    return written + [out / p for r in records for p in r["plots"].values()]


def _plots(report: ConformanceReport, out: Path) -> dict[str, str]:
    diverging = [r for r in report.results if r.curves and r.status in (FAIL, OPEN)]
    if not diverging:
        return {}
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # plots are an extra; the JSON and Markdown carry the numbers
        return {}
    plots = {}
    for result in diverging:
        curves = result.curves
        steps = range(1, len(curves["target"]) + 1)
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.4, 5.2), sharex=True)
        top.plot(steps, curves["reference"], label="reference (paper)", lw=2, color="0.4")
        top.plot(steps, curves["target"], label=report.target.label, lw=1, ls="--", color="C3")
        top.set_ylabel(curves["coordinate"])
        top.legend(fontsize=7)
        gap = [abs(a - b) for a, b in zip(curves["target"], curves["reference"], strict=True)]
        # Exact agreement sits on the floor rather than at 1e-300.
        bottom.semilogy(steps, [max(g, 1e-17) for g in gap], color="C3")
        bottom.set_ylim(bottom=1e-17)
        bottom.set_ylabel("|target − reference|")
        bottom.set_xlabel("step")
        if result.divergence is not None:
            for axis in (top, bottom):
                axis.axvline(result.divergence.step, color="0.7", lw=0.8)
        fig.suptitle(f"{report.target.method}: {result.name} ({result.status})", fontsize=9)
        fig.tight_layout()
        name = f"conformance-{_slug(report.target.label)}-{_slug(result.name)}.png"
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        plots[result.name] = name
    return plots


def markdown(records: Sequence[dict[str, Any]]) -> str:
    lines = ["# Conformance", ""]
    lines += ["| target | method | verdict | failing checks |", "|---|---|---|---|"]
    for r in records:
        failing = [c["name"] for c in r["checks"] if c["status"] == FAIL]
        lines.append(
            f"| `{r['target']}` | {r['method']} | {r['verdict']} | {', '.join(failing) or '—'} |"
        )
    for r in records:
        lines += ["", f"## `{r['target']}` as {r['method']} ({r['paper_algorithm']})", ""]
        lines.append(f"Verdict: **{r['verdict']}**. Reproduce: `{r['reproduce']}`")
        lines.append("")
        lines.append(f"Target arguments: `{r['kwargs']}`; reference: `{r['reference_arguments']}`.")
        lines += ["", "| check | result | detail |", "|---|---|---|"]
        for c in r["checks"]:
            detail = c["summary"].replace("|", "/")
            lines.append(f"| {c['name']} | {_MARK[c['status']]} | {detail} |")
        for c in r["checks"]:
            if c["status"] not in (FAIL, OPEN) or not (
                c["explained_by"] or c["minimal_counterexample"]
            ):
                continue
            lines += ["", f"### {c['name']}", ""]
            for e in c["explained_by"]:
                where = f" (the paper has {e['contradicts']})" if e.get("contradicts") else ""
                lines.append(f"- {e['kind']} `{e['key']}`: {e['explanation']}{where}")
            if c["status"] == FAIL:
                lines += _minimal_lines(c["minimal_counterexample"], c["name"])
            if c["name"] in r["plots"]:
                lines += ["", f"![{c['name']}]({r['plots'][c['name']]})"]
    return "\n".join(lines) + "\n"


def _minimal_lines(minimal: dict[str, Any] | None, check: str) -> list[str]:
    """One failure's smallest gradient sequence, as Markdown."""
    if minimal is None:
        return []
    found_by = minimal["found_by"]
    origin = "" if found_by == check else f" (shared: same cause, shrunk in {found_by})"
    if minimal["gradients"] is None:
        return [
            "",
            f"No gradient sequence of a few steps shows it within "
            f"{minimal['within_seconds']:g} s of search{origin}.",
        ]
    lines = ["", f"Smallest gradient sequence found that shows it{origin}:", ""]
    lines.append(f"- initial parameters `{minimal['params']}` ({minimal['dtype']})")
    if minimal["overrides"]:
        lines.append(f"- constructor arguments `{minimal['overrides']}`")
    for group in minimal["groups"] or []:
        lines.append(
            f"- param group of tensor(s) {group['tensors']} with `{group['options']}`, "
            f"added before step {group['added_before_step']}"
        )
    factors = minimal["lr_factors"]
    for t, step in enumerate(minimal["gradients"], start=1):
        lr = f" (lr × {factors[str(t - 1)]:g} from here on)" if str(t - 1) in factors else ""
        lines.append(f"- step {t}{lr}: gradients `{step}`")
    where = minimal.get("divergence")
    if where:
        lines.append(
            f"- parts after step {where['step']}: tensor {where['tensor']}"
            f"{where['index']} = {where['target']!r} (target) vs "
            f"{where['reference']!r} (reference)"
        )
    if minimal.get("raised"):
        lines.append(f"- the target raised {minimal['raised']}")
    return lines
