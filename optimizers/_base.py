"""The ``torch.optim.Optimizer`` that runs a recipe of units over each param group."""

from __future__ import annotations

import inspect
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor
from torch.utils.weak import WeakIdKeyDictionary

from optimizers import _hyperparameters as hp
from optimizers._state_compat import compatible_state, recipe_identity
from optimizers._validation import Choice, Optional
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
    default_options: ClassVar[dict[str, Any]] = {}
    """Defaults of this method where they differ from the units' declarations."""
    pinned_options: ClassVar[dict[str, Any]] = {}
    """Options the recipe's units read but this method fixes (not constructor arguments)."""
    torch_formats: ClassVar[tuple[Any, ...]] = ()
    """``torch.optim`` state formats this method can resume from (same definition)."""
    positional_options: ClassVar[tuple[str, ...]] = ()
    """The options a caller may pass by position after ``params``, in torch's order
    (``lr, betas, eps, weight_decay``, then the method's own); the others are keyword-only."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.recipe:
            return  # an abstract base (only the positional order and defaults): nothing to run
        cls.hyperparameters = hp.table(cls.recipe, cls.default_options, cls.pinned_options)
        cls.constraints = hp.constraints(cls.recipe)
        cls.__signature__ = constructor_signature(cls.hyperparameters, cls.positional_options)

    hyperparameters: ClassVar[hp.Table] = hp.table(())
    """Every group option of this method (:func:`optimizers._hyperparameters.table`)."""
    constraints: ClassVar[tuple[hp.Constraint, ...]] = ()

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        *values: Any,
        on_nonfinite: str = "raise",
        **options: Any,
    ) -> None:
        """Build from the group options (unnamed ones take their defaults).

        ``values`` are the :attr:`positional_options` in order; the class's
        ``__signature__`` (what ``help`` and ``inspect.signature`` show) lists every
        option with its default. ``None`` for an option whose domain has no ``None``
        (``eps_mode``) means the class's default.
        """
        name = type(self).__name__
        if len(values) > len(self.positional_options):
            raise TypeError(
                f"{name}() takes at most {len(self.positional_options)} options by position "
                f"({', '.join(self.positional_options)}), got {len(values)}"
            )
        for option, value in zip(self.positional_options, values, strict=False):
            if option in options:
                raise TypeError(f"{name}() got multiple values for argument {option!r}")
            options[option] = value
        Choice(NONFINITE_POLICIES).check("on_nonfinite", on_nonfinite)
        declared = self.hyperparameters
        unexpected = sorted(set(options) - {n for n, h in declared.items() if h.settable})
        if unexpected:
            raise TypeError(
                f"{type(self).__name__} got unexpected argument(s) {', '.join(unexpected)}"
            )
        chosen = {name: h.default for name, h in declared.items()}
        for name, value in options.items():
            if value is not None or isinstance(declared[name].domain, Optional):
                chosen[name] = value
        defaults = hp.validate_group(declared, self.constraints, chosen)
        self._validated: dict[int, dict[str, Any]] = {}
        super().__init__(params, defaults)
        self.on_nonfinite = on_nonfinite
        self.skipped_steps = 0
        self._workspace = _new_workspace()

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self.__dict__.setdefault("on_nonfinite", "raise")
        self.__dict__.setdefault("skipped_steps", 0)
        self.__dict__["_workspace"] = _new_workspace()
        self.__dict__.setdefault("_validated", {})

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group; its options (given or defaulted) get the constructor's validation.

        Nothing is added when an option is invalid.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, got {type(param_group).__name__}")
        merged = self.defaults | param_group
        checked = hp.validate_group(
            self.hyperparameters,
            self.constraints,
            merged,
            where=f"param group {len(self.param_groups)}: ",
        )
        given = {name: checked[name] for name in param_group if name in checked}
        super().add_param_group({**param_group, **given})
        try:
            with torch.no_grad():
                self._start_group(self.param_groups[-1])
        except ValueError:
            self.param_groups.pop()  # refused whole: the hook checks before it changes
            raise

    def _start_group(self, group: dict[str, Any]) -> None:
        """Prepare a new group's parameters (a method's initialisation step); raise
        ``ValueError`` before changing anything if they do not suit it."""

    def _check_groups(self) -> None:
        """Validate every group as the constructor would (a scheduler or a user may have
        edited one), before anything is changed; unchanged groups are not re-checked."""
        for index, group in enumerate(self.param_groups):
            snapshot = {k: v for k, v in group.items() if k != "params"}
            previous = self._validated.get(id(group))
            if previous == snapshot:
                continue
            # A scheduler changes lr every step: check what changed (all if keys did).
            changed = (
                None
                if previous is None or previous.keys() != snapshot.keys()
                else {k for k, v in snapshot.items() if previous[k] != v}
            )
            checked = hp.validate_group(
                self.hyperparameters,
                self.constraints,
                group,
                where=f"param group {index}: ",
                only=changed,
            )
            group.update(checked)
            self._validated[id(group)] = {k: v for k, v in group.items() if k != "params"}

    def state_dict(self) -> dict[str, Any]:
        """torch's state dict plus what defines the algorithm the state belongs to."""
        saved = super().state_dict()
        saved["optimizer"] = type(self).__name__
        saved["recipe"] = recipe_identity(self.recipe)
        return saved

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state of this method (or of a torch optimizer with the same definition).

        A state of another method, with a missing, unknown or invalid group
        option, or with buffers that do not fit the parameters is refused with a
        ``ValueError`` before anything is changed. torch's Adam, AdamW and RAdam
        states load into the classes that declare them in ``torch_formats``.
        """
        super().load_state_dict(compatible_state(self, state_dict))
        self._validated.clear()

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Take one optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self._check_groups()
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


@dataclass(frozen=True)
class NdimAtLeastTwo:
    """A per-tensor switch read from a group option: ``None`` means "tensors with ndim ≥ 2".

    ND-Adam's weight vectors and AdaRem-S's sphere tensors are the weights that
    feed a unit (and, in a normalised network, are scale invariant); biases and
    normalisation scales are 0-d or 1-d. The option is declared with the switch,
    so a unit that takes it declares it too.
    """

    option: hp.Hyperparameter

    @property
    def hyperparameters(self) -> tuple[hp.Hyperparameter, ...]:
        return (self.option,)

    def __call__(self, ctx: GroupStep, i: int) -> bool:
        return chosen_by_shape(ctx.params[i], ctx.group[self.option.name])

    def __str__(self) -> str:
        return f"NdimAtLeastTwo({self.option.name})"


def chosen_by_shape(param: Tensor, chosen: bool | None) -> bool:
    """The switch's answer for one tensor: ``chosen``, or ndim ≥ 2 where it is ``None``."""
    return param.ndim >= 2 if chosen is None else chosen


def constructor_signature(declared: hp.Table, positional: Sequence[str]) -> inspect.Signature:
    """The constructor's signature as users see it, built from the declarations.

    ``params``, then the ``positional`` options, then every other settable option
    keyword-only (``foreach`` last), then ``on_nonfinite``; each with its declared
    default. Written once here instead of in every class, so a signature cannot
    disagree with the defaults the units declare.
    """
    undeclared = sorted(set(positional) - set(declared))
    if undeclared:
        raise TypeError(f"positional option(s) {', '.join(undeclared)} not declared")
    settable = [n for n, h in declared.items() if h.settable and n not in positional]
    keyword = sorted(settable, key=lambda n: n == "foreach")  # stable: foreach moves last

    def option(name: str, kind: inspect._ParameterKind) -> inspect.Parameter:
        return inspect.Parameter(name, kind, default=declared[name].default)

    return inspect.Signature(
        [
            inspect.Parameter("params", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            *(option(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in positional),
            *(option(n, inspect.Parameter.KEYWORD_ONLY) for n in keyword),
            inspect.Parameter("on_nonfinite", inspect.Parameter.KEYWORD_ONLY, default="raise"),
        ]
    )
