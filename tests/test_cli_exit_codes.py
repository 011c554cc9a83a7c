"""Every command's exit status against its documentation: 0 ok (whatever the verdicts),
1 a finding or a failure, 2 a usage error, refused before anything runs.

The 0 of ``python -m experiments.training`` is tested in tests/test_training.py, that of
``python -m experiments.regret`` in tests/test_robustness_files.py; conformance has its own.
"""

from __future__ import annotations

import pytest

from experiments.regret.__main__ import main as regret_main
from experiments.report.__main__ import main as report_main
from experiments.training.__main__ import REDUCED
from experiments.training.__main__ import main as training_main
from experiments.training.claims import STUDIES, protocol_for
from invariants.__main__ import main as invariants_main
from optimizers import agreement
from tests.embedded import subset_fingerprint
from theory.__main__ import main as theory_main

USAGE = 2


def exit_status(main, argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as stop:
        return stop.code


# A small study, so that a bad argument that slipped through would fail fast, not train
# every study first.
SMALL = ["--claims", "AN-14", "--quiet", "--seeds", "2"]
SMALL_REDUCED = [*SMALL, "--epochs", "1", "--train-subset", "100"]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (["--seeds", "1"], "--seeds: must be at least 2"),
        (["--seeds", "0"], "--seeds: must be at least 2"),
        (["--epochs", "0"], "--epochs: must be at least 1"),
        (["--epochs", "-1"], "--epochs: must be at least 1"),
        (["--epochs", "two"], "--epochs: expected an integer"),
        (["--train-subset", "0"], "--train-subset: must be at least 1"),
        (["--train-subset", "15"], "multiple of the 10 classes"),
        (["--train-subset", "10000000"], "at most the"),
        (["--jobs", "0"], "--jobs: must be at least 1"),
        (["--claims", "XX-1"], "unknown claim ID(s) XX-1 (not in CLAIMS.md)"),
        (["--claims", "AN-14,ND-4"], "no training check for ND-4"),
        (["--scale", "paper", "--epochs", "3"], "--epochs is for the others"),
        (["--scale", "shortened", "--epochs", "3", "--train-subset", "100"], "reduced only"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else "",
)
def test_training_refuses_bad_arguments_before_any_work(tmp_path, capsys, bad, message) -> None:
    runs = tmp_path / "runs"
    small = SMALL if "--scale" in bad else SMALL_REDUCED  # the later of two values wins
    argv = [*small, "--runs", str(runs), "--out", str(tmp_path / "out"), *bad]
    assert exit_status(training_main, argv) == USAGE
    assert message in capsys.readouterr().err
    assert not runs.exists() and not (tmp_path / "out").exists()


def test_training_exits_1_naming_a_damaged_run_file(tmp_path, capsys) -> None:
    scale = dict(REDUCED, epochs=1, train_subset=100)
    study = STUDIES["AN-14"]
    spec = study.arms[0].spec(protocol_for(study, scale), 0, subset_fingerprint())
    damaged = tmp_path / "runs" / spec.key / "history.json"
    damaged.parent.mkdir(parents=True)
    damaged.write_text('{"run": "adanorm", "hist')
    argv = [*SMALL_REDUCED, "--runs", str(tmp_path / "runs"), "--out", str(tmp_path)]
    assert exit_status(training_main, argv) == 1
    assert str(damaged) in capsys.readouterr().err


@pytest.mark.parametrize(
    "bad",
    [
        ["--horizon", "5"],
        ["--horizon", "x"],
        ["--instances", "0"],
        ["--first-seed", "-1"],
        ["--claims", "XX-1"],
        ["--problems", "nope"],
        ["--quick", "--full"],
    ],
    ids=" ".join,
)
def test_regret_usage_errors_exit_2(tmp_path, bad) -> None:
    assert exit_status(regret_main, [*bad, "--out", str(tmp_path), "--quiet"]) == USAGE
    assert not (tmp_path / "regret").exists()


@pytest.mark.parametrize(
    "bad", [["--claims", "XX-99"], ["--quick", "--full"], ["--bogus"]], ids=" ".join
)
def test_report_usage_errors_exit_2(tmp_path, bad) -> None:
    assert exit_status(report_main, [*bad, "--out", str(tmp_path / "report")]) == USAGE
    assert not (tmp_path / "report").exists()


@pytest.mark.parametrize("bad", [["--claims", "XX-1"], ["--profile", "bogus"]], ids=" ".join)
def test_invariants_usage_errors_exit_2(tmp_path, bad) -> None:
    assert exit_status(invariants_main, [*bad, "--out", str(tmp_path)]) == USAGE


@pytest.mark.parametrize("bad", [["--claims", "XX-1"], ["--examples", "0"]], ids=" ".join)
def test_theory_usage_errors_exit_2(tmp_path, bad) -> None:
    assert exit_status(theory_main, [*bad, "--out", str(tmp_path)]) == USAGE
    assert not list(tmp_path.iterdir())


def test_report_refuses_an_out_that_is_a_file(tmp_path) -> None:
    taken = tmp_path / "taken"
    taken.write_text("not a folder")
    for out in (taken, taken / "report"):
        assert exit_status(report_main, ["--out", str(out)]) == USAGE
    assert taken.read_text() == "not a folder"


def test_agreement_exits_0_1_2_as_documented(monkeypatch) -> None:
    assert exit_status(agreement.main, ["--only", "Nope"]) == USAGE
    for bad in (["--seeds", "0"], ["--steps", "0"], ["--steps", "many"]):
        assert exit_status(agreement.main, bad) == USAGE
    tiny = ["--only", "Adam,AdamNorm", "--steps", "3", "--seeds", "1"]
    assert exit_status(agreement.main, tiny) == 0
    monkeypatch.setattr(agreement, "FLOAT64_TOLERANCE", -1.0)  # every optimizer now "diverges"
    assert exit_status(agreement.main, tiny) == 1
