"""API, validation and edge-case checks of the NumPy references
(docs/ALGORITHMS.md, "Edge cases")."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import numpy as np
import pytest

import optimizers.reference as reference_pkg
from optimizers.reference import REFERENCES
from optimizers.registry import REGISTRY, specs

NAMES = [spec.name for spec in specs()]
PAPER_NAMES = [
    "SGDM", "Adam", "AdamW", "AdamNorm", "DiffGrad", "DiffGradNorm", "RAdam", "RAdamNorm",
    "AdaBelief", "AdaBeliefNorm", "AdaRem", "AdaRemS", "NDAdam", "AdamL", "AdaBeliefL",
    "LAdam", "LAdaBelief", "Aida", "AidaGrad", "LAida",
]  # fmt: skip


SHAPES = [(4, 3), (3,), (), (2, 1, 2)]


def _defaults(name):
    sig = inspect.signature(REGISTRY[name].reference.__init__)
    return {
        k: p.default for k, p in sig.parameters.items() if p.default is not inspect.Parameter.empty
    }


def test_registry_has_exactly_the_twenty_names():
    assert sorted(REFERENCES) == sorted(PAPER_NAMES)
    assert len({id(c) for c in REFERENCES.values()}) == 20


@pytest.mark.parametrize("name", NAMES)
def test_reference_defaults_are_the_databases(name):
    """The reference's signature and the units' declarations give the same defaults."""
    assert _defaults(name) == REGISTRY[name].defaults


def test_default_hyperparameters_follow_the_spec():
    assert _defaults("SGDM") == {
        "lr": 0.1, "momentum": 0.9, "dampening": 0.0, "nesterov": False, "weight_decay": 0.0,
    }  # fmt: skip
    for name in ["Adam", "AdamNorm", "DiffGrad", "DiffGradNorm", "RAdam", "RAdamNorm"]:
        d = _defaults(name)
        assert d["eps_mode"] == "outside", name
        assert (d["lr"], d["betas"], d["eps"], d["weight_decay"]) == (1e-3, (0.9, 0.999), 1e-8, 0.0)
        assert d["decoupled_weight_decay"] is False
    for name in ["AdaBelief", "AdaBeliefNorm"]:
        assert _defaults(name)["eps_mode"] == "both"
    for name in ["AdamNorm", "DiffGradNorm", "RAdamNorm", "AdaBeliefNorm"]:
        d = _defaults(name)
        assert (d["gamma"], d["norm_scope"], d["corrected_moments"]) == (0.95, "tensor", "first")
    for name in ["RAdam", "RAdamNorm"]:
        d = _defaults(name)
        assert (d["rectify_threshold"], d["threshold_inclusive"]) == (5.0, True)
    d = _defaults("AdamW")
    assert (d["weight_decay"], d["decoupled_weight_decay"], d["eps_mode"]) == (
        1e-2,
        True,
        "outside",
    )
    d = _defaults("AdaRem")
    assert d == {
        "lr": 0.1, "beta": 0.9, "lam": 0.999, "eps": 1e-8, "weight_decay": 0.0,
        "decoupled_weight_decay": True, "lam_tick": "step", "max_scope": "tensor",
    }  # fmt: skip
    d = _defaults("AdaRemS")
    assert d["radius"] is None and d["sphere"] is None
    d = _defaults("NDAdam")
    assert d == {
        "lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0,
        "scalar_lr": None, "vectorwise": None,
    }  # fmt: skip
    for name in ["AdamL", "AdaBeliefL", "LAdam", "LAdaBelief", "Aida", "AidaGrad", "LAida"]:
        d = _defaults(name)
        assert d["eps_mode"] == "inside" and d["decoupled_weight_decay"] is False, name
    for name in ["Aida", "LAida"]:
        assert (_defaults(name)["K"], _defaults(name)["xi"]) == (2, 1e-20)
    assert _defaults("AidaGrad")["xi"] == 1e-20 and "K" not in _defaults("AidaGrad")


@pytest.mark.parametrize("name", NAMES)
def test_params_are_float64_copies_with_shapes_kept(name):
    originals = [np.arange(12, dtype=np.float32).reshape(4, 3) + 1, np.ones(3, dtype=np.int64), 2.0]
    opt = REGISTRY[name].reference(originals)
    assert [p.shape for p in opt.params] == [(4, 3), (3,), ()]
    assert all(isinstance(p, np.ndarray) and p.dtype == np.float64 for p in opt.params)
    ids = [id(p) for p in opt.params]
    opt.step([np.ones((4, 3)), np.ones(3), np.array(1.0)])
    assert [id(p) for p in opt.params] == ids  # updated in place
    assert all(p.dtype == np.float64 for p in opt.params)
    assert [p.shape for p in opt.params] == [(4, 3), (3,), ()]
    np.testing.assert_array_equal(originals[1], np.ones(3))  # inputs untouched


@pytest.mark.parametrize("name", NAMES)
def test_none_gradient_skips_tensor(name):
    rng = np.random.default_rng(0)
    params = [rng.normal(size=s) for s in SHAPES]
    opt = REGISTRY[name].reference(params, weight_decay=0.1)
    opt.step([rng.normal(size=s) for s in SHAPES])
    frozen = opt.params[1].copy()
    state = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in opt.state[1].items()}
    grads = [rng.normal(size=s) for s in SHAPES]
    grads[1] = None
    opt.step(grads)
    np.testing.assert_array_equal(opt.params[1], frozen)
    for key, value in opt.state[1].items():
        np.testing.assert_array_equal(value, state[key])
    assert opt.state[1]["step"] == 1 and opt.state[0]["step"] == 2
    assert all(values[1] is None for values in opt.last.values())
    assert opt.last["g"][0] is not None


def _zero_eps_kwargs(name):
    sig = inspect.signature(REGISTRY[name].reference.__init__).parameters
    kw = {}
    if "eps" in sig:
        kw["eps"] = 0.0
    if "xi" in sig:
        kw["xi"] = 0.0
    return kw


@pytest.mark.parametrize("zero_eps", [False, True])
@pytest.mark.parametrize("name", NAMES)
def test_zero_gradients_stay_finite(name, zero_eps):
    rng = np.random.default_rng(1)
    params = [rng.normal(size=s) for s in SHAPES] + [np.zeros((2, 2)), np.zeros(0)]
    shapes = [p.shape for p in params]
    opt = REGISTRY[name].reference(params, **(_zero_eps_kwargs(name) if zero_eps else {}))
    assert all(np.all(np.isfinite(p)) for p in opt.params)
    zeros = [np.zeros(s) for s in shapes]
    sequence = [zeros, zeros, [rng.normal(size=s) for s in shapes], zeros, zeros]
    for grads in sequence:
        with np.errstate(all="raise"):  # no 0/0, no overflow warnings either
            opt.step(grads)
        for p in opt.params:
            assert np.all(np.isfinite(p)), name
        for key, values in opt.last.items():
            for value in values:
                if value is not None:
                    assert np.all(np.isfinite(value)), (name, key)


def test_zero_gradient_with_zero_eps_gives_zero_step():
    for name in ["Adam", "AdaBelief", "AdamL", "LAdam", "Aida", "AidaGrad", "LAida", "RAdam"]:
        opt = REFERENCES[name]([np.ones(3)], eps=0.0)
        opt.step([np.zeros(3)])
        np.testing.assert_array_equal(opt.params[0], np.ones(3), err_msg=name)


INVALID = [
    ("SGDM", {"lr": -0.1}, "lr"),
    ("SGDM", {"momentum": -0.5}, "momentum"),
    ("SGDM", {"nesterov": True, "momentum": 0.0}, "nesterov"),
    ("SGDM", {"dampening": 2.0}, "dampening"),
    ("Adam", {"lr": -1e-3}, "lr"),
    ("Adam", {"lr": float("nan")}, "lr"),
    ("Adam", {"betas": (1.0, 0.999)}, r"betas\[0\]"),
    ("Adam", {"betas": (0.9, -0.1)}, r"betas\[1\]"),
    ("Adam", {"betas": 0.9}, "betas"),
    ("Adam", {"eps": -1e-8}, "eps"),
    ("Adam", {"weight_decay": -0.1}, "weight_decay"),
    ("Adam", {"eps_mode": "middle"}, "eps_mode"),
    ("AdamW", {"decoupled_weight_decay": "yes"}, "decoupled_weight_decay"),
    ("AdamNorm", {"gamma": 1.0}, "gamma"),
    ("DiffGradNorm", {"gamma": -0.1}, "gamma"),
    ("AdaBeliefNorm", {"norm_scope": "layer"}, "norm_scope"),
    ("RAdamNorm", {"corrected_moments": "none"}, "corrected_moments"),
    ("RAdam", {"rectify_threshold": 3.0}, "rectify_threshold"),
    ("RAdam", {"threshold_inclusive": 1}, "threshold_inclusive"),
    ("AdaBelief", {"eps_mode": None}, "eps_mode"),
    ("AdaRem", {"beta": 1.5}, "beta"),
    ("AdaRem", {"lam": -0.1}, "lam"),
    ("AdaRem", {"lam_tick": "batch"}, "lam_tick"),
    ("AdaRem", {"max_scope": "layer"}, "max_scope"),
    ("AdaRemS", {"radius": 0.0}, "radius"),
    ("AdaRemS", {"sphere": "auto"}, "sphere"),
    ("NDAdam", {"scalar_lr": -1.0}, "scalar_lr"),
    ("NDAdam", {"vectorwise": 2}, "vectorwise"),
    ("AdamL", {"betas": (0.9, 1.0)}, r"betas\[1\]"),
    ("LAdaBelief", {"eps": float("inf")}, "eps"),
    ("Aida", {"K": -1}, "K"),
    ("Aida", {"K": 1.5}, "K"),
    ("LAida", {"xi": -1e-20}, "xi"),
    ("AidaGrad", {"xi": -1.0}, "xi"),
]


@pytest.mark.parametrize(("name", "kwargs", "argument"), INVALID)
def test_invalid_hyperparameters_raise_value_error(name, kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        REFERENCES[name]([np.zeros(2)], **kwargs)


def test_gradient_list_is_checked():
    opt = REFERENCES["Adam"]([np.zeros(2), np.zeros(3)])
    with pytest.raises(ValueError, match="grads"):
        opt.step([np.zeros(2)])
    with pytest.raises(ValueError, match="shape"):
        opt.step([np.zeros(2), np.zeros(4)])


def test_reference_package_imports_no_torch_and_nothing_from_optimizers():
    root = Path(reference_pkg.__file__).parent
    files = sorted(root.glob("*.py"))
    assert len(files) >= 5
    for path in files:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative import: must stay inside the package
                    assert node.level == 1, path
                    continue
                modules = [node.module or ""]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                assert top not in {"torch", "optimizers"}, (path.name, module)
                assert top in {"numpy", "__future__", "math", "collections", "typing", "inspect"}, (
                    module
                )
