"""Training throughput: N runs one after another against N runs in the stacked engine.

For each optimizer and each number of runs N it times the training engine's own
step (:mod:`experiments.training.engine`: augmented batches drawn from a
device-resident uint8 data set, forward, backward, each run's optimizer step and
its probes) at a study's model, width and batch size, in two layouts:

* ``separate``: N models, each stepped in turn with the single-run loop's
  arithmetic (what N processes on one device amount to, without the time slicing);
* ``stacked``: the same N models in one :class:`~experiments.training.ensemble.ModelStack`,
  as :func:`~experiments.training.engine.train_together` trains a study.

It reports images/s per run and in aggregate, the share of step time spent in
the N ``optimizer.step()`` calls and in the per-step probes the loop records (first-moment
norm, oscillation index), and, from the model's FLOP count
(``torch.utils.flop_counter``) and ``--peak-tflops``, the model FLOP utilisation
(MFU). On CUDA the forward and backward run under bf16 autocast with float32
parameters and optimizer state, channels_last, as the training loop does.

    python -m experiments.training.throughput                       # CPU, small CNN
    python -m experiments.training.throughput --device cuda --model resnet18 \\
        --batch 64 --runs 1,8 --optimizers Adam,AdamNorm --peak-tflops 989 \\
        --out results/throughput.json                               # also throughput.md
    python -m experiments.training.throughput --device cuda --model resnet18 --batch 64 \\
        --runs 8 --layouts stacked --options fused=True             # the flat fused step

``--options`` passes keyword arguments to every optimizer (``fused=True``,
``capturable=True``, ``foreach=False``); each row records them.

Every figure is a measurement of this process on this machine: rerun to compare.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from experiments.data.device_loader import DeviceLoader
from experiments.models.registry import build_model
from experiments.training.engine import (
    Member,
    RunsForward,
    backward_step,
    step_optimizers,
    update_probes,
)
from experiments.training.probes import OscillationIndex
from invariants.conformance.target import TargetError, parse_kwargs
from optimizers.arguments import float_above, int_at_least, names_from
from optimizers.registry import REGISTRY
from theory.verdicts import write_text_atomically

IMAGE_SHAPE = (3, 32, 32)
CLASSES = 10
BATCHES_PER_EPOCH = 4
"""Batches of the synthetic data set; each epoch reshuffles and re-augments it."""


def training_flops_per_image(model: nn.Module, batch: int, device: torch.device) -> float:
    """Forward + backward FLOPs of one image, counted by torch's FLOP counter."""
    images = torch.randn(batch, *IMAGE_SHAPE, device=device)
    labels = torch.randint(0, CLASSES, (batch,), device=device)
    counter = FlopCounterMode(display=False)
    with counter:
        nn.functional.cross_entropy(model(images), labels).backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() / batch


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Arm:
    """N runs (models, optimizers, probes) with a device-resident data set, steppable in
    either layout through the training engine's own step (:func:`engine.train_step`):
    augmented batches drawn on the device, forward and backward, each run's optimizer step
    (``optimizer`` built with ``options`` as keyword arguments) and its probes (first-moment
    norm, oscillation index)."""

    def __init__(
        self,
        model_name: str,
        width: float,
        batch: int,
        optimizer: str,
        runs: int,
        device: torch.device,
        options: dict[str, Any] | None = None,
        compile_mode: str | None = None,
    ) -> None:
        self.device = device
        self.models = []
        for seed in range(runs):
            torch.manual_seed(seed)
            model = build_model(model_name, num_classes=CLASSES, width=width).to(device)
            if device.type == "cuda":
                model = model.to(memory_format=torch.channels_last)
            self.models.append(model.train())
        self.members = []
        for model in self.models:
            params = [p for p in model.parameters() if p.requires_grad]
            self.members.append(
                Member.of(
                    REGISTRY[optimizer].torch_class(model.parameters(), lr=1e-3, **(options or {})),
                    OscillationIndex(params),
                )
            )
        # Random uint8 images, a few batches' worth, resident on the device like CIFAR-10.
        generator = torch.Generator().manual_seed(0)
        count = batch * BATCHES_PER_EPOCH
        images = torch.randint(0, 256, (count, *IMAGE_SHAPE[1:], IMAGE_SHAPE[0]),
                               generator=generator, dtype=torch.uint8)  # fmt: skip
        labels = torch.randint(0, CLASSES, (count,), generator=generator)
        self.loader = DeviceLoader(images, labels, batch, train=True, device=device, drop_last=True)
        self.seeds = list(range(runs))
        self.stacked = RunsForward(self.models, "stacked")
        # A compiled run steps through torch.compile(model) (the engine's compile_model); with
        # mode "reduce-overhead" on CUDA its forward and backward replay as CUDA graphs.
        self.alone = [
            RunsForward([model], "looped", None if compile_mode is None else
                        [torch.compile(model, mode=compile_mode)])
            for model in self.models
        ]  # fmt: skip
        self._batches = self._stream()

    def _stream(self):
        epoch = 0
        while True:
            yield from self.loader.iter_stacked_epoch(self.seeds, epoch)
            epoch += 1

    def step(self, stacked: bool) -> tuple[float, float, float]:
        """One training step of every run: seconds in all, in the ``optimizer.step()`` calls,
        and in the per-step probes (first-moment norm, oscillation index, loss sum)."""
        _synchronize(self.device)
        started = time.perf_counter()
        images, labels = next(self._batches)
        if stacked:
            losses = [backward_step(self.stacked, self.members, images, labels, self.device)]
            groups = [self.members]
        else:  # each run on its own: loop.train's step, one run after another
            groups = [[member] for member in self.members]
            losses = [
                backward_step(forward, group, images[i : i + 1], labels[i : i + 1], self.device)
                for i, (forward, group) in enumerate(zip(self.alone, groups, strict=True))
            ]
        _synchronize(self.device)
        optimizer_started = time.perf_counter()
        diverged = [step_optimizers(group) for group in groups]
        _synchronize(self.device)
        probes_started = time.perf_counter()
        for group, loss, skip in zip(groups, losses, diverged, strict=True):
            update_probes(group, loss, labels.shape[1], skip)
        _synchronize(self.device)
        finished = time.perf_counter()
        return finished - started, probes_started - optimizer_started, finished - probes_started


def measure(
    spec: argparse.Namespace, progress: Callable[[str], None] = print
) -> list[dict[str, Any]]:
    """One row per (optimizer, runs, layout) with the median of ``spec.steps`` timed steps."""
    device = torch.device(spec.device)
    probe = build_model(spec.model, num_classes=CLASSES, width=spec.width).to(device)
    flops = training_flops_per_image(probe, spec.batch, device)
    rows = []
    for optimizer in spec.optimizers:
        for runs in spec.runs:
            arm = Arm(spec.model, spec.width, spec.batch, optimizer, runs, device, spec.options,
                      spec.compile_model)  # fmt: skip
            for stacked in (layout == "stacked" for layout in spec.layouts):
                for _ in range(spec.warmup):
                    arm.step(stacked)
                timings = [arm.step(stacked) for _ in range(spec.steps)]
                seconds = statistics.median(t for t, _, _ in timings)
                optimizer_seconds = statistics.median(o for _, o, _ in timings)
                probe_seconds = statistics.median(p for _, _, p in timings)
                per_run = spec.batch / seconds
                row = {
                    "optimizer": optimizer,
                    "runs": runs,
                    "layout": "stacked" if stacked else "separate",
                    "options": spec.options,
                    "compiled_model": spec.compile_model,
                    "step_seconds": seconds,
                    "images_per_second_per_run": per_run,
                    "images_per_second": per_run * runs,
                    "optimizer_share": optimizer_seconds / seconds,
                    "probe_share": probe_seconds / seconds,
                    "flops_per_image": flops,
                }
                if spec.peak_tflops:
                    row["mfu"] = per_run * runs * flops / (spec.peak_tflops * 1e12)
                rows.append(row)
                progress(
                    f"{optimizer:>12} N={runs:<2} {row['layout']:>8}: "
                    f"{row['images_per_second']:9.0f} img/s in all, "
                    f"optimizer {100 * row['optimizer_share']:4.1f}%, probes "
                    f"{100 * row['probe_share']:4.1f}% of the step"
                )
    return rows


def markdown(rows: Sequence[dict[str, Any]], spec: argparse.Namespace) -> str:
    lines = [
        f"Training throughput: {spec.model} (width {spec.width:g}), batch {spec.batch}, "
        f"device {spec.device}, median of {spec.steps} steps"
        + (f", optimizer options {spec.options}" if spec.options else "")
        + (f", model compiled (mode {spec.compile_model})" if spec.compile_model else "")
        + ".",
        "",
        "| optimizer | runs | layout | img/s per run | img/s in all | optimizer share "
        "| probe share | MFU |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        mfu = f"{100 * row['mfu']:.1f}%" if "mfu" in row else "—"
        lines.append(
            f"| {row['optimizer']} | {row['runs']} | {row['layout']} | "
            f"{row['images_per_second_per_run']:.0f} | {row['images_per_second']:.0f} | "
            f"{100 * row['optimizer_share']:.1f}% | {100 * row['probe_share']:.1f}% | {mfu} |"
        )
    return "\n".join(lines) + "\n"


def _run_counts(text: str) -> list[int]:
    return [int_at_least(1)(part) for part in text.split(",") if part]


LAYOUTS = ("separate", "stacked")
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def _options(text: str) -> dict[str, Any]:
    try:
        return parse_kwargs(text)
    except TargetError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m experiments.training.throughput", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--model", default="small_cnn")
    parser.add_argument("--width", type=float_above(0.0), default=0.5)
    parser.add_argument("--batch", type=int_at_least(1), default=128)
    parser.add_argument("--runs", type=_run_counts, default=[1, 3], help="e.g. 1,3,8")
    parser.add_argument(
        "--optimizers", type=names_from(REGISTRY, "optimizer"), default=["Adam", "AdamNorm"]
    )
    parser.add_argument(
        "--layouts",
        type=names_from(LAYOUTS, "layout"),
        default=list(LAYOUTS),
        help="separate (N runs one after another), stacked (one vmapped model), or both",
    )
    parser.add_argument(
        "--options", type=_options, default={}, help="optimizer keyword arguments, e.g. fused=True"
    )
    parser.add_argument(
        "--compile-model",
        choices=COMPILE_MODES,
        default=None,
        help="each separate run steps through torch.compile(model, mode=...)",
    )
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int_at_least(1), default=5, help="timed steps per row")
    parser.add_argument("--warmup", type=int_at_least(1), default=2)
    parser.add_argument(
        "--peak-tflops", type=float_above(0.0), default=None, help="the device's peak, for MFU"
    )
    parser.add_argument("--out", type=Path, default=None, help="JSON file (and .md beside it)")
    args = parser.parse_args(argv)
    if args.compile_model and "stacked" in args.layouts:
        parser.error("--compile-model compiles each run's own model: --layouts separate")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("--device cuda asked for, but torch sees no CUDA device")
    try:
        build_model(args.model)
    except KeyError as error:
        parser.error(str(error))
    return args


def main(argv: Sequence[str] | None = None) -> int:
    spec = parse_args(argv)
    rows = measure(spec)
    if spec.out is not None:
        spec.out.parent.mkdir(parents=True, exist_ok=True)
        settings = {k: v if not isinstance(v, Path) else str(v) for k, v in vars(spec).items()}
        payload = {"settings": settings, "torch": torch.__version__, "rows": rows}
        write_text_atomically(spec.out, json.dumps(payload, indent=1))
        write_text_atomically(spec.out.with_suffix(".md"), markdown(rows, spec))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
