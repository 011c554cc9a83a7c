"""Run every arm on a batch of instances of one problem and record what the bounds need.

Linear problems (Reddi et al. 2018 §3, §5; the drifting linear family) are
advanced in chunks of many steps: the gradients are generated for the chunk,
every arm's displacements come from its vectorised recurrences and the
projected iterates from the clamp scan of :mod:`experiments.regret.scan`.
Other problems are stepped one t at a time, all arms and instances at once.

At every horizon of a log-spaced grid the runner records, per arm and
instance: the cumulative loss ``Σ_{t≤T} f_t(θ_t)`` and the comparator
``min_{θ∈F} Σ_{t≤T} f_t(θ)`` (so ``R(T)``), the bounds' measured inputs —
``v̂_T`` per coordinate, ``Σ_{t≤T} g²_{t,i}`` (so ``‖g_{1:T,i}‖₂``), the gradient
bounds ``G = max_t sup_F ‖∇f_t‖₂`` and ``G∞`` (and their values at the
iterates), the L∞ and L2 extent of the iterates so far, AdamNorm's
``max_t e_t`` and ``max_t e_t/‖g_t‖₂`` (Lemma 1's assumptions) — and the iterate
of instance 0 (trajectory plots).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from experiments.regret.algorithms import OnlineAlgorithm
from experiments.regret.problems import (
    LinearInstances,
    Problem,
    SmoothInstances,
    linear_comparator,
)
from experiments.regret.scan import projected_path

#: elements (steps × instances × d) per chunk of the linear path: ~2 MB per float64 array
CHUNK_ELEMENTS = 1 << 18
#: steps per data chunk of the step-by-step path
SMOOTH_CHUNK = 2048


@dataclass(frozen=True)
class Arm:
    """One optimizer with fixed hyperparameters, under a label used in tables and plots."""

    label: str
    algorithm: OnlineAlgorithm


def horizon_grid(T: int, per_decade: int = 20) -> np.ndarray:
    """Integer horizons 1..T, log-spaced with ``per_decade`` points per decade, T included."""
    n = max(2, int(np.ceil(np.log10(max(T, 2)) * per_decade)) + 1)
    grid = np.unique(np.round(np.logspace(0.0, np.log10(T), n)).astype(np.int64))
    return np.unique(np.append(grid[(grid >= 1) & (grid <= T)], T))


@dataclass
class RawRun:
    """What :func:`run_problem` records (A arms, B instances, H horizons, d coordinates)."""

    labels: list[str]
    seeds: list[int]
    horizons: np.ndarray  # (H,)
    cumloss: np.ndarray  # (A, B, H)
    best: np.ndarray  # (B, H)
    best_point: np.ndarray  # (B, H, d)
    theta: np.ndarray  # (A, B, H, d) iterate θ_T played at step T
    sumsq: np.ndarray  # (A, B, H, d) Σ_{t≤T} g²_{t,i}
    vhat: np.ndarray  # (A, B, H, d) v̂_T (NaN for arms without one)
    G_sup: np.ndarray  # (B, H) max_{t≤T} sup_F ‖∇f_t‖₂
    Ginf_sup: np.ndarray  # (B, H) max_{t≤T} sup_F ‖∇f_t‖∞
    G_iter: np.ndarray  # (A, B, H) max_{t≤T} ‖g_t‖₂ at the iterates
    Ginf_iter: np.ndarray  # (A, B, H)
    extent_inf: np.ndarray  # (A, B, H) max_i (max_t θ_{t,i} - min_t θ_{t,i})
    extent_2: np.ndarray  # (A, B, H) ‖max_t θ_t - min_t θ_t‖₂ (≥ the L2 diameter of the iterates)
    e_max: np.ndarray  # (A, B, H) max_t e_t (NaN for arms without the norm correction)
    ratio_max: np.ndarray  # (A, B, H) max_t e_t/‖g_t‖₂
    seconds: float = 0.0
    steps_x_instances: float = 0.0

    @property
    def regret(self) -> np.ndarray:
        """``R(T)`` (A, B, H)."""
        return self.cumloss - self.best[None]


def _allocate(A: int, B: int, H: int, d: int) -> dict[str, np.ndarray]:
    nan = np.nan
    return {
        "cumloss": np.zeros((A, B, H)),
        "best": np.zeros((B, H)),
        "best_point": np.zeros((B, H, d)),
        "theta": np.zeros((A, B, H, d)),
        "sumsq": np.zeros((A, B, H, d)),
        "vhat": np.full((A, B, H, d), nan),
        "G_sup": np.zeros((B, H)),
        "Ginf_sup": np.zeros((B, H)),
        "G_iter": np.zeros((A, B, H)),
        "Ginf_iter": np.zeros((A, B, H)),
        "extent_inf": np.zeros((A, B, H)),
        "extent_2": np.zeros((A, B, H)),
        "e_max": np.full((A, B, H), nan),
        "ratio_max": np.full((A, B, H), nan),
    }


def _ratio(e: np.ndarray, norm: np.ndarray) -> np.ndarray:
    """``e_t/‖g_t‖₂``, with 0 where ‖g_t‖ = 0 and e_t = 0 and +inf where only ‖g_t‖ = 0."""
    out = np.where(e > 0.0, np.inf, 0.0)
    np.divide(e, norm, out=out, where=norm > 0.0)
    return out


def run_problem(
    problem: Problem,
    arms: Sequence[Arm],
    T: int,
    seeds: Sequence[int],
    progress: Callable[[int], None] | None = None,
    per_decade: int = 20,
) -> RawRun:
    """Run ``arms`` on instances ``seeds`` of ``problem`` for T steps (``progress(steps_done)``)."""
    start = time.perf_counter()
    instances = problem.instances(seeds)
    horizons = horizon_grid(T, per_decade)
    A, B, d = len(arms), instances.size, problem.box.dim
    rec = _allocate(A, B, len(horizons), d)
    for arm in arms:
        arm.algorithm.reset(B, d)
    if isinstance(instances, LinearInstances):
        _run_linear(instances, arms, T, horizons, rec, progress)
    else:
        assert isinstance(instances, SmoothInstances)
        _run_smooth(instances, arms, T, horizons, rec, progress)
    seconds = time.perf_counter() - start
    return RawRun(
        labels=[arm.label for arm in arms],
        seeds=list(instances.seeds),
        horizons=horizons,
        seconds=seconds,
        steps_x_instances=float(T) * B,
        **rec,
    )


class _Carry:
    """Per-arm running quantities across chunks."""

    def __init__(self, A: int, B: int, d: int, theta0: np.ndarray) -> None:
        self.theta = np.broadcast_to(theta0, (A, B, d)).copy()
        self.cumloss = np.zeros((A, B))
        self.sumsq = np.zeros((A, B, d))
        self.G = np.zeros((A, B))
        self.Ginf = np.zeros((A, B))
        self.lo = self.theta.copy()
        self.hi = self.theta.copy()
        self.e_max = np.zeros((A, B))
        self.ratio_max = np.zeros((A, B))


def _record_horizons(horizons: np.ndarray, t0: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Grid indices and chunk offsets of the horizons inside ``[t0, t0+length)``."""
    sel = np.flatnonzero((horizons >= t0) & (horizons < t0 + length))
    return sel, horizons[sel] - t0


def _prefix_at(
    op: np.ufunc, x: np.ndarray, ks: np.ndarray, carry: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Running ``op`` (add, maximum, minimum) of ``x`` along axis 0 from ``carry``, at rows ``ks``
    and at the last row — by segment reductions, without materialising the whole prefix."""
    length = x.shape[0]
    starts = np.concatenate([[0], ks[ks + 1 < length] + 1]).astype(np.intp)
    acc = op.accumulate(op.reduceat(x, starts, axis=0), axis=0)
    acc = op(acc, carry)
    return acc[: ks.size], acc[-1]


def _run_linear(
    inst: LinearInstances,
    arms: Sequence[Arm],
    T: int,
    horizons: np.ndarray,
    rec: dict[str, np.ndarray],
    progress: Callable[[int], None] | None,
) -> None:
    box = inst.box
    A, B, d = len(arms), inst.size, box.dim
    chunk = max(64, CHUNK_ELEMENTS // (B * d))
    carry = _Carry(A, B, d, inst.theta0)
    summed = np.zeros((B, d))
    g_sup = np.zeros(B)
    ginf_sup = np.zeros(B)
    sumsq = np.zeros((B, d))
    t0 = 1
    while t0 <= T:
        length = min(chunk, T - t0 + 1)
        g = inst.gradients(t0, length)  # (L, B, d)
        sel, ks = _record_horizons(horizons, t0, length)
        # quantities of the gradient sequence alone (shared by every arm on linear losses)
        cum_g, summed = _prefix_at(np.add, g, ks, summed)
        run_g, g_sup = _prefix_at(np.maximum, np.sqrt(np.sum(g * g, axis=-1)), ks, g_sup)
        run_ginf, ginf_sup = _prefix_at(np.maximum, np.max(np.abs(g), axis=-1), ks, ginf_sup)
        cum_sq, sumsq = _prefix_at(np.add, g * g, ks, sumsq)
        if sel.size:
            value, point = linear_comparator(cum_g, box)  # (n, B), (n, B, d)
            rec["best"][:, sel] = value.T
            rec["best_point"][:, sel] = point.transpose(1, 0, 2)
            rec["G_sup"][:, sel] = run_g.T
            rec["Ginf_sup"][:, sel] = run_ginf.T
        for a, arm in enumerate(arms):
            delta, diag = arm.algorithm.advance(g, t0)
            played, last = projected_path(carry.theta[a], delta, box.lower, box.upper)
            loss = np.sum(g * played, axis=-1)  # (L, B)
            cum_loss, carry.cumloss[a] = _prefix_at(np.add, loss, ks, carry.cumloss[a])
            lo, carry.lo[a] = _prefix_at(np.minimum, played, ks, carry.lo[a])
            hi, carry.hi[a] = _prefix_at(np.maximum, played, ks, carry.hi[a])
            if "e" in diag:
                e = diag["e"][..., 0]
                run_e, carry.e_max[a] = _prefix_at(np.maximum, e, ks, carry.e_max[a])
                run_r, carry.ratio_max[a] = _prefix_at(
                    np.maximum, _ratio(e, diag["gnorm"][..., 0]), ks, carry.ratio_max[a]
                )
            if sel.size:
                rec["cumloss"][a][:, sel] = cum_loss.T
                rec["theta"][a][:, sel] = played[ks].transpose(1, 0, 2)
                rec["sumsq"][a][:, sel] = cum_sq.transpose(1, 0, 2)
                rec["G_iter"][a][:, sel] = run_g.T
                rec["Ginf_iter"][a][:, sel] = run_ginf.T
                span = hi - lo
                rec["extent_inf"][a][:, sel] = np.max(span, axis=-1).T
                rec["extent_2"][a][:, sel] = np.sqrt(np.sum(span * span, axis=-1)).T
                if "vhat" in diag:
                    rec["vhat"][a][:, sel] = diag["vhat"][ks].transpose(1, 0, 2)
                if "e" in diag:
                    rec["e_max"][a][:, sel] = run_e.T
                    rec["ratio_max"][a][:, sel] = run_r.T
            carry.theta[a] = last
        t0 += length
        if progress is not None:
            progress(length)


def _run_smooth(
    inst: SmoothInstances,
    arms: Sequence[Arm],
    T: int,
    horizons: np.ndarray,
    rec: dict[str, np.ndarray],
    progress: Callable[[int], None] | None,
) -> None:
    box = inst.box
    A, B, d = len(arms), inst.size, box.dim
    carry = _Carry(A, B, d, inst.theta0)
    theta = carry.theta  # (A, B, d), updated in place
    g_sup = np.zeros(B)
    ginf_sup = np.zeros(B)
    has_vhat = np.zeros(A, dtype=bool)
    vhat_now = np.full((A, B, d), np.nan)
    stats_list = []
    sel_all = []
    t0 = 1
    while t0 <= T:
        length = min(SMOOTH_CHUNK, T - t0 + 1)
        data = inst.draw(t0, length)
        sup2, supinf = inst.sup_gradient(data)  # (L, B)
        run_g = np.maximum(np.maximum.accumulate(sup2, axis=0), g_sup)
        run_ginf = np.maximum(np.maximum.accumulate(supinf, axis=0), ginf_sup)
        sel, ks = _record_horizons(horizons, t0, length)
        stats_list.extend(inst.stats_at(data, [int(k) for k in ks]))
        sel_all.extend(int(s) for s in sel)
        if sel.size:
            rec["G_sup"][:, sel] = run_g[ks].T
            rec["Ginf_sup"][:, sel] = run_ginf[ks].T
        next_sel = 0
        for k in range(length):
            t = t0 + k
            grad, loss = inst.grad_loss(theta, data, k)  # (A, B, d), (A, B)
            carry.cumloss += loss
            carry.sumsq += grad * grad
            np.maximum(carry.G, np.sqrt(np.sum(grad * grad, axis=-1)), out=carry.G)
            np.maximum(carry.Ginf, np.max(np.abs(grad), axis=-1), out=carry.Ginf)
            np.minimum(carry.lo, theta, out=carry.lo)
            np.maximum(carry.hi, theta, out=carry.hi)
            at_horizon = next_sel < sel.size and ks[next_sel] == k
            if at_horizon:
                h = sel[next_sel]
                rec["cumloss"][:, :, h] = carry.cumloss
                rec["theta"][:, :, h] = theta
                rec["sumsq"][:, :, h] = carry.sumsq
                rec["G_iter"][:, :, h] = carry.G
                rec["Ginf_iter"][:, :, h] = carry.Ginf
                span = carry.hi - carry.lo
                rec["extent_inf"][:, :, h] = np.max(span, axis=-1)
                rec["extent_2"][:, :, h] = np.sqrt(np.sum(span * span, axis=-1))
            for a, arm in enumerate(arms):
                delta, diag = arm.algorithm.advance_one(grad[a], t)
                np.subtract(theta[a], delta, out=theta[a])
                np.maximum(theta[a], box.lower, out=theta[a])
                np.minimum(theta[a], box.upper, out=theta[a])
                if "vhat" in diag:
                    has_vhat[a] = True
                    vhat_now[a] = diag["vhat"]
                if "e" in diag:
                    e = diag["e"][:, 0]
                    np.maximum(carry.e_max[a], e, out=carry.e_max[a])
                    np.maximum(
                        carry.ratio_max[a], _ratio(e, diag["gnorm"][:, 0]), out=carry.ratio_max[a]
                    )
                    if at_horizon:
                        rec["e_max"][a, :, h] = carry.e_max[a]
                        rec["ratio_max"][a, :, h] = carry.ratio_max[a]
            if at_horizon:
                rec["vhat"][has_vhat, :, h] = vhat_now[has_vhat]
                next_sel += 1
        g_sup, ginf_sup = run_g[-1], run_ginf[-1]
        t0 += length
        if progress is not None:
            progress(length)
    # comparators at every horizon, after the run (the statistics were kept in order)
    for h, stats in zip(sel_all, stats_list, strict=True):
        value, point = inst.comparator(stats)
        rec["best"][:, h] = value
        rec["best_point"][:, h] = point
