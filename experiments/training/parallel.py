"""Training many runs at once: small CIFAR models leave a GPU (or a many-core CPU) idle.

Workers are spawned processes that each load the data (from the decode cache
the parent filled) and train one run at a time; finished runs are on disk,
so the study that follows reads them back instead of training again.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

from experiments.data import load_dataset
from experiments.training.loop import RunSpec, train


def _train_one(
    spec: RunSpec,
    data_dir: str | None,
    subset: bool | None,
    runs: Path,
    device: str,
    compile_model: bool = False,
) -> str:
    # Share the host's cores between the workers instead of oversubscribing them.
    torch.set_num_threads(max(1, torch.get_num_threads() // 4))
    data = load_dataset("cifar10", data_dir=data_dir, subset=subset)
    train(spec, data, runs, device=device, compile_model=compile_model)
    return spec.key


def train_in_parallel(
    specs: Sequence[RunSpec],
    jobs: int,
    data_dir: str | None,
    subset: bool | None,
    runs: Path,
    device: str,
    compile_model: bool = False,
) -> None:
    """Train ``specs`` in ``jobs`` worker processes, printing each run as it finishes."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context) as pool:
        futures = [
            pool.submit(_train_one, s, data_dir, subset, runs, device, compile_model) for s in specs
        ]
        for done, future in enumerate(futures, 1):
            print(f"  finished {future.result()} ({done}/{len(specs)})", flush=True)
