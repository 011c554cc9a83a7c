"""The batched online algorithms against the float64 references and independent scalar loops."""

from __future__ import annotations

import math

import numpy as np
import pytest

from experiments.regret.algorithms import (
    AdamFamily,
    AdaRem,
    AMSGrad,
    OnlineAlgorithm,
    OnlineGradientDescent,
)
from experiments.regret.config import PROBLEMS, make_arms
from experiments.regret.scan import projected_path
from optimizers.reference import REFERENCES

B, D, T = 3, 4, 240


def _gradients(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    g = rng.normal(size=(T, B, D)) * rng.uniform(0.05, 4.0, size=(T, B, 1))
    g[5, 0] = 0.0  # a zero gradient (AdamNorm's s = g = 0 case)
    return g


def _batched(
    alg: OnlineAlgorithm,
    g: np.ndarray,
    theta0: np.ndarray,
    chunk: int | None,
    lower: float = -np.inf,
    upper: float = np.inf,
) -> np.ndarray:
    """Iterates θ_1..θ_{T+1} (T+1, B, D); chunk=None uses the step-by-step ``advance_one``."""
    alg.reset(B, D)
    theta = theta0.copy()
    out = [theta.copy()]
    if chunk is None:
        for t in range(1, g.shape[0] + 1):
            delta, _ = alg.advance_one(g[t - 1], t)
            theta = np.clip(theta - delta, lower, upper)
            out.append(theta.copy())
        return np.stack(out)
    for t0 in range(0, g.shape[0], chunk):
        delta, _ = alg.advance(g[t0 : t0 + chunk], t0 + 1)
        played, theta = projected_path(theta, delta, lower, upper)
        out.extend(played[1:])
        out.append(theta)
    return np.stack(out)


def _reference(
    name: str,
    g: np.ndarray,
    theta0: np.ndarray,
    decay_lr: bool = False,
    lower: float = -np.inf,
    upper: float = np.inf,
    **hyper: object,
) -> np.ndarray:
    out = np.empty((g.shape[0] + 1, B, D))
    base_lr = float(hyper["lr"])  # type: ignore[arg-type]
    for b in range(B):
        opt = REFERENCES[name]([theta0[b]], **hyper)
        out[0, b] = opt.params[0]
        for t in range(1, g.shape[0] + 1):
            if decay_lr:
                opt.lr = base_lr / math.sqrt(t)  # α_t = α/√t through the reference's own lr
            opt.step([g[t - 1, b]])
            opt.params[0][...] = np.clip(opt.params[0], lower, upper)
            out[t, b] = opt.params[0]
    return out


CASES = [
    (
        lambda: AdamFamily(alpha=0.01, decay_lr=False, beta1=0.9, beta2=0.999, lam=1.0, eps=1e-8),
        "Adam",
        {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8},
    ),
    (
        lambda: AdamFamily(
            alpha=0.01,
            decay_lr=False,
            beta1=0.9,
            beta2=0.99,
            lam=1.0,
            eps=1e-8,
            norm_correction=True,
            gamma=0.95,
        ),
        "AdamNorm",
        {"lr": 0.01, "betas": (0.9, 0.99), "eps": 1e-8, "gamma": 0.95},
    ),
    (
        lambda: AdaRem(alpha=0.1, decay_lr=False, beta=0.9, lam=0.99, eps=1e-8, lam_offset=0),
        "AdaRem",
        {"lr": 0.1, "beta": 0.9, "lam": 0.99, "eps": 1e-8},
    ),
    (
        lambda: OnlineGradientDescent(alpha=0.1, decay_lr=False),
        "SGDM",
        {"lr": 0.1, "momentum": 0.0},
    ),
]


@pytest.mark.parametrize("chunk", [None, 1, 7, 64, T])
@pytest.mark.parametrize(("make", "name", "hyper"), CASES, ids=[c[1] for c in CASES])
def test_constant_regime_equals_reference(make, name, hyper, chunk) -> None:
    """Constant α and β1 (λ = 1), no projection: the reference's training update, to 1e-12."""
    g = _gradients()
    theta0 = np.random.default_rng(1).normal(size=(B, D))
    ref = _reference(name, g, theta0, **hyper)
    got = _batched(make(), g, theta0, chunk)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12 * np.max(np.abs(ref)))


@pytest.mark.parametrize("chunk", [None, 50])
@pytest.mark.parametrize(("make", "name", "hyper"), CASES[:2], ids=["Adam", "AdamNorm"])
def test_decaying_step_and_projection_equal_reference(make, name, hyper, chunk) -> None:
    """α_t = α/√t and clipping after every step, against the reference with lr set per step."""
    g = _gradients(2)
    theta0 = np.random.default_rng(3).uniform(-0.1, 0.1, size=(B, D))
    alg = make()
    alg.decay_lr = True
    alg.alpha = 0.05
    ref = _reference(name, g, theta0, decay_lr=True, lower=-0.2, upper=0.2, **{**hyper, "lr": 0.05})
    got = _batched(alg, g, theta0, chunk, -0.2, 0.2)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-13)


def _scalar_adamnorm(
    g: np.ndarray,
    alpha: float,
    b1: float,
    b2: float,
    lam: float,
    gamma: float,
    norm: bool,
    lo: float,
    hi: float,
    theta0: np.ndarray,
) -> np.ndarray:
    """A plain per-instance transcription of paper 000 Alg. 2 with Theorem 1's schedules."""
    out = np.empty((g.shape[0] + 1, B, D))
    for b in range(B):
        theta = theta0[b].copy()
        m = np.zeros(D)
        v = np.zeros(D)
        e = 0.0
        out[0, b] = theta
        for t in range(1, g.shape[0] + 1):
            gt = g[t - 1, b]
            s = gt
            if norm:
                n = float(np.linalg.norm(gt))
                e = gamma * e + (1 - gamma) * n
                if e > n > 0:
                    s = gt * (e / n)
            b1t = b1 * lam ** (t - 1)
            m = b1t * m + (1 - b1t) * s
            v = b2 * v + (1 - b2) * gt * gt
            mhat = m / (1 - b1**t)
            vhat = v / (1 - b2**t)
            step = np.where(vhat > 0, mhat / np.sqrt(np.where(vhat > 0, vhat, 1)), 0.0)
            theta = np.clip(theta - alpha / math.sqrt(t) * step, lo, hi)
            out[t, b] = theta
    return out


@pytest.mark.parametrize("norm", [False, True])
@pytest.mark.parametrize("chunk", [None, 33, T])
def test_theorem_regime_beta1_decay(norm: bool, chunk) -> None:
    """β_{1,t} = β1 λ^{t-1} with the bias correction of the initial β1 (paper 001 Thm. 2 proof)."""
    g = _gradients(4)
    theta0 = np.zeros((B, D))
    want = _scalar_adamnorm(g, 0.02, 0.9, 0.99, 0.97, 0.95, norm, -0.5, 0.5, theta0)
    alg = AdamFamily(alpha=0.02, beta1=0.9, beta2=0.99, lam=0.97, norm_correction=norm, gamma=0.95)
    got = _batched(alg, g, theta0, chunk, -0.5, 0.5)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("chunk", [None, 20, T])
def test_amsgrad_is_reddi_algorithm_2(chunk) -> None:
    """AMSGrad against a scalar transcription of Reddi et al. (2018) Alg. 2 (no bias correction)."""
    g = _gradients(5)
    theta0 = np.zeros((B, D))
    want = np.empty((T + 1, B, D))
    for b in range(B):
        theta, m, v, vmax = np.zeros(D), np.zeros(D), np.zeros(D), np.zeros(D)
        want[0, b] = theta
        for t in range(1, T + 1):
            b1t = 0.9 * 0.99 ** (t - 1)
            m = b1t * m + (1 - b1t) * g[t - 1, b]
            v = 0.999 * v + 0.001 * g[t - 1, b] ** 2
            vmax = np.maximum(vmax, v)
            step = np.where(vmax > 0, m / np.sqrt(np.where(vmax > 0, vmax, 1)), 0.0)
            theta = np.clip(theta - 0.05 / math.sqrt(t) * step, -1, 1)
            want[t, b] = theta
    got = _batched(AMSGrad(alpha=0.05, beta1=0.9, beta2=0.999, lam=0.99), g, theta0, chunk, -1, 1)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)


def test_adarem_theorem_exponent_offset() -> None:
    """lam_offset = 1 (Theorem 1's λ^t) and 0 (Alg. 1's loop from t = 0) differ after step 1."""
    g = _gradients(6)
    theta0 = np.zeros((B, D))
    thm = _batched(AdaRem(alpha=0.1, decay_lr=False, lam=0.9, lam_offset=1), g, theta0, 16)
    alg1 = _batched(AdaRem(alpha=0.1, decay_lr=False, lam=0.9, lam_offset=0), g, theta0, 16)
    assert np.array_equal(thm[:2], alg1[:2])  # the first step has m = 0, so b = 0 in both
    assert not np.allclose(thm, alg1)


def test_default_arms_are_in_the_theorem_regime() -> None:
    for key in ("reddi-periodic", "reddi-large", "random-lsq"):
        spec = PROBLEMS[key]
        for arm in make_arms(spec, spec.build()):
            assert arm.algorithm.in_theorem_regime(), (key, arm.label, arm.algorithm.conditions())


def test_conditions_flag_violations() -> None:
    bad = AdamFamily(alpha=0.1, beta1=0.99, beta2=0.5, lam=0.9)  # η = 0.98/0.707 > 1
    assert not bad.in_theorem_regime()
    assert not AdamFamily(alpha=0.1, lam=1.0).in_theorem_regime()  # λ = 1 is outside (0, 1)
    assert not OnlineGradientDescent(alpha=0.1, decay_lr=False).in_theorem_regime()
