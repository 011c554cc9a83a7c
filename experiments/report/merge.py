"""From the stages' records to exactly one verdict per claim.

Two rules, kept apart (``experiments/report/verdict_rules.md`` explains them to readers):

* **Several studies of one empirical statement** (the training stage's run, recorded GPU
  campaigns under ``experiments/training/recorded/``) form an *evidence ladder*, ordered by
  fidelity to the claim's paper setting. The highest rung decides: its record's verdict is
  ``holds``/``falsified``/``inconclusive`` only if it matches the claim's scope, and
  otherwise what the claim still needs (``needs-gpu``, ``needs-data``). Lower rungs are
  evidence ("supported", "not reproduced" at their scale); when rungs disagree, the row
  says so as scale dependence.
* **Different parts of one claim** (AB-1's invariant part and its empirical part, RA-1's
  theory and invariants) combine by "the most cautious part decides"
  (:data:`theory.verdicts.PRECEDENCE`): a falsified part falsifies the claim; the claim
  holds only when every part holds. A part without fidelity data run at the papers' scale
  replaces the 'needs-gpu' part it stands for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from theory.catalogue import Claim
from theory.verdicts import (
    CONDITIONAL,
    FALSIFIED,
    INCONCLUSIVE,
    NEEDS_GPU,
    NOT_REPRODUCED,
    PRECEDENCE,
    SUPPORTED,
    ClaimResult,
    most_cautious,
)

__all__ = ["PRECEDENCE", "ClaimVerdict", "combine_parts", "ladder_of", "merge"]


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
    ladder: list[dict[str, Any]] = field(default_factory=list)
    """The empirical studies of the claim, lowest fidelity first (see :func:`ladder_of`)."""
    scale_dependence: str | None = None

    def as_json(self) -> dict[str, Any]:
        evidence: dict[str, Any] = {"parts": self.parts}
        for part in self.parts:
            shown = part["verdict"] in (FALSIFIED, CONDITIONAL)
            for key in ("counterexample", "conditions"):
                if shown and key in part["evidence"] and key not in evidence:
                    evidence[key] = part["evidence"][key]
        caveats = [
            {"stage": part["stage"], **c}
            for part in self.parts
            for c in part["evidence"].get("caveats", [])
        ]
        if caveats:
            shown = ("name", "stage", "text", "counterexample", "replay")
            evidence["caveats"] = [{k: c[k] for k in shown if k in c} for c in caveats]
        if self.ladder:
            evidence["ladder"] = self.ladder
        if self.scale_dependence:
            evidence["scale_dependence"] = self.scale_dependence
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
    """Different parts of one claim: the most cautious part decides."""
    return most_cautious(verdicts)


def fidelity_rank(f: dict[str, Any]) -> tuple:
    """Orders studies by fidelity: matching the claim's scope first, then the paper's model,
    the share of its data, the share of its steps, the number of seeds."""
    return (
        f["matches_scope"],
        f["same_model"],
        min(f["data_fraction"], 1.0),
        f["step_fraction"],
        f["seeds"],
    )


def _scale(f: dict[str, Any]) -> str:
    share = f"{100 * f['data_fraction']:.3g}%"
    data = f"{share} of {f['dataset']}" if f["data_fraction"] else f["dataset"]
    return (
        f"{f['model']} on {data}, {f['steps']:,} steps "
        f"({f['step_fraction']:.2%} of the paper's {f['paper_steps']:,}), {f['seeds']} seeds"
    )


def _result(evidence: dict[str, Any]) -> str:
    comparisons = evidence.get("comparisons", [])
    return "; ".join(
        f"{c['label']}: {c['mean']:+.3g} (95% CI [{c['low']:+.3g}, {c['high']:+.3g}], n={c['n']})"
        for c in comparisons
    )


def ladder_of(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The evidence ladder of a claim from its study parts, lowest fidelity first; the last
    rung decides (``decides``)."""
    rungs = []
    for part in parts:
        evidence = part["evidence"]
        if "fidelity" not in evidence:
            continue
        rungs.append(
            {
                "source": evidence.get("source", part["stage"]),
                "stage": part["stage"],
                "scale": _scale(evidence["fidelity"]),
                "fidelity": evidence["fidelity"],
                "result": _result(evidence),
                "reading": evidence.get("reading", INCONCLUSIVE),
                "verdict": part["verdict"],
                "decides": False,
                "reproduce": part["reproduce"],
            }
        )
    rungs.sort(key=lambda rung: fidelity_rank(rung["fidelity"]))
    if rungs:
        rungs[-1]["decides"] = True
    return rungs


def _scale_dependence(ladder: list[dict[str, Any]]) -> str | None:
    readings = {r["reading"] for r in ladder}
    if not {SUPPORTED, NOT_REPRODUCED} <= readings:
        return None
    top = ladder[-1]
    said = "; ".join(f"{r['reading']} at {r['source']} ({r['scale']})" for r in reversed(ladder))
    if top["fidelity"].get("matches_scope", True):
        outcome = f"the highest fidelity ({top['source']}) decides"
    else:
        # The top rung leads the ladder but is below the claim's scope: it cannot decide.
        outcome = (
            f"the highest fidelity ({top['source']}) is below the claim's scope, "
            f"so the verdict stays {top['verdict']}"
        )
    return f"the studies disagree across scales: {said}; {outcome}"


def _at_papers_scale(part: dict[str, Any]) -> bool:
    """A study that matches its claim's scope (or, written without fidelity data, says it
    ran at the papers' scale)."""
    evidence = part["evidence"]
    if "fidelity" in evidence:
        return bool(evidence["fidelity"]["matches_scope"])
    return evidence.get("scale") == "paper"


def merge(
    claims: tuple[Claim, ...],
    records: dict[str, list[ClaimResult]],
    failures: dict[str, str],
    covered_by: dict[str, list[str]],
    recorded: dict[str, list[ClaimResult]] | None = None,
) -> list[ClaimVerdict]:
    """One :class:`ClaimVerdict` per claim.

    ``records``: stage name -> its records; ``failures``: stage name -> error
    text for stages that crashed; ``covered_by``: claim ID -> stages that were
    asked to check it; ``recorded``: campaign source -> records of training runs recorded
    elsewhere (default: every campaign under ``experiments/training/recorded/``).
    """
    if recorded is None:
        from experiments.training.recorded import load_recorded

        recorded = load_recorded()
    sources = {**records, **recorded}
    rows = []
    for claim in claims:
        parts = [
            {
                "stage": stage,
                "verdict": result.verdict,
                "summary": result.summary,
                "reproduce": result.reproduce,
                "evidence": result.evidence,
            }
            for stage, results in sources.items()
            for result in results
            if result.claim_id == claim.id
        ]
        crashed = [s for s in covered_by.get(claim.id, []) if s in failures]
        failure = "\n\n".join(f"[{s}] {failures[s]}" for s in crashed) or None
        if not parts:
            summary = (
                f"stage {', '.join(crashed)} failed" if crashed else "no stage checked this claim"
            )
            rows.append(
                ClaimVerdict(
                    claim, None, summary, "", parts, failure or "no check produced a verdict"
                )
            )
            continue
        ladder = ladder_of(parts)
        if ladder:
            # One empirical statement, several studies: the highest rung stands for all of them
            # (and for the placeholder a stage writes when it did not run the study).
            studies = [p for p in parts if "fidelity" in p["evidence"]]
            # sorted() is stable, as in ladder_of: the same study is the top rung there.
            deciding = sorted(studies, key=lambda p: fidelity_rank(p["evidence"]["fidelity"]))[-1]
            parts = [p for p in parts if "paper_setting" not in p["evidence"]] + [deciding]
        if any(_at_papers_scale(p) for p in parts):
            # A study run at the papers' scale answers what a 'needs-gpu' part asked for.
            parts = [p for p in parts if p["verdict"] != NEEDS_GPU]
        verdict = combine_parts([p["verdict"] for p in parts])
        summary = next(p for p in parts if p["verdict"] == verdict)["summary"]
        if len(parts) > 1:
            others = ", ".join(f"{p['stage']}: {p['verdict']}" for p in parts)
            summary = f"{summary} [parts: {others}]"
        dependence = _scale_dependence(ladder) if ladder else None
        if dependence:
            summary = f"{summary} [scale dependence: {dependence}]"
        reproduce = " && ".join(dict.fromkeys(p["reproduce"] for p in parts))
        # A stage that exited non-zero after writing this claim's record keeps the record
        # (its summary says what went wrong); the exit status is kept beside it.
        rows.append(
            ClaimVerdict(claim, verdict, summary, reproduce, parts, failure, ladder, dependence)
        )
    return rows
