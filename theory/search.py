"""The one way the theory stage searches for a counterexample with Hypothesis.

Every numeric search of ``theory/`` (Lemma 1, AdaRem's reference instance, Aida's
projections) asks the same question, "is there an input for which this
condition holds?", and must give the same answer on every run: derandomized, no
example database, no deadline, no health checks (the conditions reject most
inputs by design). Hypothesis is imported here, on first use, so that the
symbolic checks do not pay for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def find_example(strategy: Any, condition: Callable[[Any], bool], max_examples: int) -> Any:
    """The shrunk example of ``strategy`` for which ``condition`` holds, or ``None`` when
    none turned up in ``max_examples`` tries (the strategies here never draw ``None``)."""
    from hypothesis import HealthCheck, find, settings
    from hypothesis.errors import NoSuchExample

    deterministic = settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    try:
        return find(strategy, condition, settings=deterministic)
    except NoSuchExample:
        return None
