"""VGG with batch normalisation for 32x32 inputs (the common CIFAR code-base variant).

Differences from the ImageNet VGG, following the widely used CIFAR code bases
(e.g. kuangliu/pytorch-cifar): every 3x3 convolution is followed by
BatchNorm + ReLU, the five max-pools reduce 32x32 to 1x1, and the three
fully connected layers are replaced by one linear layer 512 -> classes.
The convolutions keep their bias (redundant before BN, but part of the
reference definition and of its published parameter counts).
"""

from __future__ import annotations

import torch
from torch import nn

from experiments.models._width import scaled

# Channel plans: an int is a 3x3 conv with that many output channels, "M" a 2x2 max-pool.
# fmt: off
VGG_CONFIGS: dict[str, tuple[int | str, ...]] = {
    "vgg11": (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "vgg13": (64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "vgg16": (
        64, 64, "M", 128, 128, "M", 256, 256, 256, "M",
        512, 512, 512, "M", 512, 512, 512, "M",
    ),
    "vgg19": (
        64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
        512, 512, 512, 512, "M", 512, 512, 512, 512, "M",
    ),
}
# fmt: on


class VGG(nn.Module):
    """VGG-BN feature extractor followed by a single linear classifier."""

    def __init__(
        self, config: tuple[int | str, ...], num_classes: int = 10, width: float = 1.0
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_channels = 3
        for item in config:
            if item == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
                continue
            out_channels = scaled(int(item), width)
            layers += [
                nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1),
                nn.BatchNorm2d(out_channels),
                nn.ReLU(inplace=True),
            ]
            in_channels = out_channels
        self.features = nn.Sequential(*layers)
        # On 32x32 inputs the map is already 1x1 here; the adaptive pool lets the
        # same network accept larger inputs (64x64 TinyImageNet) without a new head.
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(in_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map a (N, 3, H, W) batch to (N, num_classes) logits."""
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


def vgg(name: str, num_classes: int = 10, width: float = 1.0) -> VGG:
    """Build the VGG variant ``name`` (``vgg11``, ``vgg13``, ``vgg16`` or ``vgg19``)."""
    return VGG(VGG_CONFIGS[name], num_classes=num_classes, width=width)
