"""The series bounds the regret proofs lean on, each checked on its own.

* Arithmetic-geometric series (paper 001 supplement A, proof of Lemma 1, and
  Kingma & Ba 2015, proof of Lemma 10.4): ``Σ_{j≥0} j η^j = η/(1-η)² < 1/(1-η)²``.
* The step in the same proofs that *uses* it: ``Σ_{j=0}^{T-t} t η^j ≤ 1/(1-η)²``.
  There ``t`` is the outer summation index, not ``j``: the inner sum is ``t``
  times a geometric series and grows with ``t``.
* ``Σ_{t=1}^T 1/√t ≤ 2√T - 1`` (paper 002 Theorem 1, last term).
* Kingma & Ba 2015 Lemma 10.3, ``Σ_t |g_t|/√t ≤ 2 G∞ ‖g_{1:T}‖₂``, the last
  step of AdamNorm's Lemma 1.
* ``Σ_t β1 λ^{t-1} √t / (1 - β1 λ^{t-1}) ≤ 1/((1-β1)(1-λ)²)`` (third term of
  paper 000 Theorem 1 / paper 001 Theorem 2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sympy as sp

from theory import symbols as S


def ag_series_closed_form() -> sp.Expr:
    """``Σ_{j=0}^∞ j η^j`` for ``0 ≤ η < 1``, computed by sympy: ``η/(1-η)²``."""
    eta = sp.Symbol("eta", positive=True)
    total = sp.piecewise_fold(sp.summation(S.j * eta**S.j, (S.j, 0, sp.oo)))
    # sympy returns a Piecewise guarded by |η| < 1; the branch we want is the first.
    if isinstance(total, sp.Piecewise):
        total = total.args[0][0]
    return sp.simplify(total.subs(eta, S.eta))


def ag_series_bound_gap() -> sp.Expr:
    """``1/(1-η)² - Σ j η^j``, simplified: ``1/(1-η)``, positive for η < 1."""
    return sp.simplify(1 / (1 - S.eta) ** 2 - ag_series_closed_form())


def proof_step_inner_sum() -> sp.Expr:
    """``Σ_{j=0}^{T-t} t η^j`` in closed form, ``t (1-η^{T-t+1})/(1-η)`` (η ≠ 1)."""
    eta = sp.Symbol("eta", positive=True)
    total = sp.summation(S.t * eta**S.j, (S.j, 0, S.T - S.t))
    total = sp.piecewise_fold(total)
    if isinstance(total, sp.Piecewise):
        # branches: η = 1 (the sum is t(T-t+1)) and otherwise the geometric form
        total = next(expr for expr, cond in total.args if cond is sp.true)
    return sp.simplify(total.subs(eta, S.eta))


@dataclass(frozen=True)
class StepCounterexample:
    """Indices where ``Σ_{j=0}^{T-t} t η^j`` exceeds ``1/(1-η)²``."""

    eta: float
    t: int
    T: int
    inner_sum: float
    claimed_bound: float


def proof_step_counterexample(eta_value: float, t_max: int = 10_000) -> StepCounterexample | None:
    """The smallest ``t`` (then the smallest ``T ≥ t``) where the proof step fails.

    The inner sum increases with ``T`` towards ``t/(1-η)``, so for each ``t``
    it is enough to look at ``T`` up to where ``η^{T-t+1}`` underflows.
    """
    if not 0.0 <= eta_value < 1.0:
        raise ValueError("the proofs assume 0 <= eta < 1")
    bound = 1.0 / (1.0 - eta_value) ** 2
    for t in range(1, t_max + 1):
        if t / (1.0 - eta_value) <= bound:  # even T → ∞ does not exceed the bound
            continue
        total = 0.0
        power = 1.0
        for T in range(t, t + 100_000):
            total += t * power  # term j = T - t
            power *= eta_value
            if total > bound:
                return StepCounterexample(eta_value, t, T, total, bound)
    return None


def sqrt_harmonic_step() -> sp.Expr:
    """Induction step of ``Σ_{t=1}^T 1/√t ≤ 2√T - 1``.

    Multiplying ``2√(T+1) - 2√T - 1/√(T+1) ≥ 0`` by ``√(T+1)`` leaves
    ``(2T+1) - 2√(T(T+1)) ≥ 0``, i.e. ``(2T+1)² - 4T(T+1) ≥ 0``; the function
    returns that last difference, which sympy expands to the constant 1.
    """
    return sp.expand((2 * S.T + 1) ** 2 - 4 * S.T * (S.T + 1))


def sqrt_harmonic_numeric(T_max: int = 1_000_000) -> float:
    """``min_T (2√T - 1 - Σ_{t≤T} 1/√t)`` over ``T ≤ T_max`` (≥ 0 if the bound holds)."""
    ts = np.arange(1, T_max + 1, dtype=np.float64)
    partial = np.cumsum(1.0 / np.sqrt(ts))
    return float(np.min(2.0 * np.sqrt(ts) - 1.0 - partial))


def lemma_10_3_sides(grads: np.ndarray, g_inf: float) -> tuple[float, float]:
    """Both sides of Kingma & Ba's Lemma 10.3 for one coordinate's sequence."""
    ts = np.arange(1, len(grads) + 1, dtype=np.float64)
    lhs = float(np.sum(np.abs(grads) / np.sqrt(ts)))
    rhs = float(2.0 * g_inf * np.linalg.norm(grads))
    return lhs, rhs


def lemma_10_3_unit_scale_counterexample() -> dict[str, object]:
    """``g_t = 1/√t`` (so ``G∞ = 1``): the lemma reads ``H_T ≤ 2√H_T``, i.e. ``H_T ≤ 4``.

    ``H_T`` is the harmonic number; sympy compares it exactly with 4 and finds
    the first ``T`` where the lemma fails at unit gradient scale.
    """
    T = 1
    while sp.harmonic(T) <= 4:
        T += 1
    grads = 1.0 / np.sqrt(np.arange(1, T + 1, dtype=np.float64))
    lhs, rhs = lemma_10_3_sides(grads, 1.0)
    return {
        "sequence": "g_t = 1/sqrt(t), t = 1..T, G_inf = 1",
        "T": T,
        "harmonic_T": str(sp.harmonic(T)),
        "lhs": lhs,
        "rhs": rhs,
    }


def beta1_schedule_sum(beta1: float, lam: float, T: int) -> float:
    """``Σ_{t=1}^T β1 λ^{t-1} √t / (1 - β1 λ^{t-1})`` in float64."""
    ts = np.arange(1, T + 1, dtype=np.float64)
    b = beta1 * lam ** (ts - 1.0)
    return float(np.sum(b * np.sqrt(ts) / (1.0 - b)))


def beta1_schedule_bound(beta1: float, lam: float) -> float:
    """The bound ``1/((1-β1)(1-λ)²)`` quoted from Kingma & Ba in paper 001."""
    return 1.0 / ((1.0 - beta1) * (1.0 - lam) ** 2)


def t_lambda_series() -> sp.Expr:
    """``Σ_{t≥1} t λ^{t-1}`` for 0 < λ < 1: ``1/(1-λ)²`` (the step behind the bound above)."""
    lam = sp.Symbol("lambda", positive=True)
    total = sp.piecewise_fold(sp.summation(S.t * lam ** (S.t - 1), (S.t, 1, sp.oo)))
    if isinstance(total, sp.Piecewise):
        total = total.args[0][0]  # the convergent branch, guarded by λ < 1
    return sp.simplify(total)


def bias_ratio_max(beta1: float, beta2: float, T: int = 10_000) -> float:
    """``max_t √(1-β2^t)/(1-β1^t)² · (1-β1)²`` (≤ 1 is the proof's first step)."""
    ts = np.arange(1, T + 1, dtype=np.float64)
    ratio = np.sqrt(-np.expm1(ts * math.log(beta2))) / (-np.expm1(ts * math.log(beta1))) ** 2
    return float(np.max(ratio) * (1.0 - beta1) ** 2)
