"""Name -> constructor registry and the ``build_model`` factory.

Experiment configs refer to architectures by name; keeping the mapping in
one place lets the training code stay architecture-agnostic.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from torch import nn

from experiments.models.resnet import resnet18, resnet34, resnet50
from experiments.models.small_cnn import SmallCNN
from experiments.models.vgg import vgg
from experiments.models.wide_resnet import wide_resnet

ModelFactory = Callable[[int, float], nn.Module]

MODEL_REGISTRY: dict[str, ModelFactory] = {
    "small_cnn": lambda c, w: SmallCNN(c, w),
    "vgg11": lambda c, w: vgg("vgg11", c, w),
    "vgg13": lambda c, w: vgg("vgg13", c, w),
    "vgg16": lambda c, w: vgg("vgg16", c, w),
    "vgg19": lambda c, w: vgg("vgg19", c, w),
    "resnet18": resnet18,
    "resnet34": resnet34,
    "resnet50": resnet50,
    # The ND-Adam paper's two networks, plus the small WRN often used for quick runs.
    "wrn-16-4": lambda c, w: wide_resnet(16, 4, c, w),
    "wrn-22-7.5": lambda c, w: wide_resnet(22, 7.5, c, w),
    "wrn-28-10": lambda c, w: wide_resnet(28, 10, c, w),
}

# Any other WRN-d-k is accepted too (e.g. "wrn-40-4", "WRN_22_7.5").
_WRN_PATTERN = re.compile(r"^wrn-(\d+)-(\d+(?:\.\d+)?)$")


def _canonical(name: str) -> str:
    # Users write "ResNet18", "wrn_28_10", "small-cnn"; compare in one spelling.
    key = name.strip().lower().replace("_", "-")
    return "small_cnn" if key == "small-cnn" else key


def available_models() -> list[str]:
    """Return the registered model names (WRN-d-k names beyond these also work)."""
    return sorted(MODEL_REGISTRY)


def build_model(name: str, num_classes: int = 10, width: float = 1.0) -> nn.Module:
    """Build the network ``name`` for 32x32 inputs with ``num_classes`` outputs.

    ``width`` multiplies every layer's channel count (1.0 = the published
    architecture), for reduced-scale runs. Raises ``KeyError`` listing the
    known names when ``name`` is not recognised.
    """
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    key = _canonical(name)
    if key in MODEL_REGISTRY:
        return MODEL_REGISTRY[key](num_classes, width)
    match = _WRN_PATTERN.match(key)
    if match:
        return wide_resnet(int(match[1]), float(match[2]), num_classes, width)
    raise KeyError(
        f"unknown model {name!r}; known: {', '.join(available_models())} (or any 'wrn-<d>-<k>')"
    )


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameter elements; BN running statistics are buffers, not counted."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
