"""The conformance checker: a clean bill for correct implementations, and every
deliberately broken variant caught with the right explanation."""

from __future__ import annotations

import json

import pytest
import torch

from invariants.conformance import (
    CONFORMS,
    CONFORMS_UNDER_OPEN_CHOICES,
    DOES_NOT_CONFORM,
    Target,
    TargetError,
    check_conformance,
)
from invariants.conformance.__main__ import main
from invariants.conformance.checks import CHECKS, FAIL, OPEN
from invariants.conformance.target import parse_kwargs
from optimizers.registry import REGISTRY
from tests import conformance_subjects as subjects


def _report(factory, method, shrink=False, **kwargs):
    return check_conformance(Target(factory, method, kwargs), steps=30, shrink=shrink)


def _explanations(report):
    return {e.key for r in report.results if r.status == FAIL for e in r.explained_by}


@pytest.mark.parametrize("name", list(REGISTRY))
def test_the_suites_own_optimizers_conform(name):
    report = _report(REGISTRY[name].torch_class, name)
    assert report.verdict == CONFORMS, [r.summary for r in report.failures]


@pytest.mark.parametrize(
    ("factory", "method"),
    [
        (subjects.TextbookAdam, "Adam"),
        (subjects.TextbookAdamNorm, "AdamNorm"),
        (subjects.TextbookDiffGrad, "DiffGrad"),
        (torch.optim.Adam, "Adam"),
        (torch.optim.AdamW, "AdamW"),
    ],
)
def test_independent_correct_implementations_conform(factory, method):
    report = _report(factory, method)
    assert report.verdict == CONFORMS, [r.summary for r in report.failures]


@pytest.mark.parametrize(
    ("factory", "method", "explanation", "failing_check"),
    [
        (subjects.NotInPlaceAdam, "Adam", "parameters-never-change", "differential/float64"),
        (subjects.NoBiasCorrectionAdam, "Adam", "no-bias-correction", "differential/float64"),
        (
            subjects.EpsUnderRootAdam,
            "Adam",
            "eps-under-root",
            "differential/float64/tiny-gradients",
        ),
        (subjects.NeverFiringAdamNorm, "AdamNorm", "method=Adam", "differential/float64"),
        (
            subjects.AliasingDiffGrad,
            "DiffGrad",
            "state-aliases-gradient",
            "edge/gradient-buffer-reused-in-place",
        ),
    ],
)
def test_broken_variants_are_caught_with_the_right_explanation(
    factory, method, explanation, failing_check
):
    report = _report(factory, method)
    assert report.verdict == DOES_NOT_CONFORM
    by_name = {r.name: r for r in report.results}
    assert by_name[failing_check].status == FAIL
    assert explanation in {e.key for e in by_name[failing_check].explained_by}
    # The first explanation is the one the summary gives.
    assert by_name[failing_check].explained_by[0].key == explanation


def test_a_gradient_changed_in_place_is_caught_and_nothing_else_fails():
    report = _report(subjects.GradientMutatingAdam, "Adam")
    assert {r.name for r in report.failures} == {"edge/gradient-left-unchanged"}


def test_ignored_weight_decay_is_named():
    report = _report(subjects.DecayIgnoringAdam, "Adam")
    by_name = {r.name: r for r in report.failures}
    # The param groups give one group weight decay: ignoring it shows there too.
    assert set(by_name) == {
        "differential/float64/weight-decay",
        "differential/float64/param-groups",
    }
    keys = [e.key for e in by_name["differential/float64/weight-decay"].explained_by]
    assert keys[0] == "weight-decay-ignored"


def test_aliasing_names_the_state_entry_and_nothing_else_fails():
    report = _report(subjects.AliasingDiffGrad, "DiffGrad")
    failing = {r.name: r for r in report.failures}
    assert set(failing) == {"edge/gradient-buffer-reused-in-place"}
    assert "state['previous_grad']" in failing["edge/gradient-buffer-reused-in-place"].summary


def test_lost_state_is_caught_by_the_round_trip_only():
    report = _report(subjects.LostStateAdam, "Adam")
    assert {r.name for r in report.failures} == {"edge/state-dict-round-trip"}


@pytest.mark.parametrize(
    ("method", "kwargs", "choice"),
    [
        ("AdamNorm", {"norm_scope": "global"}, "norm_scope=global"),
        ("AdaBelief", {"eps_mode": "outside"}, "eps_mode=outside"),
        ("AdamNorm", {"corrected_moments": "both"}, "corrected_moments=both"),
        # Decay only in one param group: the open choice is still recognised.
        ("Adam", {"decoupled_weight_decay": True}, "decoupled_weight_decay=True"),
    ],
)
def test_a_documented_open_choice_is_reported_as_such(method, kwargs, choice):
    report = _report(REGISTRY[method].torch_class, method, **kwargs)
    assert report.verdict == CONFORMS_UNDER_OPEN_CHOICES
    opens = {e.key for r in report.results if r.status == OPEN for e in r.explained_by}
    assert choice in opens
    assert not report.failures


def test_an_undocumented_eps_placement_is_a_mistake_not_an_open_choice():
    report = _report(REGISTRY["Adam"].torch_class, "Adam", eps_mode="inside")
    assert report.verdict == DOES_NOT_CONFORM
    assert "eps_mode=inside" in _explanations(report)


def test_shrinking_finds_a_short_sequence_that_still_diverges():
    report = _report(subjects.NeverFiringAdamNorm, "AdamNorm", shrink=True)
    minimal = report.minimal
    assert minimal is not None and minimal["divergence"] is not None
    # The correction needs a history and a drop in the norm: two steps suffice.
    assert len(minimal["gradients"]) <= 3
    assert minimal["divergence"]["step"] == len(minimal["gradients"])


def test_cli_writes_the_report_and_exits_by_verdict(tmp_path):
    good = main(
        ["torch.optim:Adam", "--method", "Adam", "--steps", "30", "--out", str(tmp_path / "a")]
    )
    assert good == 0
    document = json.loads((tmp_path / "a" / "conformance.json").read_text())
    record = document["targets"][0]
    assert record["verdict"] == CONFORMS
    assert {c["name"] for c in record["checks"]} == {c.name for c in CHECKS}
    assert record["reproduce"].startswith("python -m invariants.conformance torch.optim:Adam")

    bad = main(
        [
            "tests.conformance_subjects:NoBiasCorrectionAdam",
            "--method",
            "Adam",
            "--steps",
            "30",
            "--only",
            "differential/float64",
            "--out",
            str(tmp_path / "b"),
        ]
    )
    assert bad == 1
    markdown = (tmp_path / "b" / "CONFORMANCE.md").read_text()
    assert "no-bias-correction" in markdown and "Smallest gradient sequence" in markdown
    assert list((tmp_path / "b").glob("*.png"))


def test_cli_reads_a_targets_file(tmp_path):
    targets = tmp_path / "targets.json"
    targets.write_text(
        json.dumps(
            [
                {
                    "target": "torch.optim:AdamW",
                    "method": "AdamW",
                    "kwargs": {"weight_decay": 0.05},
                },
                {
                    "target": "optimizers:AdamNorm",
                    "method": "AdamNorm",
                    "kwargs": {"gamma": 0.9},
                    "reference_kwargs": {"gamma": 0.9},
                },
            ]
        )
    )
    only = ["--only", "differential/float64,edge", "--out", str(tmp_path / "out")]
    assert main(["--targets", str(targets), "--steps", "30", *only]) == 0
    # gamma is not a name torch fixed, so without reference_kwargs the reference keeps
    # its own default (0.95) and the difference shows.
    targets.write_text(
        json.dumps(
            [{"target": "optimizers:AdamNorm", "method": "AdamNorm", "kwargs": {"gamma": 0.9}}]
        )
    )
    assert main(["--targets", str(targets), "--steps", "30", "--no-shrink", *only]) == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["nowhere.module:Adam", "--method", "Adam"],
        ["torch.optim:NoSuchClass", "--method", "Adam"],
        ["torch.optim:Adam", "--method", "Adam", "--kwargs", "lr=-1"],
    ],
)
def test_cli_bad_targets_exit_2_with_a_message(argv, tmp_path, capsys):
    assert main([*argv, "--out", str(tmp_path)]) == 2
    assert "error:" in capsys.readouterr().err


def test_reference_kwargs_the_reference_does_not_take_are_refused():
    target = Target(torch.optim.Adam, "Adam", {}, {"adanorm": True})
    with pytest.raises(TargetError, match="takes no argument"):
        target.reference_arguments()


def test_parse_kwargs_forms():
    assert parse_kwargs('{"betas": [0.9, 0.99]}') == {"betas": (0.9, 0.99)}
    assert parse_kwargs("lr=0.01,betas=(0.9, 0.99),eps_mode=inside") == {
        "lr": 0.01,
        "betas": (0.9, 0.99),
        "eps_mode": "inside",
    }
    with pytest.raises(TargetError):
        parse_kwargs("=3")


def test_the_third_party_survey_file_names_known_methods_and_pins():
    from pathlib import Path

    entries = json.loads(
        (Path(__file__).parents[1] / "invariants/conformance/third_party.json").read_text()
    )
    assert entries
    for entry in entries:
        assert entry["method"] in REGISTRY
        assert ":" in entry["target"]
        assert entry["pip"] == "" or "==" in entry["pip"]


@pytest.mark.parametrize(
    "entry",
    [
        {"target": 3, "method": "Adam"},
        {"target": "torch.optim:Adam", "method": ["Adam"]},
        {"target": "torch.optim:Adam", "method": "Adam", "kwargs": [1]},
    ],
)
def test_cli_a_malformed_targets_entry_is_a_usage_error(entry, tmp_path, capsys):
    targets = tmp_path / "targets.json"
    targets.write_text(json.dumps([entry]))
    assert main(["--targets", str(targets), "--out", str(tmp_path / "out")]) == 2
    assert "entry 0" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("below", ["", "sub"])
def test_cli_out_on_a_file_is_refused_before_any_check(below, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("keep me")
    out = blocker / below if below else blocker
    with pytest.raises(SystemExit) as raised:
        main(["torch.optim:Adam", "--method", "Adam", "--out", str(out)])
    assert raised.value.code == 2
    assert "not a directory" in capsys.readouterr().err
    assert blocker.read_text() == "keep me"


def test_identical_nan_runs_do_not_diverge():
    import numpy as np

    from optimizers.harness import first_divergence

    run = [[np.array([np.nan, 1.0, np.inf])]]
    assert first_divergence(run, [[a.copy() for a in step] for step in run], 0.0) is None
    assert first_divergence(run, [[np.array([0.0, 1.0, np.inf])]], 0.0) is not None


def _one_check(factory, method, name):
    checks = [c for c in CHECKS if c.name == name]
    report = check_conformance(Target(factory, method), steps=30, shrink=False, checks=checks)
    return report.results[0]


def test_the_round_trip_names_a_missing_key_and_a_dtype_cast():
    from tests import conformance_mutants as mutants

    missing = _one_check(mutants.UnsavedSecondMomentAdam, "Adam", "edge/state-dict-round-trip")
    assert missing.status == FAIL
    assert "state['exp_avg_sq'] is not in state_dict()" in missing.summary
    cast = _one_check(mutants.Float32StateAdam, "Adam", "edge/state-dict-round-trip")
    assert "load_state_dict cast state['exp_avg'] from torch.float32 to torch.float64" in (
        cast.summary
    )


def test_a_match_gives_its_evidence_and_the_paper_line():
    from tests import conformance_mutants as mutants

    result = _one_check(mutants.EpsAccumulatedAdam, "Adam", "differential/float64")
    assert result.status == FAIL
    assert "matches the reference with ε added to v in place every step" in result.summary
    assert "over 30 steps" in result.summary and "the paper has" in result.summary


class _TwoMistakesAdam(subjects.TextbookAdam):
    """No first bias correction and ε under the root: only a pair explains it."""

    def bias_corrections(self, beta1, beta2, t):
        return 1.0, 1 - beta2**t

    def denominator(self, v_hat, eps):
        return (v_hat + eps).sqrt()


class _UnknownMistakeAdam(subjects.TextbookAdam):
    """A step 1.5 times too long: nothing in the catalogue does that."""

    def apply(self, p, update):
        p.sub_(1.5 * update)


def test_two_mistakes_are_named_as_a_pair():
    result = _one_check(_TwoMistakesAdam, "Adam", "differential/float64/tiny-gradients")
    assert result.status == FAIL
    keys = {e.key for e in result.explained_by}
    assert keys & {
        "no-first-bias-correction + eps-under-root",
        "eps-under-root + no-first-bias-correction",
    }


def test_when_nothing_matches_the_closest_candidates_are_given():
    result = _one_check(_UnknownMistakeAdam, "Adam", "differential/float64")
    assert result.status == FAIL and not result.explained_by
    assert "no single mutation of the catalogue or pair of them matches; closest:" in (
        result.summary
    )


def _shrunk(factory, method, names):
    checks = [c for c in CHECKS if c.name in names]
    target = Target(factory, method)
    return check_conformance(target, steps=30, checks=checks, shrink_seconds=3.0)


def test_a_failure_outside_the_plain_comparison_gets_its_own_minimal_sequence(tmp_path):
    from invariants.conformance import write_reports
    from tests import conformance_mutants as mutants

    report = _shrunk(
        mutants.DecayFromDefaultsAdam,
        "Adam",
        ("differential/float64", "differential/float64/param-groups"),
    )
    (failure,) = report.failures
    assert failure.name == "differential/float64/param-groups"
    minimal = failure.minimal
    assert minimal["found_by"] == failure.name and minimal["cause"] == "weight-decay-from-defaults"
    # Shrunk in the check's own setting: two groups, the first with weight decay.
    assert [g["options"].get("weight_decay") for g in minimal["groups"]] == [0.1, 0.0]
    assert 1 <= len(minimal["gradients"]) <= 2
    assert minimal["divergence"]["step"] <= len(minimal["gradients"])
    assert minimal["divergence"]["target"] != minimal["divergence"]["reference"]
    write_reports([report], tmp_path)
    record = json.loads((tmp_path / "conformance.json").read_text())["targets"][0]
    (shown,) = [c for c in record["checks"] if c["name"] == failure.name]
    assert shown["minimal_counterexample"]["gradients"] == minimal["gradients"]
    text = (tmp_path / "CONFORMANCE.md").read_text()
    assert "Smallest gradient sequence found that shows it:" in text
    assert "param group of tensor(s) [0] with `{'weight_decay': 0.1}`" in text


def test_failures_with_one_cause_share_one_shrink(monkeypatch):
    from invariants.conformance import runner

    calls = []

    def counting(*args, **kwargs):
        calls.append(args[1])
        return shrink_divergence(*args, **kwargs)

    shrink_divergence = runner.shrink_divergence
    monkeypatch.setattr(runner, "shrink_divergence", counting)
    report = _shrunk(
        subjects.NoBiasCorrectionAdam,
        "Adam",
        ("differential/float64", "differential/float64/large-gradients"),
    )
    assert [r.name for r in report.failures] == [
        "differential/float64",
        "differential/float64/large-gradients",
    ]
    assert {r.explained_by[0].key for r in report.failures} == {"no-bias-correction"}
    assert len(calls) == 1
    first, second = (r.minimal for r in report.failures)
    assert first is second and first["found_by"] == "differential/float64"
    assert first["divergence"] is not None


def test_the_shrink_stops_at_its_time_budget():
    import time

    from invariants.conformance.shrink import smallest

    assert smallest(lambda scenario: True, seconds=0.0) is None

    def slow(scenario):
        time.sleep(0.02)
        return True

    started = time.perf_counter()
    found = smallest(slow, seconds=0.3)
    assert found is not None and time.perf_counter() - started < 2.0


@pytest.mark.parametrize("seconds", ["0", "-1", "nan"])
def test_cli_refuses_a_shrink_budget_that_is_not_positive(seconds, tmp_path, capsys):
    with pytest.raises(SystemExit) as raised:
        main(["torch.optim:Adam", "--method", "Adam", "--shrink-seconds", seconds,
              "--out", str(tmp_path / "out")])  # fmt: skip
    assert raised.value.code == 2
    assert "--shrink-seconds must be positive" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
