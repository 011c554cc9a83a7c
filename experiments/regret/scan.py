"""Recurrences along the time axis, vectorised over a chunk of steps.

On linear losses ``f_t(θ) = ⟨g_t, θ⟩`` the gradients do not depend on the
iterate (Reddi et al. 2018, §3; paper 000 §3.2 works in the same online
framework of Zinkevich 2003), so every optimizer state of this package —
moments, norm EMA, running maxima — is a function of the gradient sequence
alone, and only the projection couples the steps to the iterates. Each of
these is a first-order recurrence over time, and all of them are associative
scans; this module evaluates them for a whole chunk of ``L`` steps at once
(axis 0 is time, the other axes are instances × coordinates) with a carry
from the previous chunk.

Two-level ("blocked") scans: the chunk is cut into blocks of ``K`` steps;
a Python loop of K iterations runs the recurrence inside every block at once
(vectorised over blocks), a loop over the blocks passes the carries, and a
last vectorised pass adds each block's carry. The Python-level work is
``O(K + L/K)`` instead of ``O(L)``; the arithmetic differs from the
step-by-step loop only in rounding (tested to 1e-12 in
``tests/test_regret_algorithms.py``).
"""

from __future__ import annotations

import math

import numpy as np


def _block_size(length: int) -> int:
    # √L balances the two Python loops (K inside the blocks, L/K across them).
    return max(8, math.isqrt(max(length, 1)))


def ema(beta: float, x: np.ndarray, x0: np.ndarray) -> np.ndarray:
    """``y_t = β y_{t-1} + (1-β) x_t`` along axis 0 with ``y_{-1} = x0``.

    A :func:`linear_recurrence` with constant coefficient. On the sequential
    path (short chunks, and every ``L = 1`` step) it performs exactly the
    reference's ``β·y + (1-β)·x``, bit for bit.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.shape[0] == 1:  # the per-step path: skip the scan's set-up
        x0 = np.asarray(x0, dtype=np.float64)
        return (beta * x0 + (1.0 - beta) * x[0])[None]
    return linear_recurrence(np.full((1,) * x.ndim, beta), (1.0 - beta) * x, x0)


def linear_recurrence(a: np.ndarray, b: np.ndarray, x0: np.ndarray) -> np.ndarray:
    """``x_t = a_t x_{t-1} + b_t`` along axis 0 with ``x_{-1}= x0`` (``a`` broadcasts to ``b``).

    Used for the first moment with the decaying ``β_{1,t} = β1 λ^{t-1}`` of
    paper 000 Theorem 1 (a time-varying coefficient, so not an LTI filter).
    No division appears (the prefix products of ``a`` multiply the carry),
    so ``a_t = 0`` is fine. ``a`` keeps its own (broadcastable) shape, e.g.
    ``(L, 1, 1)`` for a coefficient shared by all instances.
    """
    b = np.asarray(b, dtype=np.float64)
    length = b.shape[0]
    a = np.asarray(a, dtype=np.float64)
    if a.ndim < b.ndim:
        a = a.reshape((1,) * (b.ndim - a.ndim) + a.shape)
    if a.shape[0] != length:
        a = np.broadcast_to(a, (length, *a.shape[1:]))
    x0 = np.broadcast_to(np.asarray(x0, dtype=np.float64), b.shape[1:])
    block = _block_size(length)
    if length <= block:
        out = np.empty_like(b)
        x = x0
        for k in range(length):
            x = a[k] * x + b[k]
            out[k] = x
        return out
    n_blocks = -(-length // block)
    pad = n_blocks * block - length
    if pad:
        # identity steps (a = 1, b = 0) fill the last block
        a = np.concatenate([a, np.ones((pad, *a.shape[1:]))])
        b = np.concatenate([b, np.zeros((pad, *b.shape[1:]))])
    # layout (position in block, block, ...): every slice [k] below is contiguous
    a_r = np.ascontiguousarray(np.swapaxes(a.reshape(n_blocks, block, *a.shape[1:]), 0, 1))
    local = np.ascontiguousarray(np.swapaxes(b.reshape(n_blocks, block, *b.shape[1:]), 0, 1))
    prod = np.empty_like(a_r)
    prod[0] = a_r[0]
    for k in range(1, block):
        # local[k] = a_k local[k-1] + b_k, in place (local[k] holds b_k on entry)
        local[k] += a_r[k] * local[k - 1]
        np.multiply(prod[k - 1], a_r[k], out=prod[k])
    carry_in = np.empty((n_blocks, *b.shape[1:]))
    x = x0
    for j in range(n_blocks):
        carry_in[j] = x
        x = prod[-1, j] * x + local[-1, j]
    local += prod * carry_in[None]
    out = np.swapaxes(local, 0, 1).reshape(n_blocks * block, *b.shape[1:])
    return out[:length]


def running_max(x: np.ndarray, x0: np.ndarray) -> np.ndarray:
    """``y_t = max(y_{t-1}, x_t)`` along axis 0 with ``y_{-1} = x0`` (AMSGrad's v̂, Reddi Alg. 2)."""
    x = np.asarray(x, dtype=np.float64)
    return np.maximum(np.maximum.accumulate(x, axis=0), x0)


def projected_path(
    theta0: np.ndarray, displacement: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Iterates of ``θ_{t+1} = clip(θ_t - Δ_t, lower, upper)`` for a chunk of L steps.

    Returns ``(played, last)``: ``played[k]`` is θ before step k of the chunk
    (the point at which loss k is evaluated) and ``last`` is θ after the chunk.

    The maps ``x ↦ clip(x + c, lo, hi)`` are closed under composition:
    ``clip(clip(x + C, A, B) + c, lo, hi) = clip(x + C + c, clip(A + c, lo, hi),
    clip(B + c, lo, hi))`` (both sides are the same monotone piecewise-linear
    function of x), so the prefix compositions form an associative scan.
    """
    disp = np.asarray(displacement, dtype=np.float64)
    length = disp.shape[0]
    shape = disp.shape[1:]
    theta0 = np.broadcast_to(np.asarray(theta0, dtype=np.float64), shape)
    lo = np.broadcast_to(np.asarray(lower, dtype=np.float64), shape)
    hi = np.broadcast_to(np.asarray(upper, dtype=np.float64), shape)
    block = _block_size(length)
    if length <= block:
        played = np.empty_like(disp)
        x = theta0
        for k in range(length):
            played[k] = x
            x = np.minimum(np.maximum(x - disp[k], lo), hi)
        return played, np.array(x)
    n_blocks = -(-length // block)
    pad = n_blocks * block - length
    c = -disp
    if pad:
        c = np.concatenate([c, np.zeros((pad, *shape))])
    # layout (position in block, block, ...) so that every slice [k] is contiguous.
    # Prefix maps inside each block as (shift, floor, ceiling): after k+1 steps from x the
    # iterate is clip(x + shift_k, floor_k, ceiling_k); one map gives (c_0, lo, hi).
    shifts = np.ascontiguousarray(np.swapaxes(c.reshape(n_blocks, block, *shape), 0, 1))
    lo_b = np.broadcast_to(lo, (n_blocks, *shape))
    hi_b = np.broadcast_to(hi, (n_blocks, *shape))
    floors = np.empty_like(shifts)
    ceils = np.empty_like(shifts)
    floors[0] = lo_b
    ceils[0] = hi_b
    for k in range(1, block):
        ck = shifts[k]  # c_k on entry, replaced by the prefix shift below
        np.add(floors[k - 1], ck, out=floors[k])
        np.maximum(floors[k], lo_b, out=floors[k])
        np.minimum(floors[k], hi_b, out=floors[k])
        np.add(ceils[k - 1], ck, out=ceils[k])
        np.maximum(ceils[k], lo_b, out=ceils[k])
        np.minimum(ceils[k], hi_b, out=ceils[k])
        ck += shifts[k - 1]
    starts = np.empty((n_blocks, *shape))
    x = theta0
    for j in range(n_blocks):
        starts[j] = x
        x = np.minimum(np.maximum(x + shifts[-1, j], floors[-1, j]), ceils[-1, j])
    shifts += starts[None]
    np.maximum(shifts, floors, out=shifts)
    np.minimum(shifts, ceils, out=shifts)
    after = np.swapaxes(shifts, 0, 1).reshape(n_blocks * block, *shape)[:length]
    played = np.empty_like(disp)
    played[0] = theta0
    played[1:] = after[:-1]
    return played, np.array(after[-1])
