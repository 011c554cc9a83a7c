"""AdaRem Theorem 1 (theory.adarem_bounds, theory.reference_adarem)."""

from __future__ import annotations

import math

import numpy as np
import sympy as sp

from theory import adarem_bounds as A
from theory import symbols as S
from theory.reference_adarem import adarem_rates, alternating_instance, search_chain, theorem_chain


def test_dimensionally_consistent() -> None:
    rep = A.dimension_report()
    assert rep["lhs"] == ["1", "1"] and rep["inconsistent"] == []


def test_rate_bracket_identity_and_dominance() -> None:
    assert A.rate_bracket_identity() == 0
    dom = A.dominance()
    assert sp.expand(dom["delta_at_T1"] - (S.lam - 2) * (S.lam - 4)) == 0
    mu = sp.Symbol("mu", positive=True)
    assert sp.expand(dom["slope_in_mu"] - (7 * mu + 2) - mu * (1 - mu) * (1 + mu)) == 0
    assert sp.factor(dom["gradient_gap"]).has(2 * S.d - S.lam - 1)


def test_ar1_range() -> None:
    out = A.ar1_bounds()
    num, den = sp.fraction(out["one_minus_abs_b"])
    # 1 - |b| = (|g| delta + eps)/(|g| max|m| + eps): a ratio of nonnegative terms
    assert num.is_nonnegative and den.is_nonnegative
    lam, k = sp.Symbol("lambda", positive=True), sp.Symbol("k", positive=True, integer=True)
    assert sp.simplify(out["lambda_minus_lambda_pow"] - lam * (1 - lam**k)) == 0


def test_rates_hand_computed() -> None:
    # eta=1, beta=1/2, lambda=1/2; g = 1 then -2. t=1: m=0 -> a=1. m <- 0.5.
    # t=2: b = (-2)(0.5)/(2*0.5) = -1, a = 1 - 0.25 = 0.75, rate = 0.75/sqrt(2)
    a, rates = adarem_rates(np.array([[1.0], [-2.0]]), 1.0, 0.5, 0.5)
    assert a[:, 0].tolist() == [1.0, 0.75]
    assert math.isclose(rates[1, 0], 0.75 / math.sqrt(2.0))


def test_chain_on_random_instances() -> None:
    rng = np.random.default_rng(0)
    for lam in (0.0, 0.5, 0.9, 0.999):
        chain = theorem_chain(rng.normal(size=(50, 2)), 0.1, 0.9, lam, theta0=rng.uniform(-1, 1, 2))
        assert chain.ordered()
    alt = alternating_instance(T=3000, lam=0.5)
    assert alt.ordered() and alt.regret > 0


def test_chain_search_small() -> None:
    out = search_chain(40)
    assert out["examples"] == 40 and not out["found"]


def test_closed_bound_numeric_matches_sympy() -> None:
    expr = A.closed_form_bound()
    vals = {
        S.T: 9,
        S.d: 2,
        S.D_inf: 2,
        S.G2: 1,
        S.eta_lr: sp.Rational(1, 2),
        S.lam: sp.Rational(1, 2),
    }
    # by hand: 2*4/(2*0.5) * (2 + 3 - 1 + 0.5/0.125 + 0.5/0.25) + 0.5*1.5*1*5/2 = 8*10 + 1.875
    assert math.isclose(float(expr.subs(vals)), 81.875, rel_tol=1e-12)
