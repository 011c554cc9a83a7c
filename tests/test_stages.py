"""The stage protocol (theory.stage_protocol): every stage's claims come from the catalogue,
its ``--claims`` option is parsed one way, and its commands are built in one place."""

from __future__ import annotations

import argparse
import ast
import re
import shlex
from pathlib import Path

import pytest

from experiments.report.stages import STAGES
from theory.catalogue import load_claims
from theory.stage_protocol import MODES, Stage

ROOT = Path(__file__).resolve().parents[1]
CLAIM_ID = re.compile(r"^[A-Z]{2,3}-\d+$")


@pytest.mark.parametrize("stage", STAGES, ids=lambda s: s.name)
def test_a_stage_checks_only_claims_of_its_kinds(stage: Stage) -> None:
    """A check registered for a claim of another kind, or for no claim at all, would be run
    by nobody: the registry must lie inside the catalogue's claims of the stage's kinds."""
    of_its_kinds = [c.id for c in load_claims() if set(stage.kinds) & set(c.kinds)]
    assert set(stage.checks()) <= set(of_its_kinds)
    assert stage.claims() == [c for c in of_its_kinds if c in stage.checks()]


def test_the_stages_names_and_modules_are_distinct() -> None:
    assert len({s.name for s in STAGES}) == len({s.module for s in STAGES}) == len(STAGES)


def test_no_list_of_claim_ids_is_kept_outside_the_catalogue() -> None:
    """A list, tuple or set literal of two or more claim IDs in the packages is a claim list
    kept by hand (a registry maps each ID to its check instead)."""
    found = []
    for layer in ("optimizers", "theory", "invariants", "experiments"):
        for path in sorted((ROOT / layer).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.List | ast.Tuple | ast.Set):
                    ids = [
                        e.value
                        for e in node.elts
                        if isinstance(e, ast.Constant)
                        and isinstance(e.value, str)
                        and CLAIM_ID.match(e.value)
                    ]
                    if len(ids) >= 2:
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno} {ids}")
    assert not found, "\n".join(found)


def _stage(name: str) -> Stage:
    return next(s for s in STAGES if s.name == name)


def test_claims_option_keeps_the_order_given_and_defaults_to_all() -> None:
    theory = _stage("theory")
    assert theory.select("") == theory.claims()
    assert theory.select(" AI-3, RA-1,AI-3 ") == ["AI-3", "RA-1"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("XX-1", "unknown claim ID(s) XX-1 (not in CLAIMS.md)"),
        ("RA-1,AN-1", "no theory check for AN-1"),
    ],
)
def test_claims_option_refuses_a_claim_the_stage_does_not_check(
    text: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    theory = _stage("theory")
    parser = argparse.ArgumentParser(prog="probe")
    with pytest.raises(SystemExit) as stop:
        theory.parse_claims(parser, text)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert message in err and ", ".join(theory.claims()) in err


@pytest.mark.parametrize("stage", STAGES, ids=lambda s: s.name)
def test_the_printed_command_and_the_run_command_are_one_command(stage: Stage) -> None:
    claims = stage.claims()[:2]
    printed = shlex.split(stage.command(claims, "--out", "a folder/x"))
    assert printed[:3] == ["python", "-m", stage.module]
    assert printed[3:] == stage.argv(claims, "--out", "a folder/x")[3:]
    assert printed[3:5] == ["--claims", ",".join(claims)]


def test_a_command_sets_its_environment_in_front() -> None:
    command = _stage("invariants").command(["AN-1"], env={"HYPOTHESIS_PROFILE": "dev"})
    assert command == "HYPOTHESIS_PROFILE=dev python -m invariants --claims AN-1"


def test_run_commands_follow_the_budget_of_the_mode(tmp_path: Path) -> None:
    theory = _stage("theory")
    for mode in MODES:
        (command,) = theory.run_commands(mode, ["RA-1"], tmp_path, gpu=True)
        options = command[command.index("--claims") + 2 :]
        assert options == [*theory.budgets[mode], "--out", str(tmp_path)]


def test_a_sharded_stage_runs_every_claim_once_into_its_own_folders(tmp_path: Path) -> None:
    invariants = _stage("invariants")
    claims = invariants.claims()
    commands = invariants.run_commands("quick", claims, tmp_path, gpu=False)
    ran = [c for command in commands for c in command[command.index("--claims") + 1].split(",")]
    assert sorted(ran) == sorted(claims)
    folders = [command[command.index("--out") + 1] for command in commands]
    assert len(set(folders)) == len(commands)
    assert all(Path(f).parent == tmp_path for f in folders)


def test_gpu_adds_the_papers_protocols_only_where_a_stage_has_them(tmp_path: Path) -> None:
    training = _stage("training")
    plain = training.run_commands("quick", ["AN-14"], tmp_path, gpu=False)
    with_gpu = training.run_commands("quick", ["AN-14"], tmp_path, gpu=True)
    assert with_gpu[: len(plain)] == plain and len(with_gpu) == len(plain) + 1
    assert ["--device", "cuda"] == with_gpu[-1][with_gpu[-1].index("--device") :][:2]
    assert _stage("regret").run_commands("full", ["AN-7"], tmp_path, gpu=True) == (
        _stage("regret").run_commands("full", ["AN-7"], tmp_path, gpu=False)
    )


def test_a_budget_must_name_every_mode() -> None:
    with pytest.raises(ValueError, match="budgets must name the modes"):
        Stage("x", ("thy",), "theory.checks:CHECKS", "x", {"quick": ()})
