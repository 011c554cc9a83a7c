"""Heavy-ball momentum in torch's convention (the SGDM baseline of papers 002 and 004)."""

from __future__ import annotations

import torch

from optimizers._hyperparameters import Constraint, Hyperparameter
from optimizers._validation import Flag, Interval
from optimizers.units.context import GroupStep, Unit


class HeavyBallMomentum(Unit):
    """``buf = μ buf + (1-dampening) g`` (``buf = g`` at the first step); direction ``buf``.

    With ``nesterov`` the direction is ``g + μ buf``.
    """

    traced = ("direction", "directions")
    """What the invariant runners record after this unit: (trace key, context field, ...)."""
    hyperparameters = (
        Hyperparameter(
            "momentum", Interval(0.0, 1.0, high_open=True), 0.9, "μ ∈ [0, 1) (torch's SGD)", (0.0,)
        ),
        Hyperparameter(
            "dampening",
            Interval(0.0, 1.0),
            0.0,
            "the gradient enters with weight 1 - dampening",
            (0.5,),
        ),
        Hyperparameter("nesterov", Flag(), False, "Nesterov's look-ahead direction g + μ buf"),
    )
    constraints = (
        Constraint(
            ("nesterov", "momentum", "dampening"),
            lambda o: not o["nesterov"] or (o["momentum"] > 0 and o["dampening"] == 0),
            "nesterov requires momentum > 0 and dampening = 0",
        ),
    )

    def __call__(self, ctx: GroupStep) -> None:
        mu = ctx.group["momentum"]
        dampening = ctx.group["dampening"]
        directions = []
        for g, state, t in zip(ctx.grads, ctx.states, ctx.steps, strict=True):
            if mu == 0:
                directions.append(g)
                continue
            buf = state.get("momentum_buffer")
            if ctx.capturable:
                # The buffer exists from the first step (zero), and "buf = g at the
                # first step" is a selection on the device step count.
                if buf is None:
                    buf = state["momentum_buffer"] = torch.zeros_like(g)
                buf.copy_(torch.where(t == 1, g, buf * mu + g * (1.0 - dampening)))
                directions.append(g.add(buf, alpha=mu) if ctx.group["nesterov"] else buf)
                continue
            if buf is None:
                buf = state["momentum_buffer"] = g.clone()
            else:
                buf.mul_(mu).add_(g, alpha=1.0 - dampening)
            directions.append(g.add(buf, alpha=mu) if ctx.group["nesterov"] else buf)
        ctx.directions = directions
