"""Adam, diffGrad, RAdam, AdaBelief and their AdaNorm variants (papers 000 and 001).

Each Norm variant is its base recipe plus :class:`~optimizers.units.GradientNormCorrection`
(see :func:`~optimizers._adaptive.with_norm_correction`); nothing else differs.
"""

from __future__ import annotations

from typing import Any, ClassVar

from optimizers._adaptive import (
    AdaptiveOptimizer,
    NormCorrectedOptimizer,
    with_norm_correction,
)
from optimizers._state_compat import TORCH_ADAM, TORCH_RADAM
from optimizers.units import (
    AdaptiveStep,
    ApplyUpdate,
    BeliefResidualSquare,
    DiffGradFriction,
    FirstMoment,
    GradientSquare,
    RectifiedStep,
    SecondMoment,
    WeightDecay,
)

ADAM_RECIPE = (
    WeightDecay(),
    FirstMoment(),
    GradientSquare(),
    SecondMoment(),
    AdaptiveStep(),
    ApplyUpdate(),
)
DIFFGRAD_RECIPE = (
    WeightDecay(),
    FirstMoment(),
    GradientSquare(),
    SecondMoment(),
    AdaptiveStep(),
    DiffGradFriction(),
    ApplyUpdate(),
)
RADAM_RECIPE = (
    WeightDecay(),
    FirstMoment(),
    GradientSquare(),
    SecondMoment(),
    RectifiedStep(),
    ApplyUpdate(),
)
ADABELIEF_RECIPE = (
    WeightDecay(),
    FirstMoment(),
    BeliefResidualSquare(),
    SecondMoment(),
    AdaptiveStep(),
    ApplyUpdate(),
)


class Adam(AdaptiveOptimizer):
    """Adam (paper 000, Alg. 1): ``θ ← θ - α m̂_t/(sqrt(v̂_t) + ε)``.

    Args: ``lr`` α, ``betas`` (β1, β2), ``eps`` ε, ``weight_decay`` (L2 into the
    gradient, or decoupled with ``decoupled_weight_decay=True``), ``eps_mode``
    ("outside" by default: ε after the root; "inside": added to v_t each step;
    "both"), ``foreach`` (multi-tensor kernels; None = on), ``on_nonfinite``
    ("raise" or "skip").
    """

    recipe = ADAM_RECIPE
    torch_formats = (TORCH_ADAM,)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), ``weight_decay=1e-2`` as in torch."""

    default_options: ClassVar[dict[str, Any]] = {
        "weight_decay": 1e-2,
        "decoupled_weight_decay": True,
    }


class AdamNorm(NormCorrectedOptimizer):
    """AdamNorm (paper 000, Alg. 2; eqs. 2-9): Adam whose first moment averages
    ``s_t = max(1, e_t/‖g_t‖) g_t`` with ``e_t = γ e_{t-1} + (1-γ)‖g_t‖``.

    Args as :class:`Adam`, plus ``gamma`` γ (0.95, §4), ``norm_scope``
    ("tensor" or "global"), ``corrected_moments`` ("first": the paper's method;
    "second"/"both": the ablation of Table 3).
    """

    recipe = with_norm_correction(ADAM_RECIPE)


class DiffGrad(AdaptiveOptimizer):
    """diffGrad (paper 001, supplementary Alg. 3): Adam's step times
    ``ξ_t = sigmoid(|g_t - g_{t-1}|)``."""

    recipe = DIFFGRAD_RECIPE


class DiffGradNorm(NormCorrectedOptimizer):
    """diffGradNorm (paper 001, supplementary Alg. 4): diffGrad + AdaNorm's correction.
    The friction ξ_t uses the raw gradient."""

    recipe = with_norm_correction(DIFFGRAD_RECIPE)


class RAdam(AdaptiveOptimizer):
    """RAdam (paper 001, supplementary Alg. 5).

    Rectified adaptive step when ``ρ_t ≥ rectify_threshold`` (5), un-adapted
    momentum otherwise. ``threshold_inclusive=False`` gives torch's ``ρ_t > 5``.
    """

    recipe = RADAM_RECIPE
    torch_formats = (TORCH_RADAM,)


class RAdamNorm(NormCorrectedOptimizer):
    """RAdamNorm (paper 001, supplementary Alg. 6): RAdam + AdaNorm's correction."""

    recipe = with_norm_correction(RADAM_RECIPE)


class AdaBelief(AdaptiveOptimizer):
    """AdaBelief (paper 001, supplementary Alg. 7; paper 004, eqs. 6-7).

    The second moment tracks ``(g_t - m_t)²``. ``eps_mode`` defaults to "both"
    (ε inside the EMA and after the root, AdaBelief's own definition as written
    in 004 eqs. 6-7; 001 Alg. 7 shows only the outer ε).
    """

    recipe = ADABELIEF_RECIPE
    default_options: ClassVar[dict[str, Any]] = {"eps_mode": "both"}


class AdaBeliefNorm(NormCorrectedOptimizer):
    """AdaBeliefNorm (paper 001, supplementary Alg. 8): AdaBelief + AdaNorm's correction.

    The belief residual is ``(g_t - m_t)²`` with the raw g_t and the m_t built from s_t.
    """

    recipe = with_norm_correction(ADABELIEF_RECIPE)
    default_options: ClassVar[dict[str, Any]] = {"eps_mode": "both"}
