"""The prepared GPU-lease command (experiments/training/lease.py), run end to end on the CPU at
toy sizes: every step, the files that come back, a step that hangs or fails, recording."""

from __future__ import annotations

import gzip
import json
import re
import sys
from pathlib import Path

import pytest
import torch

from experiments.training import lease, recorded
from experiments.training.campaign import BUNDLE
from optimizers.registry import REGISTRY


@pytest.fixture(scope="module")
def dry_lease(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int]:
    base = tmp_path_factory.mktemp("lease")
    out, records = base / "out", base / "recorded"
    records.mkdir()
    argv = ["--dry-run", "--out", str(out), "--minutes", "4", "--runs", str(base / "runs"),
            "--", "--only", "AN-14/vgg16", "--recorded", str(records)]  # fmt: skip
    return out, records, lease.main(argv)


def test_a_dry_lease_runs_every_step_and_returns_four_files(dry_lease) -> None:
    out, _, status = dry_lease
    assert status == 0
    files = sorted(p.name for p in out.iterdir())
    # The device tool brings back at most 8 files, named in letters, digits, '.', '_', '-'.
    assert files == sorted([lease.REPORT, lease.TABLES, lease.LOG, BUNDLE])
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", name) for name in files)
    report = json.loads((out / lease.REPORT).read_text())
    assert [s["step"] for s in report["steps"]] == list(lease.STEP_NAMES)
    assert all(s["status"] == "ok" for s in report["steps"]), report["steps"]
    assert report["ceilings"]["bf16_matmul_tflops"] > 0 and report["ceilings"]["copy_gb_per_s"] > 0
    assert report["environment"]["torch"] == torch.__version__
    by_step = {s["step"]: s for s in report["steps"]}
    shares = by_step["optimizer-shares"]["result"]["rows"]
    assert [r["optimizer"] for r in shares] == list(REGISTRY)
    assert all(0 < r["optimizer_share"] < 1 and r["layout"] == "stacked" for r in shares)
    # The measured matrix rate is the MFU's peak of every throughput step after it.
    peak = f"--peak-tflops {report['ceilings']['bf16_matmul_tflops']:.4g}"
    assert all(peak in by_step[name]["command"] for name in ("throughput-vgg11", "fused"))
    assert {r["options"]["fused"] for r in by_step["fused"]["result"]["rows"]} == {True}
    compiled = by_step["compiled"]["result"]["rows"]
    assert [(r["layout"], r["compiled_model"]) for r in compiled] == [
        ("separate", "reduce-overhead")
    ]
    resnet = {(r["runs"], r["layout"]) for r in by_step["throughput-resnet18"]["result"]["rows"]}
    assert resnet == {(n, layout) for n in (1, 2) for layout in ("separate", "stacked")}
    with gzip.open(out / BUNDLE, "rt") as fh:
        assert json.load(fh)["runs"], "the campaign trained in the time left"
    tables = (out / lease.TABLES).read_text()
    assert "| campaign | ok |" in tables and "## optimizer-shares" in tables
    log = (out / lease.LOG).read_text()
    assert all(f"=== {name} " in log for name in lease.STEP_NAMES)


def test_a_lease_is_recorded_beside_its_campaign(dry_lease) -> None:
    out, records, _ = dry_lease
    folder = lease.record(out, "dry-lease", root=records)
    assert folder in recorded.campaigns(records)  # the bundle became evidence
    assert (folder / lease.REPORT).read_text() == (out / lease.REPORT).read_text()
    assert (folder / lease.TABLES).is_file()
    with pytest.raises(ValueError, match="exists"):
        lease.record(out, "dry-lease", root=records)


def test_a_lease_without_a_campaign_is_recorded_as_measurements_only(tmp_path) -> None:
    files = tmp_path / "files"
    files.mkdir()
    report = {"started": "2026-11-30T10:00:00+00:00", "steps": [], "command": "c"}
    (files / lease.REPORT).write_text(json.dumps(report))
    folder = lease.record(files, None, root=tmp_path / "recorded")
    assert folder.name == "lease-2026-11-30-100000"
    assert sorted(p.name for p in folder.iterdir()) == [lease.REPORT]
    assert recorded.campaigns(tmp_path / "recorded") == []  # no manifest: not evidence
    assert lease.main(["record", str(tmp_path / "nothing")]) == 1


def test_a_step_past_its_cap_is_killed_and_a_failing_one_recorded(tmp_path, capsys) -> None:
    log = (tmp_path / "log").open("w")
    sleeper = lease.Step(
        "sleeps", ("-c", "import time; print('started', flush=True); time.sleep(60)"), 2
    )
    record = lease.run_step(sleeper, log, sys.stdout)
    assert record["status"] == "timed out" and record["returncode"] is None
    assert record["seconds"] < 30
    failing = lease.Step("fails", ("-c", "raise SystemExit(3)"), 30)
    assert lease.run_step(failing, log, sys.stdout)["status"] == "failed"
    unreadable = lease.Step("writes", ("-c", "pass"), 30, str(tmp_path / "missing.json"))
    assert lease.run_step(unreadable, log, sys.stdout)["status"] == "failed"
    log.close()
    assert "started" in (tmp_path / "log").read_text() and "started" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        # 0.9 min less the 30 s margin leave ~24 s: the ceilings run, the campaign would not fit.
        (0.9, [("ceilings", "ok"), ("campaign", "skipped")]),
        # 0.6 min leave 6 s: not even a measurement step is started.
        (0.6, [("ceilings", "skipped"), ("campaign", "skipped")]),
    ],
)
def test_steps_that_would_not_fit_in_the_minutes_left_are_skipped(
    tmp_path, minutes, expected
) -> None:
    out = tmp_path / "out"
    argv = [
        "--dry-run",
        "--out",
        str(out),
        "--minutes",
        str(minutes),
        "--only",
        "ceilings,campaign",
    ]
    assert lease.main(argv) == 0
    steps = json.loads((out / lease.REPORT).read_text())["steps"]
    assert [(s["step"], s["status"]) for s in steps] == expected
    assert not (out / BUNDLE).exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["--out", "x", "--only", "nope"],
        ["--out", "x", "--dry-run", "--minutes", "0"],
        ["--dry-run"],
    ],
)
def test_bad_arguments_are_usage_errors(argv) -> None:
    with pytest.raises(SystemExit) as exit_:
        lease.parse_args(argv)
    assert exit_.value.code == 2


def test_without_a_gpu_only_the_dry_run_is_accepted(monkeypatch, capsys) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit):
        lease.parse_args(["--out", "x"])
    assert "--dry-run" in capsys.readouterr().err


def test_on_a_gpu_the_campaign_needs_the_full_data_before_anything_runs(
    monkeypatch, tmp_path, capsys
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    with pytest.raises(SystemExit) as exit_:
        lease.parse_args(["--out", "x", "--data-dir", str(tmp_path)])
    assert exit_.value.code == 2 and "cifar10-jpeg.npz" in capsys.readouterr().err
    (tmp_path / "cifar10-jpeg.npz").write_bytes(b"")  # found by name; read by the campaign
    assert lease.parse_args(["--out", "x", "--data-dir", str(tmp_path)]).data_dir == tmp_path
    # Without the campaign no data is needed.
    assert lease.parse_args(["--out", "x", "--skip", "campaign"]).data_dir is None
