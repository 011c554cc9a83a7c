"""Plots for the report, drawn from the training runs' logs (and collected from other stages).

Every function returns ``(path, caption)`` pairs; a caption says what the
figure shows and what to look at. Colours come from :mod:`experiments.palette`
(one colour per optimizer in every figure; an optimizer's variants differ by
line style)."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from experiments import palette
from experiments.training.recorded import campaign_runs, campaigns, load_campaign

Figure = tuple[Path, str]
"""A drawn figure and its caption."""


def load_runs(runs_dir: Path) -> list[dict[str, Any]]:
    """Every training run's log under ``runs_dir``."""
    return [json.loads(p.read_text()) for p in sorted(runs_dir.rglob("history.json"))]


def load_recorded_runs(claim_ids: Collection[str] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Each recorded campaign's run logs, by a figure tag naming the campaign; the campaigns
    are those :func:`experiments.training.recorded.campaigns` finds that studied one of
    ``claim_ids`` (default: all); one with no run logs has no figures."""
    runs = {}
    for folder in campaigns():
        if claim_ids is not None:
            _, records = load_campaign(folder)
            if not {r.claim_id for r in records} & set(claim_ids):
                continue
        logs = campaign_runs(folder)
        if logs is not None:
            runs[f"recorded {folder.name}"] = logs
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


def _curve(ax, runs: list[dict[str, Any]], metric: str, label: str, style: str) -> None:
    epochs = [e["epoch"] for e in runs[0]["history"]]
    values = [[e[metric] for e in r["history"]] for r in runs if len(r["history"]) == len(epochs)]
    if not values:
        return
    mean = [sum(col) / len(col) for col in zip(*values, strict=True)]
    color = palette.color(label)
    ax.plot(epochs, mean, label=label, color=color, ls=style)
    for series in values:
        ax.plot(epochs, series, color=color, ls=style, alpha=0.25, linewidth=0.8)


def training_curves(runs: list[dict[str, Any]], out: Path, tag: str) -> list[Figure]:
    """Per protocol: test accuracy, training loss and first-moment input norm per epoch."""
    paths = []
    protocols: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(dict)
    for arm, arm_runs in _by_arm(runs).items():
        protocol, name = arm.split(" / ")
        protocols[protocol][name] = arm_runs
    for protocol, arms in sorted(protocols.items()):
        fig, axes = plt.subplots(1, 3, figsize=(15, 4))
        names = sorted(arms)
        for name in names:
            style = palette.line_style(name, names)
            _curve(axes[0], arms[name], "test_accuracy", name, style)
            _curve(axes[1], arms[name], "train_loss", name, style)
            _curve(axes[2], arms[name], "mean_first_moment_input_norm", name, style)
        for ax, title, unit in zip(
            axes,
            ("test accuracy", "training loss", "first-moment input"),
            ("accuracy (%)", "cross-entropy (log scale)", "mean ‖g_t‖ or ‖s_t‖ over layers"),
            strict=True,
        ):
            ax.set_title(title)
            ax.set_xlabel("epoch")
            ax.set_ylabel(unit)
        axes[1].set_yscale("log")
        axes[0].legend(fontsize=7, ncol=2)
        fig.suptitle(f"{protocol} ({tag}); thin lines: seeds, thick: mean")
        fig.tight_layout()
        path = out / f"training-{_slug(tag)}-{_slug(protocol)}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        caption = (
            f"Training curves, {protocol} ({tag}): test accuracy, training loss and the norm of "
            "what enters the first moment (s_t for the AdaNorm variants, g_t otherwise), per "
            "epoch; thin lines are seeds, thick lines their mean. Look at: the order of the "
            "optimizers at the last epoch against the paper's claim, and whether the seeds' "
            "spread is smaller than the gaps."
        )
        paths.append((path, caption))
    return paths


def step_size_statistics(runs: list[dict[str, Any]], out: Path, tag: str) -> list[Figure]:
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
        names = sorted(chosen)
        for name in names:
            rows = chosen[name]["history"][-1]["layer_step_sizes"]
            look = {"color": palette.color(name), "ls": palette.line_style(name, names)}
            axes[0].plot([r["mean"] for r in rows], marker="o", markersize=3, label=name, **look)
            axes[1].plot([r["std"] for r in rows], marker="o", markersize=3, label=name, **look)
        for ax, title in zip(
            axes, ("layerwise mean step size", "layerwise std of step sizes"), strict=True
        ):
            ax.set_yscale("log")
            ax.set_xlabel("layer (parameter tensor, input to output)")
            ax.set_ylabel("elementwise step size per unit rate (log scale)")
            ax.set_title(title)
        axes[0].legend(fontsize=7)
        fig.suptitle(f"{protocol} ({tag}), last epoch, seed 0")
        fig.tight_layout()
        path = out / f"step-sizes-{_slug(tag)}-{_slug(protocol)}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        caption = (
            f"Layerwise step sizes, {protocol} ({tag}), last epoch, seed 0: mean (left) and "
            "standard deviation (right) of the elementwise step sizes in each parameter tensor. "
            "Look at: the right panel for AB-1 and AI-5 (the claimed optimizer's spread should "
            "be the smaller one in every layer)."
        )
        paths.append((path, caption))
    return paths


def _stage_caption(png: Path) -> str:
    """A stage's figure's caption: the regret plots' own, keyed by the file name's end."""
    from experiments.regret.plots import CAPTIONS

    subject, _, kind = png.stem.rpartition("_")
    if kind in CAPTIONS and subject:
        return f"{subject}: {CAPTIONS[kind]}"
    return png.stem


def collect_stage_figures(stages_dir: Path, out: Path) -> list[Figure]:
    """PNG files a stage drew itself (e.g. regret curves), copied next to the report."""
    paths = []
    for png in sorted(stages_dir.rglob("*.png")):
        if "runs" in png.parts:
            continue
        target = out / f"{png.parent.name}-{png.name}"
        shutil.copyfile(png, target)
        paths.append((target, _stage_caption(png)))
    return paths


def draw_all(report_dir: Path, claim_ids: Collection[str] | None = None) -> list[Figure]:
    """Every figure of the report: this run's training, the recorded GPU runs of the report's
    claims (``claim_ids``, default all), the stages'."""
    plots = report_dir / "figures"
    plots.mkdir(exist_ok=True)
    drawn: list[Figure] = []
    sources = {"this run": load_runs(report_dir / "stages" / "training" / "runs")}
    for tag, runs in {**sources, **load_recorded_runs(claim_ids)}.items():
        if runs:
            drawn += training_curves(runs, plots, tag)
            drawn += step_size_statistics(runs, plots, tag)
    return drawn + collect_stage_figures(report_dir / "stages", plots)
