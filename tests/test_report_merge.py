"""The rules that turn records into one verdict per claim, on synthetic records.

Empirical records are built the way the training stage builds them (the real
:func:`fidelity`, :func:`study_verdict` and :func:`reading`), at made-up results, so the
tests pin the ladder rule — only a study matching the claim's scope decides, the highest
fidelity wins, disagreement is shown — and the part rule for different parts of a claim.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from experiments.report.merge import merge
from experiments.training.claims import STUDIES, fidelity, reading, study_verdict
from experiments.training.protocols import PROTOCOLS
from experiments.training.recorded import RecordError, load_recorded
from theory.catalogue import load_claims
from theory.verdicts import ClaimResult

CLAIMS = {c.id: c for c in load_claims()}
REDUCED = {"epochs": 4, "model": "small_cnn", "width": 0.5, "train_subset": 2000}


def study_record(claim_id: str, decided: str, *, scale: str, source: str) -> ClaimResult:
    """A training record of ``claim_id`` whose statistics came out ``decided``.

    ``scale``: 'reduced' (small CNN, 2,000 images, 4 epochs), 'shortened' (the paper's model
    and data for 4 epochs) or 'paper' (the paper's protocol unchanged)."""
    study = STUDIES[claim_id]
    protocol = PROTOCOLS[study.protocol]
    images = 50_000
    if scale == "reduced":
        protocol, images = protocol.reduced(**REDUCED), REDUCED["train_subset"]
    elif scale == "shortened":
        protocol = protocol.reduced(epochs=4)
    match = fidelity(study.paper, protocol, images, 3)
    verdict = study_verdict(study, decided, match)
    evidence = {
        "source": source,
        "scale": scale,
        "paper_setting": study.paper.as_json(),
        "fidelity": match,
        "reading": reading(decided, match),
        "decided_at_this_scale": decided,
        "comparisons": [
            {"label": "a - b", "n": 3, "mean": 0.2, "low": 0.1, "high": 0.3, "sd": 0.05}
        ],
    }
    if decided == "falsified":
        evidence["counterexample"] = {"comparison": evidence["comparisons"][0]}
    return ClaimResult(claim_id, verdict, f"{source}: {decided}", f"echo {source}", evidence)


def merged(claim_id: str, records: dict[str, list[ClaimResult]]):
    (row,) = merge((CLAIMS[claim_id],), records, {}, {}, recorded={})
    return row


def test_a_proxy_contradicting_a_paper_scale_run_is_shown_but_does_not_decide() -> None:
    row = merged(
        "LW-4",
        {
            "training": [study_record("LW-4", "falsified", scale="reduced", source="reduced")],
            "gpu": [study_record("LW-4", "holds", scale="paper", source="paper run")],
        },
    )
    assert row.verdict == "holds"
    assert [r["source"] for r in row.ladder] == ["reduced", "paper run"]
    assert [r["decides"] for r in row.ladder] == [False, True]
    assert [r["reading"] for r in row.ladder] == ["not reproduced", "supported"]
    assert (
        row.ladder[1]["fidelity"]["matches_scope"] and not row.ladder[0]["fidelity"]["same_model"]
    )
    evidence = row.as_json()["evidence"]
    assert "paper run" in evidence["scale_dependence"] and "counterexample" not in evidence


def test_two_proxies_disagreeing_leave_the_claim_needing_a_gpu() -> None:
    row = merged(
        "AN-14",
        {
            "training": [study_record("AN-14", "holds", scale="reduced", source="reduced")],
            "recorded": [study_record("AN-14", "falsified", scale="shortened", source="shortened")],
        },
    )
    assert row.verdict == "needs-gpu"
    assert [r["source"] for r in row.ladder] == ["reduced", "shortened"]
    assert row.ladder[-1]["reading"] == "not reproduced" and row.ladder[-1]["decides"]
    assert row.scale_dependence and row.scale_dependence.index(
        "shortened"
    ) < row.scale_dependence.index("reduced")
    # Neither proxy matches the scope: the line must not say that the top one decides.
    assert row.scale_dependence.endswith(
        "is below the claim's scope, so the verdict stays needs-gpu"
    )


def test_a_proxy_alone_never_holds_or_falsifies_a_claim_about_the_papers_training() -> None:
    for claim_id, study in STUDIES.items():
        for decided in ("holds", "falsified"):
            row = merged(
                claim_id,
                {"training": [study_record(claim_id, decided, scale="reduced", source="r")]},
            )
            assert row.verdict == ("needs-data" if study.needs == "data" else "needs-gpu"), claim_id


def test_a_scale_free_claim_is_decided_where_the_averaging_window_is_reached() -> None:
    """AB-1's 64-step reduced study stays in the second-moment warm-up (1/(1-β2) = 1,000
    steps); the paper's model for 1,564 steps is past it and decides."""
    reduced = study_record("AB-1", "falsified", scale="reduced", source="reduced")
    shortened = study_record("AB-1", "holds", scale="shortened", source="shortened")
    assert not reduced.evidence["fidelity"]["averaging_window_reached"]
    assert reduced.verdict == "needs-gpu" and shortened.verdict == "holds"
    row = merged("AB-1", {"training": [reduced], "recorded": [shortened]})
    assert row.verdict == "holds" and row.scale_dependence


def test_a_claim_about_late_training_is_not_read_from_an_early_run() -> None:
    record = study_record("AI-6", "falsified", scale="shortened", source="shortened")
    assert record.verdict == "needs-gpu"
    assert record.evidence["reading"] == "inconclusive"
    assert record.evidence["fidelity"]["phases"] == ["early"]


def test_different_parts_of_a_claim_still_take_the_most_cautious() -> None:
    study = study_record("AB-1", "holds", scale="shortened", source="shortened")
    inv = ClaimResult("AB-1", "falsified", "inv", "echo inv", {"counterexample": {"g": [1.0]}})
    row = merged("AB-1", {"invariants": [inv], "recorded": [study]})
    assert row.verdict == "falsified"
    assert row.as_json()["evidence"]["counterexample"] == {"g": [1.0]}
    proxy = study_record("AB-1", "holds", scale="reduced", source="reduced")
    holds = ClaimResult("AB-1", "holds", "inv", "echo inv", {})
    assert merged("AB-1", {"invariants": [holds], "training": [proxy]}).verdict == "needs-gpu"


def test_a_placeholder_for_an_unrun_study_gives_way_to_a_rung() -> None:
    placeholder = ClaimResult(
        "LW-4", "needs-gpu", "not run", "echo", {"paper_setting": {}, "missing": "GPU"}
    )
    paper = study_record("LW-4", "holds", scale="paper", source="paper run")
    row = merged("LW-4", {"training": [placeholder], "gpu": [paper]})
    assert row.verdict == "holds" and len(row.parts) == 1


def test_a_caveat_only_claim_holds_and_lists_its_caveat_with_the_replay() -> None:
    counterexample = {
        "found_by": "torch",
        "case": {"g": 0},
        "replay": "python -m invariants.replay AN-1",
    }
    evidence = {
        "counterexample": counterexample,
        "caveats": [
            {
                "name": "nonzero_gradient",
                "text": "‖g_t‖ > 0",
                "counterexample": counterexample,
                "replay": "python -m invariants.replay AN-1",
            }
        ],
    }
    row = merged("AN-1", {"invariants": [ClaimResult("AN-1", "holds", "s", "r", evidence)]})
    shown = row.as_json()["evidence"]
    assert row.verdict == "holds"
    assert shown["caveats"] == [
        {
            "name": "nonzero_gradient",
            "stage": "invariants",
            "text": "‖g_t‖ > 0",
            "counterexample": counterexample,
            "replay": "python -m invariants.replay AN-1",
        }
    ]
    assert "counterexample" not in shown and "conditions" not in shown


def test_the_recorded_h100_campaign_enters_the_merge() -> None:
    recorded = load_recorded()
    (source,) = recorded
    by_claim = {r.claim_id: r for r in recorded[source]}
    assert by_claim["AB-1"].verdict == "holds"  # scale-free, past the averaging window
    assert by_claim["AI-5"].verdict == "needs-gpu"  # its figures' curves over all 200 epochs
    assert by_claim["AI-5"].evidence["reading"] == "supported"
    assert by_claim["AI-6"].verdict == "needs-gpu"  # speaks of late training
    assert by_claim["AN-14"].verdict == "needs-gpu"  # 'through training' of Fig. 3
    assert by_claim["AR-8"].verdict == "needs-data"  # ImageNet
    for record in recorded[source]:
        assert record.evidence["recorded"]["command"].startswith("python -m experiments.training")
    row = merge((CLAIMS["AB-1"],), {}, {}, {})[0]
    assert row.ladder[-1]["source"] == source and row.ladder[-1]["decides"]


def test_a_paper_protocol_campaign_drops_in_without_code_changes(tmp_path: Path) -> None:
    record = study_record("LW-4", "holds", scale="paper", source="x")
    protocol = dataclasses.asdict(PROTOCOLS["aida"])
    evidence = {**record.evidence, "seeds": [0, 1, 2], "protocol_settings": protocol}
    evidence["train_images"] = 50_000
    folder = tmp_path / "gpu-2027-01-01"
    folder.mkdir()
    results = {
        "stage": "training-paper",
        "claims": [dataclasses.asdict(record) | {"evidence": evidence}],
    }
    (folder / "training-paper.json").write_text(json.dumps(results))
    manifest = {
        "source": "recorded GPU run gpu-2027-01-01",
        "device": "one GPU",
        "environment": {"torch": "2"},
        "results": [
            {
                "file": "training-paper.json",
                "command": "python -m experiments.training --scale paper",
            }
        ],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    recorded = load_recorded(tmp_path)
    (row,) = merge((CLAIMS["LW-4"],), {}, {}, {}, recorded=recorded)
    assert row.verdict == "holds"
    assert row.ladder[-1]["source"] == "recorded GPU run gpu-2027-01-01"


def test_a_broken_campaign_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(RecordError, match="manifest"):
        load_recorded(tmp_path)
    (folder / "manifest.json").write_text(
        json.dumps({"source": "s", "results": [{"file": "x.json"}]})
    )
    with pytest.raises(RecordError, match=r"x\.json"):
        load_recorded(tmp_path)
