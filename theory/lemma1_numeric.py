"""AdamNorm Lemma 1 (paper 001 supplement A) evaluated on concrete gradient sequences.

Both sides are computed in float64 from :mod:`theory.reference_adamnorm`.
The lemma must hold for *every* admissible pair of bounds (G, G∞), so a
sequence falsifies it as soon as one admissible pair gives ``LHS > RHS``.
Two pairs are reported:

* ``natural``: ``G = max_t ‖g_t‖₂`` and the smallest G∞ that satisfies the
  three G∞ assumptions, ``max(max_t ‖g_t‖∞, max_t e_t, G·max_t e_t/‖g_t‖₂)``;
* ``tightest``: the admissible pair that minimises ``G∞³/G²`` (the right side
  *decreases* as G grows, see :func:`theory.adanorm_bounds.lemma1_rhs_derivative_in_G`).
  With ``r = max_t e_t/‖g_t‖``, ``A = max(max‖g‖∞, max e)`` and
  ``n = max‖g_t‖₂`` the minimum is at ``G = max(n, A/r)``, giving
  ``G∞³/G² = r² max(A, r n)``.

A step with ``‖g_t‖ = 0 < e_t`` makes ``e_t/‖g_t‖₂`` infinite: no finite
bounds satisfy the lemma's assumptions, and the sequence is inadmissible.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from theory.reference_adamnorm import AdamNormTrace, adamnorm_trace
from theory.search import find_example
from theory.stage_protocol import python_command

#: Paper 000 §4 training settings: β1 = 0.9, β2 = 0.999, γ = 0.95.
PAPER_HYPER = {"beta1": 0.9, "beta2": 0.999, "gamma": 0.95}

#: Relative slack before a float64 difference counts as a violation.
REL_TOL = 1e-9


@dataclass(frozen=True)
class Constants:
    """An admissible pair of gradient bounds for Lemma 1."""

    G: float
    G_inf: float


@dataclass(frozen=True)
class Lemma1Evaluation:
    """Both sides of Lemma 1, per coordinate, on one sequence."""

    grads: list[list[float]]
    beta1: float
    beta2: float
    gamma: float
    admissible: bool
    correction_steps: int
    natural: Constants | None
    tightest: Constants | None
    lhs: list[float]
    rhs_natural: list[float]
    rhs_tightest: list[float]

    def violated(self, which: str = "natural") -> bool:
        """Whether ``LHS_i > RHS_i`` for some coordinate i (beyond float slack)."""
        if not self.admissible:
            return False
        rhs = self.rhs_natural if which == "natural" else self.rhs_tightest
        return any(lv > rv * (1.0 + REL_TOL) + 1e-300 for lv, rv in zip(self.lhs, rhs, strict=True))

    def worst_ratio(self, which: str = "natural") -> float:
        """``max_i LHS_i/RHS_i`` (inf where RHS_i = 0 < LHS_i)."""
        rhs = self.rhs_natural if which == "natural" else self.rhs_tightest
        ratios = [
            lv / rv if rv > 0 else (math.inf if lv > 0 else 0.0)
            for lv, rv in zip(self.lhs, rhs, strict=True)
        ]
        return max(ratios) if ratios else 0.0

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (constants as dicts)."""
        return asdict(self)


def lemma1_lhs(trace: AdamNormTrace) -> np.ndarray:
    """``Σ_t m̂²_{t,i}/√(t v̂_{t,i})`` per coordinate (terms with v̂ = 0 are 0: there m̂ = 0)."""
    steps = np.arange(1, trace.m_hat.shape[0] + 1, dtype=np.float64)[:, None]
    denom = np.sqrt(steps * trace.v_hat)
    terms = np.where(denom > 0.0, trace.m_hat**2 / np.where(denom > 0.0, denom, 1.0), 0.0)
    return terms.sum(axis=0)


def lemma1_rhs(G: float, G_inf: float, gnorm: np.ndarray, beta1: float, beta2: float) -> np.ndarray:
    """``2G∞³/(G²(1-η)²√(1-β2)) ‖g_{1:T,i}‖₂`` with η = β1²/√β2."""
    eta = beta1**2 / math.sqrt(beta2) if beta2 > 0 else (0.0 if beta1 == 0 else math.inf)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        # a huge ratio e_t/‖g_t‖ can push G∞³ past float64: the bound is then +inf
        const = (
            2.0
            * np.float64(G_inf) ** 3
            / (np.float64(G) ** 2 * (1.0 - eta) ** 2 * math.sqrt(1.0 - beta2))
        )
        return const * gnorm


def admissible_constants(
    grads: np.ndarray, trace: AdamNormTrace
) -> tuple[Constants, Constants] | None:
    """The natural and the tightest admissible (G, G∞), or None when none exists."""
    norms = trace.norms
    if np.any((norms == 0.0) & (trace.e > 0.0)):
        return None
    n_max = float(norms.max())
    if n_max == 0.0:
        return None  # all-zero sequence: both sides are 0, nothing to test
    nz = norms > 0.0
    r = float(np.max(trace.e[nz] / norms[nz]))
    a = max(float(np.abs(grads).max()), float(trace.e.max()))
    natural = Constants(G=n_max, G_inf=max(a, r * n_max))
    if r > 0.0:
        g_star = max(n_max, a / r)
        tight = Constants(G=g_star, G_inf=max(a, r * g_star))
    else:  # γ = 1 is excluded by the callers; keep the natural pair
        tight = natural
    return natural, tight


def evaluate(
    grads: np.ndarray | list, beta1: float, beta2: float, gamma: float
) -> Lemma1Evaluation:
    """Both sides of Lemma 1 on ``grads`` (shape (T, d)) with both constant choices."""
    g = np.asarray(grads, dtype=np.float64)
    trace = adamnorm_trace(g, beta1, beta2, gamma)
    lhs = lemma1_lhs(trace)
    gnorm = np.sqrt(np.sum(g * g, axis=0))
    consts = admissible_constants(g, trace)
    # Active steps with a nonzero gradient: the correction actually rescales g_t there.
    active = int(np.sum(trace.active & (trace.norms > 0.0)))
    if consts is None:
        empty = [math.nan] * g.shape[1]
        return Lemma1Evaluation(
            g.tolist(), beta1, beta2, gamma, False, active, None, None, lhs.tolist(), empty, empty
        )
    natural, tight = consts
    return Lemma1Evaluation(
        grads=g.tolist(),
        beta1=beta1,
        beta2=beta2,
        gamma=gamma,
        admissible=True,
        correction_steps=active,
        natural=natural,
        tightest=tight,
        lhs=lhs.tolist(),
        rhs_natural=lemma1_rhs(natural.G, natural.G_inf, gnorm, beta1, beta2).tolist(),
        rhs_tightest=lemma1_rhs(tight.G, tight.G_inf, gnorm, beta1, beta2).tolist(),
    )


def replay(payload: str) -> Lemma1Evaluation:
    """Re-evaluate a reported counterexample: ``payload`` is JSON with grads, beta1, beta2, gamma.

    Prints both sides; used by the replay commands in ``results/theory.json``.
    """
    data = json.loads(payload)
    ev = evaluate(data["grads"], data["beta1"], data["beta2"], data["gamma"])
    print(
        json.dumps(
            {
                "lhs": ev.lhs,
                "rhs_natural": ev.rhs_natural,
                "rhs_tightest": ev.rhs_tightest,
                "natural": asdict(ev.natural) if ev.natural else None,
                "correction_steps": ev.correction_steps,
                "violated": ev.violated(),
            },
            indent=1,
        )
    )
    return ev


def replay_command(ev: Lemma1Evaluation, case: str | None = None) -> str:
    """A shell command that re-evaluates ``ev`` (see :func:`replay` and :func:`main`)."""
    if case is not None:
        return python_command("theory.lemma1_numeric", "--case", case)
    payload = json.dumps(
        {"grads": ev.grads, "beta1": ev.beta1, "beta2": ev.beta2, "gamma": ev.gamma}
    )
    return python_command("theory.lemma1_numeric", payload)


def scaled_sequence_threshold(grads: np.ndarray, beta1: float, beta2: float, gamma: float) -> float:
    """The scale c below which ``c·grads`` violates Lemma 1 (natural constants).

    Every assumption is invariant under ``g → c g`` (G, G∞ scale with c and
    e_t/‖g_t‖ does not), the left side scales as c and the right side as c²
    (see :func:`theory.adanorm_bounds.dimension_report_lemma1`); so the lemma
    holds for ``c·grads`` iff ``c ≥ max_i LHS_i/RHS_i`` at c = 1.
    """
    return evaluate(grads, beta1, beta2, gamma).worst_ratio("natural")


# --------------------------------------------------------------------------- searches


@dataclass(frozen=True)
class SearchOutcome:
    """What one Hypothesis search tried and found."""

    regime: str
    description: str
    examples_evaluated: int
    admissible_examples: int
    found: bool
    example: dict[str, object] | None


def _search(
    regime: str,
    description: str,
    strategy: object,
    build: Callable[[object], tuple[np.ndarray, float, float, float] | None],
    max_examples: int,
    need_active: bool,
    which: str = "natural",
) -> SearchOutcome:
    """Run ``hypothesis.find`` for a violation of Lemma 1 and count what it tried."""

    counts = {"all": 0, "admissible": 0}

    def violates(raw: object) -> bool:
        counts["all"] += 1
        built = build(raw)
        if built is None:
            return False
        grads, b1, b2, gm = built
        ev = evaluate(grads, b1, b2, gm)
        if not ev.admissible or (need_active and ev.correction_steps == 0):
            return False
        counts["admissible"] += 1
        return ev.violated(which)

    raw = find_example(strategy, violates, max_examples)
    if raw is None:
        return SearchOutcome(regime, description, counts["all"], counts["admissible"], False, None)
    built = build(raw)
    assert built is not None
    ev = evaluate(*built)
    example = {
        "grads": ev.grads,
        "beta1": ev.beta1,
        "beta2": ev.beta2,
        "gamma": ev.gamma,
        "correction_steps": ev.correction_steps,
        "natural_constants": asdict(ev.natural) if ev.natural else None,
        "tightest_constants": asdict(ev.tightest) if ev.tightest else None,
        "lhs": ev.lhs,
        "rhs_natural": ev.rhs_natural,
        "rhs_tightest": ev.rhs_tightest,
        "replay": replay_command(ev),
    }
    return SearchOutcome(regime, description, counts["all"], counts["admissible"], True, example)


def run_searches(max_examples: int) -> list[SearchOutcome]:
    """The Lemma 1 searches reported for AN-6 (natural constants).

    1. paper hyperparameters, any scale (gradients × 10^k, k ∈ [-12, 2]);
    2. the same with the correction active on at least one step;
    3. unit scale (max_t ‖g_t‖₂ = 1), free hyperparameters with η < 1,
       correction active;
    4. unit scale, paper hyperparameters, correction active.

    The first row of every sequence has magnitude 1 and later rows a drawn
    magnitude, so that norms fall and the correction fires often.
    """
    from hypothesis import strategies as st

    entry = st.floats(-1.0, 1.0, allow_nan=False, allow_subnormal=False)
    magnitude = st.sampled_from([1.0, 0.3, 0.1, 0.03, 0.01, 0.001])

    @st.composite
    def sequences(draw: Callable, t_max: int, d_max: int) -> np.ndarray:
        T = draw(st.integers(1, t_max))
        dim = draw(st.integers(1, d_max))
        rows = [[draw(entry) for _ in range(dim)] for _ in range(T)]
        mags = [1.0] + [draw(magnitude) for _ in range(T - 1)]
        return np.asarray(rows) * np.asarray(mags)[:, None]

    def unit(grads: np.ndarray) -> np.ndarray | None:
        top = float(np.max(np.linalg.norm(grads, axis=1)))
        return None if top == 0.0 else grads / top

    paper = (PAPER_HYPER["beta1"], PAPER_HYPER["beta2"], PAPER_HYPER["gamma"])
    any_scale = st.tuples(sequences(8, 3), st.integers(-12, 2))
    hyper = st.tuples(st.floats(0.0, 0.99), st.floats(0.0, 0.999), st.floats(0.0, 0.99))

    def build_scaled(raw: object) -> tuple[np.ndarray, float, float, float] | None:
        grads, k = raw  # type: ignore[misc]
        return grads * 10.0**k, *paper

    def build_unit_free(raw: object) -> tuple[np.ndarray, float, float, float] | None:
        grads, (b1, b2, gm) = raw  # type: ignore[misc]
        u = unit(grads)
        if u is None or (b2 == 0.0 and b1 > 0.0) or (b2 > 0.0 and b1**2 / math.sqrt(b2) >= 1.0):
            return None
        return u, b1, b2, gm

    def build_unit_paper(raw: object) -> tuple[np.ndarray, float, float, float] | None:
        u = unit(raw)  # type: ignore[arg-type]
        return None if u is None else (u, *paper)

    return [
        _search(
            "paper_any_scale",
            "beta1=0.9, beta2=0.999, gamma=0.95; T<=8, d<=3; gradients x 10^k, k in [-12, 2]",
            any_scale,
            build_scaled,
            max_examples,
            need_active=False,
        ),
        _search(
            "paper_any_scale_active",
            "as above, correction active on >= 1 step",
            any_scale,
            build_scaled,
            max_examples,
            need_active=True,
        ),
        _search(
            "unit_scale_free_hyper_active",
            "max_t ||g_t||_2 = 1; beta1 in [0,.99], beta2 in [0,.999], gamma in [0,.99], eta < 1; "
            "T<=40, d<=4; correction active",
            st.tuples(sequences(40, 4), hyper),
            build_unit_free,
            max_examples,
            need_active=True,
        ),
        _search(
            "unit_scale_paper_active",
            "max_t ||g_t||_2 = 1; paper hyperparameters; T<=40, d<=4; correction active",
            sequences(40, 4),
            build_unit_paper,
            max_examples,
            need_active=True,
        ),
    ]


def search_tight_bounds_with_correction(max_examples: int) -> SearchOutcome:
    """Look for tight bounds satisfying ``e_t/‖g_t‖₂ ≤ G∞/G`` while the correction is active.

    Tight bounds: ``G = max_t ‖g_t‖₂``, ``G∞ = max_t ‖g_t‖∞``. By
    :func:`theory.adanorm_bounds.assumptions_versus_correction` none exists;
    the search checks the argument numerically (γ and β's drawn freely).
    """
    from hypothesis import strategies as st

    counts = {"all": 0, "active": 0}
    entry = st.floats(-1.0, 1.0, allow_nan=False, allow_subnormal=False)
    magnitude = st.sampled_from([1.0, 0.3, 0.1, 0.01, 0.001])

    @st.composite
    def case(draw: Callable) -> tuple[np.ndarray, float]:
        T = draw(st.integers(1, 30))
        dim = draw(st.integers(1, 4))
        rows = np.asarray([[draw(entry) for _ in range(dim)] for _ in range(T)])
        mags = np.asarray([1.0] + [draw(magnitude) for _ in range(T - 1)])
        return rows * mags[:, None], draw(st.floats(0.0, 0.999))

    def both(raw: tuple[np.ndarray, float]) -> bool:
        counts["all"] += 1
        grads, gm = raw
        trace = adamnorm_trace(grads, 0.9, 0.999, gm)
        live = trace.active & (trace.norms > 0.0)
        if not live.any():
            return False
        counts["active"] += 1
        G = float(trace.norms.max())
        G_inf = float(np.abs(grads).max())
        ratios = trace.e[trace.norms > 0.0] / trace.norms[trace.norms > 0.0]
        zero_bad = bool(np.any((trace.norms == 0.0) & (trace.e > 0.0)))
        return (
            (not zero_bad) and bool(np.all(ratios <= G_inf / G)) and bool(np.all(trace.e <= G_inf))
        )

    raw = find_example(case(), both, max_examples)
    if raw is None:
        return SearchOutcome(
            "tight_bounds_with_correction",
            "tight G, G_inf; correction active; Lemma 1's e-assumptions hold",
            counts["all"],
            counts["active"],
            False,
            None,
        )
    grads, gm = raw
    return SearchOutcome(
        "tight_bounds_with_correction",
        "tight G, G_inf; correction active",
        counts["all"],
        counts["active"],
        True,
        {"grads": grads.tolist(), "gamma": gm},
    )


#: Hand-picked sequences, each isolating one way the lemma fails (see AN-6 in the results).
DETERMINISTIC_CASES: dict[str, dict[str, object]] = {
    "minimal_scale": {
        "why": "T=1, d=1, paper hyperparameters: LHS = |g| scales as c, RHS as c^2",
        "grads": [[1e-4]],
        "beta1": 0.9,
        "beta2": 0.999,
        "gamma": 0.95,
    },
    "scale_with_correction": {
        "why": "correction active at t=2 (e_2 > |g_2|), paper hyperparameters, gradients x 1e-4",
        "grads": [[1e-4], [4e-6]],
        "beta1": 0.9,
        "beta2": 0.999,
        "gamma": 0.95,
    },
    "unit_scale_no_correction": {
        "why": (
            "g_t = 1/sqrt(t), T=100, beta1=0, beta2=0.01, gamma=0 (AdamNorm = Adam, G = G_inf = "
            "1): the lemma's last step, Kingma & Ba's Lemma 10.3 (sum |g_t|/sqrt(t) <= 2 G_inf "
            "||g_1:T||), fails here"
        ),
        "grads": [[1.0 / math.sqrt(t)] for t in range(1, 101)],
        "beta1": 0.0,
        "beta2": 0.01,
        "gamma": 0.0,
    },
    "unit_scale_correction_active": {
        "why": (
            "g_t = 1/sqrt(t), T=100, beta1=0, beta2=0.01, gamma=0.1: correction active on 99 "
            "steps, G = 1, G_inf = max(e_t/||g_t||) = 1.027"
        ),
        "grads": [[1.0 / math.sqrt(t)] for t in range(1, 101)],
        "beta1": 0.0,
        "beta2": 0.01,
        "gamma": 0.1,
    },
}


def deterministic_cases() -> dict[str, dict[str, object]]:
    """Evaluate :data:`DETERMINISTIC_CASES`: both sides, constants and a replay command."""
    out: dict[str, dict[str, object]] = {}
    for name, case in DETERMINISTIC_CASES.items():
        ev = evaluate(case["grads"], case["beta1"], case["beta2"], case["gamma"])  # type: ignore[arg-type]
        out[name] = {
            "why": case["why"],
            "T": len(ev.grads),
            "d": len(ev.grads[0]),
            "grads": ev.grads if len(ev.grads) <= 4 else f"g_t = 1/sqrt(t), t = 1..{len(ev.grads)}",
            "beta1": ev.beta1,
            "beta2": ev.beta2,
            "gamma": ev.gamma,
            "correction_steps": ev.correction_steps,
            "natural_constants": asdict(ev.natural) if ev.natural else None,
            "lhs": ev.lhs,
            "rhs": ev.rhs_natural,
            "violated": ev.violated(),
            "replay": replay_command(ev, case=name),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m theory.lemma1_numeric '<json>'`` or ``--case NAME``: print both sides."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) == 2 and args[0] == "--case":
        case = DETERMINISTIC_CASES[args[1]]
        payload = json.dumps({key: case[key] for key in ("grads", "beta1", "beta2", "gamma")})
    elif len(args) == 1:
        payload = args[0]
    else:
        print("usage: python -m theory.lemma1_numeric ('<json>' | --case NAME)", file=sys.stderr)
        return 2
    ev = replay(payload)
    return 0 if ev.admissible else 1


if __name__ == "__main__":
    raise SystemExit(main())
