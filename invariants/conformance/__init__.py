"""Conformance checks for other implementations of the suite's optimizers.

Given an importable optimizer and the method it claims to implement, compare it
with the independent float64 reference on gradient sequences that separate the
methods, test the method's black-box properties and the edge cases training
code hits, and explain every divergence: a documented open choice of the
papers (conforming), a known mistake, or another method.

    >>> from invariants.conformance import Target, check_conformance
    >>> report = check_conformance(Target.from_spec("torch.optim:Adam", "Adam"))
    >>> report.verdict
    'conforms'

Command line: ``python -m invariants.conformance torch.optim:Adam --method Adam``
(console script ``optverify-conformance``).
"""

from invariants.conformance.runner import (
    CONFORMS,
    CONFORMS_UNDER_OPEN_CHOICES,
    DOES_NOT_CONFORM,
    ConformanceReport,
    check_conformance,
)
from invariants.conformance.target import Target, TargetError
from invariants.conformance.writer import write_reports

__all__ = [
    "CONFORMS",
    "CONFORMS_UNDER_OPEN_CHOICES",
    "DOES_NOT_CONFORM",
    "ConformanceReport",
    "Target",
    "TargetError",
    "check_conformance",
    "write_reports",
]
