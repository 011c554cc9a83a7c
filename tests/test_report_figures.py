"""Figure hygiene: readable legends, one colour per optimizer in every figure, captions."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest
from matplotlib.colors import to_hex

from experiments import palette
from experiments.regret.config import PROBLEMS, make_arms
from experiments.regret.plots import CAPTIONS, DRAWN_BOUNDS, iterates_figure, regret_figure
from experiments.regret.runner import run_problem
from experiments.regret.summary import summarise
from experiments.report import figures
from experiments.report.document import Badge, Paragraph, Table, to_html
from theory.verdicts import FALSIFIED, NEEDS_DATA, VERDICTS
from theory.verdicts import NOT_REPRODUCED as NR


@pytest.fixture(scope="module")
def regret_run() -> tuple[dict, dict]:
    """A tiny real run of the Reddi problem (every arm, two instances, T = 200)."""
    spec = PROBLEMS["reddi-periodic"]
    problem = spec.build()
    arms = make_arms(spec, problem)
    raw = run_problem(problem, arms, 200, [0, 1])
    return summarise(problem, arms, raw)


def _legend(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().texts]


def _line_colors(fig) -> dict[str, str]:
    return {
        line.get_label(): to_hex(line.get_color())
        for ax in fig.axes
        for line in ax.get_lines()
        if not line.get_label().startswith("_")
    }


def test_regret_legend_names_the_bounds_and_prints_no_tuples(regret_run) -> None:
    summary, arrays = regret_run
    fig = regret_figure("reddi-periodic", summary, arrays)
    legend = _legend(fig)
    plt.close(fig)
    assert not [t for t in legend if "('" in t or "')" in t], legend
    drawn = [text for text, _ in DRAWN_BOUNDS.values() if any(t.startswith(text) for t in legend)]
    assert "Zinkevich bound" in drawn and any("AdaNorm" in d for d in drawn), legend
    assert "horizon T" in fig.axes[0].get_xlabel() and "R(T)/T" in fig.axes[0].get_ylabel()


def test_one_colour_per_optimizer_across_figures(regret_run, tmp_path: Path) -> None:
    summary, arrays = regret_run
    regret = regret_figure("reddi-periodic", summary, arrays)
    iterates = iterates_figure("reddi-periodic", summary, arrays)
    for fig in (regret, iterates):
        colors = _line_colors(fig)
        for arm in summary["arms"]:
            assert colors[arm["label"]] == palette.color(arm["label"]), arm["label"]
        plt.close(fig)
    # the training curves give AdamNorm and Adam the same colours as the regret figures
    history = [
        {"epoch": e, "test_accuracy": 50.0 + e, "train_loss": 1.0 / e,
         "mean_first_moment_input_norm": 1.0, "layer_step_sizes": []}
        for e in (1, 2)
    ]  # fmt: skip
    runs = [
        {"run": f"proto/{name}/seed0", "optimizer": name.split("-")[0], "history": history}
        for name in ("Adam", "AdamNorm", "AdamNorm-gamma=0.9")
    ]
    [(path, caption)] = figures.training_curves(runs, tmp_path, "test")
    assert path.exists() and "Look at" in caption
    assert palette.color("AdamNorm") == palette.color("AdamNorm(λ=1-1e-8)")
    assert palette.color("AdamNorm") != palette.color("Adam")
    assert palette.line_style("AdamNorm", ["AdamNorm", "AdamNorm-gamma=0.9"]) == "-"
    assert palette.line_style("AdamNorm-gamma=0.9", ["AdamNorm", "AdamNorm-gamma=0.9"]) != "-"


def test_every_optimizer_of_the_registry_has_its_own_colour() -> None:
    from optimizers.registry import REGISTRY

    colors = [palette.color(name) for name in REGISTRY]
    assert len(set(colors)) == len(colors)


def test_stage_figures_get_the_regret_captions(tmp_path: Path) -> None:
    stage = tmp_path / "stages" / "regret" / "regret" / "quick"
    stage.mkdir(parents=True)
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    fig.savefig(stage / "reddi-periodic_regret.png")
    plt.close(fig)
    [(path, caption)] = figures.collect_stage_figures(tmp_path / "stages", tmp_path)
    assert path.exists()
    assert caption == f"reddi-periodic: {CAPTIONS['regret']}"


def test_every_verdict_has_its_colour_in_the_report() -> None:
    assert set(palette.VERDICT_COLORS) == set(VERDICTS)
    page = to_html([Paragraph((Badge(NEEDS_DATA), " x")), Table(("reading",), ((NR,),))], "t")
    assert f".v-{NEEDS_DATA} {{ background: {palette.VERDICT_COLORS[NEEDS_DATA]}; }}" in page
    # a ladder rung's reading is coloured like the verdict it would be at the claim's scope
    assert '<td class="v-not-reproduced">not reproduced</td>' in page
    assert f".v-not-reproduced {{ background: {palette.VERDICT_COLORS[FALSIFIED]}; }}" in page


def test_recorded_campaign_runs_are_drawn_only_for_a_report_on_their_claims() -> None:
    (tag,) = figures.load_recorded_runs({"AB-1"})  # the H100 campaign studied AB-1
    assert tag.startswith("recorded ") and figures.load_recorded_runs({"AN-1"}) == {}
