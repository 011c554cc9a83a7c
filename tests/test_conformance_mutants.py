"""The conformance checker against mutants of its own catalogue's operators.

Every mutant (``tests/conformance_mutants.py``: plain torch optimizers, each with one
mistake, written apart from the catalogue) must be caught and its cause named; the
correct textbook versions and the documented open choices must pass. Each mutant runs
only the checks that should see it, through the public ``check_conformance``.
"""

from __future__ import annotations

import pytest

from invariants.conformance import (
    CONFORMS,
    CONFORMS_UNDER_OPEN_CHOICES,
    DOES_NOT_CONFORM,
    Target,
    check_conformance,
)
from invariants.conformance.checks import CHECKS, FAIL, OPEN
from tests.conformance_mutants import CORRECT, MUTANTS, OPEN_CHOICES, Mutant


def _run(mutant: Mutant):
    checks = [c for c in CHECKS if c.name in mutant.checks]
    assert len(checks) == len(mutant.checks), mutant.checks
    target = Target(mutant.factory, mutant.method, dict(mutant.kwargs))
    return check_conformance(target, steps=30, shrink=False, checks=checks)


def _first_causes(report, status):
    return [r.explained_by[0].key for r in report.results if r.status == status and r.explained_by]


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.factory.__name__)
def test_every_mutant_is_caught_and_its_cause_named(mutant):
    report = _run(mutant)
    assert report.verdict == DOES_NOT_CONFORM
    causes = _first_causes(report, FAIL)
    assert causes and set(causes) <= set(mutant.causes), [r.summary for r in report.failures]
    failing = report.failures[0]
    # What a maintainer acts on: where it parts (for trajectories), and what the paper says.
    assert failing.explained_by[0].contradicts or failing.explained_by[0].kind == "other-method"
    if failing.divergence is not None:
        assert f"parts at step {failing.divergence.step}" in failing.summary


@pytest.mark.parametrize("mutant", OPEN_CHOICES, ids=lambda m: m.factory.__name__)
def test_documented_open_choices_pass(mutant):
    report = _run(mutant)
    assert report.verdict in (CONFORMS, CONFORMS_UNDER_OPEN_CHOICES)
    if report.verdict == CONFORMS_UNDER_OPEN_CHOICES:
        assert set(_first_causes(report, OPEN)) <= set(mutant.causes)


@pytest.mark.parametrize(("factory", "method"), CORRECT, ids=lambda x: getattr(x, "__name__", x))
def test_correct_textbook_versions_conform(factory, method):
    report = check_conformance(Target(factory, method), steps=30, shrink=False)
    assert report.verdict == CONFORMS, [r.summary for r in report.failures]
