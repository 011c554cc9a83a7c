"""How the search weighs a claim's conditions: material, caveat, stated.

Toy claims on one scalar gradient x ∈ [-3, 3] make the rule visible: a counterexample
that needs a case the paper leaves undefined (x = 0 here) is a caveat beside ``holds``;
one that a material condition removes (x < 0) makes ``holds-under-conditions``; a
condition written in the claim is imposed everywhere and never becomes a condition.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st

from invariants.cases import Case
from invariants.claim import (
    CAVEAT,
    CONDITIONAL,
    HOLDS,
    MATERIAL,
    STATED,
    Claim,
    Condition,
    Violation,
)
from invariants.search import check_claim
from theory import profiles

NONZERO = Condition("nonzero", "x ≠ 0 (the statement divides by |x|)", kind=CAVEAT)
NONNEGATIVE = Condition("nonnegative", "x ≥ 0", kind=MATERIAL, in_practice="every ordinary run")


def _strategy(imposed: frozenset[str]) -> st.SearchStrategy[Case]:
    low = 0 if "nonnegative" in imposed else -3
    values = st.integers(low, 3)
    if "nonzero" in imposed:
        values = values.filter(lambda x: x != 0)
    return values.map(lambda x: Case("Adam", (np.zeros(1),), ((np.array([float(x)]),),), {}, {}))


def _check(implementation: str, case: Case) -> list[Violation]:
    x = float(case.grads[0][0][0])
    out = []
    if x == 0:
        out.append(Violation("x = 0", excused_by=frozenset({"nonzero"})))
    if x < 0:
        out.append(Violation("x < 0", excused_by=frozenset({"nonnegative"})))
    return out


def _claim(*conditions: Condition) -> Claim:
    return Claim("T-1", "toy", "x > 0", "test", "toy", _strategy, _check, conditions)


def test_a_counterexample_needing_an_undefined_case_is_a_caveat_on_holds() -> None:
    stated = Condition("nonnegative", "x ≥ 0", kind=STATED)
    result = check_claim(_claim(NONZERO, stated), profiles.active_name()).result
    assert result.verdict == HOLDS, result.summary
    assert "caveat" in result.summary and "conditions" not in result.evidence
    (caveat,) = result.evidence["caveats"]
    assert (
        caveat["name"] == "nonzero"
        and caveat["replay"] == "python -m invariants.replay T-1 --caveat nonzero"
    )
    assert caveat["counterexample"]["case"]["grads"][0][0]["values"] == [0.0]
    # the stored counterexample is the caveat's, so the replay command shows it
    assert result.evidence["counterexample"]["violation"] == ["x = 0"]
    assert result.evidence["stated_conditions"] == ["x ≥ 0"]


def test_a_material_condition_makes_the_verdict_conditional_and_caveats_stay_listed() -> None:
    result = check_claim(_claim(NONZERO, NONNEGATIVE), profiles.active_name()).result
    assert result.verdict == CONDITIONAL
    assert [c["name"] for c in result.evidence["conditions"]] == ["nonnegative"]
    assert result.evidence["conditions"][0]["in_practice"] == "every ordinary run"
    assert [c["name"] for c in result.evidence["caveats"]] == ["nonzero"]


def test_without_conditions_the_same_counterexample_falsifies() -> None:
    assert check_claim(_claim(), profiles.active_name()).result.verdict == "falsified"


def test_a_material_condition_says_where_it_is_met() -> None:
    with pytest.raises(ValueError, match="in practice"):
        Condition("nonnegative", "x ≥ 0")
    with pytest.raises(ValueError, match="kind"):
        Condition("nonnegative", "x ≥ 0", kind="minor")
