"""How users and CI run the suite: ``nox -s tests``, ``nox -s verify``, ``nox -s lint``.

Every session installs with ``constraints.txt``, which pins torch to the
2.13.0 CPU wheel: a loose range would make pip fetch a multi-GB CUDA build.
"""

from __future__ import annotations

import os

import nox

nox.options.default_venv_backend = "virtualenv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["lint", "tests"]

PYTHON = "3.11"
CONSTRAINTS = ("-c", "constraints.txt")


def _install(session: nox.Session, extras: str = "") -> None:
    target = f".[{extras}]" if extras else "."
    session.install(*CONSTRAINTS, target)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The unit and property tests, in parallel over the machine's cores."""
    _install(session, "test,experiments")
    workers = os.environ.get("PYTEST_WORKERS", "auto")
    session.run("pytest", "-n", workers, "-q", *session.posargs)


@nox.session(python=PYTHON)
def verify(session: nox.Session) -> None:
    """The main job: every optimizer against its reference, then the theory checks."""
    _install(session, "test,experiments")
    session.run("python", "-m", "optimizers.agreement", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff: lint rules and formatting."""
    session.install(*CONSTRAINTS, "ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
