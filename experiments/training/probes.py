"""What the empirical claims measure during training, read off the optimizer and the model.

Each probe is cheap enough to run every iteration (or samples a fixed subset
of coordinates) and returns plain floats for the run's JSON log.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from optimizers.flat import is_dense


def first_moment_input_norm(optimizer: torch.optim.Optimizer) -> Tensor:
    """Mean over tensors of the norm of what feeds the first moment (AdaNorm Fig. 3).

    For the Norm variants this is ‖s_t‖ = max(‖g_t‖, e_t) (eq. 3), read from the
    gradient and the stored e_t after the step; for every other optimizer ‖g_t‖.
    Returned as a 0-d tensor on the parameters' device, so that a training loop
    can accumulate it without a device synchronisation per step.
    """
    grads, emas = [], []
    for group in optimizer.param_groups:
        tensor_scope = group.get("norm_scope", "tensor") == "tensor"
        for p in group["params"]:
            if p.grad is None:
                continue
            grads.append(p.grad)
            ema = optimizer.state.get(p, {}).get("norm_ema")
            emas.append(ema if tensor_scope else None)
    if not grads:
        return torch.tensor(math.nan)
    norms = torch._foreach_norm(grads)
    if all(e is None for e in emas):
        return torch.stack(norms).mean()
    # One maximum over stacked scalars instead of one per tensor (a tensor without e_t is
    # its own floor: max(n, n) = n), so the probe costs a few kernels a step, not a few per
    # tensor; the values are the per-tensor maxima, stacked and averaged as before.
    floors = [n if e is None else e for n, e in zip(norms, emas, strict=True)]
    return torch.maximum(torch.stack(norms), torch.stack(floors)).mean()


def elementwise_step_sizes(
    optimizer: torch.optim.Optimizer, p: Tensor, group: dict[str, Any]
) -> Tensor | None:
    """The per-coordinate adaptive step sizes of tensor ``p`` (without lr), or None.

    ``1/(sqrt(v_t/(1-β2^t)) [+ε])`` with ε after the root where the optimizer
    puts it (Aida 004 Fig. 1-2 define the statistic this way). A layerwise
    second moment gives one value broadcast over the tensor.
    """
    state = optimizer.state.get(p, {})
    if "exp_avg_sq" not in state or "betas" not in group:
        return None
    beta2 = group["betas"][1]
    v_hat = state["exp_avg_sq"] / (1.0 - beta2 ** state["step"])
    root = v_hat.sqrt()
    if group.get("eps_mode", "outside") in ("outside", "both"):
        root = root + group["eps"]
    return torch.broadcast_to(root.reciprocal(), p.shape)


def layerwise_step_statistics(optimizer: torch.optim.Optimizer) -> list[dict[str, float]]:
    """Per tensor (layer): mean and standard deviation of the elementwise step sizes."""
    rows = []
    for group in optimizer.param_groups:
        for index, p in enumerate(group["params"]):
            sizes = elementwise_step_sizes(optimizer, p, group)
            if sizes is None or sizes.numel() < 2:
                continue
            sizes = sizes.double()
            rows.append(
                {
                    "layer": index,
                    "numel": sizes.numel(),
                    "mean": float(sizes.mean()),
                    "std": float(sizes.std()),
                }
            )
    return rows


def state_bytes(optimizer: torch.optim.Optimizer) -> int:
    """Bytes held in tensors of the optimizer state (LW-2: LAdam keeps about half of Adam's)."""
    return sum(
        v.numel() * v.element_size()
        for state in optimizer.state.values()
        for v in state.values()
        if isinstance(v, Tensor)
    )


def _memory_offsets(t: Tensor, index: Tensor) -> Tensor:
    """Where the elements at flat (row-major) positions ``index`` of ``t`` lie in memory,
    counted from its first element."""
    offsets = torch.zeros_like(index)
    rest = index
    for size, stride in reversed(list(zip(t.shape, t.stride(), strict=True))):
        offsets += (rest % size) * stride
        rest = rest // size
    return offsets


class OscillationIndex:
    """AdaRem's Q (002 §3.2.2): mean over parameters of path length / displacement.

    Tracks a fixed random sample of coordinates (``samples`` per model) so the
    cost does not grow with the model; call :meth:`update` after every step. The
    sample is a function of the seed; what it accumulates (:meth:`state_dict`) goes
    into the run's checkpoint, so a resumed run reads the same Q.
    """

    def __init__(self, params: list[Tensor], samples: int = 4096, seed: int = 0) -> None:
        sizes = [p.numel() for p in params]
        total = sum(sizes)
        gen = torch.Generator().manual_seed(seed)
        chosen = torch.randperm(total, generator=gen)[: min(samples, total)].sort().values
        # One index per tensor, so a reading gathers a few entries instead of
        # concatenating the whole model every step.
        self.pieces: list[tuple[Tensor, Tensor]] = []
        offset = 0
        for p, size in zip(params, sizes, strict=True):
            local = chosen[(chosen >= offset) & (chosen < offset + size)] - offset
            if local.numel():
                self.pieces.append((p, local.to(p.device)))
            offset += size
        # Per piece: the strides its memory offsets were found for, and those offsets.
        self._offsets: list[tuple[tuple[int, ...] | None, Tensor | None]] = [
            (None, None) for _ in self.pieces
        ]
        self.start = self._current().clone()
        self.previous = self.start.clone()
        self.path = torch.zeros_like(self.start)

    def _current(self) -> Tensor:
        return torch.cat(
            [self._read(piece, p.detach()) for piece, (p, _) in enumerate(self.pieces)]
        )

    def _read(self, piece: int, t: Tensor) -> Tensor:
        # ``t.reshape(-1)[index]`` without the copy ``reshape`` makes of a tensor that is not
        # row-major (every channels_last conv weight, every step): the same elements,
        # gathered from a flat view of t's memory at their offsets there (found again only
        # if t's layout changes).
        strides, offsets = self._offsets[piece]
        if t.stride() != strides:
            index = self.pieces[piece][1]
            offsets = _memory_offsets(t, index) if is_dense(t) else None
            self._offsets[piece] = (t.stride(), offsets)
        if offsets is None:
            return torch.take(t, self.pieces[piece][1])
        return t.as_strided((t.numel(),), (1,)).take(offsets)

    def update(self) -> None:
        current = self._current()
        self.path += (current - self.previous).abs()
        self.previous = current

    def state_dict(self) -> dict[str, Tensor]:
        """What :meth:`update` has accumulated: start, last reading and path length."""
        return {"start": self.start, "previous": self.previous, "path": self.path}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        """Continue from a :meth:`state_dict` taken with the same parameters and sample."""
        for name, mine in self.state_dict().items():
            theirs = state[name]
            if theirs.shape != mine.shape:
                raise ValueError(
                    f"oscillation probe state {name!r} has shape {tuple(theirs.shape)}, "
                    f"this probe samples {tuple(mine.shape)}"
                )
        self.start, self.previous, self.path = (
            state[name].to(self.start.device, self.start.dtype).clone()
            for name in ("start", "previous", "path")
        )

    def value(self) -> float:
        """Q over the sampled coordinates that moved (a coordinate that never moved has no q)."""
        displacement = (self.previous - self.start).abs()
        moved = displacement > 0
        if not bool(moved.any()):
            return math.nan
        return float((self.path[moved] / displacement[moved]).mean())
