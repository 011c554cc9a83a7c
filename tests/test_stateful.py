"""A stateful check: any sequence of the things users do to an optimizer mid-run keeps
torch (float64) and the NumPy reference on the same trajectory (issue 13 item 7).

Rules: step (gradients from the battery's phases, ``None`` for some tensors),
take a step with one chosen gradient missing, change the learning rate or
another group option that may change mid-run, round-trip ``state_dict`` into
a fresh optimizer, add a param group. After every rule the parameters of both
sides are compared with the harness's float64 tolerance. The reference has no param
groups, so each torch group is mirrored by one reference instance with the
group's options (groups share nothing, global scopes included).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from optimizers.harness import (
    FLOAT64_TOLERANCE,
    gradient_battery,
    initial_parameters,
    max_relative_difference,
)
from optimizers.registry import REGISTRY

SHAPES: tuple[tuple[int, ...], ...] = ((4, 3), (), (5,), (2, 3, 2))
"""The first group's tensors: a matrix first (ND-Adam's and AdaRem-S's sphere
tensors are the ones with ndim ≥ 2), a scalar, a bias, a small kernel."""

NEW_GROUP_SHAPES: tuple[tuple[int, ...], ...] = ((3, 2), (3,))
MAX_GROUPS = 3
BATTERY_PHASES = 25
"""The gradient battery's period (harness.gradient_battery): steady, drop, burst, flips, zero."""

CONSTRUCTION_CHOICES: dict[str, tuple[Any, ...]] = {
    "norm_scope": ("tensor", "global"),
    "corrected_moments": ("first", "second", "both"),
    "eps_mode": ("outside", "inside", "both"),
    "max_scope": ("tensor", "global"),
}
"""Choice options drawn when an optimizer is built (where its class has them)."""

MID_RUN_VALUES: dict[str, tuple[Any, ...]] = {
    "lr": (1e-4, 3e-3, 1e-2, 0.1),
    "weight_decay": (0.0, 1e-3, 1e-2),
    "eps": (1e-8, 1e-6, 1e-3),
    "gamma": (0.9, 0.95, 0.99),
    "beta": (0.5, 0.9, 0.99),
    "lam": (0.9, 0.999, 1.0),
    "xi": (0.0, 1e-20, 1e-8),
    "K": (0, 1, 2, 3),
    "betas": ((0.9, 0.999), (0.8, 0.99), (0.95, 0.9999)),
}
"""Group options that may change between steps, with values inside their domains.
An option is changed only where both the torch group and the reference have it."""

REFERENCE_NAMES: dict[str, tuple[str, ...]] = {"betas": ("beta1", "beta2")}
"""Where the reference stores an option under other names (one per component);
every other option has the same name on both sides."""


def reference_names(option: str) -> tuple[str, ...]:
    return REFERENCE_NAMES.get(option, (option,))


def set_on_reference(reference: Any, option: str, value: Any) -> None:
    names = reference_names(option)
    values = value if len(names) > 1 else (value,)
    for name, component in zip(names, values, strict=True):
        setattr(reference, name, component)


class OptimizerMachine(RuleBasedStateMachine):
    """Torch optimizer and NumPy reference driven through the same user actions."""

    name: str = ""

    @initialize(data=st.data())
    def build(self, data: st.DataObject) -> None:
        spec = REGISTRY[self.name]
        defaults = spec.defaults
        self.options = {
            option: data.draw(st.sampled_from(values), label=option)
            for option, values in CONSTRUCTION_CHOICES.items()
            if option in defaults
        }
        self.tensors: list[torch.Tensor] = []
        self.references: list[Any] = []
        self.optimizer = None
        self._add_group(SHAPES, seed=0, lr=defaults["lr"])

    def _add_group(self, shapes: tuple[tuple[int, ...], ...], seed: int, lr: float) -> None:
        spec = REGISTRY[self.name]
        values = initial_parameters(shapes, seed)
        tensors = [torch.tensor(v, dtype=torch.float64) for v in values]
        group = {"params": tensors, "lr": lr, **self.options}
        if self.optimizer is None:
            self.optimizer = spec.torch_class([group])
        else:
            self.optimizer.add_param_group(group)
        self.tensors.extend(tensors)
        self.references.append(spec.reference(values, lr=lr, **self.options))

    def _group_of(self, tensor_index: int) -> tuple[int, int]:
        start = 0
        for g, reference in enumerate(self.references):
            if tensor_index < start + len(reference.params):
                return g, tensor_index - start
            start += len(reference.params)
        raise IndexError(tensor_index)

    def _step(self, grads: list[np.ndarray | None]) -> None:
        for tensor, grad in zip(self.tensors, grads, strict=True):
            tensor.grad = None if grad is None else torch.tensor(grad, dtype=torch.float64)
        self.optimizer.step()
        start = 0
        for reference in self.references:
            reference.step(grads[start : start + len(reference.params)])
            start += len(reference.params)

    def _battery(self, phase: int, seed: int) -> list[np.ndarray]:
        shapes = [tuple(t.shape) for t in self.tensors]
        return gradient_battery(shapes, phase + 1, seed)[phase]

    @rule(
        phase=st.integers(0, BATTERY_PHASES - 1),
        seed=st.integers(0, 2**16),
        data=st.data(),
    )
    def step(self, phase: int, seed: int, data: st.DataObject) -> None:
        present = data.draw(
            st.lists(st.booleans(), min_size=len(self.tensors), max_size=len(self.tensors)),
            label="has_gradient",
        )
        grads = self._battery(phase, seed)
        self._step([g if keep else None for g, keep in zip(grads, present, strict=True)])

    @rule(phase=st.integers(0, BATTERY_PHASES - 1), seed=st.integers(0, 2**16), data=st.data())
    def step_without_one_gradient(self, phase: int, seed: int, data: st.DataObject) -> None:
        dropped = data.draw(st.integers(0, len(self.tensors) - 1), label="dropped")
        grads: list[np.ndarray | None] = list(self._battery(phase, seed))
        grads[dropped] = None
        self._step(grads)

    @rule(data=st.data())
    def change_option(self, data: st.DataObject) -> None:
        g = data.draw(st.integers(0, len(self.references) - 1), label="group")
        group, reference = self.optimizer.param_groups[g], self.references[g]
        options = sorted(
            o
            for o in MID_RUN_VALUES
            if o in group and all(hasattr(reference, n) for n in reference_names(o))
        )
        option = data.draw(st.sampled_from(options), label="option")
        value = data.draw(st.sampled_from(MID_RUN_VALUES[option]), label="value")
        group[option] = value
        set_on_reference(reference, option, value)

    @rule(data=st.data())
    def change_learning_rate(self, data: st.DataObject) -> None:
        g = data.draw(st.integers(0, len(self.references) - 1), label="group")
        lr = data.draw(st.sampled_from(MID_RUN_VALUES["lr"]), label="lr")
        self.optimizer.param_groups[g]["lr"] = lr
        set_on_reference(self.references[g], "lr", lr)

    @rule()
    def round_trip_state_dict(self) -> None:
        saved = self.optimizer.state_dict()
        fresh = REGISTRY[self.name].torch_class(
            [{key: value for key, value in group.items()} for group in self.optimizer.param_groups]
        )
        fresh.load_state_dict(saved)
        self.optimizer = fresh

    @precondition(lambda self: len(self.references) < MAX_GROUPS)
    @rule(lr=st.sampled_from(MID_RUN_VALUES["lr"]))
    def add_param_group(self, lr: float) -> None:
        self._add_group(NEW_GROUP_SHAPES, seed=len(self.references), lr=lr)

    @invariant()
    def torch_follows_reference(self) -> None:
        ours = [[t.detach().numpy().copy() for t in self.tensors]]
        theirs = [[p for reference in self.references for p in reference.params]]
        difference = max_relative_difference(ours, theirs)
        assert difference <= FLOAT64_TOLERANCE, (
            f"{self.name}: torch and reference differ by {difference:.3g} (options {self.options})"
        )


def machine_for(name: str) -> type[OptimizerMachine]:
    return type(f"{name}Machine", (OptimizerMachine,), {"name": name})


@pytest.mark.parametrize("name", list(REGISTRY))
def test_user_actions_keep_torch_on_the_reference(name: str) -> None:
    run_state_machine_as_test(
        machine_for(name),
        settings=settings(settings.default, max_examples=12, stateful_step_count=10),
    )


@pytest.mark.parametrize("name", [n for n, s in REGISTRY.items() if s.base is not None])
def test_global_norm_ema_survives_a_step_without_the_first_gradient(name: str) -> None:
    """Issue 13 item 3: with ``norm_scope="global"`` the group's e_t must not restart
    when the group's first tensor has no gradient (it did: e lived on the first
    tensor *with* a gradient)."""
    shapes = ((3,), (4, 2))
    values = initial_parameters(shapes, 0)
    battery = gradient_battery(shapes, 6, 0)
    tensors = [torch.tensor(v) for v in values]
    optimizer = REGISTRY[name].torch_class(tensors, norm_scope="global")
    reference = REGISTRY[name].reference(values, norm_scope="global")
    for t, grads in enumerate(battery):
        step_grads = [None, grads[1]] if t in (2, 3) else grads
        for tensor, grad in zip(tensors, step_grads, strict=True):
            tensor.grad = None if grad is None else torch.tensor(grad)
        optimizer.step()
        reference.step(step_grads)
    ours = [[t.numpy() for t in tensors]]
    assert max_relative_difference(ours, [reference.params]) <= FLOAT64_TOLERANCE
    anchored = optimizer.state[tensors[0]]["global_norm_ema"]
    assert float(anchored) == pytest.approx(reference.group_state["e"], rel=1e-12)
