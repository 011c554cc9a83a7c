"""The catalogue of mutations: what a divergence from the reference can be explained by.

Each alternative is the float64 reference with one thing changed (a mutation
operator); two at once are searched when no single one explains a target.
Three kinds:

* ``open-choice``: a reading the papers leave open, documented in the
  "Open choices" table of ``docs/ALGORITHMS.md`` (e.g. AdaNorm's norm taken
  over the whole group, RAdam's strict ``ρ_t > 5``). An implementation that
  matches one of these conforms to the paper under that reading.
* ``known-mistake``: a change no reading of the paper allows but that
  implementations are known to make (no bias correction, ε in a place the
  paper does not put it).
* ``other-method``: the reference of a different method of the registry (an
  AdaNorm variant whose correction never fires behaves as its base method).

The mistake variants below are written against the reference's own
structure (its ``_AdamFamily`` skeleton); they are not part of the torch
implementation, so the differential test stays independent.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from optimizers.reference._common import (
    bias_correction,
    divide_or_zero,
    ema,
    inner,
    l2_norm,
    reciprocal_or_zero,
)
from optimizers.reference.adam_family import (
    AdaBeliefReference,
    DiffGradReference,
    _AdamFamily,
    _AdaNormCorrection,
)
from optimizers.reference.aida import AidaReference, _projection_coefficient
from optimizers.reference.layerwise import _Paper004Optimizer
from optimizers.reference.ndadam import NDAdamReference
from optimizers.registry import REGISTRY

OPEN_CHOICE = "open-choice"
KNOWN_MISTAKE = "known-mistake"
OTHER_METHOD = "other-method"


@dataclass(frozen=True)
class Alternative:
    """The reference with one documented change."""

    key: str
    kind: str
    explanation: str
    method: str
    overrides: Mapping[str, Any] = field(default_factory=dict)
    mixins: tuple[type, ...] = ()
    """Classes put in front of the reference class (each overrides one of its steps)."""
    contradicts: str = ""
    """What the paper's algorithm says that this reading does not do."""
    group_options_ignored: tuple[str, ...] = ()
    """Group options read from the constructor's defaults instead of the group."""
    schedule_ignored: bool = False
    """The learning rate fixed at construction (a scheduler's changes are not read)."""

    @property
    def reference_class(self) -> type | None:
        if not self.mixins:
            return None
        base = REGISTRY[self.method].reference
        name = base.__name__ + "".join(m.__name__ for m in self.mixins)
        return type(name, (*self.mixins, base), {})

    def arguments(self, base: Mapping[str, Any]) -> dict[str, Any]:
        cls = self.reference_class or REGISTRY[self.method].reference
        accepted = inspect.signature(cls.__init__).parameters
        merged = {**base, **self.overrides}
        return {k: v for k, v in merged.items() if k in accepted}

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "explanation": self.explanation,
            "contradicts": self.contradicts,
        }

    def composable_with(self, other: Alternative) -> bool:
        """Whether the two changes touch different things (so both can hold at once)."""
        if self.kind == OTHER_METHOD or other.kind == OTHER_METHOD or self.key == other.key:
            return False
        if set(self.overrides) & set(other.overrides):
            return False
        if set(self.group_options_ignored) & set(other.group_options_ignored):
            return False
        touched = [
            {n for m in a.mixins for n in vars(m) if not n.startswith("__")} for a in (self, other)
        ]
        return not (touched[0] & touched[1])

    def combined(self, other: Alternative) -> Alternative:
        kind = OPEN_CHOICE if self.kind == other.kind == OPEN_CHOICE else KNOWN_MISTAKE
        return Alternative(
            f"{self.key} + {other.key}",
            kind,
            f"{self.explanation}; and {other.explanation}",
            self.method,
            {**self.overrides, **other.overrides},
            self.mixins + other.mixins,
            "; ".join(c for c in (self.contradicts, other.contradicts) if c),
            self.group_options_ignored + other.group_options_ignored,
            self.schedule_ignored or other.schedule_ignored,
        )


# -- mutation operators: each overrides one step of the reference -------------
class _NoFirstCorrection:
    """``m_t`` used where the paper has ``m̂_t = m_t/(1-β1^t)``."""

    def _adaptive_update(self, i, m, v, friction=1.0):
        d = self._denominator(v, self.state[i]["step"])
        self._set_param(i, self.params[i] - self.lr * friction * divide_or_zero(m, d))

    def _m_tilde(self, m, t):
        return m


class _NoSecondCorrection:
    """``v_t`` used where the paper has ``v̂_t = v_t/(1-β2^t)``."""

    def _denominator(self, v, t):
        return np.sqrt(v) + self._eps_outside

    def _step_sizes(self, v, t):
        return reciprocal_or_zero(np.sqrt(v) + self._eps_outside)


class _NoBiasCorrection(_NoFirstCorrection, _NoSecondCorrection):
    """Both bias corrections missing."""


class _EpsInsideRootAfterCorrection:
    """``sqrt(v̂_t + ε)``: ε added under the root after bias correction."""

    def _denominator(self, v, t):
        return np.sqrt(v / bias_correction(self.beta2, t) + self.eps)


class _EpsBeforeBiasCorrection:
    """``(sqrt(v_t) + ε)/sqrt(1-β2^t)``: the Adam paper's "efficient" form (§2)."""

    # This form always has the outer ε; an ε inside the EMA stays where the paper puts it.
    def _denominator(self, v, t):
        return (np.sqrt(v) + self.eps) / np.sqrt(bias_correction(self.beta2, t))

    def _step_sizes(self, v, t):
        return reciprocal_or_zero(self._denominator(v, t))


class _GroupStepCount:
    """The step count t kept per param group: a tensor without gradient still ages."""

    def step(self, grads):
        for i, g in enumerate(grads):
            if g is None:
                self.state[i]["step"] += 1
        super().step(grads)


class _RectifierWithoutRoot:
    """RAdam's r_t without its square root: the rectified step is scaled by r_t² instead
    of r_t (the step is linear in r, so the recorded step times r is that step)."""

    def _update_tensor(self, i, g, first_input, second_input):
        before = self.params[i].copy()
        super()._update_tensor(i, g, first_input, second_input)
        r = self.last["r"][i]
        if r is not None:
            self._set_param(i, before - (before - self.params[i]) * r)


class _NormEmaAfterUse:
    """AdaNorm compares ‖g_t‖ with e_{t-1} and scales by it, updating e_t afterwards."""

    def _moment_inputs(self, g, active):
        if self.norm_scope != "tensor":
            return super()._moment_inputs(g, active)
        inputs = {}
        for i in active:
            g_norm = l2_norm(g[i])
            s = self._correct(g[i], g_norm, self.state[i]["e"])
            self.state[i]["e"] = self.gamma * self.state[i]["e"] + (1.0 - self.gamma) * g_norm
            first = s if self.corrected_moments in ("first", "both") else g[i]
            second = s if self.corrected_moments in ("second", "both") else g[i]
            inputs[i] = (first, second)
        return inputs


class _NormFromFirstMoment:
    """AdaNorm's norm (eq. 2) taken of the first moment ‖m_{t-1}‖ (as it stands before
    this step: m_t needs s_t) instead of the gradient's ‖g_t‖, in e_t (eq. 4) and in the
    comparison and ratio of s_t (eq. 3), which still scales g_t."""

    def _moment_inputs(self, g, active):
        if self.norm_scope != "tensor":
            return super()._moment_inputs(g, active)
        inputs = {}
        for i in active:
            m_norm = l2_norm(self.state[i]["m"])
            self.state[i]["e"] = self.gamma * self.state[i]["e"] + (1.0 - self.gamma) * m_norm
            s = self._correct(g[i], m_norm, self.state[i]["e"])
            first = s if self.corrected_moments in ("first", "both") else g[i]
            second = s if self.corrected_moments in ("second", "both") else g[i]
            inputs[i] = (first, second)
        return inputs


class _BeliefFromPreviousMoment:
    """AdaBelief's belief (g_t - m_{t-1})² from the moment before its update."""

    def _update_tensor(self, i, g, first_input, second_input):
        st = self.state[i]
        m_previous = st["m"]
        m = ema(m_previous, first_input, self.beta1)
        v = self._second_moment(st["v"], (second_input - m_previous) ** 2)
        st["m"], st["v"] = m, v
        self._adaptive_update(i, m, v)


class _FrictionWithoutAbs:
    """diffGrad's ξ_t = sigmoid(g_t - g_{t-1}) without the absolute value."""

    def _update_tensor(self, i, g, first_input, second_input):
        st = self.state[i]
        xi = 1.0 / (1.0 + np.exp(-(g - st["g_prev"])))
        st["g_prev"] = g.copy()
        m = ema(st["m"], first_input, self.beta1)
        v = self._second_moment(st["v"], second_input**2)
        st["m"], st["v"] = m, v
        self._adaptive_update(i, m, v, friction=xi)


class _FrictionFromCorrectedGradient:
    """diffGradNorm's ξ_t from the corrected s_t (and s_{t-1}) instead of the raw g_t."""

    def _update_tensor(self, i, g, first_input, second_input):
        super()._update_tensor(i, first_input, first_input, second_input)


class _DecayAfterUpdate:
    """Decoupled decay applied to the updated parameter: θ_t = (θ_{t-1} - step)(1 - lr·wd)."""

    def _step(self, grads, active):
        decay, self.weight_decay = self.weight_decay, 0.0
        try:
            super()._step(grads, active)
        finally:
            self.weight_decay = decay
        for i in active:
            self.params[i] *= 1.0 - self.lr * decay


class _DecayNotScaledByLr:
    """Decoupled decay θ ← θ(1 - wd), without the learning rate."""

    def _step(self, grads, active):
        decay, self.weight_decay = self.weight_decay, 0.0
        for i in active:
            self.params[i] *= 1.0 - decay
        try:
            super()._step(grads, active)
        finally:
            self.weight_decay = decay


class _LazySphereStart:
    """ND-Adam's weight vectors put on the sphere at a tensor's first step, not at
    construction: a tensor without gradient keeps its raw rows until then."""

    def __init__(self, params, **arguments):
        raw = [np.array(p, dtype=np.float64, copy=True) for p in params]
        super().__init__(params, **arguments)
        self._pending = set()
        for i, st in enumerate(self.state):
            if st["vectorwise"]:
                self.params[i][...] = raw[i]
                self._pending.add(i)

    def _step(self, grads, active):
        for i in [i for i in active if i in self._pending]:
            rows = self.params[i].reshape(self.params[i].shape[0], -1)
            norms = np.sqrt(np.sum(rows * rows, axis=1, keepdims=True))
            unit = np.where(norms > 0.0, divide_or_zero(rows, norms), rows)
            self.params[i][...] = unit.reshape(self.params[i].shape)
            self._pending.discard(i)
        super()._step(grads, active)


class _SequentialProjections:
    """Aida's projections in sequence: g^(k) projected onto the new m^(k) instead of
    both of round k from the pair of round k-1 (eqs. 12-13)."""

    def _update_tensor(self, i, g):
        st = self.state[i]
        t = st["step"]
        m = ema(st["m"], g, self.beta1)
        m_k, g_k = m, g
        for _ in range(self.K):
            m_k = _projection_coefficient(inner(m_k, g_k), inner(g_k, g_k), self.xi) * g_k
            g_k = _projection_coefficient(inner(m_k, g_k), inner(m_k, m_k), self.xi) * m_k
        v = self._second_moment(st["v"], (m_k - g_k) ** 2)
        step_size = self._step_sizes(v, t)
        st["m"], st["v"] = m, v
        self._set_param(i, self.params[i] - self.lr * step_size * self._m_tilde(m, t))


class _Float32State:
    """Every state array rounded to float32 after each step (float32 buffers on float64
    parameters)."""

    def step(self, grads):
        super().step(grads)
        for st in self.state:
            for key, value in st.items():
                if isinstance(value, np.ndarray):
                    st[key] = value.astype(np.float32).astype(np.float64)
                elif isinstance(value, float):
                    st[key] = float(np.float32(value))


# -- the catalogue -------------------------------------------------------------
_EPS_OPEN = {
    # 001 Alg. 7 shows only the outer ε, 004 eqs. 6-7 both.
    "AdaBelief": ("outside",),
    "AdaBeliefNorm": ("outside",),
    # Alg. 3 line 15 is garbled: an ε outside the root as well is one reading.
    "Aida": ("both",),
}

_EPS_WORDS = {
    "outside": "ε outside the square root, sqrt(v̂)+ε",
    "inside": "ε added to v in place every step (inside the second-moment EMA)",
    "both": "ε both in the second-moment EMA and outside the root",
}

NON_DEFAULT = {
    "betas": (0.8, 0.99),
    "eps": 1e-4,
    "gamma": 0.8,
    "K": 3,
    "xi": 0.1,
    "beta": 0.8,
    "lam": 0.99,
    "rectify_threshold": 6.0,
}
"""Hyperparameters at values away from every default, so that a constant written into
the code instead of the argument read (β1 = 0.9, γ = 0.95, K = 2, ...) shows."""


def _has(reference: type, attribute: str) -> bool:
    return any(attribute in vars(c) for c in reference.__mro__)


def alternatives(method: str, arguments: Mapping[str, Any]) -> list[Alternative]:
    """Every alternative reading or known mistake of ``method`` under ``arguments``."""
    spec = REGISTRY[method]
    reference = spec.reference
    algorithm = spec.algorithm
    accepted = inspect.signature(reference.__init__).parameters
    found: list[Alternative] = []

    def add(key, kind, explanation, contradicts, overrides=None, mixins=(), **extra):
        found.append(
            Alternative(
                key, kind, explanation, method, overrides or {}, tuple(mixins),
                f"{algorithm}: {contradicts}" if contradicts else "", **extra,
            )
        )  # fmt: skip

    if "norm_scope" in accepted:
        add(
            "norm_scope=global", OPEN_CHOICE,
            "AdaNorm's gradient norm over the whole param group (one e_t per group) "
            "instead of per tensor", "", {"norm_scope": "global"},
        )  # fmt: skip
    if "corrected_moments" in accepted:
        for which in ("second", "both"):
            add(
                f"corrected_moments={which}", OPEN_CHOICE,
                f"the corrected gradient s_t fed to the {which} moment"
                + (" only" if which == "second" else "s")
                + " (paper 000 Table 3) instead of the first only",
                "", {"corrected_moments": which},
            )  # fmt: skip
    if "threshold_inclusive" in accepted:
        add(
            "threshold_inclusive=False", OPEN_CHOICE,
            "RAdam rectifies when ρ_t > 5 (torch.optim) instead of ρ_t ≥ 5 (Alg. 5)",
            "", {"threshold_inclusive": False},
        )  # fmt: skip
    if "rectify_threshold" in accepted:
        threshold = arguments.get("rectify_threshold", accepted["rectify_threshold"].default)
        for off in (-1.0, 1.0):
            if threshold + off >= 4.0:
                add(
                    f"rectify-threshold-{threshold + off:g}", KNOWN_MISTAKE,
                    f"the rectification threshold is ρ_t ≥ {threshold + off:g} instead of "
                    f"{threshold:g} (off by one)", f"rectify only when ρ_t ≥ {threshold:g}",
                    {"rectify_threshold": threshold + off},
                )  # fmt: skip
    if _has(reference, "rho"):
        add(
            "rectifier-without-root", KNOWN_MISTAKE,
            "RAdam's rectifier r_t without its square root (the step scales with r_t²)",
            "r_t = sqrt((1-β2^t)(ρ_t-4)(ρ_t-2)ρ∞ / ((ρ∞-4)(ρ∞-2)ρ_t))",
            mixins=[_RectifierWithoutRoot],
        )  # fmt: skip
    if "max_scope" in accepted:
        add(
            "max_scope=global", OPEN_CHOICE,
            "AdaRem's max|m_t| over all tensors instead of per tensor", "",
            {"max_scope": "global"},
        )  # fmt: skip
    if "K" in accepted:
        K = arguments.get("K", accepted["K"].default)
        for other in (K - 1, K + 1):
            if other >= 0:
                add(
                    f"projections-K={other}", KNOWN_MISTAKE,
                    f"{other} rounds of mutual projections instead of K = {K}",
                    "K rounds of eqs. (12)-(13)", {"K": other},
                )  # fmt: skip
    if issubclass(reference, AidaReference):
        add(
            "projections-sequential", KNOWN_MISTAKE,
            "the mutual projections done in sequence: g^(k) is projected onto the new "
            "m^(k) instead of m^(k-1)", "both vectors of round k from the pair of round "
            "k-1 (eqs. 12-13)", mixins=[_SequentialProjections],
        )  # fmt: skip
    decay = arguments.get("weight_decay", 0.0)
    # Not only when the constructor has weight decay: a param group may have its own.
    if "decoupled_weight_decay" in accepted:
        default = accepted["decoupled_weight_decay"].default
        current = arguments.get("decoupled_weight_decay", default)
        add(
            f"decoupled_weight_decay={not current}", OPEN_CHOICE,
            "weight decay decoupled from the gradient, θ ← θ(1 - lr·wd) (AdamW style)"
            if not current
            else "weight decay as L2 added to the gradient, g ← g + wd·θ",
            "", {"decoupled_weight_decay": not current},
        )  # fmt: skip
        for mixin, key, words in (
            (_DecayAfterUpdate, "decay-after-update", "applied to the updated parameter, "
             "θ_t = (θ_{t-1} - step)(1 - lr·wd)"),
            (_DecayNotScaledByLr, "decay-not-scaled-by-lr", "θ ← θ(1 - wd), without lr"),
        ):  # fmt: skip
            add(
                key, KNOWN_MISTAKE, f"decoupled weight decay {words}",
                "decoupled decay θ ← θ(1 - lr·wd) before the step",
                {"decoupled_weight_decay": True}, [mixin],
            )  # fmt: skip
    if decay:
        add(
            "weight-decay-ignored", KNOWN_MISTAKE,
            "the weight_decay argument has no effect: the steps are those without decay",
            "weight decay", {"weight_decay": 0.0},
        )  # fmt: skip
    add(
        "weight-decay-from-defaults", KNOWN_MISTAKE,
        "each param group's weight_decay is read from the optimizer's defaults "
        "(the constructor's value), not from the group",
        "each param group's own hyperparameters", group_options_ignored=("weight_decay",),
    )  # fmt: skip
    add(
        "lr-from-defaults", KNOWN_MISTAKE,
        "each param group's lr is read from the optimizer's defaults, not from the group",
        "each param group's own learning rate", group_options_ignored=("lr",),
    )  # fmt: skip
    add(
        "lr-fixed-at-construction", KNOWN_MISTAKE,
        "the learning rate is fixed at construction: a scheduler's changes to group['lr'] "
        "are not read", "the learning rate α_t of step t", schedule_ignored=True,
    )  # fmt: skip
    if "eps_mode" in accepted:
        paper_mode = arguments.get("eps_mode", accepted["eps_mode"].default)
        for mode in ("outside", "inside", "both"):
            if mode == paper_mode:
                continue
            kind = OPEN_CHOICE if mode in _EPS_OPEN.get(method, ()) else KNOWN_MISTAKE
            add(
                f"eps_mode={mode}", kind,
                f"{_EPS_WORDS[mode]}; the paper's algorithm has {_EPS_WORDS[paper_mode]}",
                _EPS_WORDS[paper_mode], {"eps_mode": mode},
            )  # fmt: skip
    bias_corrected = issubclass(reference, (_AdamFamily, _Paper004Optimizer)) and not _has(
        reference, "rho"
    )
    if bias_corrected:
        for mixin, key, words in (
            (_NoBiasCorrection, "no-bias-correction", "1-β1^t and 1-β2^t are"),
            (_NoFirstCorrection, "no-first-bias-correction", "1-β1^t is"),
            (_NoSecondCorrection, "no-second-bias-correction", "1-β2^t is"),
        ):
            add(
                key, KNOWN_MISTAKE,
                f"the bias correction {words} missing: the step uses the raw moment(s)",
                "the bias-corrected m̂_t = m_t/(1-β1^t) and v̂_t = v_t/(1-β2^t)",
                mixins=[mixin],
            )  # fmt: skip
        add(
            "eps-before-bias-correction", KNOWN_MISTAKE,
            "ε added to sqrt(v_t) before the bias correction, (sqrt(v_t)+ε)/sqrt(1-β2^t) "
            "(the Adam paper's §2 'efficient' form): ε is effectively scaled by "
            "1/sqrt(1-β2^t), which the papers' algorithms do not do",
            "ε added after the bias correction", mixins=[_EpsBeforeBiasCorrection],
        )  # fmt: skip
    if issubclass(reference, _AdamFamily) and bias_corrected:
        add(
            "eps-under-root", KNOWN_MISTAKE,
            "ε added under the square root after bias correction, sqrt(v̂_t + ε); the "
            "paper's algorithm has " + _EPS_WORDS[arguments.get("eps_mode", "outside")],
            "ε outside the square root", {"eps_mode": "outside"},
            [_EpsInsideRootAfterCorrection],
        )  # fmt: skip
    if issubclass(reference, _AdaNormCorrection):
        add(
            "norm-ema-after-use", KNOWN_MISTAKE,
            "AdaNorm compares ‖g_t‖ with e_{t-1} and scales by it; e_t is updated after "
            "its use", "e_t = γ e_{t-1} + (1-γ)‖g_t‖ (eq. 4) before s_t (eq. 3)",
            mixins=[_NormEmaAfterUse],
        )  # fmt: skip
        add(
            "norm-from-first-moment", KNOWN_MISTAKE,
            "AdaNorm's norm taken of the first moment, ‖m_{t-1}‖, instead of the gradient's "
            "‖g_t‖ (in e_t and in s_t's ratio)",
            "e_t = γ e_{t-1} + (1-γ)‖g_t‖ (eq. 4), the norm of g_t (eq. 2)",
            mixins=[_NormFromFirstMoment],
        )  # fmt: skip
    if issubclass(reference, AdaBeliefReference):
        add(
            "belief-from-previous-moment", KNOWN_MISTAKE,
            "the belief (g_t - m_{t-1})² uses the first moment before its update",
            "v_t from (g_t - m_t)² with the updated m_t", mixins=[_BeliefFromPreviousMoment],
        )  # fmt: skip
    if issubclass(reference, DiffGradReference):
        add(
            "friction-without-abs", KNOWN_MISTAKE,
            "diffGrad's friction ξ_t = sigmoid(g_t - g_{t-1}) without the absolute value",
            "ξ_t = 1/(1 + exp(-|g_t - g_{t-1}|))", mixins=[_FrictionWithoutAbs],
        )  # fmt: skip
        if issubclass(reference, _AdaNormCorrection):
            add(
                "friction-from-corrected-gradient", KNOWN_MISTAKE,
                "diffGradNorm's friction ξ_t computed from the corrected s_t instead of "
                "the raw gradient g_t", "ξ_t from the raw g_t",
                mixins=[_FrictionFromCorrectedGradient],
            )  # fmt: skip
    if issubclass(reference, NDAdamReference):
        add(
            "lazy-sphere-start", KNOWN_MISTAKE,
            "the weight vectors are put on the unit sphere at a tensor's first step() "
            "instead of at construction", "initialisation w_{i,0} ← w_{i,0}/‖w_{i,0}‖₂",
            mixins=[_LazySphereStart],
        )  # fmt: skip
    add(
        "float32-state", KNOWN_MISTAKE,
        "the optimizer state is kept in float32 on float64 parameters",
        "the state in the parameters' precision", mixins=[_Float32State],
    )  # fmt: skip
    add(
        "step-count-per-group", KNOWN_MISTAKE,
        "the step count t is kept per param group, not per parameter: a parameter "
        "that had no gradient for some steps gets the group's bias corrections",
        "t counts the steps the parameter took", mixins=[_GroupStepCount],
    )  # fmt: skip
    for name in NON_DEFAULT:
        if name in accepted and name not in ("eps", "rectify_threshold"):
            default = accepted[name].default
            if arguments.get(name, default) != default:
                add(
                    f"{name}-hard-coded", KNOWN_MISTAKE,
                    f"{name} is the constant {default!r} whatever the argument says",
                    f"{name} as given", {name: default},
                )  # fmt: skip
    base = spec.base
    # The base method first: it is the likeliest reading of a correction that never fires.
    for other in sorted(REGISTRY, key=lambda name: name != base):
        if other == method:
            continue
        if other == base:
            text = (
                f"behaves exactly as {other}: the AdaNorm correction never reaches the "
                "update (s_t is computed but m_t is built from g_t, or the condition "
                "e_t > ‖g_t‖ never holds)"
            )
        else:
            text = f"behaves as {other} ({REGISTRY[other].algorithm}), not {method}"
        found.append(
            Alternative(
                f"method={other}", OTHER_METHOD, text, other,
                contradicts=f"{algorithm} is not {REGISTRY[other].algorithm}",
            )
        )  # fmt: skip
    return found


def pairs(choices: Sequence[Alternative]) -> list[Alternative]:
    """Every two composable alternatives at once (a library can go wrong twice)."""
    return [
        first.combined(second)
        for first, second in itertools.combinations(choices, 2)
        if first.composable_with(second)
    ]
