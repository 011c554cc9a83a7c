"""Run the training studies of the empirical claims and write their verdicts.

    python -m experiments.training --claims AN-14,AI-5            # reduced scale, CPU
    python -m experiments.training --scale paper --device cuda    # the papers' protocols
    python -m experiments.training --backend ray --ray-address auto  # runs spread over Ray

Runs are shared between claims (AN-9's Adam arm is AN-14's), resumable (an
interrupted study picks up at the last finished epoch of each run), and
written under ``--runs``; verdicts go to ``<out>/training-<scale>.json``.

Exit status: 0 when the verdicts were written (whatever they are: a falsified
claim or a diverged run is a result); 1 when a run could not be trained or read
back (a damaged run file or data set: the message names the file); 2 for a
usage error (an unknown claim, an argument out of range), before anything is
trained.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from experiments.data import DataError, load_dataset
from experiments.training.claims import (
    STUDIES,
    Study,
    fidelity,
    protocol_for,
    reading,
    study_verdict,
)
from experiments.training.engine import stacks, train_together
from experiments.training.loop import RunFileError, diverged_at, train
from experiments.training.protocols import Protocol
from experiments.training.stage import TRAINING, paper_scale_command
from experiments.training.sweep import BackendUnavailable, check_backend, run_sweep
from optimizers.arguments import int_at_least
from theory.verdicts import (
    FALSIFIED,
    INCONCLUSIVE,
    NEEDS_DATA,
    NEEDS_GPU,
    ClaimResult,
)

REDUCED = {"epochs": 4, "model": "small_cnn", "width": 0.5, "train_subset": 2000}
"""The CPU scale: a small CNN on 2,000 images of the embedded subset, 4 epochs."""

SOURCES = {"reduced": "reduced CPU study", "shortened": "shortened study", "paper": "paper run"}
"""How the evidence ladder names a study run at each ``--scale``."""


def unrun_record(study: Study, scale: str) -> ClaimResult:
    """The record of a claim about the papers' scale or data when its study was not run here."""
    verdict = NEEDS_DATA if study.needs == "data" else NEEDS_GPU
    evidence = {
        "paper_setting": study.paper.as_json(),
        "missing": study.missing,
        "scale": scale,
        "reduced_study_command": TRAINING.command([study.claim_id], "--scale", "reduced"),
        "paper_scale_command": paper_scale_command(study.claim_id),
    }
    summary = f"needs {study.missing}; the reduced-scale study was not run in this mode"
    return ClaimResult(study.claim_id, verdict, summary, evidence["paper_scale_command"], evidence)


def run_study(
    study: Study,
    scale: str,
    protocol_scale: dict[str, Any] | None,
    seeds: Sequence[int],
    data,
    runs_dir: Path,
    device: str,
    quiet: bool,
    compile_model: bool = False,
) -> ClaimResult:
    protocol = protocol_for(study, protocol_scale)
    started = time.perf_counter()
    fingerprint = data.fingerprint()
    specs = {
        (arm.label, seed): arm.spec(protocol, seed, fingerprint)
        for arm in study.arms
        for seed in seeds
    }
    trained: dict[str, dict[str, Any]] = {}
    if compile_model:  # a compiled model trains alone (the engine steps plain modules)
        for (label, seed), spec in specs.items():
            if not quiet:
                print(f"  [{study.claim_id}] {label}, seed {seed}", flush=True)
            trained[spec.key] = train(spec, data, runs_dir, device=device, compile_model=True)
    else:
        # The arms x seeds train together in the engine: stacked on a GPU, one after
        # another on the CPU (engine.DEFAULT_LAYOUT), each run exactly what train() gives.
        labels = {spec.key: f"{label}/{seed}" for (label, seed), spec in specs.items()}
        for stack in stacks(list(specs.values())):
            if not quiet:
                names = ", ".join(labels[spec.key] for spec in stack)
                print(f"  [{study.claim_id}] training together: {names}", flush=True)
            records_of_stack = train_together(stack, data, runs_dir, device=device)
            trained.update((spec.key, r) for spec, r in zip(stack, records_of_stack, strict=True))
    records = {
        arm.label: [trained[specs[(arm.label, seed)].key] for seed in seeds] for arm in study.arms
    }
    images = len(data.train_labels)
    if protocol.train_subset is not None:  # the loop trains on this class-balanced prefix
        images = min(images, protocol.train_subset)
    return study_result(
        study, scale, protocol, seeds, records, images, data.describe(),
        time.perf_counter() - started,
    )  # fmt: skip


def study_result(
    study: Study,
    scale: str,
    protocol: Protocol,
    seeds: Sequence[int],
    records: dict[str, list[dict[str, Any]]],
    images: int,
    data_description: str,
    seconds: float,
    command: str | None = None,
) -> ClaimResult:
    """The record of ``study`` from its finished runs (arm label -> one record per seed):
    the decision, the fidelity of ``protocol`` on ``images`` training images, the verdict.

    :func:`run_study` trains and calls this; a campaign recorded elsewhere calls it on the
    run logs it brought back (``python -m experiments.training.recorded add``), so both
    decide and compute fidelity the one way. ``command`` replaces the reproduce command.
    """
    decided, comparisons, extra = study.decide(records)
    # A diverged run is a result of its arm, but it has no final metrics: the comparisons
    # that need them cannot decide the claim, whatever the other seeds say.
    diverged = [
        {"arm": label, "seed": seed, **where}
        for label, arm_records in records.items()
        for seed, record in zip(seeds, arm_records, strict=True)
        if (where := diverged_at(record)) is not None
    ]
    if diverged:
        decided = INCONCLUSIVE
    match = fidelity(study.paper, protocol, images, len(seeds))
    verdict = study_verdict(study, decided, match)
    if command is None:
        options = ["--scale", scale, "--seeds", str(len(seeds))]
        if scale != "paper":
            options += ["--epochs", str(protocol.epochs)]
        if scale == "reduced" and protocol.train_subset != REDUCED["train_subset"]:
            # the same images as this run (the report's --quick trains on fewer)
            options += ["--train-subset", str(protocol.train_subset)]
        if scale != "reduced":
            options += ["--device", "cuda"]
        command = TRAINING.command([study.claim_id], *options)
    evidence: dict[str, Any] = {
        "source": SOURCES[scale],
        "scale": scale,
        "paper_setting": study.paper.as_json(),
        "fidelity": match,
        "reading": reading(decided, match),
        "train_images": images,
        "protocol": protocol.describe(),
        "protocol_settings": dataclasses.asdict(protocol),
        "protocol_source": protocol.source,
        "data": data_description,
        "seeds": list(seeds),
        "arms": [arm.label for arm in study.arms],
        "comparisons": [c.as_dict() for c in comparisons],
        "decided_at_this_scale": decided,
        "seconds": round(seconds, 1),
        **extra,
    }
    if diverged:
        evidence["diverged_runs"] = diverged
    if study.notes:
        evidence["notes"] = study.notes
    if verdict == NEEDS_GPU:
        evidence["paper_scale_command"] = paper_scale_command(study.claim_id)
    if verdict in (NEEDS_GPU, NEEDS_DATA):
        evidence["missing"] = study.missing
    if decided == FALSIFIED:
        worst = min(comparisons, key=lambda c: c.high)
        evidence["counterexample"] = {
            "comparison": worst.as_dict(),
            "what": "a statistically significant difference against the claim",
        }
    summary = "; ".join(c.text() for c in comparisons)
    if diverged:
        runs = ", ".join(
            f"{d['arm']} seed {d['seed']} (epoch {d['epoch']}, step {d['step']})" for d in diverged
        )
        summary = (
            f"{len(diverged)} run(s) diverged, so the comparison is undecided: {runs}; {summary}"
        )
    if verdict != decided:
        summary = f"[{scale} scale says {decided}] " + summary
    return ClaimResult(study.claim_id, verdict, summary, command, evidence)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    TRAINING.add_claims_option(parser)
    parser.add_argument(
        "--scale",
        choices=("reduced", "shortened", "paper"),
        default="reduced",
        help="reduced: small CNN on the embedded subset (CPU); shortened: the papers' models "
        "and full data for --epochs epochs; paper: the papers' protocols unchanged",
    )
    parser.add_argument(
        "--seeds",
        type=int_at_least(2),
        default=3,
        help="seeds per arm, at least 2 (the paired statistics need two)",
    )
    parser.add_argument(
        "--epochs", type=int_at_least(1), default=None, help="epochs (reduced/shortened)"
    )
    parser.add_argument(
        "--train-subset",
        type=int_at_least(1),
        default=None,
        help=f"training images at the reduced scale (default {REDUCED['train_subset']}); a "
        "multiple of the number of classes, as many from each class",
    )
    parser.add_argument(
        "--jobs", type=int_at_least(1), default=1, help="train this many runs in parallel"
    )
    parser.add_argument(
        "--backend",
        choices=("sequential", "pool", "ray"),
        default=None,
        help="where the runs train: in this process, a local process pool of --jobs workers, "
        "or Ray (pip install '.[sweeps]'); default: pool if --jobs > 1, else sequential",
    )
    parser.add_argument(
        "--ray-address",
        default=None,
        help="Ray cluster to join (e.g. auto, ray://host:10001); default: a local Ray instance",
    )
    parser.add_argument(
        "--compile-model",
        action="store_true",
        help="train through torch.compile(model); checkpoints keep the plain module's keys",
    )
    parser.add_argument(
        "--device",
        default=None,
        help="cuda or cpu (default: cuda where available; with --backend ray, each trial's)",
    )
    parser.add_argument("--data-dir", default=None, help="directory holding the full data sets")
    parser.add_argument("--runs", type=Path, default=Path("runs"), help="per-run logs/checkpoints")
    parser.add_argument("--out", type=Path, default=Path("results"))
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument(
        "--skip-scale-bound",
        action="store_true",
        help="record claims about the papers' scale or data as needs-gpu/needs-data "
        "without training their reduced studies",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    backend = args.backend or ("pool" if args.jobs > 1 else "sequential")
    if backend == "sequential" and args.jobs > 1:
        parser.error("--jobs > 1 trains in parallel: use --backend pool or ray")
    if args.ray_address is not None and backend != "ray":
        parser.error("--ray-address needs --backend ray")
    try:
        check_backend(backend)  # before loading data: a missing Ray should not cost minutes
    except BackendUnavailable as error:
        parser.error(str(error))
    # On Ray the device is left to each trial (the workers may have GPUs this host lacks);
    # here it is needed for the studies, which read the finished runs back.
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")

    claims = TRAINING.parse_claims(parser, args.claims)
    if args.train_subset is not None and args.scale != "reduced":
        parser.error("--train-subset applies to --scale reduced only")
    if args.scale == "reduced":
        epochs = args.epochs or REDUCED["epochs"]
        train_subset = args.train_subset or REDUCED["train_subset"]
        protocol_scale = dict(REDUCED, epochs=epochs, train_subset=train_subset)
    elif args.scale == "shortened":
        if args.epochs is None:
            parser.error("--scale shortened needs --epochs")
        protocol_scale = {"epochs": args.epochs}
    else:
        if args.epochs is not None:
            parser.error("--scale paper trains the papers' epochs; --epochs is for the others")
        protocol_scale = None
    subset = True if args.scale == "reduced" and not args.data_dir else None
    try:
        data = load_dataset("cifar10", data_dir=args.data_dir, subset=subset)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if protocol_scale is not None and protocol_scale.get("train_subset") is not None:
        count, classes, available = (
            protocol_scale["train_subset"], data.num_classes, len(data.train_labels),
        )  # fmt: skip
        if count % classes or count > available:
            parser.error(
                f"--train-subset {count}: must be a multiple of the {classes} classes and at "
                f"most the {available} training images of {data.describe()}"
            )
    seeds = list(range(args.seeds))
    unrun = []
    if args.skip_scale_bound and args.scale != "paper":
        unrun = [c for c in claims if STUDIES[c].needs is not None]
        claims = [c for c in claims if c not in unrun]
    try:
        results = _train_and_decide(
            args, backend, claims, unrun, protocol_scale, subset, seeds, data, device
        )
    except (RunFileError, DataError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    path = TRAINING.write(results, args.out, variant=args.scale)
    print(f"wrote {path}")
    return 0


def _train_and_decide(
    args: argparse.Namespace,
    backend: str,
    claims: list[str],
    unrun: list[str],
    protocol_scale: dict[str, Any] | None,
    subset: bool | None,
    seeds: list[int],
    data,
    device: str,
) -> list[ClaimResult]:
    if backend != "sequential":
        fingerprint = data.fingerprint()
        # Train every run first, on the backend; the studies below then read them back. The
        # sequential backend instead trains inside the studies, which prints as it goes.
        specs = [
            arm.spec(protocol_for(STUDIES[claim], protocol_scale), s, fingerprint)
            for claim in claims
            for arm in STUDIES[claim].arms
            for s in seeds
        ]
        run_sweep(
            specs,
            backend=backend,
            runs=args.runs,
            jobs=args.jobs,
            data_dir=args.data_dir,
            subset=subset,
            device=args.device if backend == "ray" else device,
            compile_model=args.compile_model,
            address=args.ray_address,
        )
    results = [unrun_record(STUDIES[c], args.scale) for c in unrun]
    for claim in claims:
        print(f"{claim}: training {len(STUDIES[claim].arms)} arms x {len(seeds)} seeds", flush=True)
        result = run_study(
            STUDIES[claim],
            args.scale,
            protocol_scale,
            seeds,
            data,
            args.runs,
            device,
            args.quiet,
            compile_model=args.compile_model,
        )
        results.append(result)
        print(f"{claim}: {result.verdict} — {result.summary}", flush=True)
    return results


if __name__ == "__main__":
    sys.exit(main())
