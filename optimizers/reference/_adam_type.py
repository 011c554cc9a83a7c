"""What the Adam-type references share: their options, their state m_0 and v_0, and where ε goes.

Papers 000, 001 and 004 write the same first lines for every method: the
hyperparameters ``lr, (β1, β2), ε, weight decay``, the moments ``m_0 = 0`` and
``v_0 = 0``, ``v_t = β2 v_{t-1} + (1-β2) q`` with ε inside the EMA (004 eq. 8)
and/or outside the root (000 Alg. 1). :class:`AdamTypeReference` transcribes
them once; each family's base (``adam_family._AdamFamily``,
``layerwise._Paper004Optimizer``) adds its own step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._common import (
    EPS_MODES,
    ReferenceOptimizer,
    check_betas,
    check_bool,
    check_choice,
    check_eps,
    check_lr,
    check_weight_decay,
    ema,
)


def adam_defaults(**changed: Any) -> dict[str, Any]:
    """The Adam-type options with Adam's defaults (paper 000 Alg. 1), ``changed`` replaced.

    ``eps_mode`` differs by family: "outside" (000 Alg. 1), "inside" (004 eq. 8),
    "both" (AdaBelief, 004 eqs. 6-7).
    """
    defaults: dict[str, Any] = {
        "lr": 1e-3,
        "betas": (0.9, 0.999),
        "eps": 1e-8,
        "weight_decay": 0.0,
        "decoupled_weight_decay": False,
        "eps_mode": "outside",
    }
    unknown = sorted(set(changed) - set(defaults))
    if unknown:
        raise TypeError(f"not an Adam-type option: {', '.join(unknown)}")
    return defaults | changed


class AdamTypeReference(ReferenceOptimizer):
    """Checks and stores the Adam-type options; sets m_0 = 0 and v_0 (:meth:`_initial_v`)."""

    def _configure(
        self,
        params: Sequence[np.ndarray],
        *,
        lr: float,
        betas: tuple[float, float],
        eps: float,
        weight_decay: float,
        decoupled_weight_decay: bool,
        eps_mode: str,
    ) -> None:
        self.lr = check_lr("lr", lr)
        self.beta1, self.beta2 = check_betas(betas)
        self.eps = check_eps(eps)
        self.weight_decay = check_weight_decay(weight_decay)
        self.decoupled_weight_decay = check_bool("decoupled_weight_decay", decoupled_weight_decay)
        self.eps_mode = check_choice("eps_mode", eps_mode, EPS_MODES)
        ReferenceOptimizer.__init__(self, params)
        for p, st in zip(self.params, self.state, strict=True):
            st["m"] = np.zeros_like(p)  # m_0 = 0
            st["v"] = self._initial_v(p)  # v_0 = 0

    def _initial_v(self, p: np.ndarray) -> np.ndarray | float:
        """Elementwise v_0 = 0; the layerwise (pre-processing) methods override."""
        return np.zeros_like(p)

    @property
    def _eps_inside(self) -> float:
        return self.eps if self.eps_mode in ("inside", "both") else 0.0

    @property
    def _eps_outside(self) -> float:
        return self.eps if self.eps_mode in ("outside", "both") else 0.0

    def _second_moment(self, v_prev: np.ndarray, q: np.ndarray) -> np.ndarray:
        """``v_t = β2 v_{t-1} + (1-β2) q`` (+ ε when ε is inside the EMA)."""
        return ema(v_prev, q, self.beta2) + self._eps_inside
