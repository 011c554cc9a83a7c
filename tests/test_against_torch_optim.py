"""Where our definitions coincide with torch.optim they must agree; where not, the gap is pinned."""

from __future__ import annotations

import pytest
import torch

import optimizers
from optimizers.units.radam import sma_length


def run(factory, gradients: list[torch.Tensor], seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    p = torch.randn(gradients[0].shape, generator=gen, dtype=torch.float64)
    optimizer = factory([p])
    for g in gradients:
        p.grad = g.clone()
        optimizer.step()
    return p


def noisy_gradients(steps: int = 40, shape=(6, 5)) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(9)
    return [
        torch.randn(shape, generator=gen, dtype=torch.float64) * (1 + t % 5) for t in range(steps)
    ]


PAIRS = [
    (
        lambda ps: optimizers.Adam(ps, lr=1e-2, weight_decay=0.01),
        lambda ps: torch.optim.Adam(ps, lr=1e-2, weight_decay=0.01, foreach=False),
    ),
    (
        lambda ps: optimizers.Adam(ps, lr=1e-2, weight_decay=0.01, decoupled_weight_decay=True),
        lambda ps: torch.optim.AdamW(ps, lr=1e-2, weight_decay=0.01, foreach=False),
    ),
    (
        lambda ps: optimizers.AdamW(ps, lr=1e-2),
        lambda ps: torch.optim.AdamW(ps, lr=1e-2, foreach=False),
    ),
    (
        lambda ps: optimizers.RAdam(ps, lr=1e-2, weight_decay=0.01),
        lambda ps: torch.optim.RAdam(ps, lr=1e-2, weight_decay=0.01, foreach=False),
    ),
    (
        lambda ps: optimizers.RAdam(ps, lr=1e-2, weight_decay=0.01, decoupled_weight_decay=True),
        lambda ps: torch.optim.RAdam(
            ps, lr=1e-2, weight_decay=0.01, decoupled_weight_decay=True, foreach=False
        ),
    ),
    (
        lambda ps: optimizers.SGDM(ps, lr=0.05, momentum=0.9, weight_decay=1e-3, nesterov=True),
        lambda ps: torch.optim.SGD(
            ps, lr=0.05, momentum=0.9, weight_decay=1e-3, nesterov=True, foreach=False
        ),
    ),
    (
        lambda ps: optimizers.SGDM(ps, lr=0.05, momentum=0.8, dampening=0.3),
        lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.8, dampening=0.3, foreach=False),
    ),
]


@pytest.mark.parametrize(("ours", "theirs"), PAIRS)
def test_agrees_with_torch_where_definitions_coincide(ours, theirs) -> None:
    gradients = noisy_gradients()
    torch.testing.assert_close(run(ours, gradients), run(theirs, gradients), rtol=1e-12, atol=1e-14)


def test_adam_differs_from_torch_when_eps_moves_inside_the_ema() -> None:
    """eps_mode="inside" (paper 004 eq. 8) is a different algorithm from torch's Adam."""
    gradients = [g * 1e-6 for g in noisy_gradients(steps=5)]
    ours = run(lambda ps: optimizers.Adam(ps, lr=1e-2, eps_mode="inside"), gradients)
    theirs = run(lambda ps: torch.optim.Adam(ps, lr=1e-2, foreach=False), gradients)
    assert float((ours - theirs).abs().max()) > 1e-4


def test_radam_threshold_is_inclusive_as_in_the_paper_and_strict_in_torch() -> None:
    """Alg. 5 rectifies when ρ_t ≥ 5, torch when ρ_t > 5: set the threshold to ρ_6 exactly."""
    beta2 = 0.999
    _, rho_6 = sma_length(beta2, 6)
    gradients = noisy_gradients(steps=6)

    def radam(inclusive: bool):
        return lambda ps: optimizers.RAdam(
            ps, lr=1e-2, rectify_threshold=rho_6, threshold_inclusive=inclusive
        )

    inclusive, strict = run(radam(True), gradients), run(radam(False), gradients)
    assert float((inclusive - strict).abs().max()) > 1e-6
    # The strict reading, threshold at ρ_6, takes the un-rectified step at t = 6 like torch
    # does whenever its fixed threshold 5 is not exceeded; step 6 is the only difference.
    five_steps = gradients[:5]
    torch.testing.assert_close(run(radam(True), five_steps), run(radam(False), five_steps))


def test_radam_default_threshold_crossing_matches_torch() -> None:
    """With β2 = 0.999, ρ_t crosses 5 between steps 5 and 6; no step sits exactly on 5."""
    rhos = [sma_length(0.999, t)[1] for t in range(1, 8)]
    assert rhos[4] < 5 < rhos[5]
    gradients = noisy_gradients(steps=8)
    torch.testing.assert_close(
        run(lambda ps: optimizers.RAdam(ps, lr=1e-2), gradients),
        run(lambda ps: torch.optim.RAdam(ps, lr=1e-2, foreach=False), gradients),
        rtol=1e-12,
        atol=1e-14,
    )
