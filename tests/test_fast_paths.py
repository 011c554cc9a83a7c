"""The multi-tensor paths (``foreach=True``) against the readable per-tensor definitions.

Every fast path in ``optimizers/units`` must give the trajectory of the readable
path (``foreach=False``) up to rounding, for every option and in the awkward
cases: mixed dtypes in one group, parameters without gradients, ε = 0, the
global norm scope, empty and non-contiguous tensors, and the branch taken on
devices other than the CPU (which allocates instead of using the workspace).
Where an invariant check relies on a value being bit-for-bit the readable one,
that is tested too.
"""

from __future__ import annotations

import pytest
import torch

from optimizers import NonFiniteGradientError
from optimizers._hyperparameters import declarations_of
from optimizers.registry import REGISTRY, specs
from optimizers.units.context import GroupStep, Unit

NAMES = [spec.name for spec in specs()]
SHAPES = [(4, 3), (3,), (2, 2, 3, 3), (), (1,), (5, 1, 2)]


def fresh(shapes=SHAPES, dtypes=(torch.float64,), seed: int = 0) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [
        torch.randn(s, generator=gen, dtype=torch.float64).to(dtypes[i % len(dtypes)])
        for i, s in enumerate(shapes)
    ]


def gradients(t: int, params: list[torch.Tensor]) -> list[torch.Tensor | None]:
    gen = torch.Generator().manual_seed(1000 + t)
    # Steady, a 100× drop (AdaNorm's correction fires), an all-zero step.
    scale = 0.0 if t == 9 else (1e-2 if t % 7 in (4, 5) else 1.0)
    draws = [torch.randn(p.shape, generator=gen, dtype=torch.float64) for p in params]
    return [(scale * g).to(p.dtype) for g, p in zip(draws, params, strict=True)]


def trajectory(name: str, foreach: bool, steps: int = 14, *, params=None, skip=None, **options):
    params = fresh() if params is None else params
    optimizer = REGISTRY[name].torch_class(params, foreach=foreach, **options)
    for t in range(steps):
        for i, (p, g) in enumerate(zip(params, gradients(t, params), strict=True)):
            p.grad = None if skip is not None and skip(t, i) else g
        optimizer.step()
    return params, optimizer


def assert_paths_agree(name: str, *, factory=fresh, rtol=1e-12, atol=1e-14, **kwargs) -> None:
    fast, _ = trajectory(name, True, params=factory(), **kwargs)
    slow, _ = trajectory(name, False, params=factory(), **kwargs)
    for p, q in zip(fast, slow, strict=True):
        assert p.dtype == q.dtype
        tol = {"rtol": 1e-5, "atol": 1e-6} if p.dtype == torch.float32 else {}
        torch.testing.assert_close(p, q, **({"rtol": rtol, "atol": atol} | tol))


OPTION_CASES = [(n, {}) for n in NAMES] + [
    (spec.name, options) for spec in specs() if spec.foreach for options in spec.option_sets
]


@pytest.mark.parametrize(("name", "options"), OPTION_CASES, ids=str)
def test_multi_tensor_path_follows_the_readable_one(name: str, options: dict) -> None:
    assert_paths_agree(name, lr=1e-2, **options)


@pytest.mark.parametrize("name", NAMES)
def test_parameters_without_gradients_in_the_middle_of_a_group(name: str) -> None:
    def skip(t: int, i: int) -> bool:
        return (i == 1 and t % 3 == 1) or (i == 4 and t < 5)

    assert_paths_agree(name, lr=1e-2, skip=skip)
    params = fresh()
    optimizer = REGISTRY[name].torch_class(params)
    frozen = params[2].clone()  # after construction (ND-Adam normalises its rows there)
    for t in range(4):
        for i, (p, g) in enumerate(zip(params, gradients(t, params), strict=True)):
            p.grad = None if i == 2 else g
        optimizer.step()
    assert torch.equal(params[2], frozen)
    assert "step" not in optimizer.state.get(params[2], {})


@pytest.mark.parametrize("name", NAMES)
def test_mixed_dtypes_in_one_group(name: str) -> None:
    def mixed() -> list[torch.Tensor]:
        return fresh(dtypes=(torch.float32, torch.float64))

    assert_paths_agree(name, factory=mixed, lr=1e-2)


@pytest.mark.parametrize("name", NAMES)
def test_empty_and_channels_last_tensors(name: str) -> None:
    def awkward() -> list[torch.Tensor]:
        params = fresh(shapes=[(3, 2, 2, 2), (0,), (4, 0), (2, 3)])
        params[0] = params[0].contiguous(memory_format=torch.channels_last)
        return params

    assert_paths_agree(name, factory=awkward, lr=1e-2)


@pytest.mark.parametrize("name", NAMES)
def test_branch_for_other_devices_runs_and_agrees(name: str, monkeypatch) -> None:
    """Off the CPU, GroupStep.compute allocates with foreach ops instead of using the
    workspace; pretending the CPU is such a device runs that code here."""
    monkeypatch.setattr(GroupStep, "on_cpu", property(lambda self: False))
    assert_paths_agree(name, lr=1e-2)
    assert_paths_agree(name, lr=1e-2, weight_decay=0.1)


def test_workspace_is_reused_and_never_saved() -> None:
    params = fresh()
    optimizer = REGISTRY["AdaRem"].torch_class(
        params, weight_decay=0.1, decoupled_weight_decay=False
    )
    for t in range(2):
        for p, g in zip(params, gradients(t, params), strict=True):
            p.grad = g
        optimizer.step()
        if t == 0:
            first = {
                (id(p), slot): b.data_ptr()
                for p, slots in optimizer._workspace.items()
                for slot, b in slots.items()
            }
    again = {
        (id(p), slot): b.data_ptr()
        for p, slots in optimizer._workspace.items()
        for slot, b in slots.items()
    }
    assert first == again and first
    assert {"grad", "work", "work2"} == {slot for _, slot in first}
    saved = optimizer.state_dict()["state"]
    assert all(set(s) == {"step", "momentum"} for s in saved.values())


def test_workspace_follows_a_parameter_that_changes_dtype() -> None:
    params = fresh(shapes=[(3, 2)])
    optimizer = REGISTRY["Adam"].torch_class(params)
    params[0].grad = torch.ones(3, 2, dtype=torch.float64)
    optimizer.step()
    params[0].data = params[0].data.float()
    params[0].grad = torch.ones(3, 2)
    for key in ("exp_avg", "exp_avg_sq"):
        optimizer.state[params[0]][key] = optimizer.state[params[0]][key].float()
    optimizer.step()
    assert optimizer._workspace[params[0]]["work"].dtype == torch.float32


class _Recorder(Unit):
    """Wraps a unit and keeps copies of a context field after it ran (like the invariants'
    taps, which read ``ctx.directions`` even when the step is pending)."""

    def __init__(self, unit: Unit, field: str, sink: list) -> None:
        self.unit, self.field, self.sink = unit, field, sink
        self.hyperparameters = declarations_of(unit)  # the wrapped unit reads these options
        self.constraints = unit.constraints

    def init_state(self, param, group):
        return self.unit.init_state(param, group)

    def __call__(self, ctx: GroupStep) -> None:
        self.unit(ctx)
        self.sink.append([x.clone() for x in getattr(ctx, self.field)])


def recorded(name: str, unit: str, field: str, foreach: bool, **options) -> list:
    sink: list = []
    cls = REGISTRY[name].torch_class
    recipe = tuple(_Recorder(u, field, sink) if type(u).__name__ == unit else u for u in cls.recipe)
    tapped = type(f"Recorded{cls.__name__}", (cls,), {"recipe": recipe})
    params = fresh()
    optimizer = tapped(params, foreach=foreach, **options)
    for t in range(12):
        for p, g in zip(params, gradients(t, params), strict=True):
            p.grad = g
        optimizer.step()
    return sink


BITWISE = [
    ("Aida", "MutualProjectionResidual", "statistics", {}),
    ("Aida", "MutualProjectionResidual", "statistics", {"K": 3, "xi": 0.0}),
    ("LAida", "MutualProjectionResidual", "statistics", {"K": 1}),
    ("AidaGrad", "ProjectedGradientSquare", "statistics", {}),
    ("AdaBelief", "BeliefResidualSquare", "statistics", {}),
    ("Adam", "GradientSquare", "statistics", {}),
    ("AdamNorm", "GradientNormCorrection", "first_inputs", {}),
    ("RAdam", "RectifiedStep", "directions", {}),
    ("AdaRem", "AdaRemModulation", "directions", {}),
    ("AdamL", "LayerMeanStepSize", "directions", {}),
]


@pytest.mark.parametrize(("name", "unit", "field", "options"), BITWISE, ids=str)
def test_observed_values_are_bitwise_the_readable_ones(name, unit, field, options) -> None:
    """The invariant checks compare these values exactly with formulas of the readable
    definitions (AI-1, AB-1, RA-*, AR-*); the fast paths must not round differently."""
    fast = recorded(name, unit, field, True, **options)
    slow = recorded(name, unit, field, False, **options)
    for step_fast, step_slow in zip(fast, slow, strict=True):
        for a, b in zip(step_fast, step_slow, strict=True):
            assert torch.equal(a, b)


@pytest.mark.parametrize("name", ["Adam", "AdaBelief", "Aida", "LAdam", "NDAdam", "DiffGrad"])
def test_pending_directions_read_as_the_readable_ones(name: str) -> None:
    fast = recorded(name, "ApplyUpdate", "directions", True)
    slow = recorded(name, "ApplyUpdate", "directions", False)
    for step_fast, step_slow in zip(fast, slow, strict=True):
        for a, b in zip(step_fast, step_slow, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-13, atol=1e-15)


def test_finite_gradients_whose_norm_overflows_are_accepted() -> None:
    # ‖g‖² overflows float32 while every entry (and g², for SGD's step) is finite:
    # the cheap norm screen fails and the exact max-abs check must let the step through.
    p = torch.zeros(4)
    optimizer = REGISTRY["SGDM"].torch_class([p], lr=1e-20)
    p.grad = torch.full((4,), 1.5e19)
    assert not bool(torch.isfinite(torch.linalg.vector_norm(p.grad)))
    optimizer.step()
    assert bool(torch.isfinite(p).all()) and bool((p < 0).all())
    p.grad = torch.tensor([1.5e19, 1.5e19, float("inf"), 0.0])
    with pytest.raises(NonFiniteGradientError):
        optimizer.step()


@pytest.mark.parametrize("name", ["AdamNorm", "DiffGradNorm", "Aida"])
def test_norms_of_the_finiteness_check_are_only_reused_for_raw_gradients(name: str) -> None:
    # With L2 decay the corrected gradient is g + wd·θ, whose norm must be taken afresh.
    assert_paths_agree(name, lr=1e-2, weight_decay=0.3)
    if REGISTRY[name].base is not None:
        assert_paths_agree(name, lr=1e-2, weight_decay=0.3, norm_scope="global")
