"""RAdam's rho_t and rectification factor (theory.radam)."""

from __future__ import annotations

import sympy as sp

from theory import radam


def test_values_hand_computed() -> None:
    b = sp.Rational(3, 4)
    assert radam.rho_inf(b) == 7
    assert radam.rho_t(1, b) == 1
    assert sp.nsimplify(radam.rho_t(2, b)) == sp.Rational(13, 7)  # (1 + 3b)/(1 + b)


def test_symbolic_proof_steps() -> None:
    out = radam.symbolic_checks()
    assert out["rho_1_minus_1"] == 0
    assert out["rho_t_with_beta2_exp_minus_a_plus_2phi_over_a"] == 0
    assert out["phi_prime_times_denominator_minus_k"] == 0
    assert out["k_prime_negative_for_x_positive"] and out["k_at_0"] == 0
    assert out["phi_limit"] == 0 and out["rho_t_limit_minus_rho_inf"] == 0
    assert out["phi_positive_via_y"]
    assert out["beta2_set_with_rho_inf_gt_5"] == sp.Interval.open(sp.Rational(2, 3), 1)
    assert out["F_at_5_plus_u_positive"] and out["F_prime_positive"]


def test_grid_small() -> None:
    grid = radam.numeric_grid(t_max=2000)
    assert grid["max_abs_rho1_minus_1"] < 1e-12
    assert grid["steps_decreasing_beyond_rounding"] == 0
    lo, hi = grid["r_range_rectified"]
    assert 0.0 < lo and hi <= 1.0
    lo_lit, hi_lit = grid["r_range_rectified_literal_reading"]
    assert 0.0 < lo_lit and hi_lit < 1.0
    firsts = {
        round(row["beta2"], 4): row["first_rectified_t"] for row in grid["first_rectified_step"]
    }
    assert firsts[0.999] == 6
