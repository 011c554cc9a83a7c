"""One training run: a model, an optimizer, a protocol and a seed, resumable after a crash.

After every epoch the run appends the epoch's entry to ``metrics.jsonl`` (one
JSON object a line, for tools that tail a run) and writes ``history.json`` (the
whole record) and a checkpoint (model, optimizer, epoch) atomically; started
again with the same output directory it resumes from the last finished epoch.
The data order and augmentation are a pure function of (seed, epoch), so a
resumed run sees the same batches as an uninterrupted one.

``history.json`` is the source of truth: on resume it is cut back to the
checkpoint's epoch and ``metrics.jsonl`` is rewritten from it, so the epochs
of an interrupted attempt never appear twice.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from experiments.data import ImageDataset, make_loaders
from experiments.models.registry import build_model, count_parameters
from experiments.training.probes import (
    OscillationIndex,
    first_moment_input_norm,
    layerwise_step_statistics,
    state_bytes,
)
from experiments.training.protocols import Protocol
from optimizers.registry import REGISTRY


@dataclass(frozen=True)
class RunSpec:
    """Everything that identifies a run; its ``key`` names the output directory."""

    protocol: Protocol
    optimizer: str
    seed: int
    options: tuple[tuple[str, Any], ...] = ()
    """Extra optimizer hyperparameters (e.g. ``(("gamma", 0.9),)``)."""

    @property
    def key(self) -> str:
        extra = "".join(f"-{k}={v}" for k, v in self.options)
        return f"{self.protocol.name}/{self.optimizer}{extra}/seed{self.seed}"


HISTORY, CHECKPOINT, METRICS = "history.json", "checkpoint.pt", "metrics.jsonl"
"""The files of a run directory."""


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def _metrics_line(entry: dict[str, Any]) -> str:
    return json.dumps(entry, separators=(",", ":")) + "\n"


def _rewrite_metrics(path: Path, history: list[dict[str, Any]]) -> None:
    # Atomic, so a crash while rewriting leaves either the old file or the new one, never a
    # mix; a torn last line from a crash during an append is dropped here too.
    _atomic_write(path, lambda tmp: tmp.write_text("".join(_metrics_line(e) for e in history)))


def _append_metrics(path: Path, entry: dict[str, Any]) -> None:
    with path.open("a") as fh:
        fh.write(_metrics_line(entry))
        fh.flush()
        os.fsync(fh.fileno())


def read_metrics(run_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """The per-epoch entries of a run's ``metrics.jsonl``, in epoch order."""
    text = (Path(run_dir) / METRICS).read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def finished_record(spec: RunSpec, out_dir: str | os.PathLike) -> dict[str, Any] | None:
    """The record of ``spec`` under ``out_dir`` if the run is complete (or diverged), else None.

    A finished run needs no checkpoint: its log is the result (runs trained on another
    machine come back as logs only).
    """
    history_path = Path(out_dir) / spec.key / HISTORY
    if not history_path.exists():
        return None
    record = json.loads(history_path.read_text())
    history = record["history"]
    if len(history) >= spec.protocol.epochs or (history and history[-1].get("diverged")):
        return record
    return None


def _learning_rate(protocol: Protocol, base: float, epoch: int) -> float:
    drops = sum(1 for m in protocol.milestones if epoch >= m)
    return base * protocol.lr_factor**drops


def _subset(data: ImageDataset, count: int | None) -> tuple[Any, Any]:
    if count is None or count >= len(data.train_labels):
        return data.train_images, data.train_labels
    # A class-balanced prefix: take the first count/classes images of each class.
    per_class = max(1, count // len(data.classes))
    keep = []
    for label in range(len(data.classes)):
        keep.extend([i for i, y in enumerate(data.train_labels) if y == label][:per_class])
    keep.sort()
    return data.train_images[keep], data.train_labels[keep]


def evaluate(model: nn.Module, loader, device: torch.device) -> tuple[float, float]:
    """Mean cross-entropy and accuracy (%) over a loader."""
    model.eval()
    total_loss, correct, seen = 0.0, 0, 0
    with torch.no_grad(), _autocast(device):
        for images, labels in loader:
            logits = model(images)
            batch_loss = nn.functional.cross_entropy(logits.float(), labels, reduction="sum")
            total_loss += float(batch_loss)
            correct += int((logits.argmax(1) == labels).sum())
            seen += len(labels)
    return total_loss / seen, 100.0 * correct / seen


def _autocast(device: torch.device):
    # bf16 matmuls on a GPU; the optimizer and its state stay in float32.
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast("cpu", enabled=False)


def train(
    spec: RunSpec,
    data: ImageDataset,
    out_dir: str | os.PathLike,
    *,
    device: str | torch.device = "cpu",
    progress: Callable[[str], None] | None = None,
    oscillation_samples: int = 4096,
    compile_model: bool = False,
) -> dict[str, Any]:
    """Run (or resume) ``spec`` and return its record: settings plus per-epoch history.

    ``compile_model`` trains through ``torch.compile(model)``; checkpoints still hold the
    plain module's ``state_dict`` (no ``_orig_mod.`` prefix), so a run can be resumed with
    compilation switched on or off. It is not part of ``spec.key``: compiling changes the
    speed, not the run.
    """
    device = torch.device(device)
    protocol = spec.protocol
    run_dir = Path(out_dir) / spec.key
    run_dir.mkdir(parents=True, exist_ok=True)
    history_path, checkpoint_path = run_dir / HISTORY, run_dir / CHECKPOINT
    metrics_path = run_dir / METRICS

    torch.manual_seed(spec.seed)
    model = build_model(protocol.model, num_classes=len(data.classes), width=protocol.width)
    model = model.to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    options = protocol.optimizer_options(spec.optimizer, **dict(spec.options))
    base_lr = options["lr"]
    optimizer = REGISTRY[spec.optimizer].torch_class(model.parameters(), **options)
    params = [p for p in model.parameters() if p.requires_grad]

    record: dict[str, Any] = {
        "run": spec.key,
        "protocol": asdict(protocol),
        "optimizer": spec.optimizer,
        "options": options,
        "seed": spec.seed,
        "device": str(device),
        "parameters": count_parameters(model),
        "data": data.describe(),
        "history": [],
    }
    start_epoch = 0
    finished = finished_record(spec, out_dir)
    if finished is not None:
        return finished
    if checkpoint_path.exists() and history_path.exists():
        saved = torch.load(checkpoint_path, map_location=device, weights_only=False)
        logged = json.loads(history_path.read_text())
        resume_at = saved["epoch"] + 1
        # The log is written before the checkpoint, so after a crash between the two it may
        # hold an epoch the checkpoint lacks: that epoch is trained again, logged once. A log
        # behind its checkpoint (left by versions that saved the checkpoint first) has lost
        # an epoch for good; the run then starts over rather than leave a gap.
        if len(logged["history"]) >= resume_at:
            model.load_state_dict(saved["model"])
            optimizer.load_state_dict(saved["optimizer"])
            record = logged
            record["history"] = record["history"][:resume_at]
            start_epoch = resume_at
    # From history, not appended to: lines of an interrupted attempt past the checkpoint (or
    # of a run restarted from scratch) would otherwise be counted twice.
    _rewrite_metrics(metrics_path, record["history"])

    images, labels = _subset(data, protocol.train_subset)
    train_loader, test_loader = make_loaders(
        ImageDataset(
            data.name, data.classes, images, labels, data.test_images, data.test_labels,
            data.source, data.is_subset, data.info,
        ),
        protocol.batch_size,
        device=device,
        seed=spec.seed,
        test_batch_size=500,
    )  # fmt: skip
    oscillation = OscillationIndex(params, samples=oscillation_samples, seed=spec.seed)
    # Training goes through the compiled wrapper; ``model`` stays the plain module, whose
    # state_dict keys the checkpoint (the wrapper's would carry an ``_orig_mod.`` prefix)
    # and which evaluates the test set (eval mode under no_grad would be a second graph to
    # compile for a small share of the epoch's time).
    forward = torch.compile(model) if compile_model else model

    for epoch in range(start_epoch, protocol.epochs):
        lr = _learning_rate(protocol, base_lr, epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr
        model.train()
        started = time.perf_counter()
        loss_sum = torch.zeros((), device=device)
        norm_sum = torch.zeros((), device=device)
        steps, seen = 0, 0
        for batch_images, batch_labels in train_loader.iter_epoch(epoch):
            if device.type == "cuda":
                batch_images = batch_images.contiguous(memory_format=torch.channels_last)
            optimizer.zero_grad(set_to_none=True)
            with _autocast(device):
                loss = nn.functional.cross_entropy(forward(batch_images).float(), batch_labels)
            loss.backward()
            optimizer.step()
            norm_sum += first_moment_input_norm(optimizer)
            oscillation.update()
            loss_sum += loss.detach() * len(batch_labels)
            steps += 1
            seen += len(batch_labels)
        seconds = time.perf_counter() - started
        train_loss = float(loss_sum) / seen
        test_loss, test_accuracy = evaluate(model, test_loader, device)
        step_stats = layerwise_step_statistics(optimizer)
        entry = {
            "epoch": epoch + 1,
            "lr": lr,
            "train_loss": train_loss,
            "test_loss": test_loss,
            "test_accuracy": test_accuracy,
            "mean_first_moment_input_norm": float(norm_sum) / max(steps, 1),
            "layer_step_sizes": step_stats,
            "oscillation_index": oscillation.value(),
            "optimizer_state_bytes": state_bytes(optimizer),
            "seconds": seconds,
            "images_per_second": seen / seconds,
        }
        if compile_model:
            entry["compiled_model"] = True  # its images/s are not comparable with eager runs
        if not math.isfinite(train_loss):
            entry["diverged"] = True
        record["history"].append(entry)
        # Order matters for a crash between the writes: metrics line, then log, then
        # checkpoint. Whatever is ahead of the checkpoint is cut back on resume (see above).
        _append_metrics(metrics_path, entry)
        _atomic_write(history_path, lambda path: path.write_text(json.dumps(record, indent=1)))
        _atomic_write(
            checkpoint_path,
            lambda path, e=epoch: torch.save(
                {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": e},
                path,
            ),
        )
        if progress is not None:
            progress(
                f"{spec.key} epoch {epoch + 1}/{protocol.epochs}: loss {train_loss:.3f}, "
                f"test acc {test_accuracy:.2f}%, {seen / seconds:.0f} img/s"
            )
        if entry.get("diverged"):
            break
    return record
