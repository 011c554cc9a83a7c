"""What a divergence from the reference can be explained by.

Each alternative is the reference with one thing changed. Three kinds:

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
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from optimizers.reference._common import bias_correction, divide_or_zero, reciprocal_or_zero
from optimizers.reference.adam_family import _AdamFamily
from optimizers.reference.layerwise import _Paper004Optimizer
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
    reference_class: type | None = None

    def arguments(self, base: Mapping[str, Any]) -> dict[str, Any]:
        cls = self.reference_class or REGISTRY[self.method].reference
        accepted = inspect.signature(cls.__init__).parameters
        merged = {**base, **self.overrides}
        return {k: v for k, v in merged.items() if k in accepted}

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "explanation": self.explanation}


# -- known mistakes that need more than a reference option -------------------
class _NoBiasCorrection:
    """Adam's update with the raw moments: ``θ ← θ - lr·m_t/(sqrt(v_t)+ε)``."""

    def _adaptive_update(self, i, m, v, friction=1.0):
        d = np.sqrt(v) + self._eps_outside
        self._set_param(i, self.params[i] - self.lr * friction * divide_or_zero(m, d))
        self._record(i, step_size=np.asarray(friction * reciprocal_or_zero(d)))


class _EpsInsideRootAfterCorrection:
    """``sqrt(v̂_t + ε)``: ε added under the root after bias correction."""

    def _denominator(self, v, t):
        return np.sqrt(v / bias_correction(self.beta2, t) + self.eps)


class _EpsBeforeBiasCorrection:
    """``(sqrt(v_t) + ε)/sqrt(1-β2^t)``: the Adam paper's "efficient" form (§2), which
    scales ε by the bias correction and so differs from ``sqrt(v̂_t) + ε``."""

    # This form always has the outer ε; an ε inside the EMA stays where the paper puts it.
    def _denominator(self, v, t):
        return (np.sqrt(v) + self.eps) / np.sqrt(bias_correction(self.beta2, t))

    def _step_sizes(self, v, t):
        return reciprocal_or_zero(self._denominator(v, t))


class _GroupStepCount:
    """The step count t kept per param group: a tensor without gradient still ages, so
    when it next takes part its bias corrections use the group's t, not its own."""

    def step(self, grads):
        for i, g in enumerate(grads):
            if g is None:
                self.state[i]["step"] += 1
        super().step(grads)


def _variant(base: type, mixin: type) -> type:
    return type(f"{base.__name__}{mixin.__name__}", (mixin, base), {})


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
    "inside": "ε added to the second-moment EMA, v_t = β2 v + (1-β2) q + ε",
    "both": "ε both in the second-moment EMA and outside the root",
}


def alternatives(method: str, arguments: Mapping[str, Any]) -> list[Alternative]:
    """Every alternative reading or known mistake of ``method`` under ``arguments``."""
    reference = REGISTRY[method].reference
    accepted = inspect.signature(reference.__init__).parameters
    found: list[Alternative] = []
    if "norm_scope" in accepted:
        found.append(
            Alternative(
                "norm_scope=global",
                OPEN_CHOICE,
                "AdaNorm's gradient norm over the whole param group (one e_t per group) "
                "instead of per tensor",
                method,
                {"norm_scope": "global"},
            )
        )
    if "corrected_moments" in accepted:
        for which in ("second", "both"):
            found.append(
                Alternative(
                    f"corrected_moments={which}",
                    OPEN_CHOICE,
                    f"the corrected gradient s_t fed to the {which} moment"
                    + (" only" if which == "second" else "s")
                    + " (paper 000 Table 3) instead of the first only",
                    method,
                    {"corrected_moments": which},
                )
            )
    if "threshold_inclusive" in accepted:
        found.append(
            Alternative(
                "threshold_inclusive=False",
                OPEN_CHOICE,
                "RAdam rectifies when ρ_t > 5 (torch.optim) instead of ρ_t ≥ 5 (Alg. 5)",
                method,
                {"threshold_inclusive": False},
            )
        )
    if "max_scope" in accepted:
        found.append(
            Alternative(
                "max_scope=global",
                OPEN_CHOICE,
                "AdaRem's max|m_t| over all tensors instead of per tensor",
                method,
                {"max_scope": "global"},
            )
        )
    if "decoupled_weight_decay" in accepted and arguments.get("weight_decay", 0.0):
        default = inspect.signature(reference.__init__).parameters["decoupled_weight_decay"].default
        current = arguments.get("decoupled_weight_decay", default)
        found.append(
            Alternative(
                f"decoupled_weight_decay={not current}",
                OPEN_CHOICE,
                "weight decay decoupled from the gradient, θ ← θ(1 - lr·wd) (AdamW style)"
                if not current
                else "weight decay as L2 added to the gradient, g ← g + wd·θ",
                method,
                {"decoupled_weight_decay": not current},
            )
        )
    if arguments.get("weight_decay", 0.0):
        found.append(
            Alternative(
                "weight-decay-ignored",
                KNOWN_MISTAKE,
                "the weight_decay argument has no effect: the steps are those without decay",
                method,
                {"weight_decay": 0.0},
            )
        )
    if "eps_mode" in accepted:
        paper_mode = arguments.get("eps_mode", accepted["eps_mode"].default)
        for mode in ("outside", "inside", "both"):
            if mode == paper_mode:
                continue
            kind = OPEN_CHOICE if mode in _EPS_OPEN.get(method, ()) else KNOWN_MISTAKE
            found.append(
                Alternative(
                    f"eps_mode={mode}",
                    kind,
                    f"{_EPS_WORDS[mode]}; the paper's algorithm has {_EPS_WORDS[paper_mode]}",
                    method,
                    {"eps_mode": mode},
                )
            )
    if issubclass(reference, _AdamFamily) and method not in ("RAdam", "RAdamNorm"):
        found.append(
            Alternative(
                "no-bias-correction",
                KNOWN_MISTAKE,
                "the bias corrections 1-β1^t and 1-β2^t are missing: the step uses the "
                "raw moments m_t/(sqrt(v_t)+ε)",
                method,
                {},
                _variant(reference, _NoBiasCorrection),
            )
        )
        found.append(
            Alternative(
                "eps-under-root",
                KNOWN_MISTAKE,
                "ε added under the square root after bias correction, sqrt(v̂_t + ε); the "
                "paper's algorithm has " + _EPS_WORDS[arguments.get("eps_mode", "outside")],
                method,
                {"eps_mode": "outside"},
                _variant(reference, _EpsInsideRootAfterCorrection),
            )
        )
    if issubclass(reference, (_AdamFamily, _Paper004Optimizer)) and method not in (
        "RAdam",
        "RAdamNorm",
    ):
        found.append(
            Alternative(
                "eps-before-bias-correction",
                KNOWN_MISTAKE,
                "ε added to sqrt(v_t) before the bias correction, (sqrt(v_t)+ε)/sqrt(1-β2^t) "
                "(the Adam paper's §2 'efficient' form): ε is effectively scaled by "
                "1/sqrt(1-β2^t), which the papers' algorithms do not do",
                method,
                {},
                _variant(reference, _EpsBeforeBiasCorrection),
            )
        )
    found.append(
        Alternative(
            "step-count-per-group",
            KNOWN_MISTAKE,
            "the step count t is kept per param group, not per parameter: a parameter "
            "that had no gradient for some steps gets the group's bias corrections",
            method,
            {},
            _variant(reference, _GroupStepCount),
        )
    )
    # A per-group step count often comes with another deviation in the same library.
    group_count = found[-1]
    for other in [a for a in found[:-1] if a.reference_class is not None]:
        found.append(
            Alternative(
                f"{other.key} + {group_count.key}",
                KNOWN_MISTAKE,
                f"{other.explanation}; and {group_count.explanation}",
                method,
                dict(other.overrides),
                _variant(other.reference_class, _GroupStepCount),
            )
        )
    base = REGISTRY[method].base
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
        found.append(Alternative(f"method={other}", OTHER_METHOD, text, other))
    return found


def open_choice_pairs(choices: list[Alternative]) -> list[Alternative]:
    """Two open choices at once (a library may read the paper differently twice)."""
    opens = [a for a in choices if a.kind == OPEN_CHOICE and a.reference_class is None]
    pairs = []
    for first, second in itertools.combinations(opens, 2):
        if set(first.overrides) & set(second.overrides):
            continue
        pairs.append(
            Alternative(
                f"{first.key} + {second.key}",
                OPEN_CHOICE,
                f"{first.explanation}; and {second.explanation}",
                first.method,
                {**first.overrides, **second.overrides},
            )
        )
    return pairs
