"""``fused=True``: the capturable step over the flat layout, compiled by ``torch.compile``.

Each param group's tensors live in a few flat buffers (:mod:`optimizers.flat`), and
:func:`optimizers.flat.masked_step` (every group's recipe, entry by block, then the
non-finite mask) is compiled whole, with ``fullgraph=True`` (a graph break would be a
host synchronisation) and ``dynamic=True`` (sizes symbolic), by inductor, which emits
C++ on the CPU and Triton on CUDA from the same code. The graph has one entry per block
(a (device, dtype, ndim ≥ 2) class of tensors), not one per tensor: it compiles in
seconds, and the same compiled step serves every model with as many blocks. A
parameter's first step runs eagerly (it creates the state, which the layout then
takes in). See docs/PERFORMANCE.md for what it costs.

Without a working compiler (no C++ compiler, an unsupported build) the first fused step
raises :class:`FusedStepUnavailable` before anything is changed: the user asked for the
compiled step, so it is not silently replaced; ``capturable=True`` without ``fused``
runs the per-tensor step eagerly.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
import torch._dynamo
from torch import Tensor

from optimizers import flat

BACKEND = "inductor"
"""The ``torch.compile`` backend of the fused step. The tests of the fused step's semantics
swap in "aot_eager" (the same traced and functionalised graph, run by ATen: no C++ compile),
and keep a few inductor compiles."""


class FusedStepUnavailable(RuntimeError):
    """``torch.compile`` could not build the fused step; no parameter or state was changed."""


def run(optimizer: Any, collected: list[tuple[list[Tensor], list[Tensor]]]) -> None:
    """One fused step of ``optimizer`` over ``collected`` (params and grads per group)."""
    entries = flat.plan(optimizer, collected)
    if _loses_writes(entries):
        _warn_once(optimizer)
        flat.masked_step(optimizer.recipe, entries, optimizer.skipped_steps)
        _keep_new_group_state(optimizer, entries)
        return
    if optimizer._compiled_step is None:
        optimizer._compiled_step = torch.compile(
            flat.masked_step, fullgraph=True, dynamic=True, backend=BACKEND
        )
    try:
        optimizer._compiled_step(optimizer.recipe, entries, optimizer.skipped_steps)
    except torch._dynamo.exc.BackendCompilerFailed as error:
        raise FusedStepUnavailable(
            f"{type(optimizer).__name__}(fused=True): torch.compile could not build the step "
            f"({type(error.inner_exception).__name__}: {error.inner_exception}); nothing was "
            "changed. capturable=True runs the same step without a compiler."
        ) from error
    _keep_new_group_state(optimizer, entries)


def _keep_new_group_state(optimizer: Any, entries: list[dict]) -> None:
    # A unit that creates group-wide state on first use (AdaNorm's global e_t, after a
    # group switched to norm_scope="global") created it in the step's copy of the group state.
    for group, entry in zip(optimizer.param_groups, entries, strict=True):
        if entry["blocks"]:
            home = optimizer.group_state(group)
            for key, value in entry["group_state"].items():
                home.setdefault(key, value)


def _loses_writes(entries: list[dict]) -> bool:
    # torch 2.13's aot_autograd drops in-place writes to 0-d float64 CPU inputs of a
    # compiled graph (test_the_float64_workaround_is_still_needed). The blocks hold no
    # 0-d tensor; group-wide state (AdaNorm's global e_t) may be one: then run eagerly.
    return any(
        t.ndim == 0 and t.dtype == torch.float64 and t.device.type == "cpu"
        for entry in entries
        for t in entry["group_state"].values()
    )


def _warn_once(optimizer: Any) -> None:
    if getattr(optimizer, "_warned_eager_fused", False):
        return
    optimizer._warned_eager_fused = True
    warnings.warn(
        f"{type(optimizer).__name__}(fused=True): its group-wide state holds a 0-d float64 CPU "
        "tensor, whose in-place update torch.compile (torch 2.13) loses; this optimizer runs "
        "its flat step eagerly",
        RuntimeWarning,
        stacklevel=4,
    )
