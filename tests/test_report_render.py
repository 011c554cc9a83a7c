"""The report as a reviewer reads it: headlines, linked summary, readable counterexamples,
conditions, caveats, the evidence ladder, the verdict rules; checked in headless Chromium."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path

import pytest

from experiments.report import render
from experiments.report.merge import merge
from experiments.training.recorded import load_recorded
from tests.report_helpers import AN5_CASE, CHROMIUM, chromium, report_meta
from theory.catalogue import load_claims
from theory.verdicts import VERDICTS, ClaimResult

AN5_VIOLATIONS = [
    "step 2 (after the drop): |m_t| AdamNorm 0.187899 < Adam 0.375797",
    "step 2 (after the drop): |update| AdamNorm 1.33333 < Adam 2.66667",
]
LEMMA1 = {
    "why": "T=1, d=1, paper hyperparameters: LHS = |g| scales as c, RHS as c^2",
    "T": 1,
    "d": 1,
    "grads": [[0.0001]],
    "beta1": 0.9,
    "beta2": 0.999,
    "gamma": 0.95,
    "natural_constants": {"G": 0.0001, "G_inf": 0.0001},
    "lhs": [9.999999999999998e-05],
    "rhs": [1.7594528315987124e-05],
    "violated": True,
    "replay": "python -m theory.lemma1_numeric --case minimal_scale",
}
LADDER = [
    {
        "source": "reduced CPU study",
        "stage": "training",
        "scale": "reduced",
        "fidelity": {
            "model": "small_cnn ×0.5",
            "paper_model": "VGG11",
            "same_model": False,
            "data_fraction": 0.04,
            "step_fraction": 0.0008,
            "steps": 64,
            "paper_steps": 78200,
            "phases": ["warm-up"],
            "averaging_window_reached": False,
            "seeds": 3,
            "matches_scope": False,
        },
        "result": "std gap -0.02 [-0.05, 0.01]",
        "reading": "not reproduced",
        "decides": False,
        "reproduce": "python -m experiments.training --claims AB-1 --scale reduced",
    },
    {
        "source": "recorded H100 run",
        "stage": "recorded",
        "scale": "shortened",
        "fidelity": {
            "model": "VGG11",
            "paper_model": "VGG11",
            "same_model": True,
            "data_fraction": 1.0,
            "step_fraction": 0.02,
            "steps": 1564,
            "paper_steps": 78200,
            "phases": ["early"],
            "averaging_window_reached": True,
            "seeds": 3,
            "matches_scope": True,
        },
        "result": "std gap +0.21 [0.18, 0.23]",
        "reading": "supported",
        "decides": True,
        "reproduce": "python -m experiments.training --claims AB-1 --scale paper --device cuda",
    },
]
RULES = "# How a verdict is reached\n\nOnly a study that matches the claim's scope decides.\n"


def _record(claim_id: str, verdict: str, summary: str, **evidence) -> ClaimResult:
    return ClaimResult(
        claim_id, verdict, summary, f"python -m theory --claims {claim_id}", evidence
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    """A report over every claim: made-up verdicts, and AN-5, AN-6, AN-1, AB-1 with the
    evidence shapes the stages write (an optimizer case, a flat record, conditions with a
    case, a caveat, an evidence ladder)."""
    out = tmp_path_factory.mktemp("rendered")
    claims = load_claims()
    long_summary = (
        "Lemma 1 is false. Its right side scales as c^2 under g -> c*g, its left side as c, "
        "and every assumption is scale-invariant, so small enough gradients always break it; "
        "the minimal counterexample has one step and one coordinate."
    )
    special = {
        "AN-5": _record(
            "AN-5",
            "falsified",
            "counterexample in scenario S1 (step 2: |m_t| AdamNorm 0.187899 < Adam 0.375797).",
            counterexample={
                "found_by": "torch",
                "case": AN5_CASE,
                "violation": AN5_VIOLATIONS,
                "replay": "python -m invariants.replay AN-5 --results report/x/invariants.json",
            },
        ),
        "AN-6": _record("AN-6", "falsified", long_summary, counterexample=LEMMA1),
        "AN-1": _record(
            "AN-1",
            "holds",
            "no counterexample where eq. 3 is defined.",
            caveats=[
                {
                    "name": "nonzero_gradient",
                    "text": "at g_t = 0 eq. 3 divides by zero",
                    "counterexample": {"found_by": "torch", "case": AN5_CASE, "violation": []},
                    "replay": "python -m invariants.replay AN-1 --caveat nonzero_gradient",
                }
            ],
        ),
        "AN-2": _record(
            "AN-2",
            "holds-under-conditions",
            "counterexample as stated; none under [constant_sign].",
            conditions=[
                {
                    "name": "constant_sign",
                    "text": "every coordinate's gradient keeps one sign (‖g_t‖ > 0)",
                    "needed": True,
                    "counterexample_without_it": AN5_CASE,
                    "violation": AN5_VIOLATIONS[:1],
                }
            ],
        ),
    }
    cycle = ["holds", "inconclusive", "needs-gpu", "needs-data"]
    records = [
        special.get(c.id) or _record(c.id, cycle[i % len(cycle)], f"{c.id} made up.")
        for i, c in enumerate(claims)
    ]
    entries = [row.as_json() for row in merge(claims, {"made-up": records}, {}, {})]
    for entry in entries:
        if entry["id"] == "AB-1":
            entry["verdict"] = "holds"
            entry["evidence"]["ladder"] = LADDER
            entry["evidence"]["scale_dependence"] = "the reduced study does not reproduce it"
        if entry["id"] == "AN-1":
            entry["evidence"]["caveats"] = special["AN-1"].evidence["caveats"]
    meta = report_meta("python -m experiments.report --quick", {"seconds": 3.0})
    rules = out / "verdict_rules.md"
    rules.write_text(RULES)
    original = render.VERDICT_RULES
    render.VERDICT_RULES = rules
    try:
        render.write_report(out, entries, meta, [], [])
    finally:
        render.VERDICT_RULES = original
    return out


def _section(text: str, claim_id: str) -> str:
    start = text.index(f'<a id="{claim_id}"></a>')
    end = text.index('<a id="', start + 1)
    return text[start:end]


def test_first_screen_tells_the_story(report: Path) -> None:
    text = (report / "REPORT.md").read_text()
    head = text[: text.index("## Summary")]
    assert "- **falsified**:" in head  # the verdict legend
    assert "### AdaNorm" in head
    assert "**falsified** [AN-6](#AN-6) — Lemma 1 is false. Its right side scales" in head
    assert "[AN-2](#AN-2) only if every coordinate's gradient keeps one sign" in head
    summary = text[text.index("## Summary") : text.index("## How a verdict is reached")]
    assert "| [AN-6](#AN-6) |" in summary and "…" not in summary
    assert "Only a study that matches the claim's scope decides." in text


def test_counterexample_reads_as_a_table(report: Path) -> None:
    section = _section((report / "REPORT.md").read_text(), "AN-5")
    assert "Setting: AdamNorm: lr = 0.001, β1 = 0.5, β2 = 0, ε = 0, γ = 0.5" in section
    assert "| step | g_t | m_t AdamNorm | m_t Adam |" in section
    assert "| **2** | **-0.1879** | **0.1879** | **0.3758** |" in section  # the violated step
    assert "plan" not in section.split("<details>")[0]  # provenance stays in the raw JSON
    assert "python -m invariants.replay AN-5 --results report/x/invariants.json" in section
    assert "![The counterexample's trajectory" in section
    lemma = _section((report / "REPORT.md").read_text(), "AN-6")
    assert "Setting: T = 1, d = 1, β1 = 0.9, β2 = 0.999, γ = 0.95." in lemma
    assert (
        "| **1** | **[0.0001]** | **0.0001** | **1.759e-05** | **✗ left side > right side** |"
        in lemma
    )
    assert "python -m theory.lemma1_numeric --case minimal_scale" in lemma


def test_conditions_caveats_and_ladder(report: Path) -> None:
    text = (report / "REPORT.md").read_text()
    an2 = _section(text, "AN-2")
    assert (
        "every coordinate's gradient keeps one sign (‖g_t‖ > 0) (needed" in an2
        and "| step |" in an2
    )
    an1 = _section(text, "AN-1")
    assert "Caveats" in an1 and "nonzero_gradient: at g_t = 0 eq. 3 divides by zero" in an1
    assert (
        "Replay this caveat's case: `python -m invariants.replay AN-1 --caveat nonzero_gradient`"
        in an1
    )
    ab1 = _section(text, "AB-1")
    assert "| **recorded H100 run** | **VGG11** | **100 %** | **1,564 of 78,200 (2 %)** |" in ab1
    assert "★ decides" in ab1 and "small_cnn ×0.5 (paper: VGG11)" in ab1
    assert "Scale dependence: the reduced study does not reproduce it" in ab1
    assert "needs a CUDA device" in ab1


def test_claims_json_keeps_the_raw_evidence_and_lists_the_commands(report: Path) -> None:
    raw = (report / "claims.json").read_text()
    assert "‖g_t‖ > 0" in raw and "\\u2016" not in raw
    payload = json.loads(raw)
    by_id = {c["id"]: c for c in payload["claims"]}
    assert by_id["AN-5"]["evidence"]["counterexample"]["case"] == AN5_CASE
    kinds = {c["kind"]: c for c in by_id["AN-6"]["commands"]}
    assert kinds["reproduce"]["command"] == "python -m theory --claims AN-6"
    assert re.search(kinds["reproduce"]["expects"], "AN-6  falsified   2.4s  Lemma 1 ...")
    assert not re.search(kinds["reproduce"]["expects"], "AN-6  holds   2.4s")
    assert kinds["replay"]["command"] == LEMMA1["replay"]
    assert {c["verdict"] for c in payload["claims"]} <= set(VERDICTS)


def test_html_hides_raw_json_in_details_and_has_no_escapes(report: Path) -> None:
    page = (report / "report.html").read_text()
    assert "<details><summary>raw JSON of the counterexample</summary>" in page
    visible = re.sub(r"<details>.*?</details>|<script>.*?</script>", "", page, flags=re.S)
    assert "\\u2016" not in visible and '{"shape"' not in visible
    assert 'href="#AN-6"' in page and 'id="AN-6"' in page


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_chromium_resolves_links_renders_tables_and_shows_no_escapes(report: Path) -> None:
    page = report / "report.html"
    result = chromium(page, report / "chrome-profile", "--dump-dom")
    dom = result.stdout
    attributes = dict(
        re.findall(r'data-([a-z-]+)="([^"]*)"', dom[: dom.index(">", dom.index("<body")) + 1])
    )
    assert attributes.get("images-ok") == "true", result.stderr[-2000:]
    assert int(attributes["links"]) > 2 * len(load_claims())
    assert attributes["broken-links"] == ""
    assert int(attributes["tables-shown"]) > len(load_claims())
    assert attributes["raw-escapes"] == "0"
    shot = report / "first-screen.png"
    chromium(page, report / "chrome-profile", f"--screenshot={shot}", "--window-size=1280,1400")
    assert shot.exists() and shot.stat().st_size > 10_000


def test_a_claim_without_a_verdict_is_open_in_its_headline(tmp_path: Path) -> None:
    claims = load_claims()[:2]
    rows = merge(claims, {}, {"theory": "Traceback: boom"}, {claims[0].id: ["theory"]})
    meta = report_meta("pytest", {"name": "theory", "seconds": 1.0, "error": "x"})
    render.write_report(tmp_path, rows, meta, [], [])
    text = (tmp_path / "REPORT.md").read_text()
    head = text[text.index("## Headlines") : text.index("## Summary")]
    assert (
        "2 without a verdict" in head and f"[{claims[0].id}](#{claims[0].id}) (no verdict)" in head
    )
    assert "Traceback: boom" in text


def test_recorded_campaigns_decide_where_they_match_the_scope(tmp_path: Path) -> None:
    """The recorded GPU section names what each campaign's study does in its verdict: the
    H100 run decides AB-1 (it matches the claim's scope) and is a supporting rung of AI-5,
    whose verdict still waits for the paper's 200-epoch run."""
    claims = tuple(c for c in load_claims() if c.id in ("AB-1", "AI-5"))
    recorded = load_recorded()
    rows = merge(claims, {}, {}, {}, recorded)
    meta = {
        "generated": "2026-01-01T00:00:00+00:00",
        "environment": {"python": "3", "torch": "2", "cpus": 2, "device": "cpu"},
        "mode": "test",
        "command": "pytest",
        "stages": [],
    }
    records = [asdict(r) for results in recorded.values() for r in results]
    render.write_report(tmp_path, rows, meta, [], records)
    text = (tmp_path / "REPORT.md").read_text()
    section = text[text.index("## Recorded GPU campaigns") :]
    assert "evidence only" not in text
    row = {line.split("|")[1].strip(): line for line in section.splitlines() if "](#" in line}
    assert "decides: holds" in row["[AB-1](#AB-1)"]
    assert "supported at its scale; the verdict stays needs-gpu" in row["[AI-5](#AI-5)"]
    ai5 = text[text.index("### AI-5") :]
    assert "★ highest; below the claim's scope, so needs-gpu" in ai5
    assert "★ decides" in text[text.index("### AB-1") : text.index("### AI-5")]
