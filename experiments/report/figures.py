"""Plots for the report, drawn from the training runs' logs (and collected from other stages)."""

from __future__ import annotations

import gzip
import json
import shutil
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

RECORDED_GPU = Path(__file__).resolve().parents[1] / "training" / "recorded"


def load_runs(runs_dir: Path) -> list[dict[str, Any]]:
    """Every training run's log under ``runs_dir``."""
    return [json.loads(p.read_text()) for p in sorted(runs_dir.rglob("history.json"))]


def load_recorded_gpu_runs() -> list[dict[str, Any]]:
    runs = []
    for path in sorted(RECORDED_GPU.glob("*/runs.json.gz")):
        with gzip.open(path, "rt") as fh:
            runs.extend(json.load(fh))
    return runs


def _slug(text: str) -> str:
    """A file-name-safe form of a label ('recorded H100' -> 'recorded-H100')."""
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text)


def _arm(run: dict[str, Any]) -> str:
    """'protocol / optimizer[-options]' from the run key 'protocol/optimizer/seedN'."""
    protocol, arm, _ = run["run"].rsplit("/", 2)
    return f"{protocol} / {arm}"


def _by_arm(runs: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for run in runs:
        grouped[_arm(run)].append(run)
    return dict(grouped)


def _curve(ax, runs: list[dict[str, Any]], metric: str, label: str) -> None:
    epochs = [e["epoch"] for e in runs[0]["history"]]
    values = [[e[metric] for e in r["history"]] for r in runs if len(r["history"]) == len(epochs)]
    if not values:
        return
    mean = [sum(col) / len(col) for col in zip(*values, strict=True)]
    line = ax.plot(epochs, mean, label=label)[0]
    for series in values:
        ax.plot(epochs, series, color=line.get_color(), alpha=0.25, linewidth=0.8)


def training_curves(runs: list[dict[str, Any]], out: Path, tag: str) -> list[Path]:
    """Per protocol: test accuracy, training loss and first-moment input norm per epoch."""
    paths = []
    protocols: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(dict)
    for arm, arm_runs in _by_arm(runs).items():
        protocol, name = arm.split(" / ")
        protocols[protocol][name] = arm_runs
    for protocol, arms in sorted(protocols.items()):
        fig, axes = plt.subplots(1, 3, figsize=(15, 4))
        for name, arm_runs in sorted(arms.items()):
            _curve(axes[0], arm_runs, "test_accuracy", name)
            _curve(axes[1], arm_runs, "train_loss", name)
            _curve(axes[2], arm_runs, "mean_first_moment_input_norm", name)
        for ax, title in zip(
            axes,
            ("test accuracy (%)", "training loss", "mean norm of the first-moment input"),
            strict=True,
        ):
            ax.set_title(title)
            ax.set_xlabel("epoch")
        axes[1].set_yscale("log")
        axes[0].legend(fontsize=7, ncol=2)
        fig.suptitle(f"{protocol} ({tag}); thin lines: seeds, thick: mean")
        fig.tight_layout()
        path = out / f"training-{_slug(tag)}-{_slug(protocol)}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        paths.append(path)
    return paths


def step_size_statistics(runs: list[dict[str, Any]], out: Path, tag: str) -> list[Path]:
    """Layerwise mean and std of the elementwise step sizes at the last epoch (AI-5, AB-1)."""
    arms = {
        arm: arm_runs
        for arm, arm_runs in _by_arm(runs).items()
        if arm_runs[0]["history"] and arm_runs[0]["history"][-1]["layer_step_sizes"]
    }
    if not arms:
        return []
    paths = []
    by_protocol: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for arm, arm_runs in arms.items():
        protocol, name = arm.split(" / ")
        by_protocol[protocol][name] = arm_runs[0]
    for protocol, chosen in sorted(by_protocol.items()):
        if not any(n.startswith(("Aida", "AdaBelief")) for n in chosen):
            continue
        fig, axes = plt.subplots(1, 2, figsize=(12, 4))
        for name, run in sorted(chosen.items()):
            rows = run["history"][-1]["layer_step_sizes"]
            axes[0].plot([r["mean"] for r in rows], marker="o", markersize=3, label=name)
            axes[1].plot([r["std"] for r in rows], marker="o", markersize=3, label=name)
        for ax, title in zip(
            axes, ("layerwise mean step size", "layerwise std of step sizes"), strict=True
        ):
            ax.set_yscale("log")
            ax.set_xlabel("layer (parameter tensor)")
            ax.set_title(title)
        axes[0].legend(fontsize=7)
        fig.suptitle(f"{protocol} ({tag}), last epoch, seed 0")
        fig.tight_layout()
        path = out / f"step-sizes-{_slug(tag)}-{_slug(protocol)}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        paths.append(path)
    return paths


def collect_stage_figures(stages_dir: Path, out: Path) -> list[Path]:
    """PNG files a stage drew itself (e.g. regret curves), copied next to the report."""
    paths = []
    for png in sorted(stages_dir.rglob("*.png")):
        if "runs" in png.parts:
            continue
        target = out / f"{png.parent.name}-{png.name}"
        shutil.copyfile(png, target)
        paths.append(target)
    return paths
