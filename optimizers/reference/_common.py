"""Small helpers shared by the float64 NumPy reference optimizers.

Nothing here knows about a particular algorithm: the base class copies the
parameters, checks the gradients, skips tensors without a gradient and keeps
the ``last`` record of intermediate quantities; the functions below are the
arithmetic building blocks the papers' pseudo-code writes out again and again
(an exponential moving average, a bias correction, a division that reads 0/0
as a zero step). Everything is float64 NumPy; there is deliberately no torch
import anywhere in this package (it is the independent side of a differential
test against ``optimizers/*.py``).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

EPS_MODES = ("outside", "inside", "both")


# --------------------------------------------------------------------------
# Hyperparameter validation: every failure is a ValueError that names the
# argument and the range it must lie in.
# --------------------------------------------------------------------------


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def check_real(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a float after checking ``low <=/< value <=/< high``."""
    lo_br = "(" if low_open or low is None else "["
    hi_br = ")" if high_open or high is None else "]"
    lo_txt = "-inf" if low is None else repr(low)
    hi_txt = "inf" if high is None else repr(high)
    allowed = f"{lo_br}{lo_txt}, {hi_txt}{hi_br}"
    if not _is_real(value) or not math.isfinite(float(value)):
        raise ValueError(f"Invalid {name}: {value!r}; expected a finite real number in {allowed}")
    v = float(value)
    if low is not None and (v < low or (low_open and v == low)):
        raise ValueError(f"Invalid {name}: {value!r}; expected {name} in {allowed}")
    if high is not None and (v > high or (high_open and v == high)):
        raise ValueError(f"Invalid {name}: {value!r}; expected {name} in {allowed}")
    return v


def check_lr(name: str, value: Any) -> float:
    return check_real(name, value, low=0.0)


def check_eps(value: Any, name: str = "eps") -> float:
    return check_real(name, value, low=0.0)


def check_weight_decay(value: Any) -> float:
    return check_real("weight_decay", value, low=0.0)


def check_betas(betas: Any) -> tuple[float, float]:
    """``betas = (β1, β2)`` with each β in [0, 1)."""
    try:
        b1, b2 = betas
    except (TypeError, ValueError):
        raise ValueError(
            f"Invalid betas: {betas!r}; expected a pair (beta1, beta2) with each in [0.0, 1.0)"
        ) from None
    return (
        check_real("betas[0]", b1, low=0.0, high=1.0, high_open=True),
        check_real("betas[1]", b2, low=0.0, high=1.0, high_open=True),
    )


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"Invalid {name}: {value!r}; expected True or False")
    return bool(value)


def check_optional_bool(name: str, value: Any) -> bool | None:
    if value is None:
        return None
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"Invalid {name}: {value!r}; expected None, True or False")
    return bool(value)


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"Invalid {name}: {value!r}; expected one of {allowed}")
    return value


def check_int(name: str, value: Any, *, low: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"Invalid {name}: {value!r}; expected an integer >= {low}")
    if value < low:
        raise ValueError(f"Invalid {name}: {value!r}; expected an integer >= {low}")
    return int(value)


# --------------------------------------------------------------------------
# Arithmetic building blocks.
# --------------------------------------------------------------------------


def ema(previous: np.ndarray, new: np.ndarray, beta: float) -> np.ndarray:
    """Exponential moving average ``β·previous + (1-β)·new`` (all EMAs start at 0)."""
    return np.asarray(beta * previous + (1.0 - beta) * new, dtype=np.float64)


def bias_correction(beta: float, t: int) -> float:
    """``1 - β^t``, the Adam bias-correction divisor (t counts from 1)."""
    return 1.0 - beta**t


def divide_or_zero(numerator: Any, denominator: Any) -> np.ndarray:
    """Elementwise ``numerator / denominator``, reading an exactly-zero
    denominator as a zero result (the suite's rule for 0/0 steps)."""
    num = np.asarray(numerator, dtype=np.float64)
    den = np.asarray(denominator, dtype=np.float64)
    shape = np.broadcast_shapes(num.shape, den.shape)
    out = np.zeros(shape, dtype=np.float64)
    np.divide(num, den, out=out, where=np.broadcast_to(den != 0.0, shape))
    return out


def reciprocal_or_zero(denominator: Any) -> np.ndarray:
    """``1/denominator`` elementwise, 0 where the denominator is exactly 0."""
    return divide_or_zero(1.0, denominator)


def l2_norm(x: np.ndarray) -> float:
    """Euclidean norm of all entries of ``x`` (any shape, 0-d included)."""
    flat = np.asarray(x, dtype=np.float64).ravel()
    return float(np.sqrt(np.dot(flat, flat)))


def inner(a: np.ndarray, b: np.ndarray) -> float:
    """Inner product of two tensors seen as flat vectors."""
    return float(np.dot(np.asarray(a, dtype=np.float64).ravel(), np.asarray(b).ravel()))


def mean(x: np.ndarray) -> float:
    """Mean of all entries; 0 for an empty tensor (no NaN from an empty layer)."""
    x = np.asarray(x, dtype=np.float64)
    return float(np.mean(x)) if x.size else 0.0


def max_abs(x: np.ndarray) -> float:
    """``max|x|`` over all entries; 0 for an empty tensor."""
    x = np.asarray(x, dtype=np.float64)
    return float(np.max(np.abs(x))) if x.size else 0.0


# --------------------------------------------------------------------------
# Base class.
# --------------------------------------------------------------------------


def keyword_constructor(defaults: Mapping[str, Any]) -> Callable[..., None]:
    """``__init__(self, params, *, <each option>=<its default>)`` calling ``self._configure``.

    The function carries the signature as ``__signature__``, so ``inspect.signature`` and
    ``help`` show each option with its default; an unknown keyword is a ``TypeError`` as
    with a written-out signature.
    """
    defaults = dict(defaults)

    def __init__(self: ReferenceOptimizer, params: Sequence[np.ndarray], **options: Any) -> None:
        unexpected = sorted(set(options) - set(defaults))
        if unexpected:
            raise TypeError(
                f"{type(self).__name__}() got unexpected keyword argument(s) "
                f"{', '.join(map(repr, unexpected))}"
            )
        self._configure(params, **(defaults | options))

    positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
    __init__.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("self", positional),
            inspect.Parameter("params", positional),
            *(
                inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=value)
                for name, value in defaults.items()
            ),
        ]
    )
    return __init__


class ReferenceOptimizer:
    """Common plumbing of every reference optimizer.

    ``params`` are copied to float64 arrays (shapes kept, 0-d allowed) in
    ``self.params``; ``step(grads)`` performs one update in place. A ``None``
    gradient means the tensor takes no part in this step: its state and step
    count are untouched and it is excluded from any global norm or maximum.
    After each step ``self.last[key][i]`` holds the intermediate quantity
    ``key`` of tensor ``i`` (``None`` for skipped tensors and for quantities a
    tensor does not have).
    """

    #: keys of ``self.last`` this optimizer fills
    LAST_KEYS: tuple[str, ...] = ("g",)
    DEFAULTS: ClassVar[dict[str, Any]] = {}
    """The keyword options and their defaults, for a class that declares them here instead of
    writing ``__init__``: it gets a keyword-only constructor with exactly these parameters
    (a real signature, :func:`keyword_constructor`) that calls :meth:`_configure`."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "DEFAULTS" in cls.__dict__ and "__init__" not in cls.__dict__:
            cls.__init__ = keyword_constructor(cls.DEFAULTS)  # type: ignore[method-assign]

    def _configure(self, params: Sequence[np.ndarray], **options: Any) -> None:
        """Check and store ``options`` (all of :attr:`DEFAULTS`, filled in), then set up the
        parameters and state; a class with ``DEFAULTS`` implements it."""
        raise NotImplementedError

    def __init__(self, params: Sequence[np.ndarray]) -> None:
        if isinstance(params, np.ndarray):
            raise ValueError("Invalid params: expected a sequence of arrays, got a single array")
        self.params: list[np.ndarray] = [np.array(p, dtype=np.float64, copy=True) for p in params]
        self.state: list[dict[str, Any]] = [{"step": 0} for _ in self.params]
        self.last: dict[str, list] = {key: [None] * len(self.params) for key in self.LAST_KEYS}

    # -- gradients -------------------------------------------------------
    def _check_grads(self, grads: Sequence[np.ndarray | None]) -> list[np.ndarray | None]:
        grads = list(grads)
        if len(grads) != len(self.params):
            raise ValueError(
                f"Invalid grads: got {len(grads)} gradients for {len(self.params)} parameters"
            )
        checked: list[np.ndarray | None] = []
        for i, (p, g) in enumerate(zip(self.params, grads, strict=True)):
            if g is None:
                checked.append(None)
                continue
            g = np.array(g, dtype=np.float64, copy=True)
            if g.shape != p.shape:
                raise ValueError(
                    f"Invalid grads[{i}]: shape {g.shape} does not match parameter shape {p.shape}"
                )
            checked.append(g)
        return checked

    def step(self, grads: Sequence[np.ndarray | None]) -> None:
        """One optimisation step with the given gradients (``None`` = skip)."""
        checked = self._check_grads(grads)
        self.last = {key: [None] * len(self.params) for key in self.LAST_KEYS}
        active = [i for i, g in enumerate(checked) if g is not None]
        self._step(checked, active)

    def _step(self, grads: list[np.ndarray | None], active: list[int]) -> None:
        raise NotImplementedError

    # -- bookkeeping -----------------------------------------------------
    def _record(self, i: int, **values: Any) -> None:
        """Store copies of this step's intermediate quantities of tensor ``i``."""
        for key, value in values.items():
            if key not in self.last:
                self.last[key] = [None] * len(self.params)
            if isinstance(value, np.ndarray):
                value = value.copy()
            elif isinstance(value, (np.floating, np.integer)):
                value = float(value)
            self.last[key][i] = value

    def _set_param(self, i: int, value: np.ndarray) -> None:
        """Write the new value into ``self.params[i]`` in place (keeps identity)."""
        self.params[i][...] = value


def apply_weight_decay(
    param: np.ndarray, grad: np.ndarray, lr: float, weight_decay: float, decoupled: bool
) -> np.ndarray:
    """The suite's two weight-decay forms (docs/ALGORITHMS.md, "Weight decay").

    ``decoupled=False``: L2 decay, returns ``g + wd·θ`` (every later quantity,
    norms and stored previous gradients included, sees this g).
    ``decoupled=True``: shrinks ``param`` in place, ``θ ← θ·(1 - lr·wd)``
    (AdamW style; AdaRem's ``- η̂ γ θ_t`` of paper 002 Alg. 1) and returns the
    raw gradient. The later update never reads θ, so shrinking first and then
    subtracting the step equals ``θ_old - lr·wd·θ_old - step``.
    """
    if weight_decay == 0.0:
        return grad
    if decoupled:
        param *= 1.0 - lr * weight_decay
        return grad
    return grad + weight_decay * param
