"""The inputs a claim check searches over, and their exact JSON form.

A :class:`Case` is everything one example needs: the parameter set (initial
values, so also the layer shapes), the gradient sequence, the optimizer's
hyperparameters and claim-specific extras (a rescaling factor, the steps at
which AdaRem's λ ticks per epoch, ...). It converts to and from plain JSON
without loss (Python writes floats with ``repr``, which round-trips every
float64 exactly), so a counterexample stored in the results file replays
bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


def array_to_json(x: np.ndarray) -> dict[str, Any]:
    """An array as ``{"shape": [...], "values": [...]}`` (flat, row-major)."""
    x = np.asarray(x, dtype=np.float64)
    return {"shape": list(x.shape), "values": [float(v) for v in x.ravel()]}


def array_from_json(data: dict[str, Any]) -> np.ndarray:
    """Inverse of :func:`array_to_json`."""
    return np.asarray(data["values"], dtype=np.float64).reshape(tuple(data["shape"]))


@dataclass(frozen=True)
class Case:
    """One example: parameters, gradients per step, hyperparameters, extras.

    ``grads[t][i]`` is the gradient of tensor ``i`` at step ``t + 1`` (``None``
    means the tensor has no gradient that step). ``optimizer`` names the
    registry entry the case is for (some claims cover several optimizers).
    """

    optimizer: str
    params: tuple[np.ndarray, ...]
    grads: tuple[tuple[np.ndarray | None, ...], ...]
    hyper: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def shapes(self) -> tuple[tuple[int, ...], ...]:
        return tuple(p.shape for p in self.params)

    @property
    def steps(self) -> int:
        return len(self.grads)

    def with_hyper(self, **changes: Any) -> Case:
        """The same case with some hyperparameters replaced."""
        return Case(self.optimizer, self.params, self.grads, {**self.hyper, **changes}, self.extra)

    def with_optimizer(self, name: str, **hyper: Any) -> Case:
        """The same inputs for another optimizer (hyperparameters replaced)."""
        return Case(name, self.params, self.grads, dict(hyper), self.extra)

    def to_json(self) -> dict[str, Any]:
        return {
            "optimizer": self.optimizer,
            "shapes": [list(s) for s in self.shapes],
            "params": [array_to_json(p) for p in self.params],
            "grads": [
                [None if g is None else array_to_json(g) for g in step] for step in self.grads
            ],
            "hyper": _plain(self.hyper),
            "extra": _plain(self.extra),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Case:
        hyper = dict(data["hyper"])
        if "betas" in hyper:
            hyper["betas"] = tuple(hyper["betas"])
        return cls(
            optimizer=data["optimizer"],
            params=tuple(array_from_json(p) for p in data["params"]),
            grads=tuple(
                tuple(None if g is None else array_from_json(g) for g in step)
                for step in data["grads"]
            ),
            hyper=hyper,
            extra=dict(data["extra"]),
        )

    def describe(self) -> str:
        """A short human-readable summary for tables and messages."""
        hyper = ", ".join(f"{k}={v!r}" for k, v in sorted(self.hyper.items()))
        return f"{self.optimizer}({hyper}) shapes={list(self.shapes)} steps={self.steps}"


def _plain(value: Any) -> Any:
    """JSON-friendly copy: tuples become lists, NumPy scalars become floats."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return array_to_json(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value
