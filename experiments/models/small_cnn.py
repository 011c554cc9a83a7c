"""A small CNN for CPU-scale runs of the training checks.

Four 3x3 conv-BN-ReLU layers (32, 64, 128, 256 channels), each followed by
2x2 max-pooling, so the wide layers run on small maps: about 15M
multiply-adds per 32x32 image and 0.39M parameters. One training epoch over
the 5,000-image embedded subset (batch 128, SGD) takes about 6 s on two CPU
cores (``width=0.75``: 0.22M parameters, about 4 s), yet the network has
BN and conv weight vectors of several shapes, which the layer- and
vector-wise optimizers care about.

Each block pools before its ReLU: max-pooling commutes with the ReLU (both are monotone
and exact), and the gradient of either order reaches the same input (the first maximum
of the window, zeroed where that maximum is not positive), so the network computes the
same function and gradients bitwise as conv-BN-ReLU-pool, with the ReLU and its
backward on a map a quarter the size.
"""

from __future__ import annotations

import torch
from torch import nn

from experiments.models._width import scaled


class SmallCNN(nn.Module):
    """conv-BN-maxpool-ReLU x 4 (= conv-BN-ReLU-maxpool), global average pool, linear head."""

    def __init__(
        self,
        num_classes: int = 10,
        width: float = 1.0,
        channels: tuple[int, ...] = (32, 64, 128, 256),
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_channels = 3
        for base in channels:
            out_channels = scaled(base, width)
            layers += [
                nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
                nn.BatchNorm2d(out_channels),
                nn.MaxPool2d(2),
                nn.ReLU(inplace=True),
            ]
            in_channels = out_channels
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(in_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map a (N, 3, H, W) batch to (N, num_classes) logits."""
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))
