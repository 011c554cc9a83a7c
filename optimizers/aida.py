"""Aida, AidaGrad and LAida (paper 004, §III and Appendix A, Algs. 3-5).

ε sits inside the EMA only by default (Algs. 4-5 update with ``m̃/sqrt(ṽ)``);
``eps_mode="both"`` gives AdaBelief's placement, under which Aida with K = 0
is AdaBelief.
"""

from __future__ import annotations

from typing import Any, ClassVar

from optimizers._adaptive import ADAM_POSITIONAL, AdaptiveOptimizer
from optimizers.units import (
    AdaptiveStep,
    ApplyUpdate,
    FirstMoment,
    MutualProjectionResidual,
    ProjectedGradientSquare,
    SecondMoment,
    WeightDecay,
)


class _ProjectingOptimizer(AdaptiveOptimizer):
    default_options: ClassVar[dict[str, Any]] = {"eps_mode": "inside"}

    positional_options: ClassVar[tuple[str, ...]] = (*ADAM_POSITIONAL, "K", "xi")


class Aida(_ProjectingOptimizer):
    """Aida (Alg. 3, eqs. 12-14): the second moment tracks ``(m^(K) - g^(K))²``,
    where ``(m^(K), g^(K))`` come from K mutual orthogonal projections of the
    layer's pair ``(m_t, g_t)``. ``K=2``, ``xi=1e-20`` as in §IV."""

    recipe = (
        WeightDecay(),
        FirstMoment(),
        MutualProjectionResidual(),
        SecondMoment(),
        AdaptiveStep(),
        ApplyUpdate(),
    )


class AidaGrad(AdaptiveOptimizer):
    """AidaGrad (Alg. 4): the second moment tracks ``(g^p)²`` with
    ``g^p = ⟨m_t, g_t⟩/(‖m_t‖² + ξ) m_t``, one projection of g onto m."""

    recipe = (
        WeightDecay(),
        FirstMoment(),
        ProjectedGradientSquare(),
        SecondMoment(),
        AdaptiveStep(),
        ApplyUpdate(),
    )
    default_options: ClassVar[dict[str, Any]] = {"eps_mode": "inside"}

    positional_options: ClassVar[tuple[str, ...]] = (*ADAM_POSITIONAL, "xi")


class LAida(_ProjectingOptimizer):
    """LAida (Alg. 5): Aida with one scalar second moment per layer,
    ``v_l = β2 v_l + (1-β2) mean((m^(K) - g^(K))²) + ε``."""

    recipe = (
        WeightDecay(),
        FirstMoment(),
        MutualProjectionResidual(),
        SecondMoment("layer_mean"),
        AdaptiveStep(),
        ApplyUpdate(),
    )
