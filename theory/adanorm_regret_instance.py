"""A concrete online-convex instance on which AdamNorm's regret exceeds its stated bound.

Reddi et al. (2018, "On the convergence of Adam and beyond", Thm. 1) give
linear losses on F = [-1, 1] — gradient C on steps t ≡ 1 (mod 3), -1
otherwise, C > 2 — on which Adam with β1 = 0, β2 = 1/(1+C²) drifts to
θ = +1 while the best point is -1, so the regret grows linearly.

Here the sequence is embedded in two coordinates so that every gradient has
the same norm C: ``g_t = (C, 0)`` or ``(-1, √(C²-1))``. Then
``e_t = (1-γ^t) C < C = ‖g_t‖``, the correction never fires for any γ, AdamNorm
is Adam, and Lemma 1's assumptions hold with the natural bounds
``G = G∞ = C`` (``e_t ≤ G∞`` and ``e_t/‖g_t‖ < 1 = G∞/G``). All of Theorem 1's
hypotheses hold as well: β1 = 0 so β1,t = 0 and η = 0 < 1, α_t = α/√t, and the
iterates stay in F (D = 2√2, D∞ = 2). Coordinates are independent in Adam, so
coordinate 1 repeats Reddi's run, and the regret, linear in T, passes the
O(√T) bound at a finite horizon. The run is the theorem's algorithm with the
projection of the online framework (paper 000 ref. [33]); ε = 0 as in the proof.

The original one-coordinate sequence (correction active for γ > 0) is
available too; there only the theorem's own assumptions hold (G = G∞ = C),
Lemma 1's ``e_t/‖g_t‖ ≤ G∞/G`` would need G∞ > G.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from theory.bounds import adamnorm_regret_bound_terms
from theory.online import linear_regret_curve, projected_run
from theory.reference_adamnorm import adamnorm_trace_fast


def reddi_sequence(C: float, T: int, embed: bool = True) -> np.ndarray:
    """The gradient sequence, shape (T, 2) when embedded (constant norm C), else (T, 1)."""
    steps = np.arange(1, T + 1)
    big = steps % 3 == 1
    first = np.where(big, C, -1.0)
    if not embed:
        return first[:, None]
    second = np.where(big, 0.0, math.sqrt(C * C - 1.0))
    return np.stack([first, second], axis=1)


@dataclass(frozen=True)
class InstanceResult:
    """Regret against the bound over horizons 1..T."""

    version: str
    C: float
    alpha: float
    beta2: float
    gamma: float
    lam: float
    embed: bool
    T: int
    correction_steps: int
    lemma1_assumptions_hold: bool
    first_violation_T: int | None
    violated_from_T: int | None  # every horizon from here to T is violated
    violated_fraction_after_first: float
    regret_at_first: float | None
    bound_at_first: float | None
    regret_at_T: float
    bound_at_T: float
    bound_terms_at_T: dict[str, float]
    final_iterate: list[float]

    def violated(self) -> bool:
        """Whether the regret exceeds the bound at some horizon."""
        return self.first_violation_T is not None


def run_instance(
    C: float,
    alpha: float,
    T: int,
    version: str,
    gamma: float = 0.95,
    lam: float = 1e-3,
    embed: bool = True,
) -> InstanceResult:
    """AdamNorm (β1 = 0, β2 = 1/(1+C²), ε = 0) on the instance: regret vs bound at every horizon.

    ``lam`` only enters the bound (β1 = 0 makes β1,t = 0 whatever λ); the
    theorem claims the bound for every λ in (0, 1), and it grows with λ.
    """
    grads = reddi_sequence(C, T, embed)
    beta2 = 1.0 / (1.0 + C * C)
    trace = adamnorm_trace_fast(grads, 0.0, beta2, gamma)
    steps = alpha / np.sqrt(np.arange(1, T + 1, dtype=np.float64))[:, None] * trace.direction()
    iterates = projected_run(steps, -1.0, 1.0, np.zeros(grads.shape[1]))
    regret = linear_regret_curve(grads, iterates, -1.0, 1.0)
    dim = grads.shape[1]
    G = float(np.max(trace.norms))
    G_inf = float(np.max(np.abs(grads)))
    horizons = np.arange(1, T + 1, dtype=np.float64)
    terms = adamnorm_regret_bound_terms(
        T=horizons,
        D=2.0 * math.sqrt(dim),
        D_inf=2.0,
        G=G,
        G_inf=G_inf,
        vhat_T=trace.v_hat,
        gnorms=np.sqrt(np.cumsum(grads * grads, axis=0)),
        alpha=alpha,
        beta1=0.0,
        beta2=beta2,
        lam=lam,
        gamma=gamma,
        version=version,
    )
    bound = sum(terms.values())
    over = regret > bound
    first = int(np.argmax(over)) if over.any() else None
    persistent = None
    if over[-1]:
        not_over = np.flatnonzero(~over)
        persistent = 1 if not_over.size == 0 else int(not_over[-1]) + 2
    nz = trace.norms > 0
    # Float rounding puts ‖(-1, √(C²-1))‖ one ulp off C; compare with a relative slack.
    slack = 1.0 + 1e-12
    lemma_ok = bool(
        np.all(trace.e <= G_inf * slack)
        and np.all(trace.e[nz] / trace.norms[nz] <= G_inf / G * slack)
        and not np.any(~nz & (trace.e > 0))
    )
    return InstanceResult(
        version=version,
        C=C,
        alpha=alpha,
        beta2=beta2,
        gamma=gamma,
        lam=lam,
        embed=embed,
        T=T,
        correction_steps=int(np.sum(trace.active & nz)),
        lemma1_assumptions_hold=lemma_ok,
        first_violation_T=None if first is None else first + 1,
        violated_from_T=persistent,
        violated_fraction_after_first=0.0 if first is None else float(np.mean(over[first:])),
        regret_at_first=None if first is None else float(regret[first]),
        bound_at_first=None if first is None else float(bound[first]),
        regret_at_T=float(regret[-1]),
        bound_at_T=float(bound[-1]),
        bound_terms_at_T={name: float(value[-1]) for name, value in terms.items()},
        final_iterate=iterates[-1].tolist(),
    )


#: The instances reported for AN-7 (keyword arguments of :func:`run_instance`).
DEFAULT_INSTANCES: tuple[dict[str, object], ...] = (
    {"C": 3.0, "alpha": 0.5, "T": 6_000, "version": "wacv", "gamma": 0.95, "embed": True},
    {"C": 6.0, "alpha": 0.03, "T": 400_000, "version": "arxiv", "gamma": 0.95, "embed": True},
    {"C": 3.0, "alpha": 0.5, "T": 6_000, "version": "wacv", "gamma": 0.95, "embed": False},
)
