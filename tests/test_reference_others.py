"""Hand-computed checks of the NumPy references of AdaRem/AdaRem-S (paper 002),
ND-Adam (paper 003) and the layerwise methods and Aida (paper 004)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from optimizers.reference import REFERENCES, mutual_projections


def _run(name, params, grads_seq, **kw):
    opt = REFERENCES[name](params, **kw)
    for grads in grads_seq:
        opt.step(grads)
    return opt


def _random_grads(seed, shapes, steps, scale=1.0):
    rng = np.random.default_rng(seed)
    return [[rng.normal(size=s) * scale for s in shapes] for _ in range(steps)]


def _assert_same_trajectory(a, b, rtol=1e-12, atol=1e-15):
    for pa, pb in zip(a.params, b.params, strict=True):
        np.testing.assert_allclose(pa, pb, rtol=rtol, atol=atol)


# --------------------------------------------------------------------------
# AdaRem (paper 002 Alg. 1, eqs. 1-2)
# --------------------------------------------------------------------------


def test_adarem_first_step_is_plain_sgd():
    theta0 = np.array([[1.0, -2.0], [0.5, 3.0]])
    g = np.array([[0.3, -0.7], [2.0, 0.0]])
    opt = _run("AdaRem", [theta0], [[g]], lr=0.1)
    np.testing.assert_array_equal(opt.last["b"][0], np.zeros((2, 2)))  # m_0 = 0
    np.testing.assert_array_equal(opt.last["a"][0], np.ones((2, 2)))
    np.testing.assert_allclose(opt.params[0], theta0 - 0.1 * g, rtol=1e-15)
    np.testing.assert_allclose(opt.last["m"][0], 0.1 * g)


def test_adarem_second_step_hand_computed():
    g1, g2 = np.array([1.0, -1.0, 0.5]), np.array([2.0, 1.0, -4.0])
    opt = _run("AdaRem", [np.zeros(3)], [[g1], [g2]], lr=0.1, eps=0.0)
    m1 = 0.1 * g1  # max|m1| = 0.1
    b = g2 * m1 / (np.abs(g2) * 0.1)  # [1, -1, -0.5]
    a = 1 + 0.999 * b  # λ^1: one step already taken
    np.testing.assert_allclose(opt.last["b"][0], [1.0, -1.0, -0.5])
    np.testing.assert_allclose(opt.last["m_prev"][0], m1)
    np.testing.assert_allclose(opt.last["a"][0], a)
    np.testing.assert_allclose(opt.params[0], -0.1 * g1 - 0.1 * a * g2, rtol=1e-14)
    # the update keeps the sign of -g (AR-3) and a ∈ [1-λ, 1+λ] (AR-1)
    assert np.all(np.sign(opt.params[0] - (-0.1 * g1)) == -np.sign(g2))


def test_adarem_epoch_tick_controls_lambda_exponent():
    g1, g2 = np.array([1.0, -1.0]), np.array([1.0, 1.0])
    opt = _run("AdaRem", [np.zeros(2)], [[g1], [g2]], lam=0.5, lam_tick="epoch", eps=0.0)
    np.testing.assert_allclose(opt.last["a"][0], [2.0, 0.0])  # k = 0: a = 1 + b
    opt.tick_epoch()
    opt.tick_epoch()
    opt.step([g2])
    b = opt.last["b"][0]
    np.testing.assert_allclose(opt.last["a"][0], 1 + 0.25 * b)


def test_adarem_decoupled_weight_decay_scaled_by_base_rate():
    theta0 = np.array([2.0, -1.0])
    g = np.array([0.5, 0.5])
    opt = _run("AdaRem", [theta0], [[g]], lr=0.1, weight_decay=0.01)
    np.testing.assert_allclose(opt.params[0], theta0 - 0.1 * g - 0.1 * 0.01 * theta0)
    l2 = _run("AdaRem", [theta0], [[g]], lr=0.1, weight_decay=0.01, decoupled_weight_decay=False)
    np.testing.assert_allclose(l2.last["g"][0], g + 0.01 * theta0)


def test_adarem_global_max_scope():
    g1 = [np.array([1.0]), np.array([10.0])]
    g2 = [np.array([1.0]), np.array([1.0])]
    tensor = _run("AdaRem", [np.zeros(1), np.zeros(1)], [g1, g2], eps=0.0)
    glob = _run("AdaRem", [np.zeros(1), np.zeros(1)], [g1, g2], eps=0.0, max_scope="global")
    assert tensor.last["b"][0][0] == pytest.approx(1.0)
    assert glob.last["b"][0][0] == pytest.approx(0.1)  # max|m| = 1.0 over both tensors
    assert glob.last["b"][1][0] == pytest.approx(1.0)


@pytest.mark.parametrize("radius", [None, 2.5])
def test_adarem_s_keeps_sphere_radius(radius):
    rng = np.random.default_rng(5)
    w0, bias0 = rng.normal(size=(4, 3)), rng.normal(size=4)
    opt = REFERENCES["AdaRemS"]([w0, bias0], lr=0.5, radius=radius, weight_decay=0.1)
    R = np.linalg.norm(w0) if radius is None else radius
    assert np.linalg.norm(opt.params[0]) == pytest.approx(R, rel=1e-14)
    np.testing.assert_array_equal(opt.params[1], bias0)  # 1-d tensors are not on the sphere
    for grads in _random_grads(6, [(4, 3), (4,)], 25, scale=3.0):
        opt.step(grads)
        assert np.linalg.norm(opt.params[0]) == pytest.approx(R, rel=1e-13)
    assert abs(np.linalg.norm(opt.params[1]) - np.linalg.norm(bias0)) > 1e-3
    forced = REFERENCES["AdaRemS"]([bias0], radius=3.0, sphere=True)
    assert np.linalg.norm(forced.params[0]) == pytest.approx(3.0)


# --------------------------------------------------------------------------
# ND-Adam (paper 003 Alg. 1)
# --------------------------------------------------------------------------


def test_ndadam_keeps_rows_unit_norm_with_tangent_gradients():
    rng = np.random.default_rng(7)
    w0 = rng.normal(size=(5, 2, 3)) * 4.0
    opt = REFERENCES["NDAdam"]([w0, rng.normal(size=5)], lr=0.05)
    rows = opt.params[0].reshape(5, -1)
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(
        rows, (w0 / np.linalg.norm(w0.reshape(5, -1), axis=1)[:, None, None]).reshape(5, -1)
    )
    for grads in _random_grads(8, [(5, 2, 3), (5,)], 20, scale=2.0):
        w_prev = opt.params[0].reshape(5, -1).copy()
        opt.step(grads)
        g = opt.last["g"][0].reshape(5, -1)
        np.testing.assert_allclose(np.sum(g * w_prev, axis=1), 0.0, atol=1e-13)  # tangent
        np.testing.assert_allclose(
            np.linalg.norm(opt.params[0].reshape(5, -1), axis=1), 1.0, rtol=1e-14
        )
        assert opt.last["v"][0].shape == (5,)  # one second moment per vector
        # before the retraction the move of each vector is parallel to its m̂ (ND-3)
        t = opt.state[0]["step"]
        m_hat = opt.last["m"][0].reshape(5, -1) / (1 - 0.9**t)
        w_bar = w_prev - 0.05 * opt.last["step_size"][0][:, None] * m_hat
        np.testing.assert_allclose(
            w_bar / np.linalg.norm(w_bar, axis=1, keepdims=True),
            opt.params[0].reshape(5, -1),
            rtol=1e-12,
            atol=1e-14,
        )


def test_ndadam_first_vector_step_hand_computed():
    w0 = np.array([[1.0, 0.0]])
    g = np.array([[3.0, 4.0]])  # tangent part [0, 4]
    opt = _run("NDAdam", [w0], [[g]], lr=0.1, eps=0.0)
    np.testing.assert_allclose(opt.last["g"][0], [[0.0, 4.0]])
    assert opt.last["v"][0][0] == pytest.approx(0.001 * 16.0)
    # m̂ = [0, 4], sqrt(v̂) = 4 → w̄ = [1, -0.1]
    np.testing.assert_allclose(opt.params[0], np.array([[1.0, -0.1]]) / math.sqrt(1.01))


def test_ndadam_scalar_tensors_follow_adam_with_scalar_lr():
    grads = _random_grads(9, [(6,), ()], 10)
    params = [np.linspace(-1, 1, 6), np.array(0.7)]
    nd = _run("NDAdam", params, grads, lr=0.5, scalar_lr=0.01, weight_decay=0.1)
    adam = _run("Adam", params, grads, lr=0.01, weight_decay=0.1)
    _assert_same_trajectory(nd, adam, rtol=1e-14)
    forced = _run("NDAdam", [np.ones((3, 2))], [[np.ones((3, 2))]], vectorwise=False)
    assert forced.last["v"][0].shape == (3, 2)


# --------------------------------------------------------------------------
# Layerwise methods (paper 004 Algs. 1-2)
# --------------------------------------------------------------------------


def test_adaml_and_ladam_first_step_hand_computed():
    theta0 = np.array([1.0, 1.0])
    g = np.array([1.0, 4.0])
    adaml = _run("AdamL", [theta0], [[g]], lr=0.1, eps=0.0)
    # ṽ_1 = g², γ = mean(1/|g|) = (1 + 0.25)/2
    assert adaml.last["step_size"][0] == pytest.approx(0.625)
    np.testing.assert_allclose(adaml.params[0], theta0 - 0.1 * 0.625 * g, rtol=1e-14)
    ladam = _run("LAdam", [theta0], [[g]], lr=0.1, eps=0.0)
    assert ladam.last["v"][0] == pytest.approx(0.001 * 8.5)  # mean(g²) = 8.5
    np.testing.assert_allclose(ladam.params[0], theta0 - 0.1 * g / math.sqrt(8.5), rtol=1e-14)
    lbel = _run("LAdaBelief", [theta0], [[g]], lr=0.1, eps=0.0)
    assert lbel.last["v"][0] == pytest.approx(0.001 * 0.81 * 8.5)
    bell = _run("AdaBeliefL", [theta0], [[g]], lr=0.1, eps=0.0)
    assert bell.last["step_size"][0] == pytest.approx(0.625 / 0.9)


def test_adaml_eps_is_inside_by_default():
    g = np.array([2.0])
    opt = _run("AdamL", [np.zeros(1)], [[g]], eps=1e-2)
    assert opt.last["v"][0][0] == pytest.approx(0.001 * 4 + 1e-2)
    assert opt.last["step_size"][0] == pytest.approx(1 / math.sqrt((0.004 + 1e-2) / 0.001))


def test_adaml_zero_root_counts_as_zero_step_size_in_mean():
    # eps = 0: the entry with an all-zero history has root 0 and step size 0
    opt = _run("AdamL", [np.zeros(2)], [[np.array([2.0, 0.0])]], lr=0.1, eps=0.0)
    assert opt.last["step_size"][0] == pytest.approx((0.5 + 0.0) / 2)
    np.testing.assert_allclose(opt.params[0], [-0.1 * 0.25 * 2.0, 0.0])


@pytest.mark.parametrize(
    ("layerwise", "elementwise"),
    [
        ("LAdam", "Adam"),
        ("AdamL", "Adam"),
        ("LAdaBelief", "AdaBelief"),
        ("AdaBeliefL", "AdaBelief"),
    ],
)
def test_layerwise_equals_elementwise_on_one_element_tensors(layerwise, elementwise):
    shapes = [(), (1,), (1, 1)]
    grads = _random_grads(10, shapes, 15)
    params = [np.array(0.3), np.array([-1.0]), np.array([[2.0]])]
    a = _run(layerwise, params, grads, weight_decay=0.05)
    b = _run(elementwise, params, grads, weight_decay=0.05, eps_mode="inside")
    _assert_same_trajectory(a, b)


def test_layerwise_differs_from_elementwise_on_larger_tensors():
    grads = _random_grads(11, [(4,)], 5)
    a = _run("LAdam", [np.zeros(4)], grads)
    b = _run("Adam", [np.zeros(4)], grads, eps_mode="inside")
    assert np.max(np.abs(a.params[0] - b.params[0])) > 1e-5


# --------------------------------------------------------------------------
# Aida, AidaGrad, LAida (paper 004 Algs. 3-5, eqs. 12-16)
# --------------------------------------------------------------------------


def test_mutual_projections_hand_computed():
    m, g = np.array([1.0, 0.0]), np.array([1.0, 1.0])
    m1, g1 = mutual_projections(m, g, 1, 0.0)
    np.testing.assert_allclose(m1, [0.5, 0.5])  # ⟨g,m⟩/‖g‖² g
    np.testing.assert_allclose(g1, [1.0, 0.0])  # ⟨m,g⟩/‖m‖² m
    m2, g2 = mutual_projections(m, g, 2, 0.0)
    np.testing.assert_allclose(m2, [0.5, 0.0])  # from (m1, g1) of round 1
    np.testing.assert_allclose(g2, [0.5, 0.5])
    m0, g0 = mutual_projections(m, g, 0, 0.0)
    np.testing.assert_array_equal(m0, m)
    np.testing.assert_array_equal(g0, g)
    # orthogonal pairs and zero vectors project to 0 (no 0/0)
    mz, gz = mutual_projections(np.array([1.0, 0.0]), np.array([0.0, 2.0]), 2, 0.0)
    np.testing.assert_array_equal(mz, 0.0)
    np.testing.assert_array_equal(gz, 0.0)
    mz, gz = mutual_projections(np.zeros(2), np.zeros(2), 3, 0.0)
    np.testing.assert_array_equal(mz, 0.0)


def test_mutual_projections_shrink():
    rng = np.random.default_rng(12)
    for _ in range(50):
        m, g = rng.normal(size=7), rng.normal(size=7)
        for _k in range(3):
            m_next, g_next = mutual_projections(m, g, 1, 1e-20)
            assert np.linalg.norm(m_next) <= np.linalg.norm(m) * (1 + 1e-12)
            assert np.linalg.norm(g_next) <= np.linalg.norm(g) * (1 + 1e-12)
            assert np.sum((m_next - g_next) ** 2) <= np.sum((m - g) ** 2) * (1 + 1e-12)
            m, g = m_next, g_next


def test_aida_with_k0_and_eps_both_equals_adabelief():
    shapes = [(3, 4), (5,), ()]
    grads = _random_grads(13, shapes, 15)
    params = [np.ones(s) for s in shapes]
    aida = _run("Aida", params, grads, K=0, eps_mode="both", weight_decay=0.01)
    belief = _run("AdaBelief", params, grads, weight_decay=0.01)
    _assert_same_trajectory(aida, belief)


@pytest.mark.parametrize("name", ["Aida", "LAida"])
@pytest.mark.parametrize("eps_mode", ["both", "inside"])
def test_aida_on_one_element_layers_equals_adabelief(name, eps_mode):
    shapes = [(), (1,), (1, 1, 1)]
    grads = _random_grads(14, shapes, 15)
    params = [np.zeros(s) for s in shapes]
    aida = _run(name, params, grads, xi=0.0, eps_mode=eps_mode)
    belief = _run("AdaBelief", params, grads, eps_mode=eps_mode)
    _assert_same_trajectory(aida, belief, rtol=1e-10)


def test_aida_differs_from_adabelief_on_larger_layers():
    grads = _random_grads(15, [(6,)], 5)
    aida = _run("Aida", [np.zeros(6)], grads, eps_mode="both")
    belief = _run("AdaBelief", [np.zeros(6)], grads)
    assert np.max(np.abs(aida.params[0] - belief.params[0])) > 1e-5


def test_aida_first_step_hand_computed():
    g = np.array([3.0, 4.0])
    opt = _run("Aida", [np.zeros(2)], [[g]], K=1, xi=0.0, eps=0.0, lr=0.1)
    # m_1 = 0.1 g is collinear with g: the projections leave the pair unchanged
    np.testing.assert_allclose(opt.last["m_proj"][0], 0.1 * g)
    np.testing.assert_allclose(opt.last["g_proj"][0], g)
    np.testing.assert_allclose(opt.last["v"][0], 0.001 * 0.81 * g**2)
    np.testing.assert_allclose(opt.params[0], -0.1 * np.sign(g) / 0.9, rtol=1e-14)


def test_aidagrad_projection_and_one_element_reduction():
    g1, g2 = np.array([1.0, 0.0]), np.array([0.0, 2.0])
    opt = _run("AidaGrad", [np.zeros(2)], [[g1], [g2]], xi=0.0)
    m2 = np.array([0.09, 0.2])
    gp = (m2 @ g2) / (m2 @ m2) * m2
    np.testing.assert_allclose(opt.last["g_proj"][0], gp)
    np.testing.assert_allclose(
        opt.last["v"][0], 0.999 * (0.001 * g1**2 + 1e-8) + 0.001 * gp**2 + 1e-8
    )
    shapes = [(), (1,)]
    grads = _random_grads(16, shapes, 10)
    a = _run("AidaGrad", [np.zeros(()), np.zeros(1)], grads, xi=0.0)
    b = _run("Adam", [np.zeros(()), np.zeros(1)], grads, eps_mode="inside")
    _assert_same_trajectory(a, b, rtol=1e-10)


def test_laida_keeps_one_scalar_per_layer():
    grads = _random_grads(17, [(3, 3)], 4)
    opt = _run("LAida", [np.zeros((3, 3))], grads)
    assert isinstance(opt.last["v"][0], float)
    assert isinstance(opt.last["step_size"][0], float)
    diff = opt.last["m_proj"][0] - opt.last["g_proj"][0]
    assert opt.last["v"][0] >= 0.001 * float(np.mean(diff**2))
