"""Every command the report prints runs as printed and agrees with the verdict beside it."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from experiments.report.__main__ import main as report_main
from experiments.report.commands import STARTUP_SECONDS, claim_commands, verdict_pattern
from invariants import replay
from invariants.results import load, merge, record, replay_command
from tests.report_helpers import AN5_CASE
from theory.verdicts import ClaimResult

ROOT = Path(__file__).resolve().parents[1]


def _an5_record() -> ClaimResult:
    counterexample = {
        "found_by": "torch",
        "case": AN5_CASE,
        "violation": ["step 2 (after the drop): |m_t| AdamNorm 0.187899 < Adam 0.375797"],
        "replay": "python -m invariants.replay AN-5",
    }
    return ClaimResult(
        "AN-5",
        "falsified",
        "counterexample in S1",
        "HYPOTHESIS_PROFILE=dev python -m invariants --claims AN-5",
        {"counterexample": counterexample},
    )


def test_a_record_kept_elsewhere_names_its_results_file_in_its_replay(tmp_path: Path) -> None:
    folder = tmp_path / "stage shard"
    record(_an5_record(), folder)
    merge(folder)
    stored = load(folder)["AN-5"].evidence["counterexample"]["replay"]
    assert stored == f"python -m invariants.replay AN-5 --results '{folder}/invariants.json'"
    assert replay_command("AN-5", Path("results")) == "python -m invariants.replay AN-5"


def test_replay_without_a_results_file_says_where_it_looked(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        replay.main(["AN-5", "--results", str(tmp_path / "missing.json")])
    assert exit_.value.code == 2
    assert "no results file" in capsys.readouterr().err


def test_replay_prints_the_steps_and_agrees_with_the_record(tmp_path: Path, capsys) -> None:
    record(_an5_record(), tmp_path)
    merge(tmp_path)
    assert replay.main(["AN-5", "--results", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "case: AdamNorm: lr = 0.001, β1 = 0.5, β2 = 0, ε = 0, γ = 0.5" in printed
    assert "plan" not in printed
    assert re.search(r"m_t AdamNorm\s+m_t Adam", printed)
    assert re.search(r"^\s+2\s+-0.1879\s+0.1879\s+0.3758 .*✗ step 2", printed, re.M)
    assert "recorded verdict falsified; the counterexample reproduces on torch" in printed


def _caveat(name: str, found_by: str) -> dict:
    stored = {**_an5_record().evidence["counterexample"], "found_by": found_by}
    stored["replay"] = replay_command("AN-5", caveat=name)
    return {"name": name, "text": f"outside S1 ({name})", "counterexample": stored,
            "replay": stored["replay"]}  # fmt: skip


def test_each_caveat_of_a_holds_record_replays_by_its_own_printed_command(
    tmp_path: Path, capsys
) -> None:
    """A ``holds`` verdict with several caveats (cases outside the claim's scope): each
    caveat's stored command names the results file and the caveat, and replays that one."""
    caveats = [_caveat("sign_flip", "torch"), _caveat("zero_gradient", "reference")]
    record(
        ClaimResult("AN-5", "holds", "no counterexample in S1", "x", {"caveats": caveats}),
        tmp_path,
    )
    merge(tmp_path)
    stored = load(tmp_path)["AN-5"].evidence["caveats"]
    results = f"--results {tmp_path}/invariants.json"
    for caveat in stored:
        command = f"python -m invariants.replay AN-5 {results} --caveat {caveat['name']}"
        assert caveat["replay"] == caveat["counterexample"]["replay"] == command
    assert replay.main(shlex.split(stored[1]["replay"])[3:]) == 0
    printed = capsys.readouterr().out
    assert (
        "recorded verdict holds; the counterexample of the caveat 'zero_gradient' reproduces "
        "on reference" in printed
    )
    assert replay.main(["AN-5", "--results", str(tmp_path)]) == 0  # no --caveat: the first
    assert "the caveat's counterexample reproduces on torch" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        replay.main(["AN-5", "--results", str(tmp_path), "--caveat", "rounding"])
    assert exit_.value.code == 2
    assert "'sign_flip', 'zero_gradient'" in capsys.readouterr().err


def test_commands_of_a_claim_row() -> None:
    entry = {
        "id": "AB-1",
        "evidence": {
            "parts": [
                {
                    "stage": "invariants",
                    "verdict": "holds",
                    "reproduce": "HYPOTHESIS_PROFILE=dev python -m invariants --claims AB-1",
                    # a holds record stores its first caveat's case as its counterexample
                    "evidence": {
                        "counterexample": {"replay": "python -m invariants.replay AB-1"},
                        "caveats": [{"replay": "python -m invariants.replay AB-1 --caveat c"}],
                    },
                },
                {
                    "stage": "training",
                    "verdict": "needs-gpu",
                    "reproduce": "python -m experiments.training --claims AB-1 --scale reduced",
                    "evidence": {"seconds": 900.0},
                },
            ],
            "caveats": [{"text": "t", "replay": "python -m invariants.replay AB-1 --caveat c"}],
            "ladder": [
                {"reproduce": "python -m x --scale reduced", "stage": "training"},
                {"reproduce": "python -m x --device cuda", "stage": "recorded"},
            ],
        },
    }
    stages = [
        {"name": "invariants", "seconds": 20.0},
        {"name": "training", "seconds": 1000.0, "shares_work": True},
    ]
    commands = claim_commands(entry, stages)
    assert [(c.kind, c.stage) for c in commands] == [
        ("reproduce", "invariants"),
        ("reproduce", "training"),
        ("replay", "invariants"),
        ("rung", "training"),
        ("rung", "recorded"),
    ]
    assert [c.fast for c in commands] == [True, False, True, False, False]
    assert commands[3].expected_seconds == 1000.0  # the rung this run's training stage ran
    assert commands[0].expected_seconds == 20.0  # the stage's time: the record has none
    assert commands[1].expected_seconds == 1000.0  # training runs are shared between claims
    entry["evidence"]["parts"][0]["evidence"]["seconds"] = 2.0
    assert claim_commands(entry, stages)[0].expected_seconds == 2.0 + STARTUP_SECONDS
    assert re.search(commands[1].expects, "AB-1 needs-gpu: reduced study")
    assert not re.search(verdict_pattern("AB-1", "holds"), "AB-1 holds-under-conditions")


def command_shape(command: dict) -> tuple:
    """What makes two printed commands different to run: their kind and stage, the program
    they start, the options they pass and whether they pass a case inline (the claim IDs,
    paths and case names do not). The quick-report test runs one command per shape."""
    tokens = shlex.split(command["command"])
    program = tuple(tokens[: tokens.index("-m") + 2]) if "-m" in tokens else tuple(tokens[:2])
    options = tuple(sorted(t.split("=")[0] for t in tokens if t.startswith("--")))
    inline = any(t.lstrip().startswith(("{", "from ")) for t in tokens)
    return command["kind"], command["stage"], program, options, inline


def test_command_shapes_tell_options_and_inline_cases_apart() -> None:
    def shape(text: str) -> tuple:
        return command_shape({"command": text, "kind": "replay", "stage": "theory"})

    assert shape("python -m theory.lemma1_numeric --case a") == shape(
        "python -m theory.lemma1_numeric --case b"
    )
    assert shape("python -m theory.lemma1_numeric --case a") != shape(
        "python -m theory.lemma1_numeric '{\"grads\": [[0.0]]}'"
    )
    plain = "python -m invariants.replay AN-1 --results r/invariants.json"
    assert shape(plain) == shape(plain.replace("AN-1", "AR-5"))
    assert shape(plain) != shape(plain + " --caveat nonzero_gradient")


def test_every_fast_command_of_a_quick_report_runs_as_printed(tmp_path: Path) -> None:
    """A quick report on a theory claim, an invariant claim with a counterexample, one that
    holds with a caveat and a claim that needs data; then of the commands it prints that
    take seconds, the quickest of each shape (:func:`command_shape`), run in a shell as
    printed (the project importable, `python` the project's interpreter), must exit 0 and
    print what agrees with the verdict beside it. The long ones are listed with their
    expected time."""
    out = tmp_path / "report"
    assert report_main(["--quick", "--claims", "AN-1,AN-6,AR-5,AR-9", "--out", str(out)]) == 0
    payload = json.loads((out / "claims.json").read_text())
    text = (out / "REPORT.md").read_text()
    env = dict(
        os.environ,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        PYTHONPATH=str(ROOT),
        HYPOTHESIS_PROFILE="dev",
    )
    quickest: dict[tuple, tuple[str, dict]] = {}  # shape -> the quickest command of it
    listed = []
    for claim in payload["claims"]:
        for command in claim["commands"]:
            assert f"\n{command['command']}\n" in text, "the report prints the command as listed"
            assert f"({command['time']})" in text
            if not command["fast"]:
                listed.append((claim["id"], command["kind"], command["time"]))
                continue
            shape = command_shape(command)
            if shape not in quickest or (
                command["expected_seconds"] < quickest[shape][1]["expected_seconds"]
            ):
                quickest[shape] = (claim["id"], command)
    chosen = list(quickest.values())

    def run(command: dict) -> subprocess.CompletedProcess:
        return subprocess.run(
            command["command"],
            shell=True,
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    with ThreadPoolExecutor(max_workers=2) as pool:  # independent commands, two cores
        results = list(pool.map(run, [command for _, command in chosen]))
    ran = []
    for (claim_id, command), result in zip(chosen, results, strict=True):
        shown = result.stdout + result.stderr
        assert result.returncode == 0, f"{command['command']}\n{shown[-3000:]}"
        assert re.search(command["expects"], shown, re.M), f"{command['command']}\n{shown}"
        ran.append((claim_id, command["kind"], command["stage"], command["command"]))
    kinds = {(kind, stage) for _, kind, stage, _ in ran}
    assert {("reproduce", "theory"), ("replay", "theory")} <= kinds
    assert {("reproduce", "invariants"), ("replay", "invariants")} <= kinds
    assert any(c.startswith("python -m theory.lemma1_numeric '{") for *_, c in ran)
    assert any(claim_id == "AN-1" and "--caveat nonzero_gradient" in c for claim_id, *_, c in ran)
    assert ("AR-9", "reproduce", "needs a CUDA device") in listed
