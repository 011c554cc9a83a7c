"""Online convex problems with an exact projection and an exact best fixed point in hindsight.

The feasible set of every problem is a box ``F = [lower, upper] ⊂ R^d``. For
any diagonal positive metric ``W`` (the ``Π_{F, √v̂_t}`` of Reddi et al. 2018
Alg. 2, the ``Π_{F, diag(η_t^{-1})}`` of paper 002 Alg. 1, the Euclidean
projection of online gradient descent),
``argmin_{x∈F} (x-y)ᵀW(x-y)`` separates into one-dimensional problems
``min_{x_i∈[lo_i, hi_i]} w_i (x_i - y_i)²`` whose solution is
``clip(y_i, lo_i, hi_i)`` for every ``w_i > 0``: coordinatewise clipping is the
exact projection for all the methods here.

Regret (paper 000 eq. 10, paper 002 §3.1, Reddi et al. §2):
``R(T) = Σ_{t≤T} f_t(θ_t) - min_{θ∈F} Σ_{t≤T} f_t(θ)``. Each family says how its
comparator is computed exactly at every horizon.

Families
--------
* :class:`PeriodicLinear` — Reddi, Kale & Kumar (2018) §3, Theorem 1:
  ``f_t(x) = Cx`` for ``t mod 3 = 1`` and ``-x`` otherwise on ``[-1, 1]``, C > 2;
  the same form with ``f_t(x) = 1010x`` for ``t mod 101 = 1``, ``-10x``
  otherwise is the synthetic experiment of their §5.
* :class:`BernoulliLinear` — their §3, Theorem 3: ``f_t(x) = Cx`` with
  probability ``p = (1+δ)/(C+1)``, ``-x`` otherwise; §5's stochastic variant:
  ``1010x`` with probability 0.01, ``-10x`` otherwise.
* :class:`DriftingLinear`, :class:`DriftingQuadratic` — linear and separable
  quadratic losses whose per-step optimum drifts (sinusoid + noise).
* :class:`LogisticStream` — online logistic regression on real features.
* :class:`RandomLeastSquares` — random convex (non-separable) quadratic losses
  ``½(⟨a_t, θ⟩ - b_t)²`` in d dimensions.

Randomness: instance ``seed`` of a problem draws from
``np.random.default_rng([crc32(problem name), seed])`` in fixed blocks of
:data:`DRAW_BLOCK` steps, so an instance's sequence depends only on the
problem and the seed, never on the batch or the chunk length (a replay with
``--instances 1 --first-seed S`` sees the same losses).
"""

from __future__ import annotations

import hashlib
import math
import zlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import numpy as np
from scipy.optimize import lsq_linear, minimize
from scipy.special import expit

DRAW_BLOCK = 4096


@dataclass(frozen=True)
class Box:
    """The feasible set ``[lower, upper]`` (per coordinate)."""

    lower: np.ndarray
    upper: np.ndarray

    @classmethod
    def cube(cls, dim: int, radius: float) -> Box:
        """``[-radius, radius]^dim``."""
        return cls(np.full(dim, -float(radius)), np.full(dim, float(radius)))

    @property
    def dim(self) -> int:
        """Dimension d."""
        return int(self.lower.shape[0])

    @property
    def diameter(self) -> float:
        """L2 diameter ``‖upper - lower‖₂`` (D of paper 000 Theorem 1)."""
        return float(np.linalg.norm(self.upper - self.lower))

    @property
    def diameter_inf(self) -> float:
        """L∞ diameter ``max_i (upper_i - lower_i)`` (D∞ of paper 000 / 002 Theorem 1)."""
        return float(np.max(self.upper - self.lower))

    def project(self, x: np.ndarray) -> np.ndarray:
        """Exact projection onto the box in any diagonal metric: coordinatewise clipping."""
        return np.clip(x, self.lower, self.upper)


def linear_comparator(summed: np.ndarray, box: Box) -> tuple[np.ndarray, np.ndarray]:
    """``min_{θ∈F} ⟨S, θ⟩`` and a minimiser, for ``S = Σ_t g_t`` of shape (..., d).

    The minimum of a linear function over a box separates per coordinate and
    is attained at ``lower_i`` when ``S_i ≥ 0`` and at ``upper_i`` otherwise.
    """
    value = np.sum(np.minimum(summed * box.lower, summed * box.upper), axis=-1)
    point = np.where(summed >= 0.0, box.lower, box.upper)
    return value, point


class _Stream:
    """Per-instance random data served in order, drawn in fixed blocks of DRAW_BLOCK steps."""

    def __init__(
        self,
        rngs: Sequence[np.random.Generator],
        draw: Callable[[np.random.Generator, int], np.ndarray],
    ) -> None:
        self.rngs = list(rngs)
        self.draw = draw
        self.buffer: np.ndarray | None = None
        self.pos = 0

    def take(self, length: int) -> np.ndarray:
        """The next ``length`` steps, shape (length, B, ...)."""
        parts = []
        need = length
        while need > 0:
            if self.buffer is None or self.pos >= self.buffer.shape[0]:
                self.buffer = np.stack([self.draw(rng, DRAW_BLOCK) for rng in self.rngs], axis=1)
                self.pos = 0
            n = min(need, self.buffer.shape[0] - self.pos)
            parts.append(self.buffer[self.pos : self.pos + n])
            self.pos += n
            need -= n
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


class Instances:
    """B instances of one problem, advanced together (call the data methods in time order)."""

    def __init__(self, problem: Problem, seeds: Sequence[int]) -> None:
        self.problem = problem
        self.box = problem.box
        self.seeds = [int(s) for s in seeds]
        key = zlib.crc32(problem.name.encode())
        self.rngs = [np.random.default_rng([key, s]) for s in self.seeds]
        # θ_1 uniform in F: a per-instance start, drawn first from each instance's stream
        self.theta0 = np.stack([rng.uniform(self.box.lower, self.box.upper) for rng in self.rngs])

    @property
    def size(self) -> int:
        """Number of instances B."""
        return len(self.seeds)


class LinearInstances(Instances):
    """Linear losses ``f_t(θ) = ⟨g_t, θ⟩``: gradients independent of θ, comparator by sign."""

    @abstractmethod
    def gradients(self, t0: int, length: int) -> np.ndarray:
        """``g_t`` for ``t = t0 .. t0+length-1``, shape (length, B, d)."""


class SmoothInstances(Instances):
    """Losses whose gradient depends on θ: stepped one t at a time by the runner."""

    @abstractmethod
    def draw(self, t0: int, length: int) -> Any:
        """The data of steps ``t0 .. t0+length-1`` (opaque to the runner)."""

    @abstractmethod
    def grad_loss(self, theta: np.ndarray, data: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Gradient (A, B, d) and loss (A, B) of step ``k`` of ``data`` at ``theta`` (A, B, d)."""

    @abstractmethod
    def sup_gradient(self, data: Any) -> tuple[np.ndarray, np.ndarray]:
        """``sup_{θ∈F} ‖∇f_t(θ)‖₂`` and ``sup_{θ∈F} ‖∇f_t(θ)‖∞`` per step, each (L, B)."""

    @abstractmethod
    def stats_at(self, data: Any, ks: Sequence[int]) -> list[Any]:
        """Sufficient statistics of ``Σ_{s≤t} f_s`` after steps ``ks`` of ``data`` (in order)."""

    @abstractmethod
    def comparator(self, stats: Any) -> tuple[np.ndarray, np.ndarray]:
        """``min_{θ∈F} Σ_{s≤t} f_s(θ)`` (B,) and the minimiser (B, d) from :meth:`stats_at`."""


DATA = {"data": True}
"""Field metadata: the field holds a family's data, not a parameter (left out of
:meth:`Problem.describe`, which a family with data extends by a fingerprint)."""


@dataclass(frozen=True)
class Problem(ABC):
    """A problem family with fixed parameters; :meth:`instances` draws a batch of B instances."""

    name: str
    source: str
    box: Box

    @property
    def linear(self) -> bool:
        """Whether the losses are linear (gradients independent of θ)."""
        return issubclass(self.instances_class(), LinearInstances)

    @classmethod
    @abstractmethod
    def instances_class(cls) -> type[Instances]:
        """The :class:`Instances` subclass of this family."""

    def instances(self, seeds: Sequence[int]) -> Instances:
        """A batch of instances, one per seed."""
        return self.instances_class()(self, seeds)

    gradient_bound_on_R_d: ClassVar[bool] = True
    """Whether ‖∇f_t(θ)‖ is bounded on all of R^d, as paper 000 Theorem 1 literally assumes
    (otherwise the constants are the sups over F, the only points the iterates visit)."""

    def describe(self) -> dict[str, Any]:
        """Parameters as a flat record: name, source and box, then each parameter of the
        family in declaration order (tuples as lists); fields marked :data:`DATA` are left out
        (a family with data fingerprints it itself)."""
        record: dict[str, Any] = {
            "name": self.name,
            "source": self.source,
            "d": self.box.dim,
            "lower": self.box.lower.tolist(),
            "upper": self.box.upper.tolist(),
        }
        for f in fields(self):
            if f.name not in record and f.name != "box" and not f.metadata.get("data"):
                value = getattr(self, f.name)
                record[f.name] = list(value) if isinstance(value, tuple) else value
        return record


# --------------------------------------------------------------------------
# Reddi, Kale & Kumar (2018): the adversarial linear families
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodicLinear(Problem):
    """``g_t = big`` when ``(t - 1 + φ) mod period = 0``, else ``small`` (one coordinate).

    ``φ`` is a per-instance phase in ``[0, period)`` (φ = 0 is Reddi's
    ``t mod period = 1``); with a shift the sequence is the same family
    entered at another point, which gives deterministic families a spread
    of instances.
    """

    big: float = 3.0
    small: float = -1.0
    period: int = 3

    @classmethod
    def instances_class(cls) -> type[Instances]:
        return _PeriodicInstances


class _PeriodicInstances(LinearInstances):
    def __init__(self, problem: PeriodicLinear, seeds: Sequence[int]) -> None:
        super().__init__(problem, seeds)
        self.phase = np.array([int(rng.integers(problem.period)) for rng in self.rngs])

    def gradients(self, t0: int, length: int) -> np.ndarray:
        p: PeriodicLinear = self.problem  # type: ignore[assignment]
        t = np.arange(t0, t0 + length)[:, None]
        big = (t - 1 + self.phase[None, :]) % p.period == 0
        return np.where(big, p.big, p.small)[:, :, None].astype(np.float64)


@dataclass(frozen=True)
class BernoulliLinear(Problem):
    """``g_t = big`` with probability ``p``, else ``small``, independently (one coordinate)."""

    big: float = 3.0
    small: float = -1.0
    p: float = 1.0 / 3.0

    @classmethod
    def instances_class(cls) -> type[Instances]:
        return _BernoulliInstances


class _BernoulliInstances(LinearInstances):
    def __init__(self, problem: BernoulliLinear, seeds: Sequence[int]) -> None:
        super().__init__(problem, seeds)
        self.stream = _Stream(self.rngs, lambda rng, n: rng.random(n))

    def gradients(self, t0: int, length: int) -> np.ndarray:
        p: BernoulliLinear = self.problem  # type: ignore[assignment]
        u = self.stream.take(length)
        return np.where(u < p.p, p.big, p.small)[:, :, None]


# --------------------------------------------------------------------------
# Drifting optimum
# --------------------------------------------------------------------------


def _drift_parameters(
    rng: np.random.Generator,
    dim: int,
    mean: float,
    amp: tuple[float, float],
    periods: tuple[float, float],
) -> dict[str, np.ndarray]:
    return {
        "mu": rng.uniform(-mean, mean, dim),
        "rho": rng.uniform(*amp, dim),
        "period": np.exp(rng.uniform(math.log(periods[0]), math.log(periods[1]), dim)),
        "phi": rng.uniform(0.0, 2.0 * math.pi, dim),
    }


def _stacked_drift_parameters(
    rngs: Sequence[np.random.Generator], dim: int, problem: DriftingLinear | DriftingQuadratic
) -> dict[str, np.ndarray]:
    """:func:`_drift_parameters` drawn once per instance (in seed order), stacked to (B, d)."""
    drawn = [
        _drift_parameters(rng, dim, problem.mean, problem.amplitude, problem.periods)
        for rng in rngs
    ]
    return {k: np.stack([p[k] for p in drawn]) for k in drawn[0]}


def _drift(params: dict[str, np.ndarray], t0: int, length: int) -> np.ndarray:
    """``μ_i + ρ_i sin(2π t/P_i + φ_i)`` for the steps of a chunk, shape (length, B, d)."""
    t = np.arange(t0, t0 + length, dtype=np.float64)[:, None, None]
    return params["mu"] + params["rho"] * np.sin(
        2.0 * math.pi * t / params["period"] + params["phi"]
    )


@dataclass(frozen=True)
class DriftingLinear(Problem):
    """``g_{t,i} = μ_i + ρ_i sin(2πt/P_i + φ_i) + σ ξ_{t,i}``, ξ standard normal.

    The per-step minimiser (a corner chosen by the sign of g_t) flips with the
    drift; the best fixed point is the corner of the summed gradient.
    """

    mean: float = 0.2
    amplitude: tuple[float, float] = (0.5, 1.0)
    periods: tuple[float, float] = (50.0, 5000.0)
    noise: float = 0.5

    @classmethod
    def instances_class(cls) -> type[Instances]:
        return _DriftingLinearInstances


class _DriftingLinearInstances(LinearInstances):
    def __init__(self, problem: DriftingLinear, seeds: Sequence[int]) -> None:
        super().__init__(problem, seeds)
        d = self.box.dim
        self.params = _stacked_drift_parameters(self.rngs, d, problem)
        self.stream = _Stream(self.rngs, lambda rng, n: rng.standard_normal((n, d)))

    def gradients(self, t0: int, length: int) -> np.ndarray:
        p: DriftingLinear = self.problem  # type: ignore[assignment]
        return _drift(self.params, t0, length) + p.noise * self.stream.take(length)


@dataclass(frozen=True)
class DriftingQuadratic(Problem):
    """``f_t(θ) = ½ Σ_i a_i (θ_i - c_{t,i})²`` with a drifting centre
    ``c_{t,i} = μ_i + ρ_i sin(2πt/P_i + φ_i) + σ ξ_{t,i}``, curvatures ``a_i`` fixed per instance.

    Comparator: ``Σ_t f_t`` is separable with minimiser ``clip(mean_t c_{t,i})``
    (a one-dimensional convex quadratic restricted to an interval), exact.
    """

    mean: float = 1.0
    amplitude: tuple[float, float] = (0.5, 1.5)
    periods: tuple[float, float] = (50.0, 5000.0)
    noise: float = 0.3
    curvature: tuple[float, float] = (0.5, 2.0)

    @classmethod
    def instances_class(cls) -> type[Instances]:
        return _DriftingQuadraticInstances

    gradient_bound_on_R_d: ClassVar[bool] = False  # quadratic: ‖∇f_t‖ grows with ‖θ‖


class _DriftingQuadraticInstances(SmoothInstances):
    def __init__(self, problem: DriftingQuadratic, seeds: Sequence[int]) -> None:
        super().__init__(problem, seeds)
        d = self.box.dim
        self.params = _stacked_drift_parameters(self.rngs, d, problem)
        self.a = np.stack([rng.uniform(*problem.curvature, d) for rng in self.rngs])
        self.stream = _Stream(self.rngs, lambda rng, n: rng.standard_normal((n, d)))
        self.count = 0
        self.sum_c = np.zeros((self.size, d))
        self.sum_c2 = np.zeros((self.size, d))

    def draw(self, t0: int, length: int) -> np.ndarray:
        p: DriftingQuadratic = self.problem  # type: ignore[assignment]
        return _drift(self.params, t0, length) + p.noise * self.stream.take(length)

    def grad_loss(
        self, theta: np.ndarray, data: np.ndarray, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        diff = theta - data[k]
        return self.a * diff, 0.5 * np.sum(self.a * diff * diff, axis=-1)

    def sup_gradient(self, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # |a_i (θ_i - c_i)| is largest at the end of [lo_i, hi_i] farthest from c_i
        w = self.a * np.maximum(np.abs(self.box.lower - data), np.abs(self.box.upper - data))
        return np.sqrt(np.sum(w * w, axis=-1)), np.max(w, axis=-1)

    def stats_at(self, data: np.ndarray, ks: Sequence[int]) -> list[Any]:
        out = []
        cum_c = np.cumsum(data, axis=0)
        cum_c2 = np.cumsum(data * data, axis=0)
        for k in ks:
            out.append((self.count + k + 1, self.sum_c + cum_c[k], self.sum_c2 + cum_c2[k]))
        self.count += data.shape[0]
        self.sum_c = self.sum_c + cum_c[-1]
        self.sum_c2 = self.sum_c2 + cum_c2[-1]
        return out

    def comparator(self, stats: Any) -> tuple[np.ndarray, np.ndarray]:
        n, s1, s2 = stats
        point = np.clip(s1 / n, self.box.lower, self.box.upper)
        value = 0.5 * np.sum(self.a * (n * point * point - 2.0 * point * s1 + s2), axis=-1)
        return value, point


# --------------------------------------------------------------------------
# Online logistic regression on real features
# --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class LogisticStream(Problem):
    """``f_t(θ) = log(1 + exp(-y_{n_t} ⟨x_{n_t}, θ⟩))`` with ``n_t`` uniform over N examples.

    ``features`` (N, d) and ``labels`` (N,) in {-1, +1} are fixed; the
    instances differ in their sample streams. Comparator: ``Σ_{t≤T} f_t`` =
    ``Σ_n c_n ℓ_n`` with the counts ``c_n`` of example n up to T, a smooth
    convex problem on the box, solved by projected Newton to a projected
    gradient below 1e-12 (relative to T) and checked against L-BFGS-B from
    several starts in the tests.
    """

    features: np.ndarray = field(default=None, metadata=DATA)  # type: ignore[assignment]
    labels: np.ndarray = field(default=None, metadata=DATA)  # type: ignore[assignment]

    @classmethod
    def instances_class(cls) -> type[Instances]:
        return _LogisticInstances

    def describe(self) -> dict[str, Any]:
        # a fingerprint of the data, so that stored results are not reused for other features
        digest = hashlib.sha256(np.ascontiguousarray(self.features).tobytes())
        digest.update(np.ascontiguousarray(self.labels).tobytes())
        return {
            **super().describe(),
            "examples": int(self.features.shape[0]),
            "data_sha256": digest.hexdigest()[:16],
        }


def _logistic_total(
    theta: np.ndarray, x: np.ndarray, y: np.ndarray, w: np.ndarray
) -> tuple[float, np.ndarray]:
    """``Σ_n w_n log(1+exp(-y_n x_n·θ))`` and its gradient."""
    z = y * (x @ theta)
    value = float(np.sum(w * np.logaddexp(0.0, -z)))
    grad = -(x.T @ (w * y * expit(-z)))
    return value, grad


def solve_logistic(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, box: Box, start: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    """``min_{θ∈box} Σ_n w_n log(1+exp(-y_n x_n·θ))`` (weights ``w ≥ 0``).

    Projected Newton (Bertsekas 1982): coordinates at a bound whose gradient
    pushes outward are held fixed, a Newton step is taken on the others and
    the projected path is searched with Armijo's rule, until the projected
    gradient is below ``1e-12`` relative to the weight total. Only examples
    with ``w_n > 0`` enter. L-BFGS-B is the fallback if Newton stalls.
    """
    total = float(np.sum(w))
    lo, hi = box.lower, box.upper
    if total == 0.0:
        return 0.0, np.clip(np.zeros(box.dim), lo, hi)
    keep = w > 0
    xk, yk, wk = x[keep], y[keep], w[keep] / total
    theta = np.clip(np.zeros(box.dim) if start is None else start, lo, hi)
    value, grad = _logistic_total(theta, xk, yk, wk)
    tol = 1e-12
    for _ in range(100):
        pg = theta - np.clip(theta - grad, lo, hi)  # projected gradient: 0 at a KKT point
        if np.max(np.abs(pg)) <= tol:
            break
        eps = min(1e-8, float(np.max(np.abs(pg))))
        fixed = ((theta <= lo + eps) & (grad > 0)) | ((theta >= hi - eps) & (grad < 0))
        free = ~fixed
        z = yk * (xk @ theta)
        curv = wk * expit(z) * expit(-z)
        direction = np.zeros(box.dim)
        if free.any():
            xf = xk[:, free]
            hess = xf.T @ (curv[:, None] * xf) + 1e-14 * np.eye(int(free.sum()))
            direction[free] = -np.linalg.solve(hess, grad[free])
        direction[fixed] = -grad[fixed]
        step = 1.0
        for _ in range(60):
            trial = np.clip(theta + step * direction, lo, hi)
            new_value, new_grad = _logistic_total(trial, xk, yk, wk)
            if new_value <= value + 1e-4 * float(grad @ (trial - theta)):
                break
            step *= 0.5
        else:
            theta = None  # type: ignore[assignment]
            break
        if np.array_equal(trial, theta):
            break
        theta, value, grad = trial, new_value, new_grad
    if theta is None or np.max(np.abs(theta - np.clip(theta - grad, lo, hi))) > 1e-9:
        res = minimize(
            _logistic_total,
            np.zeros(box.dim) if start is None else np.clip(start, lo, hi),
            args=(xk, yk, wk),
            jac=True,
            method="L-BFGS-B",
            bounds=list(zip(lo, hi, strict=True)),
            options={"ftol": 1e-15, "gtol": 1e-11, "maxiter": 2000, "maxcor": 30},
        )
        theta = np.clip(res.x, lo, hi)
    value, _ = _logistic_total(theta, x, y, w)
    return value, theta


class _LogisticInstances(SmoothInstances):
    def __init__(self, problem: LogisticStream, seeds: Sequence[int]) -> None:
        super().__init__(problem, seeds)
        self.x = np.asarray(problem.features, dtype=np.float64)
        self.y = np.asarray(problem.labels, dtype=np.float64)
        n = self.x.shape[0]
        self.stream = _Stream(self.rngs, lambda rng, m: rng.integers(0, n, m))
        self.counts = np.zeros((self.size, n))
        self.norm2 = np.linalg.norm(self.x, axis=1)
        self.norminf = np.max(np.abs(self.x), axis=1)
        self._last: list[np.ndarray | None] = [None] * self.size

    def draw(self, t0: int, length: int) -> dict[str, np.ndarray]:
        idx = self.stream.take(length)  # (L, B)
        return {"idx": idx, "x": self.x[idx], "y": self.y[idx]}

    def grad_loss(
        self, theta: np.ndarray, data: dict[str, np.ndarray], k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        x, y = data["x"][k], data["y"][k]  # (B, d), (B,)
        z = y * np.sum(theta * x, axis=-1)  # (A, B)
        grad = (-(y * expit(-z)))[..., None] * x
        return grad, np.logaddexp(0.0, -z)

    def sup_gradient(self, data: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        # ‖∇f‖ = σ(-y x·θ)‖x‖, largest where y x·θ is smallest over the box (at a corner)
        yx = data["y"][..., None] * data["x"]
        z_min = np.sum(np.minimum(yx * self.box.lower, yx * self.box.upper), axis=-1)
        s = expit(-z_min)
        idx = data["idx"]
        return s * self.norm2[idx], s * self.norminf[idx]

    def stats_at(self, data: dict[str, np.ndarray], ks: Sequence[int]) -> list[Any]:
        idx = data["idx"]
        out = []
        done = 0
        rows = np.arange(self.size)
        for k in ks:
            np.add.at(
                self.counts,
                (np.broadcast_to(rows, idx[done : k + 1].shape), idx[done : k + 1]),
                1.0,
            )
            done = k + 1
            out.append(self.counts.copy())
        np.add.at(self.counts, (np.broadcast_to(rows, idx[done:].shape), idx[done:]), 1.0)
        return out

    def comparator(self, stats: Any) -> tuple[np.ndarray, np.ndarray]:
        values = np.empty(self.size)
        points = np.empty((self.size, self.box.dim))
        for b in range(self.size):
            # warm start from this instance's previous horizon (the counts only grow)
            values[b], points[b] = solve_logistic(self.x, self.y, stats[b], self.box, self._last[b])
            self._last[b] = points[b]
        return values, points


# --------------------------------------------------------------------------
# Random convex least squares in d dimensions
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class RandomLeastSquares(Problem):
    """``f_t(θ) = ½(⟨a_t, θ⟩ - b_t)²`` with ``a_t = M u_t``, ``u_t`` uniform in ``[-√3, √3]^d``,
    ``M = Q diag(√s)`` (Q a random rotation, s log-uniform in ``[1/condition, 1]``) and
    ``b_t = ⟨a_t, θ°⟩ + σ ξ_t``, θ° uniform in ``[-spread, spread]^d`` (partly outside F).

    Comparator: ``Σ_t f_t(θ) = ½θᵀAθ - cᵀθ + ½s`` with ``A = Σ a aᵀ``,
    ``c = Σ b a``, ``s = Σ b²``; written as ``½‖Rθ - z‖² + const`` (R from the
    eigen-decomposition of A on its range) and minimised over the box by
    bounded-variable least squares (``scipy.optimize.lsq_linear``, BVLS, an
    exact active-set method).
    """

    condition: float = 30.0
    spread: float = 1.5
    noise: float = 0.5

    @classmethod
    def instances_class(cls) -> type[Instances]:
        return _LeastSquaresInstances

    gradient_bound_on_R_d: ClassVar[bool] = False  # quadratic: ‖∇f_t‖ grows with ‖θ‖


def solve_box_quadratic(
    A: np.ndarray, c: np.ndarray, s: float, box: Box
) -> tuple[float, np.ndarray]:
    """``min_{θ∈box} ½θᵀAθ - cᵀθ + ½s`` for PSD ``A`` with ``c`` in A's range (BVLS)."""
    lam, vec = np.linalg.eigh(A)
    keep = lam > 1e-12 * max(float(lam[-1]), 1e-300)
    if not np.any(keep):
        point = np.clip(np.zeros(box.dim), box.lower, box.upper)
        return 0.5 * s, point
    root = np.sqrt(lam[keep])
    R = root[:, None] * vec[:, keep].T
    z = (vec[:, keep].T @ c) / root
    res = lsq_linear(R, z, bounds=(box.lower, box.upper), method="bvls", tol=1e-14)
    point = np.clip(res.x, box.lower, box.upper)
    value = 0.5 * float(point @ A @ point) - float(c @ point) + 0.5 * s
    return value, point


class _LeastSquaresInstances(SmoothInstances):
    def __init__(self, problem: RandomLeastSquares, seeds: Sequence[int]) -> None:
        super().__init__(problem, seeds)
        d = self.box.dim
        mats, targets = [], []
        for rng in self.rngs:
            q, _ = np.linalg.qr(rng.standard_normal((d, d)))
            spectrum = np.exp(rng.uniform(-math.log(problem.condition), 0.0, d))
            mats.append(q * np.sqrt(spectrum)[None, :])
            targets.append(rng.uniform(-problem.spread, problem.spread, d))
        self.M = np.stack(mats)  # (B, d, d)
        self.target = np.stack(targets)  # (B, d)
        root3 = math.sqrt(3.0)
        self.stream = _Stream(
            self.rngs,
            lambda rng, n: np.concatenate(
                [rng.uniform(-root3, root3, (n, d)), rng.standard_normal((n, 1))], axis=1
            ),
        )
        self.A = np.zeros((self.size, d, d))
        self.c = np.zeros((self.size, d))
        self.s = np.zeros(self.size)

    def draw(self, t0: int, length: int) -> dict[str, np.ndarray]:
        p: RandomLeastSquares = self.problem  # type: ignore[assignment]
        raw = self.stream.take(length)  # (L, B, d+1)
        a = np.einsum("bij,lbj->lbi", self.M, raw[..., :-1])
        b = np.sum(a * self.target, axis=-1) + p.noise * raw[..., -1]
        return {"a": a, "b": b}

    def grad_loss(
        self, theta: np.ndarray, data: dict[str, np.ndarray], k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        a, b = data["a"][k], data["b"][k]
        r = np.sum(theta * a, axis=-1) - b  # (A, B)
        return r[..., None] * a, 0.5 * r * r

    def sup_gradient(self, data: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        a, b = data["a"], data["b"]
        lo = np.sum(np.minimum(a * self.box.lower, a * self.box.upper), axis=-1) - b
        hi = np.sum(np.maximum(a * self.box.lower, a * self.box.upper), axis=-1) - b
        r = np.maximum(np.abs(lo), np.abs(hi))
        return r * np.linalg.norm(a, axis=-1), r * np.max(np.abs(a), axis=-1)

    def stats_at(self, data: dict[str, np.ndarray], ks: Sequence[int]) -> list[Any]:
        a, b = data["a"], data["b"]
        out = []
        done = 0
        for k in [*ks, a.shape[0] - 1]:
            seg_a, seg_b = a[done : k + 1], b[done : k + 1]
            self.A = self.A + np.einsum("lbi,lbj->bij", seg_a, seg_a)
            self.c = self.c + np.einsum("lb,lbi->bi", seg_b, seg_a)
            self.s = self.s + np.sum(seg_b * seg_b, axis=0)
            done = k + 1
            out.append((self.A.copy(), self.c.copy(), self.s.copy()))
        return out[: len(ks)]

    def comparator(self, stats: Any) -> tuple[np.ndarray, np.ndarray]:
        A, c, s = stats
        values = np.empty(self.size)
        points = np.empty((self.size, self.box.dim))
        for b in range(self.size):
            values[b], points[b] = solve_box_quadratic(A[b], c[b], float(s[b]), self.box)
        return values, points
