"""ND-1 to ND-4: ND-Adam's weight vectors on the unit sphere (paper 003, Alg. 1, §I-II)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from hypothesis import strategies as st

from invariants import strategies as S
from invariants.cases import Case
from invariants.claim import (
    CAVEAT,
    MUST_HOLD,
    Claim,
    Condition,
    Violation,
    Witness,
    guarded,
)
from invariants.claims._common import adam_hyper, case_strategy, finite, norm, with_entries
from invariants.runners import run
from invariants.scale_invariant import sphere_gradient_numpy, sphere_gradient_torch, symmetric
from invariants.tolerances import EPS, retraction_rel


def rows(x: np.ndarray) -> np.ndarray:
    """Weight vectors: one row per output unit (``x.reshape(x.shape[0], -1)``)."""
    return x.reshape(x.shape[0], -1)


def _nonfinite(*traces) -> list[Violation]:
    return [] if all(finite(t) for t in traces) else [Violation("non-finite value", error=True)]


def _nd_strategy(imposed: frozenset[str]) -> st.SearchStrategy[Case]:
    return case_strategy(("NDAdam",), with_entries(adam_hyper(), weight_decay=S.weight_decays()))


def _vector_tensors(case: Case) -> list[int]:
    return [i for i, p in enumerate(case.params) if p.ndim >= 2]


@guarded
def _nd1_check(implementation: str, case: Case) -> Iterator[Violation]:
    """Every row of every vector tensor has unit norm after every step."""
    trace = run(implementation, case)
    yield from _nonfinite(trace)
    for i in _vector_tensors(case):
        for t, record in enumerate(trace, start=1):
            w = rows(record["after"][i])
            norms = np.sqrt(np.sum(w * w, axis=1))
            tol = retraction_rel(w.shape[1])
            bad = np.abs(norms - 1.0) > tol
            if np.any(bad):
                j = int(np.flatnonzero(bad)[0])
                zero = norms[j] == 0.0
                yield Violation(
                    f"step {t} tensor {i} row {j}: ‖w‖ = {norms[j]:.17g}",
                    excused_by=frozenset({"nonzero_before_retraction"}) if zero else frozenset(),
                )
                break


ND_1 = Claim(
    id="ND-1",
    slug="weight_vectors_keep_unit_norm",
    statement="every weight vector keeps unit L2 norm through training",
    source="paper 003 Alg. 1",
    reasoning=(
        "w_t = w̄_t/‖w̄_t‖ has unit norm by construction (and rows are normalised at "
        "initialisation): a theorem, to a rounding that does not accumulate. The gap: w̄_t = 0 "
        "(the step lands on the origin) has no direction; Alg. 1 divides by zero there. Any "
        "other deviation is our bug."
    ),
    strategy=_nd_strategy,
    check=_nd1_check,
    conditions=(
        Condition(
            "nonzero_before_retraction",
            "w̄_t ≠ 0 before normalisation (Alg. 1 divides by ‖w̄_t‖)",
            kind=CAVEAT,
        ),
    ),
    expected=MUST_HOLD,
    tolerance="|‖w‖ - 1| ≤ retraction_rel(row length), independent of t",
)


@guarded
def _nd2_check(implementation: str, case: Case) -> Iterator[Violation]:
    """The gradient used for a weight vector is tangent: ⟨g_t(w), w_(t-1)⟩ = 0."""
    trace = run(implementation, case)
    yield from _nonfinite(trace)
    for i in _vector_tensors(case):
        for t, record in enumerate(trace, start=1):
            w, g, raw = rows(record["before"][i]), rows(record["g"][i]), rows(record["raw"][i])
            n = w.shape[1]
            inner = np.sum(g * w, axis=1)
            radial = np.sum(raw * w, axis=1)
            # Both inner products carry ≤ n·u of Σ|terms|; the projection adds ≤ 3u of |ḡ·w|·|w|
            # per entry; ‖w‖ = 1 only to retraction_rel, which leaves |ḡ·w|(1 - ‖w‖²).
            scale = np.sum(np.abs(raw * w), axis=1) + np.sum(np.abs(g * w), axis=1)
            tol = (2 * n + 8) * EPS * scale + 2 * retraction_rel(n) * np.abs(radial)
            bad = np.abs(inner) > tol
            if np.any(bad):
                j = int(np.flatnonzero(bad)[0])
                yield Violation(f"step {t} tensor {i} row {j}: ⟨g, w⟩ = {inner[j]:.3g}")


ND_2 = Claim(
    id="ND-2",
    slug="gradient_is_tangent",
    statement="the gradient used is tangent: g_t(w_i) ⊥ w_(i,t-1)",
    source="paper 003 Alg. 1",
    reasoning=(
        "g = ḡ - (ḡ·w)w is orthogonal to w when ‖w‖ = 1 (ND-1): a theorem; violations are our bugs."
    ),
    strategy=_nd_strategy,
    check=_nd2_check,
    expected=MUST_HOLD,
    tolerance="|⟨g, w⟩| ≤ (2n + 8) EPS (Σ|ḡ w| + Σ|g w|) + 2 retraction_rel(n) |ḡ·w|",
)


@guarded
def _nd3_check(implementation: str, case: Case) -> Iterator[Violation]:
    """One second moment per vector, so the pre-normalisation update is c·m̂ with c > 0."""
    trace = run(implementation, case)
    yield from _nonfinite(trace)
    for i in _vector_tensors(case):
        count = case.params[i].shape[0]
        for t, record in enumerate(trace, start=1):
            if np.asarray(record["v"][i]).size != count:
                yield Violation(
                    f"step {t} tensor {i}: {np.asarray(record['v'][i]).size} "
                    f"second moments for {count} vectors"
                )
            d, m = rows(record["direction"][i]), rows(record["m"][i])
            n = d.shape[1]
            v_rows = np.asarray(record["v"][i]).reshape(-1)
            for j in range(count):
                mm = float(np.dot(m[j], m[j]))
                if mm == 0.0:
                    continue
                if v_rows[j] == 0.0 and case.hyper.get("eps", 0.0) == 0.0:
                    # sqrt(v̂) + ε = 0 (ε = 0, and β2 = 0 with a zero gradient): Alg. 1's step
                    # is undefined there and our documented rule takes none (ALGORITHMS.md).
                    continue
                c = float(np.dot(d[j], m[j])) / mm
                residual = norm(d[j] - c * m[j])
                # d_j = m_j/(1-β1^t)/(sqrt(v̂)+ε): ≤ 3 roundings per entry; the projection
                # we compute adds ≤ (n + 2)u.
                if c <= 0.0 or residual > (n + 8) * EPS * norm(d[j]):
                    yield Violation(
                        f"step {t} tensor {i} row {j}: update not a positive multiple of m̂"
                    )
                    break


ND_3 = Claim(
    id="ND-3",
    slug="update_parallel_to_first_moment",
    statement=(
        "the learning rate adapts per weight vector (one second moment per vector), so the "
        "update of a vector is parallel to its m̂_t: the gradient direction is preserved"
    ),
    source="paper 003 Alg. 1, §II",
    reasoning=(
        "v_t is one scalar per vector, so w̄ - w = -α m̂/(sqrt(v̂) + ε) is a positive multiple of "
        "m̂ (before the normalisation, which the statement does not cover): a theorem."
    ),
    strategy=_nd_strategy,
    check=_nd3_check,
    expected=MUST_HOLD,
    tolerance="residual ≤ (n + 8) EPS ‖update‖",
)


# --------------------------------------------------------------------------
# ND-4: the angular step does not depend on the vector's norm.
# --------------------------------------------------------------------------


@st.composite
def _nd4_cases(draw: st.DrawFn, imposed: frozenset[str], name: str = "NDAdam") -> Case:
    shape = draw(st.sampled_from([(2, 3), (3, 2), (2, 1, 2, 2), (1, 4)]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    width = int(np.prod(shape[1:]))
    hyper = draw(adam_hyper())
    hyper["lr"] = min(hyper["lr"], 0.05)
    extra = {
        "q": symmetric(rng, width).tolist(),
        "steps": draw(st.integers(1, 6)),
        "c": draw(st.one_of(st.sampled_from([2.0, 0.25, 8.0]), st.floats(1e-2, 1e2))),
        "power": float(2.0 ** draw(st.integers(-20, 20))),
    }
    return Case(name, (rng.standard_normal(shape),), (), hyper, extra)


def _angles(implementation: str, case: Case, scale: float) -> tuple[list[float], list]:
    q = np.asarray(case.extra["q"])
    gradient = sphere_gradient_torch if implementation == "torch" else sphere_gradient_numpy

    def grad_fn(params: list[np.ndarray]) -> list[np.ndarray]:
        return [gradient(q, params[0], rows=True)]

    scaled = Case(case.optimizer, (scale * case.params[0],), (), case.hyper, case.extra)
    trace = run(implementation, scaled, grad_fn=grad_fn)
    angles = []
    for record in trace:
        a, b = rows(record["before"][0]), rows(record["after"][0])
        cos = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
        angles.append(float(np.max(np.arccos(np.clip(cos, -1.0, 1.0)))))
    return angles, trace


@guarded
def _nd4_check(implementation: str, case: Case) -> Iterator[Violation]:
    """ND-Adam's trajectory (so its angular steps) is the same for W_0 and c·W_0."""
    _, base = _angles(implementation, case, 1.0)
    _, powered = _angles(implementation, case, float(case.extra["power"]))
    yield from _nonfinite(base, powered)
    # c = 2^k scales every operation exactly until the rows are normalised: bitwise equal.
    for t, (ra, rb) in enumerate(zip(base, powered, strict=True), start=1):
        if not np.array_equal(ra["after"][0], rb["after"][0]):
            yield Violation(f"step {t}: trajectory from 2^k·W_0 differs from W_0's")
            break
    # Any c > 0: the state depends on W_0 only through its unit rows, equal to rounding.
    c = float(case.extra["c"])
    first = rows(case.params[0])
    unit = first / np.linalg.norm(first, axis=1, keepdims=True)
    cw = rows(c * case.params[0])
    unit_c = cw / np.linalg.norm(cw, axis=1, keepdims=True)
    if np.max(np.abs(unit - unit_c)) > 2 * retraction_rel(first.shape[1]) + 2 * EPS:
        yield Violation(f"normalised rows of {c:g}·W_0 differ from W_0's")


def _nd4_witness(implementation: str, case: Case) -> str | None:
    adam = Case("Adam", case.params, (), case.hyper, case.extra)
    one, _ = _angles(implementation, adam, 1.0)
    power = float(case.extra["power"])
    if power == 1.0:
        return None
    other, _ = _angles(implementation, adam, power)
    if one[0] > 0 and abs(other[0] / one[0] - 1.0) > 0.1:
        return (
            f"Adam's first angular step: {one[0]:.4g} rad from W_0, "
            f"{other[0]:.4g} rad from {power:g}·W_0"
        )
    return None


ND_4 = Claim(
    id="ND-4",
    slug="angular_step_independent_of_norm",
    statement=(
        "the effective angular step of a weight vector is set by α^v alone, not by the vector's "
        "norm (unlike Adam and SGD without weight decay)"
    ),
    source="paper 003 §I, §II",
    reasoning=(
        "ND-Adam normalises the rows at construction and its state depends on W_0 only through "
        "them, so the whole trajectory, hence every angular step, is the same for c·W_0 (bitwise "
        "for c = 2^k, which every operation commutes with): a theorem. The contrast with Adam is "
        "an existence statement, searched for as a witness (a scale-invariant loss makes Adam's "
        "step independent of ‖w‖ and its angle ∝ 1/‖w‖)."
    ),
    strategy=lambda imposed: _nd4_cases(imposed),
    check=_nd4_check,
    witness=Witness(
        "Adam's first angular step changes by > 10% when W_0 is rescaled",
        lambda: _nd4_cases(frozenset()),
        _nd4_witness,
    ),
    expected=MUST_HOLD,
    cost=2.0,
    tolerance="bitwise for c = 2^k; unit rows within 2 retraction_rel + 2 EPS for any c",
)

CLAIMS = (ND_1, ND_2, ND_3, ND_4)
