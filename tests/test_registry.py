"""The registry is the single list every other test iterates over; it must be complete."""

from __future__ import annotations

import inspect

import torch

import optimizers
from optimizers.reference import REFERENCES
from optimizers.registry import REGISTRY

REQUIRED = (
    "SGDM Adam AdamW AdamNorm DiffGrad DiffGradNorm RAdam RAdamNorm AdaBelief AdaBeliefNorm "
    "AdaRem AdaRemS NDAdam AdamL AdaBeliefL LAdam LAdaBelief Aida AidaGrad LAida"
).split()


def test_registry_lists_exactly_the_required_optimizers() -> None:
    assert list(REGISTRY) == REQUIRED
    assert set(REFERENCES) == set(REQUIRED)
    for name in REQUIRED:
        cls = getattr(optimizers, name)
        assert REGISTRY[name].torch_class is cls
        assert issubclass(cls, torch.optim.Optimizer)
        assert REGISTRY[name].reference is REFERENCES[name]


def test_torch_and_reference_take_the_same_hyperparameters() -> None:
    for name, spec in REGISTRY.items():
        ours = set(spec.defaults)
        theirs = {
            n
            for n, p in inspect.signature(spec.reference.__init__).parameters.items()
            if p.default is not inspect.Parameter.empty
        }
        assert ours == theirs, name


def test_defaults_are_the_papers() -> None:
    assert REGISTRY["AdamNorm"].defaults["gamma"] == 0.95
    assert REGISTRY["Aida"].defaults["K"] == 2
    assert REGISTRY["Aida"].defaults["xi"] == 1e-20
    assert REGISTRY["AdaRem"].defaults["lam"] == 0.999
    assert REGISTRY["AdaRem"].defaults["beta"] == 0.9
    assert REGISTRY["RAdam"].defaults["rectify_threshold"] == 5.0
    assert REGISTRY["RAdam"].defaults["threshold_inclusive"] is True
    for name in ("Adam", "AdamNorm", "AdaBelief", "Aida", "LAdam"):
        assert REGISTRY[name].defaults["betas"] == (0.9, 0.999)
        assert REGISTRY[name].defaults["lr"] == 1e-3


def test_every_norm_variant_is_its_base_recipe_plus_the_correction() -> None:
    for spec in REGISTRY.values():
        if spec.base is None:
            continue
        base_units = [type(u) for u in REGISTRY[spec.base].torch_class.recipe]
        units = [type(u) for u in spec.torch_class.recipe]
        assert units.count(optimizers.units.GradientNormCorrection) == 1
        assert [u for u in units if u is not optimizers.units.GradientNormCorrection] == base_units


def test_references_share_no_code_with_the_torch_classes() -> None:
    import pathlib

    for path in pathlib.Path(optimizers.reference.__file__).parent.glob("*.py"):
        source = path.read_text()
        assert "import torch" not in source, path
        assert "from optimizers." not in source.replace("from optimizers.reference", ""), path
