"""Which saved states an optimizer may resume from, checked before anything is loaded.

torch's ``load_state_dict`` takes any dict with the right number of groups and
parameters: Adam's state would load into AdaBelief (and switch its ε
placement), SGDM's into AdamNorm (and fail at the next step). Our state dicts
therefore carry the method's name and recipe, and a state is accepted only
for the same recipe, with every group option present and valid and every
buffer shaped to broadcast against its parameter. torch's own Adam, AdamW and
RAdam states (:data:`TORCH_ADAM`, :data:`TORCH_RADAM`) are translated onto
ours where the class declares that it computes the same thing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from optimizers import _hyperparameters as hp


def recipe_identity(recipe: Iterable[Any]) -> list[str]:
    """What defines the algorithm: each unit's class and its construction arguments.

    Stable across processes (functions by qualified name), so it can be saved.
    """
    return [_describe(unit) for unit in recipe]


def _describe(unit: Any) -> str:
    parts = []
    for key, value in sorted(vars(unit).items()):
        if key == "hyperparameters":
            continue
        if isinstance(value, str | int | float | bool | None):
            text = repr(value)
        elif hasattr(value, "__qualname__"):
            text = value.__qualname__
        else:
            text = str(value)
        parts.append(f"{key}={text}")
    return f"{type(unit).__name__}({', '.join(parts)})"


@dataclass(frozen=True)
class TorchFormat:
    """A ``torch.optim`` optimizer's state format and how it maps onto ours.

    ``required``: group keys that identify the format (all present);
    ``absent``: keys it never has; ``refused``: options of torch's that we do
    not implement (accepted only when false); ``options``: our group options
    from torch's group.
    """

    name: str
    required: frozenset[str]
    absent: frozenset[str]
    refused: tuple[str, ...]
    options: Callable[[Mapping[str, Any]], dict[str, Any]]

    def matches(self, group: Mapping[str, Any]) -> bool:
        return self.required <= set(group) and not (self.absent & set(group))


def _adam_options(group: Mapping[str, Any]) -> dict[str, Any]:
    # torch's Adam and AdamW: ε after the root of v̂, decay L2 or decoupled (θ(1 - lr·wd)).
    return {
        "lr": group["lr"],
        "betas": group["betas"],
        "eps": group["eps"],
        "weight_decay": group["weight_decay"],
        "decoupled_weight_decay": bool(group.get("decoupled_weight_decay", False)),
        "eps_mode": "outside",
        "foreach": group.get("foreach"),
    }


def _radam_options(group: Mapping[str, Any]) -> dict[str, Any]:
    # torch's RAdam rectifies where ρ_t > 5 (strictly).
    return _adam_options(group) | {"rectify_threshold": 5.0, "threshold_inclusive": False}


_TORCH_ONLY = frozenset({"maximize", "differentiable", "amsgrad"})
"""Group keys only torch's optimizers write: a dict with one of them is torch's format.
(``capturable`` and ``fused`` are ours too: :data:`optimizers._hyperparameters.EXECUTION`.)"""

TORCH_ADAM = TorchFormat(
    "torch.optim.Adam/AdamW",
    required=frozenset({"lr", "betas", "eps", "weight_decay", "amsgrad"}),
    absent=frozenset(),
    refused=("amsgrad", "maximize"),
    options=_adam_options,
)
TORCH_RADAM = TorchFormat(
    "torch.optim.RAdam",
    required=frozenset({"lr", "betas", "eps", "weight_decay", "maximize"}),
    absent=frozenset({"amsgrad", "momentum_decay", "nesterov"}),
    refused=("maximize",),
    options=_radam_options,
)


def compatible_state(optimizer: Any, state_dict: Mapping[str, Any]) -> dict[str, Any]:
    """``state_dict`` in our format for ``optimizer``, or ``ValueError`` saying why not.

    Reads only; the optimizer is not touched (torch's loader then replaces groups
    and state in one go).
    """
    name = type(optimizer).__name__
    if not isinstance(state_dict, Mapping) or not {"state", "param_groups"} <= set(state_dict):
        raise ValueError(f"{name}: a state dict has 'state' and 'param_groups'")
    groups = state_dict["param_groups"]
    if any(_TORCH_ONLY & set(group) for group in groups) and "recipe" not in state_dict:
        return _from_torch(optimizer, state_dict)
    saved_recipe = state_dict.get("recipe")
    if saved_recipe is not None and list(saved_recipe) != recipe_identity(optimizer.recipe):
        raise ValueError(
            f"{name} cannot load the state of {state_dict.get('optimizer', 'another optimizer')}: "
            "the algorithms differ (recipes "
            f"{_units(saved_recipe)} and {_units(recipe_identity(optimizer.recipe))})"
        )
    translated = dict(state_dict)
    translated["param_groups"] = _checked_groups(optimizer, groups)
    _check_buffers(optimizer, translated)
    return translated


def _from_torch(optimizer: Any, state_dict: Mapping[str, Any]) -> dict[str, Any]:
    name = type(optimizer).__name__
    groups = state_dict["param_groups"]
    formats = [f for f in optimizer.torch_formats if all(f.matches(g) for g in groups)]
    if not formats:
        raise ValueError(
            f"{name} cannot load this torch.optim state: it resumes only "
            + (", ".join(f.name for f in optimizer.torch_formats) or "states of its own class")
            + " (group keys "
            + ", ".join(sorted(k for k in groups[0] if k != "params"))
            + ")"
        )
    chosen = formats[0]
    translated_groups = []
    for index, group in enumerate(groups):
        for option in chosen.refused:
            if group.get(option):
                raise ValueError(
                    f"{name} cannot load this {chosen.name} state: param group {index} has "
                    f"{option}=True, which {name} does not implement"
                )
        keep = {k: group[k] for k in ("params", "param_names") if k in group}
        translated_groups.append({**chosen.options(group), **keep})
    state = {}
    for key, entry in state_dict["state"].items():
        entry = dict(entry)
        step = entry.get("step")
        if isinstance(step, torch.Tensor):
            entry["step"] = int(step.item())
        state[key] = entry
    translated = {"state": state, "param_groups": _checked_groups(optimizer, translated_groups)}
    _check_buffers(optimizer, translated)
    return translated


def _checked_groups(optimizer: Any, groups: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    checked = []
    for index, group in enumerate(groups):
        try:
            options = hp.validate_group(
                optimizer.hyperparameters,
                optimizer.constraints,
                group,
                where=f"param group {index}: ",
            )
        except ValueError as error:
            raise ValueError(
                f"{type(optimizer).__name__} cannot load this state: {error}"
            ) from None
        checked.append({**copy.copy(dict(group)), **options})
    return checked


def _check_buffers(optimizer: Any, state_dict: Mapping[str, Any]) -> None:
    """Every saved tensor must broadcast against its parameter, ``step`` be a count, and a
    started parameter hold every buffer the recipe's units create at its first step (a
    state without them would fail in the middle of the next step)."""
    name = type(optimizer).__name__
    if len(state_dict["param_groups"]) != len(optimizer.param_groups):
        return  # torch's own check says so
    ids = [i for group in state_dict["param_groups"] for i in group["params"]]
    owners = [(p, g) for g in optimizer.param_groups for p in g["params"]]
    by_id = dict(zip(ids, owners, strict=False))
    for key, entry in state_dict["state"].items():
        if key not in by_id:
            continue
        param, group = by_id[key]
        if "step" in entry:
            created = {k for unit in optimizer.recipe for k in unit.init_state(param, group)}
            missing = sorted(created - set(entry))
            if missing:
                raise ValueError(
                    f"{name} cannot load this state: parameter {key} has no " + ", ".join(missing)
                )
        for slot, value in entry.items():
            if slot == "step":
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ValueError(f"{name} cannot load this state: step of {key} is {value!r}")
            elif isinstance(value, torch.Tensor):
                try:
                    fits = torch.broadcast_shapes(value.shape, param.shape) == param.shape
                except RuntimeError:
                    fits = False
                if not fits:
                    raise ValueError(
                        f"{name} cannot load this state: {slot} of parameter {key} has shape "
                        f"{tuple(value.shape)}, its parameter {tuple(param.shape)}"
                    )


def _units(identity: Iterable[str]) -> str:
    return "[" + ", ".join(text.split("(", 1)[0] for text in identity) + "]"
