"""Running a target and the reference on the same gradients, and where they part.

A *scenario* is what the harness does to both sides: the gradient sequence
(``None`` for a tensor without gradient at that step), learning-rate changes
between steps, and how the gradient reaches the target: a fresh tensor each
step, or written in place into the tensor ``.grad`` already holds, as
``zero_grad(set_to_none=False)`` followed by ``backward()`` does in training.
"""

from __future__ import annotations

import copy
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
class Scenario:
    """One run's inputs, shared by the target and the reference."""

    params: tuple[np.ndarray, ...]
    gradients: tuple[tuple[np.ndarray | None, ...], ...]
    lr_factors: Mapping[int, float] = field(default_factory=dict)
    """Step index -> factor on the initial learning rate, applied before that step."""
    reuse_grad_buffers: bool = False
    roundtrip_at: int | None = None
    """Rebuild the target from ``state_dict()`` after this many steps."""

    @property
    def steps(self) -> int:
        return len(self.gradients)


def run_target(
    target: Target,
    scenario: Scenario,
    dtype: torch.dtype = torch.float64,
    **overrides: Any,
) -> Trajectory:
    """The target's parameters after each step, as float64 arrays."""
    tensors = [torch.tensor(p, dtype=dtype) for p in scenario.params]
    optimizer = target.build(tensors, **overrides)
    base_lrs = [group["lr"] for group in optimizer.param_groups]
    trajectory: Trajectory = []
    for step, grads in enumerate(scenario.gradients):
        if step in scenario.lr_factors:
            for group, base in zip(optimizer.param_groups, base_lrs, strict=True):
                group["lr"] = base * scenario.lr_factors[step]
        for tensor, grad in zip(tensors, grads, strict=True):
            _deliver(tensor, grad, dtype, scenario.reuse_grad_buffers)
        optimizer.step()
        trajectory.append([t.detach().to(torch.float64).numpy().copy() for t in tensors])
        if scenario.roundtrip_at is not None and step + 1 == scenario.roundtrip_at:
            optimizer, tensors = _rebuilt(target, optimizer, tensors, overrides)
    return trajectory


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
) -> Trajectory:
    """The float64 reference's parameters after each step."""
    cls = reference_class or REGISTRY[method].reference
    optimizer = cls([np.array(p, dtype=np.float64) for p in scenario.params], **arguments)
    base_lr = optimizer.lr
    base_scalar_lr = getattr(optimizer, "scalar_lr", None)
    trajectory: Trajectory = []
    for step, grads in enumerate(scenario.gradients):
        if step in scenario.lr_factors:
            optimizer.lr = base_lr * scenario.lr_factors[step]
            if base_scalar_lr is not None:
                optimizer.scalar_lr = base_scalar_lr * scenario.lr_factors[step]
        optimizer.step(list(grads))
        trajectory.append([p.copy() for p in optimizer.params])
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
    """``|a-b| / max(|b|, 1)`` per step, tensor and entry (inf where either is not finite)."""
    out = []
    for step_a, step_b in zip(left, right, strict=True):
        row = []
        for a, b in zip(step_a, step_b, strict=True):
            with np.errstate(invalid="ignore", over="ignore"):
                diff = np.abs(a - b) / np.maximum(np.abs(b), 1.0)
            diff = np.where(np.isfinite(a) & np.isfinite(b), diff, np.inf)
            both_same_nonfinite = ~np.isfinite(a) & (a == b)
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
