"""Aida's layerwise mutual orthogonal projections (paper 004, eqs. 12-16; Algs. 3-5)."""

from __future__ import annotations

import torch
from torch import Tensor

from optimizers._hyperparameters import Hyperparameter
from optimizers._validation import Integer, Interval
from optimizers.units.context import WHOLE_TENSOR, GroupStep, Unit, WholeTensor, by_kind, widened

XI = Hyperparameter(
    "xi",
    Interval(0.0),
    1e-20,
    "ξ ≥ 0 in the projections' denominators (004 eqs. 12-13)",
    examples=(0.0,),
)


def inner(x: Tensor, y: Tensor, over: WholeTensor = WHOLE_TENSOR) -> Tensor:
    """``⟨x, y⟩`` over the whole tensor (each tensor of a flat block: ``over``),
    float16/bfloat16 accumulated in float32."""
    return over.sum(widened(x) * widened(y))


def squared_norm(x: Tensor, over: WholeTensor = WHOLE_TENSOR) -> Tensor:
    """``‖x‖²`` over the whole tensor (each tensor of a flat block: ``over``),
    float16/bfloat16 accumulated in float32 (a float16 layer's ‖g‖² passes 65504 long
    before its entries overflow)."""
    return over.norm(x).square()


def ratio_or_zero(numerator: Tensor, denominator: Tensor) -> Tensor:
    """``numerator / denominator``, and 0 where the denominator is exactly 0.

    A projection onto the zero vector with ξ = 0 is the zero vector, the limit
    as ξ → 0.
    """
    positive = denominator > 0
    return torch.where(positive, numerator / torch.where(positive, denominator, 1.0), 0.0)


def project(x: Tensor, onto: Tensor, xi: float, over: WholeTensor = WHOLE_TENSOR) -> Tensor:
    """``⟨onto, x⟩ / (‖onto‖² + ξ) · onto``: x projected onto the line of ``onto``
    (float16/bfloat16 in float32)."""
    return widened(onto) * ratio_or_zero(inner(onto, x, over), squared_norm(onto, over) + xi)


def projection_coefficients(
    cross: Tensor, m_sq: Tensor, g_sq: Tensor, k: int, xi: float
) -> tuple[Tensor, Tensor]:
    """``(μ, ν)`` with ``m^(k) = μ·X`` and ``g^(k) = ν·Y``, ``(X, Y) = (m, g)`` for even k
    and ``(g, m)`` for odd k, from ``⟨m, g⟩``, ``‖m‖²`` and ``‖g‖²``.

    Eq. 12 makes m^(j+1) a multiple of g^(j) and eq. 13 makes g^(j+1) a multiple
    of m^(j), so the pair is always (μ X, ν Y) and each round only swaps X and Y
    and updates two scalars: with ``c = ⟨m^(j), g^(j)⟩ = μν⟨m, g⟩``,
    ``μ' = ν · c/(ν²‖Y‖² + ξ)`` and ``ν' = μ · c/(μ²‖X‖² + ξ)``. Works elementwise,
    so the arguments may be 0-d (one layer) or vectors (many layers at once).
    """
    mu = nu = torch.ones_like(cross)
    x_sq, y_sq = m_sq, g_sq
    for _ in range(k):
        c = mu * nu * cross
        mu, nu = (
            nu * ratio_or_zero(c, nu * nu * y_sq + xi),
            mu * ratio_or_zero(c, mu * mu * x_sq + xi),
        )
        x_sq, y_sq = y_sq, x_sq
    return mu, nu


def mutual_projections(
    m: Tensor, g: Tensor, k: int, xi: float, over: WholeTensor = WHOLE_TENSOR
) -> tuple[Tensor, Tensor]:
    """``(m^(K), g^(K))`` of eqs. 12-13: each of the pair projected onto the other, K times.

    Both new vectors are computed from the previous pair (a simultaneous
    update). The rounds run on scalars (:func:`projection_coefficients`): the
    vectors are formed once at the end, instead of K times with two inner
    products each.
    """
    if k == 0:
        return m, g
    mu, nu = projection_coefficients(
        inner(m, g, over), squared_norm(m, over), squared_norm(g, over), k, xi
    )
    x, y = (g, m) if k % 2 else (m, g)
    return widened(x) * mu, widened(y) * nu


class MutualProjectionResidual(Unit):
    """Aida's statistic ``q_t = (m_t^(K) - g_t^(K))²`` per tensor (eq. 14).

    ``K`` and ``xi`` come from the group. K = 0 gives AdaBelief's ``(m_t - g_t)²``.
    Runs after :class:`FirstMoment`.
    """

    reduction_reads = 2  # ⟨m, g⟩, ‖m‖², ‖g‖² (one read of m and g) before the residual
    traced = ("q", "statistics")
    """What the invariant runners record after this unit: (trace key, context field, ...)."""
    hyperparameters = (
        Hyperparameter(
            "K",
            Integer(0),
            2,
            "the number of mutual projections (004 eqs. 12-14; 2 in §IV)",
            examples=(0, 1, 3),
        ),
        XI,
    )

    def __call__(self, ctx: GroupStep) -> None:
        k, xi = ctx.group["K"], ctx.group["xi"]
        if ctx.foreach and not ctx.reduced_precision:
            self._multi_tensor(ctx, k, xi)
            return
        statistics = []
        for i, (g, state) in enumerate(zip(ctx.squared_inputs(), ctx.states, strict=True)):
            m_k, g_k = mutual_projections(state["exp_avg"], g, k, xi, ctx.over(i))
            statistics.append((widened(m_k) - widened(g_k)).square_())
        ctx.statistics = statistics

    @staticmethod
    def _multi_tensor(ctx: GroupStep, k: int, xi: float) -> None:
        # Bit for bit the loop above (the invariant checks compare the recorded
        # statistic with mutual_projections): the same reductions per tensor,
        # the coefficient recurrence on one stacked vector per kind, and the
        # residual formed in two workspace buffers (not with addcmul, whose
        # fused multiply-add rounds differently).
        inputs = ctx.squared_inputs()
        averages = [state["exp_avg"] for state in ctx.states]
        if k == 0:
            ctx.statistics = ctx.squared_differences("work", averages, inputs)
            return
        mu, nu = _coefficients(ctx, averages, inputs, k, xi)
        x, y = (inputs, averages) if k % 2 else (averages, inputs)
        ctx.statistics = ctx.squared_differences(
            "work", ctx.compute("work", "mul", x, mu), ctx.compute("work2", "mul", y, nu)
        )


class ProjectedGradientSquare(Unit):
    """AidaGrad's statistic ``q_t = (g^p_t)²``, ``g^p = ⟨m_t, g_t⟩/(‖m_t‖² + ξ) m_t`` (Alg. 4)."""

    reduction_reads = 2  # ⟨m, g⟩ and ‖m‖² before g^p
    traced = ("q", "statistics")
    """What the invariant runners record after this unit: (trace key, context field, ...)."""
    hyperparameters = (XI,)

    def __call__(self, ctx: GroupStep) -> None:
        xi = ctx.group["xi"]
        if ctx.foreach and not ctx.reduced_precision:
            # One round of the recurrence gives ν = ⟨m, g⟩/(‖m‖² + ξ), g^p = ν m.
            averages = [state["exp_avg"] for state in ctx.states]
            _, nu = _coefficients(ctx, averages, ctx.squared_inputs(), 1, xi)
            projected = ctx.compute("work", "mul", averages, nu)
            torch._foreach_mul_(projected, projected)
            ctx.statistics = projected
            return
        ctx.statistics = [
            project(g, state["exp_avg"], xi, ctx.over(i)).square_()
            for i, (g, state) in enumerate(zip(ctx.squared_inputs(), ctx.states, strict=True))
        ]


def _coefficients(
    ctx: GroupStep, averages: list[Tensor], inputs: list[Tensor], k: int, xi: float
) -> tuple[list[Tensor], list[Tensor]]:
    """Per tensor ``(μ, ν)`` of :func:`projection_coefficients`, as 0-d tensors."""
    # ⟨m, g⟩ as inner() computes it: the product (in the workspace), then its sum.
    cross = [product.sum() for product in ctx.compute("work", "mul", averages, inputs)]
    m_norms = torch._foreach_norm(averages)
    g_norms = ctx.norms(inputs)
    mu: list[Tensor] = [None] * len(cross)  # type: ignore[list-item]
    nu: list[Tensor] = [None] * len(cross)  # type: ignore[list-item]
    for indices in by_kind(cross):
        kind_mu, kind_nu = projection_coefficients(
            torch.stack([cross[i] for i in indices]),
            torch.stack([m_norms[i] for i in indices]).square(),
            torch.stack([g_norms[i] for i in indices]).square(),
            k,
            xi,
        )
        for i, a, b in zip(indices, kind_mu.unbind(), kind_nu.unbind(), strict=True):
            mu[i], nu[i] = a, b
    return mu, nu
