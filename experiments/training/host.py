"""Process-wide settings that make training on the host CPU faster without changing a number.

:func:`retain_freed_memory` is called by :func:`experiments.training.loop.train` for CPU
runs, so every way of training (the report's workers, a sequential study, a test) gets it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
RETAINED_BYTES = 512 << 20
"""Freed memory below this size stays with the process (see :func:`retain_freed_memory`)."""


@functools.cache
def retain_freed_memory(limit: int = RETAINED_BYTES) -> bool:
    """Keep freed blocks up to ``limit`` bytes in the process's heap for reuse; True if set.

    Each CPU training step allocates and frees activations of a few MB. By default glibc
    serves blocks that size with fresh ``mmap`` pages and returns them on ``free``, so
    every step pays page faults to zero new pages: measured about a quarter of a reduced
    study run's CPU time, in system time. Raising both thresholds (only both together
    help: the trim threshold alone switches off glibc's adaptive mmap threshold) makes
    those blocks heap memory that later steps reuse. Where the C library is not glibc it
    does nothing and returns False.
    """
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, limit)) and bool(mallopt(_M_TRIM_THRESHOLD, limit))
