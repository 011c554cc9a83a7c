"""The empirical claims as studies: which arms to train, what to measure, how to decide.

Each :class:`Study` names its arms (optimizer + options, or a changed protocol
setting), runs them on shared seeds through :func:`experiments.training.loop.train`
and turns the per-seed metrics into a result with
:mod:`experiments.training.statistics`.

Each study also names, as data, the setting of the claim's paper evidence
(:class:`PaperSetting`), and each run of it states how closely it matches
(:func:`fidelity`). Only a run that matches the claim's scope — the papers'
model, data and protocol, or for a claim stated scale-free a run where its
premises hold — may decide ``holds`` or ``falsified``; any other run is
evidence ("supported", "not reproduced" at its scale) and the verdict stays
``needs-gpu``, or ``needs-data`` where the paper's data is not here
(:func:`study_verdict`).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from experiments.training.loop import RunSpec
from experiments.training.protocols import PROTOCOLS, Protocol
from experiments.training.statistics import (
    PairedComparison,
    combine,
    equivalence,
    paired,
    superiority,
)
from theory.verdicts import (
    FALSIFIED,
    HOLDS,
    INCONCLUSIVE,
    NEEDS_DATA,
    NEEDS_GPU,
    NOT_REPRODUCED,
    SUPPORTED,
)

TRAIN_IMAGES = {"cifar10": 50_000, "cifar100": 50_000, "tinyimagenet": 100_000,
                "imagenet": 1_281_167, "ptb": 929_589}  # fmt: skip
"""Training-set sizes of the papers' data sets (PTB: training tokens)."""

PHASE_STARTS = {"early": 0.0, "middle": 0.1, "late": 0.75}
"""Where each stage of a paper's run begins, as a fraction of its optimizer steps (late:
from the last learning-rate drop of the papers' schedules, 80/100 and 150/200 epochs)."""
END = "end"
"""A claim about the outcome after the whole schedule (final accuracy or loss): a shorter
run reaches the end of its own, compressed schedule, which is evidence but not the paper's."""


@dataclass(frozen=True)
class PaperSetting:
    """The setting of a claim's paper evidence, and which part of training the claim speaks of.

    ``phases`` are stages of the paper's run (``early``, ``middle``, ``late``: see
    :data:`PHASE_STARTS`) or :data:`END`; empty for a claim stated of training at large.
    ``scale_free``: the claim is stated without a scale (a property of the method in
    training), so a run of any size decides where its premises hold: the second-moment
    average past its ``averaging_window`` of 1/(1-β2) steps and the claim's phases reached.
    """

    evidence: str
    models: tuple[str, ...]
    datasets: tuple[str, ...]
    epochs: int
    batch_size: int
    schedule: str
    phases: tuple[str, ...]
    scale_free: bool = False
    averaging_window: int = 1000
    """1/(1-β2) with the papers' β2 = 0.999."""

    @property
    def steps(self) -> int:
        """Optimizer steps of one paper run (on the first data set named)."""
        return self.epochs * math.ceil(TRAIN_IMAGES[self.datasets[0]] / self.batch_size)

    def as_json(self) -> dict[str, Any]:
        return {
            "evidence": self.evidence,
            "model": ", ".join(self.models),
            "dataset": ", ".join(self.datasets),
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "steps": self.steps,
            "schedule": self.schedule,
            "phases": list(self.phases),
            "scale_free": self.scale_free,
            "averaging_window": self.averaging_window,
        }


def fidelity(
    paper: PaperSetting, protocol: Protocol, train_images: int, seeds: int
) -> dict[str, Any]:
    """How closely a run of ``protocol`` on ``train_images`` images matches ``paper``."""
    model = protocol.model + (f" (width {protocol.width:g})" if protocol.width != 1 else "")
    same_model = protocol.model in paper.models and protocol.width == 1
    on_paper_data = protocol.dataset in paper.datasets
    data_fraction = train_images / TRAIN_IMAGES[protocol.dataset] if on_paper_data else 0.0
    steps = protocol.epochs * math.ceil(train_images / protocol.batch_size)
    step_fraction = steps / paper.steps
    phases = [name for name, start in PHASE_STARTS.items() if step_fraction > start]
    if step_fraction >= 1:
        phases.append(END)
    window = steps >= paper.averaging_window
    reached = all(p == END or p in phases for p in paper.phases)
    if paper.scale_free:
        matches = window and reached
    else:
        matches = (
            same_model
            and data_fraction >= 1
            and step_fraction >= 1
            and protocol.batch_size == paper.batch_size
        )
    return {
        "model": model,
        "paper_model": ", ".join(paper.models),
        "same_model": same_model,
        "dataset": protocol.dataset,
        "paper_dataset": ", ".join(paper.datasets),
        "data_fraction": round(data_fraction, 4),
        "step_fraction": round(step_fraction, 5),
        "steps": steps,
        "paper_steps": paper.steps,
        "phases": phases,
        "claim_phases": list(paper.phases),
        "averaging_window": paper.averaging_window,
        "averaging_window_reached": window,
        "seeds": seeds,
        "matches_scope": matches,
    }


def reading(decided: str, fidelity_: dict[str, Any]) -> str:
    """What a run says about the claim at its own scale: supported, not reproduced, or
    inconclusive (its interval straddles, or it reaches none of the phases the claim is about)."""
    claim_phases = fidelity_["claim_phases"]
    if claim_phases and not any(p == END or p in fidelity_["phases"] for p in claim_phases):
        return INCONCLUSIVE
    return {HOLDS: SUPPORTED, FALSIFIED: NOT_REPRODUCED}.get(decided, INCONCLUSIVE)


def study_verdict(study: Study, decided: str, fidelity_: dict[str, Any]) -> str:
    """The verdict one run of ``study`` may give: its own result where it matches the claim's
    scope, else what the claim still needs (its paper's data, or a GPU for its scale)."""
    if fidelity_["matches_scope"]:
        return decided
    return NEEDS_DATA if study.needs == "data" else NEEDS_GPU


@dataclass(frozen=True)
class Arm:
    """One configuration in a study."""

    label: str
    optimizer: str
    options: tuple[tuple[str, Any], ...] = ()
    protocol_changes: tuple[tuple[str, Any], ...] = ()
    """Changes to the protocol (e.g. batch size) for this arm."""

    def spec(self, protocol: Protocol, seed: int, data: str) -> RunSpec:
        """The run of this arm under ``protocol`` with ``seed`` on the data set whose
        fingerprint is ``data``."""
        if self.protocol_changes:
            changes = dict(self.protocol_changes)
            suffix = "".join(f"-{k}={v}" for k, v in self.protocol_changes)
            protocol = dataclasses.replace(protocol, name=protocol.name + suffix, **changes)
        return RunSpec(protocol, self.optimizer, seed, data, self.options)


Records = dict[str, list[dict[str, Any]]]
"""Arm label -> one run record per seed (seed order)."""


@dataclass(frozen=True)
class Study:
    """A claim's experiment and its decision rule."""

    claim_id: str
    protocol: str
    arms: tuple[Arm, ...]
    decide: Callable[[Records], tuple[str, list[PairedComparison], dict[str, Any]]]
    paper: PaperSetting = field(kw_only=True)
    needs: str | None = None
    """'gpu' when only the papers' scale answers the claim and a CPU-sized study is not run by
    default, 'data' when the paper's data is missing."""
    missing: str = ""
    """What the paper-scale check would need that this machine lacks."""
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def final(metric: str) -> Callable[[dict[str, Any]], float]:
    """The metric's value at the last epoch (NaN for a diverged run)."""

    def read(record: dict[str, Any]) -> float:
        value = record["history"][-1][metric]
        return float(value) if value is not None else math.nan

    return read


def mean_over_epochs(metric: str) -> Callable[[dict[str, Any]], float]:
    def read(record: dict[str, Any]) -> float:
        return float(np.mean([entry[metric] for entry in record["history"]]))

    return read


def layer_step(statistic: str, epoch: int = -1) -> Callable[[dict[str, Any]], float]:
    """Mean over layers of log10 of a layerwise step-size statistic ('mean' or 'std')."""

    def read(record: dict[str, Any]) -> float:
        rows = record["history"][epoch]["layer_step_sizes"]
        return float(np.mean([math.log10(max(row[statistic], 1e-300)) for row in rows]))

    return read


def compare(
    records: Records, a: str, b: str, metric: Callable[[dict[str, Any]], float], label: str
) -> PairedComparison:
    return paired(label, [metric(r) for r in records[a]], [metric(r) for r in records[b]])


def _adanorm_protocol(
    evidence: str,
    models: tuple[str, ...],
    datasets: tuple[str, ...],
    phases: tuple[str, ...],
    schedule_note: str = "",
) -> PaperSetting:
    """Paper 000's training protocol (§4): 100 epochs, batch 64, lr 1e-3 → 1e-4 after epoch 80."""
    schedule = "lr 1e-3 → 1e-4 after epoch 80" + schedule_note
    return PaperSetting(evidence, models, datasets, 100, 64, schedule, phases)


def _aida_protocol(
    evidence: str, models: tuple[str, ...], phases: tuple[str, ...], scale_free: bool = False
) -> PaperSetting:
    """Paper 004's CIFAR-10 protocol (§IV-A): 200 epochs, batch 128, lr 1e-3 → 1e-4 at epoch
    150, weight decay 5e-4."""
    schedule = "lr 1e-3 → 1e-4 at epoch 150, weight decay 5e-4"
    return PaperSetting(
        evidence, models, ("cifar10",), 200, 128, schedule, phases, scale_free=scale_free
    )


def _superior_pairs(pairs: Sequence[tuple[str, str]], metric, label: str):
    def decide(records: Records):
        comparisons = [compare(records, a, b, metric, f"{label}: {a} - {b}") for a, b in pairs]
        return combine([superiority(c) for c in comparisons]), comparisons, {}

    return decide


def _equivalent_to(reference: str, others: Sequence[str], metric, margin: float, label: str):
    def decide(records: Records):
        comparisons = [
            compare(records, other, reference, metric, f"{label}: {other} - {reference}")
            for other in others
        ]
        verdicts = [equivalence(c, margin) for c in comparisons]
        return combine(verdicts), comparisons, {"equivalence_margin": margin}

    return decide


def _ordered(chain: Sequence[str], metric, label: str, smaller_first: bool = True):
    """Claim ``metric(chain[0]) < metric(chain[1]) < ...`` (or > when not smaller_first)."""

    def decide(records: Records):
        comparisons = []
        for left, right in itertools.pairwise(chain):
            a, b = (right, left) if smaller_first else (left, right)
            comparisons.append(compare(records, a, b, metric, f"{label}: {a} - {b}"))
        return combine([superiority(c) for c in comparisons]), comparisons, {}

    return decide


def _adam_vs_adamnorm(changes: Sequence[tuple[str, Any]], label: str) -> tuple[Arm, ...]:
    arms = []
    for key, value in changes:
        arms.append(Arm(f"Adam {label}={value}", "Adam", protocol_changes=((key, value),)))
        arms.append(Arm(f"AdamNorm {label}={value}", "AdamNorm", protocol_changes=((key, value),)))
    return tuple(arms)


def _per_setting(values: Sequence[Any], label: str, metric) -> Callable:
    def decide(records: Records):
        comparisons = [
            compare(
                records,
                f"AdamNorm {label}={v}",
                f"Adam {label}={v}",
                metric,
                f"test accuracy at {label}={v}: AdamNorm - Adam",
            )
            for v in values
        ]
        return combine([superiority(c) for c in comparisons]), comparisons, {}

    return decide


def _batch_sensitivity(values: Sequence[int]) -> Callable:
    """AN-13: AdamNorm beats Adam at each batch size, and varies less across them."""

    def decide(records: Records):
        accuracy = final("test_accuracy")
        comparisons = [
            compare(
                records,
                f"AdamNorm batch_size={v}",
                f"Adam batch_size={v}",
                accuracy,
                f"test accuracy at batch {v}: AdamNorm - Adam",
            )
            for v in values
        ]
        spreads = {}
        for name in ("Adam", "AdamNorm"):
            per_seed = np.array(
                [[accuracy(r) for r in records[f"{name} batch_size={v}"]] for v in values]
            )
            spreads[name] = list(per_seed.max(axis=0) - per_seed.min(axis=0))
        spread = paired(
            "accuracy range over batch sizes: Adam - AdamNorm", spreads["Adam"], spreads["AdamNorm"]
        )
        comparisons.append(spread)
        verdict = combine([superiority(c) for c in comparisons])
        return verdict, comparisons, {}

    return decide


def _gap_shrinks(records: Records):
    """AI-6: mean step-size gap Aida - AdaBelief is smaller at the end than at mid-training."""
    metric_mid, metric_end = layer_step("mean", epoch=0), layer_step("mean", epoch=-1)
    gaps_mid = [
        metric_mid(a) - metric_mid(b)
        for a, b in zip(records["Aida K=2"], records["AdaBelief"], strict=True)
    ]
    gaps_end = [
        metric_end(a) - metric_end(b)
        for a, b in zip(records["Aida K=2"], records["AdaBelief"], strict=True)
    ]
    comparison = paired(
        "log10 mean step gap (Aida - AdaBelief): first epoch - last epoch", gaps_mid, gaps_end
    )
    return superiority(comparison), [comparison], {}


def _convergence_shape(records: Records):
    """AN-15: Adam's training loss is lower early, AdamNorm's is lower at the end."""
    early = compare(
        records,
        "AdamNorm",
        "Adam",
        lambda r: r["history"][0]["train_loss"],
        "train loss after the first epoch: AdamNorm - Adam",
    )
    late = compare(
        records, "Adam", "AdamNorm", final("train_loss"), "final train loss: Adam - AdamNorm"
    )
    return combine([superiority(early), superiority(late)]), [early, late], {}


def _step_size_order(records: Records):
    """AI-5 / AB-1: layerwise std of step sizes Aida < AdaBelief < Adam+, means the reverse."""
    std, mean = layer_step("std"), layer_step("mean")
    comparisons = [
        compare(records, "AdaBelief", "Aida K=2", std, "log10 layer std: AdaBelief - Aida(K=2)"),
        compare(records, "Adam+", "AdaBelief", std, "log10 layer std: Adam+ - AdaBelief"),
        compare(records, "Aida K=2", "AdaBelief", mean, "log10 layer mean: Aida(K=2) - AdaBelief"),
        compare(records, "AdaBelief", "Adam+", mean, "log10 layer mean: AdaBelief - Adam+"),
        compare(records, "Aida K=1", "Aida K=2", std, "log10 layer std: Aida(K=1) - Aida(K=2)"),
        compare(records, "Aida K=2", "Aida K=1", mean, "log10 layer mean: Aida(K=2) - Aida(K=1)"),
    ]
    return combine([superiority(c) for c in comparisons]), comparisons, {}


def _belief_step_sizes(records: Records):
    """AB-1 (emp part): AdaBelief's step sizes larger on average and more uniform than Adam's."""
    std, mean = layer_step("std"), layer_step("mean")
    comparisons = [
        compare(records, "AdaBelief", "Adam+", mean, "log10 layer mean: AdaBelief - Adam+"),
        compare(records, "Adam+", "AdaBelief", std, "log10 layer std: Adam+ - AdaBelief"),
    ]
    return combine([superiority(c) for c in comparisons]), comparisons, {}


ACCURACY = final("test_accuracy")
NORM_PAIRS = (
    ("AdamNorm", "Adam"),
    ("DiffGradNorm", "DiffGrad"),
    ("RAdamNorm", "RAdam"),
    ("AdaBeliefNorm", "AdaBelief"),
)
ADAM_PLUS = Arm("Adam+", "Adam", (("eps_mode", "both"),))
LAYERWISE = ("AdamL", "AdaBeliefL", "LAdam", "LAdaBelief")

STUDIES: dict[str, Study] = {
    s.claim_id: s
    for s in (
        Study(
            "AN-9",
            "adanorm",
            tuple(Arm(n, n) for pair in NORM_PAIRS for n in pair),
            _superior_pairs(NORM_PAIRS, ACCURACY, "final test accuracy"),
            paper=_adanorm_protocol(
                "000 Table 1",
                ("vgg16", "resnet18", "resnet50"),
                ("cifar10", "cifar100", "tinyimagenet"),
                (END,),
            ),
            needs="gpu",
            missing="VGG16/ResNet18/ResNet50 on CIFAR-10/100 and TinyImageNet, 100 epochs",
        ),
        Study(
            "AN-10",
            "adanorm",
            tuple(Arm(f"gamma={g}", "AdamNorm", (("gamma", g),)) for g in (0.9, 0.95, 0.99, 0.999)),
            _superior_pairs(
                (("gamma=0.95", "gamma=0.999"), ("gamma=0.99", "gamma=0.999")),
                ACCURACY,
                "final test accuracy",
            ),
            paper=_adanorm_protocol(
                "000 Table 2",
                ("vgg16", "resnet18", "resnet50"),
                ("cifar10", "cifar100", "tinyimagenet"),
                (END,),
            ),
            needs="gpu",
            missing="Table 2's nine model/data settings at 100 epochs",
            notes="'very high gamma not recommended' is read as: 0.999 is worse than 0.95 and 0.99",
        ),
        Study(
            "AN-11",
            "adanorm",
            tuple(
                Arm(f"correct {m}", "AdamNorm", (("corrected_moments", m),))
                for m in ("first", "second", "both")
            ),
            _superior_pairs(
                (("correct first", "correct second"), ("correct first", "correct both")),
                ACCURACY,
                "final test accuracy",
            ),
            paper=_adanorm_protocol(
                "000 Table 3",
                ("vgg16", "resnet18", "resnet50"),
                ("cifar10", "cifar100", "tinyimagenet"),
                (END,),
            ),
            needs="gpu",
            missing="Table 3's nine settings at 100 epochs",
        ),
        Study(
            "AN-12",
            "adanorm",
            _adam_vs_adamnorm([("lr", v) for v in (1e-2, 1e-3, 1e-4)], "lr"),
            _per_setting((1e-2, 1e-3, 1e-4), "lr", ACCURACY),
            paper=_adanorm_protocol(
                "000 Table 4",
                ("vgg16", "resnet18"),
                ("cifar10", "cifar100", "tinyimagenet"),
                (END,),
            ),
            needs="gpu",
            missing="Table 4 (VGG16, ResNet18; CIFAR-10/100, TinyImageNet)",
        ),
        Study(
            "AN-13",
            "adanorm",
            _adam_vs_adamnorm([("batch_size", v) for v in (32, 64, 128)], "batch_size"),
            _batch_sensitivity((32, 64, 128)),
            paper=_adanorm_protocol(
                "000 Table 5",
                ("vgg16", "resnet18"),
                ("cifar10", "cifar100", "tinyimagenet"),
                (END,),
                schedule_note=", batch 32/64/128",
            ),
            needs="gpu",
            missing="Table 5 (VGG16, ResNet18; CIFAR-10/100, TinyImageNet)",
        ),
        Study(
            "AN-14",
            "adanorm",
            (Arm("Adam", "Adam"), Arm("AdamNorm", "AdamNorm")),
            _superior_pairs(
                (("AdamNorm", "Adam"),),
                mean_over_epochs("mean_first_moment_input_norm"),
                "mean norm of the first-moment input",
            ),
            paper=_adanorm_protocol(
                "000 Fig. 3",
                ("vgg16", "resnet18"),
                ("cifar10", "cifar100", "tinyimagenet"),
                ("early", "middle", "late"),
            ),
        ),
        Study(
            "AN-15",
            "adanorm",
            (Arm("Adam", "Adam"), Arm("AdamNorm", "AdamNorm")),
            _convergence_shape,
            paper=_adanorm_protocol(
                "000 Fig. 2",
                ("vgg16", "resnet18"),
                ("cifar100", "tinyimagenet"),
                ("early", END),
            ),
            needs="gpu",
            missing="CIFAR-100 (the claim's data set) at 100 epochs",
        ),
        Study(
            "AB-1",
            "aida-vgg11",
            (ADAM_PLUS, Arm("AdaBelief", "AdaBelief")),
            _belief_step_sizes,
            paper=_aida_protocol(
                "004 Figs. 1, 2, 6 (argued in §III-A)",
                ("vgg11",),
                (),
                scale_free=True,
            ),
            notes="Adam+ is Adam with AdaBelief's epsilon placement (004 Fig. 1 caption)",
        ),
        Study(
            "AR-8",
            "aida",
            (
                Arm("AdaRem", "AdaRem", (("lr", 0.1),)),
                Arm("Adam", "Adam"),
                Arm("SGDM", "SGDM", (("lr", 0.1),)),
                Arm("SGD", "SGDM", (("lr", 0.1), ("momentum", 0.0))),
            ),
            _ordered(
                ("AdaRem", "Adam", "SGDM", "SGD"), final("oscillation_index"), "oscillation Q"
            ),
            paper=PaperSetting(
                "002 Fig. 2",
                ("resnet18",),
                ("imagenet",),
                100,
                1024,
                "cosine from lr 0.4 (SGD, AdaRem), no warm-up",
                ("early", "middle", "late"),
            ),
            needs="data",
            missing="ImageNet (the paper's Fig. 2: ResNet-18, 100 epochs, batch 1024)",
            notes="Q over 4096 sampled coordinates; the paper's Fig. 2 uses ResNet-18 on ImageNet",
        ),
        Study(
            "AR-9",
            "aida",
            (
                Arm("AdaRem", "AdaRem", (("lr", 0.1),)),
                Arm("AdaRemS", "AdaRemS", (("lr", 0.1),)),
                Arm("SGDM", "SGDM", (("lr", 0.1),)),
                Arm("Adam", "Adam"),
                Arm("AdamW", "AdamW"),
            ),
            _superior_pairs(
                (("SGDM", "AdaRem"), ("Adam", "AdaRem"), ("AdamW", "AdaRem")),
                final("train_loss"),
                "final train loss (lower for AdaRem)",
            ),
            paper=PaperSetting(
                "002 Tables 1-3, Figs. 4-5",
                ("resnet18", "resnet50", "mobilenetv2", "shufflenetv2"),
                ("imagenet",),
                100,
                1024,
                "cosine from lr 0.4 (SGD, AdaRem), no warm-up",
                ("early", END),
            ),
            needs="data",
            missing="ImageNet (ResNet-18/50, MobileNetV2, ShuffleNetV2) and Penn Treebank",
            notes="reduced proxy: AdaRem's final training loss below SGDM's, Adam's and AdamW's",
        ),
        Study(
            "ND-5",
            "ndadam",
            (Arm("NDAdam", "NDAdam"), Arm("SGDM", "SGDM")),
            _equivalent_to("SGDM", ("NDAdam",), ACCURACY, 0.5, "final test accuracy"),
            paper=PaperSetting(
                "003 Table I",
                ("wrn-22-7.5", "wrn-28-10"),
                ("cifar10", "cifar100"),
                200,
                128,
                "WRN schedule: x0.2 at epochs 60/120/160, weight decay 5e-4",
                (END,),
            ),
            needs="gpu",
            missing="WRN-22-7.5 and WRN-28-10 on CIFAR-10/100, full schedule",
        ),
        Study(
            "LW-4",
            "aida",
            tuple(Arm(n, n) for n in ("AdaBelief", *LAYERWISE)),
            _equivalent_to("AdaBelief", LAYERWISE, ACCURACY, 0.5, "final test accuracy"),
            paper=_aida_protocol(
                "004 Fig. 3",
                ("vgg11", "resnet34"),
                (END,),
            ),
            needs="gpu",
            missing="VGG11 and ResNet34 on CIFAR-10, 200 epochs",
        ),
        Study(
            "AI-5",
            "aida-vgg11",
            (
                ADAM_PLUS,
                Arm("AdaBelief", "AdaBelief"),
                Arm("Aida K=1", "Aida", (("K", 1),)),
                Arm("Aida K=2", "Aida", (("K", 2),)),
            ),
            _step_size_order,
            paper=_aida_protocol(
                "004 Figs. 1, 2, 6 (argued in §III-C)",
                ("vgg11",),
                # Unlike AB-1's mechanism, this is a reading of curves over the whole run
                # (their order changes after the rate drop at epoch 150, Fig. 1's caption):
                # a run must cover every phase of the paper's 200 epochs to decide it.
                ("early", "middle", "late"),
            ),
        ),
        Study(
            "AI-6",
            "aida-vgg11",
            (Arm("AdaBelief", "AdaBelief"), Arm("Aida K=2", "Aida", (("K", 2),))),
            _gap_shrinks,
            paper=_aida_protocol(
                "004 §III-C, Fig. 6",
                ("vgg11",),
                ("late",),
            ),
            notes="compares the first and the last epoch of the run; the paper's curves span "
            "200 epochs, so a short run tests only the early part of 'decrease over epochs'",
        ),
        Study(
            "AI-8",
            "aida",
            tuple(Arm(n, n) for n in ("Aida", "AdaBelief", "SGDM", "RAdam", "Adam", "AdamW")),
            lambda records: _ai8(records),
            paper=_aida_protocol(
                "004 Table I",
                ("vgg11", "resnet34"),
                (END,),
            ),
            needs="gpu",
            missing="VGG11/ResNet34 CIFAR-10 at 200 epochs; Transformer (WMT16), WGAN-GP and LSTM "
            "(Penn Treebank) need data; Yogi, MSVAG and Fromage are not in the suite",
        ),
    )
}


def _ai8(records: Records):
    comparisons = [
        compare(records, "Aida", "AdaBelief", ACCURACY, "test accuracy: Aida - AdaBelief")
    ]
    verdicts = [equivalence(comparisons[0], 0.5)]
    for other in ("SGDM", "RAdam", "Adam", "AdamW"):
        c = compare(records, "Aida", other, ACCURACY, f"test accuracy: Aida - {other}")
        comparisons.append(c)
        verdicts.append(superiority(c))
    return combine(verdicts), comparisons, {"equivalence_margin": 0.5}


def protocol_for(study: Study, scale: dict[str, Any] | None) -> Protocol:
    """The study's protocol, unchanged (``scale=None``) or :meth:`Protocol.reduced` by ``scale``."""
    protocol = PROTOCOLS[study.protocol]
    return protocol if scale is None else protocol.reduced(**scale)
