"""The public conformance API (invariants.conformance.__all__): its names are pinned,
and a maintainer's run works through those names alone."""

from __future__ import annotations

import pytest
import torch

import invariants.conformance as conformance
from invariants.conformance.__main__ import main

PUBLIC = set(
    "CHECK_NAMES CONFORMS CONFORMS_UNDER_OPEN_CHOICES DOES_NOT_CONFORM EXIT_CODES FAIL "
    "NOT_APPLICABLE OPEN PASS Cause CheckResult ConformanceReport Divergence Target "
    "TargetError check_conformance exit_code select_checks write_reports".split()
)
"""Pinned here as data, apart from the module's ``__all__``: a name added to or dropped from
the public API must be a deliberate change of both."""
SUBJECT = "tests.conformance_subjects:NoBiasCorrectionAdam"
FAST = {"only": "differential/float64/weight-decay", "steps": 30, "shrink": False}


def test_the_public_names_are_pinned_and_documented():
    assert set(conformance.__all__) == PUBLIC
    for name in PUBLIC:
        value = getattr(conformance, name)
        if callable(value):
            assert value.__doc__, name


def test_torch_adam_conforms_through_the_public_api():
    report = conformance.check_conformance(torch.optim.Adam, method="Adam", **FAST)
    assert isinstance(report, conformance.ConformanceReport)
    assert report.verdict == conformance.CONFORMS
    assert {r.status for r in report.results} <= {conformance.PASS, conformance.NOT_APPLICABLE}
    assert [r.name for r in report.results] == [FAST["only"]]
    assert conformance.exit_code([report]) == 0


def test_a_broken_subject_is_caught_with_its_cause_through_the_public_api(tmp_path):
    report = conformance.check_conformance(SUBJECT, method="Adam", **FAST)
    assert report.verdict == conformance.DOES_NOT_CONFORM
    (failure,) = report.results
    assert isinstance(failure, conformance.CheckResult) and failure.status == conformance.FAIL
    cause = failure.explained_by[0]
    assert isinstance(cause, conformance.Cause) and cause.key == "no-bias-correction"
    assert isinstance(failure.divergence, conformance.Divergence)
    assert conformance.exit_code([report]) == 1
    written = conformance.write_reports([report], tmp_path)
    assert (tmp_path / "conformance.json") in written


@pytest.mark.parametrize("expected", [0, 1])
def test_exit_code_is_the_command_lines(tmp_path, expected):
    spec = "torch.optim:Adam" if expected == 0 else SUBJECT
    arguments = [spec, "--method", "Adam", "--steps", "30", "--no-shrink"]
    status = main([*arguments, "--only", FAST["only"], "--out", str(tmp_path)])
    report = conformance.check_conformance(spec, method="Adam", **FAST)
    assert status == conformance.exit_code([report]) == expected
    assert set(conformance.EXIT_CODES) == {0, 1, 2}


def test_bad_input_is_refused_clearly():
    with pytest.raises(conformance.TargetError, match="method is required"):
        conformance.check_conformance(torch.optim.Adam)
    with pytest.raises(conformance.TargetError, match="unknown method"):
        conformance.check_conformance(torch.optim.Adam, method="Adamm")
    with pytest.raises(ValueError, match="selects no check"):
        conformance.select_checks("no-such-check")
    target = conformance.Target(torch.optim.Adam, "Adam")
    with pytest.raises(TypeError, match="in the Target"):
        conformance.check_conformance(target, method="Adam")


def test_select_checks_takes_prefixes_in_either_form():
    by_string = conformance.select_checks("edge, property")
    by_list = conformance.select_checks(["edge", "property"])
    assert by_string == by_list
    assert {c.name.split("/")[0] for c in by_string} == {"edge", "property"}
    assert len(conformance.select_checks(None)) == len(conformance.CHECK_NAMES)
