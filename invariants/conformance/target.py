"""The implementation under test: an importable optimizer class and its arguments.

A target is named ``package.module:Class`` (or given as a class) with keyword
arguments. The reference it is compared with takes the hyperparameters both
sides name the same way (``lr``, ``betas``, ``eps``, ``weight_decay``), read off
the target's own ``defaults`` after construction, so a library's defaults are
compared as the library applies them; anything else is passed explicitly.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from optimizers.registry import REGISTRY

SHARED_HYPERPARAMETERS = ("lr", "betas", "eps", "weight_decay", "momentum")
"""Names whose meaning torch.optim fixed and every library surveyed follows."""


class TargetError(ValueError):
    """The target cannot be imported, built, or compared with the named method."""


def load_class(spec: str) -> Callable[..., torch.optim.Optimizer]:
    """Import ``package.module:Class`` (``Class`` may be dotted, e.g. ``mod:Outer.Inner``)."""
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise TargetError(f"target {spec!r}: expected 'package.module:Class'")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as error:
        raise TargetError(f"target {spec!r}: cannot import {module_name!r}: {error}") from error
    for part in attribute.split("."):
        if not hasattr(obj, part):
            raise TargetError(f"target {spec!r}: {module_name!r} has no attribute {attribute!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise TargetError(f"target {spec!r}: {attribute!r} is not callable")
    return obj


def parse_kwargs(text: str | Sequence[str] | None) -> dict[str, Any]:
    """Keyword arguments from a JSON object or ``key=value`` items (Python literals).

    ``'{"lr": 0.01}'``, ``["lr=0.01", "betas=(0.9, 0.99)", "adanorm=True"]`` and
    ``"lr=0.01,adanorm=True"`` are all accepted.
    """
    if text is None or text == "" or text == []:
        return {}
    if isinstance(text, str):
        stripped = text.strip()
        if stripped.startswith("{"):
            try:
                value = json.loads(stripped)
            except json.JSONDecodeError as error:
                raise TargetError(f"keyword arguments {text!r}: invalid JSON: {error}") from error
            if not isinstance(value, dict):
                raise TargetError(f"keyword arguments {text!r}: expected a JSON object")
            return {str(k): _tuple_lists(v) for k, v in value.items()}
        items = _split_items(stripped)
    else:
        items = list(text)
    kwargs: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise TargetError(f"keyword argument {item!r}: expected name=value")
        try:
            kwargs[key] = ast.literal_eval(raw.strip())
        except (ValueError, SyntaxError):
            kwargs[key] = raw.strip()  # a bare word such as eps_mode=inside
    return kwargs


def _split_items(text: str) -> list[str]:
    """Split ``a=1,b=(1, 2)`` at the commas outside brackets."""
    items, depth, current = [], 0, ""
    for char in text:
        depth += char in "([{"
        depth -= char in ")]}"
        if char == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += char
    if current.strip():
        items.append(current)
    return items


def _tuple_lists(value: Any) -> Any:
    # JSON has no tuples; torch's betas and friends are compared as tuples.
    return tuple(value) if isinstance(value, list) else value


@dataclass
class Target:
    """An optimizer class with its keyword arguments, and the method it claims."""

    factory: Callable[..., torch.optim.Optimizer]
    method: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    reference_kwargs: dict[str, Any] = field(default_factory=dict)
    """Explicit reference hyperparameters (for names the two sides spell differently)."""
    label: str = ""

    def __post_init__(self) -> None:
        if self.method not in REGISTRY:
            raise TargetError(f"unknown method {self.method!r}; known: {', '.join(REGISTRY)}")
        if not self.label:
            self.label = f"{getattr(self.factory, '__module__', '?')}:" + getattr(
                self.factory, "__qualname__", repr(self.factory)
            )

    @classmethod
    def from_spec(
        cls,
        spec: str,
        method: str,
        kwargs: str | Sequence[str] | dict[str, Any] | None = None,
        reference_kwargs: str | Sequence[str] | dict[str, Any] | None = None,
    ) -> Target:
        as_dict = kwargs if isinstance(kwargs, dict) else parse_kwargs(kwargs)
        ref = reference_kwargs
        if not isinstance(ref, dict):
            ref = parse_kwargs(ref)
        return cls(load_class(spec), method, dict(as_dict), dict(ref), label=spec)

    # -- building -----------------------------------------------------------
    def accepts(self, name: str) -> bool:
        """Whether the constructor takes keyword ``name`` (or any keyword)."""
        try:
            parameters = inspect.signature(self.factory).parameters
        except (TypeError, ValueError):
            return True
        return name in parameters or any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
        )

    def build(self, params: Sequence[torch.Tensor], **overrides: Any) -> torch.optim.Optimizer:
        arguments = {**self.kwargs, **overrides}
        try:
            optimizer = self.factory(list(params), **arguments)
        except Exception as error:
            raise TargetError(
                f"{self.label}({_show(arguments)}) could not be constructed: "
                f"{type(error).__name__}: {error}"
            ) from error
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TargetError(f"{self.label} built a {type(optimizer).__name__}, not an Optimizer")
        return optimizer

    def reference_arguments(self, **overrides: Any) -> dict[str, Any]:
        """The reference's hyperparameters: shared names from the target's applied
        defaults, then the explicit reference arguments, then ``overrides``."""
        probe = self.build([torch.zeros(1, dtype=torch.float64)], **overrides)
        applied = dict(probe.defaults)
        accepted = inspect.signature(REGISTRY[self.method].reference.__init__).parameters
        arguments = {
            name: _plain(applied[name])
            for name in SHARED_HYPERPARAMETERS
            if name in applied and name in accepted and applied[name] is not None
        }
        arguments.update(self.reference_kwargs)
        arguments.update({k: v for k, v in overrides.items() if k in accepted})
        unknown = sorted(set(self.reference_kwargs) - set(accepted))
        if unknown:
            raise TargetError(
                f"reference {self.method} takes no argument(s) {', '.join(unknown)}; it takes "
                + ", ".join(n for n in accepted if n not in ("self", "params"))
            )
        return arguments


def _plain(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return float(value)
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    return value


def _show(arguments: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in arguments.items())
