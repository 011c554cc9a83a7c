"""CIFAR-style (32x32 input) networks for the training checks.

``build_model(name, num_classes=10, width=1.0)`` is the entry point; see
:data:`MODEL_REGISTRY` for the names.
"""

from experiments.models.registry import (
    MODEL_REGISTRY,
    available_models,
    build_model,
    count_parameters,
)
from experiments.models.resnet import BasicBlock, Bottleneck, ResNet
from experiments.models.small_cnn import SmallCNN
from experiments.models.vgg import VGG
from experiments.models.wide_resnet import WideBasicBlock, WideResNet

__all__ = [
    "MODEL_REGISTRY",
    "VGG",
    "BasicBlock",
    "Bottleneck",
    "ResNet",
    "SmallCNN",
    "WideBasicBlock",
    "WideResNet",
    "available_models",
    "build_model",
    "count_parameters",
]
