"""Lambdified bound functions against hand-computed values (theory.bounds)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from theory import bounds

# beta1 = 0.4, beta2 = 0.64: sqrt(beta2) = 0.8, eta = 0.16/0.8 = 0.2, (1-eta)^2 = 0.64,
# sqrt(1-beta2) = 0.6
COMMON = {
    "D": 2.0,
    "D_inf": 1.0,
    "G": 1.0,
    "G_inf": 1.0,
    "alpha": 0.5,
    "beta1": 0.4,
    "beta2": 0.64,
    "lam": 0.5,
}


def test_adamnorm_wacv_hand_value() -> None:
    # term1 = 4/(2*.5*.6) * sqrt(4*1) = 40/3; term2 = .5*1.4/(.6*.6*.64) * 2 = 875/144;
    # term3 = .6/(2*.5*.6*.25) = 4
    terms = bounds.adamnorm_regret_bound_terms(
        T=4, vhat_T=[1.0], gnorms=[2.0], version="wacv", **COMMON
    )
    assert math.isclose(float(terms["distance_term"]), 40 / 3, rel_tol=1e-12)
    assert math.isclose(float(terms["gradient_term"]), 875 / 144, rel_tol=1e-12)
    assert math.isclose(float(terms["beta1_decay_term"]), 4.0, rel_tol=1e-12)
    total = bounds.adamnorm_regret_bound(T=4, vhat_T=[1.0], gnorms=[2.0], version="wacv", **COMMON)
    assert math.isclose(float(total), 3371 / 144, rel_tol=1e-12)


def test_adamnorm_arxiv_hand_value() -> None:
    # (1-gamma)^2 = 0.25: term2 = .7*2/(.6*.6*.25) = 140/9; total = 40/3 + 140/9 + 4 = 296/9
    total = bounds.adamnorm_regret_bound(
        T=4, vhat_T=[1.0], gnorms=[2.0], version="arxiv", gamma=0.5, **COMMON
    )
    assert math.isclose(float(total), 296 / 9, rel_tol=1e-12)


def test_arxiv_equals_wacv_when_gamma_is_eta() -> None:
    kw = {"T": 7, "vhat_T": [0.3, 2.0], "gnorms": [1.5, 0.2], **COMMON}
    assert math.isclose(
        float(bounds.adamnorm_regret_bound(version="arxiv", gamma=0.2, **kw)),
        float(bounds.adamnorm_regret_bound(version="wacv", **kw)),
        rel_tol=1e-12,
    )


def test_vectorised_over_horizons() -> None:
    T = np.array([1.0, 4.0])
    vhat = np.array([[1.0], [1.0]])
    gn = np.array([[1.0], [2.0]])
    out = bounds.adamnorm_regret_bound(T=T, vhat_T=vhat, gnorms=gn, version="wacv", **COMMON)
    assert out.shape == (2,)
    assert math.isclose(float(out[1]), 3371 / 144, rel_tol=1e-12)


def test_worst_case_form() -> None:
    # T = 9, d = 1: S_v = S_g = 3 -> 20 + .7*3/.2304 + 4
    val = bounds.adamnorm_regret_bound_worst_case(T=9, d=1, version="wacv", **COMMON)
    assert math.isclose(float(val), 20 + 2.1 / 0.2304 + 4, rel_tol=1e-12)


def test_lemma1_rhs_hand_value() -> None:
    # 2*1/(1*.64*.6) * 2 = 125/12
    val = bounds.adamnorm_lemma1_rhs(G=1.0, G_inf=1.0, gnorm=2.0, beta1=0.4, beta2=0.64)
    assert math.isclose(float(val), 125 / 12, rel_tol=1e-12)


def test_adarem_hand_value() -> None:
    # T=4, d=2, D_inf=1, G2=1, eta=.5, lambda=.5:
    # 2/(.5*.125) * (3*2 + 0) = 192; 2/(2*.5*.5) = 4; 1*2*.5*(4-1) = 3
    terms = bounds.adarem_regret_bound_terms(T=4, d=2, D_inf=1.0, G2=1.0, eta=0.5, lam=0.5)
    assert [float(v) for v in terms.values()] == pytest.approx([192.0, 4.0, 3.0], rel=1e-12)
    assert math.isclose(
        float(bounds.adarem_regret_bound(T=4, d=2, D_inf=1.0, G2=1.0, eta=0.5, lam=0.5)), 199.0
    )
    arr = bounds.adarem_regret_bound(
        T=np.array([1.0, 4.0]), d=2, D_inf=1.0, G2=1.0, eta=0.5, lam=0.5
    )
    assert arr.shape == (2,) and math.isclose(float(arr[1]), 199.0)
