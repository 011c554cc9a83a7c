"""The optimizer database: one entry per optimizer, everything the suite knows about it.

In the spirit of torch's ``OptimizerInfo`` (``torch/testing/_internal/
common_optimizers.py``): the torch class, its float64 reference and how to read
that reference's step, the paper and algorithm, capability flags, the
hyperparameters (read from the recipe's declarations, with this class's
defaults), the option sets worth testing and the invalid inputs with the
error they must raise. Tests, the invariant runners and the tools iterate over
:func:`specs`, so an entry here (plus a recipe and a reference) puts a new
optimizer under every generic check; :func:`register` adds one (a test adds a
toy optimizer that way).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from optimizers._base import NONFINITE_POLICIES
from optimizers._hyperparameters import Table
from optimizers._validation import Choice, Flag
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


def adam_direction(ref: Any, record: dict[str, list], i: int) -> np.ndarray:
    """Adam-type references: ``step_size · m̂`` with ``m̂ = m/(1-β1^t)`` (their ``last``)."""
    t = ref.state[i]["step"]
    return record["step_size"][i] * (record["m"][i] / (1.0 - ref.beta1**t))


def ndadam_direction(ref: Any, record: dict[str, list], i: int) -> np.ndarray:
    """ND-Adam: one step size per weight vector (row) of a vector set, else Adam's."""
    if not ref.state[i]["vectorwise"]:
        return adam_direction(ref, record, i)
    m, size = record["m"][i], record["step_size"][i]
    rows = m.reshape(m.shape[0], -1) if m.ndim else m.reshape(1, 1)
    bc1 = 1.0 - ref.beta1 ** ref.state[i]["step"]
    return (rows / bc1 * size[:, None]).reshape(m.shape)


def modulated_direction(ref: Any, record: dict[str, list], i: int) -> np.ndarray:
    """AdaRem: ``a ⊙ g`` (002 Alg. 1)."""
    return record["a"][i] * record["g"][i]


def heavy_ball_direction(ref: Any, record: dict[str, list], i: int) -> np.ndarray:
    """SGD with momentum: the buffer (g itself at μ = 0), or ``g + μ buf`` with Nesterov."""
    buf = record["m"][i]
    if buf is None:
        return record["g"][i]
    return record["g"][i] + ref.momentum * buf if ref.nesterov else buf


@dataclass(frozen=True)
class InvalidInput:
    """Constructor arguments that must raise ``error`` with a message matching ``match``."""

    kwargs: dict[str, Any]
    error: type[Exception]
    match: str

    def __str__(self) -> str:
        return f"{self.kwargs}->{self.error.__name__}"


UNIT_ROWS, INITIAL_NORM = "unit rows", "initial norm"
"""The two sphere constraints of :attr:`OptimizerSpec.sphere`."""


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
    scale_invariant: bool = False
    """GEN-1: with ε = 0 the step is unchanged when every gradient is multiplied by c > 0
    (every statistic homogeneous). Not RAdam: below the threshold it steps by lr·m̂."""
    sphere: str | None = None
    """What a sphere constraint keeps, if the method has one: ``UNIT_ROWS`` (ND-Adam, 003
    Alg. 1: each weight vector, a row of θ.reshape(out, -1), on the unit sphere from
    construction on) or ``INITIAL_NORM`` (AdaRem-S, 002 Alg. 2: each sphere tensor at its
    initial norm). Tensors of ndim ≥ 2 by default in both."""
    reference_class: type | None = None
    """The float64 reference; ``None``: ``optimizers.reference.REFERENCES[name]``."""
    reference_direction: Callable[[Any, dict[str, list], int], np.ndarray] = adam_direction
    """The update per unit rate rebuilt from the reference's ``last`` values."""
    extra_option_sets: tuple[dict[str, Any], ...] = ()
    """Option combinations worth testing beyond those the declarations give."""
    extra_invalid_inputs: tuple[InvalidInput, ...] = ()
    """Invalid inputs beyond one value outside each declared domain."""

    @property
    def reference(self) -> type:
        """The independent NumPy float64 transcription of the same algorithm."""
        if self.reference_class is not None:
            return self.reference_class
        from optimizers.reference import REFERENCES

        return REFERENCES[self.name]

    @property
    def hyperparameters(self) -> Table:
        """Every group option, as the recipe's units declare it, with this class's defaults."""
        return self.torch_class.hyperparameters

    @property
    def defaults(self) -> dict[str, Any]:
        """The defaults of the options a user sets (the reference takes the same names)."""
        return {
            name: h.default
            for name, h in self.hyperparameters.items()
            if h.settable and name != "foreach"
        }

    @property
    def foreach(self) -> bool:
        """Has a multi-tensor path (the ``foreach`` option) besides the readable one."""
        return "foreach" in self.hyperparameters

    @property
    def option_sets(self) -> tuple[dict[str, Any], ...]:
        """Option combinations worth testing: each declared option's other choices and
        examples (with the options that make them matter), then :attr:`extra_option_sets`."""
        sets: list[dict[str, Any]] = []
        for name, h in self.hyperparameters.items():
            if not h.settable or name in ("lr", "foreach"):
                continue
            values = list(h.examples)
            if isinstance(h.domain, Choice):
                values += [v for v in h.domain.values if v != h.default]
            elif isinstance(h.domain, Flag):
                values.append(not h.default)
            sets += [{**h.alongside, name: value} for value in values]
        sets += [dict(s) for s in self.extra_option_sets]
        return tuple(sets)

    @property
    def invalid_inputs(self) -> tuple[InvalidInput, ...]:
        """Arguments the constructor must refuse: values outside each declared domain
        (``ValueError`` naming the argument), a policy that does not exist, then
        :attr:`extra_invalid_inputs`."""
        inputs = [
            InvalidInput({name: value}, ValueError, re.escape(name))
            for name, h in self.hyperparameters.items()
            if h.settable
            for value in h.domain.invalid_examples()
        ]
        inputs.append(
            InvalidInput(
                {"on_nonfinite": "ignore"}, ValueError, f"on_nonfinite.*{NONFINITE_POLICIES}"
            )
        )
        pinned = [name for name, h in self.hyperparameters.items() if not h.settable]
        inputs += [InvalidInput({name: None}, TypeError, name) for name in pinned]
        return (*inputs, *self.extra_invalid_inputs)


REGISTRY: dict[str, OptimizerSpec] = {
    spec.name: spec
    for spec in (
        OptimizerSpec(
            "SGDM",
            SGDM,
            "baseline (002, 004)",
            "torch SGD with momentum",
            reference_direction=heavy_ball_direction,
            extra_invalid_inputs=(
                InvalidInput({"nesterov": True, "momentum": 0.0}, ValueError, "nesterov"),
            ),
        ),
        OptimizerSpec("Adam", Adam, _ADANORM, "000 Alg. 1", scale_invariant=True),
        OptimizerSpec(
            "AdamW", AdamW, "baseline (002, 004)", "Adam + decoupled decay", scale_invariant=True
        ),
        OptimizerSpec(
            "AdamNorm", AdamNorm, _ADANORM, "000 Alg. 2", base="Adam", scale_invariant=True
        ),
        OptimizerSpec("DiffGrad", DiffGrad, _ADANORM, "001 Alg. 3"),
        OptimizerSpec("DiffGradNorm", DiffGradNorm, _ADANORM, "001 Alg. 4", base="DiffGrad"),
        OptimizerSpec("RAdam", RAdam, _ADANORM, "001 Alg. 5"),
        OptimizerSpec("RAdamNorm", RAdamNorm, _ADANORM, "001 Alg. 6", base="RAdam"),
        OptimizerSpec(
            "AdaBelief", AdaBelief, _ADANORM, "001 Alg. 7; 004 eqs. 6-7", scale_invariant=True
        ),
        OptimizerSpec(
            "AdaBeliefNorm",
            AdaBeliefNorm,
            _ADANORM,
            "001 Alg. 8",
            base="AdaBelief",
            scale_invariant=True,
        ),
        OptimizerSpec(
            "AdaRem",
            AdaRem,
            "AdaRem (002)",
            "002 Alg. 1",
            reference_direction=modulated_direction,
        ),
        OptimizerSpec(
            "AdaRemS",
            AdaRemS,
            "AdaRem (002)",
            "002 Alg. 2",
            sphere=INITIAL_NORM,
            reference_direction=modulated_direction,
        ),
        OptimizerSpec(
            "NDAdam",
            NDAdam,
            "ND-Adam (003)",
            "003 Alg. 1",
            layerwise=True,
            sphere=UNIT_ROWS,
            reference_direction=ndadam_direction,
        ),
        OptimizerSpec("AdamL", AdamL, _AIDA, "004 Alg. 1", layerwise=True, scale_invariant=True),
        OptimizerSpec(
            "AdaBeliefL", AdaBeliefL, _AIDA, "004 Alg. 1", layerwise=True, scale_invariant=True
        ),
        OptimizerSpec("LAdam", LAdam, _AIDA, "004 Alg. 2", layerwise=True, scale_invariant=True),
        OptimizerSpec(
            "LAdaBelief", LAdaBelief, _AIDA, "004 Alg. 2", layerwise=True, scale_invariant=True
        ),
        OptimizerSpec("Aida", Aida, _AIDA, "004 Alg. 3", layerwise=True),
        OptimizerSpec("AidaGrad", AidaGrad, _AIDA, "004 Alg. 4", layerwise=True),
        OptimizerSpec("LAida", LAida, _AIDA, "004 Alg. 5", layerwise=True),
    )
}


def specs() -> tuple[OptimizerSpec, ...]:
    """Every optimizer in the database, in a fixed order (what the generic suites iterate)."""
    return tuple(REGISTRY.values())


def register(spec: OptimizerSpec) -> None:
    """Add ``spec`` to the database (a new optimizer; the tests add a toy one this way)."""
    if spec.name in REGISTRY:
        raise ValueError(f"{spec.name} is already registered")
    REGISTRY[spec.name] = spec
