"""Testing helpers for maintainers of optimizer libraries (public, stable).

* :mod:`invariants.testing.strategies` — Hypothesis strategies: parameter shapes,
  gradient sequences with the papers' norm profiles, hyperparameters in a method's
  domain;
* :func:`reference_trajectory` — the float64 reference run of a paper's algorithm;
* :data:`FLOAT64_TOLERANCE` — the relative tolerance (to ``max(|θ|, 1)``) the
  conformance checker allows between two float64 implementations.

``docs/CONFORMANCE.md`` has a worked example.
"""

from invariants.testing import strategies
from invariants.testing.reference import reference_trajectory
from optimizers.harness import FLOAT64_TOLERANCE

__all__ = ["FLOAT64_TOLERANCE", "reference_trajectory", "strategies"]
