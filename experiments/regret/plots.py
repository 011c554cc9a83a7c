"""Per-problem figures (matplotlib, Agg): ``R(T)/T`` with the bounds against T, and iterates."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display (CI and headless machines)
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from experiments import palette

#: bounds drawn next to the regret: name in the summary → (legend name, marker); a bound is a
#: thin dotted line with markers in the colour of the optimizer it bounds
DRAWN_BOUNDS = {
    "wacv": ("AdaNorm WACV Thm 2 bound, (1-η)²", "v"),
    "arxiv": ("AdaNorm arXiv Thm 1 bound, (1-γ)²", "^"),
    "adarem": ("AdaRem Thm 1 bound", "s"),
    "zinkevich": ("Zinkevich bound", "o"),
}
#: the arms whose bounds are drawn (one per theorem, so the figure stays readable)
BOUNDED_ARMS = ("AdamNorm", "AdaRem(λ=0.5)", "OGD")

CAPTIONS = {
    "regret": (
        "Average regret R(T)/T (median over instances, band: 10-90 %) against the horizon T, "
        "with each theorem's bound divided by T in the bounded optimizer's colour. Look at: "
        "an optimizer line above its own bound line falsifies that bound (AN-7, AR-7); a line "
        "that levels off instead of falling means R(T) grows linearly (AN-8); OGD under the "
        "Zinkevich bound is the pipeline's self-check."
    ),
    "iterates": (
        "First coordinates of the iterates θ_t of instance 0 against t, with the best fixed "
        "point in hindsight θ*_T (grey, dotted). Look at: an optimizer that settles away from "
        "θ*_T keeps paying regret every round."
    ),
}
"""What each figure shows and what to look at; keyed by the file name's last part."""


def regret_figure(key: str, summary: dict, arrays: dict[str, np.ndarray]) -> Figure:
    """R(T)/T of every arm against T, with the bounds of the bounded arms."""
    horizons = arrays["horizons"].astype(np.float64)
    regret = arrays["regret"]
    labels = [arm["label"] for arm in summary["arms"]]

    fig, ax = plt.subplots(figsize=(9, 5.5))
    for a, label in enumerate(labels):
        color = palette.color(label)
        avg = regret[a] / horizons  # (B, H)
        ax.plot(
            horizons,
            np.median(avg, axis=0),
            color=color,
            ls=palette.line_style(label, labels),
            label=label,
            lw=1.6,
        )
        if avg.shape[0] > 1:
            lo, hi = np.percentile(avg, [10, 90], axis=0)
            ax.fill_between(horizons, lo, hi, color=color, alpha=0.15, lw=0)
        for name, (text, marker) in DRAWN_BOUNDS.items():
            key_b = f"bound/{a}/{name}"
            if key_b in arrays and label in BOUNDED_ARMS:
                ax.plot(
                    horizons,
                    arrays[key_b] / horizons,
                    color=color,
                    ls=palette.BOUND_STYLE,
                    marker=marker,
                    markevery=0.1,
                    markersize=4,
                    lw=1.0,
                    label=f"{text} / T, for {label}",
                )
    ax.set_xscale("log")
    plotted = np.concatenate([line.get_ydata() for line in ax.get_lines()])
    plotted = plotted[np.isfinite(plotted)]
    if plotted.size and np.all(plotted > 0):
        ax.set_yscale("log")
    else:
        # negative average regret (the iterates beat the fixed comparator): a symmetric log scale
        peak = float(np.max(np.abs(plotted))) if plotted.size else 1.0
        ax.set_yscale("symlog", linthresh=max(peak * 1e-4, 1e-12))
    ax.set_xlabel("horizon T (rounds)")
    ax.set_ylabel("average regret R(T)/T (loss per round)")
    ax.set_title(
        f"{key}: average regret and bounds (T = {summary['T']}, {summary['instances']} instances)"
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def iterates_figure(key: str, summary: dict, arrays: dict[str, np.ndarray]) -> Figure:
    """The first coordinates of every arm's iterates against the best fixed point."""
    horizons = arrays["horizons"].astype(np.float64)
    labels = [arm["label"] for arm in summary["arms"]]
    traj = arrays["trajectory"]  # (A, H, d)
    best = arrays["best_point"]  # (H, d)
    coords = min(traj.shape[-1], 2)
    fig, axes = plt.subplots(coords, 1, figsize=(9, 3.2 * coords), squeeze=False)
    for i in range(coords):
        ax = axes[i, 0]
        for a, label in enumerate(labels):
            ax.plot(
                horizons,
                traj[a, :, i],
                color=palette.color(label),
                ls=palette.line_style(label, labels),
                label=label,
                lw=1.2,
            )
        ax.plot(
            horizons,
            best[:, i],
            color=palette.UNKNOWN,
            ls=":",
            lw=1.5,
            label="best fixed point θ*_T",
        )
        ax.set_xscale("log")
        ax.set_ylabel(f"coordinate θ_t[{i}] (instance 0)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0, 0].set_title(f"{key}: iterates against the comparator")
    axes[-1, 0].set_xlabel("round t")
    axes[0, 0].legend(fontsize=7, ncol=3)
    fig.tight_layout()
    return fig


def plot_problem(
    key: str, summary: dict, arrays: dict[str, np.ndarray], out_dir: str | os.PathLike
) -> list[Path]:
    """Write ``<key>_regret.png`` and ``<key>_iterates.png`` into ``out_dir``; return the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind, draw in (("regret", regret_figure), ("iterates", iterates_figure)):
        fig = draw(key, summary, arrays)
        path = out / f"{key}_{kind}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths
