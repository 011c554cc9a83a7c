"""Statistics of regret curves: growth exponents with confidence intervals, bound checks."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.special import stdtrit

#: the fit window is the last two decades of the horizon, [T/100, T]
FIT_DECADES = 2.0


@dataclass(frozen=True)
class ExponentFit:
    """Growth exponent a of ``R(T) ≈ c·T^a`` on the fit window, across seeds.

    ``per_seed`` has NaN for seeds whose regret is ≤ 0 somewhere in the
    window (no power law to fit; for the upper-bound claims such a seed is
    sub-linear). ``ci`` is the 95% t-interval of the mean over the fitted
    seeds (zero width when they agree exactly, as on deterministic
    problems); ``pooled`` is the exponent of the mean curve.
    """

    window: tuple[int, int]
    per_seed: list[float]
    n_fitted: int
    n_nonpositive: int
    mean: float
    ci: tuple[float, float]
    pooled: float

    def as_dict(self) -> dict:
        """JSON-friendly record."""
        return asdict(self)


def _slope(logx: np.ndarray, logy: np.ndarray) -> float:
    x = logx - logx.mean()
    return float(np.dot(x, logy - logy.mean()) / np.dot(x, x))


def fit_exponent(
    horizons: np.ndarray, regret: np.ndarray, decades: float = FIT_DECADES
) -> ExponentFit:
    """Least-squares slope of ``log R`` on ``log T`` for ``T ∈ [T_max/10^decades, T_max]``.

    ``regret`` has shape (B, H). Needs at least 3 horizons in the window.
    """
    horizons = np.asarray(horizons, dtype=np.float64)
    regret = np.atleast_2d(np.asarray(regret, dtype=np.float64))
    t_max = horizons[-1]
    inside = horizons >= t_max / 10.0**decades
    if inside.sum() < 3:
        raise ValueError("the fit window needs at least 3 horizons")
    logx = np.log(horizons[inside])
    window = regret[:, inside]
    per_seed = []
    for row in window:
        per_seed.append(_slope(logx, np.log(row)) if np.all(row > 0) else math.nan)
    slopes = np.array(per_seed)
    fitted = slopes[np.isfinite(slopes)]
    n = fitted.size
    if n == 0:
        mean, ci = math.nan, (math.nan, math.nan)
    elif n == 1:
        mean = float(fitted[0])
        ci = (mean, mean)
    else:
        mean = float(fitted.mean())
        half = float(stdtrit(n - 1, 0.975) * fitted.std(ddof=1) / math.sqrt(n))
        ci = (mean - half, mean + half)
    pooled_curve = window.mean(axis=0)
    pooled = _slope(logx, np.log(pooled_curve)) if np.all(pooled_curve > 0) else math.nan
    return ExponentFit(
        window=(int(horizons[inside][0]), int(t_max)),
        per_seed=[float(x) for x in slopes],
        n_fitted=int(n),
        n_nonpositive=int(slopes.size - n),
        mean=mean,
        ci=(float(ci[0]), float(ci[1])),
        pooled=float(pooled),
    )


def growth_class(fit: ExponentFit, last_decade: ExponentFit | None = None) -> str:
    """``"linear"``, ``"sublinear"`` or ``"unclear"``.

    Linear: the exponent on the last decade (``last_decade``, else ``fit``)
    has its CI above 0.95, i.e. ``R(T)/T`` has stopped decaying. Sub-linear:
    regret ≤ 0 on most seeds, or the CI is below 1 on both windows. A
    two-decade window alone can read 0.98 for a regret that is exactly
    linear after a transient, hence the last-decade test first.
    """
    tail = last_decade or fit
    if tail.n_fitted and tail.n_nonpositive <= tail.n_fitted and tail.ci[0] > 0.95:
        return "linear"
    if fit.n_fitted == 0 or fit.n_nonpositive > fit.n_fitted:
        return "sublinear"
    if fit.ci[1] < 1.0 and (tail.n_fitted == 0 or tail.ci[1] < 1.0):
        return "sublinear"
    return "unclear"


@dataclass(frozen=True)
class BoundCheck:
    """Measured regret against a bound over every (instance, horizon)."""

    respected: bool
    violations: int
    checked: int
    first_T: int | None  # smallest horizon with R > bound (any instance)
    first_seed: int | None
    regret_at_first: float | None
    bound_at_first: float | None
    max_ratio: float  # max R/bound over all points with bound > 0
    ratio_at_T: float  # mean over instances of R(T)/bound(T) at the last horizon

    def as_dict(self) -> dict:
        """JSON-friendly record."""
        return asdict(self)


def check_bound(
    horizons: np.ndarray, seeds: list[int], regret: np.ndarray, bound: np.ndarray
) -> BoundCheck:
    """Compare ``regret`` (B, H) with ``bound`` (B, H)."""
    over = regret > bound
    violations = int(over.sum())
    first_T = first_seed = None
    r_first = b_first = None
    if violations:
        cols = np.flatnonzero(over.any(axis=0))
        h = int(cols[0])
        b = int(np.flatnonzero(over[:, h])[0])
        first_T, first_seed = int(horizons[h]), int(seeds[b])
        r_first, b_first = float(regret[b, h]), float(bound[b, h])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(bound > 0, regret / bound, np.nan)
    return BoundCheck(
        respected=violations == 0,
        violations=violations,
        checked=int(regret.size),
        first_T=first_T,
        first_seed=first_seed,
        regret_at_first=r_first,
        bound_at_first=b_first,
        max_ratio=float(np.nanmax(ratio)) if np.isfinite(ratio).any() else math.nan,
        ratio_at_T=float(np.nanmean(ratio[:, -1])) if np.isfinite(ratio[:, -1]).any() else math.nan,
    )
