"""The ``torch.optim.Optimizer`` that runs a recipe of units over each param group."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch import Tensor
from torch.utils.weak import WeakIdKeyDictionary

from optimizers._validation import check_choice, check_interval
from optimizers.units.context import GroupStep, Unit

NONFINITE_POLICIES = ("raise", "skip")


class NonFiniteGradientError(FloatingPointError):
    """A gradient holds NaN or ±inf; no parameter or state was changed."""


class RecipeOptimizer(torch.optim.Optimizer):
    """An optimizer defined by an ordered recipe of :class:`~optimizers.units.Unit` s.

    Subclasses validate their hyperparameters, put them in ``defaults`` and
    name their recipe; this class does what every optimizer shares: closures,
    lazy state, the step counter, sparse/complex rejection and the non-finite
    gradient policy.

    ``on_nonfinite``: "raise" (default) raises :class:`NonFiniteGradientError`
    before anything is changed; "skip" leaves parameters and state untouched,
    counts the skipped step in ``skipped_steps`` and returns. Either way the
    check is made for all groups before any update, so nothing is half-applied.
    """

    recipe: Sequence[Unit] = ()

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        defaults: dict[str, Any],
        *,
        on_nonfinite: str = "raise",
    ) -> None:
        check_choice("on_nonfinite", on_nonfinite, NONFINITE_POLICIES)
        foreach = defaults.get("foreach")
        if foreach is not None and not isinstance(foreach, bool):
            raise ValueError(f"foreach must be None, True or False, got {foreach!r}")
        check_interval("lr", defaults["lr"], 0.0)
        super().__init__(params, defaults)
        self.on_nonfinite = on_nonfinite
        self.skipped_steps = 0
        self._workspace = _new_workspace()

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self.__dict__.setdefault("on_nonfinite", "raise")
        self.__dict__.setdefault("skipped_steps", 0)
        self.__dict__["_workspace"] = _new_workspace()

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Take one optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        collected = [self._with_gradients(group) for group in self.param_groups]
        finite, norms = _all_finite([grad for _, grads in collected for grad in grads])
        if not finite:
            if self.on_nonfinite == "raise":
                raise NonFiniteGradientError(
                    f"{type(self).__name__}: a gradient contains NaN or inf; "
                    "no parameter or optimizer state was changed"
                )
            self.skipped_steps += 1
            return loss
        start = 0
        for group, (params, grads) in zip(self.param_groups, collected, strict=True):
            if params:
                self._run_recipe(group, params, grads, norms[start : start + len(grads)])
            start += len(grads)
        return loss

    def group_state(self, group: dict[str, Any]) -> dict[str, Any]:
        """The home of a group's group-wide quantities (AdaNorm's global norm EMA).

        torch serialises per-parameter state only, so group-wide state is kept
        in the state entry of a stable anchor: the group's first parameter,
        whether or not it has a gradient this step. (Anchoring it on "the
        first parameter with a gradient" restarted the EMA whenever that
        parameter had none.) The entry round-trips through ``state_dict``.
        """
        return self.state[group["params"][0]]

    def _with_gradients(self, group: dict[str, Any]) -> tuple[list[Tensor], list[Tensor]]:
        params, grads = [], []
        for p in group["params"]:
            if p.grad is None:
                continue
            if p.grad.is_sparse:
                raise TypeError(f"{type(self).__name__} does not support sparse gradients")
            if torch.is_complex(p):
                raise TypeError(
                    f"{type(self).__name__} does not support complex parameters; "
                    "pass torch.view_as_real(param) instead"
                )
            params.append(p)
            grads.append(p.grad)
        return params, grads

    def _run_recipe(
        self,
        group: dict[str, Any],
        params: list[Tensor],
        grads: list[Tensor],
        grad_norms: list[Tensor] | None = None,
    ) -> None:
        states, steps = [], []
        for p in params:
            state = self.state[p]
            if "step" not in state:
                state["step"] = 0
                for unit in self.recipe:
                    state.update(unit.init_state(p, group))
            state["step"] += 1
            states.append(state)
            steps.append(state["step"])
        foreach = group.get("foreach")
        ctx = GroupStep(
            group=group,
            params=params,
            grads=list(grads),
            states=states,
            steps=steps,
            foreach=True if foreach is None else foreach,
            rates=[group["lr"]] * len(params),
            workspace=self._workspace,
            group_state_of=lambda: self.group_state(group),
            grad_norms=grad_norms,
        )
        for unit in self.recipe:
            unit(ctx)


def _new_workspace() -> WeakIdKeyDictionary:
    """Scratch buffers of the multi-tensor paths (GroupStep.buffers), keyed by parameter.

    Not state: neither ``state_dict`` nor pickling carries them. Weak keys, so
    that the workspace never keeps a parameter alive: once a parameter is
    gone (dropped from the optimizer and freed), its buffers go with it, and
    the workspace holds at most one set of buffers per live parameter. (Weak
    rather than cleared on a param-group change: torch offers no hook for a
    parameter leaving, and a parameter still in use keeps its buffers.)
    """
    return WeakIdKeyDictionary()


def _all_finite(tensors: list[Tensor]) -> tuple[bool, list[Tensor]]:
    """Whether every gradient is finite, and each gradient's L2 norm.

    A non-finite entry makes the norm of its tensor NaN or inf, so finite L2
    norms prove finite gradients with one cheap read of each (the max-abs norm
    runs several times slower on the CPU). A norm can also overflow from finite
    entries (float32 above ~1e19, float16 above ~256), so a non-finite norm is
    settled by the exact max-abs check. The norms are handed to the recipe,
    where AdaNorm's correction needs exactly these. One host synchronisation
    per step remains: raising needs a Python bool.
    """
    norms: list[Tensor] = [None] * len(tensors)  # type: ignore[list-item]
    by_kind: dict[tuple[torch.device, torch.dtype], list[int]] = defaultdict(list)
    for i, t in enumerate(tensors):
        by_kind[(t.device, t.dtype)].append(i)
    for indices in by_kind.values():
        group = [tensors[i] for i in indices]
        kind_norms = torch._foreach_norm(group)
        for i, norm in zip(indices, kind_norms, strict=True):
            norms[i] = norm
        if not bool(torch.stack(kind_norms).isfinite().all()):
            peaks = torch._foreach_norm(group, math.inf)
            if not bool(torch.stack(peaks).isfinite().all()):
                return False, norms
    return True, norms


def ndim_at_least_two(option: str) -> Callable[[GroupStep, int], bool]:
    """A per-tensor switch read from a group option: ``None`` means "tensors with ndim ≥ 2".

    ND-Adam's weight vectors and AdaRem-S's sphere tensors are the weights that
    feed a unit (and, in a normalised network, are scale invariant); biases and
    normalisation scales are 0-d or 1-d.
    """

    def applies(ctx: GroupStep, i: int) -> bool:
        chosen = ctx.group[option]
        return ctx.params[i].ndim >= 2 if chosen is None else chosen

    return applies
