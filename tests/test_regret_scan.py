"""Time-vectorised recurrences against their step-by-step definitions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.regret.scan import ema, linear_recurrence, projected_path, running_max


@pytest.mark.parametrize("length", [1, 5, 8, 9, 100, 1000])
def test_linear_recurrence_matches_loop(length: int) -> None:
    rng = np.random.default_rng(length)
    a = rng.uniform(0, 1, size=(length, 1, 1))
    a[::7] = 0.0  # β_{1,t} = 0 steps are allowed (no division)
    b = rng.normal(size=(length, 3, 2))
    x0 = rng.normal(size=(3, 2))
    want = np.empty_like(b)
    x = x0
    for k in range(length):
        x = a[k] * x + b[k]
        want[k] = x
    np.testing.assert_allclose(linear_recurrence(a, b, x0), want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("length", [1, 3, 8, 500])
def test_ema_is_the_reference_form(length: int) -> None:
    """Bit for bit on the sequential path (L ≤ 8), to 1e-13 with the blocked scan."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(length, 4, 3))
    x0 = rng.normal(size=(4, 3))
    want = np.empty_like(x)
    y = x0
    for k in range(length):
        y = 0.9 * y + (1.0 - 0.9) * x[k]
        want[k] = y
    got = ema(0.9, x, x0)
    if length <= 8:
        assert np.array_equal(got, want)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)


def test_running_max_with_carry() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 2, 2))
    x0 = np.full((2, 2), 0.5)
    want = np.maximum(np.maximum.accumulate(x, axis=0), x0)
    assert np.array_equal(running_max(x, x0), want)


def _sequential(theta0, disp, lo, hi):
    played = np.empty_like(disp)
    x = theta0
    for k in range(disp.shape[0]):
        played[k] = x
        x = np.clip(x - disp[k], lo, hi)
    return played, x


@settings(max_examples=60, deadline=None)
@given(
    length=st.integers(1, 400),
    scale=st.sampled_from([1e-3, 0.1, 1.0, 10.0]),
    seed=st.integers(0, 2**31 - 1),
)
def test_projected_path_equals_sequential_clipping(length: int, scale: float, seed: int) -> None:
    """The clamp-composition scan reproduces θ_{t+1} = clip(θ_t - Δ_t) whatever the step sizes."""
    rng = np.random.default_rng(seed)
    disp = rng.normal(size=(length, 3, 2)) * scale
    lo = np.array([-1.0, -0.5])
    hi = np.array([1.0, 2.0])
    theta0 = rng.uniform(lo, hi, size=(3, 2))
    played, last = projected_path(theta0, disp, lo, hi)
    want_played, want_last = _sequential(theta0, disp, lo, hi)
    np.testing.assert_allclose(played, want_played, rtol=0, atol=1e-12 * max(1.0, scale))
    np.testing.assert_allclose(last, want_last, rtol=0, atol=1e-12 * max(1.0, scale))
    assert np.all(played >= lo) and np.all(played <= hi)


def test_projected_path_unbounded_is_a_cumulative_sum() -> None:
    rng = np.random.default_rng(2)
    disp = rng.normal(size=(300, 2, 1))
    played, last = projected_path(np.zeros((2, 1)), disp, -np.inf, np.inf)
    np.testing.assert_allclose(last, -disp.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(played[1:], -np.cumsum(disp, axis=0)[:-1], rtol=1e-12, atol=1e-12)
