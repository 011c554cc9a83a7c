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
        execution = {n: options.pop(n) for n in hp.EXECUTION if n in options}
        unexpected = sorted(set(options) - {n for n, h in declared.items() if h.settable})
        if unexpected:
            raise TypeError(
                f"{type(self).__name__} got unexpected argument(s) {', '.join(unexpected)}"
            )
        chosen = {name: h.default for name, h in declared.items()}
        for name, value in options.items():
            if value is not None or isinstance(declared[name].domain, Optional):
                chosen[name] = value
        chosen |= {n: execution.get(n, h.default) for n, h in hp.EXECUTION.items()}
        defaults = chosen | self._validate(chosen)
        self._validated: dict[int, dict[str, Any]] = {}
        self._compiled_step: Callable[..., None] | None = None
        self._flat_layouts: dict[int, Any] = {}
        """Per param group (by id), the flat layout of the fused step (:mod:`optimizers.flat`)."""
        super().__init__(params, defaults)
        self.on_nonfinite = on_nonfinite
        self.skipped_steps: int | Tensor = 0
        if _on_device(defaults):
            # Made here, not in the first step: a tensor created inside a compiled step
            # and kept on the optimizer would be the trace's, not the one updated later.
            first = self.param_groups[0]["params"][0]
            self.skipped_steps = torch.zeros((), dtype=torch.int64, device=first.device)
        self._reported_skips = 0
        self._workspace = _new_workspace()

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self.__dict__.setdefault("on_nonfinite", "raise")
        self.__dict__.setdefault("skipped_steps", 0)
        self.__dict__["_workspace"] = _new_workspace()
        self.__dict__.setdefault("_validated", {})
        self.__dict__.setdefault("_reported_skips", 0)
        self.__dict__["_compiled_step"] = None
        self.__dict__["_flat_layouts"] = {}
        for group in self.param_groups:
            for name, h in hp.EXECUTION.items():
                group.setdefault(name, h.default)

    def _validate(
        self, group: dict[str, Any], where: str = "", only: set[str] | None = None
    ) -> dict[str, Any]:
        """:func:`optimizers._hyperparameters.validate_group` plus the execution options
        (:data:`~optimizers._hyperparameters.EXECUTION`) and a tensor ``lr``.

        A capturable group may hold its learning rate in a 0-d floating tensor (a
        scheduler then writes it in place, with no recompilation); its value is
        checked here, once (a host read), and the tensor itself is kept.
        """
        lr = group.get("lr")
        plain = group
        if isinstance(lr, Tensor):
            if not group.get("capturable"):
                raise ValueError(f"{where}lr may be a tensor only with capturable=True")
            if lr.ndim != 0 or not lr.is_floating_point():
                raise ValueError(f"{where}a tensor lr must be a 0-d floating tensor")
            plain = {**group, "lr": float(lr)}
        checked = hp.validate_group(
            self.hyperparameters, self.constraints, plain, where=where, only=only
        )
        if "lr" in checked and isinstance(lr, Tensor):
            checked["lr"] = lr
        checked.update(hp.check_declared(hp.EXECUTION, group, where=where, only=only))
        return checked

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group; its options (given or defaulted) get the constructor's validation.

        Nothing is added when an option is invalid.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, got {type(param_group).__name__}")
        merged = self.defaults | param_group
        checked = self._validate(merged, where=f"param group {len(self.param_groups)}: ")
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
                else {k for k, v in snapshot.items() if _differs(previous[k], v)}
            )
            checked = self._validate(group, where=f"param group {index}: ", only=changed)
            group.update(checked)
            self._validated[id(group)] = {k: v for k, v in group.items() if k != "params"}
        modes = {(g["capturable"], g["fused"]) for g in self.param_groups}
        if len(modes) > 1:
            raise ValueError(
                f"{type(self).__name__}: capturable and fused must be the same in every "
                "param group (the non-finite policy is applied to all groups at once)"
            )

    def state_dict(self) -> dict[str, Any]:
        """torch's state dict plus what defines the algorithm the state belongs to."""
        saved = super().state_dict()
        # One format whatever the execution mode: steps as counts, lr as a number (a
        # capturable optimizer's device counters and tensor lr are read here, off the step).
        # Under fused, state entries are views into the flat buffers: cloned, so that the
        # saved state neither changes with the next step nor carries the whole buffer.
        fused = self.param_groups[0]["fused"]
        saved["state"] = {
            key: {
                k: int(v) if k == "step" else v.clone() if fused and isinstance(v, Tensor) else v
                for k, v in entry.items()
            }
            for key, entry in saved["state"].items()
        }
        for group in saved["param_groups"]:
            if isinstance(group.get("lr"), Tensor):
                group["lr"] = float(group["lr"])
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
        execution = [{n: g[n] for n in hp.EXECUTION} for g in self.param_groups]
        super().load_state_dict(compatible_state(self, state_dict))
        # How this optimizer executes is its own choice, not part of the saved state.
        for group, modes in zip(self.param_groups, execution, strict=True):
            group.update(modes)
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state.get(p)
                if state and "step" in state:
                    state["step"] = _step_counter(state["step"], p, group["capturable"])
        self._validated.clear()
        self._compiled_step = None
        self._flat_layouts.clear()  # the loaded state is not in the flat buffers

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Take one optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        if not torch.compiler.is_compiling():
            # Traced, the options are constants guarded by torch.compile (a change
            # retraces); they were validated where they were set.
            self._check_groups()
        collected = [self._with_gradients(group) for group in self.param_groups]
        if _on_device(self.param_groups[0]):
            self._device_step(collected)
            return loss
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

    def _device_step(self, collected: list[tuple[list[Tensor], list[Tensor]]]) -> None:
        """The capturable step: no host synchronisation (docs/PERFORMANCE.md).

        Every group runs its single-tensor path with device step counters. Whether
        all gradients are finite is a device boolean: the update is computed
        anyway and then masked, so a step with a non-finite gradient leaves every
        parameter and state tensor as it was (a state entry created by that step
        stays at zero, its initial value) and adds one to the device counter
        ``skipped_steps``. Under ``fused``, steps after a parameter's first run over
        the flat layout as one compiled graph (:mod:`optimizers.fused`; the first step
        creates the state, which the layout then takes in).
        """
        grads = [g for _, gs in collected for g in gs]
        if not grads:
            return
        fresh = False
        for group, (params, _) in zip(self.param_groups, collected, strict=True):
            for p in params:
                fresh |= self._start_state(p, group)
        if isinstance(self.skipped_steps, int):
            self.skipped_steps = torch.tensor(self.skipped_steps, device=grads[0].device)
        if self.param_groups[0]["fused"] and not fresh:
            from optimizers import fused

            fused.run(self, collected)
            return
        self._masked_step(collected)

    def _masked_step(self, collected: list[tuple[list[Tensor], list[Tensor]]]) -> None:
        finite = _finite_on_device([g for _, gs in collected for g in gs])
        before = self._stepped_tensors(collected)
        saved = {slot: tensor.clone() for slot, tensor in before.items()}
        for group, (params, grads) in zip(self.param_groups, collected, strict=True):
            if params:
                self._run_recipe(group, params, grads)
        for slot, tensor in self._stepped_tensors(collected).items():
            kept = saved.get(slot)
            if kept is None:
                kept = torch.zeros_like(tensor)
            keep_where(finite.to(tensor.device), tensor, kept)
        count_skipped(self.skipped_steps, finite)  # type: ignore[arg-type]

    def _stepped_tensors(
        self, collected: list[tuple[list[Tensor], list[Tensor]]]
    ) -> dict[tuple[int, str], Tensor]:
        """What a step may change: each stepped parameter, its state tensors and the
        group-wide state, keyed by (owner, slot)."""
        tensors: dict[tuple[int, str], Tensor] = {}
        for group, (params, _) in zip(self.param_groups, collected, strict=True):
            if not params:
                continue
            for p in params:
                tensors[(id(p), "")] = p
            for p in (*params, group["params"][0]):
                for slot, value in self.state[p].items():
                    if isinstance(value, Tensor):
                        tensors[(id(p), slot)] = value
        return tensors

    def check_nonfinite(self) -> None:
        """Raise :class:`NonFiniteGradientError` if a capturable step was skipped since the
        last call and the policy is "raise" (a host read: call it outside the captured region,
        e.g. where the loss is logged). Steps skipped under "skip" are only counted."""
        skipped = int(self.skipped_steps)
        new, self._reported_skips = skipped - self._reported_skips, skipped
        if new and self.on_nonfinite == "raise":
            raise NonFiniteGradientError(
                f"{type(self).__name__}: {new} step(s) had a NaN or inf gradient and were "
                "skipped (parameters and state left as they were)"
            )

    def zero_grad(self, set_to_none: bool | None = None) -> None:
        """torch's ``zero_grad``; ``set_to_none=None`` (the default) means True, except
        under ``fused=True``, where it means False.

        A fused optimizer's gradients are views into its flat buffers
        (:mod:`optimizers.flat`): zeroed in place they stay there, and the next backward
        accumulates into the buffer. Set to None, backward allocates new gradients, which
        the next step copies in (a read and a write of every gradient). The difference
        torch documents follows: a parameter that gets no gradient in a backward then has
        a zero gradient and is stepped, as with ``set_to_none=False``; pass
        ``set_to_none=True`` for torch's default behaviour.
        """
        if set_to_none is None:
            set_to_none = not self.param_groups[0]["fused"]
        super().zero_grad(set_to_none=set_to_none)

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
        capturable = _on_device(group)
        for p in params:
            self._start_state(p, group)
            state = self.state[p]
            state["step"] += 1
            states.append(state)
            # The rates and bias corrections of a capturable step are formed in float64
            # on the device from the float32 counter (exact up to 2^24 steps).
            steps.append(state["step"].to(torch.float64) if capturable else state["step"])
        self._run_units(
            group, params=params, grads=grads, states=states, steps=steps, grad_norms=grad_norms
        )

    def _run_units(self, group: dict[str, Any], **entries: Any) -> None:
        """The recipe over one group's entries (:func:`run_units`)."""
        run_units(self.recipe, group, self._workspace, lambda: self.group_state(group), **entries)

    def _start_state(self, p: Tensor, group: dict[str, Any]) -> bool:
        """Create ``p``'s state at its first step (the units' buffers and the counter);
        whether it was created now."""
        state = self.state[p]
        if "step" in state:
            if isinstance(state["step"], Tensor) != _on_device(group):
                # The group's mode was switched: the counter follows it (a host read, once).
                wanted = not isinstance(state["step"], Tensor)
                state["step"] = _step_counter(state["step"], p, wanted)
            return False
        state["step"] = _step_counter(0, p, _on_device(group))
        for unit in self.recipe:
            state.update(unit.init_state(p, group))
        return True


def run_units(
    recipe: Sequence[Unit],
    group: dict[str, Any],
    workspace: Any,
    group_state_of: Callable[[], dict[str, Any]],
    *,
    params: list[Tensor],
    grads: list[Tensor],
    states: list[dict[str, Any]],
    steps: list[Any],
    **layout: Any,
) -> None:
    """Run ``recipe`` over one group's entries: its tensors, or the flat blocks of the fused
    step (``layout``: ``segments`` and ``exemplars``, :mod:`optimizers.flat`). ``group``
    holds the options (``params`` is not read)."""
    capturable = _on_device(group)
    foreach = group.get("foreach")
    ctx = GroupStep(
        group=group,
        params=params,
        grads=list(grads),
        states=states,
        steps=steps,
        foreach=not capturable and (True if foreach is None else foreach),
        capturable=capturable,
        rates=[group["lr"]] * len(params),
        workspace=workspace,
        group_state_of=group_state_of,
        **layout,
    )
    for unit in recipe:
        unit(ctx)


def keep_where(keep: Tensor, tensor: Tensor, kept: Tensor) -> None:
    """``tensor ← tensor where keep, else kept``, in place: the masked update of a step
    that may turn out to have a non-finite gradient (no host synchronisation)."""
    # A 0-d tensor is written through a 1-d view: aot_autograd (torch 2.13) drops the
    # final in-place write to a 0-d input of a compiled graph. (Others directly: a
    # channels_last weight has no 1-d view.)
    target = tensor.view(1) if tensor.ndim == 0 else tensor
    target.copy_(torch.where(keep, tensor, kept).reshape(target.shape))


def count_skipped(skipped: Tensor, finite: Tensor) -> None:
    """Add one to the device counter ``skipped`` unless the step's gradients were ``finite``."""
    skipped.add_((~finite).to(skipped.device, skipped.dtype))


def _on_device(group: dict[str, Any]) -> bool:
    """Whether ``group`` steps without host synchronisation (``capturable``, which
    ``fused`` implies): device step counters and the masked non-finite policy."""
    return bool(group["capturable"] or group["fused"])


def _step_counter(step: int | Tensor, param: Tensor, capturable: bool) -> int | Tensor:
    """A step count as this mode keeps it: an int, or a float32 tensor on the parameter's
    device under ``capturable`` (as torch's capturable Adam)."""
    if capturable:
        return torch.as_tensor(step, dtype=torch.float32, device=param.device).clone()
    return int(step)


def _differs(a: Any, b: Any) -> bool:
    # A tensor (a capturable lr) is compared by identity: its value is not read on the host.
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return a is not b
    return a != b


def _finite_on_device(tensors: list[Tensor]) -> Tensor:
    """Whether every entry of every tensor is finite, as a 0-d bool tensor on the first
    tensor's device (no host synchronisation)."""
    device = tensors[0].device
    flags = [torch.isfinite(t).all().to(device) for t in tensors]
    return torch.stack(flags).all()


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
        return chosen_by_shape(ctx.exemplar(i), ctx.group[self.option.name])

    def __str__(self) -> str:
        return f"NdimAtLeastTwo({self.option.name})"


def chosen_by_shape(param: Tensor, chosen: bool | None) -> bool:
    """The switch's answer for one tensor: ``chosen``, or ndim ≥ 2 where it is ``None``."""
    return param.ndim >= 2 if chosen is None else chosen


def constructor_signature(declared: hp.Table, positional: Sequence[str]) -> inspect.Signature:
    """The constructor's signature as users see it, built from the declarations.

    ``params``, then the ``positional`` options, then every other settable option
    keyword-only (``foreach`` last), then ``capturable`` and ``fused``, then
    ``on_nonfinite``; each with its declared default. Written once here instead of
    in every class, so a signature cannot disagree with the defaults the units declare.
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
            *(
                inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=h.default)
                for n, h in hp.EXECUTION.items()
            ),
            inspect.Parameter("on_nonfinite", inspect.Parameter.KEYWORD_ONLY, default="raise"),
        ]
    )
