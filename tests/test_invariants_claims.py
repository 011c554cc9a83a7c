"""One test per claim ID of kind inv or red: the claim check at the active profile.

Each test runs the claim's counterexample search on torch (float64) and on the NumPy
reference and checks that its record survives the results file's round trip (in a
temporary folder: the report's inputs come from ``python -m invariants`` only, so a
test run never leaves verdicts behind for a report to pick up). It fails only for what is
our bug: an implementation error, torch and the reference disagreeing, a stored
counterexample that does not replay, or a verdict that mathematics rules out for
this claim (``Claim.expected``, argued in each claim's ``reasoning``). A paper's
claim found false as stated is a verdict, not a failure.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from invariants.cases import Case
from invariants.claim import CONDITIONAL, FALSIFIED, Claim
from invariants.claims import CLAIMS
from invariants.results import load, merge, record
from invariants.search import check_claim, counted
from theory import profiles

CLAIMS_FILE = Path(__file__).resolve().parents[2] / "shared" / "CLAIMS.md"


def _check(claim: Claim, folder: Path) -> None:
    run = check_claim(claim, profiles.active_name())
    record(run.result, folder)
    merge(folder)
    assert load(folder)[claim.id].verdict == run.result.verdict
    assert not run.errors, f"{claim.id}: implementation error: {run.errors[:3]}"
    assert run.agree, f"{claim.id}: {run.result.summary}"
    for outcome in run.outcomes.values():
        assert outcome.replays_on_self, (
            f"{claim.id}: a counterexample did not replay on {outcome.implementation}"
        )
    verdict = run.result.verdict
    assert verdict in claim.expected, (
        f"{claim.id}: verdict {verdict!r} is ruled out by the mathematics ({claim.reasoning}); "
        f"{run.result.summary}; evidence: {run.result.evidence.get('implementations')}"
    )
    if verdict in (FALSIFIED, CONDITIONAL):
        stored = run.result.evidence["counterexample"]
        case = Case.from_json(stored["case"])
        assert counted(claim.check(stored["found_by"], case), frozenset()), (
            f"{claim.id}: the stored counterexample does not replay from its JSON form"
        )
    if verdict == CONDITIONAL:
        assert run.result.evidence["conditions"]


def _make(claim: Claim):
    def test(tmp_path: Path) -> None:
        _check(claim, tmp_path)

    test.__name__ = claim.test_name
    test.__doc__ = f"{claim.id}: {claim.statement}\n\n{claim.reasoning}"
    return test


for _claim in CLAIMS.values():
    globals()[_claim.test_name] = _make(_claim)


def test_every_inv_and_red_claim_has_a_check() -> None:
    if not CLAIMS_FILE.exists():
        pytest.skip(f"{CLAIMS_FILE} not found")
    rows = re.findall(
        r"^\| ([A-Z]+-\d+) \|.*\| ([a-z, ]+) \|$", CLAIMS_FILE.read_text(), re.MULTILINE
    )
    wanted = {cid for cid, kinds in rows if {"inv", "red"} & {k.strip() for k in kinds.split(",")}}
    assert wanted == set(CLAIMS)
