"""AN-1 to AN-5: the AdaNorm gradient-norm correction (paper 000 eqs. 2-9, Alg. 2;
paper 001 Algs. 4, 6, 8)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from hypothesis import strategies as st

from invariants import strategies as S
from invariants.cases import Case
from invariants.claim import (
    CAVEAT,
    HOLDS_WITH_CONDITIONS,
    MUST_HOLD,
    Claim,
    Condition,
    Violation,
    guarded,
)
from invariants.claims._common import adam_hyper, case_strategy, finite, fmt, norm, per_step, size
from invariants.runners import run
from invariants.tolerances import EPS, ema_rel, norm_rel

NORM_VARIANTS = ("AdamNorm", "DiffGradNorm", "RAdamNorm", "AdaBeliefNorm")
BASE = {
    "AdamNorm": "Adam",
    "DiffGradNorm": "DiffGrad",
    "RAdamNorm": "RAdam",
    "AdaBeliefNorm": "AdaBelief",
}


def _norm_hyper(**fixed) -> st.SearchStrategy[dict]:
    parts = {"gamma": S.unit_interval(), "weight_decay": S.weight_decays()}
    parts.update({k: st.just(v) for k, v in fixed.items()})
    return st.tuples(adam_hyper(), st.fixed_dictionaries(parts)).map(lambda p: {**p[0], **p[1]})


def _nonfinite(trace) -> list[Violation]:
    return [] if finite(trace) else [Violation("non-finite value in the trace", error=True)]


# --------------------------------------------------------------------------
# AN-1
# --------------------------------------------------------------------------


def _an1_strategy(imposed: frozenset[str]) -> st.SearchStrategy[Case]:
    return case_strategy(NORM_VARIANTS, _norm_hyper())


def an1_tolerance(n: int) -> float:
    """‖s‖ vs max(‖g‖, e): the implementation's own ‖g‖ (norm_rel), the ratio e/‖g‖
    and the product with g (2 roundings), and our two measured norms (2 norm_rel):
    ≤ 3·norm_rel(n) + EPS; stated as 4·norm_rel(n) + 4·EPS."""
    return 4 * norm_rel(n) + 4 * EPS


@guarded
def _an1_check(implementation: str, case: Case) -> Iterator[Violation]:
    trace = run(implementation, case)
    yield from _nonfinite(trace)
    for t, i, (g, s, e) in per_step(trace, ("g", "s", "e")):
        e = float(e)
        n, ns = norm(g), norm(s)
        tol = an1_tolerance(size(g))
        if n == 0.0:
            if ns != 0.0:
                yield Violation(f"step {t} tensor {i}: g = 0 but s ≠ 0 ({fmt(s)})")
            elif e > 0.0:
                yield Violation(
                    f"step {t} tensor {i}: g_t = 0 so s_t = 0, but e_t = {e:.6g} > 0: "
                    "‖s_t‖ < e_t (eq. 3 divides by ‖g_t‖ = 0)",
                    excused_by=frozenset({"nonzero_gradient"}),
                )
            continue
        target = max(n, e)
        if abs(ns - target) > tol * target:
            yield Violation(f"step {t} tensor {i}: ‖s‖ = {ns:.17g} but max(‖g‖, e) = {target:.17g}")
        coefficient = float(np.dot(s.ravel(), g.ravel())) / (n * n)
        residual = norm(s - coefficient * g)
        if coefficient < 1.0 - tol or residual > tol * ns:
            yield Violation(
                f"step {t} tensor {i}: s is not c·g with c ≥ 1 "
                f"(c = {coefficient:.17g}, residual {residual:.3g})"
            )


AN_1 = Claim(
    id="AN-1",
    slug="corrected_norm_is_max_of_norm_and_ema",
    statement=(
        "s_t keeps the direction of g_t and ‖s_t‖ = max(‖g_t‖, e_t) ≥ e_t, at every step "
        "of every Norm variant (AdamNorm, diffGradNorm, RAdamNorm, AdaBeliefNorm)"
    ),
    source="paper 000 eqs. 3-4, Alg. 2; paper 001 Algs. 4, 6, 8",
    reasoning=(
        "Mathematically true whenever g_t ≠ 0: s_t = max(1, e_t/‖g_t‖) g_t. At g_t = 0 eq. 3 "
        "divides by zero; no vector of norm e_t > 0 has the direction of 0, so the spec sets "
        "s_t = 0 and '‖s_t‖ ≥ e_t' cannot hold there. g_t = 0 is a case the paper leaves "
        "undefined, so it is a caveat beside 'holds', not a condition; any violation with "
        "g_t ≠ 0 is our bug."
    ),
    strategy=_an1_strategy,
    check=_an1_check,
    conditions=(
        Condition(
            "nonzero_gradient", "‖g_t‖ > 0 at the step (eq. 3 divides by ‖g_t‖)", kind=CAVEAT
        ),
    ),
    expected=MUST_HOLD,
    cost=1.0,
    tolerance="relative 4·norm_rel(n) + 4·EPS on ‖s‖ and on the parallel residual "
    "(invariants/tolerances.py, an1_tolerance)",
)


# --------------------------------------------------------------------------
# AN-2
# --------------------------------------------------------------------------


def _an2_strategy(imposed: frozenset[str]) -> st.SearchStrategy[Case]:
    hyper = _norm_hyper().flatmap(
        lambda h: st.sampled_from(["tensor", "global"]).map(
            lambda scope: {**h, "norm_scope": scope}
        )
    )
    return case_strategy(NORM_VARIANTS, hyper)


@guarded
def _an2_check(implementation: str, case: Case) -> Iterator[Violation]:
    """e_t ∈ [0, max_{k≤t} ‖g_k‖] with the norm per tensor, or over the group (global)."""
    trace = run(implementation, case)
    yield from _nonfinite(trace)
    scope = case.hyper.get("norm_scope", "tensor")
    peaks = [0.0] * len(case.params)
    total = sum(p.size for p in case.params)
    for t, record in enumerate(trace, start=1):
        if scope == "global":
            peak = norm(np.concatenate([g.ravel() for g in record["g"]]))
            peaks = [max(p, peak) for p in peaks]
        for i, (g, e) in enumerate(zip(record["g"], record["e"], strict=True)):
            n = total if scope == "global" else g.size
            if scope == "tensor":
                peaks[i] = max(peaks[i], norm(g))
            e = float(e)
            # e_t is an EMA of the implementation's norms (≤ ema_rel(t)), each off by
            # ≤ norm_rel(n) from ours; our running max carries another norm_rel(n).
            tol = ema_rel(t) + 2 * norm_rel(n)
            if e < 0.0 or e > peaks[i] * (1.0 + tol):
                yield Violation(f"step {t} tensor {i}: e_t = {e:.17g} outside [0, {peaks[i]:.17g}]")


AN_2 = Claim(
    id="AN-2",
    slug="norm_ema_stays_between_zero_and_max_norm",
    statement="e_t = γ e_{t-1} + (1-γ)‖g_t‖, e_0 = 0, lies in [0, max_{k≤t} ‖g_k‖]",
    source="paper 000 eq. 4",
    reasoning=(
        "A convex combination of e_{t-1} ∈ [0, M_{t-1}] and ‖g_t‖ ≤ M_t with γ ∈ [0, 1) stays in "
        "[0, M_t]: a theorem for every input, per tensor and for the global norm alike. Any "
        "violation is our bug."
    ),
    strategy=_an2_strategy,
    check=_an2_check,
    expected=MUST_HOLD,
    tolerance="e_t ≤ M_t (1 + ema_rel(t) + 2 norm_rel(n)): 3 roundings per EMA step plus the "
    "norms' error",
)


# --------------------------------------------------------------------------
# AN-3
# --------------------------------------------------------------------------


def _an3_strategy(imposed: frozenset[str]) -> st.SearchStrategy[Case]:
    return case_strategy(NORM_VARIANTS, _norm_hyper(weight_decay=0.0))


@guarded
def _an3_check(implementation: str, case: Case) -> Iterator[Violation]:
    """v_t of the Norm variant equals v_t of its base on the same gradients (Adam, diffGrad,
    RAdam), or is the base's own rule on its own m_t (AdaBelief: (g_t - m_t)²)."""
    corrected = run(implementation, case)
    base_case = case.with_optimizer(
        BASE[case.optimizer], **{k: v for k, v in case.hyper.items() if k != "gamma"}
    )
    base = run(implementation, base_case)
    yield from _nonfinite(corrected) + _nonfinite(base)
    beta2 = case.hyper["betas"][1]
    eps = case.hyper["eps"]
    previous = [np.zeros_like(p) for p in case.params]
    for t, (rc, rb) in enumerate(zip(corrected, base, strict=True), start=1):
        for i in range(len(case.params)):
            v, g, m = rc["v"][i], rc["g"][i], rc["m"][i]
            if case.optimizer != "AdaBeliefNorm":
                # Same operations on the same inputs in both optimizers: bitwise equal.
                if not np.array_equal(v, rb["v"][i]):
                    diff = float(np.max(np.abs(v - rb["v"][i])))
                    yield Violation(f"step {t} tensor {i}: v differs from the base by {diff:.3g}")
                continue
            # AdaBelief's rule on AdaBeliefNorm's own m_t: v = β2 v + (1-β2)(g - m)² + ε
            # (ε inside by default). Relative error of both sides ≤ 3 roundings per step.
            expected = beta2 * previous[i] + (1 - beta2) * (g - m) ** 2 + eps
            tol = 2 * ema_rel(1) * np.abs(expected) + EPS * np.abs(v)
            if np.any(np.abs(v - expected) > tol):
                yield Violation(
                    f"step {t} tensor {i}: v ≠ EMA of (g - m_t)²: {fmt(v)} vs {fmt(expected)}"
                )
            previous[i] = v


AN_3 = Claim(
    id="AN-3",
    slug="second_moment_uses_raw_gradient",
    statement=(
        "given the same gradients, v_t of AdamNorm / diffGradNorm / RAdamNorm equals v_t of "
        "Adam / diffGrad / RAdam; AdaBeliefNorm's v_t follows AdaBelief's own rule "
        "(EMA of (g_t - m_t)² with its corrected m_t)"
    ),
    source="paper 000 eq. 6; paper 001 Algs. 4, 6, 8",
    reasoning=(
        "v_t is computed from g_t alone in Adam, diffGrad and RAdam, so it is the same sequence "
        "of floating-point operations on the same inputs: bitwise equal. AdaBelief's rule reads "
        "m_t, which the correction changes, so there only the rule is checked. 'Same gradients' "
        "means no L2 weight decay (which adds wd·θ, and θ differs). A theorem: violations are "
        "our bugs."
    ),
    strategy=_an3_strategy,
    check=_an3_check,
    expected=MUST_HOLD,
    cost=2.0,
    tolerance=(
        "bitwise equality (Adam, diffGrad, RAdam); AdaBelief rule to 2·ema_rel(1)·|v| + EPS·|v|"
    ),
)


# --------------------------------------------------------------------------
# AN-4
# --------------------------------------------------------------------------


def _an4_strategy(imposed: frozenset[str]) -> st.SearchStrategy[Case]:
    zero_gamma = case_strategy(NORM_VARIANTS, _norm_hyper(gamma=0.0)).map(
        lambda c: Case(c.optimizer, c.params, c.grads, c.hyper, {**c.extra, "part": "gamma=0"})
    )
    rising = case_strategy(
        NORM_VARIANTS,
        _norm_hyper(weight_decay=0.0),  # the premise is about g itself; L2 decay would add wd·θ
        plans=S.gradient_plans(profiles=("increasing",), zeros=False),
    ).map(lambda c: Case(c.optimizer, c.params, c.grads, c.hyper, {**c.extra, "part": "rising"}))
    return st.one_of(zero_gamma, rising)


@guarded
def _an4_check(implementation: str, case: Case) -> Iterator[Violation]:
    """γ = 0: the trajectory equals the base's bitwise. Non-decreasing norms: s_t = g_t."""
    corrected = run(implementation, case)
    yield from _nonfinite(corrected)
    if case.extra["part"] == "gamma=0":
        base_case = case.with_optimizer(
            BASE[case.optimizer], **{k: v for k, v in case.hyper.items() if k != "gamma"}
        )
        base = run(implementation, base_case)
        for t, (rc, rb) in enumerate(zip(corrected, base, strict=True), start=1):
            for i, (a, b) in enumerate(zip(rc["after"], rb["after"], strict=True)):
                if not np.array_equal(a, b):
                    yield Violation(f"γ = 0, step {t} tensor {i}: θ differs from the base's")
        return
    for t, i, (g, s) in per_step(corrected, ("g", "s")):
        # Exact arithmetic: e_t ≤ ‖g_t‖, so s_t = g_t. In floating point e_t may exceed the
        # computed ‖g_t‖ by the EMA's error (ema_rel(t)) and two norms' error (the planned
        # norms are equal up to rounding), so s_t = c g_t with c ≤ 1 + δ.
        delta = ema_rel(t) + 2 * norm_rel(size(g)) + 2 * EPS
        if np.any(np.abs(s - g) > delta * np.abs(g)):
            yield Violation(f"rising norms, step {t} tensor {i}: the correction fired, s ≠ g")


AN_4 = Claim(
    id="AN-4",
    slug="gamma_zero_reduces_to_base",
    statement=(
        "with γ = 0 each Norm variant is exactly its base optimizer; the correction never fires "
        "while the gradient norm is non-decreasing"
    ),
    source="paper 000 eqs. 3-4",
    reasoning=(
        "γ = 0 gives e_t = ‖g_t‖ exactly in floating point (0·e + 1·n = n), so e_t > ‖g_t‖ "
        "never holds and s_t = g_t: bitwise the base's operations. With non-decreasing norms, "
        "induction gives e_t ≤ ‖g_t‖. Both are theorems; violations are our bugs."
    ),
    strategy=_an4_strategy,
    check=_an4_check,
    expected=MUST_HOLD,
    cost=1.5,
    tolerance="γ = 0: bitwise; rising norms: |s - g| ≤ (ema_rel(t) + 2 norm_rel(n) + 2 EPS)|g|",
)


# --------------------------------------------------------------------------
# AN-5
# --------------------------------------------------------------------------


def _an5_strategy(imposed: frozenset[str]) -> st.SearchStrategy[Case]:
    """Scenario S1: a one-signed slope, then a flat region at a smaller norm; minibatch noise
    may flip signs inside the flat region unless ``no_sign_flip`` is imposed."""
    plans = S.gradient_plans(
        min_steps=2,
        profiles=(S.FLAT_REGION,),
        modes=("gaussian", "lattice", "fixed"),
        zeros=False,
        flat_noise="no_sign_flip" not in imposed,
    )
    hyper = _norm_hyper(weight_decay=0.0)
    return case_strategy(
        ("AdamNorm",), hyper, kinds=("scalar", "single"), max_layers=1, plans=plans
    )


@guarded
def _an5_check(implementation: str, case: Case) -> Iterator[Violation]:
    """After the drop (small gradients after larger ones) |m_t| and |update| of AdamNorm
    are at least Adam's, coordinate by coordinate (the paper's S1 is one-dimensional)."""
    norm_trace = run(implementation, case)
    adam_case = case.with_optimizer("Adam", **{k: v for k, v in case.hyper.items() if k != "gamma"})
    adam_trace = run(implementation, adam_case)
    yield from _nonfinite(norm_trace) + _nonfinite(adam_trace)
    drop = _drop_step(case)
    for t, (rn, ra) in enumerate(zip(norm_trace, adam_trace, strict=True), start=1):
        if t < drop:
            continue
        # Under one sign per coordinate |m^N| ≥ |m^A| exactly; each EMA step rounds both
        # sides (ema_rel(t) each) and the update adds the bias correction and the division.
        tol = 2 * ema_rel(t) + 4 * EPS
        for i in range(len(case.params)):
            mn, ma = np.abs(rn["m"][i]), np.abs(ra["m"][i])
            dn, da = np.abs(rn["direction"][i]), np.abs(ra["direction"][i])
            if np.any(mn < ma * (1 - tol)):
                yield Violation(
                    f"step {t} (after the drop): |m_t| AdamNorm {fmt(mn)} < Adam {fmt(ma)}"
                )
            if np.any(dn < da * (1 - tol)):
                yield Violation(
                    f"step {t} (after the drop): |update| AdamNorm {fmt(dn)} < Adam {fmt(da)}"
                )


def _drop_step(case: Case) -> int:
    """The first step (from 1) whose gradient norm is below the largest earlier one."""
    norms = [norm(step[0]) for step in case.grads]
    for t in range(1, len(norms)):
        if norms[t] < max(norms[:t]):
            return t + 1
    return len(norms) + 1


AN_5 = Claim(
    id="AN-5",
    slug="flat_region_moment_at_least_adams",
    statement=(
        "scenario S1: with a small current gradient after larger ones, AdamNorm's first moment "
        "and update are at least as large as Adam's (one-dimensional, as in §3.1)"
    ),
    source="paper 000 §3.1 (S1)",
    reasoning=(
        "The searches draw §3.1's scenario S1: a one-signed slope at a larger norm, then a "
        "flat region of small gradients that keep the slope's sign on average. If every "
        "gradient keeps that sign, s_t = c g_t with c ≥ 1 makes |m_t^Norm| ≥ |m_t^Adam| by "
        "induction, and v_t is the same (AN-3), so the update is larger too: within the "
        "noise-free S1 a theorem. In training the flat region's gradient is a minibatch "
        "estimate, and where the noise flips a coordinate's sign the correction scales the "
        "opposing gradient up, pulling AdamNorm's m_t further toward zero than Adam's. "
        "Expected: holds-under-conditions; a counterexample without sign flips would be our bug."
    ),
    strategy=_an5_strategy,
    check=_an5_check,
    conditions=(
        Condition(
            "no_sign_flip",
            "inside the flat region the minibatch gradient keeps the slope's sign "
            "in every coordinate",
            in_practice="met where the flat region's slope dominates the minibatch noise "
            "(large batches, a clear plateau slope); broken on plateaus where the noise "
            "exceeds the slope, which is common with the papers' batch 64",
        ),
    ),
    expected=HOLDS_WITH_CONDITIONS,
    cost=2.0,
    tolerance="relative 2·ema_rel(t) + 4·EPS on |m| and |update|",
)

CLAIMS = (AN_1, AN_2, AN_3, AN_4, AN_5)
