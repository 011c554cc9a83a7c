"""LW-1 to LW-3: layerwise step sizes (paper 004 §II, Algs. 1-2, eqs. 8-11)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from hypothesis import strategies as st

from invariants import strategies as S
from invariants.cases import Case
from invariants.claim import MUST_HOLD, Claim, Violation, guarded
from invariants.claims._common import adam_hyper, case_strategy, finite, with_entries
from invariants.runners import run
from invariants.tolerances import EPS, ema_rel


def _nonfinite(*traces) -> list[Violation]:
    return [] if all(finite(t) for t in traces) else [Violation("non-finite value", error=True)]


def _hyper() -> st.SearchStrategy[dict]:
    modes = st.sampled_from(["inside", "inside", "outside", "both"])
    return with_entries(adam_hyper(), eps_mode=modes, weight_decay=S.weight_decays())


@guarded
def _lw1_check(implementation: str, case: Case) -> Iterator[Violation]:
    """AdamL / AdaBeliefL move each layer by γ_l m̂ with γ_l = mean of 1/(sqrt(v̂) [+ ε])."""
    trace = run(implementation, case)
    yield from _nonfinite(trace)
    beta1, beta2 = case.hyper["betas"]
    outside = case.hyper["eps"] if case.hyper["eps_mode"] in ("outside", "both") else 0.0
    for t, record in enumerate(trace, start=1):
        for i in range(len(case.params)):
            v, m, d = record["v"][i], record["m"][i], record["direction"][i]
            root = np.sqrt(v / (1 - beta2**t)) + outside
            sizes = np.where(root > 0, 1.0 / np.where(root > 0, root, 1.0), 0.0)
            expected = float(np.mean(sizes)) * (m / (1 - beta1**t))
            # Mean of n sizes (≤ n + 4 roundings each side) and the product with m̂ (2 more).
            tol = (v.size + 8) * EPS * np.abs(expected)
            if np.any(np.abs(d - expected) > tol):
                yield Violation(f"step {t} tensor {i}: step is not mean(1/sqrt(v̂))·m̂")


LW_1 = Claim(
    id="LW-1",
    slug="one_step_size_per_layer_is_mean",
    statement=(
        "AdamL / AdaBeliefL use one step size per layer, "
        "the mean of the elementwise step sizes (eq. 9)"
    ),
    source="paper 004 Alg. 1, eqs. 8-10",
    reasoning="The definition of the algorithms (spec): must hold; violations are our bugs.",
    strategy=lambda imposed: case_strategy(("AdamL", "AdaBeliefL"), _hyper()),
    check=_lw1_check,
    expected=MUST_HOLD,
    tolerance="relative (n + 8) EPS",
)


@guarded
def _lw2_check(implementation: str, case: Case) -> Iterator[Violation]:
    """One scalar v per layer, v_l = β2 v_l + (1-β2) "
    "mean(q) + ε: state d + L numbers vs Adam's 2d."""
    trace = run(implementation, case)
    yield from _nonfinite(trace)
    beta2 = case.hyper["betas"][1]
    inside = case.hyper["eps"] if case.hyper["eps_mode"] in ("inside", "both") else 0.0
    previous = [0.0] * len(case.params)
    for t, record in enumerate(trace, start=1):
        stored = sum(
            np.asarray(record["m"][i]).size + np.asarray(record["v"][i]).size
            for i in range(len(case.params))
        )
        elements = sum(p.size for p in case.params)
        if stored != elements + len(case.params):
            yield Violation(
                f"step {t}: {stored} moment entries, expected d + L = {elements + len(case.params)}"
            )
        for i in range(len(case.params)):
            v = float(np.asarray(record["v"][i]).ravel()[0])
            g, m = record["g"][i], record["m"][i]
            q = g**2 if case.optimizer == "LAdam" else (m - g) ** 2
            expected = beta2 * previous[i] + (1 - beta2) * float(np.mean(q)) + inside
            # One EMA step (ema_rel(1)) and a mean of n terms (n EPS) on each side.
            if abs(v - expected) > (2 * ema_rel(1) + 2 * g.size * EPS) * abs(expected):
                yield Violation(f"step {t} tensor {i}: v_l ≠ EMA of mean(q) (+ε)")
            previous[i] = v


LW_2 = Claim(
    id="LW-2",
    slug="one_scalar_second_moment_per_layer",
    statement=(
        "LAdam / LAdaBelief keep one scalar second moment per layer: the optimizer state is "
        "d + L numbers instead of Adam's 2d (≈ half when layers are large, as the paper assumes)"
    ),
    source="paper 004 Alg. 2, eq. 11, §II-B",
    reasoning=(
        "The definition of the algorithms (spec): must hold. 'Half' is (d + L)/(2d), which the "
        "paper qualifies itself ('the number of layers is significantly smaller than d')."
    ),
    strategy=lambda imposed: case_strategy(("LAdam", "LAdaBelief"), _hyper()),
    check=_lw2_check,
    expected=MUST_HOLD,
    tolerance="relative 2 ema_rel(1) + 2 n EPS on v_l",
)


def _lw3_strategy(imposed: frozenset[str]) -> st.SearchStrategy[Case]:
    hyper = with_entries(adam_hyper(), eps_mode=st.just("inside"), weight_decay=st.just(0.0))
    return case_strategy(("AdamL",), hyper, kinds=("scalar", "single"))


@guarded
def _lw3_check(implementation: str, case: Case) -> Iterator[Violation]:
    """One-element layers: AdamL, LAdam and Adam (ε inside) take the same steps."""
    traces = {
        name: run(implementation, case.with_optimizer(name, **case.hyper))
        for name in ("AdamL", "LAdam", "Adam")
    }
    yield from _nonfinite(*traces.values())
    for t in range(case.steps):
        for i in range(len(case.params)):
            d = {name: traces[name][t]["direction"][i] for name in traces}
            # Each computes m̂/sqrt(v̂) in its own order (≤ 5 roundings): |Δ| ≤ 10u|d| < 8 EPS|d|.
            # Same gradients, no L2 decay: the steps do not feed back, so compare per step.
            for name in ("AdamL", "LAdam"):
                if np.any(np.abs(d[name] - d["Adam"]) > 8 * EPS * np.abs(d["Adam"])):
                    yield Violation(
                        f"step {t + 1} tensor {i}: {name} step {d[name]} ≠ Adam step {d['Adam']}"
                    )


LW_3 = Claim(
    id="LW-3",
    slug="one_element_layers_reduce_to_adam",
    statement="for layers of one element, AdamL, LAdam and Adam (ε inside the EMA, eq. 8) coincide",
    source="paper 004 §II",
    reasoning=(
        "The mean over one element is that element, so all three compute m̂/sqrt(v̂) with the "
        "same v (ε inside): a theorem; the steps differ only by the order of their roundings. "
        "With Adam's usual ε outside the root (eq. 5) they would differ; the claim states eq. 8."
    ),
    strategy=_lw3_strategy,
    check=_lw3_check,
    expected=MUST_HOLD,
    cost=2.0,
    tolerance="per-step steps within 8 EPS relative",
)

CLAIMS = (LW_1, LW_2, LW_3)
