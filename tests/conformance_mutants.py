"""Broken optimizers, one per mutation operator of the conformance catalogue.

Each class below is a plain torch optimizer written from the papers, with one realistic
mistake. They are written without looking at ``invariants/conformance/alternatives.py``:
the self-test asks whether the checker catches each and names its cause. The correct
textbook versions here (RAdam, AdaBelief, diffGradNorm, ND-Adam, Aida, AdamW) join those
of ``tests/conformance_subjects.py``, and must conform.

:data:`MUTANTS` lists every mutant with the method it claims, the checks that should see
it (the ``--only`` prefixes a maintainer would pass) and the cause it should be given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from tests.conformance_subjects import (
    AliasingDiffGrad,
    DecayIgnoringAdam,
    EpsUnderRootAdam,
    GradientMutatingAdam,
    LostStateAdam,
    NeverFiringAdamNorm,
    NoBiasCorrectionAdam,
    NotInPlaceAdam,
    TextbookAdam,
    TextbookAdamNorm,
    TextbookDiffGrad,
)


# -- what the textbook versions and the mutants share --------------------------------
def stepped_parameters(optimizer, state_keys):
    """``(group, p, g, state, t)`` for each parameter with a gradient, as the textbook loops
    write it: g with L2 decay, the ``state_keys`` zero-initialised on the first step, t
    counted per parameter."""
    for group in optimizer.param_groups:
        for p in group["params"]:
            if p.grad is None:
                continue
            grad = p.grad.add(p, alpha=group["weight_decay"])
            state = optimizer.state[p]
            if not state:
                state["step"] = 0
                for key in state_keys:
                    state[key] = torch.zeros_like(p)
            state["step"] += 1
            yield group, p, grad, state, state["step"]


class OptionSwappedAdam(TextbookAdam):
    """The textbook step run with one group option replaced (:meth:`during_step`), then
    restored: the shape of the mistakes that read an option from the wrong place."""

    swapped = ""

    def during_step(self, index, group):
        raise NotImplementedError

    @torch.no_grad()
    def step(self, closure=None):
        kept = [group[self.swapped] for group in self.param_groups]
        for index, group in enumerate(self.param_groups):
            group[self.swapped] = self.during_step(index, group)
        try:
            return super().step(closure)
        finally:
            for group, value in zip(self.param_groups, kept, strict=True):
                group[self.swapped] = value


# -- correct textbook versions -------------------------------------------------------
class TextbookAdamW(OptionSwappedAdam):
    """AdamW: θ ← θ(1 - lr·wd) before the Adam step (which then runs without L2 decay)."""

    swapped = "weight_decay"

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr, betas, eps, weight_decay)

    def decay(self, p, group):
        p.mul_(1 - group["lr"] * group["weight_decay"])

    def during_step(self, index, group):
        return 0.0

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self.decay(p, group)
        return super().step(closure)


class TextbookAdaBelief(TextbookAdam):
    """AdaBelief (004 eqs. 6-7): s_t = β2 s + (1-β2)(g - m_t)² + ε, step m̂/(sqrt(ŝ)+ε)."""

    def belief(self, grad, m_new, m_old):
        return grad - m_new

    def inner_eps(self, group):
        return group["eps"]

    @torch.no_grad()
    def step(self, closure=None):
        for group, p, grad, state, t in stepped_parameters(self, ("exp_avg", "exp_avg_var")):
            beta1, beta2 = group["betas"]
            m_old = state["exp_avg"].clone()
            m = state["exp_avg"].mul_(beta1).add_(grad, alpha=1 - beta1)
            diff = self.belief(grad, m, m_old)
            s = state["exp_avg_var"].mul_(beta2).addcmul_(diff, diff, value=1 - beta2)
            s.add_(self.inner_eps(group))
            denominator = (s / (1 - beta2**t)).sqrt().add_(group["eps"])
            p.sub_(group["lr"] * (m / (1 - beta1**t)) / denominator)


class TextbookRAdam(TextbookAdam):
    """RAdam (001 Alg. 5): rectified when ρ_t ≥ 5, else an SGD-with-momentum step."""

    threshold = 5.0

    def rectifier(self, rho_t, rho_inf, beta2, t):
        ratio = (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
        return math.sqrt((1 - beta2**t) * ratio)

    def rectified(self, rho_t):
        return rho_t >= self.threshold

    @torch.no_grad()
    def step(self, closure=None):
        for group, p, grad, state, t in stepped_parameters(self, ("exp_avg", "exp_avg_sq")):
            beta1, beta2 = group["betas"]
            rho_inf = 2 / (1 - beta2) - 1
            m = state["exp_avg"].mul_(beta1).add_(grad, alpha=1 - beta1)
            v = state["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            rho_t = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
            if self.rectified(rho_t):
                r = self.rectifier(rho_t, rho_inf, beta2, t)
                p.sub_(group["lr"] * r / (1 - beta1**t) * m / (v.sqrt() + group["eps"]))
            else:
                p.sub_(group["lr"] / (1 - beta1**t) * m)


class TextbookDiffGradNorm(TextbookAdamNorm):
    """diffGradNorm (001 Alg. 4): AdamNorm's m_t from s_t, diffGrad's ξ from the raw g_t."""

    def init_state(self, p, grad, state):
        super().init_state(p, grad, state)
        state["previous_grad"] = torch.zeros_like(p)

    def friction_input(self, grad, state):
        return grad

    def first_moment_input(self, grad, state):
        state["corrected"] = self.corrected(grad, state).clone()
        return state["corrected"]

    def friction(self, grad, state):
        current = self.friction_input(grad, state)
        xi = torch.sigmoid((current - state["previous_grad"]).abs())
        state["previous_grad"] = current.clone()
        return xi


class TextbookNDAdam(torch.optim.Optimizer):
    """ND-Adam (003 Alg. 1): rows of ≥ 2-D tensors put on the unit sphere at construction,
    tangent gradient, a scalar v per row, renormalised after each step; other tensors Adam."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(
            params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay}
        )

    def add_param_group(self, param_group):
        super().add_param_group(param_group)
        with torch.no_grad():
            for p in self.param_groups[-1]["params"]:
                self.on_sphere_at_construction(p)

    def on_sphere_at_construction(self, p):
        if p.ndim >= 2:
            rows = p.view(p.shape[0], -1)
            rows.div_(rows.norm(dim=1, keepdim=True))

    def first_step(self, p):
        pass

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                vector = p.ndim >= 2
                if not state:
                    self.first_step(p)
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    shape = (p.shape[0],) if vector else p.shape
                    state["exp_avg_sq"] = torch.zeros(shape, dtype=p.dtype)
                state["step"] += 1
                t = state["step"]
                bc1, bc2 = 1 - beta1**t, 1 - beta2**t
                if vector:
                    w = p.view(p.shape[0], -1)
                    g = p.grad.reshape(p.shape[0], -1)
                    g = g - (g * w).sum(dim=1, keepdim=True) * w
                    m = state["exp_avg"].view(p.shape[0], -1).mul_(beta1).add_(g, alpha=1 - beta1)
                    v = state["exp_avg_sq"].mul_(beta2).add_((g * g).sum(dim=1), alpha=1 - beta2)
                    d = (v / bc2).sqrt().add_(group["eps"]).unsqueeze(1)
                    w.sub_(group["lr"] * (m / bc1) / d)
                    w.div_(w.norm(dim=1, keepdim=True))
                else:
                    g = p.grad.add(p, alpha=group["weight_decay"])
                    m = state["exp_avg"].mul_(beta1).add_(g, alpha=1 - beta1)
                    v = state["exp_avg_sq"].mul_(beta2).addcmul_(g, g, value=1 - beta2)
                    p.sub_(group["lr"] * (m / bc1) / ((v / bc2).sqrt() + group["eps"]))


class TextbookAida(TextbookAdam):
    """Aida (004 Alg. 3): v from (m^(K) - g^(K))² after K mutual projections per tensor,
    ε inside the EMA, step m̂/sqrt(v̂)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 K=2, xi=1e-20):  # fmt: skip
        super().__init__(params, lr, betas, eps, weight_decay)
        for group in self.param_groups:
            group.setdefault("K", K)
            group.setdefault("xi", xi)
        self.defaults.update(K=K, xi=xi)

    def rounds(self, group):
        return group["K"]

    def project(self, a, b, xi):
        dot = (a * b).sum()
        return dot / ((b * b).sum() + xi) * b, dot / ((a * a).sum() + xi) * a

    @torch.no_grad()
    def step(self, closure=None):
        for group, p, grad, state, t in stepped_parameters(self, ("exp_avg", "exp_avg_var")):
            beta1, beta2 = group["betas"]
            m = state["exp_avg"].mul_(beta1).add_(grad, alpha=1 - beta1)
            a, b = m.clone(), grad.clone()
            for _ in range(self.rounds(group)):
                a, b = self.project(a, b, group["xi"])
            v = state["exp_avg_var"].mul_(beta2).addcmul_(a - b, a - b, value=1 - beta2)
            v.add_(group["eps"])
            p.sub_(group["lr"] * (m / (1 - beta1**t)) / (v / (1 - beta2**t)).sqrt())


class ForwardingAdam(TextbookAdam):
    """A library wrapper that forwards ``**kwargs``: correct, with no ``foreach``."""

    def __init__(self, params, **kwargs):
        super().__init__(params, **kwargs)


# -- one mutant per operator -------------------------------------------------------
class NoFirstCorrectionAdam(TextbookAdam):
    def bias_corrections(self, beta1, beta2, t):
        return 1.0, 1 - beta2**t


class NoSecondCorrectionAdam(TextbookAdam):
    def bias_corrections(self, beta1, beta2, t):
        return 1 - beta1**t, 1.0


class EpsBeforeCorrectionAdam(TextbookAdam):
    """Denominator (sqrt(v_t) + ε)/sqrt(1-β2^t)."""

    def bias_corrections(self, beta1, beta2, t):
        self._bc2 = 1 - beta2**t
        return 1 - beta1**t, self._bc2

    def denominator(self, v_hat, eps):
        return ((v_hat * self._bc2).sqrt() + eps) / math.sqrt(self._bc2)


class EpsAccumulatedAdam(TextbookAdam):
    """Adds ε into v in place every step, and none outside the root."""

    def second_moment(self, v, grad, beta2, eps):
        return super().second_moment(v, grad, beta2, eps).add_(eps)

    def denominator(self, v_hat, eps):
        return v_hat.sqrt()


class EpsBothAdam(EpsAccumulatedAdam):
    """ε added into v every step and outside the root as well."""

    def denominator(self, v_hat, eps):
        return v_hat.sqrt().add_(eps)


class Float32MathAdam(TextbookAdam):
    """Computes the new parameter in float32 whatever the parameter's dtype."""

    def apply(self, p, update):
        p.copy_(p.float() - update.float())


class CachedLrAdam(OptionSwappedAdam):
    """Keeps each group's learning rate as it was at construction."""

    swapped = "lr"

    def __init__(self, params, **kwargs):
        super().__init__(params, **kwargs)
        self.initial_lrs = [group["lr"] for group in self.param_groups]

    def add_param_group(self, param_group):
        super().add_param_group(param_group)
        if hasattr(self, "initial_lrs"):
            self.initial_lrs.append(self.param_groups[-1]["lr"])

    def during_step(self, index, group):
        return self.initial_lrs[index]


class DecayFromDefaultsAdam(OptionSwappedAdam):
    """Reads weight decay from the optimizer's defaults instead of the param group."""

    swapped = "weight_decay"

    def during_step(self, index, group):
        return self.defaults["weight_decay"]


class LrFromDefaultsAdam(OptionSwappedAdam):
    """Reads the learning rate from the defaults: groups and schedulers are ignored."""

    swapped = "lr"

    def during_step(self, index, group):
        return self.defaults["lr"]


class FixedBetasAdam(TextbookAdam):
    """β1 = 0.9, β2 = 0.999 written into the step."""

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            group["betas"] = (0.9, 0.999)
        return super().step(closure)


class GroupStepAdam(TextbookAdam):
    """One step counter per param group, used as every parameter's t."""

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            group["group_step"] = group.get("group_step", 0) + 1
        return super().step(closure)

    def step_count(self, group, state):
        return group["group_step"]


class Float32StateAdam(TextbookAdam):
    def init_state(self, p, grad, state):
        state["exp_avg"] = torch.zeros_like(p, dtype=torch.float32)
        state["exp_avg_sq"] = torch.zeros_like(p, dtype=torch.float32)


class UnsavedSecondMomentAdam(TextbookAdam):
    """state_dict() leaves out exp_avg_sq."""

    def state_dict(self):
        saved = super().state_dict()
        saved["state"] = {
            index: {k: v for k, v in entry.items() if k != "exp_avg_sq"}
            for index, entry in saved["state"].items()
        }
        return saved

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        for state in self.state.values():
            state.setdefault("exp_avg_sq", torch.zeros_like(state["exp_avg"]))


class DecayAfterUpdateAdamW(TextbookAdamW):
    """Shrinks the parameter after the Adam step instead of before."""

    def decay(self, p, group):
        self._after = getattr(self, "_after", [])
        self._after.append((p, 1 - group["lr"] * group["weight_decay"]))

    @torch.no_grad()
    def step(self, closure=None):
        self._after = []
        loss = super().step(closure)
        for p, factor in self._after:
            p.mul_(factor)
        return loss


class DecayWithoutLrAdamW(TextbookAdamW):
    def decay(self, p, group):
        p.mul_(1 - group["weight_decay"])


class NormEmaAfterUseAdamNorm(TextbookAdamNorm):
    """Compares ‖g_t‖ with the previous e and updates e afterwards."""

    def corrected(self, grad, state):
        norm = float(grad.norm())
        e = state["grad_norm_ema"]
        state["grad_norm_ema"] = self.gamma * e + (1 - self.gamma) * norm
        if norm > 0.0 and e > norm:
            return grad * (e / norm)
        return grad


class FixedGammaAdamNorm(TextbookAdamNorm):
    def corrected(self, grad, state):
        self.gamma = 0.95
        return super().corrected(grad, state)


class FrictionWithoutAbsDiffGrad(TextbookDiffGrad):
    def friction(self, grad, state):
        xi = torch.sigmoid(grad - state["previous_grad"])
        state["previous_grad"] = grad.clone()
        return xi


class FrictionFromCorrectedDiffGradNorm(TextbookDiffGradNorm):
    def friction_input(self, grad, state):
        return state["corrected"]


class BeliefFromPreviousAdaBelief(TextbookAdaBelief):
    def belief(self, grad, m_new, m_old):
        return grad - m_old


class EpsOnlyOutsideAdaBelief(TextbookAdaBelief):
    """001 Alg. 7's reading: no ε inside the EMA (a documented open choice)."""

    def inner_eps(self, group):
        return 0.0


class RectifierWithoutRootRAdam(TextbookRAdam):
    def rectifier(self, rho_t, rho_inf, beta2, t):
        return super().rectifier(rho_t, rho_inf, beta2, t) ** 2


class ThresholdSixRAdam(TextbookRAdam):
    threshold = 6.0


class StrictThresholdRAdam(TextbookRAdam):
    """ρ_t > 5 as torch.optim (a documented open choice). At β2 = 0.999 no step has ρ_t = 5
    exactly, so the battery cannot tell it from the paper: it must simply not be flagged."""

    def rectified(self, rho_t):
        return rho_t > 5.0


class LazySphereNDAdam(TextbookNDAdam):
    """Puts the rows on the sphere at a tensor's first step()."""

    def on_sphere_at_construction(self, p):
        pass

    def first_step(self, p):
        super().on_sphere_at_construction(p)


class ExtraProjectionAida(TextbookAida):
    def rounds(self, group):
        return group["K"] + 1


class SequentialProjectionAida(TextbookAida):
    """Projects g onto the m just computed in the same round."""

    def project(self, a, b, xi):
        a = (a * b).sum() / ((b * b).sum() + xi) * b
        return a, (a * b).sum() / ((a * a).sum() + xi) * a


# -- the table -----------------------------------------------------------------------
@dataclass(frozen=True)
class Mutant:
    factory: Any
    method: str
    checks: tuple[str, ...]
    """The names of the checks that should see the mistake."""
    causes: tuple[str, ...]
    """Catalogue keys any one of which names the mistake."""
    kwargs: dict[str, Any] = field(default_factory=dict)


_F64 = "differential/float64"
_ROUND_TRIP = "edge/state-dict-round-trip"
_MISSING = "edge/parameter-without-gradient"
MUTANTS: tuple[Mutant, ...] = (
    Mutant(NotInPlaceAdam, "Adam", (_F64,), ("parameters-never-change",)),
    Mutant(NoBiasCorrectionAdam, "Adam", (_F64,), ("no-bias-correction",)),
    Mutant(NoFirstCorrectionAdam, "Adam", (_F64,), ("no-first-bias-correction",)),
    Mutant(NoSecondCorrectionAdam, "Adam", (_F64,), ("no-second-bias-correction",)),
    Mutant(EpsUnderRootAdam, "Adam", (_F64,), ("eps-under-root",)),
    Mutant(EpsBeforeCorrectionAdam, "Adam", (_F64,), ("eps-before-bias-correction",)),
    Mutant(EpsAccumulatedAdam, "Adam", (_F64,), ("eps_mode=inside",)),
    Mutant(EpsBothAdam, "Adam", (_F64,), ("eps_mode=both",)),
    Mutant(Float32MathAdam, "Adam", (_F64,), ("computes-in-float32",)),
    Mutant(CachedLrAdam, "Adam", ("edge/lr-change-between-steps",), ("lr-fixed-at-construction",)),
    Mutant(
        GradientMutatingAdam,
        "Adam",
        ("edge/gradient-left-unchanged",),
        ("gradient-changed-in-place",),
    ),
    Mutant(DecayIgnoringAdam, "Adam", (_F64 + "/weight-decay",), ("weight-decay-ignored",)),
    Mutant(
        DecayFromDefaultsAdam, "Adam", (_F64 + "/param-groups",), ("weight-decay-from-defaults",)
    ),
    Mutant(
        LrFromDefaultsAdam,
        "Adam",
        (_F64 + "/param-groups", "edge/lr-change-between-steps"),
        ("lr-from-defaults", "lr-fixed-at-construction"),
    ),
    Mutant(FixedBetasAdam, "Adam", (_F64 + "/non-default-hyperparameters",), ("betas-hard-coded",)),
    Mutant(GroupStepAdam, "Adam", (_MISSING,), ("step-count-per-group",)),
    Mutant(Float32StateAdam, "Adam", ("edge/state-precision",), ("float32-state",)),
    Mutant(LostStateAdam, "Adam", (_ROUND_TRIP,), ("state-not-restored",)),
    Mutant(UnsavedSecondMomentAdam, "Adam", (_ROUND_TRIP,), ("state-not-restored",)),
    Mutant(
        DecayAfterUpdateAdamW,
        "AdamW",
        (_F64 + "/weight-decay",),
        ("decay-after-update",),
    ),
    Mutant(
        DecayWithoutLrAdamW,
        "AdamW",
        (_F64 + "/weight-decay",),
        ("decay-not-scaled-by-lr",),
    ),
    Mutant(NeverFiringAdamNorm, "AdamNorm", (_F64,), ("method=Adam",)),
    Mutant(NormEmaAfterUseAdamNorm, "AdamNorm", (_F64,), ("norm-ema-after-use",)),
    Mutant(
        FixedGammaAdamNorm,
        "AdamNorm",
        (_F64 + "/non-default-hyperparameters",),
        ("gamma-hard-coded",),
    ),
    Mutant(
        AliasingDiffGrad,
        "DiffGrad",
        ("edge/gradient-buffer-reused-in-place",),
        ("state-aliases-gradient",),
    ),
    Mutant(FrictionWithoutAbsDiffGrad, "DiffGrad", (_F64,), ("friction-without-abs",)),
    Mutant(
        FrictionFromCorrectedDiffGradNorm,
        "DiffGradNorm",
        (_F64,),
        ("friction-from-corrected-gradient",),
    ),
    Mutant(BeliefFromPreviousAdaBelief, "AdaBelief", (_F64,), ("belief-from-previous-moment",)),
    Mutant(RectifierWithoutRootRAdam, "RAdam", (_F64,), ("rectifier-without-root",)),
    Mutant(ThresholdSixRAdam, "RAdam", (_F64,), ("rectify-threshold-6",)),
    Mutant(LazySphereNDAdam, "NDAdam", (_MISSING,), ("lazy-sphere-start",)),
    Mutant(ExtraProjectionAida, "Aida", (_F64,), ("projections-K=3",)),
    Mutant(SequentialProjectionAida, "Aida", (_F64,), ("projections-sequential",)),
)

CORRECT: tuple[tuple[Any, str], ...] = (
    (TextbookAdamW, "AdamW"),
    (TextbookAdaBelief, "AdaBelief"),
    (TextbookRAdam, "RAdam"),
    (TextbookDiffGradNorm, "DiffGradNorm"),
    (TextbookNDAdam, "NDAdam"),
    (TextbookAida, "Aida"),
    (ForwardingAdam, "Adam"),
)

OPEN_CHOICES: tuple[Mutant, ...] = (
    Mutant(EpsOnlyOutsideAdaBelief, "AdaBelief", (_F64,), ("eps_mode=outside",)),
    Mutant(TextbookAdamW, "Adam", (_F64 + "/weight-decay",), ("decoupled_weight_decay=True",)),
    Mutant(StrictThresholdRAdam, "RAdam", (_F64,), ("threshold_inclusive=False",)),
)


# -- added after the table: one more mutant ---------------------------------------------
class NormOfMomentAdamNorm(TextbookAdamNorm):
    """AdamNorm whose "gradient norm" is taken of the first moment m (as stored before this
    step's update) instead of the gradient g, everywhere the norm is used."""

    def corrected(self, grad, state):
        norm = float(state["exp_avg"].norm())  # the mistake: should be grad.norm()
        state["grad_norm_ema"] = self.gamma * state["grad_norm_ema"] + (1 - self.gamma) * norm
        if 0.0 < norm < state["grad_norm_ema"]:
            return grad * (state["grad_norm_ema"] / norm)
        return grad


MUTANTS = (*MUTANTS, Mutant(NormOfMomentAdamNorm, "AdamNorm", (_F64,), ("norm-from-first-moment",)))
