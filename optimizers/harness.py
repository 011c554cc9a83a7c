"""One harness for running an optimizer against its independent float64 NumPy reference.

Every differential run of the suite goes through here: ``python -m
optimizers.agreement``, the invariant runners (``invariants.runners``), the
conformance checker (``invariants.conformance``) and the tests. It owns

* :class:`Scenario`: what both sides are given (initial parameters, the
  gradient sequence or a gradient function, param groups, learning-rate
  changes, epoch ticks, how the gradient reaches ``.grad``, a ``state_dict``
  round trip);
* the gradient battery (:func:`gradient_battery`, :func:`battery`);
* one step loop per side (:func:`run_torch`, :func:`run_reference`), with
  what a step records chosen by the caller: the parameters after it (a
  :data:`Trajectory`, :func:`torch_trajectory`) or every intermediate quantity
  (a :data:`Trace`, :func:`torch_trace`, read through read-only taps on the
  units, which declare what they produce in ``traced``);
* the comparison (:func:`relative_differences`, :func:`max_relative_difference`,
  :func:`first_divergence`) and the one tolerance policy (:func:`tolerance_for`).

What differs between optimizers (their class, reference and how the reference's
step direction is read) comes from the database, :mod:`optimizers.registry`.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from optimizers._hyperparameters import declarations_of
from optimizers.registry import REGISTRY
from optimizers.units.context import GroupStep, Unit

Gradients = Sequence[Sequence[np.ndarray | None]]
Trajectory = list[list[np.ndarray]]
"""The parameters after each step, per tensor, as float64 arrays."""
Step = dict[str, list[Any]]
Trace = list[Step]
"""Per step, per tensor: the parameters before and after and every traced quantity."""
GradFn = Callable[[list[np.ndarray]], list[np.ndarray]]
"""Gradients computed from the current parameters (for claims that need a loss)."""

# --------------------------------------------------------------------------
# The tolerance policy.
# --------------------------------------------------------------------------

FLOAT64_TOLERANCE = 1e-10
"""Relative to max(|θ|, 1). Independent float64 implementations of these methods agree
to ~1e-14 over hundreds of steps; one lost bias correction or ε misplaced by 1e-8 moves
a step by far more on the battery (the tiny-scale run makes ε dominate)."""

FLOAT32_TOLERANCE = 1e-4
"""A tenth of one step at lr = 1e-3, while float32 rounding of θ over 200 steps stays
below 200·2⁻²⁴ ≈ 1.2e-5 relative: a float32 run passes on rounding and fails on a step
computed wrongly by a tenth or more."""


def tolerance_for(dtype: torch.dtype = torch.float64) -> float:
    """The largest relative difference (:func:`relative_differences`) at which a run in
    ``dtype`` still agrees with the float64 reference: the one tolerance policy.

    Trajectories are compared entry by entry as ``|a-b|/max(|b|, 1)`` (relative for
    large parameters, absolute near zero), NaN equal to NaN and an infinity equal to
    the same infinity. Between two independent implementations the bound is
    :data:`FLOAT64_TOLERANCE` for a float64 run and :data:`FLOAT32_TOLERANCE` for a
    lower precision: each sits orders of magnitude above the rounding the two
    orders of operations can produce and orders below what one misread line of an
    algorithm produces. Comparisons of the same definition computed in the same
    order pass 0 (bitwise) instead; a few ulps only where the paper itself
    prescribes a rounding-sensitive operation (the conformance checks name theirs).
    """
    return FLOAT64_TOLERANCE if dtype == torch.float64 else FLOAT32_TOLERANCE


# --------------------------------------------------------------------------
# Scenarios and the gradient battery.
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class ParamGroup:
    """Tensors ``indices`` in one param group with ``options`` (torch's names)."""

    indices: tuple[int, ...]
    options: Mapping[str, Any] = field(default_factory=dict)
    added_at: int = 0
    """Added with ``add_param_group`` before this (0-based) step; 0: at construction."""


@dataclass(frozen=True)
class Scenario:
    """One run's inputs, shared by torch and the reference.

    The gradient sequence (``None`` for a tensor without gradient at that step),
    learning-rate changes between steps, and how the gradient reaches torch: a
    fresh tensor each step, or written in place into the tensor ``.grad`` already
    holds, as ``zero_grad(set_to_none=False)`` followed by ``backward()`` does in
    training. A scenario may split the tensors into param groups with their own
    hyperparameters (one added mid-run with ``add_param_group``); the reference
    then runs one instance per group, which is what torch's groups mean.
    """

    params: tuple[np.ndarray, ...]
    gradients: tuple[tuple[np.ndarray | None, ...], ...] = ()
    lr_factors: Mapping[int, float] = field(default_factory=dict)
    """Step index -> factor on the initial learning rate, applied before that step
    (through ``torch.optim.lr_scheduler.LambdaLR``, the way training code does)."""
    reuse_grad_buffers: bool = False
    roundtrip_at: int | None = None
    """Rebuild the torch optimizer from ``state_dict()`` after this many steps."""
    groups: tuple[ParamGroup, ...] | None = None
    """Param groups; ``None``: one group of every tensor with the constructor's options."""
    learning_rates: tuple[float, ...] | None = None
    """The learning rate written into every group before each step (absolute values)."""
    epoch_ticks: frozenset[int] = frozenset()
    """``tick_epoch()`` is called before these (0-based) steps."""
    gradient_fn: GradFn | None = None
    """Gradients computed from the parameters before each step, instead of ``gradients``."""
    gradient_fn_steps: int = 0
    """How many steps to take with :attr:`gradient_fn`."""

    def __post_init__(self) -> None:
        if self.lr_factors and self.roundtrip_at is not None:
            raise ValueError("a scenario changes the learning rate or restores, not both")
        if self.lr_factors and self.learning_rates is not None:
            raise ValueError("a scenario gives learning-rate factors or learning rates, not both")
        if self.lr_factors and any(g.added_at for g in self.groups or ()):
            # LambdaLR holds one factor function per group it was built with.
            raise ValueError("a scenario changes the learning rate or adds a group, not both")
        if self.learning_rates is not None and len(self.learning_rates) < self.steps:
            raise ValueError(
                f"{len(self.learning_rates)} learning rates for a scenario of {self.steps} steps"
            )

    @classmethod
    def of(cls, params: Sequence[np.ndarray], gradients: Gradients, **options: Any) -> Scenario:
        """A scenario from lists (as :func:`gradient_battery` returns them)."""
        return cls(tuple(params), tuple(tuple(step) for step in gradients), **options)

    def param_groups(self) -> tuple[ParamGroup, ...]:
        if self.groups is None:
            return (ParamGroup(tuple(range(len(self.params)))),)
        return self.groups

    def lr_factor(self, step: int) -> float:
        """The factor on the initial learning rate in force at (0-based) ``step``."""
        keys = [k for k in self.lr_factors if k <= step]
        return self.lr_factors[max(keys)] if keys else 1.0

    def gradients_at(self, step: int, before: list[np.ndarray]) -> Sequence[np.ndarray | None]:
        """The gradients of (0-based) ``step``, given the parameters before it."""
        if self.gradient_fn is not None:
            return self.gradient_fn(before)
        return self.gradients[step]

    @property
    def steps(self) -> int:
        return self.gradient_fn_steps if self.gradient_fn is not None else len(self.gradients)


DEFAULT_SHAPES: tuple[tuple[int, ...], ...] = ((), (7,), (5, 3), (4, 3, 3, 3), (1,), (1, 1))
"""A scalar, a bias, a matrix, a conv kernel and two one-element layers."""


def gradient_battery(
    shapes: Sequence[tuple[int, ...]], steps: int, seed: int
) -> list[list[np.ndarray]]:
    """A gradient sequence that exercises every branch the papers have.

    Gaussian gradients whose scale changes over time: steady, a sudden drop by
    100× (AdaNorm's correction fires), a burst, sign flips, one all-zero step,
    and one tensor that is zero for a while (a layer with no signal).
    """
    rng = np.random.default_rng(seed)
    sequence = []
    for t in range(steps):
        phase = t % 25
        scale = 1.0
        if 8 <= phase < 14:
            scale = 1e-2
        elif phase == 17:
            scale = 30.0
        grads = [scale * rng.standard_normal(shape) for shape in shapes]
        if phase == 20:
            grads = [np.zeros(shape) for shape in shapes]
        if 3 <= phase < 6:
            grads[0] = np.zeros(shapes[0])
        if phase in (15, 16):
            grads = [-g for g in grads]
        sequence.append(grads)
    return sequence


def initial_parameters(shapes: Sequence[tuple[int, ...]], seed: int) -> list[np.ndarray]:
    """Standard normal starting values (drawn apart from the battery's gradients)."""
    rng = np.random.default_rng(seed + 10_000)
    return [rng.standard_normal(shape) for shape in shapes]


def battery(
    steps: int = 60,
    seed: int = 0,
    scale: float = 1.0,
    shapes: Sequence[tuple[int, ...]] = DEFAULT_SHAPES,
    **options: Any,
) -> Scenario:
    """The gradient battery on ``shapes``, multiplied by ``scale``, as a scenario
    (``options`` go to :class:`Scenario`)."""
    params = initial_parameters(shapes, seed)
    grads = gradient_battery(shapes, steps, seed)
    return Scenario(
        params=tuple(params),
        gradients=tuple(tuple(scale * g for g in step) for step in grads),
        **options,
    )


# --------------------------------------------------------------------------
# The torch side.
# --------------------------------------------------------------------------

Build = Callable[[Any], torch.optim.Optimizer]
"""Builds the optimizer under test from a list of tensors or of param-group dicts."""
TorchRecorder = Callable[[torch.optim.Optimizer, list[torch.Tensor], list[np.ndarray], Any], Any]
"""``(optimizer, tensors, before, grads) -> record``, called after each step."""


def _numpy(x: torch.Tensor) -> np.ndarray:
    return x.detach().to(torch.float64).cpu().numpy().copy()


def _parameters_after(
    optimizer: torch.optim.Optimizer, tensors: list[torch.Tensor], before: Any, grads: Any
) -> list[np.ndarray]:
    return [_numpy(t) for t in tensors]


def _group_dict(group: ParamGroup, tensors: list[torch.Tensor]) -> dict[str, Any]:
    return {"params": [tensors[i] for i in group.indices], **group.options}


def run_torch(
    build: Build,
    scenario: Scenario,
    dtype: torch.dtype = torch.float64,
    record: TorchRecorder = _parameters_after,
) -> list[Any]:
    """Run the torch optimizer ``build`` makes through ``scenario``: ``record``'s value
    after each step (default: the parameters, a :data:`Trajectory`).

    Groups added mid-run go through ``add_param_group``, learning-rate factors
    through ``LambdaLR``, a round trip through a deep copy of ``state_dict()``
    loaded into a fresh optimizer on copies of the parameters.
    """
    tensors = [torch.tensor(p, dtype=dtype) for p in scenario.params]
    groups = scenario.param_groups()
    if scenario.groups is None:
        optimizer = build(tensors)
    else:
        optimizer = build([_group_dict(g, tensors) for g in groups if g.added_at == 0])
    scheduler = None
    if scenario.lr_factors:
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, scenario.lr_factor)
    records: list[Any] = []
    for step in range(scenario.steps):
        for group in groups:
            if group.added_at and group.added_at == step:
                optimizer.add_param_group(_group_dict(group, tensors))
        if step in scenario.epoch_ticks:
            optimizer.tick_epoch()
        if scenario.learning_rates is not None:
            for param_group in optimizer.param_groups:
                param_group["lr"] = float(scenario.learning_rates[step])
        before = [_numpy(t) for t in tensors]
        grads = scenario.gradients_at(step, before)
        for tensor, grad in zip(tensors, grads, strict=True):
            _deliver(tensor, grad, dtype, scenario.reuse_grad_buffers)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        records.append(record(optimizer, tensors, before, grads))
        if scenario.roundtrip_at is not None and step + 1 == scenario.roundtrip_at:
            optimizer, tensors = _rebuilt(build, optimizer, tensors)
    return records


def _deliver(
    tensor: torch.Tensor, grad: np.ndarray | None, dtype: torch.dtype, reuse: bool
) -> None:
    if grad is None:
        tensor.grad = None
    elif reuse and tensor.grad is not None:
        tensor.grad.copy_(torch.as_tensor(grad, dtype=dtype))
    else:
        tensor.grad = torch.tensor(grad, dtype=dtype)


def _rebuilt(
    build: Build, optimizer: torch.optim.Optimizer, tensors: list[torch.Tensor]
) -> tuple[torch.optim.Optimizer, list[torch.Tensor]]:
    """A new optimizer on copies of the parameters, loaded from a deep copy of the
    old one's ``state_dict`` (what a checkpoint restore does)."""
    saved = copy.deepcopy(optimizer.state_dict())
    fresh = [t.detach().clone() for t in tensors]
    rebuilt = build(fresh)
    rebuilt.load_state_dict(saved)
    for group, old in zip(rebuilt.param_groups, optimizer.param_groups, strict=True):
        group["lr"] = old["lr"]
    return rebuilt, fresh


def torch_trajectory(
    name: str, scenario: Scenario, dtype: torch.dtype = torch.float64, **hyperparameters: Any
) -> Trajectory:
    """The parameters after each step of the database's torch optimizer ``name``."""
    cls = REGISTRY[name].torch_class
    return run_torch(lambda params: cls(params, **hyperparameters), scenario, dtype)


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


def _positions(count: int, active: Sequence[int], values: list[Any]) -> list[Any]:
    """Spread a list over the active tensors back to one entry per tensor."""
    out: list[Any] = [None] * count
    for i, v in zip(active, values, strict=True):
        out[i] = v
    return out


def _raw(grads: Sequence[np.ndarray | None]) -> list[np.ndarray | None]:
    return [None if g is None else np.asarray(g, dtype=np.float64) for g in grads]


TRACE_STATE_KEYS = ("m", "v", "e", "t")
"""Keys every trace has, ``None`` where the optimizer keeps no such state (the claims
read them on any optimizer)."""


def _declared(recipe: Sequence[Unit], attribute: str) -> list[tuple[str, str]]:
    """The (trace key, state slot) pairs the recipe's units declare in ``attribute``."""
    return [pair for unit in recipe for pair in getattr(unit, attribute, ())]


def torch_trace(
    name: str,
    scenario: Scenario,
    hyperparameters: Mapping[str, Any],
    dtype: torch.dtype = torch.float64,
) -> Trace:
    """Run the database's torch optimizer ``name`` with every unit of its recipe wrapped
    in a read-only tap, and record a :data:`Trace`: ``before``, ``after``, ``raw`` (the
    gradients given), what each unit declares in ``traced`` (``g``, ``s``, ``q``,
    ``direction`` …) and ``traced_state`` (``m``, ``v``, ``e`` from the state after
    the step), and the step count.

    The recipe is the algorithm, so this observes the real code path, not a
    re-implementation.
    """
    if scenario.groups is not None:
        raise ValueError("a trace is of one param group; the scenario has several")
    sink: dict[str, list] = {}
    plain = REGISTRY[name].torch_class
    cls = _tapped_class(plain, sink)
    fields = _declared(plain.recipe, "traced_state")
    group_fields = _declared(plain.recipe, "traced_group_state")

    def record(
        optimizer: torch.optim.Optimizer,
        tensors: list[torch.Tensor],
        before: list[np.ndarray],
        grads: Sequence[np.ndarray | None],
    ) -> Step:
        active = [i for i, g in enumerate(grads) if g is not None]
        step: Step = {"before": before, "after": [_numpy(p) for p in tensors], "raw": _raw(grads)}
        for key, values in sink.items():
            step[key] = _positions(len(tensors), active, values)
        sink.clear()
        _torch_state(optimizer, tensors, step, fields, group_fields)
        return step

    return run_torch(lambda params: cls(params, **hyperparameters), scenario, dtype, record)


def _torch_state(
    optimizer: torch.optim.Optimizer,
    tensors: list[torch.Tensor],
    record: Step,
    fields: Sequence[tuple[str, str]],
    group_fields: Sequence[tuple[str, str]],
) -> None:
    """Add the state the units declare (``traced_state``, ``traced_group_state``) and
    the step count to ``record``."""
    for key in TRACE_STATE_KEYS:
        record.setdefault(key, [None] * len(tensors))
    group_values: dict[str, np.ndarray] = {}
    for i, p in enumerate(tensors):
        state = optimizer.state.get(p, {})
        for key, slot in fields:
            if slot in state:
                record[key][i] = _numpy(state[slot])
        if "step" in state:
            record["t"][i] = int(state["step"])
        for key, slot in group_fields:
            if slot in state:
                group_values[key] = _numpy(state[slot])
    for key, value in group_values.items():
        record[key] = [value if g is not None else None for g in record["raw"]]


# --------------------------------------------------------------------------
# The reference side.
# --------------------------------------------------------------------------

ReferenceRecorder = Callable[[list[Any], list[np.ndarray], Any, list[np.ndarray]], Any]
"""``(instances, before, grads, current) -> record``, called after each step."""


def _current_parameters(
    instances: list[Any], before: Any, grads: Any, current: list[np.ndarray]
) -> list[np.ndarray]:
    return [p.copy() for p in current]


def run_reference(
    reference_class: type,
    scenario: Scenario,
    arguments: Mapping[str, Any],
    *,
    group_options_ignored: Sequence[str] = (),
    schedule_ignored: bool = False,
    record: ReferenceRecorder = _current_parameters,
) -> list[Any]:
    """Run the float64 reference ``reference_class(params, **arguments)`` through
    ``scenario``: ``record``'s value after each step (default: the parameters, a
    :data:`Trajectory`). One instance per param group, built when the group joins,
    with the group's options (those its constructor accepts).

    ``group_options_ignored`` and ``schedule_ignored`` are readings of mistakes (a
    group's option read from the constructor's defaults instead; a learning rate
    fixed at construction), used by the conformance checker's catalogue of mutations.
    """
    accepted = inspect.signature(reference_class.__init__).parameters
    current = [np.array(p, dtype=np.float64) for p in scenario.params]
    instances: dict[int, Any] = {}
    base_lrs: dict[int, tuple[float, float | None]] = {}
    groups = scenario.param_groups()
    records: list[Any] = []
    for step in range(scenario.steps):
        for number, group in enumerate(groups):
            if number not in instances and group.added_at <= step:
                options = {
                    k: v
                    for k, v in group.options.items()
                    if k in accepted and k not in group_options_ignored
                }
                instance = reference_class(
                    [current[i] for i in group.indices], **{**arguments, **options}
                )
                instances[number] = instance
                base_lrs[number] = (instance.lr, getattr(instance, "scalar_lr", None))
                _take_parameters(current, group.indices, instance)  # as construction left them
        before = [p.copy() for p in current]
        grads = scenario.gradients_at(step, before)
        for number, instance in instances.items():
            if step in scenario.epoch_ticks:
                instance.tick_epoch()
            if scenario.learning_rates is not None:
                instance.lr = float(scenario.learning_rates[step])
            elif scenario.lr_factors and not schedule_ignored:
                factor = scenario.lr_factor(step)
                lr, scalar_lr = base_lrs[number]
                instance.lr = lr * factor
                if scalar_lr is not None:
                    instance.scalar_lr = scalar_lr * factor
            indices = groups[number].indices
            instance.step([None if grads[i] is None else np.array(grads[i]) for i in indices])
            _take_parameters(current, indices, instance)
        records.append(record(list(instances.values()), before, grads, current))
    return records


def _take_parameters(current: list[np.ndarray], indices: Sequence[int], instance: Any) -> None:
    for position, i in enumerate(indices):
        current[i] = instance.params[position]


def reference_trajectory(name: str, scenario: Scenario, **hyperparameters: Any) -> Trajectory:
    """The parameters after each step of the database's reference for ``name``."""
    return run_reference(REGISTRY[name].reference, scenario, hyperparameters)


def reference_trace(name: str, scenario: Scenario, hyperparameters: Mapping[str, Any]) -> Trace:
    """Run the database's reference for ``name`` and record a :data:`Trace` with the same
    keys as :func:`torch_trace`: the reference records its intermediates in ``last``; the
    update direction is rebuilt from them as the database says
    (:attr:`optimizers.registry.OptimizerSpec.reference_direction`; θ moves by
    ``-lr · direction``)."""
    if scenario.groups is not None:
        raise ValueError("a trace is of one param group; the scenario has several")
    spec = REGISTRY[name]

    def record(
        instances: list[Any],
        before: list[np.ndarray],
        grads: Sequence[np.ndarray | None],
        current: list[np.ndarray],
    ) -> Step:
        (ref,) = instances
        step: Step = {"before": before, "after": [p.copy() for p in current], "raw": _raw(grads)}
        for key, values in ref.last.items():
            step[key] = [None if v is None else np.asarray(v, dtype=np.float64) for v in values]
        step["t"] = [
            st["step"] if g is not None else None for st, g in zip(ref.state, grads, strict=True)
        ]
        step["direction"] = [
            None if g is None else spec.reference_direction(ref, step, i)
            for i, g in enumerate(grads)
        ]
        return step

    return run_reference(spec.reference, scenario, hyperparameters, record=record)


# --------------------------------------------------------------------------
# Comparison.
# --------------------------------------------------------------------------


def relative_differences(left: Trajectory, right: Trajectory) -> list[list[np.ndarray]]:
    """``|a-b| / max(|b|, 1)`` per step, tensor and entry: 0 where both are NaN or the
    same infinity, inf where only one is finite or NaN."""
    out = []
    for step_a, step_b in zip(left, right, strict=True):
        row = []
        for a, b in zip(step_a, step_b, strict=True):
            with np.errstate(invalid="ignore", over="ignore"):
                diff = np.abs(a - b) / np.maximum(np.abs(b), 1.0)
            diff = np.where(np.isfinite(a) & np.isfinite(b), diff, np.inf)
            both_same_nonfinite = (~np.isfinite(a) & (a == b)) | (np.isnan(a) & np.isnan(b))
            row.append(np.where(both_same_nonfinite, 0.0, diff))
        out.append(row)
    return out


def _worst(differences: list[list[np.ndarray]]) -> float:
    return max((float(d.max()) for row in differences for d in row if d.size), default=0.0)


def max_relative_difference(left: Trajectory, right: Trajectory) -> float:
    """The largest of :func:`relative_differences` over every step, tensor and entry."""
    return _worst(relative_differences(left, right))


@dataclass(frozen=True)
class Divergence:
    """Where two trajectories first part by more than the tolerance."""

    step: int
    """1-based step after which the parameters differ."""
    tensor: int
    index: tuple[int, ...]
    target_value: float
    reference_value: float
    relative_difference: float
    worst_relative_difference: float

    def as_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "tensor": self.tensor,
            "index": list(self.index),
            "target": self.target_value,
            "reference": self.reference_value,
            "relative_difference": self.relative_difference,
            "worst_relative_difference": self.worst_relative_difference,
        }


def first_divergence(left: Trajectory, right: Trajectory, tolerance: float) -> Divergence | None:
    """The first step (and its largest entry) where ``left`` leaves ``right`` by more
    than ``tolerance`` (see :func:`tolerance_for` for the policy)."""
    differences = relative_differences(left, right)
    worst = _worst(differences)
    for step, row in enumerate(differences):
        candidates = [(float(d.max()), i) for i, d in enumerate(row) if d.size]
        if not candidates:
            continue
        largest, tensor = max(candidates)
        if largest > tolerance:
            index = np.unravel_index(int(np.argmax(row[tensor])), row[tensor].shape)
            flat = tuple(int(i) for i in index)
            return Divergence(
                step=step + 1,
                tensor=tensor,
                index=flat,
                target_value=float(left[step][tensor][flat]),
                reference_value=float(right[step][tensor][flat]),
                relative_difference=largest,
                worst_relative_difference=worst,
            )
    return None
