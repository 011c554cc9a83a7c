"""The one harness that runs torch against the float64 reference (issue 13 item 4)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from invariants import testing
from invariants.conformance import scenarios
from optimizers import harness
from optimizers.agreement import Agreement
from optimizers.harness import ParamGroup
from optimizers.registry import UNIT_ROWS, specs


def test_one_tolerance_policy_serves_every_caller() -> None:
    assert harness.tolerance_for(torch.float64) == harness.FLOAT64_TOLERANCE
    assert harness.tolerance_for(torch.float32) == harness.FLOAT32_TOLERANCE
    assert harness.FLOAT64_TOLERANCE < harness.FLOAT32_TOLERANCE
    assert testing.FLOAT64_TOLERANCE == harness.FLOAT64_TOLERANCE
    assert Agreement("x", 1, (), harness.FLOAT64_TOLERANCE).agrees
    assert not Agreement("x", 1, (), 1.01 * harness.FLOAT64_TOLERANCE).agrees
    assert scenarios.battery is harness.battery


@pytest.mark.parametrize(
    "options",
    [
        {"lr_factors": {2: 0.5}, "roundtrip_at": 3},
        {"lr_factors": {2: 0.5}, "learning_rates": (1e-3,) * 5},
        {"learning_rates": (1e-3,) * 4},
        {"lr_factors": {2: 0.5}, "groups": (ParamGroup((0, 1, 2)), ParamGroup((3, 4, 5), {}, 1))},
    ],
    ids=["factors+roundtrip", "factors+rates", "too few rates", "factors+added group"],
)
def test_a_contradictory_scenario_is_refused_when_built(options: dict) -> None:
    with pytest.raises(ValueError, match=r"learning rate|restores|adds a group"):
        harness.battery(5, **options)


def test_a_trace_is_of_one_param_group() -> None:
    scenario = harness.battery(
        3, groups=(harness.ParamGroup((0, 1, 2)), harness.ParamGroup((3, 4, 5)))
    )
    with pytest.raises(ValueError, match="one param group"):
        harness.torch_trace("Adam", scenario, {})
    with pytest.raises(ValueError, match="one param group"):
        harness.reference_trace("Adam", scenario, {})


SPHERE_ROWS = [spec for spec in specs() if spec.sphere == UNIT_ROWS]


@pytest.mark.parametrize("spec", SPHERE_ROWS, ids=lambda s: s.name)
def test_the_reference_trace_starts_where_construction_left_the_parameters(spec) -> None:
    """A method that renormalises at construction (ND-Adam's unit rows) starts from the
    renormalised parameters on both sides, not from the scenario's raw values."""
    scenario = harness.battery(2, shapes=((3, 4),))
    raw = scenario.params[0]
    ours = harness.torch_trace(spec.name, scenario, {})
    theirs = harness.reference_trace(spec.name, scenario, {})
    start = theirs[0]["before"][0]
    assert not np.allclose(start, raw)
    np.testing.assert_allclose(np.linalg.norm(start, axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(ours[0]["before"][0], start, rtol=harness.FLOAT64_TOLERANCE)


@pytest.mark.parametrize("spec", specs(), ids=lambda s: s.name)
def test_groups_and_learning_rate_changes_reach_both_sides(spec) -> None:
    """A group added mid-run with its own rate, and a schedule: the torch optimizer and
    one reference instance per group stay on the same trajectory, and the comparison
    tells when the reference ignores the group's option or the schedule."""
    groups = (harness.ParamGroup((0, 1, 2)), harness.ParamGroup((3, 4, 5), {"lr": 5e-4}, 3))
    for scenario, mistake, parts_at in (
        (harness.battery(12, groups=groups), {"group_options_ignored": ("lr",)}, 4),
        (harness.battery(12, lr_factors={5: 0.1, 8: 3.0}), {"schedule_ignored": True}, 6),
    ):
        ours = harness.torch_trajectory(spec.name, scenario)
        theirs = harness.reference_trajectory(spec.name, scenario)
        assert harness.first_divergence(ours, theirs, harness.FLOAT64_TOLERANCE) is None
        wrong = harness.run_reference(spec.reference, scenario, {}, **mistake)
        divergence = harness.first_divergence(ours, wrong, harness.FLOAT64_TOLERANCE)
        assert divergence is not None and divergence.step == parts_at


def test_first_divergence_names_the_first_step_and_its_largest_entry() -> None:
    base = [[np.zeros(3)] for _ in range(5)]
    moved = [[a.copy() for a in step] for step in base]
    moved[2][0][1] = 1e-3
    moved[4][0][0] = 1.0
    found = harness.first_divergence(moved, base, harness.FLOAT64_TOLERANCE)
    assert found is not None
    assert (found.step, found.tensor, found.index) == (3, 0, (1,))
    assert found.relative_difference == pytest.approx(1e-3)
    assert found.worst_relative_difference == pytest.approx(1.0)
    assert harness.max_relative_difference(moved, base) == pytest.approx(1.0)
    assert harness.first_divergence(moved, base, 2.0) is None


def _declared_keys(spec) -> set[str]:
    recipe = spec.torch_class.recipe
    return {
        key
        for unit in recipe
        for attribute in ("traced_state", "traced_group_state")
        for key, _ in getattr(unit, attribute, ())
    }


STATE_CASES = [
    (spec, options)
    for spec in specs()
    for options in ({}, *(o for o in spec.option_sets if "norm_scope" in o))
]


@pytest.mark.parametrize(("spec", "options"), STATE_CASES, ids=lambda x: getattr(x, "name", str(x)))
def test_declared_state_in_a_torch_trace_is_the_reference_quantity(spec, options) -> None:
    """What a unit declares in ``traced_state`` names the slot holding the paper's
    quantity: the torch trace's value is the reference's (same entries, any layout)."""
    scenario = harness.battery(8, shapes=((3, 4), (5,)))
    ours = harness.torch_trace(spec.name, scenario, options)
    theirs = harness.reference_trace(spec.name, scenario, options)
    compared, tolerance = 0, harness.FLOAT64_TOLERANCE
    for key in _declared_keys(spec):
        for t, (mine, reference) in enumerate(zip(ours, theirs, strict=True)):
            for a, b in zip(mine[key], reference[key], strict=True):
                assert (a is None) == (b is None), (key, t)
                if a is not None:
                    a, b = np.ravel(a), np.ravel(b)
                    assert np.all(np.abs(a - b) <= tolerance * np.maximum(abs(b), 1)), (key, t)
                    compared += 1
    assert compared or not _declared_keys(spec)
