"""Every command the report prints, with what it should show and how long it takes.

Each claim gets the commands that reproduce its verdict (one per stage that
checked it) and the replays of its stored counterexamples, as they must be
typed in the project root. ``expects`` is a regular expression that the
command's output matches when it agrees with the verdict printed beside it;
``expected_seconds`` comes from this run's own measurements (the check's time
where the record has it, else its stage's time as an upper bound).
``claims.json`` lists them per claim, and a test runs the fast ones.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from theory.verdicts import FALSIFIED, HOLDS

FAST_SECONDS = 60.0
"""Commands expected to take at most this long are 'seconds'; longer ones are listed with
their expected time."""

REPLAY_SECONDS = 15.0
"""A replay re-evaluates one stored case (start-up of Python and torch dominates)."""

STARTUP_SECONDS = 10.0
"""Added to a check's measured time: starting Python with torch, sympy and Hypothesis."""

REPLAY_SHOWS = {
    "python -m invariants.replay": r"counterexample(?: of the caveat '[^']+')? reproduces on",
    "python -m theory.lemma1_numeric": r'"violated": true',
    "from theory.adanorm_regret_instance": r"first_violation_T=\d",
}
"""What each replay tool prints when the stored counterexample fails again."""


@dataclass(frozen=True)
class Command:
    command: str
    kind: str
    """'reproduce' (re-runs the check, prints the verdict), 'replay' (one stored case) or
    'rung' (the study behind one rung of the evidence ladder)."""
    stage: str
    expects: str
    expected_seconds: float | None

    @property
    def needs_cuda(self) -> bool:
        return "--device cuda" in self.command

    @property
    def fast(self) -> bool:
        """Runs here in seconds (so the report's test runs it)."""
        return (
            not self.needs_cuda
            and self.expected_seconds is not None
            and self.expected_seconds <= FAST_SECONDS
        )

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "fast": self.fast, "time": describe_time(self)}


def verdict_pattern(claim_id: str, verdict: str) -> str:
    """A line naming the claim and exactly this verdict ('holds' is not 'holds-under-...')."""
    return rf"\b{re.escape(claim_id)}\b.*\b{re.escape(verdict)}\b(?!-)"


def _seconds(evidence: dict[str, Any], stage: dict[str, Any] | None) -> float | None:
    """The record's own time where it has one, else the stage's; the stage's when its claims
    share work (a claim's record then times only its share)."""
    whole = stage["seconds"] if stage and stage.get("seconds") else None
    own = next(
        (float(evidence[k]) + STARTUP_SECONDS for k in ("seconds", "seconds_total")
         if isinstance(evidence.get(k), int | float)),
        None,
    )  # fmt: skip
    if stage and stage.get("shares_work") and whole is not None:
        return max(whole, own or 0.0)
    return own if own is not None else whole


def _replay_expects(command: str, claim_id: str) -> str:
    for prefix, shows in REPLAY_SHOWS.items():
        if prefix in command:
            return shows
    # a replay through a check's own CLI prints the claim's verdict line
    return verdict_pattern(claim_id, FALSIFIED)


def _replays(value: Any) -> list[str]:
    """Every replay command stored anywhere in ``value`` (counterexamples, caveats)."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "replay" and isinstance(item, str):
                found.append(item)
            else:
                found += _replays(item)
    elif isinstance(value, list):
        for item in value:
            found += _replays(item)
    return found


def _shown(part: dict[str, Any]) -> dict[str, Any]:
    """A part's evidence as the report shows it: a ``holds`` part with caveats stores its first
    caveat's case as its counterexample too, and that case is replayed as the caveat's."""
    evidence = part["evidence"]
    if part["verdict"] == HOLDS and evidence.get("caveats"):
        return {k: v for k, v in evidence.items() if k != "counterexample"}
    return evidence


def claim_commands(entry: dict[str, Any], stages: list[dict[str, Any]]) -> list[Command]:
    """The commands of one claim row of ``claims.json`` (reproduce first, then replays);
    ``stages``: the report's stage list (name, seconds, shares_work)."""
    by_name = {s["name"]: s for s in stages}
    commands: dict[str, Command] = {}
    claim_id = entry["id"]
    parts = entry["evidence"].get("parts", [])
    for part in parts:
        if part.get("reproduce") and part["reproduce"] not in commands:
            commands[part["reproduce"]] = Command(
                part["reproduce"],
                "reproduce",
                part["stage"],
                verdict_pattern(claim_id, part["verdict"]),
                _seconds(part["evidence"], by_name.get(part["stage"])),
            )
    sources = [(p["stage"], _shown(p)) for p in parts] or [("", entry["evidence"])]
    sources.append(("", {k: v for k, v in entry["evidence"].items() if k != "parts"}))
    for stage, evidence in sources:
        for replay in _replays(evidence):
            if replay in commands:
                continue
            seconds = REPLAY_SECONDS
            if "--horizon" in replay:
                # reruns an instance of the stage's problems
                seconds = by_name[stage]["seconds"] if stage in by_name else None
                seconds = seconds or None  # a stage reused without its time: unknown
            commands[replay] = Command(
                replay, "replay", stage, _replay_expects(replay, claim_id), seconds
            )
    for rung in entry["evidence"].get("ladder", []):
        command = rung.get("reproduce")
        if command and command not in commands:
            stage = rung.get("stage", "")
            # a rung this run's stage computed takes about that stage's time; a recorded one
            # ran elsewhere (its time is unknown here)
            commands[command] = Command(
                command,
                "rung",
                stage,
                rf"\b{re.escape(claim_id)}\b",
                _seconds({}, by_name.get(stage)),
            )
    return list(commands.values())


def describe_time(command: Command) -> str:
    if command.needs_cuda:
        return "needs a CUDA device"
    if command.expected_seconds is None:
        return "time unknown"
    if command.fast:
        return f"about {max(command.expected_seconds, 1):.0f} s"
    minutes = command.expected_seconds / 60
    return (
        f"long: about {minutes:.0f} min" if minutes < 120 else f"long: about {minutes / 60:.1f} h"
    )
