"""Run every conformance check on one target and collect the verdict."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from invariants.conformance.checks import (
    CHECKS,
    FAIL,
    OPEN,
    SHRINK_SECONDS,
    Check,
    CheckResult,
    run_check,
    shrink_divergence,
)
from invariants.conformance.target import Target
from optimizers.harness import FLOAT32_TOLERANCE, FLOAT64_TOLERANCE
from optimizers.registry import REGISTRY

CONFORMS = "conforms"
CONFORMS_UNDER_OPEN_CHOICES = "conforms-under-open-choices"
DOES_NOT_CONFORM = "does-not-conform"


@dataclass
class ConformanceReport:
    """Everything one conformance run found about one target."""

    target: Target
    results: list[CheckResult]
    reference_arguments: dict[str, Any]
    seconds: float = 0.0
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if r.status == FAIL]

    @property
    def minimal(self) -> dict[str, Any] | None:
        """The first failure's smallest gradient sequence (``None``: none, or not shrunk)."""
        return next((r.minimal for r in self.failures if r.minimal is not None), None)

    @property
    def verdict(self) -> str:
        if self.failures:
            return DOES_NOT_CONFORM
        if any(r.status == OPEN for r in self.results):
            return CONFORMS_UNDER_OPEN_CHOICES
        return CONFORMS

    def as_json(self) -> dict[str, Any]:
        return {
            "target": self.target.label,
            "method": self.target.method,
            "paper_algorithm": REGISTRY[self.target.method].algorithm,
            "kwargs": jsonable(self.target.kwargs),
            "reference_arguments": jsonable(self.reference_arguments),
            "verdict": self.verdict,
            "tolerances": {"float64": FLOAT64_TOLERANCE, "float32": FLOAT32_TOLERANCE},
            "checks": [r.as_json() for r in self.results],
            "seconds": round(self.seconds, 2),
            "environment": self.environment,
        }


def jsonable(value: Any) -> Any:
    """``value`` with tuples as lists and anything JSON lacks as its repr."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return repr(value)


def environment() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
    }


def check_conformance(
    target: Target,
    steps: int = 60,
    shrink: bool = True,
    checks: Sequence[Check] = CHECKS,
    progress: Callable[[CheckResult], None] | None = None,
    shrink_seconds: float = SHRINK_SECONDS,
) -> ConformanceReport:
    """Run ``checks`` on ``target``; with ``shrink``, give each failure the smallest
    gradient sequence that shows it (:func:`attach_minimal_sequences`).

    Raises :class:`~invariants.conformance.target.TargetError` when the target
    cannot be built with its arguments (nothing to check then).
    """
    if steps < 30:
        raise ValueError(f"steps must be at least 30 (the battery's cycle is 25), got {steps}")
    started = time.perf_counter()
    arguments = target.reference_arguments()
    results = []
    for check in checks:
        result = run_check(check, target, steps)
        results.append(result)
        if progress is not None:
            progress(result)
    report = ConformanceReport(target, results, arguments, environment=environment())
    if shrink:
        attach_minimal_sequences(target, checks, report.failures, shrink_seconds)
    report.seconds = time.perf_counter() - started
    return report


def cause_of(result: CheckResult) -> str:
    """The key failures are grouped by: the first explanation's, else the check's own
    (two unexplained failures need not share a cause)."""
    if result.explained_by:
        return result.explained_by[0].key
    return f"unexplained in {result.name}"


def attach_minimal_sequences(
    target: Target,
    checks: Sequence[Check],
    failures: Sequence[CheckResult],
    seconds: float = SHRINK_SECONDS,
) -> None:
    """Give each failure the smallest gradient sequence that shows its cause.

    Each distinct cause is shrunk once, in the setting of the first failing check with
    that cause whose failure a gradient sequence can show (a differential check, or an
    edge check whose scenario is a gradient sequence), within ``seconds``; every failure
    with that cause shares the result (``found_by`` names the check it was shrunk in).
    A cause only checks without a gradient sequence see (a lost state entry, an aliased
    gradient) gets none.
    """
    by_name = {c.name: c for c in checks}
    shrunk: dict[str, dict[str, Any]] = {}
    for result in failures:
        cause = cause_of(result)
        check = by_name.get(result.name)
        if cause in shrunk or check is None or check.sequence is None:
            continue
        setup = check.sequence(target)
        if setup is None:
            continue
        found = shrink_divergence(target, setup, seconds=seconds)
        shrunk[cause] = {"found_by": result.name, "cause": cause, "within_seconds": seconds}
        shrunk[cause].update(found or {"gradients": None})
    for result in failures:
        result.minimal = shrunk.get(cause_of(result))
