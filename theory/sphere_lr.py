"""AdaRem-S's sphere learning rate (paper 002 §3.4.1) and the scale-invariance facts behind it.

Scale invariance (§3.4, after Li & Arora 2019): if ``L(cθ) = L(θ)`` for all
c > 0 then (1) ``⟨∇L(θ), θ⟩ = 0`` and (2) ``∇L(θ) = c ∇L(cθ)``.

SLR: a network B in Euclidean space and its copy A on the sphere with
``OB = α_t OA``; by (2) ``g_A = α_t g_B``. For the updated points to stay on
one ray (similar triangles, ``BB' = α_t AA'``) the paper requires
``η'_t g_B = α_t η_t g_A`` and obtains ``η_t = η'_t/α_t²``.

:func:`symbolic_checks` solves the ray condition for η and shows that with
this rate ``B' = α_t A'`` exactly, and that no other rate keeps the two
updates on one ray. :func:`numeric_check` runs plain SGD (with and without
weight decay) in Euclidean space and spherical SGD with the SLR rate on a
concrete scale-invariant loss and compares the directions step by step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp


def symbolic_checks() -> dict[str, object]:
    """Solve the SLR relation; verify ``B' = α A'`` and that the ray condition forces it.

    Work in the plane of A and g_A (``g_A ⊥ A`` by fact (1)): A = (r, 0),
    g_A = (0, γ). B = αA and ``g_B = g_A/α`` (fact (2) with c = α).
    """
    alpha_t, eta_t, eta_p, r, grad = sp.symbols("alpha_t eta_t eta_prime r gamma_g", positive=True)
    A = sp.Matrix([r, 0])
    gA = sp.Matrix([0, grad])
    B = alpha_t * A
    gB = gA / alpha_t
    relation = sp.solve(sp.Eq(eta_p * gB[1], alpha_t * eta_t * gA[1]), eta_t)
    A_new = A - eta_t * gA
    B_new = B - eta_p * gB
    # B' ∥ A' ⇔ the 2-D cross product vanishes
    cross = sp.simplify(B_new[0] * A_new[1] - B_new[1] * A_new[0])
    ray_solution = sp.solve(sp.Eq(cross, 0), eta_t)
    exact = sp.simplify((B_new - alpha_t * A_new).subs(eta_t, eta_p / alpha_t**2))
    return {
        "eta_from_paper_relation": relation,
        "ray_condition_cross": sp.factor(cross),
        "eta_from_ray_condition": ray_solution,
        "B_new_minus_alpha_A_new_with_slr": list(exact),
    }


def _loss_and_grad(theta: np.ndarray, M: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """A scale-invariant loss ``L(θ) = ½‖M θ/‖θ‖ - y‖²`` and its exact gradient.

    With ``w = θ/‖θ‖``: ``∇L = (I - w wᵀ) Mᵀ(Mw - y) / ‖θ‖``.
    """
    n = float(np.linalg.norm(theta))
    w = theta / n
    resid = M @ w - y
    gw = M.T @ resid
    return 0.5 * float(resid @ resid), (gw - w * float(w @ gw)) / n


@dataclass(frozen=True)
class SphereRun:
    """Agreement between Euclidean SGD and spherical SGD with the SLR rate."""

    steps: int
    weight_decay: float
    max_direction_gap: float  # max_t ‖B_t/‖B_t‖ - A_t/R‖ with η_t = η'/α_t²
    max_direction_gap_decay_adjusted: float  # with η_t = η'/(α_t²(1 - η'·wd))
    max_direction_gap_without_slr: float  # with η_t = η' (no 1/α² correction)
    max_orthogonality: float  # max_t |⟨∇L(B), B⟩| / (‖∇L‖‖B‖)
    max_homogeneity_gap: float  # max_t ‖∇L(B) - c∇L(cB)‖ / ‖∇L(B)‖, c drawn in [0.1, 10]


def numeric_check(
    steps: int = 200, dim: int = 6, seed: int = 0, weight_decay: float = 0.0
) -> SphereRun:
    """Euclidean SGD (``B ← B - η'(∇L(B) + wd·B)``) vs sphere SGD (``A ← R·(A - η_t∇L(A))/‖·‖``).

    ``α_t = ‖B_t‖/R``. Three sphere runs: the paper's ``η_t = η'/α_t²``; the
    same divided by ``(1 - η'·wd)`` — with weight decay, B is first shrunk to
    ``(1-η'wd)B`` while its gradient is still ``∇L(B)``, which turns the
    equivalent rate into ``η'/(α_t²(1-η'wd))`` (the exponential schedule of
    Li & Arora that the paper uses to replace weight decay); and ``η_t = η'``.
    """
    rng = np.random.default_rng(seed)
    M = rng.normal(size=(dim + 2, dim))
    y = rng.normal(size=dim + 2)
    radius = 1.0
    B = rng.normal(size=dim) * 3.0
    A = radius * B / np.linalg.norm(B)
    A_wd = A.copy()
    A_plain = A.copy()
    eta_p = 0.05
    gap = gap_wd = gap_plain = ortho = homog = 0.0
    for _ in range(steps):
        alpha_t = float(np.linalg.norm(B)) / radius
        _, gB = _loss_and_grad(B, M, y)
        scale = float(np.exp(rng.uniform(np.log(0.1), np.log(10.0))))
        _, gcB = _loss_and_grad(scale * B, M, y)
        ortho = max(ortho, abs(float(gB @ B)) / (np.linalg.norm(gB) * np.linalg.norm(B)))
        homog = max(homog, float(np.linalg.norm(gB - scale * gcB)) / float(np.linalg.norm(gB)))
        B = B - eta_p * (gB + weight_decay * B)
        for which in ("slr", "wd", "plain"):
            cur = {"slr": A, "wd": A_wd, "plain": A_plain}[which]
            rate = {
                "slr": eta_p / alpha_t**2,
                "wd": eta_p / (alpha_t**2 * (1.0 - eta_p * weight_decay)),
                "plain": eta_p,
            }[which]
            _, g_cur = _loss_and_grad(cur, M, y)
            nxt = cur - rate * g_cur
            nxt = radius * nxt / np.linalg.norm(nxt)
            if which == "slr":
                A = nxt
            elif which == "wd":
                A_wd = nxt
            else:
                A_plain = nxt
        direction = B / np.linalg.norm(B)
        gap = max(gap, float(np.linalg.norm(direction - A / radius)))
        gap_wd = max(gap_wd, float(np.linalg.norm(direction - A_wd / radius)))
        gap_plain = max(gap_plain, float(np.linalg.norm(direction - A_plain / radius)))
    return SphereRun(steps, weight_decay, gap, gap_wd, gap_plain, float(ortho), homog)
