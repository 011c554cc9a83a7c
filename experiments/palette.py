"""One colour per optimizer across every figure of the suite.

The colour belongs to the optimizer (the registry entry), not to the position
of a line in one plot: AdamNorm is the same colour in the regret figures, the
training curves and the step-size plots. Variants of one optimizer (other
hyperparameters, e.g. ``AdaRem(λ=0.5)`` or ``Aida-K=2``) keep its colour and
differ by line style. Arms that are no registry entry (OGD, AMSGrad in the
regret experiments) have their own fixed colours.
"""

from __future__ import annotations

from functools import cache

from matplotlib import colormaps
from matplotlib.colors import to_hex

from theory import verdicts

EXTRA_ARMS = {"OGD": "#000000", "AMSGrad": "#984ea3"}
"""Arms of the experiments that are not optimizers of the registry, with fixed colours
(OGD, the regret's control, in black: it stands out from every adaptive method)."""

UNKNOWN = "#999999"
"""A label that names no known optimizer (e.g. the comparator in the iterate plots)."""

VERDICT_COLORS = {
    verdicts.HOLDS: "#dff5df",
    verdicts.FALSIFIED: "#f9d6d5",
    verdicts.CONDITIONAL: "#fff1c9",
    verdicts.INCONCLUSIVE: "#e9e9f5",
    verdicts.NEEDS_GPU: "#e6f0fa",
    verdicts.NEEDS_DATA: "#e6f0fa",
}
"""Background of each verdict in the report (green holds, red falsified, amber conditional,
the open verdicts in pale blue); a claim without a verdict is :data:`NO_VERDICT_COLOR`."""

NO_VERDICT_COLOR = "#f4b6b6"

READING_COLORS = {
    verdicts.SUPPORTED: VERDICT_COLORS[verdicts.HOLDS],
    verdicts.NOT_REPRODUCED: VERDICT_COLORS[verdicts.FALSIFIED],
    verdicts.INCONCLUSIVE: VERDICT_COLORS[verdicts.INCONCLUSIVE],
}
"""What a rung of the evidence ladder reads at its scale, in the colour of the verdict it
would be if that rung matched the claim's scope."""

LINE_STYLES = ("-", "--", "-.", ":")
BOUND_STYLE = ":"
"""Bound curves are dotted in the colour of the optimizer they bound."""


@cache
def _names() -> tuple[str, ...]:
    from optimizers.registry import REGISTRY

    return (*REGISTRY, *EXTRA_ARMS)


@cache
def colors() -> dict[str, str]:
    """Optimizer name -> hex colour: tab10, then Dark2, then Set1 (saturated qualitative
    palettes, so no two optimizers share a hue family the way tab20's light/dark pairs do)."""
    cycle = list(
        dict.fromkeys(
            to_hex(c)
            for c in (
                *colormaps["tab10"].colors,
                *colormaps["Dark2"].colors,
                *colormaps["Set1"].colors,
            )
        )
    )
    cycle = [c for c in cycle if c not in EXTRA_ARMS.values()]
    from optimizers.registry import REGISTRY

    return {name: cycle[i % len(cycle)] for i, name in enumerate(REGISTRY)} | EXTRA_ARMS


def optimizer_of(label: str) -> str | None:
    """The optimizer a plot label names: the longest known name the label starts with
    ('AdaRem(λ=0.5)' -> 'AdaRem', 'AdamNorm-gamma=0.9' -> 'AdamNorm'), or None."""
    matches = [name for name in _names() if label.startswith(name)]
    return max(matches, key=len) if matches else None


def color(label: str) -> str:
    """The colour of the optimizer ``label`` names (:data:`UNKNOWN` for an unknown label)."""
    name = optimizer_of(label)
    return colors()[name] if name else UNKNOWN


def line_style(label: str, variants: list[str]) -> str:
    """Solid for the optimizer's plain arm, then dashed, dash-dotted, dotted for its variants
    (``variants``: every label drawn in the figure)."""
    name = optimizer_of(label)
    same = sorted(v for v in variants if optimizer_of(v) == name)
    if label == name or label not in same:
        return LINE_STYLES[0]
    plain_first = [v for v in same if v != name]
    return LINE_STYLES[(plain_first.index(label) + (name in same)) % len(LINE_STYLES)]
