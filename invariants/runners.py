"""Run one case on either implementation and record every intermediate quantity.

Both sides return the same :data:`~optimizers.harness.Trace`: per step, per
tensor, the parameter before and after the step and whatever the algorithm
computes on the way (``g`` the gradient actually used, ``s``/``e`` AdaNorm's
corrected gradient and norm EMA, ``m``/``v`` the moments after the step, ``q``
the second-moment statistic, ``direction`` the update per unit rate, ``m_prev``
AdaRem's momentum before the step, ``a``/``b`` AdaRem's modulation, ``xi``,
``rho``, ``r``). The runs themselves are the harness's
(:func:`optimizers.harness.torch_trace`, :func:`optimizers.harness.reference_trace`);
this module turns a :class:`~invariants.cases.Case` into its scenario.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from invariants.cases import Case
from optimizers.harness import GradFn, Scenario, Trace, reference_trace, torch_trace

IMPLEMENTATIONS = ("torch", "reference")


def scenario_of(
    case: Case, grad_fn: GradFn | None = None, lr_schedule: Sequence[float] | None = None
) -> Scenario:
    """The harness scenario of ``case``: its gradients (or ``grad_fn`` for
    ``case.extra["steps"]`` steps), λ's epoch ticks (``case.extra["ticks"]``) and the
    learning rate of each step (``lr_schedule``)."""
    return Scenario(
        params=case.params,
        gradients=case.grads if grad_fn is None else (),
        learning_rates=None if lr_schedule is None else tuple(float(r) for r in lr_schedule),
        epoch_ticks=frozenset(case.extra.get("ticks", ())),
        gradient_fn=grad_fn,
        gradient_fn_steps=0 if grad_fn is None else int(case.extra["steps"]),
    )


def run_torch(
    case: Case,
    *,
    grad_fn: GradFn | None = None,
    lr_schedule: Sequence[float] | None = None,
    dtype: torch.dtype = torch.float64,
) -> Trace:
    """Run the torch optimizer of ``case`` and record a trace."""
    return torch_trace(case.optimizer, scenario_of(case, grad_fn, lr_schedule), case.hyper, dtype)


def run_reference(
    case: Case,
    *,
    grad_fn: GradFn | None = None,
    lr_schedule: Sequence[float] | None = None,
) -> Trace:
    """Run the NumPy float64 reference of ``case`` and record a trace."""
    return reference_trace(case.optimizer, scenario_of(case, grad_fn, lr_schedule), case.hyper)


def run(
    implementation: str,
    case: Case,
    *,
    grad_fn: GradFn | None = None,
    lr_schedule: Sequence[float] | None = None,
) -> Trace:
    """Dispatch to :func:`run_torch` (float64) or :func:`run_reference`."""
    if implementation == "torch":
        return run_torch(case, grad_fn=grad_fn, lr_schedule=lr_schedule)
    if implementation == "reference":
        return run_reference(case, grad_fn=grad_fn, lr_schedule=lr_schedule)
    raise ValueError(f"implementation must be one of {IMPLEMENTATIONS}, got {implementation!r}")
