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
from optimizers.registry import REGISTRY
from optimizers.units.context import GroupStep, Unit

IMPLEMENTATIONS = ("torch", "reference")

Step = dict[str, list[Any]]
Trace = list[Step]
GradFn = Callable[[list[np.ndarray]], list[np.ndarray]]
"""Gradients computed from the current parameters (for claims that need a loss)."""


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
        # What each unit produces is declared on the unit (``traced``, ``traced_before``,
        # ``traced_state_before``); a unit that declares nothing is not recorded.
        unit = self.unit
        for key, slot in getattr(unit, "traced_state_before", ()):
            self.sink[key] = [_numpy(s[slot]) for s in ctx.states]
        for key, attribute in getattr(unit, "traced_before", ()):
            self.sink[key] = [_numpy(v) for v in getattr(ctx, attribute)]
        unit(ctx)
        traced = getattr(unit, "traced", ())
        if not traced:
            return
        key, *attributes = traced
        # The first field the unit filled (AdaNorm's s_t feeds m, v or both).
        values = next(v for v in (getattr(ctx, a) for a in attributes) if v is not None)
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


def run_reference(
    case: Case,
    *,
    grad_fn: GradFn | None = None,
    lr_schedule: Sequence[float] | None = None,
) -> Trace:
    """Run the NumPy float64 reference of ``case`` and record a :class:`Trace`."""
    ref = REGISTRY[case.optimizer].reference([np.array(p) for p in case.params], **case.hyper)
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
    """The update per unit rate as the reference's docstring defines its ``last`` values
    (the rule is the database's: :attr:`optimizers.registry.OptimizerSpec.reference_direction`)."""
    return REGISTRY[case.optimizer].reference_direction(ref, record, i)


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
