"""Training many runs at once: small CIFAR models leave a GPU (or a many-core CPU) idle.

Workers are spawned processes that each load the data once (the first run a worker
trains decodes it; later runs reuse the worker's copy) and train one run at a time;
finished runs are on disk, so the study that follows reads them back instead of
training again.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

from experiments.data import ImageDataset, load_dataset
from experiments.training.loop import RunSpec, train


def threads_per_worker(jobs: int, cores: int | None = None) -> int:
    """Intra-op threads for each of ``jobs`` workers sharing ``cores`` (default: this host's).

    Every worker trains at once, so they split the cores between them: threads x jobs never
    exceeds the cores (a fixed share, such as the quarter of the cores each worker took
    before, oversubscribes a host that runs more than four workers).
    """
    cores = cores or os.cpu_count() or 1
    return max(1, cores // max(1, jobs))


def start_worker(threads: int) -> None:
    """Set up a worker process: its share of the cores (:func:`threads_per_worker`)."""
    torch.set_num_threads(threads)
    # The inter-op pool only serves parallel graph branches, which a training step lacks.
    torch.set_num_interop_threads(1)


@functools.cache
def _worker_data(data_dir: str | None, subset: bool | None) -> ImageDataset:
    # Decoding the data set (about a second for the embedded subset's JPEGs) once per worker
    # instead of once per run; train() only reads it, so the runs of a worker can share it.
    return load_dataset("cifar10", data_dir=data_dir, subset=subset)


def _train_one(
    spec: RunSpec,
    data_dir: str | None,
    subset: bool | None,
    runs: Path,
    device: str,
    compile_model: bool = False,
) -> str:
    train(spec, _worker_data(data_dir, subset), runs, device=device, compile_model=compile_model)
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
    with ProcessPoolExecutor(
        jobs,
        mp_context=context,
        initializer=start_worker,
        initargs=(threads_per_worker(jobs),),
    ) as pool:
        futures = [
            pool.submit(_train_one, s, data_dir, subset, runs, device, compile_model) for s in specs
        ]
        for done, future in enumerate(futures, 1):
            print(f"  finished {future.result()} ({done}/{len(specs)})", flush=True)
