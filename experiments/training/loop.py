"""One training run: a model, an optimizer, a protocol and a seed, resumable after a crash.

This module holds what a run is (:class:`RunSpec`, its key and files) and what each of
its epochs does around the training steps (:class:`OpenRun`); the steps themselves are
the engine's (:mod:`experiments.training.engine`), which :func:`train` calls with a
stack of one run.

After every epoch the run appends the epoch's entry to ``metrics.jsonl`` (one
JSON object a line, for tools that tail a run) and writes ``history.json`` (the
whole record) and a checkpoint (model, optimizer, epoch) atomically; started
again with the same output directory it resumes from the last finished epoch.
The data order and augmentation are a pure function of (seed, epoch), so a
resumed run sees the same batches as an uninterrupted one.

``history.json`` is the source of truth: on resume it is cut back to the
checkpoint's epoch and ``metrics.jsonl`` is rewritten from it, so the epochs
of an interrupted attempt never appear twice. A run is finished once its log
holds every epoch (the checkpoint only serves to resume, so a crash right after
the last log write leaves a finished run with the previous epoch's checkpoint).
The checkpoint holds every piece of state a later epoch reads (model, optimizer,
the oscillation probe), so a resumed run records the same values as an
uninterrupted one.

A run whose gradients or loss turn non-finite has *diverged*: that is a result,
not a crash. The epoch it happened in is logged with ``diverged: true`` and
``diverged_at`` (epoch and step), its metrics are NaN, and the run is finished.

Damaged files are handled by what they are: ``metrics.jsonl`` is derived from
``history.json`` and is rewritten on every start, so any damage to it is
repaired; ``history.json`` and ``checkpoint.pt`` hold results and state that
cannot be rebuilt without retraining, so damage to them raises
:class:`RunFileError`, naming the file and the way out (delete the run
directory to train the run again), instead of silently discarding the run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import pickle
import signal
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from experiments.data import DeviceLoader, ImageDataset, make_loaders
from experiments.models.registry import build_model, count_parameters
from experiments.training.host import retain_freed_memory
from experiments.training.probes import (
    OscillationIndex,
    layerwise_step_statistics,
    state_bytes,
)
from experiments.training.protocols import Protocol, identity_fields
from optimizers.registry import REGISTRY

KEY_VERSION = 3
"""Part of every run's identity; bump it when the loop changes what a run records.

3: conv nets train and evaluate in channels_last on the CPU too (before: only on CUDA),
which changes the CPU kernels' summation order and so a CPU run's numbers in their last
bits, and the test loss is summed over images once instead of per batch; keys of version
2 name runs recorded the old way and are not reused."""


class RunFileError(RuntimeError):
    """A run directory's history or checkpoint is unreadable; the message names the file."""


@dataclass(frozen=True)
class RunSpec:
    """Everything that identifies a run; its ``key`` names the output directory."""

    protocol: Protocol
    optimizer: str
    seed: int
    data: str
    """The data it trains on, as :meth:`ImageDataset.fingerprint` names it; :func:`train`
    refuses a data set with another fingerprint."""
    options: tuple[tuple[str, Any], ...] = ()
    """Extra optimizer hyperparameters (e.g. ``(("gamma", 0.9),)``)."""
    oscillation_samples: int = 4096
    """Coordinates the oscillation probe (AR-8's Q) samples; it changes the recorded Q."""

    def identity(self) -> dict[str, Any]:
        """Every setting that changes what the run trains or records, as JSON-able data.

        Built from the dataclass fields, not a hand-kept list, so a field added to
        :class:`RunSpec` or :class:`Protocol` is part of the identity unless it is marked
        otherwise (see :func:`experiments.training.protocols.identity_fields`). The
        optimizer enters with its effective hyperparameters too (protocol defaults,
        overrides and options merged).
        """
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        fields["protocol"] = {
            name: getattr(self.protocol, name) for name in identity_fields(Protocol)
        }
        fields["options"] = self.protocol.optimizer_options(self.optimizer, **dict(self.options))
        return {"key_version": KEY_VERSION, **fields}

    @property
    def key(self) -> str:
        """``protocol/optimizer[-options]/seedN-<digest>``: readable parts for people (and the
        report's grouping by protocol and arm), a digest of :meth:`identity` for uniqueness."""
        extra = "".join(f"-{k}={v}" for k, v in self.options)
        text = json.dumps(self.identity(), sort_keys=True, separators=(",", ":"), default=repr)
        digest = hashlib.sha256(text.encode()).hexdigest()[:12]
        return f"{self.protocol.name}/{self.optimizer}{extra}/seed{self.seed}-{digest}"


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
    # Closing the file hands the line to the OS, where tools that tail the run read it. No
    # fsync: the file is derived, rebuilt from history.json on every start (which is not
    # synced either), so forcing it to disk guards nothing (it cost 3-5 ms an epoch).
    with path.open("a") as fh:
        fh.write(_metrics_line(entry))


def read_metrics(run_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """The per-epoch entries of a run's ``metrics.jsonl``, in epoch order.

    A torn last line (a crash in mid-append; the next start of the run rewrites the file)
    is left out; any other unreadable line raises :class:`RunFileError`.
    """
    path = Path(run_dir) / METRICS
    text = _read_text(path)
    lines = text.split("\n")
    entries = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError as error:
            if number == len(lines):  # no newline after it: an append that did not finish
                break
            raise RunFileError(f"{path}: line {number} is not JSON ({error})") from error
    return entries


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise RunFileError(f"{path}: not UTF-8 text ({error}); {_REMEDY}") from error


_REMEDY = "delete the run's directory to train the run again"


def read_history(path: Path) -> dict[str, Any]:
    """A run's ``history.json``; :class:`RunFileError` naming the file if it is damaged."""
    try:
        record = json.loads(_read_text(path))
    except json.JSONDecodeError as error:
        raise RunFileError(f"{path}: damaged run log ({error}); {_REMEDY}") from error
    if not (
        isinstance(record, dict)
        and isinstance(record.get("history"), list)
        and all(isinstance(e, dict) for e in record["history"])
    ):
        raise RunFileError(f"{path}: not a run log (no list of epochs under 'history'); {_REMEDY}")
    return record


def _load_checkpoint(path: Path, device: torch.device) -> dict[str, Any]:
    # weights_only: a checkpoint is tensors and plain containers, so nothing in a runs
    # directory can make loading it run code.
    try:
        # torch.load does not check the zip archive's CRCs, so a flipped byte in a tensor
        # would load as a silently different weight: zipfile checks every member first.
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
        if bad is not None:
            raise RunFileError(f"{path}: damaged checkpoint (bad CRC in {bad}); {_REMEDY}")
        saved = torch.load(path, map_location=device, weights_only=True)
    except RunFileError:
        raise
    except (
        EOFError, OSError, RuntimeError, ValueError, KeyError, IndexError, TypeError,
        AttributeError, pickle.UnpicklingError, zipfile.BadZipFile, UnicodeDecodeError,
    ) as error:  # fmt: skip
        raise RunFileError(
            f"{path}: damaged or foreign checkpoint ({type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else ''}); {_REMEDY}"
        ) from error
    if not (
        isinstance(saved, dict) and {"model", "optimizer", "epoch", "oscillation"} <= set(saved)
    ):
        raise RunFileError(f"{path}: not a checkpoint of this training loop; {_REMEDY}")
    return saved


def finished_record(spec: RunSpec, out_dir: str | os.PathLike) -> dict[str, Any] | None:
    """The record of ``spec`` under ``out_dir`` if the run is complete (or diverged), else None.

    A finished run needs no checkpoint: its log is the result (runs trained on another
    machine come back as logs only).
    """
    history_path = Path(out_dir) / spec.key / HISTORY
    if not history_path.exists():
        return None
    record = read_history(history_path)
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
    labels = data.train_labels
    firsts = [np.flatnonzero(labels == label)[:per_class] for label in range(len(data.classes))]
    keep = np.sort(np.concatenate(firsts))
    return data.train_images[keep], labels[keep]


def evaluate(model: nn.Module, loader, device: torch.device) -> tuple[float, float]:
    """Mean cross-entropy and accuracy (%) over a loader.

    The per-image losses are summed once, in loader order, rather than per batch: so the
    figures do not depend on how the loader batches the set (where the model's per-image
    outputs do not), and the device is synchronised once rather than per batch.
    """
    model.eval()
    losses, hits = [], []
    with torch.inference_mode(), _autocast(device):
        for images, labels in loader:
            logits = model(_in_training_layout(images))
            losses.append(nn.functional.cross_entropy(logits.float(), labels, reduction="none"))
            hits.append(logits.argmax(1) == labels)
    seen = sum(len(h) for h in hits)
    total_loss = float(torch.cat(losses).double().sum())
    correct = int(torch.cat(hits).sum())
    return total_loss / seen, 100.0 * correct / seen


EVAL_BATCH = {"cpu": 128}
"""Test-set batch size by device type (default :data:`EVAL_BATCH_DEFAULT`). On the CPU
batches of about a hundred images keep a small CNN's activations in cache: the reduced
studies' model (width 0.5, one thread) evaluated 1,000 images in 111-115 ms at batches of
64-250 against 181 ms at 500, with the same logits bit for bit."""
EVAL_BATCH_DEFAULT = 500


def _in_training_layout(images: torch.Tensor) -> torch.Tensor:
    # channels_last on every device: on the CPU it makes a small CNN's training step about
    # 1.5x faster than NCHW (max-pooling and the 3-channel first convolution most of all:
    # 12x and 8x faster forward), on CUDA it is what the tensor cores want. The model's
    # weights are converted once, in train().
    return images.contiguous(memory_format=torch.channels_last)


def _autocast(device: torch.device):
    # bf16 matmuls on a GPU; the optimizer and its state stay in float32.
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast("cpu", enabled=False)


KILL_AT_ENV = "EXPERIMENTS_TRAINING_KILL_AT"
"""Fault injection for the crash-consistency tests: ``<point>:<epoch>[:<step>]`` makes the
training process SIGKILL itself right after ``point`` of (1-based) ``epoch``; points are
``step`` (after optimizer step ``<step>`` of the epoch), ``metrics``, ``history`` and
``checkpoint`` (after that file's write). Unset in normal use."""

_WRITE_POINTS = ("metrics", "history", "checkpoint")


def _kill_point() -> tuple[str, int, int] | None:
    value = os.environ.get(KILL_AT_ENV)
    if not value:
        return None
    point, epoch, *step = value.split(":")
    if point not in ("step", *_WRITE_POINTS) or (point == "step") != bool(step):
        raise ValueError(
            f"{KILL_AT_ENV}={value!r}: expected step:<epoch>:<step> or <write>:<epoch>"
        )
    return point, int(epoch), int(step[0]) if step else 0


def _maybe_kill(
    kill_at: tuple[str, int, int] | None, point: str, epoch: int, step: int = 0
) -> None:
    if kill_at == (point, epoch, step):
        os.kill(os.getpid(), signal.SIGKILL)


def _diverged_entry(epoch: int, lr: float, step: int | None, reason: str) -> dict[str, Any]:
    """The log entry of the epoch a run diverged in: no metric is defined, so each is NaN."""
    nan = math.nan
    return {
        "epoch": epoch,
        "lr": lr,
        "train_loss": nan,
        "test_loss": nan,
        "test_accuracy": nan,
        "mean_first_moment_input_norm": nan,
        "layer_step_sizes": [],
        "oscillation_index": nan,
        "diverged": True,
        "diverged_at": {"epoch": epoch, "step": step, "reason": reason},
    }


def diverged_at(record: dict[str, Any]) -> dict[str, Any] | None:
    """Where a run diverged (``{"epoch", "step", "reason"}``), or None if it did not."""
    history = record.get("history") or []
    if not (history and history[-1].get("diverged")):
        return None
    last = history[-1]
    return last.get(
        "diverged_at", {"epoch": last["epoch"], "step": None, "reason": "non-finite loss"}
    )


@dataclass
class OpenRun:
    """A run opened for training: its model, optimizer, probe and log, at the epoch it starts.

    One place for what every epoch of a run does around its training steps (learning rate,
    the log entry, the writes), shared by :func:`train` and the stacked engine
    (:mod:`experiments.training.engine`), so a run's files are the same whichever trained it.
    """

    spec: RunSpec
    run_dir: Path
    model: nn.Module
    optimizer: torch.optim.Optimizer
    oscillation: OscillationIndex
    record: dict[str, Any]
    start_epoch: int
    base_lr: float
    forward: Callable[[torch.Tensor], torch.Tensor] | None = None
    """What the training steps call: ``torch.compile(model)`` for a compiled run, else the
    model itself (``None``). The plain module keys the checkpoint (a compiled wrapper's
    state_dict would carry an ``_orig_mod.`` prefix) and evaluates the test set."""

    @property
    def training_forward(self) -> Callable[[torch.Tensor], torch.Tensor]:
        return self.model if self.forward is None else self.forward

    def set_learning_rate(self, epoch: int) -> float:
        """Put the schedule's rate for (0-based) ``epoch`` into every group; return it."""
        lr = _learning_rate(self.spec.protocol, self.base_lr, epoch)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        return lr

    def epoch_entry(
        self,
        epoch: int,
        lr: float,
        divergence: tuple[int | None, str] | None,
        train_loss: float,
        test: tuple[float, float] | None,
        mean_norm: float,
        seconds: float,
        seen: int,
    ) -> dict[str, Any]:
        """The log entry of (0-based) ``epoch``: a diverged entry, or the epoch's metrics with
        ``test`` = (test loss, test accuracy)."""
        if divergence is not None:
            entry = _diverged_entry(epoch + 1, lr, *divergence)
        else:
            assert test is not None
            entry = {
                "epoch": epoch + 1,
                "lr": lr,
                "train_loss": train_loss,
                "test_loss": test[0],
                "test_accuracy": test[1],
                "mean_first_moment_input_norm": mean_norm,
                "layer_step_sizes": layerwise_step_statistics(self.optimizer),
                "oscillation_index": self.oscillation.value(),
            }
        entry["optimizer_state_bytes"] = state_bytes(self.optimizer)
        entry["seconds"] = seconds
        entry["images_per_second"] = seen / seconds
        return entry

    def save_epoch(
        self, entry: dict[str, Any], epoch: int, kill_at: tuple[str, int, int] | None
    ) -> None:
        """Log ``entry`` and checkpoint the run after (0-based) ``epoch``."""
        self.record["history"].append(entry)
        # Order matters for a crash between the writes: metrics line, then log, then
        # checkpoint. Whatever is ahead of the checkpoint is cut back on resume (see above).
        _append_metrics(self.run_dir / METRICS, entry)
        _maybe_kill(kill_at, "metrics", epoch + 1)
        _atomic_write(
            self.run_dir / HISTORY,
            lambda path: path.write_text(json.dumps(self.record, indent=1)),
        )
        _maybe_kill(kill_at, "history", epoch + 1)
        # Cloned: a stacked engine's batch-norm buffers are views into all runs' storage,
        # which torch.save would otherwise write whole into every run's checkpoint.
        model_state = {name: t.clone() for name, t in self.model.state_dict().items()}
        _atomic_write(
            self.run_dir / CHECKPOINT,
            lambda path: torch.save(
                {
                    "model": model_state,
                    "optimizer": self.optimizer.state_dict(),
                    "oscillation": self.oscillation.state_dict(),
                    "epoch": epoch,
                },
                path,
            ),
        )
        _maybe_kill(kill_at, "checkpoint", epoch + 1)

    def progress_line(self, entry: dict[str, Any]) -> str:
        """One line on a finished epoch for a progress callback."""
        key, epochs = self.spec.key, self.spec.protocol.epochs
        if entry.get("diverged"):
            step = entry["diverged_at"]["step"]
            return f"{key} diverged in epoch {entry['epoch']} (step {step})"
        return (
            f"{key} epoch {entry['epoch']}/{epochs}: loss {entry['train_loss']:.3f}, "
            f"test acc {entry['test_accuracy']:.2f}%, {entry['images_per_second']:.0f} img/s"
        )


def check_data(spec: RunSpec, data: ImageDataset, fingerprint: str | None = None) -> None:
    """Refuse to train ``spec`` on data other than the data it names (``fingerprint``: the
    data's, when the caller has it already)."""
    given = fingerprint or data.fingerprint()
    if spec.data != given:
        raise ValueError(
            f"{spec.key} is a run on data {spec.data}, but was given {data.describe()} "
            f"(fingerprint {given})"
        )


def open_run(
    spec: RunSpec, data: ImageDataset, out_dir: str | os.PathLike, device: torch.device
) -> OpenRun:
    """Build ``spec``'s model, optimizer and probe on ``device`` (the model's initial weights
    a function of the seed) and resume them from the run's checkpoint when there is one."""
    if device.type == "cpu":
        retain_freed_memory()  # a quarter of the CPU time otherwise goes to page faults
    protocol = spec.protocol
    run_dir = Path(out_dir) / spec.key
    run_dir.mkdir(parents=True, exist_ok=True)
    history_path, checkpoint_path = run_dir / HISTORY, run_dir / CHECKPOINT

    torch.manual_seed(spec.seed)
    model = build_model(protocol.model, num_classes=len(data.classes), width=protocol.width)
    model = model.to(device).to(memory_format=torch.channels_last)  # see _in_training_layout
    options = protocol.optimizer_options(spec.optimizer, **dict(spec.options))
    optimizer = REGISTRY[spec.optimizer].torch_class(model.parameters(), **options)
    params = [p for p in model.parameters() if p.requires_grad]
    oscillation = OscillationIndex(params, samples=spec.oscillation_samples, seed=spec.seed)

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
    if checkpoint_path.exists() and history_path.exists():
        logged = read_history(history_path)
        saved = _load_checkpoint(checkpoint_path, device)
        resume_at = saved["epoch"] + 1
        # The log is written before the checkpoint, so after a crash between the two it may
        # hold an epoch the checkpoint lacks: that epoch is trained again, logged once. A log
        # behind its checkpoint (left by versions that saved the checkpoint first) has lost
        # an epoch for good; the run then starts over rather than leave a gap.
        if len(logged["history"]) >= resume_at:
            try:
                model.load_state_dict(saved["model"])
                optimizer.load_state_dict(saved["optimizer"])
                oscillation.load_state_dict(saved["oscillation"])
            except (RuntimeError, ValueError, KeyError, TypeError) as error:
                raise RunFileError(
                    f"{checkpoint_path}: does not fit this run ({error}); {_REMEDY}"
                ) from error
            record = logged
            record["history"] = record["history"][:resume_at]
            start_epoch = resume_at
    # From history, not appended to: lines of an interrupted attempt past the checkpoint (or
    # of a run restarted from scratch) would otherwise be counted twice.
    _rewrite_metrics(run_dir / METRICS, record["history"])
    return OpenRun(spec, run_dir, model, optimizer, oscillation, record, start_epoch,
                   options["lr"])  # fmt: skip


def run_loaders(
    data: ImageDataset, protocol: Protocol, seed: int, device: torch.device
) -> tuple[DeviceLoader, DeviceLoader]:
    """A run's train loader (its protocol's subset, order and augmentation a function of
    (seed, epoch)) and its test loader."""
    images, labels = _subset(data, protocol.train_subset)
    return make_loaders(
        ImageDataset(
            data.name, data.classes, images, labels, data.test_images, data.test_labels,
            data.source, data.is_subset, data.info,
        ),
        protocol.batch_size,
        device=device,
        seed=seed,
        test_batch_size=EVAL_BATCH.get(device.type, EVAL_BATCH_DEFAULT),
    )  # fmt: skip


def epoch_divergence(
    divergence: tuple[int | None, str] | None, train_loss: float
) -> tuple[int | None, str] | None:
    """Where an epoch diverged: the optimizer's own report, else a non-finite training loss
    (an optimizer that does not check its gradients), else None."""
    if divergence is None and not math.isfinite(train_loss):
        return (None, "non-finite training loss")
    return divergence


def train(
    spec: RunSpec,
    data: ImageDataset,
    out_dir: str | os.PathLike,
    *,
    device: str | torch.device = "cpu",
    progress: Callable[[str], None] | None = None,
    compile_model: bool = False,
) -> dict[str, Any]:
    """Run (or resume) ``spec`` and return its record: settings plus per-epoch history.

    A single run is a stack of one in the engine's looped layout
    (:func:`experiments.training.engine.train_together`): the training step is written
    once, there, for a run alone and for runs trained together.

    ``compile_model`` trains through ``torch.compile(model)``; checkpoints still hold the
    plain module's ``state_dict`` (no ``_orig_mod.`` prefix), so a run can be resumed with
    compilation switched on or off. It is not part of ``spec.key``: compiling changes the
    speed, not the run.
    """
    from experiments.training.engine import train_together  # the engine builds on this module

    (record,) = train_together(
        [spec], data, out_dir, device=device, progress=progress, layout="looped",
        compile_model=compile_model,
    )  # fmt: skip
    return record
