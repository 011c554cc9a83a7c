"""Hypothesis strategies that *build* valid inputs (nothing is filtered out).

* :func:`layer_shapes` — parameter sets with the layer kinds of a real
  network: scalars, biases, matrices, 4-D conv kernels, one-element layers.
* :func:`gradient_plans` / :func:`realize` — gradient sequences with a
  controlled norm profile (steady, decaying, sudden drop, burst,
  non-decreasing), magnitude (moderate, tiny ≈ 1e-60..1e-30, huge ≈
  1e30..1e60), direction pattern (Gaussian, small-integer lattice, one fixed
  direction, alternating sign, one coordinate carrying the whole norm) and
  exact zeros (whole steps, single coordinates). Hypothesis draws the
  structure and a seed; the entries come from NumPy's generator for that seed,
  so large tensors cost one draw, and the realised arrays are stored in the
  counterexample, so nothing depends on the generator when replaying.
* hyperparameters over the domains the papers allow: β, γ ∈ [0, 1),
  λ ∈ (0, 1), K ≥ 0, ξ ≥ 0, ε ≥ 0, lr > 0 — each mixes the papers' typical
  values with arbitrary floats of the domain, endpoints included where the
  domain includes them.

The meta-tests in ``tests/test_invariants_strategies.py`` check that every
plan does what its name says (a sudden drop drops, a burst bursts, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from hypothesis import strategies as st

from invariants.cases import Case

Shape = tuple[int, ...]

SHAPE_KINDS = ("scalar", "bias", "matrix", "conv", "single")
PROFILES = ("steady", "decaying", "sudden_drop", "burst", "increasing")
FLAT_REGION = "flat_region"
"""AdaNorm §3.1's scenario S1 (drawn only on request): a one-signed slope at the base norm,
then a flat region at a smaller norm whose gradients keep the slope's sign on average;
with ``flat_noise``, minibatch noise flips some coordinates inside the flat region."""
MAGNITUDES = ("moderate", "tiny", "huge")
MODES = ("gaussian", "lattice", "fixed", "alternating", "one_coordinate")

DROP_FACTOR = (10.0, 1e4)
"""A sudden drop divides the norm by a factor in this range."""
BURST_FACTOR = (10.0, 1e3)
"""A burst multiplies the norm by a factor in this range."""
MAGNITUDE_RANGE = {"moderate": (1e-3, 1e3), "tiny": (1e-60, 1e-30), "huge": (1e30, 1e60)}
"""Base norm of a sequence, log-uniform in the range. Tiny and huge stay far from
under/overflow for everything the algorithms compute: the largest products they
form are of degree 4 in g (AdaRem's g·m·|g|·max|m|, Aida's ⟨g,m⟩·g), and
(1e60)^4 = 1e240 < 1.8e308, (1e-60)^2 = 1e-120 > 2.2e-308."""


# --------------------------------------------------------------------------
# Layer shapes.
# --------------------------------------------------------------------------


@st.composite
def layer_shape(draw: st.DrawFn, kinds: tuple[str, ...] = SHAPE_KINDS) -> Shape:
    """One parameter tensor's shape of the given kind (small sizes keep runs fast)."""
    kind = draw(st.sampled_from(kinds))
    if kind == "scalar":
        return ()
    if kind == "single":
        return draw(st.sampled_from([(1,), (1, 1), (1, 1, 1, 1)]))
    if kind == "bias":
        return (draw(st.integers(2, 8)),)
    if kind == "matrix":
        return (draw(st.integers(1, 5)), draw(st.integers(2, 5)))
    k = draw(st.sampled_from([1, 3]))
    return (draw(st.integers(1, 3)), draw(st.integers(1, 3)), k, k)


@cache
def layer_shapes(
    kinds: tuple[str, ...] = SHAPE_KINDS, min_layers: int = 1, max_layers: int = 3
) -> st.SearchStrategy[tuple[Shape, ...]]:
    """A parameter set: ``min_layers..max_layers`` tensors of the given kinds."""
    return st.lists(layer_shape(kinds), min_size=min_layers, max_size=max_layers).map(tuple)


def numel(shape: Shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


# --------------------------------------------------------------------------
# Gradient sequences.
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class GradientPlan:
    """What a gradient sequence is meant to look like; :func:`realize` builds it.

    ``scales[t]`` is the target norm of every tensor at step t before its
    per-layer multiplier; ``zero_steps`` are steps whose gradient is exactly
    zero in every tensor; ``zero_coordinates`` zeroes one coordinate of each
    tensor at every step; ``constant_signs`` gives every coordinate one sign for
    the whole sequence.
    """

    profile: str
    magnitude: str
    mode: str
    scales: tuple[float, ...]
    seed: int
    zero_steps: frozenset[int] = frozenset()
    zero_coordinates: bool = False
    constant_signs: bool = False
    drop_at: int | None = None
    burst_at: frozenset[int] = frozenset()
    flat_noise: bool = False
    """In a flat region after the first of its steps, noise may flip a coordinate's sign."""

    @property
    def steps(self) -> int:
        return len(self.scales)


def _log_uniform(draw: st.DrawFn, low: float, high: float) -> float:
    exponent = draw(st.floats(np.log10(low), np.log10(high)))
    return float(10.0**exponent)


@cache  # building strategies is costly for Hypothesis: one per set of arguments
@st.composite
def gradient_plans(
    draw: st.DrawFn,
    min_steps: int = 1,
    max_steps: int = 12,
    profiles: tuple[str, ...] = PROFILES,
    magnitudes: tuple[str, ...] = MAGNITUDES,
    modes: tuple[str, ...] = MODES,
    zeros: bool = True,
    constant_signs: bool | None = False,
    flat_noise: bool | None = False,
) -> GradientPlan:
    """A :class:`GradientPlan`; ``constant_signs=None`` / ``flat_noise=None`` let Hypothesis
    choose."""
    profile = draw(st.sampled_from(profiles))
    floor = 2 if profile in ("sudden_drop", "burst", FLAT_REGION) else 1
    steps = draw(st.integers(max(min_steps, floor), max(max_steps, floor)))
    magnitude = draw(st.sampled_from(magnitudes))
    mode = draw(st.sampled_from(modes))
    seed = draw(st.integers(0, 2**32 - 1))
    base = _log_uniform(draw, *MAGNITUDE_RANGE[magnitude])
    rng = np.random.default_rng(seed)
    drop_at = None
    bursts: frozenset[int] = frozenset()
    if profile == "steady":
        scales = base * (1.0 + 0.1 * rng.uniform(-1.0, 1.0, steps))
    elif profile == "decaying":
        rate = draw(st.floats(0.3, 0.95))
        scales = base * rate ** np.arange(steps)
    elif profile in ("sudden_drop", FLAT_REGION):
        drop_at = draw(st.integers(1, steps - 1))
        factor = _log_uniform(draw, *DROP_FACTOR)
        scales = np.where(np.arange(steps) < drop_at, base, base / factor)
    elif profile == "burst":
        bursts = frozenset(
            draw(st.lists(st.integers(0, steps - 1), min_size=1, max_size=2, unique=True))
        )
        factor = _log_uniform(draw, *BURST_FACTOR)
        scales = np.array([base * factor if t in bursts else base for t in range(steps)])
    else:  # increasing: non-decreasing norms, equal norms allowed
        growth = rng.uniform(0.0, 0.5, steps) * (rng.uniform(size=steps) < 0.6)
        growth[0] = 0.0
        scales = base * np.cumprod(1.0 + growth)
    zero_steps: frozenset[int] = frozenset()
    zero_coordinates = False
    if zeros:
        # Mostly after the first step, where a zero gradient meets a nonzero history.
        count = min(draw(st.sampled_from([0, 1, 1, 2])), steps)
        zero_steps = (
            frozenset(
                draw(
                    st.lists(st.integers(0, steps - 1), min_size=count, max_size=count, unique=True)
                )
            )
            - bursts
        )
        if drop_at is not None:
            zero_steps -= {drop_at - 1, drop_at}
        if profile == "increasing":
            zero_steps = frozenset()  # a zero step would make the norm decrease
        zero_coordinates = draw(st.booleans())
    signs = draw(st.booleans()) if constant_signs is None else constant_signs
    noise = False
    if profile == FLAT_REGION:
        signs = True  # the slope into and across the flat region has one sign
        noise = draw(st.booleans()) if flat_noise is None else flat_noise
    return GradientPlan(
        profile=profile,
        magnitude=magnitude,
        mode=mode,
        scales=tuple(float(s) for s in scales),
        seed=seed,
        zero_steps=zero_steps,
        zero_coordinates=zero_coordinates,
        constant_signs=signs,
        drop_at=drop_at,
        burst_at=bursts,
        flat_noise=noise,
    )


def _direction(
    rng: np.random.Generator, mode: str, size: int, t: int, fixed: np.ndarray
) -> np.ndarray:
    if mode == "gaussian":
        return rng.standard_normal(size)
    if mode == "lattice":
        d = rng.integers(-2, 3, size).astype(np.float64)
        if not d.any():
            d[rng.integers(size)] = 1.0
        return d
    if mode == "fixed":
        return fixed * (1.0 if rng.uniform() < 0.8 else -1.0)
    if mode == "alternating":
        return fixed * (-1.0) ** t
    d = np.zeros(size)  # one_coordinate: a single coordinate carries the norm
    d[int(rng.integers(size))] = rng.choice([-1.0, 1.0])
    return d


def realize(plan: GradientPlan, shapes: tuple[Shape, ...]) -> tuple[tuple[np.ndarray, ...], ...]:
    """The gradient arrays of ``plan`` for a parameter set of ``shapes``.

    Tensor i at step t is ``scales[t] · layer_i · d/‖d‖`` with ``layer_i`` a
    per-layer multiplier in [0.1, 10] and d the mode's direction, so every
    nonzero tensor's norm is the planned one up to rounding.
    """
    rng = np.random.default_rng(plan.seed)
    layers = 10.0 ** rng.uniform(-1.0, 1.0, len(shapes))
    fixed = [rng.standard_normal(numel(s)) for s in shapes]
    signs = [np.where(rng.uniform(size=numel(s)) < 0.5, -1.0, 1.0) for s in shapes]
    holes = [int(rng.integers(numel(s))) for s in shapes]
    sequence = []
    for t, scale in enumerate(plan.scales):
        step = []
        for i, shape in enumerate(shapes):
            size = numel(shape)
            d = _direction(rng, plan.mode, size, t, fixed[i])
            if plan.constant_signs:
                d = np.abs(d) * signs[i]
            if plan.flat_noise and plan.drop_at is not None and t > plan.drop_at:
                # Slope plus minibatch noise: the mean keeps the sign, a third of draws flip.
                d = d * rng.uniform(-1.0, 2.0, size)
            if plan.zero_coordinates and size > 1:
                d[holes[i]] = 0.0
            norm = float(np.sqrt(np.dot(d, d)))
            if t in plan.zero_steps or norm == 0.0:
                g = np.zeros(size)
            else:
                g = d * (scale * layers[i] / norm)
            step.append(g.reshape(shape))
        sequence.append(tuple(step))
    return tuple(sequence)


def initial_params(
    shapes: tuple[Shape, ...], seed: int, scale: float = 1.0
) -> tuple[np.ndarray, ...]:
    """Standard normal initial parameters (times ``scale``) from ``seed``."""
    rng = np.random.default_rng(seed)
    return tuple(scale * rng.standard_normal(s) for s in shapes)


# --------------------------------------------------------------------------
# Hyperparameters.
# --------------------------------------------------------------------------


@cache
def unit_interval() -> st.SearchStrategy[float]:
    """β or γ ∈ [0, 1): the papers' values plus any float of the domain."""
    return st.one_of(
        st.sampled_from([0.0, 0.5, 0.9, 0.95, 0.99, 0.999]),
        st.floats(0.0, 1.0, exclude_max=True),
    )


@cache
def betas() -> st.SearchStrategy[tuple[float, float]]:
    return st.tuples(unit_interval(), unit_interval())


@cache
def lams() -> st.SearchStrategy[float]:
    """AdaRem's λ ∈ (0, 1) (0.999 in §4.1.1)."""
    return st.one_of(
        st.sampled_from([0.5, 0.9, 0.999]),
        st.floats(0.0, 1.0, exclude_min=True, exclude_max=True),
    )


@cache
def epsilons() -> st.SearchStrategy[float]:
    """ε ≥ 0: zero, the papers' 1e-8, and anything in [1e-30, 1e-2].

    Positive ε below 1e-30 is left out: with β2 = 0 a zero gradient after a nonzero
    history gives v_t = 0 and a step m̂/ε that overflows float64 for subnormal ε (an
    overflow of the formula itself, not a property of either implementation)."""
    return st.one_of(
        st.sampled_from([0.0, 1e-8, 1e-16, 1e-3]),
        st.floats(-30.0, -2.0).map(lambda e: float(10.0**e)),
    )


@cache
def xis() -> st.SearchStrategy[float]:
    """Aida's ξ ≥ 0 (1e-20 in §IV)."""
    return st.one_of(st.sampled_from([0.0, 1e-20, 1e-8]), st.floats(0.0, 1e-3))


@cache
def learning_rates() -> st.SearchStrategy[float]:
    return st.one_of(st.sampled_from([1e-3, 1e-2, 0.1, 1.0]), st.floats(1e-6, 1.0))


@cache
def weight_decays() -> st.SearchStrategy[float]:
    return st.sampled_from([0.0, 0.0, 5e-4, 1e-2])


@cache
def projection_counts() -> st.SearchStrategy[int]:
    """Aida's K ≥ 0 (K = 2 in Alg. 3; K = 0 is "no projection")."""
    return st.integers(0, 4)


# --------------------------------------------------------------------------
# Whole cases.
# --------------------------------------------------------------------------


@st.composite
def _cases(
    draw: st.DrawFn,
    optimizers: tuple[str, ...],
    hyper: st.SearchStrategy[dict],
    shapes: st.SearchStrategy[tuple[Shape, ...]] | None = None,
    plans: st.SearchStrategy[GradientPlan] | None = None,
) -> Case:
    """A :class:`Case` for one of ``optimizers`` with hyperparameters from ``hyper``."""
    name = draw(st.sampled_from(optimizers))
    layer_set = draw(shapes if shapes is not None else layer_shapes())
    plan = draw(plans if plans is not None else gradient_plans())
    params = initial_params(layer_set, seed=plan.seed + 1)
    return Case(
        optimizer=name,
        params=params,
        grads=realize(plan, layer_set),
        hyper=draw(hyper),
        extra={"plan": {"profile": plan.profile, "magnitude": plan.magnitude, "mode": plan.mode}},
    )


@cache
def cases(
    optimizers: tuple[str, ...],
    hyper: st.SearchStrategy[dict],
    shapes: st.SearchStrategy[tuple[Shape, ...]] | None = None,
    plans: st.SearchStrategy[GradientPlan] | None = None,
) -> st.SearchStrategy[Case]:
    """Cases for ``optimizers`` (cached per argument set)."""
    return _cases(optimizers, hyper, shapes, plans)
