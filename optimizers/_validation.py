"""Argument checks shared by every optimizer: one clear ValueError per bad argument."""

from __future__ import annotations

import math
from collections.abc import Iterable


def check_interval(
    name: str,
    value: float,
    low: float,
    high: float = math.inf,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """Raise ``ValueError`` unless ``value`` lies in the interval, naming the argument."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    if math.isnan(value):
        raise ValueError(f"{name} must not be NaN")
    below = value <= low if low_open else value < low
    above = value >= high if high_open else value > high
    if below or above:
        left = "(" if low_open else "["
        right = ")" if high_open or math.isinf(high) else "]"
        high_text = "inf" if math.isinf(high) else f"{high:g}"
        raise ValueError(f"{name} must be in {left}{low:g}, {high_text}{right}, got {value!r}")


def check_betas(betas: object) -> None:
    """``betas`` is a pair ``(β1, β2)`` with both in [0, 1)."""
    if not isinstance(betas, tuple | list) or len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    check_interval("betas[0]", betas[0], 0.0, 1.0, high_open=True)
    check_interval("betas[1]", betas[1], 0.0, 1.0, high_open=True)


def check_choice(name: str, value: object, allowed: Iterable[object]) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``allowed``."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")


def check_optional_bool(name: str, value: object) -> None:
    """Per-group tensor-kind switches are ``None`` (decide by shape), ``True`` or ``False``."""
    if value is not None and not isinstance(value, bool):
        raise ValueError(f"{name} must be None, True or False, got {value!r}")
