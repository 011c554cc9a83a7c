"""AdaRem-S sphere learning rate (theory.sphere_lr)."""

from __future__ import annotations

import sympy as sp

from theory import sphere_lr


def test_symbolic_relation() -> None:
    out = sphere_lr.symbolic_checks()
    eta_p, alpha_t = sp.symbols("eta_prime alpha_t", positive=True)
    assert out["eta_from_paper_relation"] == [eta_p / alpha_t**2]
    assert out["eta_from_ray_condition"] == [eta_p / alpha_t**2]
    assert out["B_new_minus_alpha_A_new_with_slr"] == [0, 0]


def test_numeric_sgd_equivalence() -> None:
    run = sphere_lr.numeric_check(steps=100, seed=1)
    assert run.max_direction_gap < 1e-12
    assert run.max_orthogonality < 1e-12 and run.max_homogeneity_gap < 1e-12
    assert run.max_direction_gap_without_slr > 1e-2
    decay = sphere_lr.numeric_check(steps=100, seed=1, weight_decay=0.01)
    assert decay.max_direction_gap_decay_adjusted < 1e-12 < decay.max_direction_gap
