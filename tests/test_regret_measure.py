"""Exponent fitting, bound checks and the bounds glue."""

from __future__ import annotations

import math

import numpy as np
import pytest

from experiments.regret.algorithms import AdamFamily, AdaRem, OnlineGradientDescent
from experiments.regret.bounds import adamnorm_bound, adarem_bound, ogd_bound
from experiments.regret.measure import check_bound, fit_exponent, growth_class
from experiments.regret.problems import Box, PeriodicLinear
from experiments.regret.runner import Arm, horizon_grid, run_problem


@pytest.mark.parametrize("a", [0.5, 0.75, 1.0])
def test_exponent_of_synthetic_power_laws(a: float) -> None:
    """R(T) = c_s·T^a·(1 + small noise) across 30 seeds: the CI covers a and is narrow."""
    rng = np.random.default_rng(0)
    T = horizon_grid(10**6)
    c = rng.uniform(0.5, 2.0, size=(30, 1))
    noise = 1 + 0.02 * rng.normal(size=(30, T.size))
    fit = fit_exponent(T, c * T**a * noise)
    assert fit.window == (10**4, 10**6)
    assert fit.ci[0] <= a <= fit.ci[1]
    assert fit.ci[1] - fit.ci[0] < 0.01
    assert fit.pooled == pytest.approx(a, abs=0.01)
    assert growth_class(fit) == ("linear" if a == 1.0 else "sublinear")


def test_exact_power_law_and_nonpositive_regret() -> None:
    T = horizon_grid(10**4)
    fit = fit_exponent(T, np.vstack([3 * T**0.5, 3 * T**0.5]))
    assert fit.mean == pytest.approx(0.5, abs=1e-12) and fit.ci[0] == pytest.approx(fit.ci[1])
    neg = fit_exponent(T, np.vstack([-(T**0.5), 2 * T**0.5 - 1e6]))
    assert neg.n_fitted == 0 and neg.n_nonpositive == 2 and math.isnan(neg.mean)
    assert growth_class(neg) == "sublinear"


def test_check_bound_reports_the_first_violation() -> None:
    T = np.array([1, 10, 100])
    regret = np.array([[1.0, 5.0, 50.0], [1.0, 20.0, 40.0]])
    bound = np.array([[2.0, 10.0, 30.0], [2.0, 10.0, 30.0]])
    check = check_bound(T, [7, 8], regret, bound)
    assert not check.respected and check.violations == 3
    assert (check.first_T, check.first_seed) == (10, 8)
    assert check.regret_at_first == 20.0 and check.bound_at_first == 10.0
    assert check_bound(T, [7, 8], regret, bound * 10).respected


def _raw():
    problem = PeriodicLinear(name="p", source="", box=Box.cube(1, 1.0))
    arms = [
        Arm(
            "AdamNorm", AdamFamily(alpha=0.2, beta1=0.0, beta2=0.1, lam=0.99, norm_correction=True)
        ),
        Arm("AdaRem", AdaRem(alpha=0.5, lam=0.5)),
        Arm("OGD", OnlineGradientDescent(alpha=0.5)),
    ]
    return problem, arms, run_problem(problem, arms, 2000, [0, 1])


def test_adamnorm_bound_glue_against_the_formula() -> None:
    """The glue passes the measured constants to theory.bounds as paper 001 Thm. 2 writes them."""
    problem, arms, raw = _raw()
    alg = arms[0].algorithm
    got = adamnorm_bound(raw, 0, alg, problem.box, "wacv")["total"]
    T = raw.horizons.astype(float)
    D, Dinf = 2.0, 2.0
    G, Ginf = raw.G_sup, raw.Ginf_sup
    eta = alg.beta1**2 / math.sqrt(alg.beta2)
    vhat = raw.vhat[0, :, :, 0]
    gnorm = np.sqrt(raw.sumsq[0, :, :, 0])
    want = (
        D**2 / (2 * alg.alpha * (1 - alg.beta1)) * np.sqrt(T * vhat)
        + alg.alpha
        * (1 + alg.beta1)
        * Ginf**3
        / ((1 - alg.beta1) * math.sqrt(1 - alg.beta2) * (1 - eta) ** 2 * G**2)
        * gnorm
        + Dinf**2
        * Ginf
        * math.sqrt(1 - alg.beta2)
        / (2 * alg.alpha * (1 - alg.beta1) * (1 - alg.lam) ** 2)
    )
    np.testing.assert_allclose(got, want, rtol=1e-12)
    arxiv = adamnorm_bound(raw, 0, alg, problem.box, "arxiv")["total"]
    assert np.all(arxiv >= got)  # (1-γ)² = 0.0025 < (1-η)² = 1 here


def test_adarem_and_control_bounds() -> None:
    problem, arms, raw = _raw()
    T = raw.horizons.astype(float)
    got = adarem_bound(raw, arms[1].algorithm, problem.box)
    lam, eta, G2 = 0.5, 0.5, raw.G_sup
    want = (
        4 / (eta * (1 - lam) ** 3) * ((5 - 4 * lam) * np.sqrt(T) + 2 * lam - 1)
        + 4 / (2 * eta * (1 - lam))
        + G2**2 * eta * (2 * np.sqrt(T) - 1)
    )
    np.testing.assert_allclose(got, want, rtol=1e-12)
    control = ogd_bound(raw, arms[2].algorithm, problem.box)
    assert np.all(raw.regret[2] <= control)  # OGD respects Zinkevich's bound: the pipeline is sane
