"""One problem's measurements as a JSON-friendly summary: per arm, the growth exponent,
``R(T)/T``, the final iterate against the comparator, and each applicable bound checked."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from experiments.regret.algorithms import AdamFamily
from experiments.regret.bounds import bounds_for, dominant_term
from experiments.regret.measure import check_bound, fit_exponent, growth_class
from experiments.regret.problems import Problem
from experiments.regret.runner import Arm, RawRun


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def summarise(
    problem: Problem, arms: list[Arm], raw: RawRun
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(summary, arrays)``: the summary record and the arrays the plots need."""
    regret = raw.regret
    T = int(raw.horizons[-1])
    box = problem.box
    arrays: dict[str, np.ndarray] = {
        "horizons": raw.horizons,
        "regret": regret,
        "trajectory": raw.theta[:, 0],  # (A, H, d) instance 0
        "best_point": raw.best_point[0],  # (H, d)
    }
    records = []
    for a, arm in enumerate(arms):
        alg = arm.algorithm
        fit = fit_exponent(raw.horizons, regret[a])
        tail = fit_exponent(raw.horizons, regret[a], decades=1.0)
        dist = np.max(np.abs(raw.theta[a, :, -1] - raw.best_point[:, -1]), axis=-1)  # (B,)
        record: dict[str, Any] = {
            "label": arm.label,
            "algorithm": alg.describe(),
            "theorem": alg.theorem,
            "conditions": {c.text: c.holds for c in alg.conditions()},
            "in_theorem_regime": alg.in_theorem_regime(),
            "R_T_over_T": {
                "mean": float(np.mean(regret[a, :, -1]) / T),
                "min": float(np.min(regret[a, :, -1]) / T),
                "max": float(np.max(regret[a, :, -1]) / T),
            },
            "R_T_mean": float(np.mean(regret[a, :, -1])),
            "R_T_over_T_per_seed": (regret[a, :, -1] / T).tolist(),
            "exponent": fit.as_dict(),
            "exponent_last_decade": tail.as_dict(),
            "growth": growth_class(fit, tail),
            "final_iterate": {
                "distance_inf_mean": float(np.mean(dist)),
                "distance_inf_max": float(np.max(dist)),
                "relative_to_Dinf": float(np.mean(dist) / box.diameter_inf),
                "theta_T_instance0": raw.theta[a, 0, -1].tolist(),
                "comparator_instance0": raw.best_point[0, -1].tolist(),
            },
            "bounds": {},
        }
        if isinstance(alg, AdamFamily):
            start = fit.window[0]
            record["beta1_t_at_fit_start"] = alg.beta1 * alg.lam ** (start - 1)
            record["asymptotic_regime"] = bool(alg.beta1 == 0.0 or alg.lam ** (start - 1) <= 1e-3)
            record["dominant_terms_wacv"] = dominant_term(raw, a, alg, box, "wacv")
            if alg.norm_correction:
                record["lemma1"] = {
                    "max_e": _finite(float(np.nanmax(raw.e_max[a, :, -1]))),
                    "max_e_over_norm": _finite(float(np.nanmax(raw.ratio_max[a, :, -1]))),
                    "G": float(np.max(raw.G_sup[:, -1])),
                    "G_inf": float(np.max(raw.Ginf_sup[:, -1])),
                }
        for name, bound in bounds_for(raw, a, alg, box).items():
            check = check_bound(raw.horizons, raw.seeds, regret[a], bound)
            record["bounds"][name] = {
                **check.as_dict(),
                "bound_at_T_mean": float(np.mean(bound[:, -1])),
            }
            arrays[f"bound/{a}/{name}"] = np.mean(bound, axis=0)
        records.append(record)
    summary = {
        "problem": problem.describe(),
        "linear": problem.linear,
        "gradient_bound_on_R_d": problem.gradient_bound_on_R_d,
        "T": T,
        "instances": len(raw.seeds),
        "seeds": raw.seeds,
        "seconds": round(raw.seconds, 2),
        "throughput_arm_steps_x_instances_per_s": float(
            len(arms) * raw.steps_x_instances / max(raw.seconds, 1e-9)
        ),
        "constants_at_T": {
            "D": box.diameter,
            "D_inf": box.diameter_inf,
            "G_max": float(np.max(raw.G_sup[:, -1])),
            "G_inf_max": float(np.max(raw.Ginf_sup[:, -1])),
        },
        "arms": records,
    }
    return summary, arrays
