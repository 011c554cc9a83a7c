"""Meta-tests: the strategies build what their names promise."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from invariants import strategies as S
from invariants.cases import Case
from invariants.tolerances import EPS


def _norms(grads: tuple, i: int) -> np.ndarray:
    return np.array([float(np.linalg.norm(step[i])) for step in grads])


plans_and_shapes = st.tuples(S.gradient_plans(), S.layer_shapes())


@given(plans_and_shapes)
def test_realized_norms_follow_the_plan(pair) -> None:
    plan, shapes = pair
    grads = S.realize(plan, shapes)
    assert len(grads) == plan.steps
    for i, shape in enumerate(shapes):
        norms = _norms(grads, i)
        live = np.array([t not in plan.zero_steps for t in range(plan.steps)]) & (norms > 0)
        ratios = norms[live] / np.array(plan.scales)[live]
        # One per-layer multiplier in [0.1, 10] for the whole sequence, up to rounding.
        if ratios.size:
            assert np.all(ratios >= 0.1 * (1 - 1e-12)) and np.all(ratios <= 10 * (1 + 1e-12))
            assert np.ptp(ratios) <= 1e-12 * ratios.max()
        for t in plan.zero_steps:
            assert not grads[t][i].any()
        assert all(g.shape == shape for g in (step[i] for step in grads))


@given(S.gradient_plans(profiles=("sudden_drop",), zeros=False))
def test_a_sudden_drop_really_drops(plan) -> None:
    before, after = plan.scales[: plan.drop_at], plan.scales[plan.drop_at :]
    assert min(before) >= S.DROP_FACTOR[0] * (1 - 1e-12) * max(after)
    grads = S.realize(plan, ((3,),))
    norms = _norms(grads, 0)
    assert norms[: plan.drop_at].min() >= 9.99 * norms[plan.drop_at :].max()


@given(S.gradient_plans(profiles=("burst",), zeros=False))
def test_a_burst_really_bursts(plan) -> None:
    quiet = [s for t, s in enumerate(plan.scales) if t not in plan.burst_at]
    for t in plan.burst_at:
        assert all(plan.scales[t] >= S.BURST_FACTOR[0] * (1 - 1e-12) * q for q in quiet)


@given(S.gradient_plans(profiles=("decaying",)))
def test_decaying_never_rises(plan) -> None:
    assert all(b <= a for a, b in zip(plan.scales, plan.scales[1:], strict=False))


@given(S.gradient_plans(profiles=("increasing",)))
def test_increasing_never_falls_and_has_no_zero_step(plan) -> None:
    assert all(b >= a for a, b in zip(plan.scales, plan.scales[1:], strict=False))
    assert not plan.zero_steps


@given(S.gradient_plans(profiles=("steady",), magnitudes=("moderate",)))
def test_steady_stays_within_ten_percent(plan) -> None:
    assert max(plan.scales) <= 1.1 / 0.9 * min(plan.scales) * (1 + 1e-12)


@given(S.gradient_plans(magnitudes=("tiny",)), S.gradient_plans(magnitudes=("huge",)))
def test_tiny_and_huge_magnitudes(tiny, huge) -> None:
    assert max(tiny.scales) <= 1e-30 * 1e3 * 1.5  # a burst may multiply by ≤ 1e3
    assert min(huge.scales) >= 1e30 / 1e4 / 1.5  # a drop may divide by ≤ 1e4


@given(S.gradient_plans(modes=("one_coordinate",)), S.layer_shapes())
def test_one_coordinate_carries_the_norm(plan, shapes) -> None:
    for step in S.realize(plan, shapes):
        for g in step:
            assert np.count_nonzero(g) <= 1


@given(S.gradient_plans(constant_signs=True), S.layer_shapes())
def test_constant_signs_are_constant(plan, shapes) -> None:
    grads = S.realize(plan, shapes)
    for i in range(len(shapes)):
        signs = np.stack([np.sign(step[i]).ravel() for step in grads])
        for column in signs.T:
            nonzero = column[column != 0]
            assert nonzero.size == 0 or np.all(nonzero == nonzero[0])


@given(
    S.gradient_plans(profiles=(S.FLAT_REGION,), zeros=False, flat_noise=None),
    S.layer_shapes(),
)
def test_a_flat_region_follows_one_slope_and_only_noise_flips_signs(plan, shapes) -> None:
    """Scenario S1: one sign per coordinate on the slope and on the first flat step; later
    flat steps flip a coordinate only when the plan has minibatch noise."""
    grads = S.realize(plan, shapes)
    assert plan.drop_at is not None and plan.constant_signs
    assert np.all(np.diff(np.array(plan.scales)[plan.drop_at - 1 : plan.drop_at + 1]) < 0)
    for i in range(len(shapes)):
        slope = np.sign(grads[0][i])
        for t in range(plan.drop_at + 1):
            assert np.all(np.sign(grads[t][i]) * slope >= 0)
        flipped = any(np.any(np.sign(step[i]) * slope < 0) for step in grads[plan.drop_at + 1 :])
        assert plan.flat_noise or not flipped


@given(S.gradient_plans(modes=("fixed", "alternating")), S.layer_shapes())
def test_fixed_directions_are_collinear(plan, shapes) -> None:
    grads = S.realize(plan, shapes)
    for i in range(len(shapes)):
        live = [step[i].ravel() for step in grads if step[i].any()]
        for g in live[1:]:
            cos = abs(np.dot(g, live[0])) / (np.linalg.norm(g) * np.linalg.norm(live[0]))
            assert cos >= 1 - 8 * g.size * EPS


@given(
    st.sampled_from(S.SHAPE_KINDS).flatmap(
        lambda kind: st.tuples(st.just(kind), S.layer_shape((kind,)))
    )
)
def test_layer_kinds(pair) -> None:
    kind, shape = pair
    expected = {
        "scalar": lambda s: s == (),
        "single": lambda s: int(np.prod(s)) == 1 and len(s) >= 1,
        "bias": lambda s: len(s) == 1 and s[0] >= 2,
        "matrix": lambda s: len(s) == 2,
        "conv": lambda s: len(s) == 4 and s[2] == s[3],
    }
    assert expected[kind](shape)


@given(
    S.betas(),
    S.unit_interval(),
    S.lams(),
    S.epsilons(),
    S.xis(),
    S.projection_counts(),
    S.learning_rates(),
)
def test_hyperparameters_lie_in_the_papers_domains(betas, gamma, lam, eps, xi, k, lr) -> None:
    assert all(0.0 <= b < 1.0 for b in betas)
    assert 0.0 <= gamma < 1.0
    assert 0.0 < lam < 1.0
    assert eps == 0.0 or 1e-30 <= eps <= 1e-2
    assert xi >= 0.0 and k >= 0 and lr > 0.0


@given(S.cases(("Adam",), st.just({"lr": 0.1})))
def test_cases_round_trip_through_json_exactly(case) -> None:
    again = Case.from_json(case.to_json())
    assert again.shapes == case.shapes and again.hyper == case.hyper
    for a, b in zip(case.grads, again.grads, strict=True):
        assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert all(np.array_equal(x, y) for x, y in zip(case.params, again.params, strict=True))
