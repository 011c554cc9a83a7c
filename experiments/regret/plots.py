"""Per-problem figures (matplotlib, Agg): ``R(T)/T`` with the bounds against T, and iterates."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display (CI and headless machines)
import matplotlib.pyplot as plt
import numpy as np

#: bounds drawn next to the regret (name in the summary → legend text)
DRAWN_BOUNDS = {
    "wacv": ("Thm 2 bound (1-η)²", "--"),
    "arxiv": ("Thm 1 bound (1-γ)²", ":"),
    "adarem": ("AdaRem Thm 1 bound", "-."),
    "zinkevich": ("Zinkevich bound", "--"),
}


def plot_problem(
    key: str, summary: dict, arrays: dict[str, np.ndarray], out_dir: str | os.PathLike
) -> list[Path]:
    """Write ``<key>_regret.png`` and ``<key>_iterates.png`` into ``out_dir``; return the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    horizons = arrays["horizons"].astype(np.float64)
    regret = arrays["regret"]
    labels = [arm["label"] for arm in summary["arms"]]
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]

    fig, ax = plt.subplots(figsize=(9, 5.5))
    for a, label in enumerate(labels):
        color = colors[a % len(colors)]
        avg = regret[a] / horizons  # (B, H)
        ax.plot(horizons, np.median(avg, axis=0), color=color, label=label, lw=1.6)
        if avg.shape[0] > 1:
            lo, hi = np.percentile(avg, [10, 90], axis=0)
            ax.fill_between(horizons, lo, hi, color=color, alpha=0.15, lw=0)
        for name, text in DRAWN_BOUNDS.items():
            key_b = f"bound/{a}/{name}"
            if key_b in arrays and label in ("AdamNorm", "AdaRem(λ=0.5)", "OGD"):
                ax.plot(
                    horizons,
                    arrays[key_b] / horizons,
                    color=color,
                    ls="--",
                    lw=1.0,
                    label=f"{text} / T ({label})",
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
    ax.set_xlabel("T")
    ax.set_ylabel("R(T)/T  (median, 10-90% band over instances)")
    ax.set_title(
        f"{key}: average regret and bounds (T = {summary['T']}, {summary['instances']} instances)"
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    regret_png = out / f"{key}_regret.png"
    fig.savefig(regret_png, dpi=110)
    plt.close(fig)

    traj = arrays["trajectory"]  # (A, H, d)
    best = arrays["best_point"]  # (H, d)
    coords = min(traj.shape[-1], 2)
    fig, axes = plt.subplots(coords, 1, figsize=(9, 3.2 * coords), squeeze=False)
    for i in range(coords):
        ax = axes[i, 0]
        for a, label in enumerate(labels):
            ax.plot(horizons, traj[a, :, i], color=colors[a % len(colors)], label=label, lw=1.2)
        ax.plot(horizons, best[:, i], color="black", ls=":", lw=1.5, label="best fixed point θ*_T")
        ax.set_xscale("log")
        ax.set_ylabel(f"θ_t[{i}] (instance 0)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0, 0].set_title(f"{key}: iterates against the comparator")
    axes[-1, 0].set_xlabel("t")
    axes[0, 0].legend(fontsize=7, ncol=3)
    fig.tight_layout()
    iter_png = out / f"{key}_iterates.png"
    fig.savefig(iter_png, dpi=110)
    plt.close(fig)
    return [regret_png, iter_png]
