"""Heavy-ball momentum in torch's convention (the SGDM baseline of papers 002 and 004)."""

from __future__ import annotations

from optimizers.units.context import GroupStep, Unit


class HeavyBallMomentum(Unit):
    """``buf = μ buf + (1-dampening) g`` (``buf = g`` at the first step); direction ``buf``.

    With ``nesterov`` the direction is ``g + μ buf``.
    """

    def __call__(self, ctx: GroupStep) -> None:
        mu = ctx.group["momentum"]
        dampening = ctx.group["dampening"]
        directions = []
        for g, state in zip(ctx.grads, ctx.states, strict=True):
            if mu == 0:
                directions.append(g)
                continue
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = g.clone()
            else:
                buf.mul_(mu).add_(g, alpha=1.0 - dampening)
            directions.append(g.add(buf, alpha=mu) if ctx.group["nesterov"] else buf)
        ctx.directions = directions
