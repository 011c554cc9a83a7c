"""Validated defaults dictionaries, one builder per family of hyperparameters."""

from __future__ import annotations

from typing import Any

from optimizers._validation import check_betas, check_choice, check_interval

EPS_MODES = ("outside", "inside", "both")


def adaptive_defaults(
    *,
    lr: float,
    betas: tuple[float, float],
    eps: float,
    weight_decay: float,
    decoupled_weight_decay: bool,
    eps_mode: str,
    foreach: bool | None,
) -> dict[str, Any]:
    """The hyperparameters every Adam-type method of the papers takes."""
    check_interval("lr", lr, 0.0)
    check_betas(betas)
    check_interval("eps", eps, 0.0)
    check_interval("weight_decay", weight_decay, 0.0)
    if not isinstance(decoupled_weight_decay, bool):
        raise ValueError(f"decoupled_weight_decay must be a bool, got {decoupled_weight_decay!r}")
    check_choice("eps_mode", eps_mode, EPS_MODES)
    return {
        "lr": lr,
        "betas": tuple(betas),
        "eps": eps,
        "weight_decay": weight_decay,
        "decoupled_weight_decay": decoupled_weight_decay,
        "eps_mode": eps_mode,
        "foreach": foreach,
    }


def norm_correction_defaults(
    *, gamma: float, norm_scope: str, corrected_moments: str
) -> dict[str, Any]:
    """AdaNorm's γ (eq. 4) and the two open choices of where the norm is taken and used."""
    check_interval("gamma", gamma, 0.0, 1.0, high_open=True)
    check_choice("norm_scope", norm_scope, ("tensor", "global"))
    check_choice("corrected_moments", corrected_moments, ("first", "second", "both"))
    return {"gamma": gamma, "norm_scope": norm_scope, "corrected_moments": corrected_moments}


def rectification_defaults(
    *, rectify_threshold: float, threshold_inclusive: bool
) -> dict[str, Any]:
    """RAdam's threshold on ρ_t (Alg. 5: ``ρ_t ≥ 5``)."""
    check_interval("rectify_threshold", rectify_threshold, 4.0, low_open=True)
    if not isinstance(threshold_inclusive, bool):
        raise ValueError(f"threshold_inclusive must be a bool, got {threshold_inclusive!r}")
    return {"rectify_threshold": rectify_threshold, "threshold_inclusive": threshold_inclusive}


def projection_defaults(*, K: int | None, xi: float) -> dict[str, Any]:
    """Aida's number of mutual projections K ≥ 0 and the regulariser ξ ≥ 0 (eqs. 12-13)."""
    defaults: dict[str, Any] = {}
    if K is not None:
        if not isinstance(K, int) or isinstance(K, bool) or K < 0:
            raise ValueError(f"K must be an integer >= 0, got {K!r}")
        defaults["K"] = K
    check_interval("xi", xi, 0.0)
    defaults["xi"] = xi
    return defaults
