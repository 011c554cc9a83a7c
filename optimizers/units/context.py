"""What a unit sees: one param group during one ``step()``."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

REDUCED_PRECISION = (torch.float16, torch.bfloat16)
"""Dtypes whose arithmetic torch carries out in float32 (its "opmath" type)."""


def accumulation_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype statistics and reductions of a ``dtype`` tensor are formed in.

    float32 for float16/bfloat16, as torch's own kernels do (``addcmul`` in
    ``torch.optim.Adam`` squares a float16 gradient in float32 before scaling
    it by ``1-β2``, so g = 300 gives v = 90, not ∞); the dtype itself otherwise,
    which leaves float32 and float64 arithmetic bit for bit as it is.
    """
    return torch.float32 if dtype in REDUCED_PRECISION else dtype


def widened(x: Tensor) -> Tensor:
    """``x`` in its :func:`accumulation_dtype` (``x`` itself when that is its dtype)."""
    wide = accumulation_dtype(x.dtype)
    return x if x.dtype == wide else x.to(wide)


def norm(x: Tensor) -> Tensor:
    """``‖x‖₂`` accumulated in the :func:`accumulation_dtype` (a float16 layer's norm
    may exceed 65504 while its entries do not)."""
    return torch.linalg.vector_norm(x, dtype=accumulation_dtype(x.dtype))


def row_shape(x: Tensor) -> tuple[int, ...]:
    """The shape of one value per row of ``x.reshape(rows, -1)`` that broadcasts against ``x``."""
    return (x.shape[0],) + (1,) * (x.ndim - 1)


def as_rows(x: Tensor) -> Tensor:
    """View a weight tensor as its weight vectors: one row per output unit.

    The row length is spelled out rather than ``-1``, which is ambiguous (and
    refused) for a tensor with no rows.
    """
    return x.reshape(x.shape[0], math.prod(x.shape[1:]))


class WholeTensor:
    """The per-tensor reductions a unit takes, over one whole tensor (or each of its rows).

    Units reduce through ``ctx.over(i)`` instead of calling ``x.sum()`` themselves, so
    that the same recipe runs on the flat layout of the fused step, where entry ``i``
    holds many tensors and a reduction is one value per tensor, repeated on each of
    its chunks (:class:`optimizers.flat.Segments`). These are the definition's: the
    arithmetic every other path is checked against. Each result broadcasts against ``x``.
    """

    @staticmethod
    def sum(x: Tensor) -> Tensor:
        """``Σ x`` (in ``x``'s dtype: callers widen first)."""
        return torch.sum(x)

    @staticmethod
    def norm(x: Tensor, widen: bool = True) -> Tensor:
        """``‖x‖₂``, in the :func:`accumulation_dtype` unless ``widen`` is False."""
        return norm(x) if widen else torch.linalg.vector_norm(x)

    @staticmethod
    def mean(x: Tensor) -> Tensor:
        """The mean of ``x``; 0 for an empty tensor (the mean of nothing would be NaN)."""
        return x.mean() if x.numel() else x.new_zeros(())

    @staticmethod
    def peak(x: Tensor) -> Tensor:
        """``max x``; 0 for an empty tensor (for ``x ≥ 0``, e.g. ``|m|``)."""
        return x.max() if x.numel() else x.new_zeros(())

    @staticmethod
    def row_sums(x: Tensor) -> Tensor:
        """``Σ`` over each row of ``x.reshape(rows, -1)``, shaped by :func:`row_shape`."""
        return as_rows(x).sum(dim=1).reshape(row_shape(x))

    @staticmethod
    def row_norms(x: Tensor) -> Tensor:
        """``‖row‖₂`` of each row of ``x.reshape(rows, -1)``, in ``x``'s dtype."""
        return torch.linalg.vector_norm(as_rows(x), dim=1).reshape(row_shape(x))


WHOLE_TENSOR = WholeTensor()


@torch.library.custom_op("optimizers::settled", mutates_args=())
def settled(x: Tensor) -> Tensor:
    """A copy of ``x`` that ``torch.compile`` computes once and stores.

    Inductor inlines a small pointwise result (``1 - β1^t`` from a 0-d step count) into
    every loop that reads it, so the compiled flat step formed two ``pow`` per vector
    of 16 values and ran several times slower than its memory traffic allows. An opaque
    op is a buffer of its own: its loops read the stored value instead.
    """
    return x.clone()


@settled.register_fake
def _(x: Tensor) -> Tensor:
    return torch.empty_like(x)


Scalar = float | Tensor
"""A per-tensor number: a Python float, or a tensor that broadcasts against the parameter
(0-d for one value per layer, a column for one value per row, or full size)."""


@dataclass
class Quotient:
    """Directions kept unevaluated: ``direction_i = numerators_i · scales_i / denominators_i``.

    The multi-tensor paths leave the step in this form so that
    :class:`~optimizers.units.ApplyUpdate` can fold rate, scale and division into
    one ``addcdiv`` (or ``addcmul``) over the parameters instead of writing the
    direction out and reading it back. A denominator that is a tensor belongs to
    this step (a workspace buffer or a fresh tensor, never state), so later
    units (diffGrad's friction) may rescale it in place. Entry ``i`` is
    evaluated, exactly as written above, only when something reads
    ``ctx.directions`` (an observer, or a unit without a multi-tensor path).
    """

    numerators: list[Tensor]
    scales: list[Scalar]
    denominators: list[Scalar]

    def evaluate(self, i: int) -> Tensor:
        direction = self.numerators[i] * self.scales[i]
        return direction / self.denominators[i]


@dataclass
class GroupStep:
    """The working values of one param group during one optimizer step.

    Lists are aligned: entry ``i`` of every list belongs to ``params[i]``. Only
    parameters that have a gradient this step are present. Units read and
    replace list entries; they never modify ``param.grad``.
    """

    group: dict[str, Any]
    params: list[Tensor]
    grads: list[Tensor]
    """The gradient g_t after preprocessing (L2 decay, tangent projection)."""
    states: list[dict[str, Any]]
    steps: list[int] | list[Tensor]
    """t for each tensor: 1 on its first step (a float64 device tensor when capturable)."""
    foreach: bool
    capturable: bool = False
    """No host synchronisation: ``steps`` and maybe the rates are device tensors, and a
    unit decides data-dependent cases with ``torch.where`` instead of a Python branch."""
    first_inputs: list[Tensor] | None = None
    """What the first moment averages (AdaNorm's s_t); ``None`` means the gradient."""
    square_inputs: list[Tensor] | None = None
    """What stands for g in the second-moment statistic; ``None`` means the gradient."""
    statistics: list[Tensor] = field(default_factory=list)
    """The per-step statistic whose EMA is the second moment (g², (g-m)², ...)."""
    rates: list[float] = field(default_factory=list)
    """The rate per tensor (``lr`` unless a unit says otherwise, e.g. ND-Adam's scalar set)."""
    workspace: MutableMapping[Tensor, dict[str, Tensor]] = field(default_factory=dict)
    """Per-parameter scratch buffers that outlive the step (see :meth:`buffers`)."""
    group_state_of: Callable[[], dict[str, Any]] = dict
    """Returns the home of group-wide quantities (a global norm EMA); called only
    by units that keep such state, so other optimizers add no state entry.
    See :meth:`optimizers._base.RecipeOptimizer.group_state`."""
    grad_norms: list[Tensor | None] | None = None
    """‖param.grad‖₂ per tensor if the optimizer already computed it (its finiteness check)."""
    pending: Quotient | None = None
    """The step in unevaluated form (multi-tensor paths), or ``None``."""
    segments: list[Any] | None = None
    """Under the flat layout of the fused step (:mod:`optimizers.flat`): entry ``i`` is a
    block of many tensors, ``segments[i]`` its reductions and ``exemplars[i]`` one of its
    parameters; ``None`` means each entry is one tensor."""
    exemplars: list[Tensor] | None = None
    _directions: list[Tensor] = field(default_factory=list)
    _slots: list[dict[str, Tensor]] | None = None
    """Each parameter's workspace entry, looked up once per step (weak-keyed lookups cost µs)."""

    @property
    def directions(self) -> list[Tensor]:
        """The update per unit rate: ``θ ← θ - rate · direction``."""
        if self.pending is not None:
            return [self.pending.evaluate(i) for i in range(len(self.params))]
        return self._directions

    @directions.setter
    def directions(self, values: list[Tensor]) -> None:
        self.pending = None
        self._directions = values

    def over(self, i: int) -> Any:
        """The per-tensor reductions of entry ``i`` (:class:`WholeTensor`, or a flat block's
        :class:`optimizers.flat.Segments`)."""
        return WHOLE_TENSOR if self.segments is None else self.segments[i]

    def exemplar(self, i: int) -> Tensor:
        """A parameter standing for entry ``i`` in per-tensor choices (its ndim): the entry
        itself, or one of a flat block's tensors, all of which choose alike."""
        return self.params[i] if self.exemplars is None else self.exemplars[i]

    def moment_inputs(self) -> list[Tensor]:
        return self.grads if self.first_inputs is None else self.first_inputs

    def squared_inputs(self) -> list[Tensor]:
        return self.grads if self.square_inputs is None else self.square_inputs

    @property
    def group_state(self) -> dict[str, Any]:
        """State shared by the whole group, serialised with its anchor parameter."""
        return self.group_state_of()

    @property
    def reduced_precision(self) -> bool:
        """Whether some tensor is float16/bfloat16: units then form their statistics
        tensor by tensor in float32 (:func:`widened`) instead of on the fast path."""
        return any(p.dtype in REDUCED_PRECISION for p in self.params)

    def positive_in_every_dtype(self, value: float) -> bool:
        """Whether ``value`` stays > 0 when rounded to each parameter's dtype.

        ε = 1e-8 rounds to 0 in float16, so a fast path that relies on ε > 0 to
        keep denominators positive must not be taken there.
        """
        return value > 0 and all(_positive_in(value, p.dtype) for p in self.params)

    def bias_correction(self, i: int) -> tuple[Scalar, Scalar]:
        """``(1-β1^t, 1-β2^t)`` for entry ``i`` (eqs. 7-8 of paper 000)."""
        beta1, beta2 = self.group["betas"]
        t = self.steps[i]
        return self.settle(1.0 - beta1**t), self.settle(1.0 - beta2**t)

    @property
    def bias_corrections(self) -> list[tuple[Scalar, Scalar]]:
        """:meth:`bias_correction` of every entry."""
        return [self.bias_correction(i) for i in range(len(self.steps))]

    def settle(self, value: Any) -> Any:
        """A per-step scalar (from the step count) as the flat step must hold it: computed
        once (:func:`settled`), not in every loop that reads it; elsewhere ``value``."""
        return settled(value) if self.segments is not None and isinstance(value, Tensor) else value

    def buffers(self, slot: str) -> list[Tensor]:
        """One scratch tensor per parameter, shaped like it, kept between steps.

        On the CPU every freshly allocated parameter-sized temporary costs page
        faults (the allocator hands large blocks back to the system on free), so
        writing a step's intermediates into buffers that persist makes a pass
        several times cheaper. The contents are garbage on entry: a unit must
        write a buffer before reading it, and a ``slot`` holds one intermediate
        at a time (the unit that writes it owns it until the next writer). Slots
        in use: ``"grad"`` (the preprocessed gradient, alive for the whole step),
        ``"work"`` and ``"work2"`` (short-lived intermediates). Buffers are not
        optimizer state: ``state_dict`` never sees them.
        """
        return [self.buffer(slot, i) for i in range(len(self.params))]

    def buffer(self, slot: str, i: int) -> Tensor:
        """The scratch tensor of ``slot`` for parameter ``i`` (see :meth:`buffers`)."""
        if self._slots is None:
            self._slots = [self.workspace.setdefault(p, {}) for p in self.params]
        p, slots = self.params[i], self._slots[i]
        buffer = slots.get(slot)
        if (
            buffer is None
            or buffer.shape != p.shape
            or buffer.dtype != p.dtype
            or buffer.device != p.device
        ):
            buffer = slots[slot] = torch.empty_like(p, memory_format=torch.preserve_format)
        return buffer

    def norms(self, tensors: list[Tensor]) -> list[Tensor]:
        """``‖x‖₂`` of each tensor, as ``torch._foreach_norm`` computes it.

        Where ``tensors[i]`` is still the raw ``params[i].grad``, the norm the
        optimizer's finiteness check took is reused instead of reading g again.
        A float16/bfloat16 tensor's norm is accumulated in float32 (see
        :func:`norm`), so it is not taken from the check, which works in the
        tensor's own dtype.
        """
        known = self.grad_norms or [None] * len(tensors)
        norms = [
            known_norm
            if known_norm is not None and x is p.grad and x.dtype not in REDUCED_PRECISION
            else None
            for known_norm, x, p in zip(known, tensors, self.params, strict=True)
        ]
        missing = [i for i, n in enumerate(norms) if n is None]
        narrow = [i for i in missing if tensors[i].dtype in REDUCED_PRECISION]
        wide = [i for i in missing if tensors[i].dtype not in REDUCED_PRECISION]
        if wide:
            computed = torch._foreach_norm([tensors[i] for i in wide])
            for i, n in zip(wide, computed, strict=True):
                norms[i] = n
        for i in narrow:
            norms[i] = norm(tensors[i])
        return norms  # type: ignore[return-value]

    @property
    def on_cpu(self) -> bool:
        return all(p.device.type == "cpu" for p in self.params)

    def compute(self, slot: str, op: str, *args: Any, **kwargs: Any) -> list[Tensor]:
        """``torch.<op>`` applied tensor by tensor, as a new list of results.

        Each positional argument is a list aligned with the parameters or one
        value for all. On the CPU the results are written into the workspace
        buffers of ``slot`` (``torch.<op>(..., out=buffer)``); elsewhere one
        ``torch._foreach_<op>`` call allocates them, which the CUDA caching
        allocator makes cheap and which launches a few kernels instead of one
        per tensor. Both compute each entry with the same kernel arithmetic.
        """
        if self.on_cpu:
            outs = self.buffers(slot)
            fn = getattr(torch, op)
            for i, out in enumerate(outs):
                fn(*(_entry(a, i) for a in args), out=out, **kwargs)
            return outs
        return list(getattr(torch, f"_foreach_{op}")(*args, **kwargs))

    def squared_differences(self, slot: str, a: list[Tensor], b: list[Tensor]) -> list[Tensor]:
        """``(a_i - b_i)²`` per tensor, bit for bit ``(a - b).square()``.

        On the CPU in one pass per tensor: ``mse_loss`` without reduction is
        exactly that elementwise kernel (difference, then its square) and takes
        ``out=``; elsewhere two foreach ops.
        """
        if self.on_cpu:
            outs = self.buffers(slot)
            for x, y, out in zip(a, b, outs, strict=True):
                torch._C._nn.mse_loss(x, y, 0, out=out)  # 0: no reduction
            return outs
        differences = list(torch._foreach_sub(a, b))
        torch._foreach_mul_(differences, differences)
        return differences


def _positive_in(value: float, dtype: torch.dtype) -> bool:
    # A positive number rounds to 0 in ``dtype`` exactly when it is at most half the
    # smallest subnormal (the tie rounds to even, 0). Pure arithmetic: no tensor, so
    # nothing for torch.compile to trace or synchronise.
    info = torch.finfo(dtype)
    return value > 0 and value > info.eps * info.smallest_normal / 2  # eps·tiny: the subnormal


def _entry(arg: Any, i: int) -> Any:
    return arg[i] if isinstance(arg, list | tuple) else arg


def by_kind(tensors: Sequence[Tensor]) -> list[list[int]]:
    """Indices grouped by (device, dtype), as the foreach kernels group their lists.

    Scalar-per-tensor arithmetic (norm EMAs, projection coefficients) is done on
    one stacked vector per kind instead of on a hundred 0-d tensors: a handful
    of kernel calls instead of hundreds, and elementwise IEEE arithmetic gives
    the same bits either way.
    """
    kinds: dict[tuple[torch.device, torch.dtype], list[int]] = defaultdict(list)
    for i, t in enumerate(tensors):
        kinds[(t.device, t.dtype)].append(i)
    return list(kinds.values())


class Unit:
    """One idea of one paper, applied to a param group.

    ``init_state`` adds the buffers this unit owns to a parameter's state the
    first time the parameter is stepped; ``__call__`` does the unit's work.
    ``hyperparameters`` declares the group options the unit reads
    (:class:`optimizers._hyperparameters.Hyperparameter`), ``constraints`` the
    conditions that tie them together.
    """

    hyperparameters: tuple[Any, ...] = ()
    constraints: tuple[Any, ...] = ()
    group_slots: tuple[str, ...] = ()
    """The state entries this unit keeps once per group (in ``ctx.group_state``), not per
    tensor: the flat layout leaves them out of its blocks."""
    reduces_rows: bool = False
    """Whether the unit may reduce over the rows of ``θ.reshape(rows, -1)`` (``ctx.over(i).
    row_sums``): the flat layout then gives every row of a weight a chunk of its own."""
    reduction_reads: int = 0
    """Parameter-sized tensors this unit must read in a pass of its own before the
    pointwise update can run (a per-tensor reduction whose result scales the step: ‖g‖,
    ⟨m, g⟩, a layer mean). The benchmark's memory-traffic floor adds them
    (:func:`optimizers.benchmark.floor_bytes_per_parameter`)."""

    def init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {}

    def __call__(self, ctx: GroupStep) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


def zeros_like(param: Tensor) -> Tensor:
    return torch.zeros_like(param, memory_format=torch.preserve_format)
