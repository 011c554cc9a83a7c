"""Conformance: does another implementation of an optimizer do what the paper says?

Given an importable optimizer and the method it claims to implement, the checker
compares it with the independent float64 reference on gradient sequences that
separate the methods, tests the method's black-box properties and the edge cases
training code hits, and explains every divergence: a documented open choice of
the papers (conforming), a known mistake, or another method.

The stable programmatic API is what this module exports (:data:`__all__`);
everything in its submodules may change. A library maintainer needs:

* :func:`check_conformance` — run the checks on a class or ``"package.module:Class"``;
* :class:`ConformanceReport` (the verdict, every :class:`CheckResult`, the failures
  and the smallest gradient sequence that shows the first one), :class:`CheckResult`
  (one check: status, summary, :class:`Divergence`, causes) and :class:`Cause`
  (one explanation: a mutation of the reference, with the line of the paper it
  contradicts);
* the verdicts :data:`CONFORMS`, :data:`CONFORMS_UNDER_OPEN_CHOICES`,
  :data:`DOES_NOT_CONFORM`; the check statuses :data:`PASS`, :data:`OPEN`,
  :data:`FAIL`, :data:`NOT_APPLICABLE`;
* :func:`exit_code` and :data:`EXIT_CODES`: what the command line's exit status means;
* :func:`write_reports` — ``conformance.json``, ``CONFORMANCE.md`` and plots.

    >>> from invariants.conformance import check_conformance
    >>> report = check_conformance("torch.optim:Adam", method="Adam")
    >>> report.verdict
    'conforms'

Command line: ``python -m invariants.conformance torch.optim:Adam --method Adam``
(console script ``optverify-conformance``). ``docs/CONFORMANCE.md`` is the guide.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from invariants.conformance.alternatives import Alternative as Cause
from invariants.conformance.checks import (
    CHECKS,
    FAIL,
    NOT_APPLICABLE,
    OPEN,
    PASS,
    SHRINK_SECONDS,
    Check,
    CheckResult,
)
from invariants.conformance.runner import (
    CONFORMS,
    CONFORMS_UNDER_OPEN_CHOICES,
    DOES_NOT_CONFORM,
    ConformanceReport,
)
from invariants.conformance.runner import check_conformance as _run_checks
from invariants.conformance.target import Target, TargetError, parse_kwargs
from invariants.conformance.writer import write_reports
from optimizers.harness import Divergence

__all__ = [
    "CHECK_NAMES",
    "CONFORMS",
    "CONFORMS_UNDER_OPEN_CHOICES",
    "DOES_NOT_CONFORM",
    "EXIT_CODES",
    "FAIL",
    "NOT_APPLICABLE",
    "OPEN",
    "PASS",
    "Cause",
    "CheckResult",
    "ConformanceReport",
    "Divergence",
    "Target",
    "TargetError",
    "check_conformance",
    "exit_code",
    "select_checks",
    "write_reports",
]

CHECK_NAMES: tuple[str, ...] = tuple(c.name for c in CHECKS)
"""Every check's name, in the order they run (``differential/…``, ``edge/…``, ``property/…``)."""

EXIT_CODES: Mapping[int, str] = {
    0: "every target conforms (possibly under a documented open choice of the papers)",
    1: "a check failed on some target (the report names the check and its cause)",
    2: "usage error, or a target that cannot be imported or built (no check ran)",
}
"""The exit status of ``python -m invariants.conformance`` and what it means."""


def exit_code(reports: Sequence[ConformanceReport]) -> int:
    """The command line's exit status for ``reports`` (see :data:`EXIT_CODES`; 2 is
    returned before any report exists, when a target cannot be built)."""
    return 1 if any(r.failures for r in reports) else 0


def select_checks(only: str | Sequence[str] | None = None) -> tuple[Check, ...]:
    """The checks whose names start with one of ``only`` (comma-separated or a list);
    every check when ``only`` is empty. ``ValueError`` when nothing is selected."""
    prefixes = only.split(",") if isinstance(only, str) else list(only or ())
    prefixes = [p.strip() for p in prefixes if p.strip()]
    checks = tuple(c for c in CHECKS if not prefixes or c.name.startswith(tuple(prefixes)))
    if not checks:
        raise ValueError(f"only={only!r} selects no check; checks: {', '.join(CHECK_NAMES)}")
    return checks


def check_conformance(
    target: Target | str | Callable[..., Any],
    method: str | None = None,
    kwargs: Mapping[str, Any] | str | Sequence[str] | None = None,
    reference_kwargs: Mapping[str, Any] | str | Sequence[str] | None = None,
    *,
    only: str | Sequence[str] | None = None,
    steps: int = 60,
    shrink: bool = True,
    shrink_seconds: float = SHRINK_SECONDS,
    checks: Sequence[Check] | None = None,
    progress: Callable[[CheckResult], None] | None = None,
) -> ConformanceReport:
    """Check whether ``target`` implements the paper's algorithm ``method``.

    ``target`` is a :class:`Target`, an optimizer class (or any callable
    ``factory(params, **kwargs)`` returning a ``torch.optim.Optimizer``), or its
    import path ``"package.module:Class"``; ``method`` is a name of
    ``optimizers.registry.REGISTRY`` (``"Adam"``, ``"AdamNorm"``, …), required
    unless ``target`` is a :class:`Target`. ``kwargs`` go to the constructor;
    ``reference_kwargs`` name the reference's hyperparameters the two sides spell
    differently (``{"gamma": 0.95}`` for a library's ``adanorm_r``). Both accept a
    dict, a JSON object or ``"k=v,k=v"``.

    ``only`` restricts the run to checks whose names start with the given prefixes
    (:func:`select_checks`); ``steps`` is the battery's length (≥ 30); with
    ``shrink``, each distinct cause of failure gets the smallest gradient sequence
    Hypothesis finds within ``shrink_seconds``. ``progress`` is called with each
    check's result as it finishes.

    Raises :class:`TargetError` when the target cannot be imported or built, or the
    method is unknown; ``ValueError`` for ``steps < 30`` or an ``only`` that selects
    nothing.
    """
    if isinstance(target, Target):
        if method is not None or kwargs is not None or reference_kwargs is not None:
            raise TypeError("give method and kwargs in the Target, not beside it")
        resolved = target
    else:
        if method is None:
            raise TargetError(f"target {target!r}: method is required (a REGISTRY name)")
        own, reference = _arguments(kwargs), _arguments(reference_kwargs)
        if isinstance(target, str):
            resolved = Target.from_spec(target, method, own, reference)
        else:
            resolved = Target(target, method, own, reference)
    if checks is not None and only is not None:
        raise TypeError("give checks or only, not both")
    chosen = tuple(checks) if checks is not None else select_checks(only)
    return _run_checks(resolved, steps, shrink, chosen, progress, shrink_seconds)


def _arguments(value: Mapping[str, Any] | str | Sequence[str] | None) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else parse_kwargs(value)
