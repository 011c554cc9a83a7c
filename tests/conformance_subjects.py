"""Optimizers written for the conformance self-test: textbook versions, and broken ones.

The textbook classes are a third implementation, written here from the papers
(plainly, one tensor at a time) so that the conformance checker is shown to pass
an independent correct implementation and not only the suite's own. Each broken
class changes one thing, the way real implementations go wrong.
"""

from __future__ import annotations

import contextlib

import torch


class TextbookAdam(torch.optim.Optimizer):
    """Adam (paper 000 Alg. 1), L2 weight decay into the gradient."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        if lr < 0 or eps < 0 or weight_decay < 0 or not all(0 <= b < 1 for b in betas):
            raise ValueError("invalid hyperparameter")
        super().__init__(
            params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay}
        )

    def first_moment_input(self, grad, state):
        return grad

    def denominator(self, v_hat, eps):
        return v_hat.sqrt().add_(eps)

    def bias_corrections(self, beta1, beta2, t):
        return 1 - beta1**t, 1 - beta2**t

    def friction(self, grad, state):
        return 1.0

    def apply(self, p, update):
        p.sub_(update)

    def init_state(self, p, grad, state):
        state["exp_avg"] = torch.zeros_like(p)
        state["exp_avg_sq"] = torch.zeros_like(p)

    def second_moment(self, v, grad, beta2, eps):
        return v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)

    def step_count(self, group, state):
        return state["step"]

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                if group["weight_decay"]:
                    grad = grad.add(p, alpha=group["weight_decay"])
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    self.init_state(p, grad, state)
                state["step"] += 1
                t = self.step_count(group, state)
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m.mul_(beta1).add_(self.first_moment_input(grad, state), alpha=1 - beta1)
                self.second_moment(v, grad, beta2, group["eps"])
                bc1, bc2 = self.bias_corrections(beta1, beta2, t)
                denominator = self.denominator(v / bc2, group["eps"])
                update = group["lr"] * self.friction(grad, state) * (m / bc1) / denominator
                self.apply(p, update)
        return loss


class TextbookAdamNorm(TextbookAdam):
    """AdamNorm (paper 000 Alg. 2): m_t built from s_t = (e_t/‖g_t‖) g_t when e_t > ‖g_t‖."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, gamma=0.95):
        super().__init__(params, lr, betas, eps, weight_decay)
        self.gamma = gamma

    def init_state(self, p, grad, state):
        super().init_state(p, grad, state)
        state["grad_norm_ema"] = 0.0

    def corrected(self, grad, state):
        norm = float(grad.norm())
        state["grad_norm_ema"] = self.gamma * state["grad_norm_ema"] + (1 - self.gamma) * norm
        if norm == 0.0:
            return torch.zeros_like(grad)
        if state["grad_norm_ema"] > norm:
            return grad * (state["grad_norm_ema"] / norm)
        return grad

    def first_moment_input(self, grad, state):
        return self.corrected(grad, state)


class TextbookDiffGrad(TextbookAdam):
    """diffGrad (paper 001 Alg. 3): the step times sigmoid(|g_t - g_{t-1}|), g_0 = 0."""

    def init_state(self, p, grad, state):
        super().init_state(p, grad, state)
        state["previous_grad"] = torch.zeros_like(p)

    def remember(self, grad):
        return grad.clone()

    def friction(self, grad, state):
        xi = torch.sigmoid((grad - state["previous_grad"]).abs())
        state["previous_grad"] = self.remember(grad)
        return xi


# -- broken on purpose -----------------------------------------------------------
class NotInPlaceAdam(TextbookAdam):
    """The update is computed, then bound to a local name: the parameter never moves."""

    def apply(self, p, update):
        p = p - update


class NoBiasCorrectionAdam(TextbookAdam):
    """Forgets 1-β1^t and 1-β2^t."""

    def bias_corrections(self, beta1, beta2, t):
        return 1.0, 1.0


class EpsUnderRootAdam(TextbookAdam):
    """sqrt(v̂ + ε) instead of sqrt(v̂) + ε."""

    def denominator(self, v_hat, eps):
        return (v_hat + eps).sqrt()


class AliasingDiffGrad(TextbookDiffGrad):
    """Keeps the previous gradient by reference: when training writes the next gradient
    into the same .grad tensor, 'previous' silently becomes the current one."""

    def remember(self, grad):
        return grad


class NeverFiringAdamNorm(TextbookAdamNorm):
    """Computes the corrected s_t, then feeds the raw gradient to the first moment."""

    def first_moment_input(self, grad, state):
        self.corrected(grad, state)
        return grad


class LostStateAdam(TextbookAdam):
    """state_dict() drops the step count, so a restored run restarts bias correction."""

    def state_dict(self):
        saved = super().state_dict()
        for entry in saved["state"].values():
            entry["step"] = 0
        return saved


@contextlib.contextmanager
def _weight_decay_switched_off(optimizer: torch.optim.Optimizer):
    """Run the textbook step without its own decay (the subclass handles it, or not)."""
    decays = [group["weight_decay"] for group in optimizer.param_groups]
    for group in optimizer.param_groups:
        group["weight_decay"] = 0.0
    try:
        yield
    finally:
        for group, decay in zip(optimizer.param_groups, decays, strict=True):
            group["weight_decay"] = decay


class GradientMutatingAdam(TextbookAdam):
    """Adds the L2 decay into p.grad itself, so the caller's gradient changes."""

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None and group["weight_decay"]:
                    p.grad.add_(p, alpha=group["weight_decay"])
        with _weight_decay_switched_off(self):
            return super().step(closure)


class DecayIgnoringAdam(TextbookAdam):
    """Accepts weight_decay and never applies it."""

    @torch.no_grad()
    def step(self, closure=None):
        with _weight_decay_switched_off(self):
            return super().step(closure)
