"""From the stages' records to exactly one verdict per claim.

A claim may be checked by several stages (RA-1 by the theory and by the
invariants; AB-1's invariant part by the invariants and its empirical part by
training). Its verdict is the most cautious of its parts: a part that is
falsified makes the claim falsified; otherwise a conditional part makes it
hold only under conditions; otherwise an inconclusive part, or a part that
needs a GPU or data, decides; only a claim whose every part holds, holds.
A part run at the papers' scale replaces the 'needs-gpu' part it stands for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from experiments.report.claim_list import Claim
from experiments.verdicts import ClaimResult

PRECEDENCE = (
    "falsified",
    "holds-under-conditions",
    "inconclusive",
    "needs-gpu",
    "needs-data",
    "holds",
)


@dataclass
class ClaimVerdict:
    """One row of the report."""

    claim: Claim
    verdict: str | None
    summary: str
    reproduce: str
    parts: list[dict[str, Any]] = field(default_factory=list)
    failure: str | None = None
    """What went wrong in a stage that checked this claim, with its log's tail. Without
    any record for the claim this means no verdict; with one, the record stands."""

    def as_json(self) -> dict[str, Any]:
        evidence: dict[str, Any] = {"parts": self.parts}
        for part in self.parts:
            for key in ("counterexample", "conditions"):
                if key in part["evidence"] and key not in evidence:
                    evidence[key] = part["evidence"][key]
        if self.failure:
            evidence["failure"] = self.failure
        return {
            "id": self.claim.id,
            "paper": self.claim.paper,
            "statement": self.claim.statement,
            "where": self.claim.where,
            "kind": ", ".join(self.claim.kinds),
            "verdict": self.verdict,
            "summary": self.summary,
            "evidence": evidence,
            "reproduce": self.reproduce,
        }


def combine_parts(verdicts: list[str]) -> str:
    return min(verdicts, key=PRECEDENCE.index)


def merge(
    claims: tuple[Claim, ...],
    records: dict[str, list[ClaimResult]],
    failures: dict[str, str],
    covered_by: dict[str, list[str]],
) -> list[ClaimVerdict]:
    """One :class:`ClaimVerdict` per claim.

    ``records``: stage name -> its records; ``failures``: stage name -> error
    text for stages that crashed; ``covered_by``: claim ID -> stages that were
    asked to check it.
    """
    rows = []
    for claim in claims:
        parts = []
        for stage, results in records.items():
            for result in results:
                if result.claim_id == claim.id:
                    parts.append(
                        {
                            "stage": stage,
                            "verdict": result.verdict,
                            "summary": result.summary,
                            "reproduce": result.reproduce,
                            "evidence": result.evidence,
                        }
                    )
        if any(p["evidence"].get("scale") == "paper" for p in parts):
            # A study run at the papers' scale answers what a 'needs-gpu' part asked for.
            parts = [p for p in parts if p["verdict"] != "needs-gpu"]
        crashed = [s for s in covered_by.get(claim.id, []) if s in failures]
        failure = "\n\n".join(f"[{s}] {failures[s]}" for s in crashed) or None
        if crashed and not parts:
            rows.append(
                ClaimVerdict(claim, None, f"stage {', '.join(crashed)} failed", "", parts, failure)
            )
            continue
        if not parts:
            rows.append(
                ClaimVerdict(
                    claim,
                    None,
                    "no stage checked this claim",
                    "",
                    parts,
                    "no check produced a verdict",
                )
            )
            continue
        verdict = combine_parts([p["verdict"] for p in parts])
        deciding = next(p for p in parts if p["verdict"] == verdict)
        summary = deciding["summary"]
        if len(parts) > 1:
            others = ", ".join(f"{p['stage']}: {p['verdict']}" for p in parts)
            summary = f"{summary} [parts: {others}]"
        reproduce = " && ".join(dict.fromkeys(p["reproduce"] for p in parts))
        # A stage that exited non-zero after writing this claim's record keeps the record
        # (its summary says what went wrong); the exit status is kept beside it.
        rows.append(ClaimVerdict(claim, verdict, summary, reproduce, parts, failure))
    return rows
