"""The stage protocol: the one shape of every stage that issues verdicts.

A stage (``theory``, ``invariants``, ``experiments.regret``, ``experiments.training``)
checks the claims of some kinds of the claim catalogue (:mod:`theory.catalogue`) and
writes its records (:mod:`theory.verdicts`). A :class:`Stage` says everything the
report and the stage's own ``__main__`` need to know about it: its name, the claim
kinds it covers and its registry of checks (so its claim list is the catalogue's,
never a list of IDs kept by hand), the options of its budget in each report mode, the
processes that run a list of claims, and the command that re-runs a claim. Every shell
command that re-runs a stage is built here (:meth:`Stage.command`, :meth:`Stage.argv`),
and every stage's ``--claims`` option is parsed here (:meth:`Stage.add_claims_option`,
:meth:`Stage.parse_claims`).

It lives in ``theory`` beside the verdict record, the lowest layer that issues
verdicts, so that every stage imports it downwards; a stage's registry is named by a
dotted path and imported on first use, so that describing a stage costs nothing.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shlex
import sys
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from theory.catalogue import load_claims
from theory.verdicts import ClaimResult, write_results

MODES = ("quick", "default", "full")
"""The report's modes; a stage's budget names its options in each."""


def python_command(module: str, *arguments: str, env: Mapping[str, str] | None = None) -> str:
    """``python -m <module> <arguments>`` as typed in a shell in the project root, each
    argument quoted where it must be (``env``: variables set in front of it). Every command
    that a record stores to re-run a stage or replay a case is spelled here."""
    prefix = "".join(f"{k}={shlex.quote(v)} " for k, v in (env or {}).items())
    return prefix + shlex.join(["python", "-m", module, *arguments])


def _no_options(out: Path) -> tuple[str, ...]:
    return ()


@dataclass(frozen=True)
class Stage:
    """One stage of checks, as the report drives it and as its command line reads it.

    It runs as ``python -m <module>``; the last part of the module's name is the stage's
    name (in the report, and the stem of its results file).
    """

    module: str
    kinds: tuple[str, ...]
    """The claim kinds of the catalogue (``thy``, ``inv`` …) it covers."""
    registry: str
    """``package.module:NAME`` of its mapping claim ID -> check (theory's checks, the
    invariant claims, the regret verdicts, the training studies)."""
    work: str
    """What its checks do, in a few words."""
    budgets: Mapping[str, tuple[str, ...]]
    """Report mode -> the options that size its work in that mode."""
    shares_work: bool = False
    """Its claims share computations (training runs, regret problems), so one claim's
    record times only its own share: rerunning one claim costs up to the whole stage."""
    sharded: bool = False
    """The report splits its claims over the machine's cores, one process (and one output
    folder ``shard<i>``) each."""
    gpu_budget: tuple[str, ...] | None = None
    """With ``--gpu``, the report also runs the claims with these options (on CUDA)."""
    run_options: Callable[[Path], tuple[str, ...]] = field(default=_no_options)
    """Options of a run by the report that writes into the folder given (not part of a
    budget: where runs are kept, how many run side by side)."""

    def __post_init__(self) -> None:
        if sorted(self.budgets) != sorted(MODES):
            raise ValueError(f"{self.name}: budgets must name the modes {MODES}")

    @property
    def name(self) -> str:
        return self.module.rpartition(".")[2]

    @property
    def description(self) -> str:
        """Its work and the claim kinds it covers, as the report's progress shows them."""
        return f"{self.work} ({', '.join(self.kinds)})"

    def checks(self) -> Mapping[str, object]:
        """The registry: claim ID -> this stage's check of it."""
        module, _, name = self.registry.partition(":")
        return getattr(importlib.import_module(module), name)

    def claims(self) -> list[str]:
        """The claims it checks, in the catalogue's order: those of its kinds it has a check for."""
        checked = self.checks()
        kinds = set(self.kinds)
        return [c.id for c in load_claims() if kinds & set(c.kinds) and c.id in checked]

    def claims_for(self, wanted: Collection[str] | None) -> list[str]:
        """Its claims among ``wanted`` (all of them for ``None``), in the catalogue's order."""
        covered = self.claims()
        return covered if wanted is None else [c for c in covered if c in wanted]

    # ------------------------------------------------------------------ the command line

    def add_claims_option(self, parser: argparse.ArgumentParser) -> None:
        """The ``--claims`` option every stage's command line shares."""
        parser.add_argument(
            "--claims",
            default="",
            help=f"comma-separated claim IDs of kind {', '.join(self.kinds)} (default: all)",
        )

    def select(self, text: str) -> list[str]:
        """The claims named in ``text`` ("AN-6,RA-1", in that order, each once), or all of
        them for an empty text; :class:`ValueError` naming any that it does not check."""
        named = list(dict.fromkeys(c.strip() for c in text.split(",") if c.strip()))
        if not named:
            return self.claims()
        covered = self.claims()
        unknown = [c for c in named if c not in covered]
        if unknown:
            catalogue = {c.id for c in load_claims()}
            missing = [c for c in unknown if c not in catalogue]
            elsewhere = [c for c in unknown if c in catalogue]
            reasons = []
            if missing:
                reasons.append(f"unknown claim ID(s) {', '.join(missing)} (not in CLAIMS.md)")
            if elsewhere:
                reasons.append(f"no {self.name} check for {', '.join(elsewhere)}")
            raise ValueError(f"{'; '.join(reasons)}; {self.name} checks: {', '.join(covered)}")
        return named

    def parse_claims(self, parser: argparse.ArgumentParser, text: str) -> list[str]:
        """:meth:`select`, with a usage error (exit status 2) for a claim it does not check."""
        try:
            return self.select(text)
        except ValueError as error:
            parser.error(str(error))

    def write(
        self, results: Iterable[ClaimResult], out: str | os.PathLike, variant: str = ""
    ) -> Path:
        """Write its records to ``<out>/<name>[-<variant>].json``."""
        return write_results(f"{self.name}-{variant}" if variant else self.name, results, out)

    # ------------------------------------------------------------------ commands

    def command(
        self, claims: Sequence[str], *options: str, env: Mapping[str, str] | None = None
    ) -> str:
        """The shell command, as typed in the project root, that re-runs ``claims`` with
        ``options`` (``env``: variables set in front of it)."""
        return python_command(self.module, *self._arguments(claims, options), env=env)

    def argv(self, claims: Sequence[str], *options: str) -> list[str]:
        """The same command for :mod:`subprocess`, run by this interpreter."""
        return [sys.executable, "-m", self.module, *self._arguments(claims, options)]

    def run_commands(
        self, mode: str, claims: Sequence[str], out: Path, gpu: bool
    ) -> list[list[str]]:
        """The processes that run ``claims`` in report mode ``mode`` into ``out`` (run side
        by side): one per shard, and with ``gpu`` the same again with its GPU budget."""
        budgets = [self.budgets[mode]]
        if gpu and self.gpu_budget is not None:
            budgets.append(self.gpu_budget)
        if self.sharded:
            count = os.cpu_count() or 1
            parts = [(list(claims[i::count]), out / f"shard{i}") for i in range(count)]
            parts = [(ids, folder) for ids, folder in parts if ids]
        else:
            parts = [(list(claims), out)]
        return [
            self.argv(ids, *budget, "--out", str(folder), *self.run_options(folder))
            for budget in budgets
            for ids, folder in parts
        ]

    @staticmethod
    def _arguments(claims: Sequence[str], options: Sequence[str]) -> list[str]:
        return ["--claims", ",".join(claims), *options]
