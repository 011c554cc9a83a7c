"""Honest comparisons of arms over seeds: paired differences with intervals.

Runs of two arms that share a seed share the initial weights and the data
order, so differences are paired by seed. A claim that arm A beats arm B
holds when the whole 95% interval of the mean difference lies on A's side,
is falsified when it lies on B's side, and is inconclusive otherwise. A claim
that two arms perform "about as well" is an equivalence claim: it holds when
the interval lies inside ±margin and is falsified when it lies outside.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from theory.verdicts import FALSIFIED, HOLDS, INCONCLUSIVE


@dataclass(frozen=True)
class PairedComparison:
    """Mean difference ``a - b`` over paired seeds with a Student-t interval."""

    label: str
    n: int
    mean: float
    sd: float
    low: float
    high: float
    a_mean: float
    b_mean: float
    bootstrap_low: float | None = None
    bootstrap_high: float | None = None

    def as_dict(self) -> dict[str, float | int | str | None]:
        return asdict(self)

    def text(self) -> str:
        return (
            f"{self.label}: {self.a_mean:.3f} vs {self.b_mean:.3f}, difference "
            f"{self.mean:+.3f} (95% CI [{self.low:+.3f}, {self.high:+.3f}], n={self.n})"
        )


def paired(
    label: str, a: Sequence[float], b: Sequence[float], level: float = 0.95
) -> PairedComparison:
    """Compare two arms seed by seed; a bootstrap interval is added when n ≥ 8."""
    a_arr, b_arr = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a_arr.shape != b_arr.shape or a_arr.size < 2:
        raise ValueError(f"{label}: need two paired samples of equal size >= 2, got {a_arr.size}")
    diff = a_arr - b_arr
    n, mean = diff.size, float(diff.mean())
    sd = float(diff.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    boot_low = boot_high = None
    if n >= 8 and sd > 0:
        result = stats.bootstrap((diff,), np.mean, confidence_level=level, random_state=0)
        boot_low, boot_high = map(float, result.confidence_interval)
    return PairedComparison(
        label, n, mean, sd, mean - half, mean + half, float(a_arr.mean()), float(b_arr.mean()),
        boot_low, boot_high,
    )  # fmt: skip


def superiority(comparison: PairedComparison) -> str:
    """'holds' if a > b significantly, 'falsified' if a < b significantly, else 'inconclusive'."""
    if comparison.low > 0:
        return HOLDS
    if comparison.high < 0:
        return FALSIFIED
    return INCONCLUSIVE


def equivalence(comparison: PairedComparison, margin: float) -> str:
    """'holds' if the interval lies within ±margin, 'falsified' if wholly outside it."""
    if -margin <= comparison.low and comparison.high <= margin:
        return HOLDS
    if comparison.low > margin or comparison.high < -margin:
        return FALSIFIED
    return INCONCLUSIVE


def combine(verdicts: Sequence[str]) -> str:
    """A conjunction of sub-claims: falsified if any part is, holds only if all parts do."""
    if any(v == FALSIFIED for v in verdicts):
        return FALSIFIED
    if verdicts and all(v == HOLDS for v in verdicts):
        return HOLDS
    return INCONCLUSIVE
