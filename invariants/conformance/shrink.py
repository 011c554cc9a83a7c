"""The smallest gradient sequence that still shows a divergence (Hypothesis).

``hypothesis.find`` searches short sequences on two small tensors and shrinks
the first one it finds that makes the target and the reference part: fewer
steps, simpler numbers. The strategy builds valid inputs directly (finite
values, a per-step scale from the battery's range) instead of filtering.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from invariants.conformance.trajectory import Scenario

SHRINK_SHAPES: tuple[tuple[int, ...], ...] = ((3,), (2, 2))
SHRINK_PARAMS = (np.array([0.5, -1.0, 2.0]), np.array([[1.0, -0.5], [0.25, 1.5]]))
STEP_SCALES = (1.0, 1e-2, 1e-7, 1e4)


@st.composite
def _step(draw: Callable[..., Any]) -> tuple[np.ndarray, ...]:
    scale = draw(st.sampled_from(STEP_SCALES))
    grads = []
    for shape in SHRINK_SHAPES:
        size = int(np.prod(shape))
        values = draw(
            st.lists(
                st.floats(-4.0, 4.0, allow_nan=False, allow_infinity=False),
                min_size=size,
                max_size=size,
            )
        )
        grads.append(scale * np.array(values, dtype=np.float64).reshape(shape))
    return tuple(grads)


def scenarios(max_steps: int = 8) -> st.SearchStrategy[Scenario]:
    """Short scenarios on :data:`SHRINK_SHAPES`."""
    return st.lists(_step(), min_size=1, max_size=max_steps).map(
        lambda steps: Scenario(params=SHRINK_PARAMS, gradients=tuple(steps))
    )


def smallest(
    shows_divergence: Callable[[Scenario], bool], max_examples: int = 300
) -> Scenario | None:
    """The shrunk scenario, or ``None`` if the search found none in its budget."""
    try:
        return find(
            scenarios(),
            shows_divergence,
            settings=settings(
                max_examples=max_examples,
                derandomize=True,
                database=None,
                deadline=None,
                phases=(Phase.generate, Phase.shrink),
                suppress_health_check=list(HealthCheck),
            ),
        )
    except NoSuchExample:
        return None


def describe(scenario: Scenario) -> list[list[list[float]]]:
    """The scenario's gradients as nested lists (for JSON and Markdown)."""
    return [
        [None if g is None else np.asarray(g).tolist() for g in step] for step in scenario.gradients
    ]
