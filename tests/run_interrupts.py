"""Interrupting a training run at a chosen point, in-process, for the resume tests.

The loop's fault-injection points (``loop._maybe_kill``) SIGKILL the process when
``EXPERIMENTS_TRAINING_KILL_AT`` names them; in a test process the same points
raise :class:`SimulatedCrash` instead, which nothing in the loop catches.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from experiments.training import loop


class SimulatedCrash(BaseException):
    """The process died here (a BaseException, like KeyboardInterrupt: nothing catches it)."""


@contextlib.contextmanager
def crash_at(point: str, epoch: int, step: int = 0) -> Iterator[None]:
    """Within the block, the loop stops dead right after ``point`` of ``epoch`` (1-based)."""
    real = loop._maybe_kill

    def crash(kill_at, here: str, at_epoch: int, at_step: int = 0) -> None:
        if (here, at_epoch, at_step) == (point, epoch, step):
            raise SimulatedCrash(f"{point} of epoch {epoch}, step {step}")
        real(kill_at, here, at_epoch, at_step)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(loop, "_maybe_kill", crash)
        with pytest.raises(SimulatedCrash):
            yield
