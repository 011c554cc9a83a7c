"""N runs of one study trained together in one process (issue 17): the stacked engine.

The arms × seeds of a study share a model architecture, batch size, data subset and
epoch count; they differ in optimizer, hyperparameters, learning-rate schedule and
seed. :func:`train_together` trains them as one :class:`ModelStack` (one vmapped
forward and backward per step, so a small-batch step is a few large kernels
instead of N small ones) while each run keeps exactly what :func:`loop.train
<experiments.training.loop.train>` gives it alone:

* its initial weights (built under ``torch.manual_seed(seed)`` by the same
  :func:`~experiments.training.loop.open_run`), its own optimizer over its own
  parameters (per-tensor reductions stay per run), its own schedule and its own
  batch-norm statistics (views into the stack, see :mod:`.ensemble`);
* its data order and augmentation, a pure function of (seed, epoch): row i of
  :meth:`DeviceLoader.iter_stacked_epoch` is what run i's own loader yields;
* its files: history, metrics and checkpoint written by the same
  :class:`~experiments.training.loop.OpenRun` methods, in the same run directory,
  so ``finished_record``, resume, the report and ``recorded add`` read them
  unchanged. An epoch trained by several runs together also carries ``stacked_runs``
  (how many runs shared the epoch's ``seconds``; ``images_per_second`` is per run);
* divergence: a run whose optimizer refuses a non-finite gradient, or whose epoch
  loss is non-finite, is logged as diverged and leaves the stack; the others go on;
* resume: each run resumes from its own checkpoint; runs that an interruption left
  an epoch behind train that epoch (in a smaller stack) until they catch up.

Two layouts compute the forward and backward:

* ``stacked`` (the default on CUDA): the :class:`ModelStack`; the batched kernels sum in
  another order than per-run kernels, so trajectories agree with single runs to
  rounding, not bitwise (in float64 the test model's parameters and optimizer
  state stay within 1e-10 relative; ~3e-16 measured);
* ``looped`` (the default on the CPU, see :data:`DEFAULT_LAYOUT`): each run's model
  on its own batch, one after another. A single run is a looped stack of one
  (:func:`loop.train <experiments.training.loop.train>` calls this engine), so the
  training step is written once; runs looped together give each run bitwise what it
  gives alone (tests/test_engine.py checks the files are identical but for timings).
  It also serves models ``vmap`` cannot batch and compiled models (``compile_model``).

On CUDA the forward and backward run under bf16 autocast with float32 parameters
and optimizer state, channels_last, as :func:`train` does; evaluation is one
batched pass of every run over each test batch.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from experiments.data import ImageDataset
from experiments.data.device_loader import DeviceLoader
from experiments.training import loop
from experiments.training.ensemble import ModelStack
from experiments.training.loop import (
    OpenRun,
    RunSpec,
    check_data,
    epoch_divergence,
    evaluate,
    finished_record,
    open_run,
    run_loaders,
)
from experiments.training.probes import OscillationIndex, first_moment_input_norm
from optimizers import NonFiniteGradientError

Layout = Literal["stacked", "looped"]
LAYOUTS: tuple[Layout, ...] = ("stacked", "looped")
DEFAULT_LAYOUT: dict[str, Layout] = {"cuda": "stacked", "cpu": "looped"}
"""The layout per device type, by measurement. CPU (2 shared cores, torch 2.13, oneDNN; the
engine's step with AdamNorm, best of 10 interleaved steps): stacked ran at 0.90x the
separate runs' images/s for six small CNNs of width 0.5 at batch 64 and 0.95x for eight of
width 0.25 (the grouped convolutions of the stack are no faster on the CPU), so the CPU
trains looped. CUDA: stacked, for the launch-bound small-batch step (issue 17);
``nox -s throughput -- --device cuda ...`` measures the choice on the device."""


def default_layout(device: torch.device) -> Layout:
    """:data:`DEFAULT_LAYOUT`'s choice for ``device`` (looped on a device not listed)."""
    return DEFAULT_LAYOUT.get(device.type, "looped")


def stack_signature(spec: RunSpec) -> tuple[Any, ...]:
    """What runs trained together must share: the model, its width, the batch size, the
    training subset, the epochs and the data. Everything else (optimizer, options, learning
    rate and schedule, weight decay, seed) may differ between them."""
    p = spec.protocol
    return (p.model, p.width, p.dataset, p.batch_size, p.train_subset, p.epochs, spec.data)


def group_for_stacking(specs: Sequence[RunSpec]) -> list[list[RunSpec]]:
    """``specs`` split into groups of one :func:`stack_signature`, in first-seen order."""
    groups: dict[tuple[Any, ...], list[RunSpec]] = {}
    for spec in specs:
        groups.setdefault(stack_signature(spec), []).append(spec)
    return list(groups.values())


STACK_RUNS = 8
"""Most runs one stack trains together (a study's arms x seeds, a campaign entry's runs;
issue 17's target setting): the throughput is measured at this many."""


def stacks(specs: Sequence[RunSpec], size: int = STACK_RUNS) -> list[list[RunSpec]]:
    """``specs`` as the stacks they train in: :func:`group_for_stacking`'s groups, each cut
    into runs of at most ``size``, in first-seen order."""
    return [
        group[start : start + size]
        for group in group_for_stacking(specs)
        for start in range(0, len(group), size)
    ]


def _autocast(device: torch.device):
    # The single-run loop's choice: bf16 on a GPU, optimizer and its state in float32.
    return loop._autocast(device)


def channels_last(images: Tensor) -> Tensor:
    """(runs, B, C, H, W) laid out so that every run's batch is channels_last (CUDA's fast
    convolution layout), values unchanged."""
    return images.permute(0, 1, 3, 4, 2).contiguous().permute(0, 1, 4, 2, 3)


@dataclass
class Member:
    """A run in a stack: its optimizer and probe, and what its current epoch has accumulated
    (on the device, read once at the end of the epoch)."""

    optimizer: torch.optim.Optimizer
    oscillation: OscillationIndex
    loss_sum: Tensor
    norm_sum: Tensor
    steps: int = 0
    seen: int = 0
    divergence: tuple[int | None, str] | None = None

    @classmethod
    def of(cls, optimizer: torch.optim.Optimizer, oscillation: OscillationIndex) -> Member:
        device = oscillation.start.device
        return cls(optimizer, oscillation, torch.zeros((), device=device),
                   torch.zeros((), device=device))  # fmt: skip


class RunsForward:
    """The forward and backward of the runs in a stack: stacked (vmapped) or looped."""

    def __init__(
        self,
        models: list[nn.Module],
        layout: Layout,
        forwards: list[Callable[[Tensor], Tensor]] | None = None,
    ) -> None:
        self.models = models
        self.stack = ModelStack(models) if layout == "stacked" else None
        self.forwards = models if forwards is None else forwards
        """What the looped layout's training steps call (a compiled run's wrapper)."""

    def train(self, mode: bool = True) -> None:
        if self.stack is not None:
            self.stack.train(mode)
        for model in self.models:
            model.train(mode)

    def backward(self, images: Tensor, labels: Tensor, device: torch.device) -> Tensor:
        """Each run's mean cross-entropy on its own batch (row i of ``images``/``labels``),
        back-propagated into that run's gradients; returns the (runs,) losses, detached."""
        if self.stack is None:
            losses = []
            for forward, x, y in zip(self.forwards, images, labels, strict=True):
                with _autocast(device):
                    loss = nn.functional.cross_entropy(
                        forward(loop._in_training_layout(x)).float(), y
                    )
                loss.backward()
                losses.append(loss.detach())
            return torch.stack(losses)
        with _autocast(device):
            logits = self.stack(images).float()
        runs, batch = labels.shape
        per_image = nn.functional.cross_entropy(
            logits.flatten(0, 1), labels.flatten(), reduction="none"
        )
        losses = per_image.view(runs, batch).mean(1)
        # The runs share no parameter, so the sum's gradient is each run's own.
        losses.sum().backward()
        return losses.detach()

    def evaluate(self, loader: DeviceLoader, device: torch.device) -> list[tuple[float, float]]:
        """(test loss, accuracy %) of every run over ``loader``, one batched pass per batch."""
        if self.stack is None:
            return [evaluate(model, loader, device) for model in self.models]
        self.train(False)
        runs = len(self.models)
        total = torch.zeros(runs, dtype=torch.float64, device=device)
        correct = torch.zeros(runs, dtype=torch.int64, device=device)
        seen = 0
        with torch.no_grad(), _autocast(device):
            for images, labels in loader.iter_epoch(0):
                batch = images.expand(runs, *images.shape)
                if device.type == "cuda":
                    batch = channels_last(batch)
                logits = self.stack(batch).float()  # (runs, B, classes)
                per_image = nn.functional.cross_entropy(
                    logits.flatten(0, 1), labels.repeat(runs), reduction="none"
                )
                # Summed per batch in float32 then accumulated in float64, as evaluate() does.
                total += per_image.view(runs, -1).sum(1).double()
                correct += (logits.argmax(-1) == labels).sum(1)
                seen += len(labels)
        return [
            (float(t) / seen, 100.0 * int(c) / seen)
            for t, c in zip(total.cpu(), correct.cpu(), strict=True)
        ]


def train_step(
    forward: RunsForward,
    members: Sequence[Member],
    images: Tensor,
    labels: Tensor,
    device: torch.device,
) -> list[int]:
    """One training step of every run: batch row i is member i's. Returns the positions of
    the members that diverged at this step (their parameters and state unchanged)."""
    losses = backward_step(forward, members, images, labels, device)
    return optimizer_steps(members, losses, labels.shape[1])


def backward_step(
    forward: RunsForward,
    members: Sequence[Member],
    images: Tensor,
    labels: Tensor,
    device: torch.device,
) -> Tensor:
    """The gradients of a step: every member's zeroed, then its own loss back-propagated;
    returns the (runs,) losses."""
    for member in members:
        member.optimizer.zero_grad(set_to_none=True)
    if device.type == "cuda":
        images = channels_last(images)
    return forward.backward(images, labels, device)


def optimizer_steps(members: Sequence[Member], losses: Tensor, batch: int) -> list[int]:
    """Each member's own optimizer step, then its probes, as :func:`loop.train` takes them;
    the positions of the members whose optimizer refused a non-finite gradient."""
    diverged = step_optimizers(members)
    update_probes(members, losses, batch, diverged)
    return diverged


def step_optimizers(members: Sequence[Member]) -> list[int]:
    """``optimizer.step()`` of every member; the positions of those that diverged."""
    diverged = []
    for position, member in enumerate(members):
        try:
            member.optimizer.step()
        except NonFiniteGradientError as error:
            # The step changed nothing; this run has diverged here (its result); the others
            # go on.
            member.divergence = (member.steps + 1, str(error))
            diverged.append(position)
    return diverged


def update_probes(
    members: Sequence[Member], losses: Tensor, batch: int, diverged: Sequence[int] = ()
) -> None:
    """After a step: each stepped member's first-moment norm, oscillation index and loss."""
    for position, (member, loss) in enumerate(zip(members, losses.unbind(), strict=True)):
        if position in diverged:
            continue
        member.norm_sum += first_moment_input_norm(member.optimizer)
        member.oscillation.update()
        member.loss_sum += loss * batch
        member.steps += 1
        member.seen += batch


_DROPOUT = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout)


def _refuse_random_forward(model: nn.Module, key: str) -> None:
    # Dropout would draw from one shared generator, not each run's own stream.
    for name, module in model.named_modules():
        if isinstance(module, _DROPOUT) and module.p > 0:
            raise ValueError(
                f"{key}: module {name!r} draws random numbers in the forward pass; runs trained "
                "together would not draw a single run's numbers (train it with loop.train)"
            )


def train_together(
    specs: Sequence[RunSpec],
    data: ImageDataset,
    out_dir: str | os.PathLike,
    *,
    device: str | torch.device = "cpu",
    progress: Callable[[str], None] | None = None,
    layout: Layout | None = None,
    compile_model: bool = False,
) -> list[dict[str, Any]]:
    """Run (or resume) ``specs`` together and return their records, in ``specs``' order.

    The records and run directories are what :func:`loop.train` gives each spec alone (see
    the module docstring for the arithmetic); ``layout`` None is the device's
    :data:`DEFAULT_LAYOUT`. ``specs`` must share one
    :func:`stack_signature` (use :func:`group_for_stacking`) and have distinct keys.
    """
    if not specs:
        return []
    device = torch.device(device)
    layout = default_layout(device) if layout is None else layout
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if compile_model and layout != "looped":
        raise ValueError("compile_model trains each run's own compiled model: layout 'looped'")
    signatures = {stack_signature(spec) for spec in specs}
    if len(signatures) > 1:
        raise ValueError(
            "runs trained together must share model, width, data set, batch size, training "
            f"subset, epochs and data; got {len(signatures)} different settings (split them "
            "with group_for_stacking)"
        )
    keys = [spec.key for spec in specs]
    if len(set(keys)) != len(keys):
        raise ValueError("the same run appears twice among the runs to train together")
    fingerprint = data.fingerprint()
    for spec in specs:
        check_data(spec, data, fingerprint)
    protocol = specs[0].protocol
    kill_at = loop._kill_point()

    records: dict[int, dict[str, Any]] = {}
    open_runs: dict[int, OpenRun] = {}
    for index, spec in enumerate(specs):
        finished = finished_record(spec, out_dir)
        if finished is not None:
            records[index] = finished
        else:
            run = open_runs[index] = open_run(spec, data, out_dir, device)
            _refuse_random_forward(run.model, spec.key)
            if compile_model:
                run.forward = torch.compile(run.model)
    if open_runs:
        first = next(iter(open_runs.values()))
        # One copy of the data on the device; each run reads it with its own seed.
        train_loader, test_loader = run_loaders(data, protocol, first.spec.seed, device)
        running = dict(open_runs)
        for epoch in range(min(r.start_epoch for r in running.values()), protocol.epochs):
            active = {i: r for i, r in running.items() if r.start_epoch <= epoch}
            ended = _train_epoch(
                active, epoch, train_loader, test_loader, device, layout, kill_at, progress
            )
            for index in ended:
                del running[index]
            if not running:
                break
        records.update({i: r.record for i, r in open_runs.items()})
    return [records[i] for i in range(len(specs))]


def _train_epoch(
    active: dict[int, OpenRun],
    epoch: int,
    train_loader: DeviceLoader,
    test_loader: DeviceLoader,
    device: torch.device,
    layout: Layout,
    kill_at: tuple[str, int, int] | None,
    progress: Callable[[str], None] | None,
) -> list[int]:
    """Train every run of ``active`` through (0-based) ``epoch``, log and checkpoint each;
    return the runs that diverged (they leave the stack)."""
    indices = list(active)
    members = {i: Member.of(run.optimizer, run.oscillation) for i, run in active.items()}
    lrs = {i: run.set_learning_rate(epoch) for i, run in active.items()}
    seeds = [active[i].spec.seed for i in indices]
    stacked_runs = len(indices)
    in_stack = list(indices)  # the runs still stepping this epoch

    def runs_forward(runs: list[int]) -> RunsForward:
        chosen = [active[i] for i in runs]
        return RunsForward([r.model for r in chosen], layout, [r.training_forward for r in chosen])

    forward = runs_forward(in_stack)
    forward.train()
    ended: list[int] = []
    started = time.perf_counter()

    def finish(i: int, test: tuple[float, float] | None, seconds: float) -> None:
        member = members[i]
        train_loss = float(member.loss_sum) / member.seen if member.seen else math.nan
        member.divergence = epoch_divergence(member.divergence, train_loss)
        if member.divergence is not None:
            test = None
            ended.append(i)
        run = active[i]
        entry = run.epoch_entry(
            epoch, lrs[i], member.divergence, train_loss, test,
            float(member.norm_sum) / max(member.steps, 1), seconds, member.seen,
        )  # fmt: skip
        if stacked_runs > 1:  # the epoch's wall time was shared by this many runs
            entry["stacked_runs"] = stacked_runs
        if run.forward is not None:
            entry["compiled_model"] = True  # its images/s are not comparable with eager runs
        run.save_epoch(entry, epoch, kill_at)
        if progress is not None:
            progress(run.progress_line(entry))

    step = 0
    rows: Tensor | None = None  # the batch rows of the runs still in the stack, once some left
    for images, labels in train_loader.iter_stacked_epoch(seeds, epoch):
        if rows is not None:
            images, labels = images.index_select(0, rows), labels.index_select(0, rows)
        positions = train_step(forward, [members[i] for i in in_stack], images, labels, device)
        left = [in_stack[position] for position in positions]
        step += 1
        loop._maybe_kill(kill_at, "step", epoch + 1, step)
        if left:
            for i in left:
                finish(i, None, time.perf_counter() - started)
            in_stack = [i for i in in_stack if i not in left]
            if not in_stack:
                break
            rows = torch.tensor([indices.index(i) for i in in_stack], device=images.device)
            forward = runs_forward(in_stack)
            forward.train()
    seconds = time.perf_counter() - started
    if in_stack:
        # Non-finite epoch losses (optimizers that do not check) skip the evaluation.
        finite = [
            i for i in in_stack
            if members[i].seen and math.isfinite(float(members[i].loss_sum))
        ]  # fmt: skip
        tested = dict.fromkeys(in_stack)
        if finite:
            evaluator = forward if len(finite) == len(in_stack) else runs_forward(finite)
            tested.update(zip(finite, evaluator.evaluate(test_loader, device), strict=True))
        for i in in_stack:
            finish(i, tested[i], seconds)
    return ended
