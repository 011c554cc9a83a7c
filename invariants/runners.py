"""Run one case on either implementation and record every intermediate quantity.

Both sides return the same :class:`Trace`: per step, per tensor, the parameter
before and after the step and whatever the algorithm computes on the way
(``g`` the gradient actually used, ``s``/``e`` AdaNorm's corrected gradient and
norm EMA, ``m``/``v`` the moments after the step, ``q`` the second-moment
statistic, ``direction`` the update per unit rate, ``m_prev`` AdaRem's
momentum before the step, ``a``/``b`` AdaRem's modulation, ``xi``, ``rho``,
``r``).

* torch: the optimizer's own recipe runs unchanged; every unit is wrapped in a
  read-only tap that copies what the unit just produced (the recipe is the
  algorithm, so this observes the real code path, not a re-implementation).
* reference: ``optimizers.reference`` records its intermediates in ``last``;
  the update direction is rebuilt from them as each reference's docstring
  defines it (θ moves by ``-lr · direction``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from invariants.cases import Case
from optimizers._hyperparameters import declarations_of
from optimizers.reference import REFERENCES
from optimizers.registry import REGISTRY
from optimizers.units.context import GroupStep, Unit

IMPLEMENTATIONS = ("torch", "reference")

Step = dict[str, list[Any]]
Trace = list[Step]
GradFn = Callable[[list[np.ndarray]], list[np.ndarray]]
"""Gradients computed from the current parameters (for claims that need a loss)."""

# Which field of the working context each unit produces, and under which key
# the trace stores it. Units not listed are not recorded.
_TAPPED_FIELDS: dict[str, tuple[str, str]] = {
    "WeightDecay": ("g", "grads"),
    "TangentProjection": ("g", "grads"),
    "GradientNormCorrection": ("s", "first_inputs"),
    "GradientSquare": ("q", "statistics"),
    "BeliefResidualSquare": ("q", "statistics"),
    "MutualProjectionResidual": ("q", "statistics"),
    "ProjectedGradientSquare": ("q", "statistics"),
    "AdaptiveStep": ("direction", "directions"),
    "RectifiedStep": ("direction", "directions"),
    "LayerMeanStepSize": ("direction", "directions"),
    "AdaRemModulation": ("direction", "directions"),
    "HeavyBallMomentum": ("direction", "directions"),
    "DiffGradFriction": ("direction", "directions"),
}


def _numpy(x: torch.Tensor) -> np.ndarray:
    return x.detach().to(torch.float64).cpu().numpy().copy()


class _Tap(Unit):
    """Runs ``unit`` and copies what it produced into ``sink`` (never writes to ``ctx``)."""

    def __init__(self, unit: Unit, sink: dict[str, list]) -> None:
        self.unit = unit
        self.sink = sink
        self.hyperparameters = declarations_of(unit)  # the wrapped unit reads these options
        self.constraints = unit.constraints

    def init_state(self, param: torch.Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return self.unit.init_state(param, group)

    def __call__(self, ctx: GroupStep) -> None:
        name = type(self.unit).__name__
        if name == "AdaRemModulation":
            # The momentum the modulation reads (the paper's m_t) before it is updated.
            self.sink["m_prev"] = [_numpy(s["momentum"]) for s in ctx.states]
        if name == "DiffGradFriction":
            # g_{t-1} as the friction reads it, and the step before the friction.
            self.sink["g_prev"] = [_numpy(s["previous_grad"]) for s in ctx.states]
            self.sink["adaptive_direction"] = [_numpy(d) for d in ctx.directions]
        self.unit(ctx)
        if name not in _TAPPED_FIELDS:
            return
        key, attribute = _TAPPED_FIELDS[name]
        values = getattr(ctx, attribute)
        if values is None and name == "GradientNormCorrection":
            values = ctx.square_inputs  # corrected_moments="second"
        self.sink[key] = [_numpy(v) for v in values]


def _tapped_class(cls: type, sink: dict[str, list]) -> type:
    recipe = tuple(_Tap(unit, sink) for unit in cls.recipe)
    return type(f"Tapped{cls.__name__}", (cls,), {"recipe": recipe})


def _positions(params: Sequence[Any], active: Sequence[int], values: list[Any]) -> list[Any]:
    """Spread a list over the active tensors back to one entry per tensor."""
    out: list[Any] = [None] * len(params)
    for i, v in zip(active, values, strict=True):
        out[i] = v
    return out


def run_torch(
    case: Case,
    *,
    grad_fn: GradFn | None = None,
    lr_schedule: Sequence[float] | None = None,
    dtype: torch.dtype = torch.float64,
) -> Trace:
    """Run the torch optimizer of ``case`` and record a :class:`Trace`."""
    sink: dict[str, list] = {}
    cls = _tapped_class(REGISTRY[case.optimizer].torch_class, sink)
    tensors = [torch.tensor(p, dtype=dtype) for p in case.params]
    optimizer = cls(tensors, **case.hyper)
    ticks = set(case.extra.get("ticks", ()))
    steps = len(case.grads) if grad_fn is None else int(case.extra["steps"])
    trace: Trace = []
    for t in range(steps):
        if t in ticks:
            optimizer.tick_epoch()
        if lr_schedule is not None:
            for group in optimizer.param_groups:
                group["lr"] = float(lr_schedule[t])
        before = [_numpy(p) for p in tensors]
        grads = case.grads[t] if grad_fn is None else grad_fn(before)
        for p, g in zip(tensors, grads, strict=True):
            p.grad = None if g is None else torch.tensor(g, dtype=dtype)
        sink.clear()
        optimizer.step()
        active = [i for i, g in enumerate(grads) if g is not None]
        record: Step = {
            "before": before,
            "after": [_numpy(p) for p in tensors],
            "raw": [None if g is None else np.asarray(g, dtype=np.float64) for g in grads],
        }
        for key, values in sink.items():
            record[key] = _positions(tensors, active, values)
        _torch_state(optimizer, tensors, record)
        trace.append(record)
    return trace


def _torch_state(
    optimizer: torch.optim.Optimizer, tensors: list[torch.Tensor], record: Step
) -> None:
    names = {"exp_avg": "m", "exp_avg_sq": "v", "norm_ema": "e", "momentum": "m"}
    for key in ("m", "v", "e", "t"):
        record.setdefault(key, [None] * len(tensors))
    global_ema = None
    for i, p in enumerate(tensors):
        state = optimizer.state.get(p, {})
        for source, key in names.items():
            if source in state:
                record[key][i] = _numpy(state[source])
        if "step" in state:
            record["t"][i] = int(state["step"])
        if "global_norm_ema" in state:
            global_ema = _numpy(state["global_norm_ema"])
    if global_ema is not None:
        record["e"] = [global_ema if g is not None else None for g in record["raw"]]


# --------------------------------------------------------------------------
# The reference side.
# --------------------------------------------------------------------------

_ADAPTIVE = {
    "Adam",
    "AdamW",
    "AdamNorm",
    "DiffGrad",
    "DiffGradNorm",
    "RAdam",
    "RAdamNorm",
    "AdaBelief",
    "AdaBeliefNorm",
    "AdamL",
    "AdaBeliefL",
    "LAdam",
    "LAdaBelief",
    "Aida",
    "AidaGrad",
    "LAida",
}


def run_reference(
    case: Case,
    *,
    grad_fn: GradFn | None = None,
    lr_schedule: Sequence[float] | None = None,
) -> Trace:
    """Run the NumPy float64 reference of ``case`` and record a :class:`Trace`."""
    ref = REFERENCES[case.optimizer]([np.array(p) for p in case.params], **case.hyper)
    ticks = set(case.extra.get("ticks", ()))
    steps = len(case.grads) if grad_fn is None else int(case.extra["steps"])
    trace: Trace = []
    for t in range(steps):
        if t in ticks:
            ref.tick_epoch()
        if lr_schedule is not None:
            ref.lr = float(lr_schedule[t])
        before = [p.copy() for p in ref.params]
        grads = case.grads[t] if grad_fn is None else grad_fn(before)
        ref.step([None if g is None else np.array(g) for g in grads])
        record: Step = {
            "before": before,
            "after": [p.copy() for p in ref.params],
            "raw": [None if g is None else np.asarray(g, dtype=np.float64) for g in grads],
        }
        for key, values in ref.last.items():
            record[key] = [None if v is None else np.asarray(v, dtype=np.float64) for v in values]
        record["t"] = [
            st["step"] if g is not None else None for st, g in zip(ref.state, grads, strict=True)
        ]
        if "e" in record and hasattr(ref, "norm_scope"):
            record["e"] = [None if e is None else np.asarray(e) for e in record["e"]]
        record["direction"] = [
            None if g is None else _reference_direction(case, ref, record, i)
            for i, g in enumerate(grads)
        ]
        trace.append(record)
    return trace


def _reference_direction(case: Case, ref: Any, record: Step, i: int) -> np.ndarray:
    """The update per unit rate as each reference's docstring defines its ``last`` values."""
    name = case.optimizer
    t = ref.state[i]["step"]
    if name in ("AdaRem", "AdaRemS"):
        return record["a"][i] * record["g"][i]
    if name == "SGDM":
        buf = record["m"][i]
        if buf is None:
            return record["g"][i]
        return record["g"][i] + ref.momentum * buf if ref.nesterov else buf
    m = record["m"][i]
    size = record["step_size"][i]
    bc1 = 1.0 - ref.beta1**t
    if name == "NDAdam" and ref.state[i]["vectorwise"]:
        rows = m.reshape(m.shape[0], -1) if m.ndim else m.reshape(1, 1)
        return (rows / bc1 * size[:, None]).reshape(m.shape)
    if name in _ADAPTIVE or name == "NDAdam":
        return size * (m / bc1)
    raise KeyError(f"no direction rule for {name}")


def run(
    implementation: str,
    case: Case,
    *,
    grad_fn: GradFn | None = None,
    lr_schedule: Sequence[float] | None = None,
) -> Trace:
    """Dispatch to :func:`run_torch` (float64) or :func:`run_reference`."""
    if implementation == "torch":
        return run_torch(case, grad_fn=grad_fn, lr_schedule=lr_schedule)
    if implementation == "reference":
        return run_reference(case, grad_fn=grad_fn, lr_schedule=lr_schedule)
    raise ValueError(f"implementation must be one of {IMPLEMENTATIONS}, got {implementation!r}")
