"""From a :class:`~invariants.claim.Claim` to a verdict, on both implementations.

For each implementation (torch float64 and the NumPy reference) independently:

1. search for a counterexample to the statement as the paper means it: inside
   the claim's scenario, with its stated conditions and its caveats imposed
   (``hypothesis.find``: the first failing example is shrunk to a minimal one);
2. if one exists and the claim lists material conditions, search again with
   them imposed: nothing found → ``holds-under-conditions``, else
   ``falsified``; with two or more, one more search per material condition
   drops only that one, to show each is needed;
3. unless falsified, one search per caveat drops only that caveat: what it
   finds is listed as a caveat (with its replay command), not the verdict;
4. if the claim has an existence part (a :class:`~invariants.claim.Witness`),
   search for a witness; none found → ``inconclusive``.

Then the two verdicts must agree, and every counterexample must replay to a
violation on the implementation that found it. Under a randomized profile
the two searches see different examples, so one may find what the other
missed: the verdicts are then reconciled when everything either side found
(counterexamples and witnesses) replays on the other side too; if something
does not replay, the implementations really differ and that is our bug. An
implementation error (exception, NaN) found by any search is reported as
such: it is our bug whatever the claim says.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from hypothesis import Phase, find, settings
from hypothesis.errors import NoSuchExample

from invariants.cases import Case
from invariants.claim import (
    CAVEAT,
    CONDITIONAL,
    FALSIFIED,
    HOLDS,
    INCONCLUSIVE,
    MATERIAL,
    STATED,
    Claim,
    Violation,
)
from invariants.results import replay_command
from invariants.runners import IMPLEMENTATIONS
from invariants.stage import INVARIANTS
from theory.profiles import ENV, claim_examples, search_settings
from theory.verdicts import ClaimResult


def counted(violations: list[Violation], imposed: frozenset[str]) -> list[Violation]:
    """The violations that count when the conditions ``imposed`` are assumed."""
    return [v for v in violations if v.error or not (v.excused_by & imposed)]


@dataclass
class Search:
    """One counterexample search on one implementation."""

    name: str
    imposed: frozenset[str]
    examples: int
    seconds: float
    case: Case | None = None
    violations: list[Violation] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "search": self.name,
            "conditions_imposed": sorted(self.imposed),
            "examples": self.examples,
            "seconds": round(self.seconds, 2),
            "found": self.case is not None,
        }
        if self.case is not None:
            out["counterexample"] = self.case.to_json()
            out["violation"] = [v.message for v in self.violations[:3]]
        return out


@dataclass
class Outcome:
    """Everything one implementation's run of a claim check produced."""

    implementation: str
    verdict: str
    searches: list[Search]
    witness: dict[str, Any] | None = None
    errors: list[str] = field(default_factory=list)
    replays_on_self: bool = True
    replays_on_other: bool | None = None

    @property
    def examples(self) -> int:
        return sum(s.examples for s in self.searches)

    def first_counterexample(self) -> Search | None:
        """The counterexample to the statement as meant, else the first caveat's."""
        found = [s for s in self.searches if s.case is not None]
        as_stated = [s for s in found if s.name == AS_STATED]
        return next(iter(as_stated + [s for s in found if s.name.startswith(WITH_CAVEAT)]), None)

    def caveats(self) -> list[Search]:
        return [s for s in self.searches if s.case is not None and s.name.startswith(WITH_CAVEAT)]


AS_STATED = "as stated"
WITH_CAVEAT = "with the caveat "


def _search(
    claim: Claim, implementation: str, imposed: frozenset[str], profile: str, name: str
) -> Search:
    calls = 0

    def violates(case: Case) -> bool:
        nonlocal calls
        calls += 1
        return bool(counted(claim.check(implementation, case), imposed))

    started = time.perf_counter()
    examples = claim_examples(profile, claim.cost)
    try:
        case = find(claim.strategy(imposed), violates, settings=search_settings(profile, examples))
    except NoSuchExample:
        return Search(name, imposed, calls, time.perf_counter() - started)
    violations = counted(claim.check(implementation, case), imposed)
    return Search(name, imposed, calls, time.perf_counter() - started, case, violations)


def _witness(claim: Claim, implementation: str, profile: str) -> dict[str, Any]:
    assert claim.witness is not None
    calls = 0

    def is_witness(case: Case) -> bool:
        nonlocal calls
        calls += 1
        return claim.witness.found(implementation, case) is not None

    examples = claim_examples(profile, claim.cost)
    # Any witness proves existence: skip shrinking, which only makes it prettier.
    quick = search_settings(profile, examples)
    quick = settings(quick, phases=[Phase.explicit, Phase.reuse, Phase.generate])
    try:
        case = find(claim.witness.strategy(), is_witness, settings=quick)
    except NoSuchExample:
        return {"text": claim.witness.text, "found": False, "examples": calls}
    return {
        "text": claim.witness.text,
        "found": True,
        "examples": calls,
        "witness": case.to_json(),
        "description": claim.witness.found(implementation, case),
    }


def _names(claim: Claim, kind: str) -> frozenset[str]:
    return frozenset(c.name for c in claim.conditions if c.kind == kind)


def run_on(claim: Claim, implementation: str, profile: str) -> Outcome:
    """Steps 1-4 of the module docstring on one implementation."""
    meant = _names(claim, STATED) | _names(claim, CAVEAT)
    material = _names(claim, MATERIAL)
    searches = [_search(claim, implementation, meant, profile, AS_STATED)]
    verdict = HOLDS
    if searches[0].case is not None:
        verdict = FALSIFIED
        if material:
            every = meant | material
            under = _search(claim, implementation, every, profile, "under all conditions")
            searches.append(under)
            verdict = CONDITIONAL if under.case is None else FALSIFIED
            if len(material) > 1:
                for name in sorted(material):
                    searches.append(
                        _search(claim, implementation, every - {name}, profile, f"without {name}")
                    )
    if verdict != FALSIFIED:
        for name in sorted(_names(claim, CAVEAT)):
            imposed = (meant | material) - {name}
            searches.append(
                _search(claim, implementation, imposed, profile, f"{WITH_CAVEAT}{name}")
            )
    outcome = Outcome(implementation, verdict, searches)
    if claim.witness is not None:
        outcome.witness = _witness(claim, implementation, profile)
        if not outcome.witness["found"] and verdict == HOLDS and claim.witness.required:
            outcome.verdict = INCONCLUSIVE
    for s in searches:
        outcome.errors += [v.message for v in s.violations if v.error]
        if s.case is not None:
            outcome.replays_on_self &= bool(counted(claim.check(implementation, s.case), s.imposed))
    return outcome


@dataclass
class ClaimRun:
    """Both implementations' outcomes and the record for the results file."""

    claim: Claim
    outcomes: dict[str, Outcome]
    result: ClaimResult
    seconds: float

    agree: bool = True

    @property
    def errors(self) -> list[str]:
        return [f"{o.implementation}: {e}" for o in self.outcomes.values() for e in o.errors]


def reproduce_command(claim_id: str, profile: str) -> str:
    return INVARIANTS.command([claim_id], env={ENV: profile})


def check_claim(claim: Claim, profile: str) -> ClaimRun:
    """Run ``claim`` on both implementations and build its :class:`ClaimResult`."""
    started = time.perf_counter()
    outcomes = {impl: run_on(claim, impl, profile) for impl in IMPLEMENTATIONS}
    for impl, outcome in outcomes.items():
        other = next(i for i in IMPLEMENTATIONS if i != impl)
        first = outcome.first_counterexample()
        if first is not None:
            outcome.replays_on_other = bool(claim.check(other, first.case))
    verdicts = {o.verdict for o in outcomes.values()}
    errors = [e for o in outcomes.values() for e in o.errors]
    agree = len(verdicts) == 1 or _found_things_replay_across(claim, outcomes)
    if errors or not agree:
        verdict = INCONCLUSIVE
    else:
        verdict = max(verdicts, key=_STRENGTH.__getitem__)
    evidence = _evidence(claim, outcomes, profile)
    evidence["agree"] = agree
    summary = _summary(claim, verdict, outcomes, errors, agree)
    if verdict == CONDITIONAL:
        strongest = next(o for o in outcomes.values() if o.verdict == verdict)
        evidence["conditions"] = _conditions(claim, strongest)
    if verdict in (HOLDS, CONDITIONAL):
        caveats = _caveats(claim, outcomes)
        if caveats:
            evidence["caveats"] = caveats
    result = ClaimResult(
        claim_id=claim.id,
        verdict=verdict,
        summary=summary,
        reproduce=reproduce_command(claim.id, profile),
        evidence=evidence,
    )
    return ClaimRun(claim, outcomes, result, time.perf_counter() - started, agree)


_STRENGTH = {INCONCLUSIVE: 0, HOLDS: 1, CONDITIONAL: 2, FALSIFIED: 3}
"""How much a verdict found: a side that found more (a witness, a counterexample, one
under all conditions) wins once what it found is shown to hold on the other side too."""


def _found_things_replay_across(claim: Claim, outcomes: dict[str, Outcome]) -> bool:
    """Whether every counterexample and witness one side found also works on the other."""
    for impl, outcome in outcomes.items():
        other = next(i for i in IMPLEMENTATIONS if i != impl)
        for search in outcome.searches:
            if search.case is not None and not counted(
                claim.check(other, search.case), search.imposed
            ):
                return False
        if outcome.witness and outcome.witness["found"] and claim.witness is not None:
            case = Case.from_json(outcome.witness["witness"])
            if claim.witness.found(other, case) is None:
                return False
    return True


def _evidence(claim: Claim, outcomes: dict[str, Outcome], profile: str) -> dict[str, Any]:
    evidence: dict[str, Any] = {
        "statement": claim.statement,
        "source": claim.source,
        "kind": "hypothesis search, torch float64 and NumPy float64 reference",
        "profile": profile,
        "max_examples_per_search": claim_examples(profile, claim.cost),
        "examples": sum(o.examples for o in outcomes.values()),
        "tolerance": claim.tolerance,
        "implementations": {
            impl: {
                "verdict": o.verdict,
                "examples": o.examples,
                "searches": [s.to_json() for s in o.searches],
                "witness": o.witness,
                "errors": o.errors,
                "counterexample_replays_on_other_implementation": o.replays_on_other,
            }
            for impl, o in outcomes.items()
        },
    }
    if claim.notes:
        evidence["notes"] = list(claim.notes)
    stated = [c.text for c in claim.conditions if c.kind == STATED]
    if stated:
        evidence["stated_conditions"] = stated
    first = outcomes["torch"].first_counterexample() or outcomes["reference"].first_counterexample()
    if first is not None:
        found_by = "torch" if outcomes["torch"].first_counterexample() is first else "reference"
        evidence["counterexample"] = {
            "found_by": found_by,
            "case": first.case.to_json(),
            "violation": [v.message for v in first.violations[:3]],
            "replay": replay_command(claim.id),
        }
    witness = outcomes["torch"].witness
    if witness is not None:
        evidence["witness"] = witness
    return evidence


def _conditions(claim: Claim, outcome: Outcome) -> list[dict[str, Any]]:
    out = []
    for c in claim.conditions:
        if c.kind != MATERIAL:
            continue
        entry: dict[str, Any] = {"name": c.name, "text": c.text, "in_practice": c.in_practice}
        without = next((s for s in outcome.searches if s.name == f"without {c.name}"), None)
        if without is not None:
            entry["needed"] = without.case is not None
            if without.case is not None:
                entry["counterexample_without_it"] = without.case.to_json()
                entry["violation"] = [v.message for v in without.violations[:2]]
        out.append(entry)
    return out


def _caveats(claim: Claim, outcomes: dict[str, Outcome]) -> list[dict[str, Any]]:
    """One entry per caveat that either implementation found a counterexample for."""
    out = []
    for c in claim.conditions:
        if c.kind != CAVEAT:
            continue
        for implementation, outcome in outcomes.items():
            found = next((s for s in outcome.caveats() if s.name == f"{WITH_CAVEAT}{c.name}"), None)
            if found is None or found.case is None:
                continue
            out.append(
                {
                    "name": c.name,
                    "text": c.text,
                    "counterexample": {
                        "found_by": implementation,
                        "case": found.case.to_json(),
                        "violation": [v.message for v in found.violations[:3]],
                        "replay": replay_command(claim.id, caveat=c.name),
                    },
                    "replay": replay_command(claim.id, caveat=c.name),
                }
            )
            break
    return out


def _summary(
    claim: Claim, verdict: str, outcomes: dict[str, Outcome], errors: list[str], agree: bool
) -> str:
    examples = sum(o.examples for o in outcomes.values())
    if errors:
        return f"implementation error: {errors[0]}"
    if not agree:
        return "torch and reference disagree: " + ", ".join(
            f"{i}={o.verdict}" for i, o in outcomes.items()
        )
    first = next(
        (o.first_counterexample() for o in outcomes.values() if o.first_counterexample()), None
    )
    if verdict == HOLDS:
        caveats = sorted(
            {
                c.name
                for o in outcomes.values()
                for c in claim.conditions
                if any(s.name == f"{WITH_CAVEAT}{c.name}" for s in o.caveats())
            }
        )
        text = f"no counterexample in {examples} examples (torch + reference)"
        if caveats:
            text += f"; caveat{'s' if len(caveats) > 1 else ''}: {', '.join(caveats)}"
        return text
    if verdict == CONDITIONAL:
        names = ", ".join(c.name for c in claim.conditions if c.kind == MATERIAL)
        message = first.violations[0].message if first and first.violations else ""
        return f"counterexample as stated ({message}); none under [{names}] in {examples} examples"
    if verdict == FALSIFIED:
        message = first.violations[0].message if first and first.violations else ""
        return f"falsified: {message}"
    return "inconclusive: the existence part found no witness"
