"""The regret stage as the report and ``python -m experiments.regret`` see it
(:mod:`theory.stage_protocol`): the quick sizes unless the report runs in full."""

from __future__ import annotations

from theory.stage_protocol import Stage

REGRET = Stage(
    "experiments.regret",
    ("reg",),
    "experiments.regret.claims:VERDICTS",
    "online-convex regret experiments",
    budgets={"quick": ("--quick",), "default": ("--quick",), "full": ("--full",)},
    shares_work=True,
)
