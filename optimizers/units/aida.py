"""Aida's layerwise mutual orthogonal projections (paper 004, eqs. 12-16; Algs. 3-5)."""

from __future__ import annotations

import torch
from torch import Tensor

from optimizers.units.context import GroupStep, Unit


def project(x: Tensor, onto: Tensor, xi: float) -> Tensor:
    """``⟨onto, x⟩ / (‖onto‖² + ξ) · onto``: x projected onto the line of ``onto``.

    When the denominator is exactly zero (ξ = 0 and ``onto`` = 0) the
    projection is the zero vector, the limit as ξ → 0.
    """
    denominator = torch.sum(onto * onto) + xi
    coefficient = torch.sum(onto * x) / torch.where(denominator > 0, denominator, 1.0)
    return onto * torch.where(denominator > 0, coefficient, 0.0)


def mutual_projections(m: Tensor, g: Tensor, k: int, xi: float) -> tuple[Tensor, Tensor]:
    """``(m^(K), g^(K))`` of eqs. 12-13: each of the pair projected onto the other, K times.

    Both new vectors are computed from the previous pair (a simultaneous update).
    """
    for _ in range(k):
        m, g = project(m, g, xi), project(g, m, xi)
    return m, g


class MutualProjectionResidual(Unit):
    """Aida's statistic ``q_t = (m_t^(K) - g_t^(K))²`` per tensor (eq. 14).

    ``K`` and ``xi`` come from the group. K = 0 gives AdaBelief's ``(m_t - g_t)²``.
    Runs after :class:`FirstMoment`.
    """

    def __call__(self, ctx: GroupStep) -> None:
        k, xi = ctx.group["K"], ctx.group["xi"]
        statistics = []
        for g, state in zip(ctx.squared_inputs(), ctx.states, strict=True):
            m_k, g_k = mutual_projections(state["exp_avg"], g, k, xi)
            statistics.append((m_k - g_k).square_())
        ctx.statistics = statistics


class ProjectedGradientSquare(Unit):
    """AidaGrad's statistic ``q_t = (g^p_t)²``, ``g^p = ⟨m_t, g_t⟩/(‖m_t‖² + ξ) m_t`` (Alg. 4)."""

    def __call__(self, ctx: GroupStep) -> None:
        xi = ctx.group["xi"]
        ctx.statistics = [
            project(g, state["exp_avg"], xi).square_()
            for g, state in zip(ctx.squared_inputs(), ctx.states, strict=True)
        ]
