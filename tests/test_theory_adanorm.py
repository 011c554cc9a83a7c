"""AdamNorm Lemma 1 and Theorems: statements, transcription, numeric lemma, regret instance."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

from theory import adanorm_bounds as A
from theory import lemma1_numeric as L
from theory import symbols as S
from theory.adanorm_regret_instance import reddi_sequence, run_instance
from theory.reference_adamnorm import adamnorm_trace, adamnorm_trace_fast


def test_transcription_hand_computed_two_steps() -> None:
    # beta1 = beta2 = gamma = 1/2, g = 4 then 1 (worked by hand in the test's comments)
    tr = adamnorm_trace(np.array([[4.0], [1.0]]), 0.5, 0.5, 0.5)
    # t=1: e=2 < 4, s=4, m=2, v=8, m_hat=4, v_hat=16
    # t=2: e=1.5 > 1, s=1.5, m=1.75, v=4.5, m_hat=7/3, v_hat=6
    assert tr.e.tolist() == [2.0, 1.5]
    assert tr.active.tolist() == [False, True]
    assert tr.s[:, 0].tolist() == [4.0, 1.5]
    assert np.allclose(tr.m_hat[:, 0], [4.0, 7.0 / 3.0])
    assert np.allclose(tr.v_hat[:, 0], [16.0, 6.0])


def test_fast_and_loop_transcriptions_agree() -> None:
    rng = np.random.default_rng(3)
    g = rng.normal(size=(80, 3)) * np.exp(rng.normal(size=(80, 1)))
    g[10] = 0.0  # a zero gradient: s = g = 0
    a = adamnorm_trace(g, 0.9, 0.999, 0.95)
    b = adamnorm_trace_fast(g, 0.9, 0.999, 0.95)
    assert np.array_equal(a.active, b.active)
    assert np.allclose(a.m_hat, b.m_hat, rtol=1e-12, atol=1e-15)
    assert np.allclose(a.v_hat, b.v_hat, rtol=1e-12, atol=0.0)
    assert np.all(a.s[10] == 0.0)


def test_lemma1_sides_hand_computed() -> None:
    ev = L.evaluate([[4.0], [1.0]], 0.5, 0.5, 0.5)
    lhs = 16.0 / math.sqrt(16.0) + (7.0 / 3.0) ** 2 / math.sqrt(2 * 6.0)
    assert math.isclose(ev.lhs[0], lhs, rel_tol=1e-12)
    # natural constants: G = 4, r = max(2/4, 1.5/1) = 1.5, G_inf = max(4, 2, 1.5*4) = 6
    assert ev.natural is not None and ev.natural.G == 4.0 and math.isclose(ev.natural.G_inf, 6.0)
    eta = 0.25 / math.sqrt(0.5)
    rhs = 2 * 6.0**3 / (4.0**2 * (1 - eta) ** 2 * math.sqrt(0.5)) * math.sqrt(17.0)
    assert math.isclose(ev.rhs_natural[0], rhs, rel_tol=1e-12)
    assert ev.correction_steps == 1


def test_lemma1_minimal_counterexample_values() -> None:
    ev = L.evaluate([[1e-4]], 0.9, 0.999, 0.95)
    eta = 0.81 / math.sqrt(0.999)
    assert math.isclose(ev.lhs[0], 1e-4, rel_tol=1e-12)
    assert math.isclose(
        ev.rhs_natural[0], 2 * 1e-4 * 1e-4 / ((1 - eta) ** 2 * math.sqrt(0.001)), rel_tol=1e-12
    )
    assert ev.violated()


def test_deterministic_cases_all_violate() -> None:
    cases = L.deterministic_cases()
    assert set(cases) == {
        "minimal_scale",
        "scale_with_correction",
        "unit_scale_no_correction",
        "unit_scale_correction_active",
    }
    assert all(case["violated"] for case in cases.values())
    assert cases["scale_with_correction"]["correction_steps"] == 1
    assert cases["unit_scale_correction_active"]["correction_steps"] == 99
    assert cases["unit_scale_correction_active"]["natural_constants"]["G"] == 1.0


def test_scale_threshold_matches_c_squared_law() -> None:
    base = np.array([[1.0], [0.04]])
    threshold = L.scaled_sequence_threshold(base, 0.9, 0.999, 0.95)
    assert L.evaluate(base * threshold * 0.99, 0.9, 0.999, 0.95).violated()
    assert not L.evaluate(base * threshold * 1.01, 0.9, 0.999, 0.95).violated()


def test_tightest_constants_minimise_g_inf_cubed_over_g_squared() -> None:
    grads = np.array([[0.5, 0.1], [1.0, 0.2], [0.05, 0.0]])
    ev = L.evaluate(grads, 0.9, 0.999, 0.95)
    assert ev.tightest is not None and ev.natural is not None
    tr = adamnorm_trace(grads, 0.9, 0.999, 0.95)
    r = float(np.max(tr.e / tr.norms))
    a = max(float(np.abs(grads).max()), float(tr.e.max()))
    best = math.inf
    for G in np.linspace(tr.norms.max(), 10 * tr.norms.max(), 4001):
        best = min(best, max(a, r * G) ** 3 / G**2)
    assert ev.tightest.G_inf**3 / ev.tightest.G**2 <= best * (1 + 1e-9)


def test_inadmissible_zero_gradient_after_history() -> None:
    ev = L.evaluate([[1.0], [0.0]], 0.9, 0.999, 0.95)
    assert not ev.admissible and not ev.violated()


def test_dimension_reports() -> None:
    lemma = A.dimension_report_lemma1()
    assert lemma["lhs"] == ["1", "0"]
    assert lemma["terms"]["lemma_constant_times_gnorm"] == ["2", "0"]
    for version in ("arxiv", "wacv"):
        rep = A.dimension_report_theorem(version)
        assert rep["lhs"] == ["1", "1"]
        assert rep["inconsistent"] == ["gradient_term"]
        assert rep["terms"]["gradient_term"] == ["2", "1"]


def test_wacv_constant_follows_from_lemma1_and_arxiv_only_if_gamma_eq_eta() -> None:
    out = A.derived_gradient_term_constant()
    assert out["wacv_minus_derived"] == 0
    assert out["arxiv_minus_derived"] != 0
    assert sp.simplify(out["arxiv_minus_derived"].subs(S.gamma, S.eta)) == 0
    assert set(out["arxiv_equals_derived_when_gamma_in"]) == {S.eta, 2 - S.eta}


def test_rhs_decreases_in_G_and_assumption_analysis() -> None:
    assert A.lemma1_rhs_derivative_in_G() == -2
    out = A.assumptions_versus_correction()
    assert out["tight_bounds_ratio_minus_one_nonpositive"] is True


def test_telescoping_counterexample_exact() -> None:
    out = A.adam_telescoping_counterexample()
    assert out["sqrt_t_vhat"] == ["1", "sqrt(6)/3"] and out["decreases"] is True


def test_corollary_rate() -> None:
    out = A.corollary1()
    assert out["average_limit"] == 0
    assert out["sqrtT_times_average"] != 0 and out["sqrtT_times_average"].is_finite is not False


def test_searches_small_budget_find_scale_counterexample() -> None:
    outcomes = {o.regime: o for o in L.run_searches(60)}
    first = outcomes["paper_any_scale"]
    assert first.found and first.example is not None
    ev = L.evaluate(first.example["grads"], 0.9, 0.999, 0.95)
    assert ev.violated()
    tight = L.search_tight_bounds_with_correction(60)
    assert not tight.found


def test_replay_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert L.main(["--case", "minimal_scale"]) == 0
    assert '"violated": true' in capsys.readouterr().out


def test_reddi_embedding_keeps_norm_and_violates_wacv_bound() -> None:
    g = reddi_sequence(3.0, 9)
    assert np.allclose(np.linalg.norm(g, axis=1), 3.0)
    res = run_instance(C=3.0, alpha=1.0, T=2500, version="wacv", gamma=0.95, embed=True)
    assert res.correction_steps == 0
    assert res.lemma1_assumptions_hold
    assert res.violated() and res.regret_at_T > res.bound_at_T
    assert res.final_iterate[0] > 0.9  # drifts to the worst point +1, the optimum is -1


def test_theory_does_not_import_optimizers() -> None:
    # in a fresh interpreter: other test modules may import optimizers into this one
    code = "import sys, theory.checks; sys.exit('optimizers' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
