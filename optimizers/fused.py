"""``fused=True``: the capturable step compiled by ``torch.compile`` into one graph.

:meth:`optimizers._base.RecipeOptimizer._masked_step` (every group's single-tensor
recipe with device step counters, then the non-finite mask) is compiled whole, with
``fullgraph=True`` (a graph break would be a host synchronisation) and ``dynamic=True``
(tensor sizes symbolic: one compile serves every size of the same layout), by inductor,
which emits C++ on the CPU and Triton on CUDA from the same code. A parameter's first
step runs eagerly (it creates the state, so the graph sees the state's final
structure); a new layout (another set of tensors with gradients, other dtypes) compiles
again. See docs/PERFORMANCE.md for what it costs and why ``fused=None`` means off.

Without a working compiler (no C++ compiler, an unsupported build) the first fused step
raises :class:`FusedStepUnavailable` before anything is changed: the user asked for the
compiled step, so it is not silently replaced; ``capturable=True`` without ``fused``
runs the same step eagerly.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
import torch._dynamo
from torch import Tensor

BACKEND = "inductor"
"""The ``torch.compile`` backend of the fused step. The tests of the fused step's semantics
swap in "aot_eager" (the same traced and functionalised graph, run by ATen: no C++ compile),
and keep a few inductor compiles."""


class FusedStepUnavailable(RuntimeError):
    """``torch.compile`` could not build the fused step; no parameter or state was changed."""


def run(optimizer: Any, collected: list[tuple[list[Tensor], list[Tensor]]]) -> None:
    """One fused step of ``optimizer`` over ``collected`` (params and grads per group)."""
    if _loses_writes(optimizer, collected):
        _warn_once(optimizer)
        optimizer._masked_step(collected)
        return
    if optimizer._compiled_step is None:
        optimizer._compiled_step = torch.compile(
            optimizer._masked_step, fullgraph=True, dynamic=True, backend=BACKEND
        )
    try:
        optimizer._compiled_step(collected)
    except torch._dynamo.exc.BackendCompilerFailed as error:
        raise FusedStepUnavailable(
            f"{type(optimizer).__name__}(fused=True): torch.compile could not build the step "
            f"({type(error.inner_exception).__name__}: {error.inner_exception}); nothing was "
            "changed. capturable=True runs the same step without a compiler."
        ) from error


def _loses_writes(optimizer: Any, collected: list[tuple[list[Tensor], list[Tensor]]]) -> bool:
    # torch 2.13's aot_autograd drops in-place writes to 0-d float64 CPU inputs of a
    # compiled graph (test_the_float64_workaround_is_still_needed); such a step runs eagerly.
    return any(
        t.ndim == 0 and t.dtype == torch.float64 and t.device.type == "cpu"
        for t in optimizer._stepped_tensors(collected).values()
    )


def _warn_once(optimizer: Any) -> None:
    if getattr(optimizer, "_warned_eager_fused", False):
        return
    optimizer._warned_eager_fused = True
    warnings.warn(
        f"{type(optimizer).__name__}(fused=True): a 0-d float64 CPU tensor is stepped, whose "
        "in-place update torch.compile (torch 2.13) loses; this optimizer runs its capturable "
        "step eagerly",
        RuntimeWarning,
        stacklevel=4,
    )
