"""Independent float64 NumPy reference implementations of the suite's optimizers.

Written straight from the papers' pseudo-code (``../shared/seeds/``) and
``docs/ALGORITHMS.md``; shares no code with the torch implementations in
``optimizers/*.py`` and imports no torch, so that the two can be tested
against each other.

Usage::

    opt = REFERENCES["AdamNorm"]([w0, b0], lr=1e-3, gamma=0.95)
    opt.step([gw, gb])          # None for a tensor without gradient
    opt.params                  # float64 arrays, updated in place
    opt.last["s"]               # intermediate quantities of the last step
"""

from __future__ import annotations

from ._common import ReferenceOptimizer
from .adam_family import (
    AdaBeliefNormReference,
    AdaBeliefReference,
    AdamNormReference,
    AdamReference,
    AdamWReference,
    DiffGradNormReference,
    DiffGradReference,
    RAdamNormReference,
    RAdamReference,
)
from .adarem import AdaRemReference, AdaRemSReference
from .aida import AidaGradReference, AidaReference, LAidaReference, mutual_projections
from .layerwise import AdaBeliefLReference, AdamLReference, LAdaBeliefReference, LAdamReference
from .ndadam import NDAdamReference
from .sgdm import SGDMReference

REFERENCES: dict[str, type[ReferenceOptimizer]] = {
    "SGDM": SGDMReference,
    "Adam": AdamReference,
    "AdamW": AdamWReference,
    "AdamNorm": AdamNormReference,
    "DiffGrad": DiffGradReference,
    "DiffGradNorm": DiffGradNormReference,
    "RAdam": RAdamReference,
    "RAdamNorm": RAdamNormReference,
    "AdaBelief": AdaBeliefReference,
    "AdaBeliefNorm": AdaBeliefNormReference,
    "AdaRem": AdaRemReference,
    "AdaRemS": AdaRemSReference,
    "NDAdam": NDAdamReference,
    "AdamL": AdamLReference,
    "AdaBeliefL": AdaBeliefLReference,
    "LAdam": LAdamReference,
    "LAdaBelief": LAdaBeliefReference,
    "Aida": AidaReference,
    "AidaGrad": AidaGradReference,
    "LAida": LAidaReference,
}

__all__ = [
    "REFERENCES",
    "AdaBeliefLReference",
    "AdaBeliefNormReference",
    "AdaBeliefReference",
    "AdaRemReference",
    "AdaRemSReference",
    "AdamLReference",
    "AdamNormReference",
    "AdamReference",
    "AdamWReference",
    "AidaGradReference",
    "AidaReference",
    "DiffGradNormReference",
    "DiffGradReference",
    "LAdaBeliefReference",
    "LAdamReference",
    "LAidaReference",
    "NDAdamReference",
    "RAdamNormReference",
    "RAdamReference",
    "ReferenceOptimizer",
    "SGDMReference",
    "mutual_projections",
]
