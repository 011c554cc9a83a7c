"""Running a target and the reference on the same gradients, and where they part.

A *scenario* is what the harness does to both sides: the gradient sequence
(``None`` for a tensor without gradient at that step), learning-rate changes
between steps, and how the gradient reaches the target: a fresh tensor each
step, or written in place into the tensor ``.grad`` already holds, as
``zero_grad(set_to_none=False)`` followed by ``backward()`` does in training.
A scenario may split the tensors into param groups with their own
hyperparameters (one added mid-run with ``add_param_group``); the reference
then runs one instance per group, which is what torch's groups mean.

Tolerance policy (one for every comparison): trajectories are compared entry by
entry as ``|a-b|/max(|b|, 1)``, NaN equal to NaN and an infinity equal to the
same infinity; the checks pass a tolerance of 0 (bitwise) where the two sides
compute the same definition in the same order, a few ulps where the paper itself
prescribes a rounding-sensitive operation (renormalising a weight vector), and
the float64/float32 tolerances of ``checks`` between independent implementations.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from invariants.conformance.target import Target
from optimizers.registry import REGISTRY

Gradients = Sequence[Sequence[np.ndarray | None]]
Trajectory = list[list[np.ndarray]]


@dataclass(frozen=True)
class ParamGroup:
    """Tensors ``indices`` in one param group with ``options`` (torch's names)."""

    indices: tuple[int, ...]
    options: Mapping[str, Any] = field(default_factory=dict)
    added_at: int = 0
    """Added with ``add_param_group`` before this (0-based) step; 0: at construction."""


@dataclass(frozen=True)
class Scenario:
    """One run's inputs, shared by the target and the reference."""

    params: tuple[np.ndarray, ...]
    gradients: tuple[tuple[np.ndarray | None, ...], ...]
    lr_factors: Mapping[int, float] = field(default_factory=dict)
    """Step index -> factor on the initial learning rate, applied before that step."""
    reuse_grad_buffers: bool = False
    roundtrip_at: int | None = None
    """Rebuild the target from ``state_dict()`` after this many steps."""
    groups: tuple[ParamGroup, ...] | None = None
    """Param groups; ``None``: one group of every tensor with the constructor's options."""

    def param_groups(self) -> tuple[ParamGroup, ...]:
        if self.groups is None:
            return (ParamGroup(tuple(range(len(self.params)))),)
        return self.groups

    def lr_factor(self, step: int) -> float:
        """The factor on the initial learning rate in force at (0-based) ``step``."""
        keys = [k for k in self.lr_factors if k <= step]
        return self.lr_factors[max(keys)] if keys else 1.0

    @property
    def steps(self) -> int:
        return len(self.gradients)


def run_target(
    target: Target,
    scenario: Scenario,
    dtype: torch.dtype = torch.float64,
    **overrides: Any,
) -> Trajectory:
    """The target's parameters after each step, as float64 arrays.

    Learning-rate changes go through ``torch.optim.lr_scheduler.LambdaLR``, the
    way training code changes them; groups added mid-run through
    ``add_param_group``.
    """
    return _run_target(target, scenario, dtype, overrides)[0]


def _group_dict(group: ParamGroup, tensors: list[torch.Tensor]) -> dict[str, Any]:
    return {"params": [tensors[i] for i in group.indices], **group.options}


def _run_target(
    target: Target, scenario: Scenario, dtype: torch.dtype, overrides: Mapping[str, Any]
) -> tuple[Trajectory, torch.optim.Optimizer]:
    if scenario.lr_factors and scenario.roundtrip_at is not None:
        raise ValueError("a scenario changes the learning rate or restores, not both")
    tensors = [torch.tensor(p, dtype=dtype) for p in scenario.params]
    groups = scenario.param_groups()
    if scenario.groups is None:
        optimizer = target.build(tensors, **overrides)
    else:
        initial = [_group_dict(g, tensors) for g in groups if g.added_at == 0]
        optimizer = target.build(initial, **overrides)
    scheduler = None
    if scenario.lr_factors:
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, scenario.lr_factor)
    trajectory: Trajectory = []
    for step, grads in enumerate(scenario.gradients):
        for group in groups:
            if group.added_at and group.added_at == step:
                optimizer.add_param_group(_group_dict(group, tensors))
        for tensor, grad in zip(tensors, grads, strict=True):
            _deliver(tensor, grad, dtype, scenario.reuse_grad_buffers)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        trajectory.append([t.detach().to(torch.float64).numpy().copy() for t in tensors])
        if scenario.roundtrip_at is not None and step + 1 == scenario.roundtrip_at:
            optimizer, tensors = _rebuilt(target, optimizer, tensors, overrides)
    return trajectory, optimizer


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
    target: Target,
    optimizer: torch.optim.Optimizer,
    tensors: list[torch.Tensor],
    overrides: Mapping[str, Any],
) -> tuple[torch.optim.Optimizer, list[torch.Tensor]]:
    """A new optimizer on copies of the parameters, loaded from a deep copy of the
    old one's ``state_dict`` (what a checkpoint restore does)."""
    saved = copy.deepcopy(optimizer.state_dict())
    fresh = [t.detach().clone() for t in tensors]
    rebuilt = target.build(fresh, **overrides)
    rebuilt.load_state_dict(saved)
    for group, old in zip(rebuilt.param_groups, optimizer.param_groups, strict=True):
        group["lr"] = old["lr"]
    return rebuilt, fresh


def run_reference(
    method: str,
    scenario: Scenario,
    arguments: Mapping[str, Any],
    reference_class: type | None = None,
    group_options_ignored: Sequence[str] = (),
    schedule_ignored: bool = False,
) -> Trajectory:
    """The float64 reference's parameters after each step: one reference instance per
    param group, built when the group joins, with the group's options.

    ``group_options_ignored`` and ``schedule_ignored`` are readings of mistakes
    (a group's option read from the constructor's defaults instead; a learning
    rate fixed at construction), used by the catalogue of mutations.
    """
    cls = reference_class or REGISTRY[method].reference
    accepted = inspect.signature(cls.__init__).parameters
    params = [np.array(p, dtype=np.float64) for p in scenario.params]
    current = [p.copy() for p in params]
    instances: dict[int, Any] = {}
    base_lrs: dict[int, tuple[float, float | None]] = {}
    trajectory: Trajectory = []
    groups = scenario.param_groups()
    for step, grads in enumerate(scenario.gradients):
        for number, group in enumerate(groups):
            if number not in instances and group.added_at <= step:
                options = {
                    k: v
                    for k, v in group.options.items()
                    if k in accepted and k not in group_options_ignored
                }
                instance = cls([current[i] for i in group.indices], **{**arguments, **options})
                instances[number] = instance
                base_lrs[number] = (instance.lr, getattr(instance, "scalar_lr", None))
        for number, instance in instances.items():
            factor = 1.0 if schedule_ignored else scenario.lr_factor(step)
            lr, scalar_lr = base_lrs[number]
            instance.lr = lr * factor
            if scalar_lr is not None:
                instance.scalar_lr = scalar_lr * factor
            instance.step([grads[i] for i in groups[number].indices])
            for position, i in enumerate(groups[number].indices):
                current[i] = instance.params[position]
        trajectory.append([p.copy() for p in current])
    return trajectory


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


def first_divergence(left: Trajectory, right: Trajectory, tolerance: float) -> Divergence | None:
    """The first step (and its largest entry) where ``left`` leaves ``right``."""
    differences = relative_differences(left, right)
    worst = max((float(d.max()) for row in differences for d in row if d.size), default=0.0)
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
