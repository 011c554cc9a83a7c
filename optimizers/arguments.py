"""Argument types shared by every command line of the suite (kept in the lowest layer,
``optimizers``, so that every layer's commands can use them).

An out-of-range value is refused by argparse itself, so it is a usage error
(exit status 2, with a message) before any data is loaded or anything runs.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def int_at_least(low: int) -> Callable[[str], int]:
    """An argparse ``type``: an integer no smaller than ``low``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    parse.__name__ = f"integer >= {low}"  # argparse names the type in its messages
    return parse


def float_above(low: float) -> Callable[[str], float]:
    """An argparse ``type``: a finite number strictly greater than ``low``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value) or value <= low:
            raise argparse.ArgumentTypeError(f"must be a finite number above {low:g}, got {text}")
        return value

    parse.__name__ = f"number > {low:g}"
    return parse
