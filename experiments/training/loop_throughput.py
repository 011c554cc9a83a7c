"""Images/s per run of the default report's reduced-scale CPU studies, as its workers train them.

The default report trains its reduced studies (``python -m experiments.training --scale
reduced``) in a pool of worker processes, one run after another in each. This benchmark
times that unit of work, a worker's :func:`~experiments.training.parallel._train_one` of a
run (loading the data as the worker does, training, evaluating, writing the run's files),
for one run of each distinct (protocol, optimizer, options) of the chosen studies, after
one untimed warm-up run (a worker trains many runs: its imports are paid once). It reports
per run

* ``run_images_per_second``: the run's training images over the wall time of the whole
  run, evaluation and file writes included, and
* ``train_images_per_second``: the median over epochs of the loop's own figure (training
  steps only, as ``history.json`` records it), and
* ``run_images_per_cpu_second``: the run's training images over the CPU time the process
  spent on the run; with one thread per run this is what the run would reach on a core
  of its own, and it varies much less than wall time on a machine shared with other work.

Timings on a shared machine are noisy, so ``--baseline DIR`` compares this checkout with
another one (e.g. ``git worktree add /tmp/base <commit>``) fairly: each repetition runs one
subprocess per checkout, in alternating order, with the same threads, and the table gives
medians, spreads (min-max over repetitions) and the ratio of medians::

    python -m experiments.training.loop_throughput                       # this checkout
    python -m experiments.training.loop_throughput --baseline /tmp/base --repeats 3 \\
        --out results/loop_throughput.json                               # also .md

Only APIs older than this module are used in a round, so any earlier checkout serves as a
baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[2]


def default_claims() -> list[str]:
    """The studies the default report trains at reduced scale: those that need neither a
    GPU-scale protocol nor another data set (``Study.needs``), read from the catalogue."""
    from experiments.training.claims import STUDIES

    return [claim for claim, study in STUDIES.items() if study.needs is None]


FIGURES = {
    "run_images_per_second": "whole run, wall",
    "run_images_per_cpu_second": "whole run, CPU time",
    "train_images_per_second": "training steps, wall",
}
"""What each round reports per run (see the module docstring), with the table's labels."""


def reduced_specs(
    claims: Sequence[str], fingerprint: str, optimizers: Sequence[str] | None = None
) -> list[Any]:
    """One seed-0 run of each distinct (protocol, optimizer, options) of ``claims``' studies
    at the default report's reduced scale, on the data whose fingerprint is given."""
    from experiments.training.__main__ import REDUCED
    from experiments.training.claims import STUDIES, protocol_for

    specs: dict[str, Any] = {}
    for claim in claims:
        study = STUDIES[claim]
        protocol = protocol_for(study, REDUCED)
        for arm in study.arms:
            if optimizers is None or arm.optimizer in optimizers:
                spec = arm.spec(protocol, 0, fingerprint)
                specs.setdefault(spec.key.rsplit("/", 1)[0], spec)
    return list(specs.values())


def measure_round(
    claims: Sequence[str], optimizers: Sequence[str] | None, threads: int
) -> list[dict[str, Any]]:
    """Train each spec once, as a report worker would, and time it (one row per run)."""
    from experiments.data import load_dataset
    from experiments.training import parallel
    from experiments.training.parallel import _train_one

    if hasattr(parallel, "start_worker"):  # what the checkout's pool workers do first
        parallel.start_worker(threads)
    else:
        torch.set_num_threads(threads)
        torch.set_num_interop_threads(1)
    # Held for the whole round, as the report's main process holds it: freeing a data set's
    # arrays raises glibc's adaptive mmap threshold, which would flatter a checkout
    # that depends on it (see experiments.training.host).
    data = load_dataset("cifar10", subset=True)
    specs = reduced_specs(claims, data.fingerprint(), optimizers)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        _train_one(specs[0], None, True, Path(scratch) / "warmup", "cpu")
        for index, spec in enumerate(specs):
            runs = Path(scratch) / f"run{index}"
            started, cpu_started = time.perf_counter(), time.process_time()
            key = _train_one(spec, None, True, runs, "cpu")
            seconds = time.perf_counter() - started
            cpu_seconds = time.process_time() - cpu_started
            history = json.loads((runs / key / "history.json").read_text())["history"]
            images = sum(e["seconds"] * e["images_per_second"] for e in history)
            rows.append(
                {
                    "run": key.rsplit("/", 1)[0],
                    "seconds": seconds,
                    "cpu_seconds": cpu_seconds,
                    "run_images_per_second": images / seconds,
                    "run_images_per_cpu_second": images / cpu_seconds,
                    "train_images_per_second": statistics.median(
                        e["images_per_second"] for e in history
                    ),
                }
            )
    return rows


def _round_in(checkout: Path, spec: argparse.Namespace) -> list[dict[str, Any]]:
    """:func:`measure_round` in a fresh process that imports the project from ``checkout``."""
    loader = (
        "import importlib.util, sys\n"
        f"s = importlib.util.spec_from_file_location('loop_throughput', {str(Path(__file__))!r})\n"
        "m = importlib.util.module_from_spec(s); s.loader.exec_module(m)\n"
        "sys.exit(m.main(sys.argv[1:]))\n"
    )
    command = [sys.executable, "-c", loader, "--round", "--threads", str(spec.threads)]
    command += ["--claims", ",".join(spec.claims)]
    if spec.optimizers:
        command += ["--optimizers", ",".join(spec.optimizers)]
    env = dict(os.environ, PYTHONPATH=str(checkout))
    done = subprocess.run(
        command, cwd=checkout, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"round in {checkout} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(spec: argparse.Namespace) -> dict[str, Any]:
    """Alternate rounds of this checkout and ``spec.baseline``; per run and side, each
    repetition's figures."""
    sides = {"baseline": spec.baseline.resolve(), "this": ROOT}
    figures: dict[str, dict[str, dict[str, list[float]]]] = {s: {} for s in sides}
    for repeat in range(spec.repeats):
        order = list(sides) if repeat % 2 == 0 else list(reversed(sides))
        for side in order:
            for row in _round_in(sides[side], spec):
                runs = figures[side].setdefault(row["run"], {})
                for name in FIGURES:
                    runs.setdefault(name, []).append(row[name])
            print(f"repetition {repeat + 1}/{spec.repeats}: {side} done", flush=True)
    return {"checkouts": {s: str(p) for s, p in sides.items()}, "figures": figures}


def _spread(values: Sequence[float]) -> str:
    return f"{statistics.median(values):.0f} ({min(values):.0f}-{max(values):.0f})"


def markdown(result: dict[str, Any], spec: argparse.Namespace) -> str:
    """The comparison as a table: per run and figure, medians (min-max) per side and their
    ratio; the last row is the geometric mean of the ratios over runs."""
    base, this = result["figures"]["baseline"], result["figures"]["this"]
    header = ["run"]
    for label in FIGURES.values():
        header += [f"{label}: baseline", f"{label}: this", "ratio"]
    lines = [
        f"Images/s per run, reduced-scale studies {', '.join(spec.claims)}, {spec.threads} "
        f"thread(s) per run, {spec.repeats} alternating repetitions: median (min-max).",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    ratios: dict[str, list[float]] = {name: [] for name in FIGURES}
    for run in base:
        cells = [run]
        for name in FIGURES:
            old, new = base[run][name], this[run][name]
            ratio = statistics.median(new) / statistics.median(old)
            ratios[name].append(ratio)
            cells += [_spread(old), _spread(new), f"{ratio:.2f}x"]
        lines.append("| " + " | ".join(cells) + " |")
    cells = ["geometric mean"]
    for name in FIGURES:
        cells += ["", "", f"{statistics.geometric_mean(ratios[name]):.2f}x"]
    lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _names(text: str) -> list[str]:
    return [part for part in text.split(",") if part]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    from optimizers.arguments import int_at_least

    parser = argparse.ArgumentParser(
        prog="python -m experiments.training.loop_throughput",
        description=__doc__.split("\n")[0],
    )
    parser.add_argument(
        "--claims", type=_names, default=None, help="studies (default: the default report's)"
    )
    parser.add_argument("--optimizers", type=_names, default=None, help="only these arms")
    parser.add_argument("--threads", type=int_at_least(1), default=1, help="per run")
    parser.add_argument("--baseline", type=Path, default=None, help="checkout to compare with")
    parser.add_argument("--repeats", type=int_at_least(1), default=3)
    parser.add_argument("--out", type=Path, default=None, help="JSON file (and .md beside it)")
    parser.add_argument("--round", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.claims is None:
        args.claims = default_claims()
    if args.baseline is not None and not (args.baseline / "experiments").is_dir():
        parser.error(f"--baseline {args.baseline}: not a checkout of this project")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    spec = parse_args(argv)
    if spec.round:  # one side of a comparison: rows as one JSON line for the parent
        print(json.dumps(measure_round(spec.claims, spec.optimizers, spec.threads)))
        return 0
    if spec.baseline is None:
        for row in measure_round(spec.claims, spec.optimizers, spec.threads):
            print(
                f"{row['run']:>40}: "
                + ", ".join(f"{label} {row[name]:.0f}" for name, label in FIGURES.items())
                + " img/s"
            )
        return 0
    result = compare(spec)
    table = markdown(result, spec)
    print(table)
    if spec.out is not None:
        from theory.verdicts import write_text_atomically

        spec.out.parent.mkdir(parents=True, exist_ok=True)
        settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(spec).items()}
        payload = {"settings": settings, "torch": torch.__version__, **result}
        write_text_atomically(spec.out, json.dumps(payload, indent=1))
        write_text_atomically(spec.out.with_suffix(".md"), table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
