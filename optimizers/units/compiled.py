"""Opt-in ``torch.compile``d kernels for the CPU: one fused pass where eager ops take several.

A multi-tensor path built from ATen ops reads and writes every buffer once
per op; inductor fuses a unit's whole elementwise chain into one loop per
tensor, all tensors of the group in one compiled call. That matters where a
unit is a long chain (diffGrad's friction: subtract, abs, sigmoid, divide,
copy). It is off by default: the first step compiles (about 30 s for a
hundred tensors on a cold cache; inductor caches on disk), so does a step
whose group has a new layout (another set of tensors with gradients, other
dtypes), and it needs a C++ compiler: short runs and the tests should not
pay that. It applies to CPU tensors only; on CUDA the foreach ops already
run as a few multi-tensor kernels.

    from optimizers.units import compiled
    compiled.enable()
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable

import torch
from torch import Tensor

_state = {"enabled": False}


def enable(flag: bool = True) -> None:
    """Use the compiled kernels from now on (``False`` goes back to the foreach paths)."""
    _state["enabled"] = flag


def enabled() -> bool:
    return _state["enabled"]


@functools.cache
def _compiled(fn: Callable[..., None]) -> Callable[..., None]:
    # One compiled call per step for the whole group: a call into a compiled
    # function costs 50-100 µs of guards and wrappers, which, paid per tensor,
    # ate the whole gain. dynamic=True: one kernel source for every size. The
    # price is a compilation per group layout (number and dtypes of tensors),
    # about 30 s for a hundred tensors on a cold cache.
    def over_lists(*lists: list[Tensor]) -> None:
        for group in zip(*lists, strict=True):
            fn(*group)

    return torch.compile(over_lists, dynamic=True, fullgraph=True)


def run(fn: Callable[..., None], *lists: list[Tensor]) -> bool:
    """Run ``fn`` (in-place work on its arguments) on each tuple of tensors from
    ``lists``, compiled into one call; ``False``, with nothing done, where it does
    not apply (disabled, or a tensor off the CPU), so the caller takes its
    foreach path.

    If compilation fails (no compiler, an unsupported build), ``fn`` runs eagerly,
    with a warning, and the kernels are switched off; compilation fails before
    anything is written.
    """
    if not enabled() or not all(t.device.type == "cpu" for group in lists for t in group):
        return False
    try:
        # 0-d tensors go in as 1-element views: inductor (torch 2.13) lost the
        # in-place writes to 0-d inputs of such a list-looping graph.
        _compiled(fn)(*([t.view(1) if t.ndim == 0 else t for t in group] for group in lists))
        return True
    except Exception as error:  # any failure to compile means: run eagerly
        warnings.warn(
            f"optimizers: torch.compile failed ({type(error).__name__}: {error}); "
            "continuing without compiled kernels",
            RuntimeWarning,
            stacklevel=2,
        )
        enable(False)
    for group in zip(*lists, strict=True):
        fn(*group)
    return True
