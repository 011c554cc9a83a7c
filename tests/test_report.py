"""The verification report: claim list, coverage, merging, outputs and rendering."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from experiments.report.merge import PRECEDENCE, merge
from experiments.report.render import write_report
from experiments.report.stages import STAGES
from tests.report_helpers import CHROMIUM, chromium, report_meta
from theory.catalogue import load_claims, parse_claims_markdown
from theory.verdicts import VERDICTS, ClaimResult

CLAIMS_FILE = Path(__file__).resolve().parents[2] / "shared" / "CLAIMS.md"


def test_claim_list_matches_claims_md() -> None:
    if not CLAIMS_FILE.exists():
        pytest.skip("../shared/CLAIMS.md is not beside this checkout")
    assert parse_claims_markdown(CLAIMS_FILE.read_text()) == list(load_claims())


def test_every_claim_has_a_check_and_every_check_a_claim() -> None:
    ids = {c.id for c in load_claims()}
    covered = {claim for stage in STAGES for claim in stage.claims()}
    assert ids - covered == set(), "claims no stage checks"
    assert covered - ids == set(), "checks for claims that do not exist"


def test_precedence_is_a_total_order_of_the_verdicts() -> None:
    assert sorted(PRECEDENCE) == sorted(VERDICTS)


def record(claim_id: str, verdict: str, **evidence) -> ClaimResult:
    if verdict == "falsified":
        evidence.setdefault("counterexample", {"g": [1.0]})
    if verdict == "holds-under-conditions":
        evidence.setdefault("conditions", ["g != 0"])
    return ClaimResult(claim_id, verdict, f"{claim_id} {verdict}", f"echo {claim_id}", evidence)


def test_merge_takes_the_most_cautious_part_and_flags_gaps() -> None:
    claims = load_claims()
    by_id = {c.id: c for c in claims}
    chosen = tuple(by_id[i] for i in ("RA-1", "AB-1", "AN-9", "AN-6", "AI-4"))
    records = {
        "theory": [record("RA-1", "holds"), record("AN-6", "falsified")],
        "invariants": [record("RA-1", "holds-under-conditions"), record("AB-1", "holds")],
        "training": [
            record("AB-1", "inconclusive"),
            record("AN-9", "needs-gpu"),
            record("AN-9", "holds", scale="paper"),
        ],
    }
    rows = {
        row.claim.id: row
        for row in merge(chosen, records, {"crashy": "Traceback ..."}, {"AI-4": ["crashy"]})
    }
    assert rows["RA-1"].verdict == "holds-under-conditions"
    assert rows["AB-1"].verdict == "inconclusive"
    assert rows["AN-9"].verdict == "holds"  # the paper-scale part answers the needs-gpu one
    assert rows["AN-6"].verdict == "falsified"
    assert rows["AN-6"].as_json()["evidence"]["counterexample"] == {"g": [1.0]}
    assert rows["AI-4"].verdict is None and "Traceback" in rows["AI-4"].failure
    kept = merge(
        chosen[:1],
        {"theory": [record("RA-1", "holds")]},
        {"theory": "exit 1"},
        {"RA-1": ["theory"]},
    )
    assert kept[0].verdict == "holds" and kept[0].failure == "[theory] exit 1"


@pytest.fixture(scope="module")
def synthetic_report(tmp_path_factory) -> Path:
    """A report over every claim from made-up records, with one figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = tmp_path_factory.mktemp("report")
    claims = load_claims()
    cycle = ["holds", "falsified", "holds-under-conditions", "inconclusive", "needs-gpu"]
    records = {"made-up": [record(c.id, cycle[i % len(cycle)]) for i, c in enumerate(claims)]}
    rows = merge(claims, records, {}, {})
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    figure = out / "figure.png"
    fig.savefig(figure)
    meta = report_meta("pytest")
    write_report(out, rows, meta, [(figure, "a figure")], [])
    return out


def test_claims_json_has_the_schema_and_every_id(synthetic_report: Path) -> None:
    payload = json.loads((synthetic_report / "claims.json").read_text())
    assert {"generated", "environment", "claims"} <= set(payload)
    assert [c["id"] for c in payload["claims"]] == [c.id for c in load_claims()]
    for claim in payload["claims"]:
        assert {"id", "paper", "statement", "kind", "verdict", "evidence", "reproduce"} <= set(
            claim
        )
        assert claim["verdict"] in VERDICTS
        if claim["verdict"] == "falsified":
            assert claim["evidence"]["counterexample"] and claim["reproduce"]


def test_markdown_lists_every_claim(synthetic_report: Path) -> None:
    text = (synthetic_report / "REPORT.md").read_text()
    for claim in load_claims():
        assert f"| {claim.id} |" in text
    assert "![a figure](figure.png)" in text


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_html_renders_tables_and_images_in_chromium(synthetic_report: Path) -> None:
    page = synthetic_report / "report.html"
    result = chromium(page, synthetic_report / "chrome-profile", "--dump-dom")
    dom = result.stdout
    assert "<table>" in dom and dom.count("<tr>") > len(load_claims())
    assert 'data-images-ok="true"' in dom, result.stderr[-2000:]
