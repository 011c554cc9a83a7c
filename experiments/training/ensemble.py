"""N runs of one architecture trained together: one vmapped forward, N separate optimizers.

The arms × seeds of a study share a model architecture, so their forward and
backward passes can be one batched computation (``torch.func.vmap`` over the
members turns every convolution into a grouped convolution and every matrix
product into a batched one): on a GPU that is a few large kernel launches
instead of N small ones per layer, which is what a small-batch step is bound by.

What stays exactly per run:

* **parameters** remain each member's own leaf tensors: the stacked weights are
  built by ``torch.stack`` on every forward (a copy of the weights, small next to
  the activations), so autograd writes each member's gradient into its own
  ``p.grad`` and each member keeps its own optimizer, whose per-tensor
  reductions (AdaNorm's ‖g‖, layer means, Aida's projections, ND-Adam's rows) see
  that member's tensors only;
* **batch-norm statistics**: each member's buffers are views into one stacked
  buffer per name, updated in place by the vmapped batch norm, so a member's
  running mean/variance and ``num_batches_tracked`` are the ones a single run
  would have, and ``member.state_dict()`` reads them as usual;
* **data**: the input is ``(N, B, ...)``, member i's batch being whatever its own
  loader produced for (seed_i, epoch), so data order and augmentation stay a pure
  function of each run's seed.

The arithmetic differs from a single run only in how the batched kernels order
their sums: in float64 the trajectories agree to ~1e-15 relative, in float32 to
rounding (tests/test_ensemble.py states the tolerance).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.func import functional_call, vmap


class ModelStack:
    """Members of one architecture evaluated as one vmapped model.

    Build it after the members are on their device and dtype: their buffers are
    re-bound to views of stacked storage here, and moving a member afterwards
    would break that link (``to`` is refused on the stack for that reason).
    """

    def __init__(self, members: Sequence[nn.Module]) -> None:
        if not members:
            raise ValueError("ModelStack needs at least one member")
        self.members = list(members)
        first = self.members[0]
        self._param_names = [name for name, _ in first.named_parameters()]
        self._buffer_names = [name for name, _ in first.named_buffers()]
        for i, member in enumerate(self.members[1:], start=1):
            _check_same_layout(first, member, i)
        # The skeleton carries the architecture only; functional_call supplies every
        # tensor, so it lives on the meta device and costs no memory.
        self._skeleton = copy.deepcopy(first).to("meta")
        self._buffers = {
            name: torch.stack([member.get_buffer(name) for member in self.members])
            for name in self._buffer_names
        }
        for i, member in enumerate(self.members):
            for name in self._buffer_names:
                owner, _, attribute = name.rpartition(".")
                setattr(member.get_submodule(owner), attribute, self._buffers[name][i])
        self._forward = vmap(self._member_forward, randomness="different")

    def __len__(self) -> int:
        return len(self.members)

    def _member_forward(
        self, params: dict[str, Tensor], buffers: dict[str, Tensor], x: Tensor
    ) -> Tensor:
        return functional_call(self._skeleton, {**params, **buffers}, (x,))

    def __call__(self, inputs: Tensor) -> Tensor:
        """Outputs ``(N, B, ...)`` of member i on ``inputs[i]`` for every i."""
        if inputs.shape[0] != len(self.members):
            raise ValueError(
                f"inputs must stack one batch per member ({len(self.members)}), "
                f"got leading size {inputs.shape[0]}"
            )
        params = {
            name: torch.stack([member.get_parameter(name) for member in self.members])
            for name in self._param_names
        }
        return self._forward(params, self._buffers, inputs)

    def train(self, mode: bool = True) -> ModelStack:
        """Training mode (batch statistics, running averages updated) for every member."""
        self._skeleton.train(mode)
        for member in self.members:
            member.train(mode)
        return self

    def eval(self) -> ModelStack:
        return self.train(False)

    def to(self, *args: object, **kwargs: object) -> ModelStack:
        raise TypeError(
            "move or cast the members before building the ModelStack: their batch-norm "
            "buffers are views into the stack's storage"
        )


def _check_same_layout(first: nn.Module, other: nn.Module, index: int) -> None:
    def layout(module: nn.Module) -> list[tuple[str, tuple[int, ...], torch.dtype, str]]:
        tensors = [*module.named_parameters(), *module.named_buffers()]
        return [(n, tuple(t.shape), t.dtype, str(t.device)) for n, t in tensors]

    if layout(first) != layout(other):
        raise ValueError(
            f"member {index} differs from member 0 in its parameters or buffers "
            "(names, shapes, dtypes or devices): a ModelStack needs one architecture"
        )
