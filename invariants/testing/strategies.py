"""Hypothesis strategies for testing an optimizer against the papers, in your own tests.

The suite's own strategies (:mod:`invariants.strategies`) with a stable, public
face, in the spirit of ``xarray.testing.strategies``:

* :func:`parameter_shapes` — parameter sets with the layer kinds of a real network;
* :func:`gradient_sequences` — gradients for given shapes with the papers' norm
  profiles (a sudden drop, AdaNorm §3.1; bursts; decay; steady and increasing norms),
  sign flips, exact zero steps and coordinates, at moderate, tiny (≈1e-60..1e-30) or
  huge (≈1e30..1e60) scale;
* :func:`params_and_gradients` — both at once, with initial parameters;
* :func:`hyperparameters` — keyword arguments inside a method's domain, read from
  the declarations of ``optimizers.registry.REGISTRY[method].hyperparameters``.

Compare the trajectory of your optimizer with
:func:`invariants.testing.reference_trajectory` (the float64 reference)::

    import numpy as np
    import torch
    from hypothesis import given, settings

    from invariants.testing import FLOAT64_TOLERANCE, reference_trajectory
    from invariants.testing import strategies as ots

    @settings(max_examples=20, deadline=None)
    @given(ots.params_and_gradients(), ots.hyperparameters("Adam", only=("lr", "betas")))
    def test_my_adam_follows_the_paper(case, hyper):
        params, gradients = case
        tensors = [torch.tensor(p) for p in params]
        optimizer = MyAdam(tensors, **hyper)
        expected = reference_trajectory("Adam", params, gradients, **hyper)
        for grads, reference in zip(gradients, expected):
            for tensor, grad in zip(tensors, grads):
                tensor.grad = torch.tensor(grad)
            optimizer.step()
            for tensor, want in zip(tensors, reference):
                got = tensor.detach().numpy()
                assert np.all(np.abs(got - want) <= FLOAT64_TOLERANCE * np.maximum(abs(want), 1))
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Collection, Mapping, Sequence
from functools import cache
from typing import Any

import numpy as np
from hypothesis import strategies as st

from invariants import strategies as suite
from invariants.strategies import (
    MAGNITUDES,
    MODES,
    PROFILES,
    SHAPE_KINDS,
    GradientPlan,
    Shape,
    gradient_plans,
)
from optimizers._hyperparameters import Hyperparameter, constraints
from optimizers._validation import Choice, Domain, Flag, Integer, Interval, Optional, Pair
from optimizers.registry import REGISTRY

__all__ = [
    "MAGNITUDES",
    "MODES",
    "PROFILES",
    "SHAPE_KINDS",
    "GradientPlan",
    "gradient_plans",
    "gradient_sequences",
    "hyperparameters",
    "parameter_shapes",
    "params_and_gradients",
]

Gradients = tuple[tuple[np.ndarray, ...], ...]


def parameter_shapes(
    kinds: tuple[str, ...] = SHAPE_KINDS, min_layers: int = 1, max_layers: int = 3
) -> st.SearchStrategy[tuple[Shape, ...]]:
    """Shapes of a parameter set: ``min_layers..max_layers`` tensors of ``kinds``
    (``"scalar"`` ``()``, ``"bias"`` 1-D, ``"matrix"`` 2-D, ``"conv"`` 4-D kernels,
    ``"single"`` one-element tensors of any rank)."""
    unknown = set(kinds) - set(SHAPE_KINDS)
    if unknown or not kinds:
        raise ValueError(f"kinds must be a non-empty subset of {SHAPE_KINDS}, got {kinds}")
    return suite.layer_shapes(tuple(kinds), min_layers, max_layers)


def gradient_sequences(
    shapes: Sequence[Shape],
    steps: tuple[int, int] = (1, 12),
    profiles: tuple[str, ...] = PROFILES,
    magnitudes: tuple[str, ...] = MAGNITUDES,
    modes: tuple[str, ...] = MODES,
    zeros: bool = True,
) -> st.SearchStrategy[Gradients]:
    """Gradients for a parameter set of ``shapes``: one tuple of float64 arrays per step,
    between ``steps[0]`` and ``steps[1]`` steps.

    ``profiles`` is the norm over time (``"steady"``, ``"decaying"``, ``"sudden_drop"``:
    divided by 10..1e4 at one step, ``"burst"``: multiplied by 10..1e3 at one or two
    steps, ``"increasing"``); ``magnitudes`` the base norm's scale (``"moderate"``,
    ``"tiny"``, ``"huge"``); ``modes`` the directions (``"gaussian"``, ``"lattice"``
    small integers, ``"fixed"`` one direction, ``"alternating"`` a sign flip every
    step, ``"one_coordinate"``). With ``zeros``, some steps are exactly zero and one
    coordinate per tensor may stay zero throughout.
    """
    layer_set = tuple(tuple(int(n) for n in shape) for shape in shapes)
    plans = _plans(steps, profiles, magnitudes, modes, zeros)
    return plans.map(lambda plan: suite.realize(plan, layer_set))


_SEQUENCE_DEFAULTS = tuple(
    (name, parameter.default)
    for name, parameter in inspect.signature(gradient_sequences).parameters.items()
    if name != "shapes"
)
"""The options of :func:`gradient_sequences` with their defaults, read off its signature."""


def _plans(
    steps: tuple[int, int],
    profiles: Sequence[str],
    magnitudes: Sequence[str],
    modes: Sequence[str],
    zeros: bool,
) -> st.SearchStrategy[GradientPlan]:
    """The suite's gradient plans, after a clear error for a name it does not know."""
    for label, given, known in (
        ("profiles", profiles, PROFILES),
        ("magnitudes", magnitudes, MAGNITUDES),
        ("modes", modes, MODES),
    ):
        if not given or set(given) - set(known):
            raise ValueError(f"{label} must be a non-empty subset of {known}, got {given}")
    min_steps, max_steps = steps
    if not 1 <= min_steps <= max_steps:
        raise ValueError(f"steps must be (low, high) with 1 <= low <= high, got {steps}")
    return gradient_plans(
        min_steps, max_steps, tuple(profiles), tuple(magnitudes), tuple(modes), zeros
    )


@st.composite
def params_and_gradients(
    draw: st.DrawFn,
    shapes: st.SearchStrategy[tuple[Shape, ...]] | None = None,
    **sequence_options: Any,
) -> tuple[tuple[np.ndarray, ...], Gradients]:
    """``(params, gradients)``: standard-normal float64 initial parameters of shapes drawn
    from ``shapes`` (default :func:`parameter_shapes`) and a :func:`gradient_sequences`
    for them; ``sequence_options`` are its keyword arguments (``steps``, ``profiles``,
    ``magnitudes``, ``modes``, ``zeros``)."""
    layer_set = draw(shapes if shapes is not None else parameter_shapes())
    options = {**dict(_SEQUENCE_DEFAULTS), **sequence_options}
    unknown = set(options) - set(dict(_SEQUENCE_DEFAULTS))
    if unknown:
        raise TypeError(f"unknown gradient_sequences options {sorted(unknown)}")
    plan = draw(_plans(**options))
    return suite.initial_params(layer_set, seed=plan.seed + 1), suite.realize(plan, layer_set)


_SUITE_VALUES: Mapping[str, Any] = {
    "lr": suite.learning_rates,
    "betas": suite.betas,
    "eps": suite.epsilons,
    "weight_decay": suite.weight_decays,
    "lam": suite.lams,
    "xi": suite.xis,
    "K": suite.projection_counts,
}
"""Options whose values the suite's strategies already draw (the papers' typical values
mixed with any value of the domain, kept where the formulas stay finite)."""


def _values(domain: Domain, default: Any) -> st.SearchStrategy[Any]:
    """Any value of ``domain`` (an unbounded interval is cut at ten times its scale)."""
    if isinstance(domain, Optional):
        return st.one_of(st.none(), _values(domain.inner, default))
    if isinstance(domain, Pair):
        inner = default if not isinstance(default, tuple) else default[0]
        return st.tuples(_values(domain.entry, inner), _values(domain.entry, inner))
    if isinstance(domain, Choice):
        return st.sampled_from(domain.values)
    if isinstance(domain, Flag):
        return st.booleans()
    if isinstance(domain, Integer):
        return st.integers(domain.low, domain.low + 4)
    if isinstance(domain, Interval):
        scale = abs(default) if isinstance(default, int | float) and default else 1.0
        high = domain.high if math.isfinite(domain.high) else domain.low + 10.0 * scale
        return st.floats(
            domain.low,
            high,
            exclude_min=domain.low_open,
            exclude_max=domain.high_open or not math.isfinite(domain.high),
        )
    raise TypeError(f"no strategy for domain {domain!r}")


def _option(h: Hyperparameter) -> st.SearchStrategy[Any]:
    if h.name in _SUITE_VALUES:
        return _SUITE_VALUES[h.name]()
    known = [v for v in (h.default, *h.examples) if v is not None or isinstance(h.domain, Optional)]
    return st.one_of(st.sampled_from(known), _values(h.domain, h.default))


@cache
def _hyperparameters(
    method: str, only: frozenset[str] | None, fixed: tuple[tuple[str, Any], ...]
) -> st.SearchStrategy[dict[str, Any]]:
    spec = REGISTRY[method]
    options = {
        name: _option(h)
        for name, h in spec.hyperparameters.items()
        if h.settable and name != "foreach" and (only is None or name in only)
    }
    options.update({name: st.just(value) for name, value in fixed})
    conditions = constraints(spec.torch_class.recipe)
    return st.fixed_dictionaries(options).filter(
        lambda drawn: all(c.holds({**spec.defaults, **drawn}) for c in conditions)
    )


def hyperparameters(
    method: str,
    only: Collection[str] | None = None,
    fixed: Mapping[str, Any] | None = None,
) -> st.SearchStrategy[dict[str, Any]]:
    """Keyword arguments for ``method`` (a ``REGISTRY`` name) inside the paper's domain.

    Every option the method's units declare (``REGISTRY[method].hyperparameters``,
    e.g. β ∈ [0, 1)², ε ≥ 0, AdaNorm's γ ∈ [0, 1), AdaRem's λ ∈ (0, 1), Aida's K ≥ 0
    and ξ ≥ 0) gets a value, the declared default and examples mixed with any value of
    the domain; the options' joint conditions (SGD's Nesterov) hold. ``only`` keeps the
    named options (what your optimizer's constructor takes); ``fixed`` pins values.
    The same names are accepted by the suite's class and by :func:`reference_trajectory`.
    """
    if method not in REGISTRY:
        raise ValueError(f"unknown method {method!r}; known: {', '.join(REGISTRY)}")
    declared = set(REGISTRY[method].hyperparameters)
    unknown = sorted((set(only or ()) | set(fixed or {})) - declared)
    if unknown:
        raise ValueError(f"{method} has no option(s) {', '.join(unknown)}; it has {declared}")
    chosen = None if only is None else frozenset(only)
    return _hyperparameters(method, chosen, tuple(sorted((fixed or {}).items())))
