"""Hyperparameter declarations and the one validation every param group gets.

Each unit of :mod:`optimizers.units` declares, as class data, the group options
it reads (:class:`Hyperparameter`: name, domain, default, meaning with the
paper's equation), the way an optax transform owns its hyperparameters. An
optimizer's table is the union over its recipe plus :data:`SHARED` (``lr``,
``foreach``), with the class's own defaults and pinned options applied
(:func:`table`). :func:`validate_group` checks a whole group against a table;
the base optimizer runs it on the constructor's defaults, on every group
added (constructor dicts and ``add_param_group``), on every loaded state and
before each step, so no group option escapes.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from optimizers._validation import Choice, Domain, Flag, Interval, Optional


@dataclass(frozen=True)
class Hyperparameter:
    """One group option: its name, the values it may take, its default and what it means."""

    name: str
    domain: Domain
    default: Any
    meaning: str
    examples: tuple[Any, ...] = ()
    """Values besides the default worth testing (boundaries, the papers' other settings)."""
    alongside: Mapping[str, Any] = field(default_factory=dict)
    """Options set together with a tested value so that it matters (decay for its form)."""
    settable: bool = True
    """False for bookkeeping kept in the group (AdaRem's epoch counter) and for options an
    optimizer pins (ND-Adam's ε placement): not constructor arguments, still validated."""

    def check(self, value: Any) -> Any:
        return self.domain.check(self.name, value)


@dataclass(frozen=True)
class Constraint:
    """A condition that ties several options of one group together."""

    names: tuple[str, ...]
    holds: Callable[[Mapping[str, Any]], bool]
    message: str


LR = Hyperparameter("lr", Interval(0.0), 1e-3, "the learning rate α (η̂ for AdaRem), ≥ 0, finite")
FOREACH = Hyperparameter(
    "foreach",
    Optional(Flag()),
    None,
    "multi-tensor kernels (None: on); both paths compute the same algorithm",
)
Table = dict[str, Hyperparameter]
SHARED: tuple[Hyperparameter, ...] = (LR, FOREACH)
"""The options every optimizer has, whatever its recipe."""
CAPTURABLE = Hyperparameter(
    "capturable",
    Flag(),
    False,
    "no host synchronisation in step(): device step counters, a tensor lr allowed, the "
    "non-finite policy applied on the device (docs/PERFORMANCE.md)",
)
FUSED = Hyperparameter(
    "fused",
    Optional(Flag()),
    None,
    "the capturable step compiled by torch.compile into one graph (None: off; docs/PERFORMANCE.md)",
)
EXECUTION: Table = {h.name: h for h in (CAPTURABLE, FUSED)}
"""How a step is executed, not what it computes: group options of every optimizer, kept
out of :func:`table` (the algorithm's options, which the references and the option sets
read). Validated with the group; a loaded state keeps the loading optimizer's choice."""


def table(
    recipe: Iterable[Any],
    defaults: Mapping[str, Any] | None = None,
    pinned: Mapping[str, Any] | None = None,
) -> Table:
    """The hyperparameters an optimizer with ``recipe`` has, in declaration order.

    ``defaults`` replaces declared defaults (AdamW's decay, AdaBelief's ε placement);
    ``pinned`` fixes options the recipe's units read but the method does not let
    vary (ND-Adam's ε outside the root): their domain shrinks to the one value.
    A name declared by two units must be declared the same way.
    """
    declared: Table = {}
    for declaration in (*SHARED, *(h for unit in recipe for h in declarations_of(unit))):
        known = declared.setdefault(declaration.name, declaration)
        if known != declaration:
            raise TypeError(f"option {declaration.name!r} is declared two different ways")
    undeclared = sorted(set(defaults or {}).union(pinned or {}) - set(declared))
    if undeclared:
        raise TypeError(f"no unit of the recipe declares {', '.join(undeclared)}")
    for name, value in (defaults or {}).items():
        declared[name] = replace(declared[name], default=value)
    for name, value in (pinned or {}).items():
        declared[name] = replace(
            declared[name], domain=Choice((value,)), default=value, settable=False
        )
    return declared


def declarations_of(unit: Any) -> tuple[Hyperparameter, ...]:
    """The options a unit reads: its own, and those of the tensor selector it was built with
    (``applies``, e.g. ND-Adam's ``vectorwise`` switch)."""
    selector = getattr(unit, "applies", None)
    return (*getattr(unit, "hyperparameters", ()), *getattr(selector, "hyperparameters", ()))


def constraints(recipe: Iterable[Any]) -> tuple[Constraint, ...]:
    """The cross-option conditions the recipe's units declare."""
    return tuple(c for unit in recipe for c in getattr(unit, "constraints", ()))


def check_declared(
    declared: Mapping[str, Hyperparameter],
    group: Mapping[str, Any],
    *,
    where: str = "",
    only: Collection[str] | None = None,
) -> dict[str, Any]:
    """Each option of ``declared`` (just those in ``only`` if given) as ``group`` holds it,
    checked against its domain and in canonical form; ``ValueError`` (prefixed ``where``)
    for the first one missing or out of its domain. No cross-option constraints."""
    checked: dict[str, Any] = {}
    for name, declaration in declared.items():
        if only is not None and name not in only:
            continue
        if name not in group:
            raise ValueError(f"{where}option {name} is missing")
        try:
            checked[name] = declaration.check(group[name])
        except ValueError as error:
            raise ValueError(f"{where}{error}") from None
    return checked


def validate_group(
    declared: Table,
    conditions: Iterable[Constraint],
    group: Mapping[str, Any],
    *,
    where: str = "",
    only: Collection[str] | None = None,
) -> dict[str, Any]:
    """``group``'s options checked and in canonical form; ``ValueError`` naming the first bad one.

    Every declared option must be present and in its domain. Other keys are
    left alone: torch lets users tag groups and schedulers keep their own
    entries there (``initial_lr``). ``where`` prefixes the message
    (``"param group 1: "``). ``only``: check just these options (the others known good);
    the constraints are checked either way.
    """
    checked = check_declared(declared, group, where=where, only=only)
    options = {name: group[name] for name in declared} | checked
    for condition in conditions:
        if not condition.holds(options):
            raise ValueError(f"{where}{condition.message}")
    return checked
