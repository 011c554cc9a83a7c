"""The conformance checks: differential runs, edge cases and black-box properties.

Every check returns a :class:`CheckResult` with one status:

* ``pass``: the target agrees with the paper's algorithm (the reference);
* ``open-choice``: it agrees only with a reading the papers leave open
  (``docs/ALGORITHMS.md``, "Open choices"): conforming, and the report says which;
* ``fail``: it disagrees, with the step where the trajectories part, both
  values, and its cause: the mutation of the reference (``alternatives``, one
  or two at once) whose trajectory the target's matches to rounding, with that
  evidence and the line of the paper it contradicts, or, when none matches, the
  closest candidates; and (``runner.attach_minimal_sequences``) the smallest
  gradient sequence found that shows it, shrunk in the failing check's own
  setting where a gradient sequence can show it (:attr:`Check.sequence`), once
  per distinct cause;
* ``not-applicable``: the check does not apply to this target, or the variant it
  needs (``foreach=False``, two param groups, another hyperparameter) cannot be
  built: never fatal, and never a finding.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from invariants.conformance import scenarios
from invariants.conformance.alternatives import (
    KNOWN_MISTAKE,
    NON_DEFAULT,
    OPEN_CHOICE,
    OTHER_METHOD,
    Alternative,
    alternatives,
    pairs,
)
from invariants.conformance.shrink import UNIT, Setting, describe, smallest
from invariants.conformance.target import Target, TargetError
from optimizers.harness import (
    FLOAT64_TOLERANCE,
    Divergence,
    Scenario,
    Trajectory,
    first_divergence,
    max_relative_difference,
    reference_trajectory,
    run_reference,
    run_torch,
    tolerance_for,
)
from optimizers.registry import REGISTRY, UNIT_ROWS

RENORMALISATION_TOLERANCE = 16 * float(np.finfo(np.float64).eps)
"""Where the paper prescribes renormalising a vector (ND-Adam's rows at construction), doing
it again on a vector already of unit norm may move it by an ulp or two: the round trip
allows this much, and no more, when rebuilding the optimizer moved the parameters."""


def run_target(
    target: Target, scenario: Scenario, dtype: torch.dtype = torch.float64, **overrides: Any
) -> Trajectory:
    """The target's parameters after each step, as float64 arrays (the harness's torch
    run of ``target.build(params, **overrides)``)."""
    return run_torch(lambda params: target.build(params, **overrides), scenario, dtype)


PASS, OPEN, FAIL, NOT_APPLICABLE = "pass", "open-choice", "fail", "not-applicable"


@dataclass
class CheckResult:
    """The outcome of one check on one target."""

    name: str
    kind: str
    status: str
    summary: str
    divergence: Divergence | None = None
    explained_by: list[Alternative] = field(default_factory=list)
    minimal: dict[str, Any] | None = None
    curves: dict[str, Any] | None = None
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.status == FAIL

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "status": self.status,
            "summary": self.summary,
            "divergence": None if self.divergence is None else self.divergence.as_json(),
            "explained_by": [a.as_json() for a in self.explained_by],
            "minimal_counterexample": self.minimal,
            "seconds": round(self.seconds, 3),
        }


# -- explaining a divergence ---------------------------------------------------
@dataclass(frozen=True)
class Match:
    """How close one alternative's trajectory comes to the target's."""

    alternative: Alternative
    divergence: Divergence | None
    worst: float
    """The largest relative difference over the whole run."""
    steps: int

    @property
    def evidence(self) -> str:
        if self.divergence is None:
            return (
                f"matches the reference with {self.alternative.explanation}, to "
                f"{self.worst:.1e} over {self.steps} steps"
            )
        return (
            f"{self.alternative.key} parts at step {self.divergence.step} "
            f"(by {self.divergence.relative_difference:.1e})"
        )


def _match(
    target_traj: Trajectory,
    scenario: Scenario,
    base_arguments: dict[str, Any],
    alternative: Alternative,
    tolerance: float,
) -> Match | None:
    try:
        reference = run_reference(
            alternative.reference_class or REGISTRY[alternative.method].reference,
            scenario,
            alternative.arguments(base_arguments),
            group_options_ignored=alternative.group_options_ignored,
            schedule_ignored=alternative.schedule_ignored,
        )
    except (ValueError, TypeError, ZeroDivisionError, FloatingPointError):
        return None  # that reading cannot take these hyperparameters
    target_part = target_traj[: len(reference)]
    divergence = first_divergence(target_part, reference, tolerance)
    worst = max_relative_difference(target_part, reference)
    return Match(alternative, divergence, worst, scenario.steps)


def _matching(
    target_traj: Trajectory,
    scenario: Scenario,
    base_arguments: dict[str, Any],
    candidates: Sequence[Alternative],
    tolerance: float,
) -> list[Alternative]:
    """The candidates whose trajectory the target's matches to ``tolerance``."""
    found = [_match(target_traj, scenario, base_arguments, a, tolerance) for a in candidates]
    return [m.alternative for m in found if m is not None and m.divergence is None]


def search(
    target_traj: Trajectory,
    scenario: Scenario,
    arguments: dict[str, Any],
    candidates: Sequence[Alternative],
    tolerance: float,
    parted_at: int,
) -> tuple[list[Match], list[Match]]:
    """Single mutations, then pairs: the matches, and the closest candidates.

    Pairs are screened on the steps up to a few past ``parted_at`` (where the target
    leaves the reference) and only the survivors run the whole scenario.
    """
    singles = [_match(target_traj, scenario, arguments, a, tolerance) for a in candidates]
    singles = [m for m in singles if m is not None]
    matched = [m for m in singles if m.divergence is None]
    if not any(m.alternative.kind != OTHER_METHOD for m in matched):
        prefix = dataclasses.replace(
            scenario, gradients=scenario.gradients[: min(scenario.steps, parted_at + 5)]
        )
        for pair in pairs(candidates):
            screened = _match(target_traj, prefix, arguments, pair, tolerance)
            if screened is None or screened.divergence is not None:
                continue
            full = _match(target_traj, scenario, arguments, pair, tolerance)
            if full is not None and full.divergence is None:
                matched.append(full)
    closest = sorted(
        (m for m in singles if m.divergence is not None),
        key=lambda m: (-m.divergence.step, m.divergence.relative_difference),
    )
    order = {OPEN_CHOICE: 0, KNOWN_MISTAKE: 1, OTHER_METHOD: 2}
    matched.sort(key=lambda m: (order[m.alternative.kind], m.worst))
    return matched, closest[:3]


def _never_moves(target_traj: Trajectory, scenario: Scenario) -> bool:
    return all(
        np.array_equal(p, np.asarray(p0, dtype=np.float64))
        for step in target_traj
        for p, p0 in zip(step, scenario.params, strict=True)
    )


def float32_inside(target_traj: Trajectory, scenario: Scenario) -> bool:
    """Whether every float64 parameter tensor that moved comes out rounded to float32:
    the target computes in single precision whatever the parameters' dtype."""
    moved = 0
    for step in target_traj:
        for p, p0 in zip(step, scenario.params, strict=True):
            if np.array_equal(p, p0):
                continue
            moved += 1
            if not np.array_equal(p, p.astype(np.float32).astype(np.float64)):
                return False
    return moved > 0


FLOAT32_INSIDE = Alternative(
    "computes-in-float32",
    KNOWN_MISTAKE,
    "float64 parameters come back rounded to float32 after every step: the target "
    "computes its update in single precision whatever the parameters' dtype",
    "",
    contradicts="the update computed in the parameters' precision",
)

NEVER_MOVES = Alternative(
    "parameters-never-change",
    KNOWN_MISTAKE,
    "the parameters never change: the update is computed but not written back in place "
    "(e.g. `p = p - lr * u` rebinds a local name instead of `p.add_(...)`)",
    "",
    contradicts="θ_t = θ_{t-1} - (the step): the parameter itself is updated",
)


def classify(
    name: str,
    kind: str,
    target: Target,
    scenario: Scenario,
    target_traj: Trajectory,
    arguments: dict[str, Any],
    tolerance: float,
    confirm: Callable[[Alternative], bool] | None = None,
    float64: bool = True,
) -> CheckResult:
    """Compare with the reference; on a divergence, find what explains it.

    ``confirm`` re-tests a candidate explanation on the full battery: on a short
    scenario several readings can coincide by accident (AdaNorm's global and
    per-tensor norms agree while e_t is still warming up), and an explanation
    that does not also hold on the battery explains nothing.
    """
    reference = reference_trajectory(target.method, scenario, **arguments)
    divergence = first_divergence(target_traj, reference, tolerance)
    if divergence is None:
        return CheckResult(name, kind, PASS, f"agrees over {scenario.steps} steps")
    curves = _curves(target_traj, reference, divergence)
    where = (
        f"parts at step {divergence.step} (tensor {divergence.tensor}{list(divergence.index)}: "
        f"{divergence.target_value:.17g} vs reference {divergence.reference_value:.17g})"
    )
    for structural, holds in (
        (NEVER_MOVES, _never_moves(target_traj, scenario)),
        (FLOAT32_INSIDE, float64 and float32_inside(target_traj, scenario)),
    ):
        if holds:
            text = f"{where}; {structural.explanation}; the paper has {structural.contradicts}"
            return CheckResult(name, kind, FAIL, text, divergence, [structural], curves=curves)
    candidates = alternatives(target.method, arguments)
    matches, closest = search(
        target_traj, scenario, arguments, candidates, tolerance, divergence.step
    )
    if confirm is not None:
        matches = [m for m in matches if confirm(m.alternative)]
    matched = [m.alternative for m in matches]
    opens = [m for m in matches if m.alternative.kind == OPEN_CHOICE]
    if opens:
        return CheckResult(
            name, kind, OPEN, f"{where}; matches the documented open choice "
            + " / ".join(m.alternative.key for m in opens) + f" ({opens[0].evidence})",
            divergence, [m.alternative for m in opens], curves=curves,
        )  # fmt: skip
    if matches:
        cause = matches[0]
        text = f"{where}; {cause.evidence}"
        if cause.alternative.contradicts:
            text += f"; the paper has {cause.alternative.contradicts}"
        return CheckResult(name, kind, FAIL, text, divergence, matched, curves=curves)
    nearest = "; ".join(m.evidence for m in closest) or "none"
    return CheckResult(
        name, kind, FAIL,
        f"{where}; no single mutation of the catalogue or pair of them matches; closest: "
        f"{nearest}", divergence, curves=curves,
    )  # fmt: skip


def _curves(target_traj: Trajectory, reference: Trajectory, where: Divergence) -> dict[str, Any]:
    """The diverging coordinate's trajectory on both sides (for the plot)."""
    pick = (where.tensor, where.index)
    return {
        "coordinate": f"tensor {where.tensor}{list(where.index)}",
        "target": [float(step[pick[0]][pick[1]]) for step in target_traj],
        "reference": [float(step[pick[0]][pick[1]]) for step in reference],
    }


# -- the checks ----------------------------------------------------------------
@dataclass(frozen=True)
class SequenceSetup:
    """How one check runs both sides on a gradient sequence, for the shrinker: the
    target's dtype and constructor overrides, the reference's arguments, the check's
    tolerance and what it does around the gradients (:class:`~.shrink.Setting`)."""

    dtype: torch.dtype
    overrides: dict[str, Any]
    arguments: dict[str, Any]
    tolerance: float
    setting: Setting


@dataclass(frozen=True)
class Check:
    name: str
    kind: str
    run: Callable[[Target, int], CheckResult]
    sequence: Callable[[Target], SequenceSetup | None] | None = None
    """For a check whose failure a gradient sequence can show: its setup for the
    shrinker (``None`` where the check does not apply to the target)."""


def _differential(
    name: str,
    kind: str,
    scenario_factory: Callable[[int], Scenario],
    dtype: torch.dtype = torch.float64,
    overrides_for: Callable[[Target], dict[str, Any]] | None = None,
    scenario_for: Callable[[Target, int, dict[str, Any]], Scenario] | None = None,
    setting: Setting | Callable[[Target, dict[str, Any]], Setting] = UNIT,
    **fixed: Any,
) -> Check:
    """A check comparing the target with the reference on ``scenario_factory``'s
    gradients (or ``scenario_for``'s), at ``dtype``, with ``fixed`` and ``overrides_for``'s
    hyperparameters; ``setting`` is the same check as the shrinker draws it."""
    tolerance = tolerance_for(dtype)

    def overrides(target: Target) -> dict[str, Any] | str:
        """The constructor overrides, or why the check does not apply."""
        missing = [k for k in fixed if not target.accepts(k)]
        if missing:
            return f"no {', '.join(f'`{k}`' for k in missing)} argument"
        found = {**fixed, **(overrides_for(target) if overrides_for else {})}
        if overrides_for is not None and not found:
            return "no hyperparameter to vary"
        return found

    def sequence(target: Target) -> SequenceSetup | None:
        found = overrides(target)
        if isinstance(found, str):
            return None
        arguments = target.reference_arguments(**found)
        drawn = setting if isinstance(setting, Setting) else setting(target, arguments)
        return SequenceSetup(dtype, found, arguments, tolerance, drawn)

    def run(target: Target, steps: int, name: str = name, kind: str = kind) -> CheckResult:
        found = overrides(target)
        if isinstance(found, str):
            return CheckResult(name, kind, NOT_APPLICABLE, found)
        arguments = target.reference_arguments(**found)
        if scenario_for is not None:
            scenario = scenario_for(target, steps, arguments)
        else:
            scenario = scenario_factory(steps)
        traj = run_target(target, scenario, dtype, **found)
        battery = scenarios.battery(steps)
        battery_traj: list[Trajectory] = []

        def confirm(alternative: Alternative) -> bool:
            if not battery_traj:
                battery_traj.append(run_target(target, battery, dtype, **found))
            return bool(_matching(battery_traj[0], battery, arguments, [alternative], tolerance))

        # On the battery itself every match is already a match on the battery.
        on_battery = scenario_factory is scenarios.battery
        result = classify(
            name, kind, target, scenario, traj, arguments, tolerance,
            None if on_battery else confirm, float64=dtype == torch.float64,
        )  # fmt: skip
        if result.failed and dtype == torch.float64:
            narrow = _narrow_state(target, found)
            if narrow:
                cause = _float32_state_cause(narrow)
                result.summary = f"{cause.explanation}; {result.summary}"
                result.explained_by = [cause, *result.explained_by]
        return result

    return Check(name, kind, run, sequence)


def _non_default(target: Target) -> dict[str, Any]:
    """:data:`NON_DEFAULT` values for the hyperparameters the reference takes and the
    target names the same way (in its signature or its defaults)."""
    accepted = inspect.signature(REGISTRY[target.method].reference.__init__).parameters
    try:
        explicit = set(inspect.signature(target.factory).parameters)
    except (TypeError, ValueError):
        explicit = set()
    probe = target.build([torch.zeros(1, dtype=torch.float64)])
    named = explicit | set(probe.defaults)
    return {k: v for k, v in NON_DEFAULT.items() if k in accepted and k in named}


def _two_groups(target: Target, steps: int, arguments: dict[str, Any]) -> Scenario:
    return scenarios.two_groups(
        min(steps, 40), float(arguments.get("lr", 1e-3)), target.accepts("weight_decay")
    )


def _two_groups_setting(target: Target, arguments: dict[str, Any]) -> Setting:
    """:func:`scenarios.two_groups` on the shrinker's two tensors: the first with weight
    decay 0.1, the second at half the learning rate without decay."""
    lr = float(arguments.get("lr", 1e-3))
    decays = target.accepts("weight_decay")
    first = {"weight_decay": 0.1} if decays else {}
    second = {"lr": lr / 2, **({"weight_decay": 0.0} if decays else {})}
    return dataclasses.replace(UNIT, groups=(first, second))


def _narrow_state(target: Target, overrides: dict[str, Any]) -> list[str]:
    """State tensors of float64 parameters kept in a narrower floating dtype (not the
    step counter, which torch.optim itself keeps as a float32 tensor: exact to 2^24)."""
    scenario = scenarios.battery(3)
    tensors = [torch.tensor(p, dtype=torch.float64) for p in scenario.params]
    optimizer = target.build(tensors, **overrides)
    for grads in scenario.gradients:
        for t, g in zip(tensors, grads, strict=True):
            t.grad = torch.tensor(g)
        optimizer.step()
    found = set()
    for state in optimizer.state.values():
        for key, value in state.items():
            if (
                isinstance(value, torch.Tensor)
                and value.is_floating_point()
                and value.dtype != torch.float64
                and value.numel() > 0
                and key != "step"
            ):
                found.add(f"state[{key!r}] is {str(value.dtype).removeprefix('torch.')}")
    return sorted(found)


def _float32_state_cause(narrow: list[str]) -> Alternative:
    return Alternative(
        "float32-state",
        KNOWN_MISTAKE,
        "the state of float64 parameters is kept in lower precision (" + ", ".join(narrow) + ")",
        "",
        contradicts="the state in the parameters' precision",
    )


def _state_precision(target: Target, steps: int, name: str = "", kind: str = "") -> CheckResult:
    """Float64 parameters keep float64 state: a float32 buffer rounds every moment."""
    narrow = _narrow_state(target, {})
    if not narrow:
        return CheckResult(name, kind, PASS, "the state of float64 parameters is float64")
    cause = _float32_state_cause(narrow)
    return CheckResult(name, kind, FAIL, cause.explanation, None, [cause])


def _buffer_reuse(target: Target, steps: int, name: str = "", kind: str = "") -> CheckResult:
    """Gradients written in place into the same ``.grad`` tensor every step must give
    the same trajectory as fresh tensors: state that keeps a reference to the gradient
    instead of a copy sees it change under its feet."""
    fresh = scenarios.battery(min(steps, 40))
    reused = scenarios.battery(min(steps, 40), reuse_grad_buffers=True)
    a = run_target(target, fresh)
    b = run_target(target, reused)
    divergence = first_divergence(b, a, FLOAT64_TOLERANCE)
    aliases = _aliased_state(target)
    if divergence is None and not aliases:
        return CheckResult(name, kind, PASS, "in-place gradient buffers give the same steps")
    text = (
        "optimizer state shares memory with p.grad ("
        + ", ".join(aliases)
        + "): the state changes when the next gradient is written into the same buffer"
        if aliases
        else "the trajectory depends on whether .grad is a fresh tensor or reused in place"
    )
    if divergence is not None:
        text += f"; parts at step {divergence.step}"
    explanation = Alternative(
        "state-aliases-gradient", KNOWN_MISTAKE, text, "",
        contradicts="the state holds the values of past gradients, not the gradient buffer",
    )  # fmt: skip
    return CheckResult(name, kind, FAIL, text, divergence, [explanation])


def _aliased_state(target: Target) -> list[str]:
    scenario = scenarios.battery(3)
    tensors = [torch.tensor(p, dtype=torch.float64) for p in scenario.params]
    optimizer = target.build(tensors)
    found = []
    for grads in scenario.gradients:
        for t, g in zip(tensors, grads, strict=True):
            t.grad = torch.tensor(g)
        optimizer.step()
        for t in tensors:
            pointer = t.grad.untyped_storage().data_ptr()
            for key, value in optimizer.state.get(t, {}).items():
                if (
                    isinstance(value, torch.Tensor)
                    and value.numel()
                    and value.untyped_storage().data_ptr() == pointer
                ):
                    found.append(f"state[{key!r}]")
    return sorted(set(found))


def _roundtrip(target: Target, steps: int, name: str = "", kind: str = "") -> CheckResult:
    """Saving ``state_dict()`` mid-run and loading it into a new optimizer on copied
    parameters must continue the trajectory exactly (to a few ulps where rebuilding
    renormalises the parameters, :data:`RENORMALISATION_TOLERANCE`)."""
    count = min(steps, 40)
    at = count // 2
    plain = run_target(target, scenarios.battery(count))
    try:
        restored = run_target(target, scenarios.battery(count, roundtrip_at=at))
    except Exception as error:  # the library's own load_state_dict failing is the finding
        return CheckResult(name, kind, FAIL, f"state_dict round trip raised {error!r}")
    differences = _state_differences(target, at)
    tolerance = RENORMALISATION_TOLERANCE if differences["renormalised"] else 0.0
    divergence = first_divergence(restored, plain, tolerance)
    found = differences["missing"] + differences["cast"] + differences["changed"]
    if divergence is None and not differences["missing"] + differences["changed"]:
        text = f"the run continues {'bitwise ' if not tolerance else ''}identically after a "
        text += f"round trip at step {at}"
        if tolerance:
            text += " (to a few ulps: rebuilding renormalises the parameters)"
        if differences["cast"]:
            text += "; " + "; ".join(differences["cast"])
        return CheckResult(name, kind, PASS, text)
    text = f"after a state_dict round trip at step {at}"
    if divergence is not None:
        text += (
            f" the run parts at step {divergence.step} ({divergence.target_value:.17g} vs "
            f"{divergence.reference_value:.17g} without the round trip)"
        )
    text += ": " + ("; ".join(found) if found else "no state entry differs after loading; "
                    "something outside optimizer.state is not saved")  # fmt: skip
    cause = Alternative(
        "state-not-restored", KNOWN_MISTAKE, "; ".join(found) or text, "",
        contradicts="a checkpoint restores the optimizer exactly",
    )  # fmt: skip
    return CheckResult(name, kind, FAIL, text, divergence, [cause])


def _state_differences(target: Target, at: int) -> dict[str, Any]:
    """What a round trip after ``at`` steps loses: keys missing from ``state_dict()``,
    entries whose dtype ``load_state_dict`` changed, entries whose value changed."""
    scenario = scenarios.battery(at)
    tensors = [torch.tensor(p, dtype=torch.float64) for p in scenario.params]
    optimizer = target.build(tensors)
    for grads in scenario.gradients:
        for t, g in zip(tensors, grads, strict=True):
            t.grad = torch.tensor(g)
        optimizer.step()
    live = [copy.deepcopy(optimizer.state.get(t, {})) for t in tensors]
    saved = copy.deepcopy(optimizer.state_dict())
    fresh = [t.detach().clone() for t in tensors]
    rebuilt = target.build(fresh)
    renormalised = any(not torch.equal(a, b) for a, b in zip(fresh, tensors, strict=True))
    rebuilt.load_state_dict(saved)
    missing, cast, changed = [], [], []
    for i, t in enumerate(tensors):
        for key in live[i]:
            if key not in optimizer.state.get(t, {}):
                changed.append(f"tensor {i}: state_dict() removed state[{key!r}] from the live "
                               "optimizer")  # fmt: skip
    ordered = [p for group in optimizer.param_groups for p in group["params"]]
    indices = [index for group in saved["param_groups"] for index in group["params"]]
    saved_index = {id(p): index for p, index in zip(ordered, indices, strict=True)}
    for i, (before, new) in enumerate(zip(live, fresh, strict=True)):
        after = rebuilt.state.get(new, {})
        in_saved = saved["state"].get(saved_index.get(id(tensors[i])), {})
        for key, value in before.items():
            if key not in in_saved or key not in after:
                missing.append(f"tensor {i}: state[{key!r}] is not in state_dict()")
                continue
            restored = after[key]
            if isinstance(value, torch.Tensor) and isinstance(restored, torch.Tensor):
                if value.dtype != restored.dtype:
                    cast.append(
                        f"tensor {i}: load_state_dict cast state[{key!r}] from "
                        f"{value.dtype} to {restored.dtype}"
                    )
                same = value.shape == restored.shape and torch.equal(
                    value.to(restored.dtype), restored
                )
            else:
                same = _same_value(value, restored)
            if not same:
                changed.append(f"tensor {i}: state[{key!r}] changes value in the round trip")
    return {
        "missing": missing, "cast": sorted(set(cast)), "changed": changed,
        "renormalised": renormalised,
    }  # fmt: skip


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return bool(torch.equal(torch.as_tensor(a, dtype=torch.float64),
                                torch.as_tensor(b, dtype=torch.float64)))  # fmt: skip
    try:
        return bool(a == b) or (a != a and b != b)
    except Exception:
        return True  # not comparable: nothing to say about it


def _paths(target: Target, steps: int, name: str = "", kind: str = "") -> CheckResult:
    """The library's multi-tensor (foreach) and single-tensor paths must agree."""
    if not target.accepts("foreach"):
        return CheckResult(name, kind, NOT_APPLICABLE, "the constructor takes no `foreach`")
    scenario = scenarios.battery(min(steps, 40))
    single = run_target(target, scenario, foreach=False)
    multi = run_target(target, scenario, foreach=True)
    divergence = first_divergence(multi, single, FLOAT64_TOLERANCE)
    if divergence is None:
        return CheckResult(name, kind, PASS, "foreach=True and foreach=False agree")
    return CheckResult(
        name, kind, FAIL,
        f"foreach=True parts from foreach=False at step {divergence.step} "
        f"({divergence.target_value:.17g} vs {divergence.reference_value:.17g})",
        divergence,
    )  # fmt: skip


def _gradient_untouched(target: Target, steps: int, name: str = "", kind: str = "") -> CheckResult:
    """``step()`` must not change ``p.grad``: training code reads gradients after the
    step (clipping statistics, logging, accumulation) and torch.optim leaves them."""
    overrides = {"weight_decay": 0.1} if target.accepts("weight_decay") else {}
    scenario = scenarios.battery(6)
    tensors = [torch.tensor(p, dtype=torch.float64) for p in scenario.params]
    optimizer = target.build(tensors, **overrides)
    for t, grads in enumerate(scenario.gradients):
        for tensor, g in zip(tensors, grads, strict=True):
            tensor.grad = torch.tensor(g)
        before = [tensor.grad.clone() for tensor in tensors]
        optimizer.step()
        for i, (tensor, saved) in enumerate(zip(tensors, before, strict=True)):
            if not torch.equal(tensor.grad, saved):
                text = f"step {t + 1} changed p.grad of tensor {i} in place" + (
                    " (weight decay added into the gradient?)" if overrides else ""
                )
                cause = Alternative(
                    "gradient-changed-in-place", KNOWN_MISTAKE, text, "",
                    contradicts="g_t is an input of the step, not one of its outputs",
                )  # fmt: skip
                return CheckResult(name, kind, FAIL, text, None, [cause])
    return CheckResult(name, kind, PASS, "p.grad is left as the caller gave it")


def _zero_first_step(target: Target, steps: int, name: str = "", kind: str = "") -> CheckResult:
    """A zero gradient on a fresh optimizer (no weight decay) moves nothing: every
    method here starts its moments at zero."""
    overrides = {"weight_decay": 0.0} if target.accepts("weight_decay") else {}
    base = scenarios.battery(2)
    params = base.params
    if REGISTRY[target.method].sphere == UNIT_ROWS:  # starts its rows on the sphere (003 Alg. 1)
        params = tuple(_unit_rows(p) if p.ndim >= 2 else p for p in params)
    scenario = Scenario(
        params=params,
        gradients=(tuple(np.zeros_like(p) for p in params), *base.gradients[1:]),
    )
    traj = run_target(target, scenario, **overrides)
    # Within an ulp or two: a sphere method re-normalises the unchanged vector.
    moved = [
        i for i, (p, p0) in enumerate(zip(traj[0], scenario.params, strict=True))
        if not np.allclose(p, p0, rtol=4 * np.finfo(np.float64).eps, atol=0.0)
    ]  # fmt: skip
    if not moved:
        return CheckResult(name, kind, PASS, "a zero first gradient leaves every parameter")
    if float32_inside(traj[:1], scenario):
        return CheckResult(name, kind, FAIL, FLOAT32_INSIDE.explanation, None, [FLOAT32_INSIDE])
    bad = traj[0][moved[0]]
    return CheckResult(
        name, kind, FAIL,
        f"a zero first gradient moved tensor {moved[0]} (e.g. to {bad.ravel()[:3].tolist()}); "
        "NaN here means a 0/0 the paper's zero-gradient rule avoids",
    )  # fmt: skip


def _scale_invariance(target: Target, steps: int, name: str = "", kind: str = "") -> CheckResult:
    """GEN-1: with ε = 0, multiplying every gradient by c > 0 leaves the steps unchanged."""
    # GEN-1's algebra (optimizers.registry: OptimizerSpec.scale_invariant).
    if not REGISTRY[target.method].scale_invariant or not target.accepts("eps"):
        return CheckResult(name, kind, NOT_APPLICABLE, f"{target.method} is not scale invariant")
    overrides: dict[str, Any] = {"eps": 0.0}
    if target.accepts("weight_decay"):
        overrides["weight_decay"] = 0.0
    rng = np.random.default_rng(7)
    scenario = scenarios.battery(min(steps, 30))
    # The battery's all-zero steps give 0/0 at ε = 0; the property is about g ≠ 0.
    nonzero = tuple(
        tuple(g if np.any(g) else rng.standard_normal(g.shape) for g in step)
        for step in scenario.gradients
    )
    base = run_target(target, Scenario(scenario.params, nonzero), **overrides)
    for c in (1e-3, 7.0, 1e3):
        scaled = Scenario(scenario.params, tuple(tuple(c * g for g in s) for s in nonzero))
        divergence = first_divergence(run_target(target, scaled, **overrides), base, 1e-9)
        if divergence is not None:
            return CheckResult(
                name, kind, FAIL,
                f"with eps=0 the steps change under g → {c:g}·g (step {divergence.step}: "
                f"{divergence.target_value:.17g} vs {divergence.reference_value:.17g})",
                divergence,
            )  # fmt: skip
    return CheckResult(name, kind, PASS, "steps unchanged under g → c·g (c = 1e-3, 7, 1e3)")


def _norm_preserved(target: Target, steps: int, name: str = "", kind: str = "") -> CheckResult:
    """ND-1 / AR-4: ND-Adam keeps each weight vector at unit norm, AdaRem-S each
    sphere tensor at its initial norm."""
    sphere = REGISTRY[target.method].sphere
    if sphere is None:
        return CheckResult(name, kind, NOT_APPLICABLE, "no sphere constraint in this method")
    scenario = scenarios.battery(min(steps, 30))
    params = list(scenario.params)
    if sphere == UNIT_ROWS:
        params = [_unit_rows(p) if p.ndim >= 2 else p for p in params]
    traj = run_target(target, Scenario(tuple(params), scenario.gradients))
    for t, step in enumerate(traj):
        for i, (p, p0) in enumerate(zip(step, params, strict=True)):
            if p.ndim < 2:
                continue
            if sphere == UNIT_ROWS:
                norms, wanted = np.linalg.norm(p.reshape(p.shape[0], -1), axis=1), 1.0
            else:
                norms, wanted = np.linalg.norm(p), np.linalg.norm(p0)
            if not np.allclose(norms, wanted, rtol=1e-12, atol=0.0):
                return CheckResult(
                    name, kind, FAIL,
                    f"tensor {i} leaves the sphere at step {t + 1}: norm(s) "
                    f"{np.ravel(norms)[:3].tolist()} instead of {float(np.max(wanted)):.17g}",
                )  # fmt: skip
    return CheckResult(name, kind, PASS, "every sphere tensor keeps its norm")


def _unit_rows(p: np.ndarray) -> np.ndarray:
    rows = p.reshape(p.shape[0], -1)
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).reshape(p.shape)


CHECKS: tuple[Check, ...] = (
    _differential("differential/float64", "differential", scenarios.battery, setting=Setting()),
    _differential(
        "differential/float64/tiny-gradients",
        "differential",
        lambda n: scenarios.battery(n, scale=scenarios.SCALES["tiny"]),
        setting=Setting(scales=(scenarios.SCALES["tiny"],)),
    ),
    _differential(
        "differential/float64/large-gradients",
        "differential",
        lambda n: scenarios.battery(n, scale=scenarios.SCALES["large"]),
        setting=Setting(scales=(scenarios.SCALES["large"],)),
    ),
    _differential(
        "differential/float64/weight-decay", "differential", scenarios.battery, weight_decay=0.1
    ),
    _differential("differential/float32", "differential", scenarios.battery, torch.float32),
    _differential(
        "differential/float32/tiny-gradients",
        "differential",
        lambda n: scenarios.battery(n, scale=1e-5),
        torch.float32,
        setting=Setting(scales=(1e-5,)),
    ),
    _differential(
        "differential/float64/non-default-hyperparameters",
        "differential",
        scenarios.battery,
        overrides_for=_non_default,
    ),
    _differential(
        "differential/float64/param-groups",
        "differential",
        scenarios.battery,
        scenario_for=_two_groups,
        setting=_two_groups_setting,
    ),
    _differential(
        "edge/zero-gradient-after-history", "edge", lambda n: scenarios.zero_after_history()
    ),
    _differential(
        "edge/parameter-without-gradient",
        "edge",
        lambda n: scenarios.missing_gradients(),
        setting=dataclasses.replace(UNIT, missing=True),
    ),
    _differential(
        "edge/lr-change-between-steps",
        "edge",
        lambda n: scenarios.battery(min(n, 40), lr_factors={10: 0.1, 25: 3.0}),
        setting=dataclasses.replace(UNIT, lr_changes=True),
    ),
    Check("edge/state-dict-round-trip", "edge", _roundtrip),
    Check("edge/state-precision", "edge", _state_precision),
    Check("edge/gradient-buffer-reused-in-place", "edge", _buffer_reuse),
    Check("edge/foreach-vs-single-tensor", "edge", _paths),
    Check("edge/gradient-left-unchanged", "edge", _gradient_untouched),
    Check("property/zero-first-gradient", "property", _zero_first_step),
    Check("property/GEN-1-scale-invariance", "property", _scale_invariance),
    Check("property/ND-1-AR-4-sphere", "property", _norm_preserved),
)


def run_check(check: Check, target: Target, steps: int) -> CheckResult:
    """Run one check; the target raising is a failure of the target, reported as such.

    A check that cannot build the variant it needs (``foreach=False`` on a wrapper that
    forwards ``**kwargs`` to a base without it, two param groups) does not apply; only a
    target that cannot be built with its own arguments ends the run."""
    started = time.perf_counter()
    try:
        result = check.run(target, steps, name=check.name, kind=check.kind)
    except TargetError as error:
        target.build([torch.zeros(1, dtype=torch.float64)])  # the target itself: fatal
        result = CheckResult(
            check.name, check.kind, NOT_APPLICABLE,
            f"the target cannot be built as this check needs: {error}",
        )  # fmt: skip
    except Exception as error:
        last = traceback.format_exception_only(type(error), error)[-1].strip()
        result = CheckResult(check.name, check.kind, FAIL, f"the target raised: {last}")
    result.seconds = time.perf_counter() - started
    return result


SHRINK_SECONDS = 10.0
"""The default time budget of one shrink (each distinct cause is shrunk once)."""


def shrink_divergence(
    target: Target,
    setup: SequenceSetup | None = None,
    max_examples: int = 300,
    seconds: float | None = SHRINK_SECONDS,
) -> dict[str, Any] | None:
    """The smallest gradient sequence found, within ``seconds``, on which the target
    leaves the reference as one check runs them (``setup``; default: the plain float64
    comparison), with where they part and both sides' values there."""
    if setup is None:
        setup = SequenceSetup(
            torch.float64, {}, target.reference_arguments(), FLOAT64_TOLERANCE, Setting()
        )

    def reference_run(scenario: Scenario) -> Trajectory | None:
        try:
            return reference_trajectory(target.method, scenario, **setup.arguments)
        except (ValueError, TypeError, ZeroDivisionError, FloatingPointError):
            return None  # the reference cannot take this sequence: nothing to compare

    def parts(scenario: Scenario) -> bool:
        reference = reference_run(scenario)
        if reference is None:
            return False
        try:
            ours = run_target(target, scenario, setup.dtype, **setup.overrides)
        except Exception:
            return True
        return first_divergence(ours, reference, setup.tolerance) is not None

    started = time.perf_counter()
    found = smallest(parts, setup.setting, max_examples, seconds)
    if found is None:
        return None
    record: dict[str, Any] = {
        "params": describe_params(found),
        "gradients": describe(found),
        "lr_factors": {str(k): v for k, v in sorted(found.lr_factors.items())},
        "groups": None
        if found.groups is None
        else [
            {
                "tensors": list(g.indices),
                "options": dict(g.options),
                "added_before_step": g.added_at + 1,
            }
            for g in found.groups
        ],
        "overrides": {k: v for k, v in setup.overrides.items()},
        "dtype": str(setup.dtype).removeprefix("torch."),
    }
    reference = reference_run(found)
    try:
        ours = run_target(target, found, setup.dtype, **setup.overrides)
        where = None if reference is None else first_divergence(ours, reference, setup.tolerance)
    except Exception as error:
        record["raised"] = repr(error)
    else:
        record["divergence"] = None if where is None else where.as_json()
        record["target_params"] = [p.tolist() for p in ours[-1]]
        record["reference_params"] = (
            None if reference is None else [p.tolist() for p in reference[-1]]
        )
    record["seconds"] = round(time.perf_counter() - started, 2)
    return record


def describe_params(scenario: Scenario) -> list[Any]:
    return [np.asarray(p).tolist() for p in scenario.params]
