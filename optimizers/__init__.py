"""The optimizers of the AdaNorm, AdaRem, ND-Adam and Aida papers as ``torch.optim`` optimizers.

Every class is a recipe of units from :mod:`optimizers.units`; the float64
references written independently from the papers live in
:mod:`optimizers.reference`; :data:`REGISTRY` ties each name to both.
See ``docs/ALGORITHMS.md`` for the equations and every open choice.
"""

from optimizers._base import NonFiniteGradientError, RecipeOptimizer
from optimizers.adam_family import (
    AdaBelief,
    AdaBeliefNorm,
    Adam,
    AdamNorm,
    AdamW,
    DiffGrad,
    DiffGradNorm,
    RAdam,
    RAdamNorm,
)
from optimizers.adarem import AdaRem, AdaRemS
from optimizers.aida import Aida, AidaGrad, LAida
from optimizers.layerwise import AdaBeliefL, AdamL, LAdaBelief, LAdam
from optimizers.ndadam import NDAdam
from optimizers.registry import REGISTRY, OptimizerSpec
from optimizers.sgdm import SGDM

__all__ = [
    "REGISTRY",
    "SGDM",
    "AdaBelief",
    "AdaBeliefL",
    "AdaBeliefNorm",
    "AdaRem",
    "AdaRemS",
    "Adam",
    "AdamL",
    "AdamNorm",
    "AdamW",
    "Aida",
    "AidaGrad",
    "DiffGrad",
    "DiffGradNorm",
    "LAdaBelief",
    "LAdam",
    "LAida",
    "NDAdam",
    "NonFiniteGradientError",
    "OptimizerSpec",
    "RAdam",
    "RAdamNorm",
    "RecipeOptimizer",
]
