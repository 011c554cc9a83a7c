"""Spec properties of our implementations (docs/ALGORITHMS.md): any failure is a bug.

These hold by construction of the specification, whatever the papers claim:
the instrumented torch run is the plain run, both implementations agree on
generated cases, and the building blocks obey the identities the claims rely on.
"""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st

from invariants import strategies as S
from invariants.cases import Case
from invariants.claims._common import norm
from invariants.runners import run_reference, run_torch
from invariants.tolerances import EPS, norm_rel
from optimizers.harness import (
    FLOAT64_TOLERANCE,
    Scenario,
    max_relative_difference,
    torch_trajectory,
)
from optimizers.reference import mutual_projections as reference_projections
from optimizers.registry import REGISTRY
from optimizers.units.aida import mutual_projections as torch_projections

moderate_cases = S.cases(
    tuple(REGISTRY),
    st.just({}),
    shapes=S.layer_shapes(),
    plans=S.gradient_plans(max_steps=8, magnitudes=("moderate",)),
)


@given(moderate_cases)
def test_spec_instrumented_torch_run_is_the_plain_run(case: Case) -> None:
    tapped = [[a for a in record["after"]] for record in run_torch(case)]
    plain = torch_trajectory(case.optimizer, Scenario(case.params, case.grads), **case.hyper)
    for a, b in zip(tapped, plain, strict=True):
        assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


@given(moderate_cases)
def test_spec_torch_agrees_with_reference_on_generated_cases(case: Case) -> None:
    ours = [record["after"] for record in run_torch(case)]
    theirs = [record["after"] for record in run_reference(case)]
    assert max_relative_difference(ours, theirs) <= FLOAT64_TOLERANCE


@given(
    S.layer_shapes(),
    S.gradient_plans(),
    st.integers(-30, 30),
    S.betas(),
)
def test_spec_adam_bitwise_invariant_to_power_of_two_scaling(shapes, plan, k, betas) -> None:
    """With ε = 0 every operation of Adam commutes with a power-of-two scaling of g."""
    grads = S.realize(plan, shapes)
    params = S.initial_params(shapes, plan.seed)
    hyper = {"lr": 1e-3, "betas": betas, "eps": 0.0}
    base = run_torch(Case("Adam", params, grads, hyper))
    scaled = run_torch(
        Case("Adam", params, tuple(tuple(2.0**k * g for g in s) for s in grads), hyper)
    )
    for a, b in zip(base, scaled, strict=True):
        assert all(np.array_equal(x, y) for x, y in zip(a["after"], b["after"], strict=True))


vectors = st.integers(1, 6).flatmap(
    lambda n: st.tuples(
        st.lists(st.one_of(st.just(0.0), st.floats(-1e3, 1e3)), min_size=n, max_size=n),
        st.lists(st.one_of(st.just(0.0), st.floats(-1e3, 1e3)), min_size=n, max_size=n),
    )
)


@given(vectors, S.xis(), st.integers(1, 4))
def test_spec_projections_never_increase_norms(pair, xi, k) -> None:
    m, g = (np.asarray(v, dtype=np.float64) for v in pair)
    n = m.size
    tol = (2 * n + 8) * EPS + 2 * norm_rel(n)
    for project in ("torch", "reference"):
        if project == "torch":
            mk, gk = (t.numpy() for t in torch_projections(torch.tensor(m), torch.tensor(g), k, xi))
        else:
            mk, gk = reference_projections(m, g, k, xi)
        assert norm(mk) <= norm(m) * (1 + tol) + 1e-300
        assert norm(gk) <= norm(g) * (1 + tol) + 1e-300
