"""The public strategies (invariants.testing.strategies) draw valid inputs, and the
maintainer's example of docs/CONFORMANCE.md works as written."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from invariants.testing import FLOAT64_TOLERANCE, reference_trajectory
from invariants.testing import strategies as ots
from optimizers.registry import REGISTRY

FEW = settings(max_examples=8, deadline=None)


@FEW
@given(ots.parameter_shapes(kinds=("matrix", "conv"), min_layers=2, max_layers=3))
def test_parameter_shapes_have_the_kinds_asked_for(shapes):
    assert 2 <= len(shapes) <= 3
    assert all(len(s) in (2, 4) for s in shapes)


@FEW
@given(st.data())
def test_gradient_sequences_are_finite_and_shaped_like_the_parameters(data):
    shapes = data.draw(ots.parameter_shapes())
    gradients = data.draw(ots.gradient_sequences(shapes, steps=(3, 6)))
    assert 3 <= len(gradients) <= 6
    for step in gradients:
        assert [g.shape for g in step] == list(shapes)
        assert all(np.isfinite(g).all() and g.dtype == np.float64 for g in step)


@FEW
@given(st.data())
def test_a_sudden_drop_drops_and_alternating_signs_flip(data):
    shapes = ((4,),)
    drop = data.draw(
        ots.gradient_sequences(shapes, (4, 6), ("sudden_drop",), ("moderate",), zeros=False)
    )
    norms = [float(np.linalg.norm(step[0])) for step in drop]
    nonzero = [n for n in norms if n > 0]
    assert max(nonzero) / min(nonzero) >= 10.0 * 0.999  # DROP_FACTOR's low end
    flips = data.draw(
        ots.gradient_sequences(shapes, (3, 5), ("steady",), ("moderate",), ("alternating",), False)
    )
    directions = [step[0] / np.linalg.norm(step[0]) for step in flips]
    for before, after in itertools.pairwise(directions):
        assert np.allclose(before, -after)


@FEW
@given(ots.params_and_gradients(steps=(2, 4)))
def test_params_and_gradients_are_aligned(case):
    params, gradients = case
    assert all(np.isfinite(p).all() for p in params)
    for step in gradients:
        assert [g.shape for g in step] == [p.shape for p in params]


@pytest.mark.parametrize("method", list(REGISTRY))
def test_hyperparameters_are_accepted_by_the_torch_class_and_the_reference(method):
    @settings(max_examples=4, deadline=None, database=None)
    @given(ots.hyperparameters(method))
    def accepted(hyper):
        assert set(hyper) <= set(REGISTRY[method].hyperparameters)
        floats = [v for v in hyper.values() if isinstance(v, float)]
        assert all(np.isfinite(floats))
        param = torch.zeros(3, 2, dtype=torch.float64)
        optimizer = REGISTRY[method].torch_class([param], **hyper)
        param.grad = torch.ones_like(param)
        optimizer.step()
        reference = reference_trajectory(method, [np.zeros((3, 2))], [[np.ones((3, 2))]], **hyper)
        assert reference[0][0].shape == (3, 2)
        assert np.isfinite(reference[0][0]).all() and torch.isfinite(param).all()

    accepted()


def test_only_and_fixed_select_and_pin_options():
    @settings(max_examples=5, deadline=None, database=None)
    @given(ots.hyperparameters("AdamNorm", only=("lr", "gamma"), fixed={"gamma": 0.5}))
    def drawn(hyper):
        assert set(hyper) == {"lr", "gamma"} and hyper["gamma"] == 0.5

    drawn()
    with pytest.raises(ValueError, match="no option"):
        ots.hyperparameters("Adam", only=("gamma",))
    with pytest.raises(ValueError, match="unknown method"):
        ots.hyperparameters("NotAMethod")


def test_gradient_sequences_refuse_unknown_names():
    with pytest.raises(ValueError, match="profiles must be"):
        ots.gradient_sequences(((2,),), profiles=("cliff",))
    with pytest.raises(ValueError, match="kinds must be"):
        ots.parameter_shapes(kinds=("tensor",))


def test_reference_trajectory_refuses_bad_input():
    with pytest.raises(ValueError, match="gradient shape"):
        reference_trajectory("Adam", [np.zeros(3)], [[np.zeros(2)]])
    with pytest.raises(ValueError, match="no option"):
        reference_trajectory("Adam", [np.zeros(3)], [[np.zeros(3)]], gamma=0.9)
    with pytest.raises(ValueError, match="2 gradients for 1"):
        reference_trajectory("Adam", [np.zeros(3)], [[np.zeros(3), np.zeros(3)]])


def test_reference_trajectory_is_adams_first_step():
    # Adam's first bias-corrected step moves every coordinate by lr (paper 000 Alg. 1).
    trajectory = reference_trajectory("Adam", [np.zeros(2)], [[np.array([3.0, -0.5])]], lr=0.1)
    assert np.allclose(trajectory[0][0], [-0.1, 0.1], rtol=1e-6)


class DriftingAdam(torch.optim.Adam):
    """torch's Adam plus a stray 1e-6 on every parameter each step: the example must catch it."""

    @torch.no_grad()
    def step(self, closure=None):
        loss = super().step(closure)
        for group in self.param_groups:
            for p in group["params"]:
                p.sub_(1e-6)
        return loss


def follows_the_paper(optimizer_class, case, hyper) -> None:
    """The maintainer's example of docs/CONFORMANCE.md, verbatim in substance."""
    params, gradients = case
    tensors = [torch.tensor(p) for p in params]
    optimizer = optimizer_class(tensors, **hyper)
    expected = reference_trajectory("Adam", params, gradients, **hyper)
    for grads, reference in zip(gradients, expected, strict=True):
        for tensor, grad in zip(tensors, grads, strict=True):
            tensor.grad = torch.tensor(grad)
        optimizer.step()
        for tensor, want in zip(tensors, reference, strict=True):
            got = tensor.detach().numpy()
            assert np.all(np.abs(got - want) <= FLOAT64_TOLERANCE * np.maximum(np.abs(want), 1))


EXAMPLE = settings(max_examples=10, deadline=None, database=None)
CASES = ots.params_and_gradients(steps=(1, 6))
ADAM = ots.hyperparameters("Adam", only=("lr", "betas", "weight_decay"))


def test_the_maintainers_example_passes_torch_adam():
    @EXAMPLE
    @given(CASES, ADAM)
    def example(case, hyper):
        follows_the_paper(torch.optim.Adam, case, hyper)

    example()


def test_the_maintainers_example_catches_a_wrong_step():
    @settings(EXAMPLE, phases=[Phase.generate])  # the failure, not its shrinking, is tested
    @given(CASES, ADAM)
    def example(case, hyper):
        follows_the_paper(DriftingAdam, case, hyper)

    with pytest.raises(AssertionError):
        example()
