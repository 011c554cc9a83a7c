"""What the report tests share: a headless Chromium run and a counterexample case."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
"""Debian's headless browser, or None (the rendering tests are then skipped)."""

AN5_CASE = {
    "optimizer": "AdamNorm",
    "shapes": [[]],
    "params": [{"shape": [], "values": [0.345584192064786]}],
    "grads": [
        [{"shape": [], "values": [1.8789852661499484]}],
        [{"shape": [], "values": [-0.18789852661499484]}],
    ],
    "hyper": {"lr": 0.001, "betas": [0.5, 0.0], "eps": 0.0, "gamma": 0.5, "weight_decay": 0.0},
    "extra": {"plan": {"profile": "sudden_drop", "magnitude": "moderate", "mode": "gaussian"}},
}
"""An invariants counterexample as stored: AN-5's sign flip after a norm drop."""


def chromium(page: Path, profile: Path, *options: str) -> subprocess.CompletedProcess:
    """Open ``page`` in headless Chromium with its own ``profile`` folder (``--dump-dom``,
    ``--screenshot=...`` as ``options``)."""
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=5000",
            *options,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def report_meta(command: str, stage: dict | None = None) -> dict:
    """The run metadata ``render.write_report`` takes, for a made-up report; ``stage``
    replaces the one made-up stage entry's fields."""
    made_up = {"name": "made-up", "claims": [], "seconds": 0.0, "reused": False, "error": None}
    return {
        "generated": "2026-01-01T00:00:00+00:00",
        "environment": {"python": "3", "torch": "2", "cpus": 2, "device": "cpu"},
        "mode": "test",
        "command": command,
        "stages": [made_up | (stage or {})],
    }
