"""Series bounds and proof steps (theory.series)."""

from __future__ import annotations

import math

import numpy as np
import sympy as sp

from theory import series
from theory import symbols as S


def test_arithmetic_geometric_closed_form() -> None:
    assert sp.simplify(series.ag_series_closed_form() - S.eta / (1 - S.eta) ** 2) == 0
    assert sp.simplify(series.ag_series_bound_gap() - 1 / (1 - S.eta)) == 0


def test_proof_step_inner_sum_closed_form() -> None:
    expr = series.proof_step_inner_sum()
    # t = 3, T = 5, eta = 1/2: 3 * (1 + 1/2 + 1/4) = 21/4
    value = expr.subs({S.t: 3, S.T: 5, S.eta: sp.Rational(1, 2)})
    assert sp.nsimplify(value) == sp.Rational(21, 4)


def test_proof_step_counterexamples() -> None:
    zero = series.proof_step_counterexample(0.0)
    assert zero is not None and (zero.t, zero.T) == (2, 2) and zero.inner_sum == 2.0
    paper = series.proof_step_counterexample(0.9**2 / math.sqrt(0.999))
    assert paper is not None and (paper.t, paper.T) == (6, 16)
    assert paper.inner_sum > paper.claimed_bound
    # recompute the inner sum by hand
    eta = 0.9**2 / math.sqrt(0.999)
    assert math.isclose(sum(6 * eta**j for j in range(16 - 6 + 1)), paper.inner_sum, rel_tol=1e-12)


def test_sqrt_harmonic_bound() -> None:
    assert series.sqrt_harmonic_step() == 1
    assert series.sqrt_harmonic_numeric(10_000) >= 0.0


def test_lemma_10_3_fails_at_unit_scale_from_T31() -> None:
    out = series.lemma_10_3_unit_scale_counterexample()
    assert out["T"] == 31
    assert out["lhs"] > out["rhs"]
    assert sp.harmonic(30) <= 4 < sp.harmonic(31)


def test_beta1_schedule_series() -> None:
    assert sp.simplify(series.t_lambda_series() - 1 / (1 - S.lam) ** 2) == 0
    assert series.beta1_schedule_sum(0.9, 0.99, 50_000) <= series.beta1_schedule_bound(0.9, 0.99)
    assert series.bias_ratio_max(0.9, 0.999) <= 1.0
    assert np.isclose(
        series.bias_ratio_max(0.9, 0.999), math.sqrt(1 - 0.999) / (1 - 0.9) ** 2 * (1 - 0.9) ** 2
    )
