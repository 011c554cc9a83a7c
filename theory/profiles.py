"""Hypothesis profiles ``dev``, ``ci`` and ``thorough``, chosen by ``HYPOTHESIS_PROFILE``.

* ``dev`` (default): quick, random, for editing.
* ``ci``: derandomized (the same examples on every run and machine), fixed
  example counts, no deadline, no database; the whole invariant suite runs in
  a few minutes on 2 cores (``pytest -n 2``).
* ``thorough``: thousands of examples, failures kept in a persistent example
  database under ``.hypothesis/invariants`` so they are tried first next time.

The same profile sets both the ``@given`` spec tests (``max_examples``) and the
counterexample searches of the claim checks (:func:`claim_examples`). The profiles live
in ``theory``, the lowest layer that searches with Hypothesis: the theory stage's
searches run under ``ci``'s settings (:mod:`theory.search`) with their own example
counts, the invariant stage's under the profile it is given.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

ENV = "HYPOTHESIS_PROFILE"
DEFAULT = "dev"


@dataclass(frozen=True)
class Budget:
    """Examples per ``@given`` spec test and per claim search (before a claim's cost factor)."""

    spec_examples: int
    claim_examples: int
    derandomize: bool


BUDGETS = {
    "dev": Budget(spec_examples=20, claim_examples=25, derandomize=False),
    "ci": Budget(spec_examples=30, claim_examples=60, derandomize=True),
    "thorough": Budget(spec_examples=1000, claim_examples=2000, derandomize=False),
}

_SUPPRESSED = (HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much)


def register() -> None:
    """Register the three profiles with Hypothesis (idempotent)."""
    common = {"deadline": None, "suppress_health_check": _SUPPRESSED, "print_blob": True}
    settings.register_profile(
        "dev", max_examples=BUDGETS["dev"].spec_examples, database=None, **common
    )
    settings.register_profile(
        "ci",
        max_examples=BUDGETS["ci"].spec_examples,
        derandomize=True,
        database=None,
        **common,
    )
    settings.register_profile(
        "thorough",
        max_examples=BUDGETS["thorough"].spec_examples,
        database=DirectoryBasedExampleDatabase(".hypothesis/invariants"),
        **common,
    )


def active_name() -> str:
    """The profile named by ``HYPOTHESIS_PROFILE`` (``dev`` when unset)."""
    name = os.environ.get(ENV, DEFAULT)
    if name not in BUDGETS:
        raise ValueError(f"{ENV} must be one of {sorted(BUDGETS)}, got {name!r}")
    return name


def load(name: str | None = None) -> str:
    """Register the profiles and load ``name`` (default: the environment's); return it."""
    register()
    chosen = active_name() if name is None else name
    if chosen not in BUDGETS:
        raise ValueError(f"profile must be one of {sorted(BUDGETS)}, got {chosen!r}")
    settings.load_profile(chosen)
    return chosen


def claim_examples(profile: str, cost: float = 1.0) -> int:
    """Examples for one claim search: the profile's count divided by the claim's cost."""
    return max(5, int(BUDGETS[profile].claim_examples / cost))


def search_settings(profile: str, max_examples: int) -> settings:
    """Settings for one ``hypothesis.find`` search under ``profile``."""
    budget = BUDGETS[profile]
    database = (
        DirectoryBasedExampleDatabase(".hypothesis/invariants") if profile == "thorough" else None
    )
    return settings(
        max_examples=max_examples,
        derandomize=budget.derandomize,
        database=database,
        deadline=None,
        suppress_health_check=_SUPPRESSED,
    )
