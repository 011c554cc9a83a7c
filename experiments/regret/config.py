"""The problems, their sizes and the arms, fixed before any run.

Hyperparameter rules (decided up front, the same for every problem):

* Adam-family step size ``α = D∞/10`` (an Adam-type step moves each
  coordinate by about α_t, since |m̂/√v̂| ≲ 1), with ``α_t = α/√t``.
* OGD and AdaRem base rate ``η = D/(G√2)`` with D the box's L2 diameter and G
  the largest ``sup_F ‖∇f_t‖₂`` over the first 1024 steps of seed 0 — the rate
  that minimises Zinkevich's (2003) bound ``D²√T/(2η) + √T η G²``.
* ``β_{1,t} = β1 λ^{t-1}`` with ``λ = 0.99`` for Adam, AMSGrad and AdamNorm, and
  a second AdamNorm arm with the paper's "typical" ``λ = 1 - 10^-8``
  (paper 000 §3.2); AdamNorm's ``γ = 0.95`` (paper 000 Table 1).
* AdaRem: ``β = 0.9``, ``λ = 0.999`` (paper 002 §4.1) and a second arm with
  ``λ = 0.5``, where the bound's ``(1-λ)^-3`` is small enough to be tested.
* (β1, β2): what the problem's source prescribes — Reddi et al. (2018)
  Theorem 1's ``β1 = 0, β2 = 1/(1+C²)`` for the period-3 family and its
  stochastic counterpart, their §5 experiment's ``β1 = 0.9, β2 = 0.99`` for the
  large-constant variants, and paper 000's defaults ``β1 = 0.9, β2 = 0.999``
  elsewhere. All satisfy ``β1²/√β2 < 1`` (checked for every arm).
* ε = 0 in the Adam family (the proofs ignore ε); AdaRem keeps ε = 1e-8 of its
  eq. 1, which Theorem 1 states with ε.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np

from experiments.regret.algorithms import AdamFamily, AdaRem, AMSGrad, OnlineGradientDescent
from experiments.regret.problems import (
    BernoulliLinear,
    Box,
    DriftingLinear,
    DriftingQuadratic,
    LogisticStream,
    PeriodicLinear,
    Problem,
    RandomLeastSquares,
    SmoothInstances,
)
from experiments.regret.runner import Arm

LAM_TYPICAL = 1.0 - 1e-8


@dataclass(frozen=True)
class Size:
    """Horizon T and number of instances of one run."""

    T: int
    instances: int


@dataclass(frozen=True)
class ProblemSpec:
    """A problem, the (β1, β2) its source prescribes, and its sizes per mode."""

    key: str
    build: Callable[[], Problem]
    beta1: float
    beta2: float
    sizes: dict[str, Size]
    note: str = ""


def _reddi_c3() -> Problem:
    return PeriodicLinear(
        name="reddi-periodic",
        source=(
            "Reddi, Kale & Kumar (2018) §3, Theorem 1: f_t(x) = Cx if t mod 3 = 1 else -x, C = 3"
        ),
        box=Box.cube(1, 1.0),
        big=3.0,
        small=-1.0,
        period=3,
    )


def _reddi_c3_stochastic() -> Problem:
    return BernoulliLinear(
        name="reddi-stochastic",
        source=(
            "Reddi, Kale & Kumar (2018) §3, Theorem 3: f_t(x) = Cx w.p. p = (1+δ)/(C+1) else -x; "
            "C = 3, δ = 1/3 (p = 1/3: the frequency and mean gradient of the periodic instance)"
        ),
        box=Box.cube(1, 1.0),
        big=3.0,
        small=-1.0,
        p=1.0 / 3.0,
    )


def _reddi_large() -> Problem:
    return PeriodicLinear(
        name="reddi-large",
        source="Reddi, Kale & Kumar (2018) §5: f_t(x) = 1010x if t mod 101 = 1 else -10x",
        box=Box.cube(1, 1.0),
        big=1010.0,
        small=-10.0,
        period=101,
    )


def _reddi_large_stochastic() -> Problem:
    return BernoulliLinear(
        name="reddi-large-stochastic",
        source="Reddi, Kale & Kumar (2018) §5: f_t(x) = 1010x w.p. 0.01 else -10x",
        box=Box.cube(1, 1.0),
        big=1010.0,
        small=-10.0,
        p=0.01,
    )


def _linear_drift() -> Problem:
    return DriftingLinear(
        name="linear-drift",
        source="online linear losses with a drifting per-step optimum, d = 8",
        box=Box.cube(8, 1.0),
    )


def _quadratic_drift() -> Problem:
    return DriftingQuadratic(
        name="quadratic-drift",
        source="online separable quadratics with a drifting centre, d = 8",
        box=Box.cube(8, 1.0),
    )


def _random_lsq() -> Problem:
    return RandomLeastSquares(
        name="random-lsq",
        source="random convex least squares 1/2(<a_t, x> - b_t)^2, d = 8, condition 30",
        box=Box.cube(8, 1.0),
    )


@cache
def cifar_logistic_features(dim: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Cat (+1) vs dog (-1) images of the embedded CIFAR-10 subset (train and test),
    flattened pixels in [0, 1], centred, projected on their first ``dim`` principal
    components, each component scaled to variance ``1/dim`` (so E‖x‖² = 1)."""
    from experiments.data import load_dataset

    data = load_dataset("cifar10", subset=True)
    cat, dog = data.classes.index("cat"), data.classes.index("dog")
    images = np.concatenate([data.train_images, data.test_images])
    labels = np.concatenate([data.train_labels, data.test_labels])
    keep = (labels == cat) | (labels == dog)
    x = images[keep].reshape(int(keep.sum()), -1).astype(np.float64) / 255.0
    y = np.where(labels[keep] == cat, 1.0, -1.0)
    x -= x.mean(axis=0)
    # principal components from the N×N Gram matrix (N = 1200 ≪ 3072 pixels): much cheaper
    # than an SVD of x; the scores are the leading eigenvectors scaled by √eigenvalue
    evals, evecs = np.linalg.eigh(x @ x.T)
    top = evecs[:, ::-1][:, :dim] * np.sqrt(evals[::-1][:dim])
    # eigenvectors have arbitrary signs: fix each by its largest entry, for reproducible features
    top *= np.sign(top[np.argmax(np.abs(top), axis=0), np.arange(dim)])
    z = top / (top.std(axis=0) * math.sqrt(dim))
    return z, y


def _logistic() -> Problem:
    x, y = cifar_logistic_features()
    return LogisticStream(
        name="logistic-cifar",
        source=(
            "online logistic regression, cat vs dog of the embedded CIFAR-10 subset "
            f"({x.shape[0]} images), 16 PCA features, one uniformly drawn example per step"
        ),
        box=Box.cube(x.shape[1], 1.0),
        features=x,
        labels=y,
    )


#: Sizes. The linear families run in time-vectorised chunks (~10^7 arm-steps × instances
#: per second on one core), so T = 10^6 is cheap for d = 1; linear-drift has d = 8. The other
#: problems are stepped one t at a time (~0.3-1 ms per step for all arms and instances), so
#: their full size is T = 10^5 with 100 instances.
def _sizes(quick: tuple[int, int], full: tuple[int, int]) -> dict[str, Size]:
    return {"quick": Size(*quick), "full": Size(*full)}


PROBLEMS: dict[str, ProblemSpec] = {
    spec.key: spec
    for spec in (
        ProblemSpec(
            "reddi-periodic", _reddi_c3, 0.0, 0.1, _sizes((1_000_000, 16), (1_000_000, 100))
        ),
        ProblemSpec(
            "reddi-stochastic",
            _reddi_c3_stochastic,
            0.0,
            0.1,
            _sizes((1_000_000, 16), (1_000_000, 100)),
        ),
        ProblemSpec(
            "reddi-large", _reddi_large, 0.9, 0.99, _sizes((1_000_000, 16), (1_000_000, 100))
        ),
        ProblemSpec(
            "reddi-large-stochastic",
            _reddi_large_stochastic,
            0.9,
            0.99,
            _sizes((1_000_000, 16), (1_000_000, 100)),
        ),
        ProblemSpec(
            "linear-drift", _linear_drift, 0.9, 0.999, _sizes((100_000, 16), (1_000_000, 32))
        ),
        ProblemSpec(
            "quadratic-drift", _quadratic_drift, 0.9, 0.999, _sizes((20_000, 16), (100_000, 100))
        ),
        ProblemSpec("logistic-cifar", _logistic, 0.9, 0.999, _sizes((20_000, 16), (100_000, 100))),
        ProblemSpec("random-lsq", _random_lsq, 0.9, 0.999, _sizes((20_000, 16), (100_000, 100))),
    )
}


def nominal_gradient_bound(problem: Problem, steps: int = 1024) -> float:
    """``max_{t≤steps} sup_F ‖∇f_t‖₂`` on seed 0 (the G of the OGD/AdaRem rate rule)."""
    inst = problem.instances([0])
    if isinstance(inst, SmoothInstances):
        sup2, _ = inst.sup_gradient(inst.draw(1, steps))
        return float(np.max(sup2))
    g = inst.gradients(1, steps)  # type: ignore[attr-defined]
    return float(np.max(np.sqrt(np.sum(g * g, axis=-1))))


def make_arms(spec: ProblemSpec, problem: Problem) -> list[Arm]:
    """The arms of every problem (module docstring), with the problem's (β1, β2)."""
    box = problem.box
    alpha = box.diameter_inf / 10.0
    eta = box.diameter / (nominal_gradient_bound(problem) * math.sqrt(2.0))
    b1, b2 = spec.beta1, spec.beta2

    def adam(norm: bool, lam: float) -> AdamFamily:
        return AdamFamily(
            alpha=alpha, beta1=b1, beta2=b2, lam=lam, norm_correction=norm, gamma=0.95
        )

    return [
        Arm("OGD", OnlineGradientDescent(alpha=eta)),
        Arm("Adam", adam(False, 0.99)),
        Arm("AMSGrad", AMSGrad(alpha=alpha, beta1=b1, beta2=b2, lam=0.99)),
        Arm("AdamNorm", adam(True, 0.99)),
        Arm("AdamNorm(λ=1-1e-8)", adam(True, LAM_TYPICAL)),
        Arm("AdaRem", AdaRem(alpha=eta, beta=0.9, lam=0.999)),
        Arm("AdaRem(λ=0.5)", AdaRem(alpha=eta, beta=0.9, lam=0.5)),
    ]
