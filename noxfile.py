"""How users and CI run the suite.

``nox -s verify`` writes the verification report (the main job); ``nox -s lint
tests`` is what CI runs. Every session installs with ``constraints.txt``,
which pins torch to the 2.13.0 CPU wheel: a loose range would make pip fetch a
multi-GB CUDA build.
"""

from __future__ import annotations

import json
import os

import nox

nox.options.default_venv_backend = "virtualenv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["lint", "tests"]

PYTHON = "3.11"
CONSTRAINTS = ("-c", "constraints.txt")
WORKERS = os.environ.get("PYTEST_WORKERS", "auto")


def _install(session: nox.Session, extras: str = "test,experiments") -> None:
    session.install(*CONSTRAINTS, f".[{extras}]")


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
    """The Hypothesis claim checks and spec properties alone (ci profile); writes results/."""
    _install(session)
    session.env["HYPOTHESIS_PROFILE"] = session.env.get("HYPOTHESIS_PROFILE", "ci")
    session.run(
        "pytest",
        "-n",
        WORKERS,
        "-q",
        "tests/test_invariants_claims.py",
        "tests/test_invariants_spec.py",
        "tests/test_invariants_strategies.py",
        *session.posargs,
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
    """Optimizer step time against torch's Adam, side by side; writes results/bench.json."""
    _install(session)
    session.run(
        "python", "-m", "optimizers.benchmark", "--out", "results/bench.json", *session.posargs
    )


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
    session.install(*CONSTRAINTS, "ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
