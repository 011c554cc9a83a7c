"""Hand-computed checks of the NumPy references of the Adam family and SGDM
against papers 000/001 (Algs. 1-8) and docs/ALGORITHMS.md."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from optimizers.reference import REFERENCES

BASE_OF_NORM = {
    "AdamNorm": "Adam",
    "DiffGradNorm": "DiffGrad",
    "RAdamNorm": "RAdam",
    "AdaBeliefNorm": "AdaBelief",
}


def _random_problem(seed: int, shapes=((3, 4), (5,), ())):
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=s) for s in shapes]
    return rng, params


def _run(name, params, grads_seq, **kw):
    opt = REFERENCES[name](params, **kw)
    for grads in grads_seq:
        opt.step(grads)
    return opt


# --------------------------------------------------------------------------
# Adam / AdamW (paper 000 Alg. 1)
# --------------------------------------------------------------------------


def test_adam_first_step_is_lr_times_sign_of_g():
    theta0 = np.array([0.5, -1.0, 2.0, 0.0])
    g = np.array([3.0, -0.2, 1e-3, 0.0])
    opt = REFERENCES["Adam"]([theta0], lr=0.01, eps=0.0)
    opt.step([g])
    # m̂_1 = g, v̂_1 = g², so the step is lr·g/|g| = lr·sign(g); 0/0 reads as 0
    np.testing.assert_allclose(opt.params[0], theta0 - 0.01 * np.sign(g), rtol=0, atol=1e-15)


def test_adam_first_step_with_default_eps_is_close_to_sign():
    theta0 = np.array([0.5, -1.0])
    g = np.array([3.0, -0.2])
    opt = REFERENCES["Adam"]([theta0], lr=0.01)
    opt.step([g])
    np.testing.assert_allclose(opt.params[0], theta0 - 0.01 * np.sign(g), rtol=0, atol=1e-9)
    assert not np.array_equal(opt.params[0], theta0 - 0.01 * np.sign(g))  # ε is there


def test_adam_second_step_hand_computed():
    opt = REFERENCES["Adam"]([np.array(1.0)], lr=0.1, betas=(0.9, 0.999), eps=1e-8)
    opt.step([np.array(1.0)])
    theta1 = 1.0 - 0.1 * 1.0 / (1.0 + 1e-8)
    assert opt.params[0] == pytest.approx(theta1, abs=1e-15)
    opt.step([np.array(-2.0)])
    m2 = 0.9 * 0.1 + 0.1 * -2.0  # -0.11
    v2 = 0.999 * 0.001 + 0.001 * 4.0  # 0.004999
    assert float(opt.last["m"][0]) == pytest.approx(m2, rel=1e-14)
    assert float(opt.last["v"][0]) == pytest.approx(v2, rel=1e-14)
    m_hat = -0.11 / (1 - 0.9**2)
    v_hat = 0.004999 / (1 - 0.999**2)
    theta2 = theta1 - 0.1 * m_hat / (math.sqrt(v_hat) + 1e-8)
    assert float(opt.params[0]) == pytest.approx(theta2, rel=1e-13)
    assert opt.params[0].shape == ()


def test_adam_l2_weight_decay_enters_gradient():
    theta0 = np.array([2.0, -4.0])
    g = np.array([0.5, 0.5])
    opt = REFERENCES["Adam"]([theta0], lr=0.01, eps=0.0, weight_decay=0.5)
    opt.step([g])
    g_eff = g + 0.5 * theta0  # [1.5, -1.5]
    np.testing.assert_allclose(opt.last["g"][0], g_eff)
    np.testing.assert_allclose(opt.params[0], theta0 - 0.01 * np.sign(g_eff), atol=1e-15)


def test_adamw_decays_theta_and_keeps_raw_gradient():
    theta0 = np.array([2.0, -4.0])
    g = np.array([0.5, 0.5])
    opt = REFERENCES["AdamW"]([theta0], lr=0.01, eps=0.0)  # wd = 1e-2, decoupled
    opt.step([g])
    np.testing.assert_allclose(opt.last["g"][0], g)
    expected = theta0 * (1 - 0.01 * 1e-2) - 0.01 * np.sign(g)
    np.testing.assert_allclose(opt.params[0], expected, rtol=0, atol=1e-15)


# --------------------------------------------------------------------------
# AdaNorm (paper 000 Alg. 2, eqs. 2-6) and the Norm variants (001 Algs. 4, 6, 8)
# --------------------------------------------------------------------------


@pytest.mark.parametrize("norm_name", sorted(BASE_OF_NORM))
@pytest.mark.parametrize("corrected", ["first", "second", "both"])
@pytest.mark.parametrize("scope", ["tensor", "global"])
def test_norm_variant_with_gamma_zero_equals_base(norm_name, corrected, scope):
    rng, params = _random_problem(1)
    grads_seq = [
        [rng.normal(size=p.shape) * rng.uniform(0.01, 10) for p in params] for _ in range(12)
    ]
    # with γ = 0, e_t = ‖g_t‖ (of the tensor or of all tensors): the correction never fires
    base = _run(BASE_OF_NORM[norm_name], params, grads_seq, weight_decay=0.1)
    norm = _run(
        norm_name,
        params,
        grads_seq,
        weight_decay=0.1,
        gamma=0.0,
        corrected_moments=corrected,
        norm_scope=scope,
    )
    for a, b in zip(norm.params, base.params, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
    for a, b in zip(norm.last["v"], base.last["v"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


def test_adamnorm_corrects_first_moment_when_gradient_norm_drops():
    theta0 = np.array([1.0, 1.0])
    g1 = np.array([3.0, 4.0])  # ‖g1‖ = 5
    g2 = np.array([0.3, 0.4])  # ‖g2‖ = 0.5
    norm = _run("AdamNorm", [theta0], [[g1], [g2]], gamma=0.5, lr=0.01)
    adam = _run("Adam", [theta0], [[g1], [g2]], lr=0.01)
    # e1 = 0.5·0 + 0.5·5 = 2.5 (< 5: no correction), e2 = 0.5·2.5 + 0.5·0.5 = 1.5 > 0.5
    assert norm.last["e"][0] == pytest.approx(1.5)
    np.testing.assert_allclose(norm.last["s"][0], 3.0 * g2)
    m2 = 0.9 * 0.1 * g1 + 0.1 * 3.0 * g2
    np.testing.assert_allclose(norm.last["m"][0], m2, rtol=1e-14)
    # the second moment still sees the raw g (eq. 6): v equals Adam's
    np.testing.assert_allclose(norm.last["v"][0], adam.last["v"][0], rtol=1e-15)
    # and the update is larger than Adam's (flat region, §3.1)
    step_norm = theta0 - norm.params[0]
    step_adam = theta0 - adam.params[0]
    assert np.all(step_norm > step_adam + 1e-6)


def test_adamnorm_no_correction_on_first_step_and_increasing_norms():
    grads = [[np.array([1.0, 0.0])], [np.array([2.0, 1.0])], [np.array([5.0, 5.0])]]
    norm = _run("AdamNorm", [np.zeros(2)], grads)
    adam = _run("Adam", [np.zeros(2)], grads)
    np.testing.assert_array_equal(norm.params[0], adam.params[0])
    np.testing.assert_array_equal(norm.last["s"][0], grads[-1][0])


def test_adamnorm_corrected_second_moment_option():
    g1, g2 = np.array([3.0, 4.0]), np.array([0.3, 0.4])
    norm = _run("AdamNorm", [np.zeros(2)], [[g1], [g2]], gamma=0.5, corrected_moments="second")
    adam = _run("Adam", [np.zeros(2)], [[g1], [g2]])
    np.testing.assert_allclose(norm.last["m"][0], adam.last["m"][0], rtol=1e-15)
    v2 = 0.999 * 0.001 * g1**2 + 0.001 * (3.0 * g2) ** 2
    np.testing.assert_allclose(norm.last["v"][0], v2, rtol=1e-14)


def test_adamnorm_global_scope_uses_one_ratio_and_skips_none():
    a1, b1 = np.array([3.0, 0.0]), np.array([4.0])  # global norm 5
    a2, b2 = np.array([0.3, 0.0]), np.array([0.4])  # global norm 0.5
    c = np.array([100.0])  # skipped in step 2
    opt = REFERENCES["AdamNorm"](
        [np.zeros(2), np.zeros(1), np.zeros(1)], gamma=0.5, norm_scope="global"
    )
    opt.step([a1, b1, None])
    assert opt.last["e"][0] == opt.last["e"][1] == pytest.approx(2.5)
    assert opt.last["e"][2] is None and opt.last["s"][2] is None
    opt.step([a2, b2, None])
    assert opt.last["e"][0] == pytest.approx(1.5)
    np.testing.assert_allclose(opt.last["s"][0], 3.0 * a2)
    np.testing.assert_allclose(opt.last["s"][1], 3.0 * b2)
    # per-tensor scope would scale each tensor by its own ratio instead
    tensor = REFERENCES["AdamNorm"]([np.zeros(2), np.zeros(1)], gamma=0.5)
    tensor.step([a1, b1])
    tensor.step([a2, b2])
    np.testing.assert_allclose(tensor.last["s"][0], (0.5 * 1.5 + 0.5 * 0.3) / 0.3 * a2)
    np.testing.assert_allclose(opt.params[2], 0.0)  # never had a gradient
    opt.step([a2, b2, c])  # c now takes part in the global norm
    assert opt.last["e"][2] == pytest.approx(0.5 * 1.5 + 0.5 * math.sqrt(0.25 + 1e4))


def test_adamnorm_zero_gradient_gives_zero_s():
    opt = _run("AdamNorm", [np.ones(3)], [[np.ones(3)], [np.zeros(3)]])
    np.testing.assert_array_equal(opt.last["s"][0], np.zeros(3))
    assert opt.last["e"][0] == pytest.approx(0.95 * 0.05 * math.sqrt(3))
    assert np.all(np.isfinite(opt.params[0]))


# --------------------------------------------------------------------------
# diffGrad (paper 001 Alg. 3)
# --------------------------------------------------------------------------


def test_diffgrad_first_step_uses_sigmoid_of_abs_gradient():
    theta0 = np.array([0.0, 0.0, 0.0])
    g = np.array([2.0, -0.5, 0.0])
    opt = _run("DiffGrad", [theta0], [[g]], lr=0.1, eps=0.0)
    xi = 1.0 / (1.0 + np.exp(-np.abs(g)))  # g_0 = 0
    np.testing.assert_allclose(opt.last["xi"][0], xi)
    np.testing.assert_allclose(opt.params[0], -0.1 * xi * np.sign(g), atol=1e-16)


def test_diffgrad_friction_uses_previous_gradient_and_is_in_half_open_range():
    rng = np.random.default_rng(3)
    grads = [[rng.normal(size=6) * 5] for _ in range(6)]
    opt = REFERENCES["DiffGrad"]([np.zeros(6)])
    prev = np.zeros(6)
    for (g,) in grads:
        opt.step([g])
        np.testing.assert_allclose(opt.last["xi"][0], 1 / (1 + np.exp(-np.abs(g - prev))))
        assert np.all(opt.last["xi"][0] >= 0.5) and np.all(opt.last["xi"][0] < 1.0)
        prev = g


def test_diffgradnorm_friction_uses_raw_gradient_and_m_uses_s():
    g1, g2 = np.array([3.0, 4.0]), np.array([0.3, 0.4])
    opt = _run("DiffGradNorm", [np.zeros(2)], [[g1], [g2]], gamma=0.5, lr=0.1)
    np.testing.assert_allclose(opt.last["s"][0], 3.0 * g2)  # e_2 = 1.5, ‖g_2‖ = 0.5
    np.testing.assert_allclose(opt.last["xi"][0], 1 / (1 + np.exp(-np.abs(g2 - g1))))
    np.testing.assert_allclose(opt.last["m"][0], 0.09 * g1 + 0.1 * 3.0 * g2, rtol=1e-14)
    np.testing.assert_allclose(opt.last["v"][0], 0.999 * 0.001 * g1**2 + 0.001 * g2**2)


# --------------------------------------------------------------------------
# RAdam (paper 001 Alg. 5)
# --------------------------------------------------------------------------


def test_radam_first_steps_are_unrectified_momentum():
    theta0 = np.array([1.0, -2.0])
    g1 = np.array([0.5, 3.0])
    opt = _run("RAdam", [theta0], [[g1]], lr=0.1)
    assert opt.last["rho"][0] == pytest.approx(1.0, abs=1e-12)  # ρ_1 = 1
    assert opt.last["r"][0] is None
    np.testing.assert_allclose(opt.params[0], theta0 - 0.1 * g1, rtol=1e-15)  # m_1/(1-β1) = g
    rhos = [1.0]
    for t in range(2, 8):
        opt.step([g1])
        rhos.append(opt.last["rho"][0])
        rectified = opt.last["r"][0] is not None
        assert rectified == (t >= 6)  # β2 = 0.999: ρ_5 ≈ 4.996, ρ_6 ≈ 5.994
    assert all(b > a for a, b in itertools.pairwise(rhos))


def test_radam_rectified_step_hand_computed():
    b1, b2, lr, eps = 0.9, 0.999, 0.05, 1e-8
    g = np.array([1.0, -2.0])
    opt = REFERENCES["RAdam"]([np.zeros(2)], lr=lr, eps=eps)
    for _ in range(5):
        opt.step([g])
    before = opt.params[0].copy()
    opt.step([g])  # t = 6, first rectified step
    t = 6
    rho_inf = 2 / (1 - b2) - 1
    rho_t = rho_inf - 2 * t * b2**t / (1 - b2**t)
    r = math.sqrt(
        (1 - b2**t) * (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
    )
    m = (1 - b1**t) * g  # constant gradient
    v = (1 - b2**t) * g**2
    expected = before - lr * r / (1 - b1**t) * m / (np.sqrt(v) + eps)
    assert opt.last["r"][0] == pytest.approx(r, rel=1e-12)
    assert 0 < r <= 1
    np.testing.assert_allclose(opt.params[0], expected, rtol=1e-12)


def test_radam_threshold_inclusive_versus_strict():
    probe = REFERENCES["RAdam"]([np.zeros(1)])
    _, rho6 = probe.rho(6)
    inclusive = REFERENCES["RAdam"]([np.zeros(1)], rectify_threshold=rho6)
    strict = REFERENCES["RAdam"]([np.zeros(1)], rectify_threshold=rho6, threshold_inclusive=False)
    for _ in range(6):
        inclusive.step([np.ones(1)])
        strict.step([np.ones(1)])
    assert inclusive.last["r"][0] is not None
    assert strict.last["r"][0] is None


# --------------------------------------------------------------------------
# AdaBelief (paper 001 Alg. 7, paper 004 eqs. 6-7)
# --------------------------------------------------------------------------


def test_adabelief_first_step_hand_computed():
    theta0 = np.array([1.0, 1.0])
    g = np.array([2.0, -0.1])
    opt = _run("AdaBelief", [theta0], [[g]], lr=0.01, eps=0.0)
    # m_1 = 0.1 g, (g - m_1)² = 0.81 g², v̂_1 = 0.81 g², step = lr·g/(0.9|g|)
    np.testing.assert_allclose(opt.last["v"][0], 0.001 * 0.81 * g**2, rtol=1e-14)
    np.testing.assert_allclose(opt.params[0], theta0 - 0.01 * np.sign(g) / 0.9, rtol=1e-14)


def test_adabelief_default_eps_both_inside_and_outside():
    eps = 1e-3
    g = np.array([2.0])
    opt = _run("AdaBelief", [np.zeros(1)], [[g]], lr=1.0, eps=eps)
    v1 = 0.001 * 0.81 * 4.0 + eps  # ε inside the EMA
    assert opt.last["v"][0][0] == pytest.approx(v1, rel=1e-14)
    expected = -0.2 / 0.1 / (math.sqrt(v1 / 0.001) + eps)  # and outside the root
    assert opt.params[0][0] == pytest.approx(expected, rel=1e-13)
    out = _run("AdaBelief", [np.zeros(1)], [[g]], lr=1.0, eps=eps, eps_mode="outside")
    assert out.last["v"][0][0] == pytest.approx(v1 - eps, rel=1e-14)


# --------------------------------------------------------------------------
# SGDM (torch.optim.SGD convention)
# --------------------------------------------------------------------------


def test_sgdm_matches_torch_convention():
    g1, g2 = np.array([1.0, -1.0]), np.array([0.5, 2.0])
    opt = _run("SGDM", [np.zeros(2)], [[g1], [g2]], lr=0.1, momentum=0.9, dampening=0.1)
    buf2 = 0.9 * g1 + 0.9 * g2  # buf_1 = g1 (no dampening on the first step)
    np.testing.assert_allclose(opt.last["m"][0], buf2)
    np.testing.assert_allclose(opt.params[0], -0.1 * g1 - 0.1 * buf2)
    nes = _run("SGDM", [np.zeros(2)], [[g1], [g2]], lr=0.1, nesterov=True)
    buf2 = 0.9 * g1 + g2
    np.testing.assert_allclose(nes.params[0], -0.1 * (g1 + 0.9 * g1) - 0.1 * (g2 + 0.9 * buf2))
