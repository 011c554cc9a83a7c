"""The building blocks every optimizer of this suite is assembled from.

Each unit is one idea of one paper (the AdaNorm correction, diffGrad's friction,
RAdam's rectification, Aida's projections, ...). An optimizer is an ordered
recipe of units run over one param group per step, the way optax chains
gradient transformations. See ``docs/ALGORITHMS.md`` for the equations.
"""

from optimizers.units.adanorm import GradientNormCorrection
from optimizers.units.adarem import AdaRemModulation, MomentumAfterUpdate
from optimizers.units.aida import MutualProjectionResidual, ProjectedGradientSquare
from optimizers.units.context import GroupStep, Unit
from optimizers.units.diffgrad import DiffGradFriction
from optimizers.units.layerwise import LayerMeanStepSize
from optimizers.units.moments import (
    BeliefResidualSquare,
    FirstMoment,
    GradientSquare,
    SecondMoment,
)
from optimizers.units.ndadam import ScalarSetRate, TangentProjection
from optimizers.units.radam import RectifiedStep
from optimizers.units.sgd import HeavyBallMomentum
from optimizers.units.sphere import SphereRetraction
from optimizers.units.update import AdaptiveStep, ApplyUpdate
from optimizers.units.weight_decay import WeightDecay

__all__ = [
    "AdaRemModulation",
    "AdaptiveStep",
    "ApplyUpdate",
    "BeliefResidualSquare",
    "DiffGradFriction",
    "FirstMoment",
    "GradientNormCorrection",
    "GradientSquare",
    "GroupStep",
    "HeavyBallMomentum",
    "LayerMeanStepSize",
    "MomentumAfterUpdate",
    "MutualProjectionResidual",
    "ProjectedGradientSquare",
    "RectifiedStep",
    "ScalarSetRate",
    "SecondMoment",
    "SphereRetraction",
    "TangentProjection",
    "Unit",
    "WeightDecay",
]
