"""The training stage as the report and ``python -m experiments.training`` see it
(:mod:`theory.stage_protocol`).

Outside the report's full mode, claims about the papers' scale or data are recorded as
needing a GPU or data without spending CPU time on their reduced studies
(``--skip-scale-bound``); with ``--gpu`` the papers' protocols also run on CUDA.
"""

from __future__ import annotations

import os
from pathlib import Path

from theory.stage_protocol import Stage


def _report_run_options(out: Path) -> tuple[str, ...]:
    """The runs kept beside the stage's records, trained on every core, without progress."""
    return ("--runs", str(out / "runs"), "--quiet", "--jobs", str(os.cpu_count() or 1))


_REDUCED = ("--scale", "reduced")
_SKIP = ("--skip-scale-bound",)

TRAINING = Stage(
    "experiments.training",
    ("emp", "gpu"),
    "experiments.training.claims:STUDIES",
    "training studies",
    budgets={
        "quick": (*_REDUCED, "--epochs", "2", "--train-subset", "600", *_SKIP),
        "default": (*_REDUCED, *_SKIP),
        "full": _REDUCED,
    },
    shares_work=True,
    gpu_budget=("--scale", "paper", "--device", "cuda"),
    run_options=_report_run_options,
)


def paper_scale_command(claim_id: str) -> str:
    """The command that runs a claim's study at the papers' scale, on CUDA."""
    return TRAINING.command([claim_id], "--scale", "paper", "--device", "cuda")
