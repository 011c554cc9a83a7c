"""The GPU campaign (issue 18): seeds from recorded variances, a CPU dry run end to end
(plan, train, stream, bundle, ``add``, the report's merge), campaigns adding up, and the rule
that a part of a conjunction can falsify its claim but not make it hold."""

from __future__ import annotations

import dataclasses
import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from experiments.report.merge import merge
from experiments.training import recorded
from experiments.training.campaign import (
    BUNDLE,
    DEFAULT_SEEDS,
    PRIORITY,
    CampaignError,
    Scale,
    add,
    seeds_needed,
    seeds_table,
)
from experiments.training.campaign import main as campaign_main
from experiments.training.recorded import load_recorded
from theory.catalogue import load_claims
from theory.verdicts import ClaimResult

ROOT = Path(__file__).resolve().parents[1]
ENTRIES = "AN-9/vgg16/AdamNorm-Adam,AN-14/vgg16"  # AN-14 shares AN-9's runs
DRY_RUN = ["--dry-run-model", "small_cnn", "--dry-run-width", "0.25", "--dry-run-images", "200"]


def test_seeds_needed_separates_the_effect_from_zero() -> None:
    # 000 Table 1 (VGG16, CIFAR-10): AdamNorm - Adam = +0.28; paired sd 0.1277 recorded on
    # the H100: t(2)·sd/√3 = 0.317 > 0.28, t(3)·sd/√4 = 0.203 < 0.28.
    assert seeds_needed(0.28, 0.1277) == 4
    assert seeds_needed(-0.28, 0.1277) == 4
    assert seeds_needed(10.0, 0.1) == 2
    assert seeds_needed(0.03, 0.306) is None  # beyond any campaign


def test_seeds_come_from_the_recorded_variances() -> None:
    table = {row.entry: row for row in seeds_table(PRIORITY, recorded.ROOT)}
    assert table["AN-9/vgg16/AdamNorm-Adam"].seeds == 4
    assert "sd 0.128" in table["AN-9/vgg16/AdamNorm-Adam"].why
    assert table["AN-9/resnet18/AdaBeliefNorm-AdaBelief"].seeds is None
    assert table["AI-5"].seeds >= 2
    assert table["LW-4/vgg11"].seeds == DEFAULT_SEEDS
    assert table["LW-4/vgg11"].why == "no recorded variance"


def test_every_priority_entry_has_a_study_at_the_papers_protocol() -> None:
    names = [entry.name for entry in PRIORITY]
    assert len(names) == len(set(names))
    for entry in PRIORITY:
        protocol = Scale().protocol(entry)
        labels = {arm.label for arm in entry.study().arms}
        assert {label for pair in entry.pairs for label in pair} <= labels
        assert protocol.epochs == entry.study().paper.epochs
        assert protocol.batch_size == entry.study().paper.batch_size
        assert entry.model is None or protocol.model == entry.model


def _campaign(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "experiments.training.campaign", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_dry_run_plans_trains_bundles_adds_and_merges(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records_root = tmp_path / "recorded"
    records_root.mkdir()
    out = tmp_path / "out"
    common = ["--budget-min", "1", "--only", ENTRIES, "--recorded", str(records_root), *DRY_RUN]
    done = _campaign(*common, "--out", str(out))
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert text.index("Campaign plan") < text.index("epoch 1/1"), "the plan prints first"
    assert "AN-9/vgg16/AdamNorm-Adam" in text and "4 seeds x 2 arms" in text

    with gzip.open(out / BUNDLE, "rt") as fh:
        bundle = json.load(fh)
    assert bundle["environment"]["torch"] and bundle["environment"]["python"]
    assert bundle["throughput"] and bundle["throughput"][0]["images_per_second"] > 0
    planned = [run for item in bundle["plan"] for run in item["runs"] if not run["shared"]]
    assert len(planned) == 8  # 4 seeds x 2 arms; AN-14's 3 x 2 are among them
    # Every run that trained is in the bundle with its epoch (on a loaded CPU the budget may
    # stop the campaign before the last planned runs: a later campaign adds them).
    assert len(bundle["runs"]) == text.count("epoch 1/1") >= 4
    assert all(len(log["history"]) == 1 for log in bundle["runs"])
    for log in bundle["runs"]:  # each run streamed its per-epoch log under --runs
        assert (out / "runs" / log["run"] / "metrics.jsonl").read_text().count("\n") == 1

    folder = add(out / BUNDLE, name="dry", root=records_root)
    assert {p.name for p in folder.iterdir()} == {
        "manifest.json", "verdicts-campaign.json", "runs.json.gz", "README.md",
    }  # fmt: skip
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["throughput"] == bundle["throughput"]
    assert manifest["results"][0]["command"].startswith("python -m experiments.training.campaign")
    with pytest.raises(CampaignError, match="exists"):
        add(out / BUNDLE, name="dry", root=records_root)

    loaded = load_recorded(records_root)
    (records,) = loaded.values()
    by_claim = {r.claim_id: r for r in records}
    assert set(by_claim) == {"AN-9", "AN-14"}
    assert len(by_claim["AN-9"].evidence["seeds"]) == len(bundle["runs"]) // 2
    assert by_claim["AN-9"].evidence["part_of_claim"]["pairs"] == [["AdamNorm", "Adam"]]
    assert not by_claim["AN-9"].evidence["fidelity"]["matches_scope"]  # a dry run decides nothing
    claims = {c.id: c for c in load_claims()}
    rows = merge((claims["AN-9"], claims["AN-14"]), {}, {}, {}, recorded=loaded)
    for row in rows:
        assert row.verdict == "needs-gpu"
        assert "recorded campaign dry" in [step["source"] for step in row.ladder]

    # Campaigns add up: the next one finds every run recorded and trains nothing.
    assert campaign_main([*common, "--out", str(tmp_path / "again"), "--plan-only"]) == 0
    again = capsys.readouterr().out
    recorded_keys = {log["run"] for log in bundle["runs"]}
    with gzip.open(tmp_path / "again" / BUNDLE, "rt") as fh:
        for item in json.load(fh)["plan"]:
            for run in item["runs"]:
                assert (run["status"] == "recorded") == (run["key"] in recorded_keys)
    if len(recorded_keys) == 8:
        assert "complete (all runs recorded or shared)" in again


def _paper_record(tmp_path: Path, decided: str, part: bool) -> ClaimResult:
    """An AN-9 record at the paper's VGG16 protocol, written as a campaign folder and read."""
    (entry,) = [e for e in PRIORITY if e.name == "AN-9/vgg16/AdamNorm-Adam"]
    evidence = {
        "protocol_settings": dataclasses.asdict(Scale().protocol(entry)),
        "train_images": 50_000,
        "seeds": [0, 1, 2, 3],
        "decided_at_this_scale": decided,
        "comparisons": [],
    }
    if decided == "falsified":
        evidence["counterexample"] = {"what": "a significant difference against the claim"}
    if part:
        evidence["part_of_claim"] = {"pairs": [["AdamNorm", "Adam"]]}
    record = ClaimResult("AN-9", decided, "s", "r", evidence)
    folder = tmp_path / f"{decided}-{part}"
    folder.mkdir()
    results = {"claims": [dataclasses.asdict(record)]}
    (folder / "verdicts.json").write_text(json.dumps(results))
    manifest = {"source": "s", "results": [{"file": "verdicts.json", "command": "c"}]}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (read,) = recorded.load_campaign(folder)[1]
    return read


@pytest.mark.parametrize(
    ("decided", "part", "verdict"),
    [
        ("holds", True, "needs-gpu"),  # one pair of four holding leaves the claim open
        ("holds", False, "holds"),
        ("falsified", True, "falsified"),  # one pair failing falsifies "each variant improves"
    ],
)
def test_a_part_of_a_conjunction_can_falsify_but_not_hold(
    tmp_path: Path, decided: str, part: bool, verdict: str
) -> None:
    record = _paper_record(tmp_path, decided, part)
    assert record.evidence["fidelity"]["matches_scope"] == (verdict != "needs-gpu")
    assert record.verdict == verdict
    claim = {c.id: c for c in load_claims()}["AN-9"]
    (row,) = merge((claim,), {}, {}, {}, recorded={"campaign": [record]})
    assert row.verdict == verdict


def test_a_falsified_part_decides_over_a_part_that_holds(tmp_path: Path) -> None:
    records = [_paper_record(tmp_path, d, part=True) for d in ("falsified", "holds")]
    claim = {c.id: c for c in load_claims()}["AN-9"]
    for order in (records, records[::-1]):
        (row,) = merge((claim,), {}, {}, {}, recorded={"campaign": order})
        assert row.verdict == "falsified"


def test_add_refuses_a_file_that_is_not_a_bundle(tmp_path: Path) -> None:
    bad = tmp_path / "bundle.json.gz"
    bad.write_bytes(gzip.compress(b'{"format": "other"}'))
    assert recorded.main(["add", str(bad), "--root", str(tmp_path)]) == 1
    assert list(tmp_path.iterdir()) == [bad]  # nothing written


@pytest.mark.parametrize("engine", ["looped", "sequential"])
def test_an_interrupted_campaign_leaves_every_finished_epoch_in_the_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: str
) -> None:
    """The device may go away at any moment: the bundle on disk already holds each epoch."""
    from experiments.training import campaign

    logged: list[str] = []

    def losing_the_device_after_two_epochs(real):
        def run(specs, *args, progress, **kwargs):
            def report(message: str) -> None:
                progress(message)  # the campaign's own: it rewrites the bundle
                logged.append(message.split(" ")[0])
                if len(logged) == 2:
                    raise KeyboardInterrupt("the device went away")

            return real(specs, *args, progress=report, **kwargs)

        return run

    # Every engine, sequential included (a looped stack of one run), trains through it.
    monkeypatch.setattr(
        campaign, "train_together", losing_the_device_after_two_epochs(campaign.train_together)
    )
    argv = ["--budget-min", "1", "--only", "AN-9/vgg16/AdamNorm-Adam", *DRY_RUN]
    argv += ["--out", str(tmp_path), "--recorded", str(tmp_path / "none"), "--engine", engine]
    with pytest.raises(KeyboardInterrupt):
        campaign.main(argv)
    with gzip.open(tmp_path / BUNDLE, "rt") as fh:
        bundle = json.load(fh)
    assert bundle["engine"] == engine
    assert sorted(log["run"] for log in bundle["runs"]) == sorted(logged)
    assert all(len(log["history"]) == 1 for log in bundle["runs"])
    assert "finished" not in bundle
