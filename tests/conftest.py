"""Hypothesis profile for the whole suite (HYPOTHESIS_PROFILE: dev, ci, thorough)."""

from __future__ import annotations

import torch

from theory import profiles

profiles.load()
torch.set_num_threads(1)  # tiny tensors: threads only add overhead next to pytest-xdist workers
