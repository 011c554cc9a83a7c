"""``python -m theory`` and the records it writes (theory.__main__, theory.checks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from theory.__main__ import main
from theory.catalogue import load_claims
from theory.checks import CHECKS
from theory.verdicts import VERDICTS, read_results

THY_CLAIMS = {c.id for c in load_claims() if "thy" in c.kinds}


def test_registry_covers_every_thy_claim() -> None:
    assert set(CHECKS) == THY_CLAIMS


def test_cli_subset_writes_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--claims", "RA-1,AI-3,AR-6", "--out", str(tmp_path), "--examples", "20"]) == 0
    records = read_results(tmp_path / "theory.json")
    assert [r.claim_id for r in records] == ["RA-1", "AI-3", "AR-6"]
    assert all(r.verdict in VERDICTS for r in records)
    assert records[0].reproduce == "python -m theory --claims RA-1"
    assert records[0].verdict == "holds"
    # The orthogonal pair leaves the angle undefined: a caveat beside 'holds', not a condition.
    assert records[1].verdict == "holds" and "conditions" not in records[1].evidence
    assert records[1].evidence["caveats"][0]["replay"] == "python -m theory --claims AI-3"
    out = capsys.readouterr().out
    assert "RA-1" in out and "wrote" in out


def test_falsified_claims_carry_counterexamples(tmp_path: Path) -> None:
    assert main(["--claims", "AN-6,AN-7", "--out", str(tmp_path), "--examples", "20"]) == 0
    records = {r.claim_id: r for r in read_results(tmp_path / "theory.json")}
    for cid in ("AN-6", "AN-7"):
        assert records[cid].verdict == "falsified"
        assert "counterexample" in records[cid].evidence
        assert "replay" in records[cid].evidence
    assert records["AN-6"].evidence["counterexample"]["grads"] == [[1e-4]]


def test_unknown_claim_rejected(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(["--claims", "XX-1", "--out", str(tmp_path)])
