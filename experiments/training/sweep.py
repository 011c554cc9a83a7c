"""Training a list of runs on one of three backends: in this process, a local pool, or Ray.

    run_sweep(specs)                                   # one after another, here
    run_sweep(specs, backend="pool", jobs=4)           # spawned local processes
    run_sweep(specs, backend="ray", address="auto")    # a Ray cluster (pip install '.[sweeps]')

Whatever the backend, a run is :func:`experiments.training.loop.train` writing
into ``runs/<spec.key>``: runs already finished there are skipped before
anything is scheduled, and unfinished ones resume from their last checkpoint,
so a sweep interrupted on any backend is continued by running it again (on
any backend). Ray is imported only when asked for, so the other two backends
work without it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import torch

from experiments.data import ImageDataset, load_dataset
from experiments.training.loop import RunSpec, finished_record, train
from experiments.training.parallel import train_in_parallel

Backend = Literal["sequential", "pool", "ray"]
BACKENDS: tuple[Backend, ...] = ("sequential", "pool", "ray")
RAY_HINT = "pip install '.[sweeps]'"
"""How to get Ray: the project's optional extra."""


class BackendUnavailable(ImportError):
    """A sweep backend whose optional dependency is not installed."""


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as error:
        raise BackendUnavailable(
            f"the ray sweep backend needs Ray, which is not installed: {RAY_HINT} "
            "(or use --backend sequential / pool)"
        ) from error
    return ray


def check_backend(backend: str) -> None:
    """Fail early (before data is loaded or anything trains) if ``backend`` cannot run here."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown sweep backend {backend!r}; known: {', '.join(BACKENDS)}")
    if backend == "ray":
        _import_ray()


def pending_specs(specs: Sequence[RunSpec], runs: str | os.PathLike) -> list[RunSpec]:
    """``specs`` without duplicates (studies share arms) and without runs finished on disk."""
    unique = {spec.key: spec for spec in specs}
    return [spec for spec in unique.values() if finished_record(spec, runs) is None]


def run_sweep(
    specs: Sequence[RunSpec],
    *,
    backend: Backend = "sequential",
    runs: str | os.PathLike = "runs",
    jobs: int = 1,
    data: ImageDataset | None = None,
    data_dir: str | None = None,
    subset: bool | None = None,
    device: str | None = None,
    compile_model: bool = False,
    address: str | None = None,
    cpus_per_trial: float | None = None,
    progress: Callable[[str], None] | None = print,
) -> list[str]:
    """Train every run of ``specs`` not yet finished under ``runs``; return the keys trained.

    ``data`` (sequential backend only) saves loading the data set again; the other backends
    load it in each worker from ``data_dir``/``subset`` as :func:`load_dataset` does.
    ``device`` None means CUDA where the process that trains has it, else the CPU.
    ``jobs`` is the pool's worker count; on Ray it is how many CPU trials share the
    cluster's CPUs (see :func:`_ray_resources`). ``address`` is passed to ``ray.init``
    (None starts a local Ray instance unless one is already initialized).
    """
    check_backend(backend)
    runs = Path(runs).resolve()  # workers (other processes, other nodes' cwd) need it absolute
    todo = pending_specs(specs, runs)
    skipped = len({s.key for s in specs}) - len(todo)
    if progress is not None and skipped:
        progress(f"  {skipped} run(s) already finished under {runs}")
    if not todo:
        return []
    if backend == "sequential":
        if data is None:
            data = load_dataset("cifar10", data_dir=data_dir, subset=subset)
        for done, spec in enumerate(todo, 1):
            train(spec, data, runs, device=_local_device(device), compile_model=compile_model)
            if progress is not None:
                progress(f"  finished {spec.key} ({done}/{len(todo)})")
    elif backend == "pool":
        train_in_parallel(
            todo, max(1, jobs), data_dir, subset, runs, _local_device(device), compile_model
        )
    else:
        _ray_sweep(
            todo, runs, jobs, data_dir, subset, device, compile_model, address, cpus_per_trial,
            progress,
        )  # fmt: skip
    return [spec.key for spec in todo]


def _local_device(device: str | None) -> str:
    return device or ("cuda" if torch.cuda.is_available() else "cpu")


def _ray_resources(
    cluster: dict[str, float], device: str | None, jobs: int, cpus_per_trial: float | None
) -> dict[str, float]:
    """Ray resources for one trial: a whole GPU when the cluster has GPUs, else CPUs.

    Ray has to reserve a trial's resources before any worker runs it, so "the workers have
    CUDA" is read off the cluster's GPU count. CPU trials get ``cpus_per_trial`` or, with
    ``jobs`` > 1, a ``1/jobs`` share of the cluster's CPUs (possibly a fraction of one),
    else one CPU each.
    """
    wants_gpu = device.startswith("cuda") if device else cluster.get("GPU", 0) >= 1
    if wants_gpu:
        return {"num_gpus": 1, "num_cpus": cpus_per_trial or 1}
    if cpus_per_trial is None:
        cpus_per_trial = cluster.get("CPU", 1) / jobs if jobs > 1 else 1.0
    return {"num_cpus": cpus_per_trial}


def _ray_trial(
    spec: RunSpec,
    runs: str,
    data_dir: str | None,
    subset: bool | None,
    device: str | None,
    compile_model: bool,
    threads: int,
) -> str:
    # Runs in a Ray worker. Torch would otherwise use every core of the node in each of the
    # trials packed onto it; Ray hides the GPUs a trial was not given, so "cuda" is its own.
    torch.set_num_threads(threads)
    data = load_dataset("cifar10", data_dir=data_dir, subset=subset)
    train(spec, data, runs, device=_local_device(device), compile_model=compile_model)
    return spec.key


def _ray_sweep(
    specs: Sequence[RunSpec],
    runs: Path,
    jobs: int,
    data_dir: str | None,
    subset: bool | None,
    device: str | None,
    compile_model: bool,
    address: str | None,
    cpus_per_trial: float | None,
    progress: Callable[[str], None] | None,
) -> None:
    ray = _import_ray()
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, include_dashboard=False)
    waiting: list[Any] = []
    try:
        resources = _ray_resources(ray.cluster_resources(), device, jobs, cpus_per_trial)
        threads = max(1, int(resources["num_cpus"]))
        trial = ray.remote(_ray_trial).options(**resources)
        waiting = [
            trial.remote(spec, str(runs), data_dir, subset, device, compile_model, threads)
            for spec in specs
        ]
        done = 0
        while waiting:
            finished, waiting = ray.wait(waiting, num_returns=1)
            done += 1
            key = ray.get(finished[0])  # re-raises a trial's exception here
            if progress is not None:
                progress(f"  finished {key} ({done}/{len(specs)})")
    except BaseException:
        # Into an instance this sweep did not start, the other trials would keep training
        # after the error; their finished epochs are on disk for the next attempt anyway.
        for ref in waiting:
            ray.cancel(ref)
        raise
    finally:
        if started_here:
            ray.shutdown()
