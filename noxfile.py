"""How users and CI run the suite.

``nox -s verify`` writes the verification report (the main job); ``nox -s lint
tests`` is what CI runs (``.ci/run`` pins it to Python 3.11 with
``--force-python 3.11``). A session runs on the interpreter that runs nox, or
on the one ``--force-python X.Y`` names; Python 3.11 to 3.13 are supported (the
versions torch 2.13 has wheels for). An interpreter nox cannot find, or one
outside that range, is an error that says what to do, never a skipped session.

Every session installs with ``constraints.txt``, which pins torch to 2.13.0. A
bare pin would let pip take PyPI's Linux wheel, a multi-GB CUDA build: the CPU
build is taken from a local wheel directory (pip's ``find-links``) when one
holds it for the session's Python, else from PyTorch's CPU index
(``TORCH_CPU_INDEX`` overrides the address).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nox

nox.options.default_venv_backend = "virtualenv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["lint", "tests"]
# A session whose Python is missing fails (exit 1) instead of being skipped with exit 0.
nox.options.error_on_missing_interpreters = True

PYTHON = None
"""The interpreter running nox, or ``--force-python``'s: no version is pinned here."""
SUPPORTED = ("3.11", "3.12", "3.13")
CONSTRAINTS = ("-c", "constraints.txt")
WORKERS = os.environ.get("PYTEST_WORKERS", "auto")
TORCH_CPU_INDEX = os.environ.get("TORCH_CPU_INDEX", "https://download.pytorch.org/whl/cpu")


def _python_version(session: nox.Session) -> str:
    """The session's Python as X.Y; an error saying what to do outside SUPPORTED."""
    version = session.python or f"{sys.version_info.major}.{sys.version_info.minor}"
    if not isinstance(version, str) or version not in SUPPORTED:
        session.error(
            f"Python {version} is not supported: torch 2.13 runs on Python "
            f"{', '.join(SUPPORTED)}. Run nox with one of them (python3.11 -m nox ...), "
            "or pick one with --force-python 3.11"
        )
    return version


def _torch_pin() -> str:
    lines = Path("constraints.txt").read_text(encoding="utf-8").splitlines()
    return next(line.split("==")[1].strip() for line in lines if line.startswith("torch=="))


def _local_wheel_dirs() -> list[Path]:
    # pip's find-links from the environment or its configuration files
    dirs = os.environ.get("PIP_FIND_LINKS", "").split()
    for config in (Path("/etc/pip.conf"), Path.home() / ".config" / "pip" / "pip.conf"):
        if config.is_file():
            for line in config.read_text(encoding="utf-8").splitlines():
                key, _, value = line.partition("=")
                if key.strip() == "find-links":
                    dirs.extend(value.split())
    return [Path(d) for d in dirs if not d.startswith(("http:", "https:"))]


def _torch_source(session: nox.Session) -> tuple[str, ...]:
    """pip options that make the torch pin resolve to the CPU build for this session."""
    tag = "cp" + _python_version(session).replace(".", "")
    pattern = f"torch-{_torch_pin()}*-{tag}-{tag}-*.whl"
    if any(list(d.glob(pattern)) for d in _local_wheel_dirs() if d.is_dir()):
        return ()
    return ("--extra-index-url", TORCH_CPU_INDEX)


def _install(session: nox.Session, extras: str = "test,experiments") -> None:
    session.install(*CONSTRAINTS, *_torch_source(session), f".[{extras}]")


@nox.session(python=PYTHON)
def verify(session: nox.Session) -> None:
    """The main job: every claim of CLAIMS.md with a verdict, in report/ (~7.5 min on 2 cores).

    Pass options after ``--``: ``nox -s verify -- --quick``, ``-- --claims AN-1,AI-4``,
    ``-- --full``, ``-- --gpu`` (on a CUDA machine), ``-- --fresh``.
    """
    _install(session)
    session.run("python", "-m", "experiments.report", *session.posargs)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The whole test suite in parallel; Hypothesis runs its derandomized ci profile.

    Installs the optional Ray extra too, so the Ray sweep backend is tested, not skipped.
    """
    _install(session, "test,experiments,sweeps")
    session.env["HYPOTHESIS_PROFILE"] = "ci"
    session.run("pytest", "-n", WORKERS, "-q", *session.posargs)


@nox.session(python=PYTHON)
def invariants(session: nox.Session) -> None:
    """The Hypothesis claim checks (the report's invariants stage, which writes
    results/invariants.json; arguments go to it) and the spec properties, ci profile.

    The claim checks' tests keep their records in temporary folders, so the stage, not
    pytest, is what writes the results."""
    _install(session)
    session.env["HYPOTHESIS_PROFILE"] = session.env.get("HYPOTHESIS_PROFILE", "ci")
    session.run("python", "-m", "invariants", "--out", "results", *session.posargs)
    session.run(
        "pytest",
        "-n",
        WORKERS,
        "-q",
        "tests/test_invariants_spec.py",
        "tests/test_invariants_strategies.py",
    )


@nox.session(python=PYTHON)
def theory(session: nox.Session) -> None:
    """The symbolic and numeric checks of the papers' lemmas and theorems; writes results/."""
    _install(session)
    session.run("python", "-m", "theory", "--out", "results", *session.posargs)


@nox.session(python=PYTHON)
def regret(session: nox.Session) -> None:
    """Online-convex regret experiments (AN-7, AN-8, AR-7): verdicts and plots in results/.

    Quick by default (about 2 minutes on 2 cores); ``nox -s regret -- --full`` for T = 10^6.
    """
    _install(session)
    session.run("python", "-m", "experiments.regret", *session.posargs)


@nox.session(name="train-smoke", python=PYTHON)
def train_smoke(session: nox.Session) -> None:
    """A training study at toy size, seconds long: the loop, probes and verdict plumbing."""
    _install(session)
    session.run(
        "python",
        "-m",
        "experiments.training",
        "--claims",
        "AN-14",
        "--seeds",
        "2",
        "--epochs",
        "1",
        "--train-subset",
        "200",
        "--runs",
        "runs/smoke",
        "--out",
        "results",
    )


@nox.session(name="claims-emp", python=PYTHON)
def claims_emp(session: nox.Session) -> None:
    """Every empirical study at the reduced CPU scale (3 seeds per arm)."""
    _install(session)
    jobs = str(os.cpu_count() or 1)
    session.run(
        "python",
        "-m",
        "experiments.training",
        "--jobs",
        jobs,
        "--out",
        "results",
        *session.posargs,
    )


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Optimizer step time against torch's Adam, side by side; writes results/bench.json,
    then every execution mode (foreach, capturable, fused) at the ResNet18 and VGG11
    layouts against torch's foreach and fused Adam, with compile times and memory-traffic
    floors: results/bench_layouts.json and .md (long on a CPU: each fused row compiles).

    ``nox -s bench -- --device cuda --only Adam,AdamNorm`` (arguments go to both runs).
    """
    _install(session)
    session.run(
        "python", "-m", "optimizers.benchmark", "--out", "results/bench.json", *session.posargs
    )
    session.run(
        "python",
        "-m",
        "optimizers.benchmark",
        "--layouts",
        "resnet18,vgg11",
        "--out",
        "results/bench_layouts.json",
        *session.posargs,
    )


@nox.session(python=PYTHON)
def throughput(session: nox.Session) -> None:
    """Training throughput of the engine's own step (experiments/training/engine.py), N runs
    one after another vs stacked in one vmapped model: images/s per run and in all, optimizer
    and probe shares, MFU; writes results/throughput.json/.md.

    ``nox -s throughput -- --device cuda --model resnet18 --batch 64 --runs 1,8
    --optimizers Adam,AdamNorm --peak-tflops 989`` on a GPU (issue 17's targets: that at
    >= 60k img/s in all for 8 AdamNorm runs; ``--model vgg11 --batch 128`` >= 150k).
    """
    _install(session)
    out = "results/throughput.json"
    session.run("python", "-m", "experiments.training.throughput", "--out", out, *session.posargs)


@nox.session(name="loop-throughput", python=PYTHON)
def loop_throughput(session: nox.Session) -> None:
    """Images/s per run of the default report's reduced CPU studies, as its workers train
    them; ``-- --baseline DIR`` compares with another checkout in alternating rounds and
    writes results/loop_throughput.json/.md."""
    _install(session)
    out = "results/loop_throughput.json"
    command = ["python", "-m", "experiments.training.loop_throughput", *session.posargs]
    session.run(*command, *(["--out", out] if "--baseline" in session.posargs else []))


@nox.session(name="gpu-campaign", python=PYTHON)
def gpu_campaign(session: nox.Session) -> None:
    """The GPU campaign (issue 18): measure, plan the papers' protocols into the budget,
    train, and keep ``results/campaign/campaign.json.gz`` current after every epoch.

    ``nox -s gpu-campaign -- --budget-min 11 --data-dir .data --device cuda``; record the
    bundle with ``python -m experiments.training.recorded add results/campaign/campaign.json.gz``.
    On the device machine (no network) run the module directly: see its docstring.
    """
    _install(session)
    session.run("python", "-m", "experiments.training.campaign", *session.posargs)


@nox.session(name="gpu-lease", python=PYTHON)
def gpu_lease(session: nox.Session) -> None:
    """One prepared command for a short GPU lease (issue 17): the device's ceilings, the CUDA
    tests, the engine's throughput at the papers' batch sizes (separate against stacked, every
    optimizer's share, fused steps), then the campaign in the minutes left; writes
    ``results/lease/`` (lease.json, lease.md, lease.log, campaign.json.gz).

    ``nox -s gpu-lease -- --data-dir .data``; on the CPU ``nox -s gpu-lease -- --dry-run``.
    On the device machine (no network) run the module directly: see its docstring.
    """
    _install(session)
    out = [] if "--out" in session.posargs else ["--out", "results/lease"]
    session.run("python", "-m", "experiments.training.lease", *out, *session.posargs)


THIRD_PARTY = "invariants/conformance/third_party.json"


@nox.session(python=PYTHON)
def conformance(session: nox.Session) -> None:
    """Does another implementation do what the paper says? Writes conformance/.

    ``nox -s conformance -- pkg.mod:Class --method AdaBelief --kwargs '{...}'`` checks one
    optimizer importable in the session (for your own library, run
    ``python -m invariants.conformance`` in its environment instead). Without
    arguments: the third-party libraries in ``invariants/conformance/third_party.json``,
    installed at the versions it pins; their divergences are findings, so this run
    succeeds whatever they are (the per-target verdicts are in conformance/).
    """
    _install(session)
    if session.posargs:
        session.run("python", "-m", "invariants.conformance", *session.posargs)
        return
    with open(THIRD_PARTY, encoding="utf-8") as fh:
        pins = sorted({entry["pip"] for entry in json.load(fh) if entry.get("pip")})
    session.install(*CONSTRAINTS, *pins)
    session.run(
        "python",
        "-m",
        "invariants.conformance",
        "--targets",
        THIRD_PARTY,
        "--out",
        "conformance",
        success_codes=[0, 1],
    )


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff: lint rules and formatting."""
    _python_version(session)
    session.install(*CONSTRAINTS, "ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def soak(session: nox.Session) -> None:
    """Crash consistency at length: the SIGKILL-and-resume test with many random kill
    sequences (``ROBUSTNESS_SOAK_CYCLES``, default 40; about 5 s each on 2 cores)."""
    _install(session)
    session.env.setdefault("ROBUSTNESS_SOAK_CYCLES", os.environ.get("ROBUSTNESS_SOAK_CYCLES", "40"))
    session.run(
        "pytest", "-q", "-n", WORKERS, "tests/test_robustness_runs.py", "-k", "sigkill",
        *session.posargs,
    )  # fmt: skip
