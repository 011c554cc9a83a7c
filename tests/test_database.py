"""The optimizer database (optimizers/registry.py) is complete, consistent with what the
classes do, and is all a new optimizer needs to come under the generic suites."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from optimizers.registry import INITIAL_NORM, REGISTRY, UNIT_ROWS, specs

ROOT = Path(__file__).resolve().parent.parent


def test_capability_flags() -> None:
    assert {s.name for s in specs() if s.scale_invariant} == {
        "Adam", "AdamW", "AdamNorm", "AdaBelief", "AdaBeliefNorm",
        "AdamL", "AdaBeliefL", "LAdam", "LAdaBelief",
    }  # fmt: skip
    assert {s.name: s.sphere for s in specs() if s.sphere} == {
        "NDAdam": UNIT_ROWS, "AdaRemS": INITIAL_NORM,
    }  # fmt: skip
    assert all(s.foreach for s in specs())
    assert {s.name for s in specs() if s.layerwise} >= {"NDAdam", "AdamL", "LAdam", "Aida"}


@pytest.mark.parametrize("spec", specs(), ids=lambda s: s.name)
def test_option_sets_are_valid_and_change_something(spec) -> None:
    for options in spec.option_sets:
        optimizer = spec.torch_class([torch.zeros(3, 2)], **options)
        group = optimizer.param_groups[0]
        assert any(group[k] != spec.hyperparameters[k].default for k in options), options


@pytest.mark.parametrize("spec", specs(), ids=lambda s: s.name)
def test_hyperparameters_are_read_from_the_recipe(spec) -> None:
    declared = {h.name for unit in spec.torch_class.recipe for h in unit.hyperparameters}
    assert declared <= set(spec.hyperparameters)
    assert set(spec.hyperparameters) - declared <= {"lr", "foreach", "sphere", "vectorwise"}


PYTEST = [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "-p", "no:xdist"]
GENERIC_SUITES = [
    "tests/test_edge_cases.py",
    "tests/test_agreement.py",
    "tests/test_fast_paths.py",
    "tests/test_hyperparameters.py",
    "tests/test_torch_interface.py",
]


def test_a_toy_optimizer_in_the_database_is_covered_by_the_generic_suites() -> None:
    """tests/toy_optimizer.py registers a tiny recipe and reference (as a pytest plugin, so
    before collection); the generic suites then collect and pass tests for it with no edit."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [*PYTEST, "-p", "tests.toy_optimizer", "-k", "Toy", *GENERIC_SUITES],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    passed = re.findall(r"^PASSED (tests/\S+?\.py)::\S*Toy", result.stdout, re.MULTILINE)
    # Every generic suite ran some of its tests on the toy: its invalid inputs and
    # degenerate inputs, agreement with its reference over its option sets, both code
    # paths, the validation property and the torch contract.
    assert set(passed) == set(GENERIC_SUITES), result.stdout[-2000:]
    assert len(passed) >= 40
    assert "Toy" not in REGISTRY  # the toy lived in the subprocess's copy of the database
