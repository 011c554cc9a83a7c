"""Channel-count scaling shared by every architecture's ``width`` argument."""

from __future__ import annotations


def scaled(channels: float, width: float) -> int:
    """Return ``channels * width`` rounded to the nearest integer, at least 1.

    Reduced-scale runs shrink every layer by the same factor; rounding (rather
    than truncating) keeps e.g. WRN-22-7.5's 16 * 7.5 = 120 channels exact, and
    the floor of 1 keeps tiny widths from producing empty layers.
    """
    if width <= 0:
        raise ValueError(f"width must be positive, got {width}")
    return max(1, round(channels * width))
