"""Batched online algorithms in the regime of the regret theorems.

Every class advances ``B`` independent instances × ``d`` coordinates over a
chunk of ``L`` steps at once: :meth:`OnlineAlgorithm.advance` takes the
gradients ``g`` of shape ``(L, B, d)`` for the steps ``t0 .. t0+L-1`` (t
counts from 1) and returns the displacement ``Δ`` with
``θ_{t+1} = Π_F(θ_t - Δ_t)``. On linear losses the whole horizon is fed in
chunks (the gradients do not depend on θ); on the other problems the runner
calls it with ``L = 1``. The projection is the runner's (clipping, exact on
a box: see :mod:`experiments.regret.problems`).

The theorem regime (paper 000 §3.2 Theorem 1, paper 001 supplement A
Theorem 2, paper 002 §3.3 Theorem 1, Reddi et al. 2018 §4 Theorem 4,
Zinkevich 2003 Theorem 1):

* step size ``α_t = α/√t`` (``decay_lr=True``; ``False`` keeps α constant);
* first-moment coefficient ``β_{1,t} = β1 λ^{t-1}`` (``lam = 1`` keeps β1
  constant, the training form of Alg. 1-2), with the bias correction
  ``1 - β1^t`` of the *initial* β1 as in the proof of paper 001 Theorem 2;
* ε = 0 by default, as the proofs ignore it ("ignoring ε", paper 001
  supplement A); a zero denominator gives a zero step (docs/ALGORITHMS.md).

With ``decay_lr=False``, ``lam = 1`` and no projection the updates are the
training algorithms of ``optimizers.reference`` (docs/ALGORITHMS.md), which
``tests/test_regret_algorithms.py`` checks to 1e-12.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np

from experiments.regret.scan import ema, linear_recurrence, running_max


def _steps(t0: int, length: int) -> np.ndarray:
    """The step indices ``t0 .. t0+L-1`` as a float column broadcasting over (L, B, d)."""
    return np.arange(t0, t0 + length, dtype=np.float64)[:, None, None]


def _safe_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num/den`` with 0 where ``den == 0`` (the suite's rule for 0/0 steps)."""
    out = np.zeros(np.broadcast_shapes(num.shape, den.shape))
    np.divide(num, den, out=out, where=den != 0.0)
    return out


@dataclass(frozen=True)
class Condition:
    """One hyperparameter condition of a theorem, evaluated."""

    text: str
    holds: bool


@dataclass
class OnlineAlgorithm(ABC):
    """Common shape of the batched algorithms.

    ``alpha`` is the base step size (α of the Adam family, η of AdaRem and
    online gradient descent); ``decay_lr`` selects ``α_t = α/√t``.
    """

    alpha: float
    decay_lr: bool = True
    state: dict[str, np.ndarray] = field(default_factory=dict, init=False, repr=False)

    #: name used in tables and plots
    name: str = field(default="", init=False)
    #: the theorem whose conditions :meth:`conditions` checks
    theorem: str = field(default="", init=False)

    def rate(self, t: np.ndarray) -> np.ndarray:
        """``α_t``: ``α/√t`` in the theorem regime, else ``α``."""
        return self.alpha / np.sqrt(t) if self.decay_lr else np.full_like(t, self.alpha)

    def reset(self, batch: int, dim: int) -> None:
        """Zero state for ``batch`` instances of dimension ``dim`` (all EMAs start at 0)."""
        self.state = {key: np.zeros(shape) for key, shape in self._state_shapes(batch, dim).items()}

    def _state_shapes(self, batch: int, dim: int) -> dict[str, tuple[int, ...]]:
        return {}

    @abstractmethod
    def advance(self, g: np.ndarray, t0: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Consume gradients ``g`` (L, B, d) of steps ``t0..t0+L-1``; return ``(Δ, diagnostics)``.

        ``diagnostics`` holds per-step quantities the regret bounds need
        (``vhat`` for the Adam family, ``e`` and ``gnorm`` for AdamNorm).
        """

    @abstractmethod
    def advance_one(self, g: np.ndarray, t: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """One step ``t`` with gradient ``g`` (B, d): the same update as :meth:`advance` with
        ``L = 1``, written with Python scalars for the step-by-step path (per-call overhead
        dominates there); tested against :meth:`advance` and the references."""

    def scalar_rate(self, t: int) -> float:
        """``α_t`` for one step."""
        return self.alpha / math.sqrt(t) if self.decay_lr else self.alpha

    def conditions(self) -> list[Condition]:
        """The hyperparameter conditions of :attr:`theorem`, evaluated."""
        return [
            Condition("alpha_t = alpha/sqrt(t)", self.decay_lr),
            Condition("alpha > 0", self.alpha > 0),
        ]

    def in_theorem_regime(self) -> bool:
        """Whether every condition of :meth:`conditions` holds."""
        return all(c.holds for c in self.conditions())

    def describe(self) -> dict[str, float | bool | str]:
        """Hyperparameters as a flat record."""
        return {"name": self.name, "alpha": self.alpha, "decay_lr": self.decay_lr}


@dataclass
class OnlineGradientDescent(OnlineAlgorithm):
    """Projected online gradient descent, ``θ_{t+1} = Π_F(θ_t - α_t g_t)`` (Zinkevich 2003, Thm. 1).

    Its regret bound ``D²√T/(2α) + (√T - 1/2) α G²`` (``α_t = α/√t``) is the
    control of the measurement pipeline (:mod:`experiments.regret.bounds`).
    """

    name: str = field(default="OGD", init=False)
    theorem: str = field(default="Zinkevich (2003) Theorem 1", init=False)

    def advance(self, g: np.ndarray, t0: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        t = _steps(t0, g.shape[0])
        return self.rate(t) * g, {}

    def advance_one(self, g: np.ndarray, t: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        return self.scalar_rate(t) * g, {}


@dataclass
class AdamFamily(OnlineAlgorithm):
    """Adam (paper 000 Alg. 1) and AdamNorm (Alg. 2, eqs. 2-9) in the regime of Theorem 1.

    Per step, per instance (``d`` coordinates form the single parameter tensor)::

        n_t = ‖g_t‖₂,  e_t = γ e_{t-1} + (1-γ) n_t            eq. 4 (AdamNorm only)
        s_t = (e_t/n_t) g_t if e_t > n_t else g_t            eq. 3 (s = g = 0 when n_t = 0)
        m_t = β_{1,t} m_{t-1} + (1-β_{1,t}) s_t,  β_{1,t} = β1 λ^{t-1}
        v_t = β2 v_{t-1} + (1-β2) g_t²                        eq. 6 (raw g)
        Δ_t = α_t (m_t/(1-β1^t)) / (sqrt(v_t/(1-β2^t)) + ε)  eqs. 7-9

    ``norm_correction=False`` is Adam. The per-tensor norm of the suite's
    default ``norm_scope="tensor"`` is the norm of the whole d-vector.
    """

    beta1: float = 0.9
    beta2: float = 0.999
    lam: float = 1.0
    eps: float = 0.0
    norm_correction: bool = False
    gamma: float = 0.95

    theorem: str = field(
        default="paper 000 §3.2 Theorem 1 / paper 001 supplement A Theorem 2", init=False
    )

    def __post_init__(self) -> None:
        self.name = "AdamNorm" if self.norm_correction else "Adam"

    def _state_shapes(self, batch: int, dim: int) -> dict[str, tuple[int, ...]]:
        return {"m": (batch, dim), "v": (batch, dim), "e": (batch, 1)}

    def advance(self, g: np.ndarray, t0: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        length = g.shape[0]
        t = _steps(t0, length)
        diagnostics: dict[str, np.ndarray] = {}
        s = g
        if self.norm_correction:
            norm = np.sqrt(np.sum(g * g, axis=-1, keepdims=True))  # eq. 2: ‖g_t‖₂ per instance
            e = ema(self.gamma, norm, self.state["e"])  # eq. 4
            fires = (e > norm) & (norm > 0.0)
            ratio = np.where(fires, e / np.where(norm > 0.0, norm, 1.0), 1.0)
            s = ratio * g  # eq. 3
            self.state["e"] = e[-1]
            diagnostics.update(e=e, gnorm=norm)
        beta1_t = self.beta1 * self.lam ** (t - 1.0)
        m = linear_recurrence(beta1_t, (1.0 - beta1_t) * s, self.state["m"])
        v = ema(self.beta2, g * g, self.state["v"])  # eq. 6
        self.state["m"], self.state["v"] = m[-1], v[-1]
        m_hat = m / (1.0 - self.beta1**t)  # eq. 7 (power of the initial β1)
        v_hat = v / (1.0 - self.beta2**t)  # eq. 8
        direction = _safe_divide(m_hat, np.sqrt(v_hat) + self.eps)
        diagnostics["vhat"] = v_hat
        return self.rate(t) * direction, diagnostics

    def advance_one(self, g: np.ndarray, t: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        st = self.state
        diagnostics: dict[str, np.ndarray] = {}
        s = g
        if self.norm_correction:
            norm = np.sqrt(np.sum(g * g, axis=-1, keepdims=True))
            e = self.gamma * st["e"] + (1.0 - self.gamma) * norm
            st["e"] = e
            fires = (e > norm) & (norm > 0.0)
            if fires.any():
                s = np.where(fires, e / np.where(norm > 0.0, norm, 1.0), 1.0) * g
            diagnostics.update(e=e, gnorm=norm)
        b1 = self.beta1 * self.lam ** (t - 1)
        st["m"] = b1 * st["m"] + (1.0 - b1) * s
        st["v"] = self.beta2 * st["v"] + (1.0 - self.beta2) * (g * g)
        m_hat = st["m"] / (1.0 - self.beta1**t)
        v_hat = st["v"] / (1.0 - self.beta2**t)
        diagnostics["vhat"] = v_hat
        return self.scalar_rate(t) * _safe_divide(m_hat, np.sqrt(v_hat) + self.eps), diagnostics

    def conditions(self) -> list[Condition]:
        eta = self.beta1**2 / math.sqrt(self.beta2) if self.beta2 > 0 else math.inf
        return [
            *super().conditions(),
            Condition("0 <= beta1 < 1", 0.0 <= self.beta1 < 1.0),
            Condition("0 <= beta2 < 1", 0.0 <= self.beta2 < 1.0),
            Condition("eta = beta1^2/sqrt(beta2) < 1", eta < 1.0),
            Condition("beta1_t = beta1 * lambda^(t-1), 0 < lambda < 1", 0.0 < self.lam < 1.0),
            Condition("0 <= gamma < 1", 0.0 <= self.gamma < 1.0),
        ]

    def describe(self) -> dict[str, float | bool | str]:
        record = {
            **super().describe(),
            "beta1": self.beta1,
            "beta2": self.beta2,
            "lam": self.lam,
            "eps": self.eps,
        }
        if self.norm_correction:
            record["gamma"] = self.gamma
        return record


@dataclass
class AMSGrad(OnlineAlgorithm):
    """AMSGrad, Reddi, Kale & Kumar (2018) Algorithm 2, regime of their Theorem 4.

    ``m_t = β_{1,t} m_{t-1} + (1-β_{1,t}) g_t``, ``v_t = β2 v_{t-1} + (1-β2) g_t²``,
    ``v̂_t = max(v̂_{t-1}, v_t)``, ``Δ_t = α_t m_t/(√v̂_t + ε)`` — no bias
    correction (Algorithm 2 has none).
    """

    beta1: float = 0.9
    beta2: float = 0.999
    lam: float = 1.0
    eps: float = 0.0

    name: str = field(default="AMSGrad", init=False)
    theorem: str = field(default="Reddi, Kale & Kumar (2018) Theorem 4", init=False)

    def _state_shapes(self, batch: int, dim: int) -> dict[str, tuple[int, ...]]:
        return {"m": (batch, dim), "v": (batch, dim), "vmax": (batch, dim)}

    def advance(self, g: np.ndarray, t0: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        t = _steps(t0, g.shape[0])
        beta1_t = self.beta1 * self.lam ** (t - 1.0)
        m = linear_recurrence(beta1_t, (1.0 - beta1_t) * g, self.state["m"])
        v = ema(self.beta2, g * g, self.state["v"])
        vmax = running_max(v, self.state["vmax"])
        self.state["m"], self.state["v"], self.state["vmax"] = m[-1], v[-1], vmax[-1]
        direction = _safe_divide(m, np.sqrt(vmax) + self.eps)
        return self.rate(t) * direction, {"vhat": vmax}

    def advance_one(self, g: np.ndarray, t: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        st = self.state
        b1 = self.beta1 * self.lam ** (t - 1)
        st["m"] = b1 * st["m"] + (1.0 - b1) * g
        st["v"] = self.beta2 * st["v"] + (1.0 - self.beta2) * (g * g)
        st["vmax"] = np.maximum(st["vmax"], st["v"])
        direction = _safe_divide(st["m"], np.sqrt(st["vmax"]) + self.eps)
        return self.scalar_rate(t) * direction, {"vhat": st["vmax"]}

    def conditions(self) -> list[Condition]:
        gamma = self.beta1 / math.sqrt(self.beta2) if self.beta2 > 0 else math.inf
        return [
            *super().conditions(),
            Condition(
                "0 <= beta1 < 1, 0 <= beta2 < 1", 0 <= self.beta1 < 1 and 0 <= self.beta2 < 1
            ),
            Condition("gamma = beta1/sqrt(beta2) < 1", gamma < 1.0),
            Condition(
                "beta1_t = beta1 * lambda^(t-1) <= beta1 (0 < lambda <= 1)", 0 < self.lam <= 1
            ),
        ]

    def describe(self) -> dict[str, float | bool | str]:
        return {
            **super().describe(),
            "beta1": self.beta1,
            "beta2": self.beta2,
            "lam": self.lam,
            "eps": self.eps,
        }


@dataclass
class AdaRem(OnlineAlgorithm):
    """AdaRem, paper 002 Algorithm 1 with eqs. 1-2, regime of its §3.3 Theorem 1.

    With ``m_t`` the momentum *before* this step (``m_1 = 0``)::

        b_t = g_t m_t / (|g_t| max|m_t| + ε)           eq. 1 (0 where the denominator is 0)
        a_t = 1 + λ^{k_t} b_t,  k_t = t - 1 + lam_offset   eq. 2
        Δ_t = α_t a_t g_t,  then  m_{t+1} = β m_t + (1-β) g_t

    ``lam_offset=1`` is Theorem 1's ``λ^t`` (t = 1..T); ``lam_offset=0`` is
    Algorithm 1's loop from t = 0, which is also the reference's
    ``lam_tick="step"``. ``max|m_t|`` is over the instance's d coordinates
    (one tensor). Weight decay γ = 0 as the theorem requires.
    """

    beta: float = 0.9
    lam: float = 0.999
    eps: float = 1e-8
    lam_offset: int = 1

    name: str = field(default="AdaRem", init=False)
    theorem: str = field(default="paper 002 §3.3 Theorem 1", init=False)

    def _state_shapes(self, batch: int, dim: int) -> dict[str, tuple[int, ...]]:
        return {"m": (batch, dim)}

    def advance(self, g: np.ndarray, t0: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        length = g.shape[0]
        t = _steps(t0, length)
        after = ema(self.beta, g, self.state["m"])  # m_{t+1}
        before = np.concatenate([self.state["m"][None], after[:-1]])  # m_t
        self.state["m"] = after[-1]
        max_m = np.max(np.abs(before), axis=-1, keepdims=True)
        b = _safe_divide(g * before, np.abs(g) * max_m + self.eps)  # eq. 1
        a = 1.0 + self.lam ** (t - 1.0 + self.lam_offset) * b  # eq. 2
        return (self.rate(t) * a) * g, {"a": a}

    def advance_one(self, g: np.ndarray, t: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        m = self.state["m"]
        max_m = np.max(np.abs(m), axis=-1, keepdims=True)
        b = _safe_divide(g * m, np.abs(g) * max_m + self.eps)
        a = 1.0 + self.lam ** (t - 1 + self.lam_offset) * b
        self.state["m"] = self.beta * m + (1.0 - self.beta) * g
        return (self.scalar_rate(t) * a) * g, {"a": a}

    def conditions(self) -> list[Condition]:
        return [
            *super().conditions(),
            Condition("0 <= lambda < 1", 0.0 <= self.lam < 1.0),
            Condition("0 <= beta <= 1", 0.0 <= self.beta <= 1.0),
            Condition("lambda exponent is t (Theorem 1)", self.lam_offset == 1),
            Condition("weight decay gamma = 0", True),
        ]

    def describe(self) -> dict[str, float | bool | str]:
        return {
            **super().describe(),
            "beta": self.beta,
            "lam": self.lam,
            "eps": self.eps,
            "lam_offset": self.lam_offset,
        }
