"""One entry per optimizer: the torch class, its float64 reference, defaults and source.

Tests and experiments iterate over :data:`REGISTRY`, so adding an entry here
puts a new optimizer under every check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

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
from optimizers.sgdm import SGDM

_ADANORM = "AdaNorm (000 arXiv / 001 WACV)"
_AIDA = "Layerwise statistics & Aida (004)"


@dataclass(frozen=True)
class OptimizerSpec:
    """What the suite knows about one optimizer."""

    name: str
    torch_class: type[torch.optim.Optimizer]
    paper: str
    algorithm: str
    base: str | None = None
    """For the AdaNorm variants, the name of the base optimizer they correct."""
    layerwise: bool = False
    """Whether the method keeps or uses per-layer (per-tensor) statistics."""

    @property
    def reference(self) -> type:
        """The independent NumPy float64 transcription of the same algorithm."""
        from optimizers.reference import REFERENCES

        return REFERENCES[self.name]

    @property
    def defaults(self) -> dict[str, Any]:
        """Hyperparameter defaults, read off the class signature."""
        return {
            name: h.default
            for name, h in self.torch_class.hyperparameters.items()
            if h.settable and name != "foreach"
        }


REGISTRY: dict[str, OptimizerSpec] = {
    spec.name: spec
    for spec in (
        OptimizerSpec("SGDM", SGDM, "baseline (002, 004)", "torch SGD with momentum"),
        OptimizerSpec("Adam", Adam, _ADANORM, "000 Alg. 1"),
        OptimizerSpec("AdamW", AdamW, "baseline (002, 004)", "Adam + decoupled decay"),
        OptimizerSpec("AdamNorm", AdamNorm, _ADANORM, "000 Alg. 2", base="Adam"),
        OptimizerSpec("DiffGrad", DiffGrad, _ADANORM, "001 Alg. 3"),
        OptimizerSpec("DiffGradNorm", DiffGradNorm, _ADANORM, "001 Alg. 4", base="DiffGrad"),
        OptimizerSpec("RAdam", RAdam, _ADANORM, "001 Alg. 5"),
        OptimizerSpec("RAdamNorm", RAdamNorm, _ADANORM, "001 Alg. 6", base="RAdam"),
        OptimizerSpec("AdaBelief", AdaBelief, _ADANORM, "001 Alg. 7; 004 eqs. 6-7"),
        OptimizerSpec("AdaBeliefNorm", AdaBeliefNorm, _ADANORM, "001 Alg. 8", base="AdaBelief"),
        OptimizerSpec("AdaRem", AdaRem, "AdaRem (002)", "002 Alg. 1"),
        OptimizerSpec("AdaRemS", AdaRemS, "AdaRem (002)", "002 Alg. 2"),
        OptimizerSpec("NDAdam", NDAdam, "ND-Adam (003)", "003 Alg. 1", layerwise=True),
        OptimizerSpec("AdamL", AdamL, _AIDA, "004 Alg. 1", layerwise=True),
        OptimizerSpec("AdaBeliefL", AdaBeliefL, _AIDA, "004 Alg. 1", layerwise=True),
        OptimizerSpec("LAdam", LAdam, _AIDA, "004 Alg. 2", layerwise=True),
        OptimizerSpec("LAdaBelief", LAdaBelief, _AIDA, "004 Alg. 2", layerwise=True),
        OptimizerSpec("Aida", Aida, _AIDA, "004 Alg. 3", layerwise=True),
        OptimizerSpec("AidaGrad", AidaGrad, _AIDA, "004 Alg. 4", layerwise=True),
        OptimizerSpec("LAida", LAida, _AIDA, "004 Alg. 5", layerwise=True),
    )
}
