"""Every group option gets the constructor's validation, wherever it comes from (issue 14, 3).

The units declare the options they read (``optimizers/units``); the base
optimizer checks the constructor's defaults, each group dict, ``add_param_group``
and every group again before a step against those declarations. The property
test draws values from inside and outside each declared domain.
"""

from __future__ import annotations

import inspect
import math
import re

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import optimizers
from optimizers._hyperparameters import EXECUTION
from optimizers._validation import Choice, Domain, Flag, Integer, Interval, Optional, Pair
from optimizers.registry import REGISTRY

NAMES = list(REGISTRY)


def param() -> torch.Tensor:
    return torch.ones(3, 2, dtype=torch.float64)


# ----------------------------------------------------------------------------
# The defects of issue 14, item 3 and the validation parts of item 12.
# ----------------------------------------------------------------------------

GROUP_DEFECTS = [
    ("Adam", {"lr": -0.1}, "lr"),
    ("Adam", {"betas": (1.5, 0.999)}, r"betas\[0\]"),
    ("AdamNorm", {"gamma": 7}, "gamma"),
    ("Aida", {"K": -3}, "K"),
    ("AdaRem", {"lam": 2}, "lam"),
    ("SGDM", {"momentum": 3}, "momentum"),
    ("Adam", {"eps_mode": "middle"}, "eps_mode"),
    ("AdaRem", {"decoupled_weight_decay": "no"}, "decoupled_weight_decay"),
    ("SGDM", {"nesterov": True, "momentum": 0.0}, "nesterov"),
]


@pytest.mark.parametrize(("name", "options", "argument"), GROUP_DEFECTS, ids=str)
def test_constructor_group_dicts_are_validated(name: str, options: dict, argument: str) -> None:
    cls = REGISTRY[name].torch_class
    with pytest.raises(ValueError, match=f"param group 1: {argument}"):
        cls([{"params": [param()]}, {"params": [param()], **options}])


@pytest.mark.parametrize(("name", "options", "argument"), GROUP_DEFECTS, ids=str)
def test_add_param_group_is_validated_and_adds_nothing(
    name: str, options: dict, argument: str
) -> None:
    optimizer = REGISTRY[name].torch_class([param()])
    with pytest.raises(ValueError, match=f"param group 1: {argument}"):
        optimizer.add_param_group({"params": [param()], **options})
    assert len(optimizer.param_groups) == 1


@pytest.mark.parametrize(("name", "options", "argument"), GROUP_DEFECTS, ids=str)
def test_a_group_edited_after_construction_is_refused_before_the_step(
    name: str, options: dict, argument: str
) -> None:
    p = param()
    optimizer = REGISTRY[name].torch_class([p])
    p.grad = torch.ones_like(p)
    optimizer.step()
    before = p.clone()
    state = {k: v.clone() if torch.is_tensor(v) else v for k, v in optimizer.state[p].items()}
    optimizer.param_groups[0].update(options)
    with pytest.raises(ValueError, match=f"param group 0: {argument}"):
        optimizer.step()
    assert torch.equal(p, before)
    for key, value in optimizer.state[p].items():
        assert torch.equal(value, state[key]) if torch.is_tensor(value) else value == state[key]


@pytest.mark.parametrize("name", NAMES)
def test_infinite_learning_rate_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="lr"):
        REGISTRY[name].torch_class([param()], lr=math.inf)


def test_numpy_scalars_are_accepted_as_python_numbers() -> None:
    optimizer = optimizers.AdamNorm(
        [param()],
        lr=np.float32(1e-3),
        betas=(np.float64(0.8), np.float32(0.99)),
        gamma=np.float64(0.5),
    )
    group = optimizer.param_groups[0]
    assert type(group["lr"]) is float and group["lr"] == float(np.float32(1e-3))
    assert all(type(b) is float for b in group["betas"])
    aida = optimizers.Aida([param()], K=np.int64(3), decoupled_weight_decay=np.bool_(True))
    assert type(aida.param_groups[0]["K"]) is int
    assert aida.param_groups[0]["decoupled_weight_decay"] is True


def test_pinned_options_are_not_arguments_and_cannot_be_changed_in_a_group() -> None:
    with pytest.raises(TypeError, match="eps_mode"):
        optimizers.NDAdam([param()], eps_mode="inside")
    with pytest.raises(ValueError, match="param group 1: eps_mode"):
        optimizers.NDAdam([{"params": [param()]}, {"params": [param()], "eps_mode": "inside"}])


def test_a_refused_ndadam_group_normalises_nothing() -> None:
    optimizer = optimizers.NDAdam([param()])
    weights = param() * 3
    with pytest.raises(ValueError, match="vectorwise"):
        optimizer.add_param_group({"params": [weights, torch.ones(())], "vectorwise": True})
    assert len(optimizer.param_groups) == 1
    assert torch.equal(weights, param() * 3)


@pytest.mark.parametrize("name", NAMES)
def test_every_signature_states_the_declared_defaults(name: str) -> None:
    """The signature users see (``help``, ``inspect.signature``) is built from the units'
    declarations: it names every settable option once, with its declared default, and the
    positional ones first in the class's order."""
    cls = REGISTRY[name].torch_class
    declared = {n: h for n, h in cls.hyperparameters.items() if h.settable}
    parameters = inspect.signature(cls).parameters
    names = list(parameters)
    assert names[0] == "params" and names[-1] == "on_nonfinite"
    assert parameters["on_nonfinite"].default == "raise"
    assert sorted(names[1:-1]) == sorted([*declared, *EXECUTION])
    for option, declaration in EXECUTION.items():
        assert parameters[option].default == declaration.default
    by_position = [n for n, p in parameters.items() if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert by_position == ["params", *cls.positional_options]
    for option in declared:
        assert parameters[option].default == declared[option].default, option
    cls([param()], **{n: p.default for n, p in parameters.items() if n != "params"})


def test_options_by_position_follow_torchs_order() -> None:
    """``AdamNorm(params, lr, betas, eps, weight_decay, gamma)`` as with a written signature."""
    optimizer = optimizers.AdamNorm(
        [param()], 1e-2, (0.8, 0.9), 1e-6, 0.1, 0.5, norm_scope="global"
    )
    group = optimizer.param_groups[0]
    assert (group["lr"], group["betas"], group["eps"]) == (1e-2, (0.8, 0.9), 1e-6)
    assert (group["weight_decay"], group["gamma"], group["norm_scope"]) == (0.1, 0.5, "global")
    assert list(inspect.signature(optimizers.AdamNorm).parameters)[:7] == [
        "params", "lr", "betas", "eps", "weight_decay", "gamma", "decoupled_weight_decay"
    ]  # fmt: skip
    sgdm = optimizers.SGDM([param()], 0.5, 0.7, 0.1, 0.2)
    assert [sgdm.defaults[n] for n in ("lr", "momentum", "dampening", "weight_decay")] == [
        0.5, 0.7, 0.1, 0.2
    ]  # fmt: skip


def test_a_wrong_call_is_a_type_error_naming_the_argument() -> None:
    with pytest.raises(TypeError, match="at most 5 options by position"):
        optimizers.AdamNorm([param()], 1e-3, (0.9, 0.999), 1e-8, 0.0, 0.95, "tensor")
    with pytest.raises(TypeError, match="multiple values for argument 'lr'"):
        optimizers.Adam([param()], 1e-3, lr=1e-2)
    with pytest.raises(TypeError, match="gamma"):
        optimizers.Adam([param()], gamma=0.9)


def test_every_unit_declares_what_it_means() -> None:
    for spec in REGISTRY.values():
        for hyperparameter in spec.torch_class.hyperparameters.values():
            assert isinstance(hyperparameter.domain, Domain)
            assert len(hyperparameter.meaning) > 10, hyperparameter.name
            # The default lies in the domain.
            assert hyperparameter.check(hyperparameter.default) == hyperparameter.default


# ----------------------------------------------------------------------------
# The property: constructor, group dicts and add_param_group validate alike.
# ----------------------------------------------------------------------------


def inside(domain: Domain) -> st.SearchStrategy:
    """Values the domain accepts."""
    if isinstance(domain, Interval):
        high = domain.high if math.isfinite(domain.high) else 1e6
        numbers = st.floats(
            domain.low,
            high,
            exclude_min=domain.low_open,
            exclude_max=domain.high_open,
            allow_nan=False,
            allow_infinity=False,
        )
        return numbers | numbers.map(np.float64)
    if isinstance(domain, Integer):
        return st.integers(domain.low, domain.low + 6)
    if isinstance(domain, Flag):
        return st.booleans()
    if isinstance(domain, Choice):
        return st.sampled_from(domain.values)
    if isinstance(domain, Optional):
        return st.none() | inside(domain.inner)
    if isinstance(domain, Pair):
        return st.tuples(inside(domain.entry), inside(domain.entry))
    raise TypeError(f"no strategy for {domain!r}")


def outside(domain: Domain) -> st.SearchStrategy:
    """Values the domain refuses."""
    wrong_type = st.sampled_from(["0.5", [0.1], {"a": 1}])
    if isinstance(domain, Interval):
        low, high = domain.low, domain.high
        below = st.floats(max_value=low, allow_nan=False).filter(
            lambda x: x <= low if domain.low_open else x < low
        )
        above = st.floats(min_value=min(high, 1e308), allow_nan=False).filter(
            lambda x: x >= high if domain.high_open or math.isinf(high) else x > high
        )
        return below | above | st.just(math.nan) | st.booleans() | wrong_type
    if isinstance(domain, Integer):
        return st.integers(max_value=domain.low - 1) | st.sampled_from([1.5, True, "2"])
    if isinstance(domain, Flag):
        return st.sampled_from(["no", "yes", 0, 1, 1.0]) | wrong_type
    if isinstance(domain, Choice):
        return st.text(max_size=8).filter(lambda s: s not in domain.values) | st.integers()
    if isinstance(domain, Optional):
        return outside(domain.inner)
    if isinstance(domain, Pair):
        good = inside(domain.entry)
        bad = outside(domain.entry).filter(lambda v: not isinstance(v, list | str))
        return (
            st.tuples(bad, good)
            | st.tuples(good, bad)
            | st.tuples(good)
            | st.tuples(good, good, good)
            | st.floats()
        )
    raise TypeError(f"no strategy for {domain!r}")


OPTIONS = [
    (name, option)
    for name, spec in REGISTRY.items()
    for option, h in spec.torch_class.hyperparameters.items()
    if h.settable
]


def outcome(build) -> tuple[str, object]:
    try:
        optimizer = build()
    except ValueError as error:
        return "refused", re.sub(r"^param group \d+: ", "", str(error))
    return "accepted", optimizer


@st.composite
def option_values(draw):
    name, option = draw(st.sampled_from(OPTIONS))
    domain = REGISTRY[name].torch_class.hyperparameters[option].domain
    valid = draw(st.booleans())
    value = draw(inside(domain) if valid else outside(domain))
    return name, option, valid, value


@given(option_values())
def test_any_group_option_gets_the_constructors_validation(drawn) -> None:
    name, option, valid, value = drawn
    cls = REGISTRY[name].torch_class

    def by_constructor():
        return cls([param()], **{option: value})

    def by_group_dict():
        return cls([{"params": [param()]}, {"params": [param()], option: value}])

    def by_add_param_group():
        optimizer = cls([param()])
        optimizer.add_param_group({"params": [param()], option: value})
        return optimizer

    results = [outcome(build) for build in (by_constructor, by_group_dict, by_add_param_group)]
    kinds = {kind for kind, _ in results}
    assert kinds == {"accepted" if valid else "refused"}, (results, value)
    if valid:
        stored = [
            results[0][1].param_groups[0][option],
            results[1][1].param_groups[1][option],
            results[2][1].param_groups[1][option],
        ]
        assert stored[0] == stored[1] == stored[2]
        assert type(stored[0]) is type(stored[1]) is type(stored[2])
    else:
        messages = {message for _, message in results}
        assert len(messages) == 1, messages
        assert option in messages.pop()
