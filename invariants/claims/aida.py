"""AI-1 to AI-4 and AI-7: Aida's mutual orthogonal projections (paper 004 §III-B,
eqs. 12-16, Algs. 3-5)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

import numpy as np
import torch
from hypothesis import strategies as st

from invariants import strategies as S
from invariants.cases import Case
from invariants.claim import (
    CAVEAT,
    HOLDS_WITH_CONDITIONS,
    MUST_HOLD,
    STATED,
    Claim,
    Condition,
    Violation,
    guarded,
)
from invariants.claims._common import (
    adam_hyper,
    case_strategy,
    finite,
    norm,
    per_step,
    unit,
    with_entries,
)
from invariants.runners import run
from invariants.tolerances import EPS, ema_rel, norm_rel
from optimizers.reference import mutual_projections as reference_projections
from optimizers.units.aida import mutual_projections as torch_projections


def _nonfinite(*traces) -> list[Violation]:
    return [] if all(finite(t) for t in traces) else [Violation("non-finite value", error=True)]


def chain(
    implementation: str, m: np.ndarray, g: np.ndarray, k: int, xi: float
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(m^(0), g^(0)), ..., (m^(k), g^(k))]`` by the implementation's own projection function."""
    pairs = [(m, g)]
    for j in range(1, k + 1):
        if implementation == "torch":
            a, b = torch_projections(torch.tensor(m), torch.tensor(g), j, xi)
            pairs.append((a.numpy(), b.numpy()))
        else:
            pairs.append(reference_projections(m, g, j, xi))
    return pairs


@cache
def _aida_hyper(
    K: st.SearchStrategy[int], xi: st.SearchStrategy[float], **fixed
) -> st.SearchStrategy[dict]:
    parts = {"K": K, "xi": xi, "weight_decay": S.weight_decays()}
    parts.update({k: st.just(v) for k, v in fixed.items()})
    return with_entries(adam_hyper(), **parts)


def _chains(implementation: str, case: Case) -> tuple[list, list]:
    """The trace and, per (step, tensor), the projection chain of (m_t, g_t)."""
    trace = run(implementation, case)
    K, xi = case.hyper["K"], case.hyper["xi"]
    out = []
    for t, i, (m, g) in per_step(trace, ("m", "g")):
        out.append((t, i, chain(implementation, m, g, K, xi)))
    return trace, out


# --------------------------------------------------------------------------
# AI-1
# --------------------------------------------------------------------------


@guarded
def _ai1_check(implementation: str, case: Case) -> Iterator[Violation]:
    """‖m^(k)‖ ≤ ‖m^(k-1)‖ and ‖g^(k)‖ ≤ ‖g^(k-1)‖, and the statistic uses the K-th pair."""
    trace, chains = _chains(implementation, case)
    yield from _nonfinite(trace)
    for t, i, pairs in chains:
        n = pairs[0][0].size
        # m^(k) = ⟨g,m⟩/(‖g‖²+ξ)·g: the coefficient's dot and norm carry ≤ (n + 3)u each,
        # the product one more; our two measured norms add 2 norm_rel(n).
        tol = (2 * n + 8) * EPS + 2 * norm_rel(n)
        for k in range(1, len(pairs)):
            for label, j in (("m", 0), ("g", 1)):
                before, after = norm(pairs[k - 1][j]), norm(pairs[k][j])
                if after > before * (1 + tol):
                    yield Violation(
                        f"step {t} tensor {i}: ‖{label}^({k})‖ = "
                        f"{after:.17g} > ‖{label}^({k - 1})‖ = {before:.17g}"
                    )
        m_k, g_k = pairs[-1]
        q = (m_k - g_k) ** 2
        if case.optimizer == "Aida":
            used = (
                trace[t - 1]["q"][i]
                if implementation == "torch"
                else (trace[t - 1]["m_proj"][i] - trace[t - 1]["g_proj"][i]) ** 2
            )
            if not np.array_equal(used, q):
                yield Violation(f"step {t} tensor {i}: the statistic is not (m^(K) - g^(K))²")


AI_1 = Claim(
    id="AI-1",
    slug="projections_shrink_norms",
    statement=(
        "projections shrink: ‖m^(k)‖ ≤ ‖m^(k-1)‖ and ‖g^(k)‖ ≤ ‖g^(k-1)‖ (Aida norm shrinkage)"
    ),
    source="paper 004 eq. 15",
    reasoning=(
        "‖m^(k)‖ = |⟨g,m⟩| ‖g‖/(‖g‖² + ξ) ≤ ‖m‖ ‖g‖²/(‖g‖² + ξ) ≤ ‖m‖ by Cauchy-Schwarz, for "
        "every ξ ≥ 0 (and 0 when the denominator is 0): a theorem. Checked on every step of Aida "
        "and LAida runs with K ≤ 4, using each implementation's own projection function, and "
        "tied to the optimizer by checking its statistic is built from the K-th pair."
    ),
    strategy=lambda imposed: case_strategy(
        ("Aida", "LAida"), _aida_hyper(S.projection_counts(), S.xis())
    ),
    check=_ai1_check,
    expected=MUST_HOLD,
    cost=1.5,
    tolerance="relative (2n + 8) EPS + 2 norm_rel(n)",
)


# --------------------------------------------------------------------------
# AI-2
# --------------------------------------------------------------------------


def _cos2(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(unit(a).ravel(), unit(b).ravel())) ** 2


@guarded
def _ai2_check(implementation: str, case: Case) -> Iterator[Violation]:
    """‖m^(k) - g^(k)‖² = cos²θ ‖m^(k-1) - g^(k-1)‖² ≤ ‖m^(k-1) - g^(k-1)‖² (ξ = 0),
    so equality exactly when the pair is collinear."""
    trace, chains = _chains(implementation, case)
    yield from _nonfinite(trace)
    for t, i, pairs in chains:
        n = pairs[0][0].size
        for k in range(1, len(pairs)):
            (m0, g0), (m1, g1) = pairs[k - 1], pairs[k]
            lhs, rhs = norm(m1 - g1) ** 2, norm(m0 - g0) ** 2
            # Squared distances of vectors of size ≤ ‖m‖ + ‖g‖: absolute error ≤ (n + 4)u·S each,
            # cos² adds ≤ (2n + 6)u; in EPS with margin: (2n + 16) EPS S.
            scale = (norm(m0) + norm(g0)) ** 2
            tol = (2 * n + 16) * EPS * scale
            zero_m, zero_g = not m0.any(), not g0.any()
            if zero_m and zero_g:
                continue
            if zero_m or zero_g:
                if rhs > tol:  # collinear (one vector is 0) yet lhs = 0 < rhs
                    yield Violation(
                        f"step {t} tensor {i}, k={k}: "
                        f"{'m' if zero_m else 'g'}^({k - 1}) = 0, so the pair "
                        f"is collinear, but ‖m^({k}) - g^({k})‖² "
                        f"= {lhs:.6g} < {rhs:.6g}: no equality",
                        excused_by=frozenset({"both_nonzero"}),
                    )
                continue
            c2 = _cos2(m0, g0)
            if lhs > rhs + tol or abs(lhs - c2 * rhs) > tol or c2 > 1 + (2 * n + 8) * EPS:
                yield Violation(
                    f"step {t} tensor {i}, k={k}: ‖Δ^(k)‖² = "
                    f"{lhs:.17g}, cos² ‖Δ^(k-1)‖² = {c2 * rhs:.17g}"
                )


def _ai2_strategy(imposed: frozenset[str]) -> st.SearchStrategy[Case]:
    hyper = _aida_hyper(st.integers(1, 4), st.just(0.0))
    return case_strategy(("Aida",), hyper)


AI_2 = Claim(
    id="AI-2",
    slug="projected_difference_shrinks",
    statement=(
        "‖m^(k) - g^(k)‖² ≤ ‖m^(k-1) - g^(k-1)‖², with equality iff m and g are collinear "
        "(ξ ignored)"
    ),
    source="paper 004 eq. 16",
    reasoning=(
        "With ξ = 0 and both vectors nonzero, m^(k) and g^(k) are g and m rescaled so that "
        "‖m^(k) - g^(k)‖² = cos²θ ‖m^(k-1) - g^(k-1)‖²: the inequality, and equality iff "
        "cos² = 1, are a theorem. The zero vector is collinear with everything, yet if exactly "
        "one of the pair is 0 both projections are 0 and the difference drops from ‖m‖² (or "
        "‖g‖²) to 0: 'iff collinear' needs both vectors nonzero. Exact zero gradients make "
        "g^(0) = 0 in a real run. Expected holds-under-conditions; a violation of the identity "
        "is our bug."
    ),
    strategy=_ai2_strategy,
    check=_ai2_check,
    conditions=(
        Condition(
            "both_nonzero",
            "m^(k-1) ≠ 0 and g^(k-1) ≠ 0 (the zero vector is collinear with any vector)",
            kind=CAVEAT,
        ),
    ),
    expected=MUST_HOLD,
    cost=1.5,
    tolerance="absolute (2n + 16) EPS (‖m‖ + ‖g‖)² on the identity ‖Δ^(k)‖² = cos²θ ‖Δ^(k-1)‖²",
)


# --------------------------------------------------------------------------
# AI-3
# --------------------------------------------------------------------------


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    # Normalise first: the product of two tiny norms can underflow.
    return float(np.dot(unit(a).ravel(), unit(b).ravel()))


@guarded
def _ai3_check(implementation: str, case: Case) -> Iterator[Violation]:
    """The angle between m^(k) and g^(k) equals that between m^(k-1) and g^(k-1)."""
    trace, chains = _chains(implementation, case)
    yield from _nonfinite(trace)
    for t, i, pairs in chains:
        n = pairs[0][0].size
        if not (pairs[0][0].any() and pairs[0][1].any()):
            continue  # no angle to begin with
        # Each level rescales the pair entrywise (1 rounding per entry, angle change ≤ 2u) and
        # each measured cosine carries ≤ (n + 2)u of Σ|a b|/(‖a‖‖b‖) ≤ 1 plus two norms.
        tol = 2 * (n + 4) * EPS + 4 * norm_rel(n)
        for k in range(1, len(pairs)):
            (m0, g0), (m1, g1) = pairs[k - 1], pairs[k]
            if not (m1.any() and g1.any()):
                dot = float(np.dot(m0.ravel(), g0.ravel()))
                # An orthogonal pair projects to 0; otherwise ξ ≫ ‖g‖² shrank it to 0 (underflow).
                cause = "not_orthogonal" if dot == 0.0 else "xi_negligible"
                yield Violation(
                    f"step {t} tensor {i}, k={k}: the angle was "
                    f"{np.degrees(np.arccos(np.clip(_cos(m0, g0), -1, 1))):.6g}° "
                    f"(⟨m,g⟩ = {dot:.3g}, ξ = {case.hyper['xi']:g}); "
                    "both projections vanish, the angle is undefined",
                    excused_by=frozenset({cause}),
                )
                break
            before, after = _cos(m0, g0), _cos(m1, g1)
            if abs(after - before) > tol:
                # The rounding bound above holds for normal numbers only; a pair that ξ shrank
                # towards the subnormal range loses relative precision (the underflow the
                # xi_negligible condition rules out).
                subnormal = min(norm(m1), norm(g1)) < np.finfo(float).tiny * 1e8
                yield Violation(
                    f"step {t} tensor {i}, k={k}: cos changed from {before:.17g} to {after:.17g}",
                    excused_by=frozenset({"xi_negligible"}) if subnormal else frozenset(),
                )


AI_3 = Claim(
    id="AI-3",
    slug="projections_keep_the_angle",
    statement="mutual orthogonal projections do not change the angle between the pair",
    source="paper 004 §III-B (before eq. 16)",
    reasoning=(
        "m^(k) and g^(k) are g^(k-1) and m^(k-1) times coefficients of one sign (that of ⟨m, g⟩), "
        "so the angle is kept: a theorem as long as ⟨m^(k-1), g^(k-1)⟩ ≠ 0. For an orthogonal "
        "pair both projections are 0 and the angle (90°) is lost; ξ ≫ ‖g‖² can also underflow "
        "the pair to 0. Expected holds-under-conditions; a changed angle between nonzero "
        "projections is our bug."
    ),
    strategy=lambda imposed: case_strategy(("Aida",), _aida_hyper(st.integers(1, 4), S.xis())),
    check=_ai3_check,
    conditions=(
        Condition(
            "not_orthogonal",
            "⟨m, g⟩ ≠ 0: neither vector is zero and they are not orthogonal",
            kind=CAVEAT,
        ),
        Condition(
            "xi_negligible",
            "ξ ≪ ‖g‖², ‖m‖² (the papers' 'ξ can be ignored'); "
            "otherwise each projection shrinks the "
            "pair by ‖·‖²/(‖·‖² + ξ) and it can underflow to the zero vector",
            kind=STATED,
        ),
    ),
    expected=MUST_HOLD,
    cost=1.5,
    tolerance="absolute 2 (n + 4) EPS + 4 norm_rel(n) on the cosine",
)


# --------------------------------------------------------------------------
# AI-4
# --------------------------------------------------------------------------


_K_ZERO, _K_POSITIVE, _XI_ZERO = st.just(0), st.integers(1, 4), st.just(0.0)


@cache
def _ai4_strategy(imposed: frozenset[str]) -> st.SearchStrategy[Case]:
    """One-element layers with K ≥ 1, or any layers with K = 0; ξ = 0 ("ξ ignored")."""
    modes = st.just("both") if "matched_eps" in imposed else st.sampled_from(["inside", "both"])
    zero = st.just(0.0)
    one = with_entries(adam_hyper(), K=_K_POSITIVE, xi=_XI_ZERO, weight_decay=zero, eps_mode=modes)
    none = with_entries(adam_hyper(), K=_K_ZERO, xi=_XI_ZERO, weight_decay=zero, eps_mode=modes)
    return st.one_of(
        case_strategy(("Aida",), one, kinds=("scalar", "single")),
        case_strategy(("Aida",), none),
    )


@guarded
def _ai4_check(implementation: str, case: Case) -> Iterator[Violation]:
    """Aida (ξ = 0; one-element layers or K = 0) takes AdaBelief's steps (ε inside and outside)."""
    aida = run(implementation, case)
    belief_hyper = {k: v for k, v in case.hyper.items() if k not in ("K", "xi", "eps_mode")}
    belief = run(implementation, case.with_optimizer("AdaBelief", **belief_hyper, eps_mode="both"))
    yield from _nonfinite(aida, belief)
    beta2 = case.hyper["betas"][1]
    K = case.hyper["K"]
    outside = case.hyper["eps"]  # AdaBelief's ε after the root (004 eq. 7)
    drift = [np.zeros_like(p) for p in case.params]
    mismatch = [False] * len(case.params)
    for t, (ra, rb) in enumerate(zip(aida, belief, strict=True), start=1):
        for i in range(len(case.params)):
            m, g, v = rb["m"][i], rb["g"][i], rb["v"][i]
            if K and np.any((m == 0) != (g == 0)):
                mismatch[i] = True
            # |q_Aida - q_AdaBelief| ≤ a(2|m - g| + a), a = 4K·EPS(|m| + |g|) (≤ 4 roundings
            # per projection round); v carries it as an EMA plus one rounding of v a step.
            a = 4 * K * EPS * (np.abs(m) + np.abs(g))
            drift[i] = (
                beta2 * drift[i] + (1 - beta2) * a * (2 * np.abs(m - g) + a) + 2 * EPS * np.abs(v)
            )
            da, db = ra["direction"][i], rb["direction"][i]
            root = np.sqrt(v / (1 - beta2**t))
            safe = np.where(v > 0, v, 1.0)
            rel = (
                np.where(v > 0, drift[i] / (2 * safe), 0.0)
                * root
                / np.where(root + outside > 0, root + outside, 1.0)
            )
            tol = (rel + 8 * EPS) * np.abs(db)
            if np.any(np.abs(da - db) > tol):
                j = int(np.argmax(np.abs(da - db) - tol))
                yield Violation(
                    f"step {t} tensor {i}: Aida step {da.ravel()[j]:.17g} ≠ AdaBelief step "
                    f"{db.ravel()[j]:.17g} (g = {g.ravel()[j]:.6g}, m = {m.ravel()[j]:.6g}, "
                    f"Aida eps_mode={case.hyper['eps_mode']})",
                    excused_by=frozenset({"zero_iff"}) if mismatch[i] else frozenset(),
                )


AI_4 = Claim(
    id="AI-4",
    slug="aida_reduces_to_adabelief",
    statement=(
        "when every layer has one parameter (ξ ignored) the projections have no effect and Aida "
        "is AdaBelief; likewise for K = 0"
    ),
    source="paper 004 §III-B; AdaBelief as in eqs. 6-7",
    reasoning=(
        "For scalars m, g ≠ 0 with ξ = 0, m^(1) = (gm/g²) g = m and g^(1) = g: the pair is "
        "unchanged, so (m^(K) - g^(K))² = (m - g)²; K = 0 is AdaBelief's statistic by definition. "
        "Two gaps in the statement: (1) if exactly one of g_t, m_t is 0 (a zero gradient after a "
        "nonzero history, or m_t cancelling to 0) both projections are 0 and Aida tracks 0 where "
        "AdaBelief tracks (m - g)² > 0, and the difference persists in v; (2) AdaBelief (eqs. 6-7) "
        "adds ε inside and outside the root, Aida's update (Algs. 4-5, Alg. 3 garbled) only "
        "inside, so they coincide only with the same ε placement. Expected holds-under-conditions."
    ),
    strategy=_ai4_strategy,
    check=_ai4_check,
    conditions=(
        Condition(
            "zero_iff",
            "in every one-element layer, g_t = 0 exactly when m_t = 0 (with ξ ignored, the "
            "projection divides by ‖g‖² = 0)",
            kind=CAVEAT,
        ),
        Condition(
            "matched_eps",
            "Aida uses AdaBelief's ε placement (inside and outside the root, eqs. 6-7)",
            in_practice="not with the published algorithms: Aida adds ε only inside the root, "
            "AdaBelief inside and outside, so every run with ε = 1e-8 differs",
        ),
    ),
    expected=HOLDS_WITH_CONDITIONS,
    cost=2.0,
    tolerance="per step, |Δstep| ≤ (δv/(2v)·sqrt(v̂)/(sqrt(v̂)+ε) + 8 EPS)|step| with δv the "
    "propagated projection rounding (see _ai4_check)",
)


# --------------------------------------------------------------------------
# AI-7
# --------------------------------------------------------------------------


@guarded
def _ai7_check(implementation: str, case: Case) -> Iterator[Violation]:
    """AidaGrad: q = (g^p)², g^p = c m_t with ‖g^p‖ ≤ ‖g‖. LAida: one v per layer, the layer
    mean of Aida's elementwise v on the same gradients."""
    trace = run(implementation, case)
    yield from _nonfinite(trace)
    if case.optimizer == "AidaGrad":
        for t, i, (g, m) in per_step(trace, ("g", "m")):
            record = trace[t - 1]
            gp = (
                np.sqrt(record["q"][i]) * np.sign(m)
                if implementation == "torch"
                else record["g_proj"][i]
            )
            n = g.size
            tol = (2 * n + 8) * EPS + 2 * norm_rel(n)
            if norm(gp) > norm(g) * (1 + tol):
                yield Violation(f"step {t} tensor {i}: ‖g^p‖ > ‖g‖")
            if implementation == "reference" and m.any() and gp.any():
                # g^p ∥ m: the residual of g^p/‖g^p‖ against the unit vector of m.
                direction, axis = unit(gp).ravel(), unit(m).ravel()
                if norm(direction - float(np.dot(direction, axis)) * axis) > tol:
                    yield Violation(f"step {t} tensor {i}: g^p is not parallel to m_t")
        return
    aida = run(implementation, case.with_optimizer("Aida", **case.hyper))
    yield from _nonfinite(aida)
    for t, (rl, ra) in enumerate(zip(trace, aida, strict=True), start=1):
        for i in range(len(case.params)):
            v_l = np.asarray(rl["v"][i])
            if v_l.size != 1:
                yield Violation(f"step {t} tensor {i}: LAida keeps {v_l.size} second moments")
                continue
            expected = float(np.mean(ra["v"][i]))
            # Both EMAs ≤ ema_rel(t); the means add ≤ n EPS.
            if abs(float(v_l.ravel()[0]) - expected) > (
                2 * ema_rel(t) + 2 * ra["v"][i].size * EPS
            ) * abs(expected):
                yield Violation(
                    f"step {t} tensor {i}: LAida's v {float(v_l.ravel()[0])!r} "
                    f"≠ mean of Aida's v {expected!r}"
                )


def _ai7_strategy(imposed: frozenset[str]) -> st.SearchStrategy[Case]:
    grad = case_strategy(
        ("AidaGrad",), with_entries(adam_hyper(), xi=S.xis(), weight_decay=st.just(0.0))
    )
    laida = case_strategy(("LAida",), _aida_hyper(S.projection_counts(), S.xis(), weight_decay=0.0))
    return st.one_of(grad, laida)


AI_7 = Claim(
    id="AI-7",
    slug="aidagrad_and_laida_variants",
    statement=(
        "AidaGrad tracks (g^p)² with g^p the projection of g_t onto m_t (one projection, "
        "‖g^p‖ ≤ ‖g_t‖); LAida keeps one scalar per layer, the EMA of the layer mean of Aida's "
        "statistic"
    ),
    source="paper 004 Appendix A, Algs. 4-5",
    reasoning=(
        "Definitions of the two algorithms plus Cauchy-Schwarz (‖g^p‖ ≤ ‖g‖) and the linearity "
        "of the EMA (the EMA of layer means is the layer mean of the EMAs, ε included): "
        "theorems; violations are our bugs."
    ),
    strategy=_ai7_strategy,
    check=_ai7_check,
    expected=MUST_HOLD,
    cost=1.5,
    tolerance="relative (2n + 8) EPS + 2 norm_rel(n) on ‖g^p‖; 2 ema_rel(t) + 2 n EPS on LAida's v",
)

CLAIMS = (AI_1, AI_2, AI_3, AI_4, AI_7)
