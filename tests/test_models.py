"""Tests of experiments.models: output shapes, parameter counts, width and name handling."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from experiments.models import (
    MODEL_REGISTRY,
    WideBasicBlock,
    WideResNet,
    available_models,
    build_model,
    count_parameters,
)

# Exact trainable-parameter counts for 10 classes, computed from these definitions
# and pinned so that an accidental architecture change fails loudly. They agree with
# the published figures: the kuangliu/pytorch-cifar model definitions, which the
# AdaNorm/Aida papers' CIFAR code bases follow, give ResNet18 11.17M, ResNet34 21.28M,
# ResNet50 23.52M, VGG11-BN 9.23M, VGG16-BN 14.73M (convs with bias, one 512->10
# linear); Zagoruyko & Komodakis (2016, Table 1/2) list WRN-28-10 as 36.5M,
# WRN-16-4 as 2.7M and WRN-40-4 as 8.9M parameters.
EXPECTED_PARAMS = {
    "resnet18": 11_173_962,
    "resnet34": 21_282_122,
    "resnet50": 23_520_842,
    "vgg11": 9_231_114,
    "vgg13": 9_416_010,
    "vgg16": 14_728_266,
    "vgg19": 20_040_522,
    "wrn-16-4": 2_748_890,
    "wrn-22-7.5": 15_082_554,  # ND-Adam's network; widths 120/240/480
    "wrn-28-10": 36_479_194,
    "small_cnn": 391_466,
}
PUBLISHED_MILLIONS = {
    "resnet18": 11.17, "resnet34": 21.28, "resnet50": 23.52, "vgg11": 9.23,
    "vgg16": 14.73, "wrn-28-10": 36.5, "wrn-16-4": 2.7,
}  # fmt: skip


def _meta_model(name: str, num_classes: int = 10, width: float = 1.0) -> nn.Module:
    # Parameters on the meta device have shapes but no storage: counting a 36M-parameter
    # network this way costs milliseconds and no memory.
    with torch.device("meta"):
        return build_model(name, num_classes=num_classes, width=width)


def test_registry_covers_expected_models() -> None:
    assert set(EXPECTED_PARAMS) == set(available_models()) == set(MODEL_REGISTRY)


@pytest.mark.parametrize("name", sorted(EXPECTED_PARAMS))
def test_parameter_count_is_pinned(name: str) -> None:
    assert count_parameters(_meta_model(name)) == EXPECTED_PARAMS[name]


@pytest.mark.parametrize("name", sorted(PUBLISHED_MILLIONS))
def test_parameter_count_matches_published_figure(name: str) -> None:
    published = PUBLISHED_MILLIONS[name]
    digits = len(str(published).split(".")[1])
    assert round(EXPECTED_PARAMS[name] / 1e6, digits) == published


def test_num_classes_only_changes_the_classifier() -> None:
    # ResNet18 on CIFAR-100: 512 * 90 extra weights + 90 extra biases.
    assert count_parameters(_meta_model("resnet18", 100)) == EXPECTED_PARAMS["resnet18"] + 90 * 513
    assert (
        count_parameters(_meta_model("wrn-28-10", 100)) == EXPECTED_PARAMS["wrn-28-10"] + 90 * 641
    )


@pytest.mark.parametrize("name", sorted(EXPECTED_PARAMS))
def test_forward_shape_batch_of_two(name: str) -> None:
    torch.manual_seed(0)
    model = build_model(name, num_classes=7)
    with torch.no_grad():
        out = model(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 7)
    assert torch.isfinite(out).all()


def test_small_cnn_trains_one_step() -> None:
    torch.manual_seed(0)
    model = build_model("small_cnn")
    x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_small_cnn_is_small() -> None:
    assert 100_000 < count_parameters(_meta_model("small_cnn")) < 1_000_000


@pytest.mark.parametrize("name", ["resnet18", "vgg11", "wrn-16-4", "small_cnn"])
def test_larger_inputs_work(name: str) -> None:
    # 64x64 TinyImageNet images go through the same networks (adaptive pooling).
    model = build_model(name, num_classes=200, width=0.25).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 3, 64, 64)).shape == (2, 200)


def test_width_multiplier_scales_channels() -> None:
    half = _meta_model("resnet18", width=0.5)
    assert half.conv1.out_channels == 32
    assert half.linear.in_features == 256
    # Conv weights scale with width^2, so half width has roughly a quarter of the parameters.
    ratio = count_parameters(half) / EXPECTED_PARAMS["resnet18"]
    assert 0.24 < ratio < 0.26
    assert _meta_model("vgg16", width=0.25).classifier.in_features == 128
    assert _meta_model("resnet50", width=0.5).linear.in_features == 1024


def test_width_must_be_positive() -> None:
    with pytest.raises(ValueError, match="width"):
        build_model("resnet18", width=0)


def test_wide_resnet_structure() -> None:
    model = _meta_model("wrn-22-7.5")
    assert isinstance(model, WideResNet)
    groups = [model.block1, model.block2, model.block3]
    assert [len(g) for g in groups] == [3, 3, 3]  # (22 - 4) / 6 blocks per group
    assert [g[-1].conv2.out_channels for g in groups] == [120, 240, 480]
    assert model.conv1.out_channels == 16
    block = model.block2[0]
    assert isinstance(block, WideBasicBlock)
    # Pre-activation: BN-ReLU comes before each conv; only a shape change adds a projection.
    assert block.bn1.num_features == 120 and block.conv1.stride == (2, 2)
    assert block.shortcut is not None and model.block2[1].shortcut is None


def test_name_spellings_and_generic_wrn() -> None:
    assert count_parameters(_meta_model("ResNet18")) == EXPECTED_PARAMS["resnet18"]
    assert count_parameters(_meta_model("WRN_28_10")) == EXPECTED_PARAMS["wrn-28-10"]
    assert count_parameters(_meta_model("Small-CNN")) == EXPECTED_PARAMS["small_cnn"]
    wrn_40_4 = _meta_model("wrn-40-4")
    assert round(count_parameters(wrn_40_4) / 1e6, 1) == 8.9  # Zagoruyko & Komodakis Table 1
    with pytest.raises(KeyError, match="unknown model"):
        build_model("resnet19")
    with pytest.raises(ValueError, match="6n"):
        build_model("wrn-27-10")


def test_same_seed_same_initialisation() -> None:
    torch.manual_seed(3)
    a = build_model("wrn-16-4", width=0.25)
    torch.manual_seed(3)
    b = build_model("wrn-16-4", width=0.25)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
