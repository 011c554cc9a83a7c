"""Problems: the projection is exact, every comparator is the true minimiser, streams replay."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import minimize

from experiments.regret.algorithms import OnlineGradientDescent
from experiments.regret.config import PROBLEMS
from experiments.regret.problems import (
    BernoulliLinear,
    Box,
    DriftingLinear,
    DriftingQuadratic,
    LogisticStream,
    PeriodicLinear,
    RandomLeastSquares,
    linear_comparator,
    solve_box_quadratic,
    solve_logistic,
)
from experiments.regret.runner import Arm, run_problem

BOX3 = Box(np.array([-1.0, -0.5, 0.0]), np.array([1.0, 2.0, 0.3]))


def test_clipping_is_the_projection_in_every_diagonal_metric() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        y = rng.normal(size=3) * 3
        w = rng.uniform(0.01, 100.0, size=3)
        res = minimize(
            lambda x, w=w, y=y: float(np.sum(w * (x - y) ** 2)),
            np.zeros(3) + 0.1,
            bounds=list(zip(BOX3.lower, BOX3.upper, strict=True)),
            method="L-BFGS-B",
            options={"ftol": 1e-15, "gtol": 1e-12},
        )
        np.testing.assert_allclose(BOX3.project(y), res.x, atol=1e-6)


def test_reddi_periodic_definition() -> None:
    """Reddi et al. §3 Thm 1: C on t ≡ 1 (mod 3), -1 otherwise (phase 0)."""
    p = PeriodicLinear(name="x", source="", box=Box.cube(1, 1.0), big=3.0, small=-1.0, period=3)
    inst = p.instances([0])
    inst.phase[:] = 0
    g = inst.gradients(1, 9)[:, 0, 0]
    assert g.tolist() == [3.0, -1.0, -1.0] * 3
    large = PROBLEMS["reddi-large"].build()
    inst = large.instances([0])
    inst.phase[:] = 0
    g = inst.gradients(1, 202)[:, 0, 0]
    assert g[0] == 1010.0 and g[101] == 1010.0 and np.all(np.delete(g, [0, 101]) == -10.0)


def test_reddi_stochastic_frequency() -> None:
    p = BernoulliLinear(name="s", source="", box=Box.cube(1, 1.0), big=1010.0, small=-10.0, p=0.01)
    g = p.instances([0, 1]).gradients(1, 200_000)
    assert abs(np.mean(g == 1010.0) - 0.01) < 0.001


def test_linear_comparator_against_corners() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        s = rng.normal(size=3)
        value, point = linear_comparator(s, BOX3)
        corners = np.array(list(itertools.product(*zip(BOX3.lower, BOX3.upper, strict=True))))
        assert value == pytest.approx(np.min(corners @ s), abs=1e-12)
        assert float(point @ s) == pytest.approx(value, abs=1e-12)


def _brute_min(fun, dim, box, starts=6, seed=0):
    rng = np.random.default_rng(seed)
    best = np.inf
    for _ in range(starts):
        res = minimize(
            fun,
            rng.uniform(box.lower, box.upper),
            method="L-BFGS-B",
            bounds=list(zip(box.lower, box.upper, strict=True)),
            options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 5000},
        )
        best = min(best, res.fun)
    return best


def test_quadratic_comparator_is_the_minimiser() -> None:
    p = DriftingQuadratic(name="q", source="", box=BOX3)
    inst = p.instances([3, 4])
    data = inst.draw(1, 300)
    (stats,) = inst.stats_at(data, [299])
    value, point = inst.comparator(stats)
    for b in range(2):

        def total(x, b=b):
            return float(np.sum(0.5 * inst.a[b] * (x - data[:, b]) ** 2))

        assert value[b] == pytest.approx(total(point[b]), rel=1e-12)
        assert value[b] <= _brute_min(total, 3, BOX3) + 1e-9


def test_least_squares_comparator_is_the_minimiser() -> None:
    p = RandomLeastSquares(name="l", source="", box=BOX3)
    inst = p.instances([5, 6])
    data = inst.draw(1, 200)
    stats = inst.stats_at(data, [1, 199])  # T = 2 < d: a singular A is handled on its range
    for k, st in zip((1, 199), stats, strict=True):
        value, point = inst.comparator(st)
        for b in range(2):
            a, y = data["a"][: k + 1, b], data["b"][: k + 1, b]

            def total(x, a=a, y=y):
                return float(0.5 * np.sum((a @ x - y) ** 2))

            assert value[b] == pytest.approx(total(point[b]), rel=1e-9, abs=1e-9)
            assert value[b] <= _brute_min(total, 3, BOX3) + 1e-8


def test_box_quadratic_solver_against_scipy() -> None:
    rng = np.random.default_rng(7)
    m = rng.normal(size=(5, 3))
    A, c = m.T @ m, m.T @ rng.normal(size=5) * 3
    value, point = solve_box_quadratic(A, c, 1.0, BOX3)
    assert value <= _brute_min(lambda x: 0.5 * x @ A @ x - c @ x + 0.5, 3, BOX3) + 1e-10
    assert np.all(point >= BOX3.lower) and np.all(point <= BOX3.upper)


def test_logistic_comparator_is_the_minimiser() -> None:
    rng = np.random.default_rng(8)
    x = rng.normal(size=(40, 3)) * 0.6
    y = np.where(x @ np.array([2.0, -3.0, 1.0]) + rng.normal(size=40) > 0, 1.0, -1.0)
    p = LogisticStream(name="lg", source="", box=BOX3, features=x, labels=y)
    inst = p.instances([0])
    data = inst.draw(1, 500)
    (stats,) = inst.stats_at(data, [499])
    value, point = inst.comparator(stats)
    idx = data["idx"][:, 0]

    def total(theta):
        return float(np.sum(np.logaddexp(0.0, -y[idx] * (x[idx] @ theta))))

    assert value[0] == pytest.approx(total(point[0]), rel=1e-12)
    assert value[0] <= _brute_min(total, 3, BOX3) + 1e-7
    # the weighted form used by the comparator equals the per-step sum
    w = np.bincount(idx, minlength=40).astype(float)
    v2, _ = solve_logistic(x, y, w, BOX3)
    assert v2 == pytest.approx(value[0], rel=1e-9)


@pytest.mark.parametrize(
    "problem",
    [
        BernoulliLinear(name="b", source="", box=Box.cube(1, 1.0)),
        DriftingLinear(name="dl", source="", box=Box.cube(3, 1.0)),
    ],
    ids=["bernoulli", "drifting-linear"],
)
def test_streams_depend_only_on_problem_and_seed(problem) -> None:
    """A replay with one instance sees the same losses as the batch it came from."""
    batch = problem.instances([4, 9, 11])
    whole = np.concatenate([batch.gradients(1, 3000), batch.gradients(3001, 5000)])
    single = problem.instances([9])
    parts = [single.gradients(t0, n) for t0, n in ((1, 17), (18, 6000), (6018, 1983))]
    np.testing.assert_array_equal(np.concatenate(parts)[:, 0], whole[:, 1])
    np.testing.assert_array_equal(single.theta0[0], batch.theta0[1])


def _manual_ogd(problem, seed: int, T: int, eta: float):
    """Regret of OGD computed from scratch: per-step loop, comparator by brute force."""
    inst = problem.instances([seed])
    theta = inst.theta0[0].copy()
    if problem.linear:
        g = inst.gradients(1, T)[:, 0]
        loss = 0.0
        for t in range(1, T + 1):
            loss += float(g[t - 1] @ theta)
            theta = problem.box.project(theta - eta / np.sqrt(t) * g[t - 1])
        best, _ = linear_comparator(g.sum(axis=0), problem.box)
        return loss - float(best)
    data = inst.draw(1, T)
    loss = 0.0
    for t in range(1, T + 1):
        grad, f = inst.grad_loss(theta[None, None], data, t - 1)
        loss += float(f[0, 0])
        theta = problem.box.project(theta - eta / np.sqrt(t) * grad[0, 0])
    c = data[:, 0]
    a = inst.a[0]
    best = _brute_min(lambda x: float(np.sum(0.5 * a * (x - c) ** 2)), problem.box.dim, problem.box)
    return loss - best


@pytest.mark.parametrize(
    "problem",
    [
        PeriodicLinear(name="p", source="", box=Box.cube(1, 1.0)),
        DriftingLinear(name="dl", source="", box=Box.cube(3, 1.0)),
        DriftingQuadratic(name="dq", source="", box=BOX3),
    ],
    ids=["periodic", "drifting-linear", "drifting-quadratic"],
)
def test_runner_regret_equals_direct_computation(problem) -> None:
    T = 700
    arms = [Arm("OGD", OnlineGradientDescent(alpha=0.3))]
    raw = run_problem(problem, arms, T, [2, 5])
    for b, seed in enumerate((2, 5)):
        want = _manual_ogd(problem, seed, T, 0.3)
        assert raw.regret[0, b, -1] == pytest.approx(want, rel=1e-8, abs=1e-7)
