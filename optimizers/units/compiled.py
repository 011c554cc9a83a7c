"""Opt-in ``torch.compile``d kernels for the CPU: one fused pass where eager ops take several.

A multi-tensor path built from ATen ops reads and writes every buffer once
per op; inductor fuses a unit's whole elementwise chain into one loop per
tensor. That matters where a unit is a long chain (diffGrad's friction:
subtract, abs, sigmoid, divide, copy). It is off by default: the first step
per dtype compiles (seconds, tens of seconds on a cold cache; inductor caches
on disk) and needs a C++ compiler, which short runs and the tests should not
pay. It applies to CPU tensors only: on CUDA the foreach ops already run as
a few multi-tensor kernels, fewer launches than one compiled call per tensor.

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
    # dynamic=True: one kernel for every tensor size, not one per shape.
    return torch.compile(fn, dynamic=True, fullgraph=True)


def run_per_tensor(fn: Callable[..., None], *lists: list[Tensor]) -> bool:
    """Run ``fn`` (in-place work on its arguments) compiled, on flat views of each
    tensor tuple; ``False``, with nothing done, where it does not apply (disabled,
    a non-CPU or non-contiguous tensor) so the caller takes its foreach path.

    If compilation fails (no compiler, an unsupported build), the failing tensor
    and the rest run ``fn`` eagerly, with a warning, and the kernels are switched
    off; compilation fails before a kernel writes anything.
    """
    tensors = [t for group in zip(*lists, strict=True) for t in group]
    if not enabled() or not all(t.device.type == "cpu" and t.is_contiguous() for t in tensors):
        return False
    kernel = _compiled(fn)
    for group in zip(*lists, strict=True):
        flat = [t.view(-1) for t in group]
        if enabled():
            try:
                kernel(*flat)
                continue
            except Exception as error:  # any failure to compile means: run eagerly
                warnings.warn(
                    f"optimizers: torch.compile failed ({type(error).__name__}: {error}); "
                    "continuing without compiled kernels",
                    RuntimeWarning,
                    stacklevel=2,
                )
                enable(False)
        fn(*flat)
    return True
