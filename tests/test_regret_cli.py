"""A tiny end-to-end run of ``python -m experiments.regret``: verdict records, plots, reuse."""

from __future__ import annotations

import json

import pytest

from experiments.regret import __main__ as cli
from theory.verdicts import read_results


def test_cli_smoke(tmp_path, monkeypatch) -> None:
    out = tmp_path / "res"
    argv = [
        "--problems",
        "reddi-periodic,quadratic-drift",
        "--horizon",
        "400",
        "--instances",
        "2",
        "--out",
        str(out),
        "--quiet",
    ]
    assert cli.main(argv) == 0
    results = {r.claim_id: r for r in read_results(out / "regret.json")}
    assert set(results) == {"AN-7", "AN-8", "AR-7"}
    for r in results.values():
        assert r.reproduce.startswith("python -m experiments.regret")
        assert set(r.evidence["problems_covered"]) == {"reddi-periodic", "quadratic-drift"}
    for key in ("reddi-periodic", "quadratic-drift"):
        for kind in ("regret", "iterates"):
            assert (out / "regret" / "custom" / f"{key}_{kind}.png").stat().st_size > 1000
        summary = json.loads((out / "regret" / "custom" / f"{key}.json").read_text())["summary"]
        assert summary["T"] == 400 and len(summary["arms"]) == 7
        control = next(a for a in summary["arms"] if a["label"] == "OGD")
        assert control["bounds"]["zinkevich"]["respected"]

    # a rerun with the same configuration reuses the stored results instead of running
    def boom(*args, **kwargs):
        raise AssertionError("should have reused the stored result")

    monkeypatch.setattr(cli, "run_problem", boom)
    assert cli.main([*argv, "--claims", "AN-8"]) == 0
    assert [r.claim_id for r in read_results(out / "regret.json")] == ["AN-8"]
    with pytest.raises(AssertionError):
        cli.main([*argv, "--fresh"])


def test_cli_rejects_unknown_names(capsys) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--claims", "XX-1"])
    with pytest.raises(SystemExit):
        cli.main(["--problems", "nope"])
