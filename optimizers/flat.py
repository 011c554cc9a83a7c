"""The flat layout of the fused step: a param group's tensors as views into a few buffers.

``fused=True`` (:mod:`optimizers.fused`) compiles one step over this layout. Each param
group's tensors are split into *blocks*, one per (device, dtype, ndim ≥ 2): the classes
in which every per-tensor choice of a recipe (ND-Adam's weight-vector sets, AdaRem-S's
sphere tensors: :class:`~optimizers._base.NdimAtLeastTwo`) comes out alike. A block keeps

* its parameters, gradients and parameter-shaped state (m, v, g_{t-1}, ...) in one
  buffer each, shaped ``(chunks, chunk)``, every tensor starting on a chunk boundary
  (where the recipe reduces over rows, ND-Adam's weight vectors, a block holds weights
  of one row width and each row of ``θ.reshape(rows, -1)`` is one chunk), the rest
  zero padding. The parameters, ``p.grad`` and the
  state entries become views into these buffers, in the tensor's own memory order
  (a channels_last weight stays channels_last), so a model, ``state_dict`` and autograd
  see them where they always were, and backward accumulates into the gradient buffer;
* per-tensor (and per-row) state, such as the step counter or AdaNorm's e_t, as a
  *column* ``(chunks, 1)`` holding the tensor's value on each of its chunks; the
  per-tensor state entry is a 0-d (or per-row) view of the tensor's first chunk.

The recipe then runs on one entry per block. Elementwise units need nothing: a column
broadcasts against the block as a 0-d tensor broadcasts against its tensor. A
per-tensor reduction (AdaNorm's ‖g‖, a layer mean, Aida's ⟨m, g⟩, ND-Adam's rows)
goes through ``ctx.over(i)``, here :class:`Segments`: partial sums over each chunk, in
float64, added up per tensor and spread back over its chunks. Padding stays zero in
parameters, gradients and moments (every update maps zeros to zero), so sums and norms
need no mask; a mean masks it. The step's graph is the same for every model: one
entry per block, sizes symbolic.

The layout is rebuilt, from the parameters and state where they are, when it no longer
fits: a parameter gained state (its first step, taken eagerly), a model was moved or
cast (its tensors were replaced), or a state dict was loaded. A ``p.grad`` the user
replaced (``zero_grad(set_to_none=True)`` and a fresh backward, or an assignment) is
copied into the buffer and ``p.grad`` pointed back at its view; ``zero_grad
(set_to_none=False)`` keeps the views, so backward writes in place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from optimizers._base import count_skipped, keep_where, run_units
from optimizers.units.context import accumulation_dtype

CHUNK = 512
"""Elements per chunk of a block whose tensors are the segments."""


class FlatLayoutError(RuntimeError):
    """A state entry has a shape the flat layout cannot hold (neither the parameter's,
    nor one value per tensor or per row)."""


@dataclass(frozen=True)
class ShapeOf:
    """What per-tensor choices read of a block's tensors: their ndim (all alike in a block)."""

    ndim: int


class Segments:
    """The per-tensor and per-row reductions of one flat block (``ctx.over(i)``).

    Every result is a column ``(chunks, 1)``: the reduction of the chunk's tensor (or
    row), repeated over its chunks, and 0 on chunks whose tensor is not stepped (which
    the step leaves unchanged; a group-wide reduction over the columns then sees only
    stepped tensors, as the per-tensor path does). Partial sums are formed per chunk in
    float64 and added per segment in float64; the result has the dtype
    :class:`~optimizers.units.context.WholeTensor` gives.
    """

    def __init__(self, block: dict[str, Tensor]) -> None:
        self.tensor_of = block["tensor_of"]
        self.sizes = block["sizes"]
        self.valid = block["valid"]
        self.stepped = block["stepped"]
        self.rows = block["rows"]

    def _spread(self, partial: Tensor) -> Tensor:
        """Per-chunk ``partial`` added up per tensor, as a column over the tensor's chunks."""
        totals = partial.new_zeros(self.sizes.shape[0]).index_add_(0, self.tensor_of, partial)
        return torch.where(self.stepped, totals[self.tensor_of].unsqueeze(1), 0.0)

    def sum(self, x: Tensor) -> Tensor:
        partial = x.sum(dim=1, dtype=torch.float64)
        return self._spread(partial).to(x.dtype)

    def norm(self, x: Tensor, widen: bool = True) -> Tensor:
        partial = torch.linalg.vector_norm(x, dim=1, dtype=torch.float64).square()
        dtype = accumulation_dtype(x.dtype) if widen else x.dtype
        return self._spread(partial).sqrt().to(dtype)

    def mean(self, x: Tensor) -> Tensor:
        partial = torch.where(self.valid, x, 0.0).sum(dim=1, dtype=torch.float64)
        totals = self._spread(partial)
        sizes = self.sizes[self.tensor_of].unsqueeze(1)
        # An empty tensor's mean is 0 (the mean of nothing would be NaN).
        return torch.where(sizes > 0, totals / sizes.clamp(min=1.0), 0.0).to(x.dtype)

    def peak(self, x: Tensor) -> Tensor:
        # For x ≥ 0 (|m|): padding (0) never exceeds the peak, and an empty tensor's is 0.
        partial = x.amax(dim=1)
        totals = partial.new_zeros(self.sizes.shape[0]).scatter_reduce_(
            0, self.tensor_of, partial, "amax", include_self=True
        )
        return torch.where(self.stepped, totals[self.tensor_of].unsqueeze(1), 0.0)

    # A block laid out by rows has one row per chunk: a row's reduction is its chunk's.
    # Any other block holds tensors of ndim < 2 where rows are reduced (ND-Adam's
    # vectorwise=True), whose rows are their single entries.

    def row_sums(self, x: Tensor) -> Tensor:
        if not self.rows:
            return x
        partial = x.sum(dim=1, keepdim=True, dtype=torch.float64)
        return torch.where(self.stepped, partial, 0.0).to(x.dtype)

    def row_norms(self, x: Tensor) -> Tensor:
        if not self.rows:
            return x.abs()
        norms = torch.linalg.vector_norm(x, dim=1, keepdim=True, dtype=torch.float64)
        return torch.where(self.stepped, norms, 0.0).to(x.dtype)


@dataclass
class Block:
    """One (device, dtype, ndim ≥ 2[, row width]) class of a group's tensors, laid out flat."""

    params: list[Tensor]
    chunk: int
    spans: list[tuple[int, int]]
    """Per parameter: its first chunk and its number of chunks."""
    strides: list[tuple[int, ...]]
    """Per parameter: the strides of its view (its own memory order where it is dense)."""
    tensors: dict[str, Tensor]
    """``values``, ``grads`` and ``state/<key>`` buffers; the index tensors of :class:`Segments`."""
    rows: bool
    """Laid out by rows: one row of ``θ.reshape(rows, -1)`` per chunk."""
    grad_views: list[Tensor] = field(default_factory=list)
    data_ptrs: list[int] = field(default_factory=list)
    state_views: list[dict[str, Tensor]] = field(default_factory=list)
    """Per parameter: its state entries that are views into this block."""
    other_keys: list[frozenset[str]] = field(default_factory=list)
    """Per parameter: its tensor state entries left out (group-wide state on the anchor)."""
    pattern: tuple[bool, ...] | None = None
    uniform: bool = False
    """Whether every tensor of the block has taken the same number of steps (the host
    knows: counts equal when the layout was built, and since then all or none stepped).
    The step's scalars (bias corrections, ...) are then formed from one 0-d count, as the
    per-tensor path forms them; a column of counts would carry float64 into every
    elementwise operation (type promotion) and cost a pow per vector of values."""

    def view(self, buffer: Tensor, i: int) -> Tensor:
        """Parameter ``i``'s view into a ``(chunks, chunk)`` buffer."""
        p = self.params[i]
        first = self.spans[i][0] * self.chunk
        return torch.as_strided(buffer, p.shape, self.strides[i], buffer.storage_offset() + first)

    def column_view(self, column: Tensor, i: int, shape: tuple[int, ...]) -> Tensor:
        """Parameter ``i``'s per-tensor (0-d) or per-row view into a ``(chunks, 1)`` column
        (in a block laid out by rows, row ``r`` is the tensor's chunk ``r``)."""
        first = self.spans[i][0]
        if math.prod(shape) == 1:
            return torch.as_strided(column, shape, (0,) * len(shape), first)
        return torch.as_strided(column, shape, (1,) + (0,) * (len(shape) - 1), first)

    def fits(self, state: dict[Tensor, dict[str, Any]]) -> bool:
        """Whether every tensor is still where this layout put it."""
        for p, ptr, views, others in zip(
            self.params, self.data_ptrs, self.state_views, self.other_keys, strict=True
        ):
            if p.data_ptr() != ptr or p.dtype != self.tensors["values"].dtype:
                return False
            entry = state[p]
            if any(entry.get(key) is not view for key, view in views.items()):
                return False
            tensors = {k for k, v in entry.items() if isinstance(v, Tensor)}
            if tensors - views.keys() != others:
                return False  # a state entry added (or removed) since the layout was built
        return True

    def take_gradients(self) -> None:
        """Bring this step's gradients into the buffer and mark which tensors step."""
        pattern = []
        for i, p in enumerate(self.params):
            g, view = p.grad, self.grad_views[i]
            pattern.append(g is not None)
            if g is None:
                view.zero_()  # a group-wide reduction must not see an old gradient
            elif g is not view:
                view.copy_(g)
                p.grad = view
        if any(pattern) and not all(pattern):
            self.uniform = False
        if tuple(pattern) != self.pattern:
            self.pattern = tuple(pattern)
            stepped = torch.zeros(self.tensors["stepped"].shape[0], dtype=torch.bool)
            for (first, count), on in zip(self.spans, pattern, strict=True):
                stepped[first : first + count] = on
            self.tensors["stepped"].copy_(stepped.unsqueeze(1), non_blocking=True)


def _memory_strides(p: Tensor) -> tuple[int, ...]:
    """Strides that keep ``p``'s memory order when it is dense (channels_last stays so),
    contiguous strides otherwise."""
    if p.numel() and is_dense(p):
        return tuple(p.stride())
    return torch.empty(p.shape, device="meta").stride()


def is_dense(p: Tensor) -> bool:
    """Whether ``p``'s elements fill ``p.numel()`` consecutive places of its storage, in
    any order of its dimensions (channels_last is dense): its strides, sorted, are those
    of a contiguous tensor of some permutation of its shape."""
    order = sorted(range(p.ndim), key=lambda d: (p.stride(d), p.shape[d]))
    expected = 1
    for d in order:
        if p.shape[d] != 1 and p.stride(d) != expected:
            return False
        expected *= p.shape[d]
    return True


def _rows_outermost(strides: tuple[int, ...], shape: torch.Size) -> bool:
    return len(shape) >= 2 and strides[0] == math.prod(shape[1:])


def build_block(
    params: list[Tensor],
    state: dict[Tensor, dict[str, Any]],
    width: int | None,
    group_slots: frozenset[str] = frozenset(),
) -> Block:
    """Lay out ``params`` (one device and dtype) flat, move them and their state into
    the buffers, and point every parameter, gradient and state entry at its view.

    ``width``: the block's tensors (ndim ≥ 2) are laid out by rows of ``θ.reshape(rows,
    -1)``, all of this many values, one row per chunk (no padding: a weight keeps its
    strides); ``None``: by tensors, each on ``CHUNK``-value chunks.
    """
    chunk = CHUNK if width is None else max(width, 1)
    spans, strides = [], []
    first = 0
    for p in params:
        stride = _memory_strides(p)
        if width is None:
            count = max(1, math.ceil(p.numel() / chunk))
        else:
            if not _rows_outermost(stride, p.shape):
                stride = torch.empty(p.shape, device="meta").stride()
            count = max(1, p.shape[0])
        spans.append((first, count))
        strides.append(stride)
        first += count
    chunks = first
    device, dtype = params[0].device, params[0].dtype
    tensors: dict[str, Tensor] = {
        "values": torch.zeros(chunks, chunk, dtype=dtype, device=device),
        "grads": torch.zeros(chunks, chunk, dtype=dtype, device=device),
        "stepped": torch.zeros(chunks, 1, dtype=torch.bool, device=device),
    }
    tensor_of = torch.empty(chunks, dtype=torch.long)
    valid = torch.zeros(chunks * chunk, dtype=torch.bool)
    for i, ((start, count), p) in enumerate(zip(spans, params, strict=True)):
        tensor_of[start : start + count] = i
        valid[start * chunk : start * chunk + p.numel()] = True
    tensors["tensor_of"] = tensor_of.to(device)
    tensors["valid"] = valid.view(chunks, chunk).to(device)
    tensors["sizes"] = torch.tensor([float(p.numel()) for p in params], dtype=torch.float64).to(
        device
    )
    rows = width is not None
    # Refuses an odd entry before anything moves.
    kinds = _state_kinds(params, state, rows, group_slots)
    block = Block(list(params), chunk, spans, strides, tensors, rows)
    # A host read of the counts, once per layout.
    block.uniform = len({float(state[p]["step"]) for p in params}) == 1
    _move_parameters(block)
    _move_state(block, state, kinds)
    return block


def _move_parameters(block: Block) -> None:
    values, grads = block.tensors["values"], block.tensors["grads"]
    for i, p in enumerate(block.params):
        view = block.view(values, i)
        view.copy_(p.detach())
        with torch.no_grad():
            p.set_(values.untyped_storage(), view.storage_offset(), p.shape, view.stride())
        block.data_ptrs.append(p.data_ptr())
        grad_view = block.view(grads, i)
        if p.grad is not None:
            grad_view.copy_(p.grad)
            p.grad = grad_view
        block.grad_views.append(grad_view)


def _state_kinds(
    params: list[Tensor],
    state: dict[Tensor, dict[str, Any]],
    rows: bool,
    group_slots: frozenset[str],
) -> dict[str, str]:
    """Per state key that every tensor of the block has (other than the group-wide
    ``group_slots``): "element" (parameter-shaped, one dtype: one buffer) or "segment"
    (one value per tensor or row: a column)."""
    entries = [state[p] for p in params]
    keys = [k for k, v in entries[0].items() if isinstance(v, Tensor) and k not in group_slots]
    kinds = {}
    for key in keys:
        if not all(isinstance(e.get(key), Tensor) for e in entries):
            continue  # group-wide state on the anchor: not the block's
        shapes = [(e[key].shape, p) for e, p in zip(entries, params, strict=True)]
        if all(shape == p.shape for shape, p in shapes) and _one_dtype(entries, key):
            kinds[key] = "element"
        elif all(_per_segment(shape, p, rows) for shape, p in shapes):
            kinds[key] = "segment"
        else:
            raise FlatLayoutError(
                f"state entry {key!r} of shape {tuple(entries[0][key].shape)} is neither "
                "parameter-shaped nor one value per tensor or row; nothing was changed"
            )
    return kinds


def _move_state(block: Block, state: dict[Tensor, dict[str, Any]], kinds: dict[str, str]) -> None:
    """Per state key of the block: one buffer or column, and the entries as views into it."""
    entries = [state[p] for p in block.params]
    block.state_views = [{} for _ in block.params]
    values = block.tensors["values"]
    for key, kind in kinds.items():
        dtype = entries[0][key].dtype
        if kind == "element":
            buffer = torch.zeros_like(values, dtype=dtype)
            for i, e in enumerate(entries):
                view = block.view(buffer, i)
                view.copy_(e[key])
                e[key] = block.state_views[i][key] = view
        else:
            buffer = torch.zeros(values.shape[0], 1, dtype=dtype, device=values.device)
            for i, e in enumerate(entries):
                first, count = block.spans[i]
                value = e[key].detach()
                if math.prod(value.shape) == 1:
                    buffer[first : first + count] = value.reshape(())
                else:  # one value per row, each row one chunk
                    buffer[first : first + value.shape[0]] = value.reshape(-1, 1)
                view = block.column_view(buffer, i, tuple(value.shape))
                e[key] = block.state_views[i][key] = view
        block.tensors[f"state/{key}"] = buffer
    block.other_keys = [
        frozenset(k for k, v in e.items() if isinstance(v, Tensor)) - views.keys()
        for e, views in zip(entries, block.state_views, strict=True)
    ]


def _one_dtype(entries: list[dict[str, Any]], key: str) -> bool:
    """Whether the entries of ``key`` share one dtype (one buffer holds them)."""
    return len({e[key].dtype for e in entries}) == 1


def _per_segment(shape: torch.Size, p: Tensor, rows: bool) -> bool:
    """One value per tensor (0-d, or all ones), or per row ``(rows, 1, ..., 1)`` in a
    block laid out by rows."""
    if (math.prod(shape) == 1 and len(shape) <= p.ndim) or shape == ():
        return True
    return (
        rows
        and p.ndim >= 1
        and len(shape) == p.ndim
        and shape[0] == p.shape[0]
        and all(s == 1 for s in shape[1:])
    )


@dataclass
class GroupLayout:
    """The blocks of one param group (its tensors that have state)."""

    params: tuple[int, ...]
    blocks: list[Block]
    loose: dict[str, Tensor]
    """The group's state that no block holds (AdaNorm's global e_t), by key."""

    def fits(self, group: dict[str, Any], state: dict[Tensor, dict[str, Any]]) -> bool:
        return self.params == _stateful_ids(group, state) and all(
            block.fits(state) for block in self.blocks
        )


def _stateful_ids(group: dict[str, Any], state: dict[Tensor, dict[str, Any]]) -> tuple[int, ...]:
    return tuple(id(p) for p in group["params"] if "step" in state.get(p, ()))


def build_group(
    group: dict[str, Any],
    state: dict[Tensor, dict[str, Any]],
    rows: bool,
    anchor_state: dict[str, Any],
    group_slots: frozenset[str] = frozenset(),
) -> GroupLayout:
    """Blocks for the group's tensors that have state, one per (device, dtype, ndim ≥ 2)."""
    stepped = [p for p in group["params"] if "step" in state.get(p, ())]
    kinds: dict[tuple[Any, ...], list[Tensor]] = {}
    for p in stepped:
        # Where the recipe reduces rows, a block holds weights of one row width.
        width = math.prod(p.shape[1:]) if rows and p.ndim >= 2 else None
        kinds.setdefault((p.device, p.dtype, p.ndim >= 2, width), []).append(p)
    blocks = [build_block(params, state, key[3], group_slots) for key, params in kinds.items()]
    held = {id(v) for block in blocks for views in block.state_views for v in views.values()}
    loose = {k: v for k, v in anchor_state.items() if isinstance(v, Tensor) and id(v) not in held}
    return GroupLayout(_stateful_ids(group, state), blocks, loose)


def plan(optimizer: Any, collected: list[tuple[list[Tensor], list[Tensor]]]) -> list[dict]:
    """Per param group, the tensors of this step's flat step: blocks and loose state.

    Rebuilds a group's layout where it no longer fits, then takes the gradients in.
    """
    layouts: dict[int, GroupLayout] = optimizer.__dict__.setdefault("_flat_layouts", {})
    rows = any(getattr(unit, "reduces_rows", False) for unit in optimizer.recipe)
    group_slots = frozenset(k for unit in optimizer.recipe for k in unit.group_slots)
    entries = []
    for group, (params, _) in zip(optimizer.param_groups, collected, strict=True):
        if not params:
            entries.append({"options": {}, "group_state": {}, "blocks": []})
            continue
        layout = layouts.get(id(group))
        if layout is None or not layout.fits(group, optimizer.state):
            layout = layouts[id(group)] = build_group(
                group, optimizer.state, rows, optimizer.group_state(group), group_slots
            )
        for block in layout.blocks:
            block.take_gradients()
        entries.append(
            {
                # The options and the loose group state, not the optimizer or its param
                # groups: torch.compile lifts every parameter of an optimizer it is given
                # as a graph input, and a parameter aliases its block's buffer.
                "options": {k: v for k, v in group.items() if k != "params"},
                # A copy: a unit that creates group state creates it here (fused.py keeps it).
                "group_state": dict(layout.loose),
                "blocks": [
                    {
                        **block.tensors,
                        "shape": ShapeOf(block.params[0].ndim),
                        "uniform": block.uniform,
                        "rows": block.rows,
                    }
                    for block in layout.blocks
                ],
            }
        )
    return entries


def masked_step(recipe: Any, entries: list[dict], skipped: Tensor) -> None:
    """One step of every group over its flat blocks (``entries``: :func:`plan`), masked
    like the per-tensor capturable step (:meth:`~optimizers._base.RecipeOptimizer.
    _masked_step`): a chunk changes only if its tensor has a gradient and every gradient
    is finite; ``skipped`` counts the steps that were not."""
    blocks = [block for entry in entries for block in entry["blocks"]]
    flags = [
        (torch.isfinite(b["grads"]).all(dim=1, keepdim=True) | ~b["stepped"]).all() for b in blocks
    ]
    finite = torch.stack(flags).all()
    changing = [
        (t, b["stepped"])
        for b in blocks
        for name, t in b.items()
        if name == "values" or name.startswith("state/")
    ]
    changing += [
        (t, torch.stack([b["stepped"].any() for b in entry["blocks"]]).any())
        for entry in entries
        if entry["blocks"]
        for t in entry["group_state"].values()
    ]
    saved = [t.clone() for t, _ in changing]
    for entry in entries:
        if not entry["blocks"]:
            continue
        steps = []
        for b in entry["blocks"]:
            counts = b["state/step"]
            counts.add_(1)
            # As the per-tensor path: float64 from the float32 count (see Block.uniform).
            steps.append((counts[0, 0] if b["uniform"] else counts).to(torch.float64))
        run_units(
            recipe,
            entry["options"],
            {},
            lambda entry=entry: entry["group_state"],
            params=[b["values"] for b in entry["blocks"]],
            grads=[b["grads"] for b in entry["blocks"]],
            states=[
                {name[len("state/") :]: t for name, t in b.items() if name.startswith("state/")}
                for b in entry["blocks"]
            ],
            steps=steps,
            segments=[Segments(b) for b in entry["blocks"]],
            exemplars=[b["shape"] for b in entry["blocks"]],
        )
    for (tensor, stepped), kept in zip(changing, saved, strict=True):
        keep_where(stepped & finite, tensor, kept)
    count_skipped(skipped, finite)
