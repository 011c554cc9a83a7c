"""Hypothesis profile for the whole suite (HYPOTHESIS_PROFILE: dev, ci, thorough) and the
invariants results file, merged once by the controlling process."""

from __future__ import annotations

import pytest
import torch

from theory import profiles

profiles.load()
torch.set_num_threads(1)  # tiny tensors: threads only add overhead next to pytest-xdist workers


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "workerinput"):
        return  # an xdist worker: the controller merges after all workers are done
    from invariants.results import merge

    merge()
