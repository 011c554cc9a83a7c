"""Wide residual networks WRN-d-k (Zagoruyko & Komodakis, 2016) for 32x32 inputs.

Used by the ND-Adam paper (WRN-22-7.5, WRN-28-10). Structure as in the
authors' reference implementation: a 3x3 conv with 16 channels, three
groups of n = (d - 4) / 6 pre-activation blocks with 16k, 32k and 64k
channels (stride 2 at the start of groups 2 and 3), then BN-ReLU, global
average pooling and a linear layer. Each block is
BN-ReLU-conv3x3-(dropout)-BN-ReLU-conv3x3; where the shape changes the
shortcut is a 1x1 conv applied to the *pre-activated* input, as in the
reference code. Convolutions have no bias (every one is followed by BN).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from experiments.models._width import scaled


class WideBasicBlock(nn.Module):
    """Pre-activation block: BN-ReLU-conv3x3-dropout-BN-ReLU-conv3x3 plus shortcut."""

    def __init__(
        self, in_channels: int, out_channels: int, stride: int, dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, stride=1, padding=1, bias=False)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.shortcut: nn.Module | None = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``F(x) + shortcut``; a projection shortcut sees the pre-activated input."""
        o1 = F.relu(self.bn1(x))
        y = self.conv1(o1)
        y = self.conv2(self.dropout(F.relu(self.bn2(y))))
        return y + (x if self.shortcut is None else self.shortcut(o1))


class WideResNet(nn.Module):
    """WRN-depth-k: depth = 6n + 4 weighted layers, widen factor k (may be fractional)."""

    def __init__(
        self,
        depth: int = 28,
        widen_factor: float = 10.0,
        num_classes: int = 10,
        width: float = 1.0,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if (depth - 4) % 6 != 0 or depth < 10:
            raise ValueError(f"WRN depth must be 6n + 4 with n >= 1, got {depth}")
        if widen_factor <= 0:
            raise ValueError(f"widen_factor must be positive, got {widen_factor}")
        n = (depth - 4) // 6
        self.depth, self.widen_factor = depth, widen_factor
        stem = scaled(16, width)
        self.conv1 = nn.Conv2d(3, stem, kernel_size=3, stride=1, padding=1, bias=False)
        in_channels = stem
        groups = []
        for i, base in enumerate((16, 32, 64)):
            out_channels = scaled(base * widen_factor, width)
            blocks = []
            for j in range(n):
                stride = 2 if (i > 0 and j == 0) else 1
                blocks.append(WideBasicBlock(in_channels, out_channels, stride, dropout))
                in_channels = out_channels
            groups.append(nn.Sequential(*blocks))
        self.block1, self.block2, self.block3 = groups
        self.bn = nn.BatchNorm2d(in_channels)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(in_channels, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        # He-normal (fan-in) for every conv and linear weight and zero biases, as in
        # the authors' PyTorch code; BN keeps PyTorch's (1, 0) default. Shape-only
        # models on the meta device (used to count parameters) have no values to set.
        for m in self.modules():
            if isinstance(m, nn.Conv2d | nn.Linear) and not m.weight.is_meta:
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map a (N, 3, H, W) batch to (N, num_classes) logits."""
        out = self.block3(self.block2(self.block1(self.conv1(x))))
        out = F.relu(self.bn(out))
        return self.linear(torch.flatten(self.pool(out), 1))


def wide_resnet(
    depth: int,
    widen_factor: float,
    num_classes: int = 10,
    width: float = 1.0,
    dropout: float = 0.0,
) -> WideResNet:
    """Build WRN-``depth``-``widen_factor``."""
    return WideResNet(depth, widen_factor, num_classes, width, dropout)
