"""The online convex framework of the regret theorems, for linear losses on a box.

Paper 000 §3.2 (after Zinkevich 2003, its ref. [33]) and paper 002 §3.1
(after Reddi et al. 2018): at step t the player holds θ_t, the adversary
reveals f_t, and the regret is ``R(T) = Σ_t f_t(θ_t) - min_θ Σ_t f_t(θ)``.
With linear losses ``f_t(θ) = ⟨g_t, θ⟩`` the gradients do not depend on θ,
so an optimizer's steps can be computed first and only the projection is
sequential. For a box and a diagonal preconditioner the projection
``Π_{F, diag}`` is coordinatewise clipping.
"""

from __future__ import annotations

import numpy as np


def projected_run(steps: np.ndarray, lower: float, upper: float, theta0: np.ndarray) -> np.ndarray:
    """Iterates ``θ_1 .. θ_T`` of ``θ_{t+1} = clip(θ_t - step_t, lower, upper)``.

    Row t of the result is the point at which loss t is evaluated. The loop
    runs over Python floats: it is the only sequential part and a NumPy call
    per step would cost more than the arithmetic.
    """
    T, dim = steps.shape
    theta = [float(x) for x in theta0]
    cols = [steps[:, i].tolist() for i in range(dim)]
    rows = np.empty((T, dim))
    hist = [[0.0] * T for _ in range(dim)]
    for i in range(dim):
        x = theta[i]
        col = cols[i]
        h = hist[i]
        for idx in range(T):
            h[idx] = x
            x = x - col[idx]
            x = lower if x < lower else (upper if x > upper else x)
    for i in range(dim):
        rows[:, i] = hist[i]
    return rows


def linear_regret_curve(
    grads: np.ndarray, iterates: np.ndarray, lower: float, upper: float
) -> np.ndarray:
    """``R(T)`` for every prefix T of linear losses on the box ``[lower, upper]^d``.

    The best fixed point sits at a corner chosen coordinatewise by the sign of
    the summed gradient, so ``min_θ Σ_t ⟨g_t, θ⟩ = Σ_i min(S_i·lower, S_i·upper)``.
    """
    played = np.cumsum(np.sum(grads * iterates, axis=1))
    summed = np.cumsum(grads, axis=0)
    best = np.sum(np.minimum(summed * lower, summed * upper), axis=1)
    return played - best


def best_point(grads: np.ndarray, lower: float, upper: float) -> np.ndarray:
    """The minimiser over the box of ``Σ_t ⟨g_t, θ⟩`` (lower corner where the sum is ≥ 0)."""
    summed = np.sum(grads, axis=0)
    return np.where(summed >= 0.0, lower, upper)
