"""Aida's projections (theory.aida_projections)."""

from __future__ import annotations

import math

import numpy as np

from theory import aida_projections as P


def test_gram_map_exact() -> None:
    assert P.gram_step_from_vectors(3) == (0, 0, 0)


def test_symbolic_identities() -> None:
    out = P.symbolic_checks()
    for key in (
        "ai1_m_shrink_identity",
        "ai1_g_shrink_identity",
        "ai2_closed_form_minus_d1",
        "ai2_xi0_d1_minus_cos2_d0",
        "ai2_decrease_decomposition_residual",
        "ai2_kfold_xi0_step_residual",
        "ai2_second_bracket_square_form",
    ):
        assert out[key] == 0, key
    assert out["ai3_cos_after"] == P.c


def test_cos_2k_law_hand_example() -> None:
    ex = P.angle_preserved_example()
    for k in range(4):
        assert math.isclose(ex[f"dist{k}"], 3.0 * 0.25**k, rel_tol=1e-12)
        assert math.isclose(ex[f"cos{k}"], 0.5, rel_tol=1e-12)


def test_check_pair_random() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 7))
        m, g = rng.normal(size=n), rng.normal(size=n)
        for xi in (0.0, 1e-20, 0.5):
            assert P.check_pair(m, g, xi, 3) == []


def test_edge_cases() -> None:
    out = P.edge_cases()
    assert out["zero_m"]["dist_after"] == 0.0 < out["zero_m"]["dist_before"]
    assert out["orthogonal"]["after"] == [[0.0, 0.0], [0.0, 0.0]]
    assert out["elementwise"]["sq_diff_after"][0] > out["elementwise"]["sq_diff_before"][0]


def test_one_dimensional_projection_is_identity_without_xi() -> None:
    (m1, g1) = P.project(np.array([0.3]), np.array([-2.0]), 0.0, 1)[1]
    assert np.allclose(m1, [0.3]) and np.allclose(g1, [-2.0])


def test_search_small() -> None:
    out = P.search(40)
    assert out == {"examples": 40, "found": False}
