"""DG-1, RA-1, AB-1, GEN-1, GEN-2: properties of the base optimizers the seeds rely on
(paper 001 supplement B Algs. 3, 5, 7; paper 004 eqs. 6-7; paper 003 §I)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from hypothesis import strategies as st

from invariants import strategies as S
from invariants.cases import Case
from invariants.claim import (
    CAVEAT,
    MUST_HOLD,
    STATED,
    Claim,
    Condition,
    Violation,
    Witness,
    guarded,
)
from invariants.claims._common import (
    adam_hyper,
    case_strategy,
    finite,
    fmt,
    norm,
    per_step,
    with_entries,
)
from invariants.runners import run
from invariants.tolerances import EPS, ema_rel
from optimizers.reference import REFERENCES
from optimizers.units.radam import rectification, sma_length


def _nonfinite(*traces) -> list[Violation]:
    if all(finite(t) for t in traces):
        return []
    return [Violation("non-finite value in the trace", error=True)]


# --------------------------------------------------------------------------
# DG-1
# --------------------------------------------------------------------------

SATURATION = 36.0
"""Below this |g_t - g_{t-1}|, sigmoid is < 1 in float64 (1/(1+e^-x) rounds to 1 once
e^-x < 2^-53 ≈ 1.1e-16, i.e. x > 36.7; 36 leaves a margin for how each library
evaluates the sigmoid)."""


def _dg1_strategy(imposed: frozenset[str]) -> st.SearchStrategy[Case]:
    return case_strategy(("DiffGrad",), with_entries(adam_hyper(), weight_decay=st.just(0.0)))


def _friction(implementation: str, record: dict, i: int) -> np.ndarray:
    if implementation == "reference":
        return record["xi"][i]
    # The torch unit's own expression on the values it read (recorded by the tap).
    g = torch.tensor(record["g"][i])
    previous = torch.tensor(record["g_prev"][i])
    return torch.sigmoid((g - previous).abs()).numpy()


@guarded
def _dg1_check(implementation: str, case: Case) -> Iterator[Violation]:
    """ξ_t ∈ [0.5, 1) elementwise, and |diffGrad step| ≤ |Adam step| on the same gradients."""
    trace = run(implementation, case)
    adam = run(implementation, case.with_optimizer("Adam", **case.hyper))
    yield from _nonfinite(trace, adam)
    previous = [np.zeros_like(p) for p in case.params]
    for t, (rd, ra) in enumerate(zip(trace, adam, strict=True), start=1):
        for i in range(len(case.params)):
            g = rd["g"][i]
            xi = _friction(implementation, rd, i)
            jump = np.abs(g - previous[i])
            previous[i] = g
            if np.any(xi < 0.5):
                yield Violation(f"step {t} tensor {i}: ξ = {fmt(np.min(xi))} < 0.5")
            saturated = xi >= 1.0
            if np.any(saturated):
                big = bool(np.all(jump[saturated] >= SATURATION))
                yield Violation(
                    f"step {t} tensor {i}: ξ_t = 1 exactly (not < 1) where |g_t - g_(t-1)| = "
                    f"{fmt(float(np.max(jump[saturated])))}: "
                    "the sigmoid rounds to 1 in float64",
                    excused_by=frozenset({"below_saturation"}) if big else frozenset(),
                )
            # ξ ≤ 1 and fl(ξ·x) is monotone in ξ: exactly |step| ≤ |Adam's step| (tol 0).
            if np.any(np.abs(rd["direction"][i]) > np.abs(ra["direction"][i])):
                yield Violation(f"step {t} tensor {i}: |diffGrad step| > |Adam step|")


DG_1 = Claim(
    id="DG-1",
    slug="friction_in_half_open_unit_interval",
    statement=(
        "ξ_t = sigmoid(|g_t - g_(t-1)|) ∈ [0.5, 1), so the diffGrad step never exceeds Adam's"
    ),
    source="paper 001 supplement B, Alg. 3",
    reasoning=(
        "In exact arithmetic sigmoid(x) ∈ [0.5, 1) for x ≥ 0 and the step is ξ times Adam's: a "
        "theorem. In float64 the sigmoid rounds to exactly 1 once |g_t - g_(t-1)| exceeds ≈ 36.7, "
        "so the strict bound ξ < 1 fails for large gradient changes while 'never exceeds Adam's "
        "step' (ξ ≤ 1) still holds. That is a limit of the statement in floating point, recorded "
        "as a condition; ξ = 1 below the saturation point, ξ < 0.5, or a step larger than "
        "Adam's would be our bug."
    ),
    strategy=_dg1_strategy,
    check=_dg1_check,
    conditions=(
        Condition(
            "below_saturation",
            f"|g_t - g_(t-1)| < {SATURATION:g} elementwise, or exact arithmetic "
            "(float64 rounds sigmoid(x) to 1 for x ≳ 36.7; float32 for x ≳ 16.6)",
            kind=CAVEAT,
        ),
    ),
    expected=MUST_HOLD,
    cost=2.0,
    tolerance="none: ξ ≥ 0.5, ξ < 1 and |step| ≤ |Adam step| are exact comparisons",
)


# --------------------------------------------------------------------------
# RA-1
# --------------------------------------------------------------------------

SEQUENCE_STEPS = 2000


def rho_error(beta2: float, t: int, rho_inf: float, rho_t: float) -> float:
    """Bound on |computed ρ_t - exact ρ_t| for the formula as written (Alg. 5).

    ρ∞ = 2/(1-β2) - 1: ≤ 3 roundings of size ρ∞. A = 2tβ2^t/(1-β2^t): pow adds ≤ 1 ulp
    to β2^t; 1-β2^t then carries an absolute error ≤ u β2^t + u(1-β2^t), i.e. a relative
    error ≤ u(β2^t/(1-β2^t) + 1) that is *amplified* as β2 → 1 (cancellation); the
    products and the quotient add ≤ 4u. The difference adds u|ρ_t|. In EPS:
    EPS·(3ρ∞ + A·(β2^t/(1-β2^t) + 5) + |ρ_t|).
    """
    power = beta2**t
    a = 2.0 * t * power / (1.0 - power) if power < 1.0 else 0.0
    ratio = power / (1.0 - power) if power < 1.0 else 0.0
    return EPS * (3.0 * abs(rho_inf) + a * (ratio + 5.0) + abs(rho_t))


def _rho(implementation: str, beta2: float, t: int) -> tuple[float, float]:
    if implementation == "torch":
        return sma_length(beta2, t)
    return REFERENCES["RAdam"]([np.zeros(1)], betas=(0.9, beta2)).rho(t)


def _ra1_strategy(imposed: frozenset[str]) -> st.SearchStrategy[Case]:
    hyper = with_entries(adam_hyper(), weight_decay=st.just(0.0))
    return case_strategy(("RAdam", "RAdamNorm"), hyper, plans=S.gradient_plans(max_steps=16))


@guarded
def _ra1_check(implementation: str, case: Case) -> Iterator[Violation]:
    """ρ_t non-decreasing and ≤ ρ∞; r ∈ (0, 1] when ρ_t ≥ 5; otherwise the step is m̂_t."""
    beta1, beta2 = case.hyper["betas"]
    previous = None
    for t in range(1, SEQUENCE_STEPS + 1):
        rho_inf, rho_t = _rho(implementation, beta2, t)
        err = rho_error(beta2, t, rho_inf, rho_t)
        if rho_t > rho_inf + err:
            yield Violation(f"β2={beta2!r}, t={t}: ρ_t = {rho_t:.17g} > ρ∞ = {rho_inf:.17g}")
            break
        if previous is not None and rho_t < previous[0] - err - previous[1]:
            yield Violation(
                f"β2={beta2!r}, t={t}: ρ_t = {rho_t:.17g} < ρ_(t-1) = {previous[0]:.17g}"
            )
            break
        if rho_t >= 5.0 and implementation == "torch":
            r = rectification(beta2, t)
            if not 0.0 < r <= 1.0 + 8 * EPS + 2 * err:
                yield Violation(f"β2={beta2!r}, t={t}: r = {r!r} outside (0, 1]")
                break
        previous = (rho_t, err)
    trace = run(implementation, case)
    yield from _nonfinite(trace)
    for t, i, (m, direction) in per_step(trace, ("m", "direction")):
        rho_inf, rho_t = _rho(implementation, beta2, t)
        bc1 = 1.0 - beta1**t
        if rho_t >= 5.0:
            r = rectification(beta2, t) if implementation == "torch" else trace[t - 1]["r"][i]
            r = float(r)
            if not 0.0 < r <= 1.0 + 8 * EPS + 2 * rho_error(beta2, t, rho_inf, rho_t):
                yield Violation(f"step {t}: rectified with r = {r!r} outside (0, 1]")
        elif not np.array_equal(direction, m / bc1):
            yield Violation(f"step {t} tensor {i}: ρ_t = {rho_t:.6g} < 5 but the step is not m̂_t")


RA_1 = Claim(
    id="RA-1",
    slug="rectification_term_and_threshold",
    statement=(
        "ρ∞ = 2/(1-β2) - 1, ρ_t = ρ∞ - 2tβ2^t/(1-β2^t) increases to ρ∞; the rectification factor "
        "is in (0, 1] when ρ_t ≥ 5; below the threshold the update is un-adapted momentum"
    ),
    source="paper 001 supplement B, Alg. 5 (and Alg. 6)",
    reasoning=(
        "tβ^t/(1-β^t) decreases in t, so ρ_t increases from ρ_1 = 1 to ρ∞; h(ρ) = (ρ-4)(ρ-2)/ρ "
        "increases for ρ > √8, so r² = (1-β2^t) h(ρ_t)/h(ρ∞) ∈ (0, 1] once ρ_t ≥ 5. A theorem, "
        "checked on the implementations' own ρ_t for t ≤ 2000 and on trajectories (the "
        "un-rectified step must be m_t/(1-β1^t) bitwise). The formula as written cancels "
        "catastrophically as β2 → 1; the derived error bound rho_error() grows accordingly."
    ),
    strategy=_ra1_strategy,
    check=_ra1_check,
    expected=MUST_HOLD,
    cost=3.0,
    tolerance="ρ_t within rho_error(β2, t) (cancellation-aware bound, invariants/claims/bases.py); "
    "r ≤ 1 + 8 EPS + 2 rho_error; un-rectified step bitwise",
)


# --------------------------------------------------------------------------
# AB-1
# --------------------------------------------------------------------------


def _ab1_strategy(imposed: frozenset[str]) -> st.SearchStrategy[Case]:
    modes = st.sampled_from(["outside", "inside", "both"])
    hyper = with_entries(adam_hyper(), eps_mode=modes, weight_decay=S.weight_decays())
    return case_strategy(("AdaBelief",), hyper)


@guarded
def _ab1_check(implementation: str, case: Case) -> Iterator[Violation]:
    """q_t = (g_t - m_t)² with the updated m_t, and v_t = β2 v_(t-1) + (1-β2) q_t (+ ε inside)."""
    trace = run(implementation, case)
    yield from _nonfinite(trace)
    beta2 = case.hyper["betas"][1]
    inside = case.hyper["eps"] if case.hyper["eps_mode"] in ("inside", "both") else 0.0
    previous = [np.zeros_like(p) for p in case.params]
    for t, record in enumerate(trace, start=1):
        for i in range(len(case.params)):
            g, m, v = record["g"][i], record["m"][i], record["v"][i]
            q = (g - m) ** 2
            if implementation == "torch" and not np.array_equal(record["q"][i], q):
                yield Violation(f"step {t} tensor {i}: statistic is not (g - m_t)²")
            # One EMA step: ≤ 3 roundings on each side (ema_rel(1)) plus ε's addition.
            expected = beta2 * previous[i] + (1.0 - beta2) * q + inside
            if np.any(np.abs(v - expected) > 2 * ema_rel(1) * np.abs(expected)):
                yield Violation(f"step {t} tensor {i}: v ≠ EMA of (g - m_t)²")
            previous[i] = v


def _ab1_remark(implementation: str, case: Case) -> str | None:
    """A step where the layer mean of (g - m_t)² exceeds that of g² (so AdaBelief's
    per-step statistic is not smaller than Adam's)."""
    trace = run(implementation, case)
    for t, i, (g, m) in per_step(trace, ("g", "m")):
        belief, adam = float(np.mean((g - m) ** 2)), float(np.mean(g**2))
        if belief > adam * (1 + 1e-6):
            return f"step {t} tensor {i}: mean (g-m)² = {belief:.6g} > mean g² = {adam:.6g}"
    return None


AB_1 = Claim(
    id="AB-1",
    slug="belief_tracks_squared_prediction_error",
    statement=(
        "AdaBelief tracks the EMA of the squared prediction error (g_t - m_t)² with the updated "
        "m_t (the invariant part; the layerwise mean/variance comparison with Adam 'in training' "
        "is an empirical claim for the training stage)"
    ),
    source="paper 001 Alg. 7; paper 004 §I, eqs. 6-7",
    reasoning=(
        "The tracked quantity is the definition of the algorithm: must hold (our bug otherwise). "
        "The comparison of layerwise means is not a per-step invariant: when the gradient "
        "changes sign, (g - m)² > g² (m(m - 2g) > 0); the search records such a step as a remark."
    ),
    strategy=_ab1_strategy,
    check=_ab1_check,
    witness=Witness(
        "a step whose layerwise mean of (g - m_t)² exceeds that of g² (the 'smaller' part is "
        "statistical, not per step)",
        lambda: _ab1_strategy(frozenset()),
        _ab1_remark,
        required=False,
    ),
    expected=MUST_HOLD,
    tolerance="statistic bitwise (torch); v within 2·ema_rel(1) relative per step",
)


# --------------------------------------------------------------------------
# GEN-1
# --------------------------------------------------------------------------


def _gen1_strategy(imposed: frozenset[str]) -> st.SearchStrategy[Case]:
    eps = st.just(0.0) if "zero_eps" in imposed else S.epsilons()
    hyper = with_entries(adam_hyper(), eps=eps, weight_decay=st.just(0.0))
    factor = st.one_of(st.sampled_from([2.0, 0.5, 10.0, 1e-3, 1e3]), st.floats(1e-3, 1e3))
    return st.tuples(case_strategy(("Adam",), hyper), factor).map(
        lambda p: Case(
            p[0].optimizer, p[0].params, p[0].grads, p[0].hyper, {**p[0].extra, "c": p[1]}
        )
    )


@guarded
def _gen1_check(implementation: str, case: Case) -> Iterator[Violation]:
    """Adam's step with gradients c·g equals its step with g."""
    c = float(case.extra["c"])
    scaled = Case(
        case.optimizer, case.params, tuple(tuple(c * g for g in s) for s in case.grads), case.hyper
    )
    plain, other = run(implementation, case), run(implementation, scaled)
    yield from _nonfinite(plain, other)
    beta1, beta2 = case.hyper["betas"]
    sums = [np.zeros_like(p) for p in case.params]
    for t, (rp, rs) in enumerate(zip(plain, other, strict=True), start=1):
        for i in range(len(case.params)):
            g, v, d, dc = rp["g"][i], rp["v"][i], rp["direction"][i], rs["direction"][i]
            sums[i] = beta1 * sums[i] + (1 - beta1) * np.abs(g)
            root = np.sqrt(v / (1 - beta2**t))
            zero = root == 0
            if np.any(zero & ((d != 0) | (dc != 0))):
                yield Violation(f"step {t} tensor {i}: zero history but a nonzero step")
            # Error of m relative to its scale Σ|terms| (ema_rel(t) each side, EPS for c·g),
            # of v (ema_rel(t) + 2 EPS, halved by the root), and the final division.
            scale = np.where(zero, 0.0, sums[i] / (1 - beta1**t) / np.where(zero, 1.0, root))
            tol = (2 * ema_rel(t) + 4 * EPS) * scale + (ema_rel(t) + 4 * EPS) * np.abs(d)
            if np.any(np.abs(dc - d) > tol):
                worst = float(np.max(np.abs(dc - d) / np.maximum(np.abs(d), 1e-300)))
                yield Violation(
                    f"step {t} tensor {i}: step changes by {worst:.3g} (relative) under g → {c:g}·g"
                )


GEN_1 = Claim(
    id="GEN-1",
    slug="adam_step_invariant_to_gradient_scale",
    statement="Adam's update is invariant to rescaling all gradients by c > 0 (ε = 0)",
    source="paper 003 §I",
    reasoning=(
        "With ε = 0, m̂_t scales by c and sqrt(v̂_t) by c, so m̂/sqrt(v̂) does not change: a "
        "theorem (no L2 decay: it would add an unscaled wd·θ). The paper states the invariance "
        "without mentioning ε; the claim as listed states ε = 0, so the search draws ε = 0 only "
        "(with ε > 0 it fails where sqrt(v̂) is comparable to ε); a counterexample would be our "
        "bug."
    ),
    strategy=_gen1_strategy,
    check=_gen1_check,
    conditions=(Condition("zero_eps", "ε = 0, as the claim states", kind=STATED),),
    expected=MUST_HOLD,
    cost=2.0,
    tolerance=(
        "|Δstep| ≤ (2 ema_rel(t) + 4 EPS)·(EMA|g|/(1-β1^t))/sqrt(v̂) + (ema_rel(t) + 4 EPS)|step|"
    ),
)


# --------------------------------------------------------------------------
# GEN-2
# --------------------------------------------------------------------------


def _sgd_hyper() -> st.SearchStrategy[dict]:
    def build(momentum: float, dampening: float, nesterov: bool, lr: float, wd: float) -> dict:
        nesterov = nesterov and momentum > 0
        return {
            "lr": lr,
            "momentum": momentum,
            "dampening": 0.0 if nesterov else dampening,
            "nesterov": nesterov,
            "weight_decay": wd,
        }

    return st.builds(
        build,
        st.one_of(st.just(0.0), S.unit_interval()),
        st.sampled_from([0.0, 0.5, 0.9]),
        st.booleans(),
        S.learning_rates(),
        S.weight_decays(),
    )


def _gen2_strategy(imposed: frozenset[str]) -> st.SearchStrategy[Case]:
    return case_strategy(("SGDM",), _sgd_hyper())


def _span_residual(history: list[np.ndarray], x: np.ndarray) -> float:
    basis = np.stack([h.ravel() for h in history], axis=1)
    coefficients, *_ = np.linalg.lstsq(basis, x.ravel(), rcond=None)
    return norm(x.ravel() - basis @ coefficients)


@guarded
def _gen2_check(implementation: str, case: Case) -> Iterator[Violation]:
    """Every SGD(M) step lies in the span of the gradients so far (L2 decay included in g)."""
    trace = run(implementation, case)
    yield from _nonfinite(trace)
    history: dict[int, list[np.ndarray]] = {}
    for t, i, (g, direction) in per_step(trace, ("g", "direction")):
        history.setdefault(i, []).append(g)
        mass = sum(norm(h) for h in history[i])
        residual = _span_residual(history[i], direction)
        # Each buffer update rounds relative to its entries (≤ 2 roundings per step, weights
        # ≤ 2 with Nesterov); least squares adds ≤ (t + n) EPS of the data's scale.
        tol = 8 * (t + g.size) * EPS * (mass + norm(direction))
        if residual > tol:
            yield Violation(f"step {t} tensor {i}: SGD step {residual:.3g} outside the span")


def _gen2_witness_strategy() -> st.SearchStrategy[Case]:
    hyper = with_entries(adam_hyper(), weight_decay=st.just(0.0))
    return case_strategy(
        ("Adam",), hyper, kinds=("bias", "matrix"), plans=S.gradient_plans(max_steps=3)
    )


def _gen2_witness(implementation: str, case: Case) -> str | None:
    trace = run(implementation, case)
    history: dict[int, list[np.ndarray]] = {}
    for t, i, (g, direction) in per_step(trace, ("g", "direction")):
        history.setdefault(i, []).append(g)
        if len(history[i]) >= g.size or norm(direction) == 0:
            continue
        residual = _span_residual(history[i], direction)
        if residual > 1e-3 * norm(direction):
            share = residual / norm(direction)
            return f"Adam step {t}, tensor {i}: {share:.3g} of its norm lies outside the span"
    return None


GEN_2 = Claim(
    id="GEN-2",
    slug="sgd_in_gradient_span_adam_not",
    statement="SGD updates lie in the span of past gradients; Adam's need not",
    source="paper 003 §I",
    reasoning=(
        "SGD with (heavy-ball or Nesterov) momentum builds each step as a linear combination of "
        "g_1..g_t, so the first part is a theorem (our bug if violated, L2 decay counted in g). "
        "The second is an existence statement: a witness is searched for; none would make the "
        "verdict inconclusive."
    ),
    strategy=_gen2_strategy,
    check=_gen2_check,
    witness=Witness(
        "an Adam step with more than 1e-3 of its norm outside the span of the gradients",
        _gen2_witness_strategy,
        _gen2_witness,
    ),
    expected=MUST_HOLD,
    tolerance="residual ≤ 8 (t + n) EPS (Σ‖g_s‖ + ‖step‖)",
)

CLAIMS = (DG_1, RA_1, AB_1, GEN_1, GEN_2)
