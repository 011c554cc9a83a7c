"""Small helpers the claim modules share: norms, hyperparameter dictionaries, case builders."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
from hypothesis import strategies as st

from invariants import strategies as S
from invariants.cases import Case


def norm(x: np.ndarray | float) -> float:
    """Euclidean norm of all entries (0-d included), scaled by max|x| first so that the
    squares of tiny or huge entries neither underflow nor overflow (one extra rounding,
    inside the norm_rel margin)."""
    flat = np.asarray(x, dtype=np.float64).ravel()
    peak = float(np.max(np.abs(flat))) if flat.size else 0.0
    if peak == 0.0 or not np.isfinite(peak):
        return peak
    scaled = flat / peak
    return peak * float(np.sqrt(np.dot(scaled, scaled)))


def unit(x: np.ndarray) -> np.ndarray:
    """``x/‖x‖`` without underflow (x must be nonzero)."""
    return np.asarray(x, dtype=np.float64) / norm(x)


def size(x: np.ndarray) -> int:
    return int(np.asarray(x).size)


@cache
def adam_hyper(**fixed: Any) -> st.SearchStrategy[dict[str, Any]]:
    """``lr, betas, eps`` over the papers' domains; ``fixed`` entries override."""
    parts: dict[str, st.SearchStrategy[Any]] = {
        "lr": S.learning_rates(),
        "betas": S.betas(),
        "eps": S.epsilons(),
    }
    parts.update({k: st.just(v) for k, v in fixed.items()})
    return st.fixed_dictionaries(parts)


@cache
def with_entries(
    base: st.SearchStrategy[dict[str, Any]], **extra: st.SearchStrategy[Any]
) -> st.SearchStrategy[dict[str, Any]]:
    """``base`` dictionaries with more entries drawn from ``extra``."""
    return st.tuples(base, st.fixed_dictionaries(extra)).map(lambda pair: {**pair[0], **pair[1]})


@cache
def case_strategy(
    optimizers: tuple[str, ...],
    hyper: st.SearchStrategy[dict[str, Any]],
    *,
    kinds: tuple[str, ...] = S.SHAPE_KINDS,
    max_layers: int = 3,
    plans: st.SearchStrategy[S.GradientPlan] | None = None,
) -> st.SearchStrategy[Case]:
    return S.cases(
        optimizers,
        hyper,
        shapes=S.layer_shapes(kinds, max_layers=max_layers),
        plans=plans if plans is not None else S.gradient_plans(),
    )


def per_step(
    trace: list[dict[str, list]], keys: tuple[str, ...]
) -> list[tuple[int, int, tuple[Any, ...]]]:
    """``(t, i, values)`` for every step t (from 1) and tensor i that took part."""
    out = []
    for t, record in enumerate(trace, start=1):
        for i in range(len(record["before"])):
            if record["raw"][i] is None:
                continue
            out.append((t, i, tuple(record[k][i] for k in keys)))
    return out


def finite(trace: list[dict[str, list]]) -> bool:
    """Every recorded array of the trace is finite."""
    for record in trace:
        for values in record.values():
            for v in values:
                if v is not None and not np.all(np.isfinite(np.asarray(v, dtype=np.float64))):
                    return False
    return True


def fmt(x: Any) -> str:
    """Compact number formatting for violation messages."""
    if isinstance(x, np.ndarray):
        return np.array2string(x.ravel()[:6], precision=6, separator=", ")
    if isinstance(x, float):
        return f"{x:.6g}"
    return str(x)


Maker = Callable[[frozenset[str]], st.SearchStrategy[Case]]
