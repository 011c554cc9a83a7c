"""The one way the theory stage searches for a counterexample with Hypothesis.

Every numeric search of ``theory/`` (Lemma 1, AdaRem's reference instance, Aida's
projections) asks the same question, "is there an input for which this
condition holds?", and must give the same answer on every run: it searches under
the derandomized profile of :mod:`theory.profiles` (no example database, no
deadline; ``hypothesis.find`` turns every health check off, as the conditions
reject most inputs by design), with the stage's own example count. Hypothesis is
imported here, on first use, so that the symbolic checks do not pay for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

PROFILE = "ci"
"""The derandomized profile: the same examples on every run and machine."""


def find_example(strategy: Any, condition: Callable[[Any], bool], max_examples: int) -> Any:
    """The shrunk example of ``strategy`` for which ``condition`` holds, or ``None`` when
    none turned up in ``max_examples`` tries (the strategies here never draw ``None``)."""
    from hypothesis import find
    from hypothesis.errors import NoSuchExample

    from theory.profiles import search_settings

    try:
        return find(strategy, condition, settings=search_settings(PROFILE, max_examples))
    except NoSuchExample:
        return None
