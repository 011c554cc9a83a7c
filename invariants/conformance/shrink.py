"""The smallest gradient sequence that still shows a divergence (Hypothesis).

``hypothesis.find`` searches short sequences on two small tensors and shrinks
the first one it finds that makes the target and the reference part: fewer
steps, simpler numbers. The strategy builds valid inputs directly (finite
values, a per-step scale from the check's range) instead of filtering. A
:class:`Setting` carries what a check does around the gradients, so that each
failing check is shrunk in its own terms: its scale, tensors without gradient,
learning-rate changes, two param groups (the second may join mid-run).

The search stops at a time budget: the smallest sequence found by then is the answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from optimizers.harness import ParamGroup, Scenario

SHRINK_SHAPES: tuple[tuple[int, ...], ...] = ((3,), (2, 2))
SHRINK_PARAMS = (np.array([0.5, -1.0, 2.0]), np.array([[1.0, -0.5], [0.25, 1.5]]))
STEP_SCALES = (1.0, 1e-2, 1e-7, 1e4)
LR_FACTORS = (1.0, 0.1, 3.0)
"""Factors on the initial learning rate a step may run at (1: no change, shrunk to)."""


@dataclass(frozen=True)
class Setting:
    """What a check does around the gradient sequence, kept by the shrunk sequences."""

    scales: tuple[float, ...] = STEP_SCALES
    """The per-step gradient scales to draw from (the first is the one shrunk to)."""
    missing: bool = False
    """A tensor may have no gradient at a step."""
    lr_changes: bool = False
    """Each step may run at a factor of :data:`LR_FACTORS` on the initial learning rate."""
    groups: tuple[Mapping[str, Any], Mapping[str, Any]] | None = None
    """Options of two param groups, one per tensor; the second may join mid-run."""


UNIT = Setting(scales=(1.0,))
"""Gradients at the unit scale, nothing else: the setting of most checks."""


@st.composite
def _step(
    draw: Callable[..., Any], setting: Setting
) -> tuple[float, tuple[np.ndarray | None, ...]]:
    """One step: the learning-rate factor it runs at (drawn with the step, so that the
    shrinker deletes both together) and its gradients."""
    factor = draw(st.sampled_from(LR_FACTORS)) if setting.lr_changes else 1.0
    scale = draw(st.sampled_from(setting.scales))
    grads: list[np.ndarray | None] = []
    for shape in SHRINK_SHAPES:
        size = int(np.prod(shape))
        values = st.lists(
            st.floats(-4.0, 4.0, allow_nan=False, allow_infinity=False),
            min_size=size,
            max_size=size,
        )
        # Values first: a missing gradient appears only where the failure needs it.
        drawn = draw(st.one_of(values, st.none()) if setting.missing else values)
        grads.append(
            None if drawn is None else scale * np.array(drawn, dtype=np.float64).reshape(shape)
        )
    return factor, tuple(grads)


@st.composite
def _scenario(draw: Callable[..., Any], setting: Setting, max_steps: int) -> Scenario:
    drawn = draw(st.lists(_step(setting), min_size=1, max_size=max_steps))
    steps = [grads for _, grads in drawn]
    options: dict[str, Any] = {}
    if setting.lr_changes:
        # Scenario.lr_factors holds the changes: the factor in force from that step on.
        factors = [1.0] + [factor for factor, _ in drawn]
        options["lr_factors"] = {
            t: factors[t + 1] for t in range(len(steps)) if factors[t + 1] != factors[t]
        }
    if setting.groups is not None:
        joins = draw(st.integers(0, len(steps) - 1))
        first, second = setting.groups
        options["groups"] = (ParamGroup((0,), first), ParamGroup((1,), second, added_at=joins))
    return Scenario(params=SHRINK_PARAMS, gradients=tuple(steps), **options)


def scenarios(setting: Setting = Setting(), max_steps: int = 8) -> st.SearchStrategy[Scenario]:
    """Short scenarios on :data:`SHRINK_SHAPES` in ``setting``."""
    return _scenario(setting, max_steps)


class _OutOfTime(Exception):
    """The time budget is spent: the smallest sequence found so far is the answer."""


def smallest(
    shows_divergence: Callable[[Scenario], bool],
    setting: Setting = Setting(),
    max_examples: int = 300,
    seconds: float | None = None,
) -> Scenario | None:
    """The shrunk scenario, or ``None`` if the search found none in its budget
    (``max_examples`` generated sequences, and ``seconds`` of search and shrinking)."""
    deadline = None if seconds is None else time.monotonic() + seconds
    found: list[Scenario] = []

    def condition(scenario: Scenario) -> bool:
        if deadline is not None and time.monotonic() > deadline:
            raise _OutOfTime
        if shows_divergence(scenario):
            # Once one is found Hypothesis only tries smaller ones: the last is the smallest.
            found[:] = [scenario]
            return True
        return False

    try:
        return find(
            scenarios(setting),
            condition,
            settings=settings(
                max_examples=max_examples,
                derandomize=True,
                database=None,
                deadline=None,
                phases=(Phase.generate, Phase.shrink),
                suppress_health_check=list(HealthCheck),
                report_multiple_bugs=False,
            ),
        )
    except NoSuchExample:
        return None
    except _OutOfTime:
        return found[0] if found else None


def describe(scenario: Scenario) -> list[list[list[float] | None]]:
    """The scenario's gradients as nested lists (for JSON and Markdown)."""
    return [
        [None if g is None else np.asarray(g).tolist() for g in step] for step in scenario.gradients
    ]
