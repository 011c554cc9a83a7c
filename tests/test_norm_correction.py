"""The AdaNorm variants: the correction must fire when the norm drops, and vanish at γ = 0."""

from __future__ import annotations

import pytest
import torch

from optimizers.registry import REGISTRY

NORM_VARIANTS = [name for name, spec in REGISTRY.items() if spec.base is not None]


def dropping_norm_gradients(steps: int = 12) -> list[list[torch.Tensor]]:
    """Large gradients, then a 100× drop: e_t stays above ‖g_t‖ so the correction must act."""
    gen = torch.Generator().manual_seed(3)
    shapes = [(4, 3), (5,)]
    sequence = []
    for t in range(steps):
        scale = 1.0 if t < steps // 2 else 1e-2
        sequence.append(
            [scale * torch.randn(s, generator=gen, dtype=torch.float64) for s in shapes]
        )
    return sequence


def trajectory(name: str, gradients: list[list[torch.Tensor]], **options) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    params = [torch.randn(g.shape, generator=gen, dtype=torch.float64) for g in gradients[0]]
    optimizer = REGISTRY[name].torch_class(params, **options)
    for grads in gradients:
        for p, g in zip(params, grads, strict=True):
            p.grad = g.clone()
        optimizer.step()
    return params


@pytest.mark.parametrize("name", NORM_VARIANTS)
def test_norm_variant_differs_from_base_after_a_norm_drop(name: str) -> None:
    gradients = dropping_norm_gradients()
    corrected = trajectory(name, gradients)
    base = trajectory(REGISTRY[name].base, gradients)
    gap = max(float((a - b).abs().max()) for a, b in zip(corrected, base, strict=True))
    assert gap > 1e-6, f"{name} never applied its correction (max gap {gap:g})"


@pytest.mark.parametrize("name", NORM_VARIANTS)
def test_norm_variant_with_gamma_zero_is_exactly_its_base(name: str) -> None:
    gradients = dropping_norm_gradients()
    corrected = trajectory(name, gradients, gamma=0.0)
    base = trajectory(REGISTRY[name].base, gradients)
    for a, b in zip(corrected, base, strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("name", NORM_VARIANTS)
def test_norm_variant_equals_base_while_gradient_norm_never_decreases(name: str) -> None:
    gen = torch.Generator().manual_seed(1)
    direction = [torch.randn(4, 3, generator=gen, dtype=torch.float64)]
    gradients = [[(1.0 + 0.3 * t) * direction[0] * (-1) ** t] for t in range(10)]
    corrected = trajectory(name, gradients)
    base = trajectory(REGISTRY[name].base, gradients)
    for a, b in zip(corrected, base, strict=True):
        assert torch.equal(a, b)


def test_corrected_first_moment_input_has_the_larger_norm() -> None:
    """After a drop, m_t of AdamNorm moves by (1-β1)·e_t·ĝ rather than (1-β1)·g_t."""
    gamma, beta1 = 0.5, 0.9
    p = torch.zeros(2, dtype=torch.float64)
    optimizer = REGISTRY["AdamNorm"].torch_class([p], gamma=gamma, betas=(beta1, 0.999))
    p.grad = torch.tensor([3.0, 4.0], dtype=torch.float64)  # norm 5
    optimizer.step()
    p.grad = torch.tensor([0.3, 0.4], dtype=torch.float64)  # norm 0.5
    optimizer.step()
    e1 = (1 - gamma) * 5.0
    e2 = gamma * e1 + (1 - gamma) * 0.5
    s2 = torch.tensor([0.6, 0.8], dtype=torch.float64) * e2
    m1 = (1 - beta1) * torch.tensor([3.0, 4.0], dtype=torch.float64)
    expected = beta1 * m1 + (1 - beta1) * s2
    state = optimizer.state[p]
    torch.testing.assert_close(state["exp_avg"], expected, rtol=1e-15, atol=0)
    assert float(state["norm_ema"]) == pytest.approx(e2, rel=1e-15)


def test_global_norm_scope_uses_one_ratio_for_all_tensors() -> None:
    params = [torch.zeros(2, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)]
    optimizer = REGISTRY["AdamNorm"].torch_class(params, gamma=0.5, norm_scope="global")
    for p, g in zip(params, ([3.0, 0.0], [4.0]), strict=True):
        p.grad = torch.tensor(g, dtype=torch.float64)  # global norm 5
    optimizer.step()
    for p, g in zip(params, ([0.3, 0.0], [0.4]), strict=True):
        p.grad = torch.tensor(g, dtype=torch.float64)  # global norm 0.5
    optimizer.step()
    ratio = (0.5 * 2.5 + 0.5 * 0.5) / 0.5
    first = (0.9 * 0.1 * 3.0 + 0.1 * 0.3 * ratio, 0.9 * 0.1 * 4.0 + 0.1 * 0.4 * ratio)
    assert float(optimizer.state[params[0]]["exp_avg"][0]) == pytest.approx(first[0], rel=1e-14)
    assert float(optimizer.state[params[1]]["exp_avg"][0]) == pytest.approx(first[1], rel=1e-14)
