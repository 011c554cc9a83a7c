"""The domains a hyperparameter may be declared with, each checking one value.

A domain's :meth:`Domain.check` returns the value in its canonical Python form
(NumPy scalars become ``float``/``int``/``bool``, a ``betas`` list a tuple) or
raises one ``ValueError`` that names the argument. The units declare which
domain each group option they read has (:mod:`optimizers._hyperparameters`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


class Domain:
    """The set of values an option may take."""

    def check(self, name: str, value: Any) -> Any:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def invalid_examples(self) -> tuple[Any, ...]:
        """A few values outside the domain, for the database's invalid inputs."""
        raise NotImplementedError


def real(name: str, value: Any) -> float:
    """``value`` as a Python float: ints, floats and NumPy scalars pass; bools and NaN do not."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        # numbers.Real covers NumPy's floating and integer scalars too.
        raise ValueError(f"{name} must be a real number, got {value!r}")
    number = float(value)
    if math.isnan(number):
        raise ValueError(f"{name} must not be NaN")
    return number


@dataclass(frozen=True)
class Interval(Domain):
    """A real interval; an infinite end is always open (``lr=inf`` is no learning rate)."""

    low: float
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False

    def check(self, name: str, value: Any) -> float:
        number = real(name, value)
        below = number <= self.low if self.low_open or math.isinf(self.low) else number < self.low
        above = (
            number >= self.high if self.high_open or math.isinf(self.high) else number > self.high
        )
        if below or above:
            raise ValueError(f"{name} must be in {self.describe()}, got {value!r}")
        return number

    def describe(self) -> str:
        left = "(" if self.low_open or math.isinf(self.low) else "["
        right = ")" if self.high_open or math.isinf(self.high) else "]"
        return f"{left}{self.low:g}, {self.high:g}{right}"

    def invalid_examples(self) -> tuple[Any, ...]:
        below = self.low if self.low_open else self.low - 1.0
        above = self.high if self.high_open or math.isinf(self.high) else self.high + 1.0
        return (below, above, math.nan, "0.1")


@dataclass(frozen=True)
class Integer(Domain):
    """An integer ``≥ low`` (bools are not integers here)."""

    low: int = 0

    def check(self, name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < self.low:
            raise ValueError(f"{name} must be an integer >= {self.low}, got {value!r}")
        return int(value)

    def describe(self) -> str:
        return f"integer >= {self.low}"

    def invalid_examples(self) -> tuple[Any, ...]:
        return (self.low - 1, 1.5, True)


@dataclass(frozen=True)
class Flag(Domain):
    """``True`` or ``False`` (a NumPy bool too); no truthy strings or numbers."""

    def check(self, name: str, value: Any) -> bool:
        if not isinstance(value, bool | np.bool_):
            raise ValueError(f"{name} must be True or False, got {value!r}")
        return bool(value)

    def describe(self) -> str:
        return "True or False"

    def invalid_examples(self) -> tuple[Any, ...]:
        return ("no", 1)


@dataclass(frozen=True)
class Choice(Domain):
    """One of a fixed set of values (strings, for the papers' open choices)."""

    values: tuple[Any, ...]

    def check(self, name: str, value: Any) -> Any:
        if not any(type(value) is type(v) and value == v for v in self.values):
            raise ValueError(f"{name} must be one of {self.values}, got {value!r}")
        return value

    def describe(self) -> str:
        return f"one of {self.values}"

    def invalid_examples(self) -> tuple[Any, ...]:
        return ("not-a-choice",)


@dataclass(frozen=True)
class Optional(Domain):
    """``None`` (meaning stated by the declaration) or a value of ``inner``."""

    inner: Domain

    def check(self, name: str, value: Any) -> Any:
        if value is None:
            return None
        try:
            return self.inner.check(name, value)
        except ValueError as error:
            raise ValueError(f"{error} (or None)") from None

    def describe(self) -> str:
        return f"None or {self.inner.describe()}"

    def invalid_examples(self) -> tuple[Any, ...]:
        return self.inner.invalid_examples()


@dataclass(frozen=True)
class Pair(Domain):
    """A pair ``(x0, x1)`` with each entry in ``entry`` (named ``name[0]``, ``name[1]``)."""

    entry: Domain

    def check(self, name: str, value: Any) -> tuple[Any, Any]:
        if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 2:
            raise ValueError(f"{name} must be a pair ({name}[0], {name}[1]), got {value!r}")
        return (self.entry.check(f"{name}[0]", value[0]), self.entry.check(f"{name}[1]", value[1]))

    def describe(self) -> str:
        return f"pair of {self.entry.describe()}"

    def invalid_examples(self) -> tuple[Any, ...]:
        bad = self.entry.invalid_examples()[0]
        return ((bad, 0.5), (0.5, bad), (0.5,), 0.5)
