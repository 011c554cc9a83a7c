"""The invariants stage as the report and ``python -m invariants`` see it
(:mod:`theory.stage_protocol`): one Hypothesis profile per report mode, the claims split
over the machine's cores."""

from __future__ import annotations

from theory.stage_protocol import Stage

_PROFILES = {"quick": "dev", "default": "ci", "full": "thorough"}
"""The profile (:mod:`theory.profiles`) of each report mode."""

INVARIANTS = Stage(
    "invariants",
    ("inv", "red"),
    "invariants.claims:CLAIMS",
    "Hypothesis properties",
    budgets={mode: ("--profile", profile) for mode, profile in _PROFILES.items()},
    sharded=True,
)
