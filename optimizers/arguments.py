"""Argument types shared by every command line of the suite (kept in the lowest layer,
``optimizers``, so that every layer's commands can use them).

An out-of-range value is refused by argparse itself, so it is a usage error
(exit status 2, with a message) before any data is loaded or anything runs.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Iterable
from typing import Any


def int_at_least(low: int) -> Callable[[str], int]:
    """An argparse ``type``: an integer no smaller than ``low``."""
    return _bounded(int, "an integer", low, strict=False)


def float_above(low: float) -> Callable[[str], float]:
    """An argparse ``type``: a finite number strictly greater than ``low``."""
    return _bounded(float, "a number", low, strict=True)


def _bounded(kind: Callable[[str], Any], noun: str, low: float, *, strict: bool) -> Any:
    relation = "a finite number above" if strict else "at least"

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {noun}, got {text!r}") from None
        if not math.isfinite(value) or value < low or (strict and value == low):
            raise argparse.ArgumentTypeError(f"must be {relation} {low:g}, got {text}")
        return value

    parse.__name__ = f"{noun} {'>' if strict else '>='} {low:g}"  # argparse names the type
    return parse


def names_from(known: Iterable[str], noun: str) -> Callable[[str], list[str]]:
    """An argparse ``type``: a comma-separated list of at least one ``noun``, each one of
    ``known`` (e.g. ``--optimizers Adam,AdamNorm``)."""
    choices = tuple(known)

    def parse(text: str) -> list[str]:
        names = [part for part in text.split(",") if part]
        unknown = [n for n in names if n not in choices]
        if unknown or not names:
            raise argparse.ArgumentTypeError(
                f"unknown {noun}(s) {unknown} in {text!r}; known: {', '.join(choices)}"
            )
        return names

    parse.__name__ = f"{noun} names"  # argparse names the type in its messages
    return parse
