"""The theory stage as the report and ``python -m theory`` see it (:mod:`theory.stage_protocol`)."""

from __future__ import annotations

from theory.stage_protocol import Stage

_EXAMPLES = {"quick": "100", "default": "500", "full": "3000"}
"""Hypothesis examples per search in each report mode."""

THEORY = Stage(
    "theory",
    ("thy",),
    "theory.checks:CHECKS",
    "sympy derivations and numeric searches",
    budgets={mode: ("--examples", count) for mode, count in _EXAMPLES.items()},
)
