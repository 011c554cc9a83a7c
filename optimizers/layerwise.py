"""Adam and AdaBelief with one step size per layer (paper 004, §II, Algs. 1-2).

A layer is one parameter tensor. ε sits inside the EMA by default (eq. 8:
"there is no need to introduce ε again").
"""

from __future__ import annotations

from collections.abc import Sequence

from optimizers._adaptive import AdaptiveOptimizer
from optimizers.adam_family import ADAM_RECIPE
from optimizers.units import (
    AdaptiveStep,
    BeliefResidualSquare,
    GradientSquare,
    LayerMeanStepSize,
    SecondMoment,
    Unit,
)

INSIDE = {"eps_mode": "inside"}


def replaced(recipe: Sequence[Unit], kind: type[Unit], unit: Unit) -> tuple[Unit, ...]:
    """``recipe`` with each unit of exactly type ``kind`` replaced by ``unit``."""
    return tuple(unit if type(u) is kind else u for u in recipe)


def with_belief_residual(recipe: Sequence[Unit]) -> tuple[Unit, ...]:
    """The Adam-type ``recipe`` with AdaBelief's statistic ``(m_t - g_t)²`` in place of
    ``g_t²``: all that turns AdamL into AdaBeliefL and LAdam into LAdaBelief (004 §II)."""
    return replaced(recipe, GradientSquare, BeliefResidualSquare())


class AdamL(AdaptiveOptimizer):
    """AdamL (Alg. 1, eqs. 8-10): elementwise ``v_t``, then the layer's mean step
    size ``γ_l = mean(1/sqrt(v̂_l))`` replaces the elementwise ones. Same memory as Adam."""

    recipe = replaced(ADAM_RECIPE, AdaptiveStep, LayerMeanStepSize())  # post-processing
    default_options = INSIDE


class AdaBeliefL(AdaptiveOptimizer):
    """AdaBeliefL (Alg. 1 with ``(m_t - g_t)²`` in place of ``g_t²``)."""

    recipe = with_belief_residual(AdamL.recipe)
    default_options = INSIDE


class LAdam(AdaptiveOptimizer):
    """LAdam (Alg. 2, eq. 11): one scalar second moment per layer,
    ``v_l = β2 v_l + (1-β2) mean(g_l²) + ε``; about half of Adam's state."""

    recipe = replaced(ADAM_RECIPE, SecondMoment, SecondMoment("layer_mean"))  # pre-processing
    default_options = INSIDE


class LAdaBelief(AdaptiveOptimizer):
    """LAdaBelief (Alg. 2 with ``mean((m_l - g_l)²)``)."""

    recipe = with_belief_residual(LAdam.recipe)
    default_options = INSIDE
