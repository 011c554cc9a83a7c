"""The papers' training settings as data, with one knob to shrink them for a CPU.

A :class:`Protocol` is everything a run needs besides the optimizer and the
seed. :meth:`Protocol.reduced` keeps the structure (step schedule at the same
fraction of training, same batch size and hyperparameters) and turns down
epochs, model, width and data, so the same code runs a CPU study and the
paper-scale GPU study.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

NOT_IDENTITY = {"run_identity": False}
"""Field metadata for a :class:`Protocol` field that describes a run without changing it."""


def identity_fields(cls: type) -> list[str]:
    """The fields of dataclass ``cls`` that identify a run: all but those marked NOT_IDENTITY."""
    return [f.name for f in dataclasses.fields(cls) if f.metadata.get("run_identity", True)]


@dataclass(frozen=True)
class Protocol:
    """One paper's training setting.

    Every field is part of a run's identity (:meth:`RunSpec.key
    <experiments.training.loop.RunSpec.key>`) except those marked ``NOT_IDENTITY``.
    """

    name: str
    source: str = field(metadata=NOT_IDENTITY)
    """Where the setting comes from (prose for the report)."""
    model: str
    dataset: str
    epochs: int
    batch_size: int
    lr: float
    milestones: tuple[int, ...]
    """Epochs after which the learning rate is multiplied by ``lr_factor``."""
    lr_factor: float = 0.1
    weight_decay: float = 0.0
    width: float = 1.0
    train_subset: int | None = None
    """Use this many training images (class-balanced prefix); None = all."""
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Per-optimizer hyperparameters that differ from ``lr``/``weight_decay`` (e.g. SGD's rate)."""

    def optimizer_options(self, optimizer: str, **extra: Any) -> dict[str, Any]:
        """Hyperparameters for ``optimizer`` under this protocol (``extra`` wins)."""
        options: dict[str, Any] = {"lr": self.lr, "weight_decay": self.weight_decay}
        options.update(self.overrides.get(optimizer, {}))
        options.update(extra)
        return options

    def reduced(
        self,
        *,
        epochs: int,
        model: str | None = None,
        width: float | None = None,
        train_subset: int | None = None,
    ) -> Protocol:
        """The same protocol at a smaller scale; milestones keep their fraction of training."""
        milestones = tuple(max(1, round(m * epochs / self.epochs)) for m in self.milestones)
        return dataclasses.replace(
            self,
            name=f"{self.name}@{epochs}ep" + (f"-{model}" if model else ""),
            epochs=epochs,
            milestones=tuple(m for m in milestones if m < epochs),
            model=model or self.model,
            width=self.width if width is None else width,
            train_subset=train_subset if train_subset is not None else self.train_subset,
        )

    def describe(self) -> str:
        subset = "all" if self.train_subset is None else str(self.train_subset)
        return (
            f"{self.model} (width {self.width:g}) on {self.dataset} [{subset} train images], "
            f"{self.epochs} epochs, batch {self.batch_size}, lr {self.lr:g} x{self.lr_factor:g} "
            f"after epochs {list(self.milestones)}, weight decay {self.weight_decay:g}"
        )


PROTOCOLS: dict[str, Protocol] = {
    p.name: p
    for p in (
        Protocol(
            name="adanorm",
            source="AdaNorm (000) §4: 100 epochs, batch 64, lr 1e-3 -> 1e-4 after epoch 80",
            model="resnet18",
            dataset="cifar10",
            epochs=100,
            batch_size=64,
            lr=1e-3,
            milestones=(80,),
        ),
        Protocol(
            name="aida",
            source=(
                "Aida (004) §IV-A: 200 epochs, batch 128, weight decay 5e-4 (AdamW 1e-2), "
                "lr 1e-3 (SGD 0.1) x0.1 at epoch 150"
            ),
            model="resnet34",
            dataset="cifar10",
            epochs=200,
            batch_size=128,
            lr=1e-3,
            milestones=(150,),
            weight_decay=5e-4,
            overrides={
                "SGDM": {"lr": 0.1, "momentum": 0.9},
                "AdamW": {"weight_decay": 1e-2},
            },
        ),
        Protocol(
            name="ndadam",
            source=(
                "ND-Adam (003) Table I, WRN-22-7.5 on CIFAR-10; the paper gives no schedule, "
                "so WRN's own is used: 200 epochs, batch 128, x0.2 at 60/120/160, wd 5e-4"
            ),
            model="wrn-22-7.5",
            dataset="cifar10",
            epochs=200,
            batch_size=128,
            lr=1e-3,
            milestones=(60, 120, 160),
            lr_factor=0.2,
            weight_decay=5e-4,
            overrides={"SGDM": {"lr": 0.1, "momentum": 0.9}, "NDAdam": {"lr": 0.05}},
        ),
    )
}
PROTOCOLS["aida-vgg11"] = dataclasses.replace(
    PROTOCOLS["aida"],
    name="aida-vgg11",
    source="Aida (004) Figs. 1, 2 and 6: VGG11 on CIFAR-10 under the §IV-A setting",
    model="vgg11",
    overrides={},  # the step-size figures compare the adaptive methods only
)
