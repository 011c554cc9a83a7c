"""A small float64 NumPy transcription of AdaRem as Theorem 1 of paper 002 states it.

Indexing follows the theorem: steps t = 1..T with ``η_t = η/√t``, the
modulation ``a_{t,i} = 1 + λ^t b_{t,i}`` (eqs. 1-2) with the momentum *before*
this step's update (``m_1 = 0``), weight decay γ = 0, and the projection
``Π_{F, diag(η_t^{-1})}`` onto a box, which is coordinatewise clipping.
(Alg. 1 counts from t = 0, where ``η/√t`` is undefined; the theorem's
``t ∈ [T]`` starts at 1.) Shares no code with ``optimizers/``.

:func:`theorem_chain` evaluates every link of the derivation in
:mod:`theory.adarem_bounds` on one instance of linear losses.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from theory.online import best_point, linear_regret_curve, projected_run
from theory.search import find_example


def adarem_rates(
    grads: np.ndarray, eta: float, beta: float, lam: float, eps: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Modulations ``a_t`` and per-coordinate rates ``η_{t,i}`` for a fixed gradient sequence."""
    grads = np.asarray(grads, dtype=np.float64)
    T, dim = grads.shape
    a_all = np.empty((T, dim))
    m = np.zeros(dim)
    for idx in range(T):
        step = idx + 1
        g = grads[idx]
        denom = np.abs(g) * np.max(np.abs(m)) + eps
        b = np.where(denom > 0.0, g * m / np.where(denom > 0.0, denom, 1.0), 0.0)
        a_all[idx] = 1.0 + lam**step * b
        m = beta * m + (1.0 - beta) * g
    steps = np.arange(1, T + 1, dtype=np.float64)[:, None]
    return a_all, eta * a_all / np.sqrt(steps)


@dataclass(frozen=True)
class ChainValues:
    """Regret and the successive upper bounds of the derivation, at horizon T."""

    regret: float
    per_step_bound: float  # Σ_t Σ_i (x_t² - x_{t+1}²)/(2η_t) + η_t g²/2
    data_bound: float  # D∞²/2 [1/η_1 + Σ (1/η_t - 1/η_{t-1})_+] + Σ η_t g²/2
    schedule_bound: float  # same with 1/η_t ≤ u_t/η and 1/η_{t-1} ≥ l_{t-1}/η (finite sums)
    closed_bound: float  # B_closed
    paper_bound: float  # Theorem 1 as stated

    def ordered(self, rel: float = 1e-9) -> bool:
        """Whether regret ≤ per-step ≤ data ≤ schedule ≤ closed ≤ paper (float slack ``rel``)."""
        seq = [
            self.regret,
            self.per_step_bound,
            self.data_bound,
            self.schedule_bound,
            self.closed_bound,
            self.paper_bound,
        ]
        return all(lo <= hi + rel * max(1.0, abs(hi)) for lo, hi in itertools.pairwise(seq))


def theorem_chain(
    grads: np.ndarray,
    eta: float,
    beta: float,
    lam: float,
    lower: float = -1.0,
    upper: float = 1.0,
    theta0: np.ndarray | None = None,
    eps: float = 0.0,
) -> ChainValues:
    """Run AdaRem on linear losses in ``[lower, upper]^d`` and evaluate the derivation's chain."""
    from theory.bounds import (
        adarem_regret_bound,
    )  # late import: bounds imports this package's statements

    grads = np.asarray(grads, dtype=np.float64)
    T, dim = grads.shape
    theta0 = np.zeros(dim) if theta0 is None else np.asarray(theta0, dtype=np.float64)
    _, rates = adarem_rates(grads, eta, beta, lam, eps)
    iterates = projected_run(rates * grads, lower, upper, theta0)
    regret = float(linear_regret_curve(grads, iterates, lower, upper)[-1])
    star = best_point(grads, lower, upper)
    x = iterates - star
    last = np.clip(iterates[-1] - rates[-1] * grads[-1], lower, upper) - star
    x_next = np.vstack([x[1:], last[None, :]])
    per_step = float(np.sum((x**2 - x_next**2) / (2.0 * rates) + rates * grads**2 / 2.0))
    d_inf = upper - lower
    inv = 1.0 / rates
    rises = np.clip(np.diff(inv, axis=0), 0.0, None).sum(axis=0)
    grad_part = float(np.sum(rates * grads**2 / 2.0))
    data = float(np.sum(d_inf**2 / 2.0 * (inv[0] + rises))) + grad_part
    steps = np.arange(1, T + 1, dtype=np.float64)
    u = np.sqrt(steps) / (1.0 - lam**steps)
    low = np.sqrt(steps) / (1.0 + lam**steps)
    schedule_distance = u[0] + float(np.sum(u[1:] - low[:-1]))
    g2 = float(np.max(np.linalg.norm(grads, axis=1)))
    schedule_grad = float(np.sum(eta * (1.0 + lam**steps) * g2**2 / (2.0 * np.sqrt(steps))))
    schedule = dim * d_inf**2 / (2.0 * eta) * schedule_distance + schedule_grad
    closed = (
        dim
        * d_inf**2
        / (2.0 * eta)
        * (1.0 / (1.0 - lam) + math.sqrt(T) - 1.0 + lam / (1.0 - lam) ** 3 + lam / (1.0 - lam) ** 2)
        + eta * (1.0 + lam) * g2**2 * (2.0 * math.sqrt(T) - 1.0) / 2.0
    )
    paper = float(adarem_regret_bound(T=T, d=dim, D_inf=d_inf, G2=g2, eta=eta, lam=lam))
    return ChainValues(regret, per_step, data, float(schedule), float(closed), paper)


def search_chain(max_examples: int) -> dict[str, object]:
    """Hypothesis search for an instance breaking any link of the chain (or the paper's bound).

    Instances: T ≤ 60, d ≤ 3, gradient entries in [-1, 1] times a per-step
    magnitude, η = 10^k (k ∈ [-3, 1]), λ ∈ [0, 0.999], β ∈ [0, 0.99],
    ε ∈ {0, 1e-8}, θ_1 drawn in the box [-1, 1]^d.
    """
    from collections.abc import Callable

    from hypothesis import strategies as st

    counts = {"examples": 0}
    entry = st.floats(-1.0, 1.0, allow_nan=False, allow_subnormal=False)

    @st.composite
    def case(draw: Callable) -> dict[str, object]:
        T = draw(st.integers(1, 60))
        dim = draw(st.integers(1, 3))
        rows = np.asarray([[draw(entry) for _ in range(dim)] for _ in range(T)])
        mags = np.asarray([draw(st.sampled_from([1.0, 0.5, 0.1, 0.01])) for _ in range(T)])
        return {
            "grads": rows * mags[:, None],
            "eta": 10.0 ** draw(st.floats(-3.0, 1.0)),
            "beta": draw(st.floats(0.0, 0.99)),
            "lam": draw(st.floats(0.0, 0.999)),
            "eps": draw(st.sampled_from([0.0, 1e-8])),
            "theta0": np.asarray([draw(entry) for _ in range(dim)]),
        }

    def broken(raw: dict[str, object]) -> bool:
        counts["examples"] += 1
        grads = raw["grads"]
        if float(np.max(np.abs(grads))) == 0.0:  # type: ignore[arg-type]
            return False
        chain = theorem_chain(
            grads, raw["eta"], raw["beta"], raw["lam"], theta0=raw["theta0"], eps=raw["eps"]
        )  # type: ignore[arg-type]
        return not chain.ordered()

    raw = find_example(case(), broken, max_examples)
    if raw is None:
        return {"examples": counts["examples"], "found": False}
    return {
        "examples": counts["examples"],
        "found": True,
        "instance": {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in raw.items()},
    }


def alternating_instance(
    T: int = 30_000, C: float = 3.0, eta: float = 0.1, beta: float = 0.9, lam: float = 0.999
) -> ChainValues:
    """Reddi et al.'s 1-D sequence (C, -1, -1, ...) on [-1, 1], run by AdaRem."""
    grads = np.where(np.arange(1, T + 1) % 3 == 1, C, -1.0)[:, None]
    return theorem_chain(grads, eta, beta, lam)
