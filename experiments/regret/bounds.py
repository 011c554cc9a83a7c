"""The theorems' bounds evaluated from measured constants (glue to :mod:`theory.bounds`).

For each arm and instance the bound is evaluated at every recorded horizon
T with the constants an experimenter can measure up to T:

* ``G = max_{t≤T} sup_{θ∈F} ‖∇f_t(θ)‖₂`` and ``G∞`` likewise with ‖·‖∞ — the
  smallest constants the theorems' gradient assumptions admit (paper 000
  Theorem 1 says "for all θ ∈ R^d"; on problems whose gradients are
  unbounded on R^d the sup is over F, the only points the iterates visit);
* ``D``, ``D∞``: the L2 / L∞ diameters of the box F (they bound every
  distance the proofs use, ``‖θ_t - θ*‖`` included); the variant
  ``"iterates"`` uses the extent of the iterates instead, which is what the
  statement of paper 000 Theorem 1 literally assumes;
* ``v̂_T`` and ``‖g_{1:T,i}‖₂ = sqrt(Σ_{t≤T} g²_{t,i})`` of the arm's own run.

``constants="lemma"`` raises G∞ to what paper 001 Lemma 1 additionally
assumes (``e_t ≤ G∞`` and ``e_t/‖g_t‖₂ ≤ G∞/G``):
``G∞ = max(G∞, max_t e_t, G·max_t e_t/‖g_t‖₂)``.
"""

from __future__ import annotations

import math

import numpy as np

from experiments.regret.algorithms import AdamFamily, AdaRem, OnlineAlgorithm, OnlineGradientDescent
from experiments.regret.problems import Box
from experiments.regret.runner import RawRun
from theory.bounds import adamnorm_regret_bound_terms, adarem_regret_bound

VERSIONS = ("wacv", "arxiv")


def adamnorm_bound(
    raw: RawRun, arm: int, alg: AdamFamily, box: Box, version: str, constants: str = "theorem"
) -> dict[str, np.ndarray]:
    """Paper 000 Theorem 1 (``"arxiv"``) / paper 001 Theorem 2 (``"wacv"``), terms and total (B, H).

    ``constants``: ``"theorem"`` (the box diameters, tight gradient bounds),
    ``"iterates"`` (iterate extents for D, D∞), ``"lemma"`` (G∞ raised to Lemma 1's assumptions).
    """
    G = raw.G_sup
    G_inf = raw.Ginf_sup
    D: np.ndarray | float = box.diameter
    D_inf: np.ndarray | float = box.diameter_inf
    if constants == "iterates":
        D, D_inf = raw.extent_2[arm], raw.extent_inf[arm]
    elif constants == "lemma":
        e_max = np.nan_to_num(raw.e_max[arm], nan=0.0)
        ratio = np.nan_to_num(raw.ratio_max[arm], nan=0.0)
        G_inf = np.maximum.reduce([G_inf, e_max, G * ratio, G])
    elif constants != "theorem":
        raise ValueError(f"unknown constants {constants!r}")
    terms = adamnorm_regret_bound_terms(
        T=raw.horizons.astype(np.float64),
        D=D,
        D_inf=D_inf,
        G=G,
        G_inf=G_inf,
        vhat_T=raw.vhat[arm],
        gnorms=np.sqrt(raw.sumsq[arm]),
        alpha=alg.alpha,
        beta1=alg.beta1,
        beta2=alg.beta2,
        lam=alg.lam,
        gamma=alg.gamma if alg.norm_correction else 0.0,
        version=version,
    )
    total = sum(terms.values())
    return {**terms, "total": np.asarray(total)}


def adarem_bound(raw: RawRun, alg: AdaRem, box: Box, norm: str = "l2") -> np.ndarray:
    """Paper 002 §3.3 Theorem 1, shape (B, H), with ``G₂ = max_{t≤T} sup_F ‖∇f_t‖``.

    ``norm``: "l2" (the statement's ‖·‖ read as the Euclidean norm) or "inf".
    """
    G2 = raw.G_sup if norm == "l2" else raw.Ginf_sup
    T = raw.horizons.astype(np.float64)
    return np.stack(
        [
            adarem_regret_bound(
                T=T, d=box.dim, D_inf=box.diameter_inf, G2=G2[b], eta=alg.alpha, lam=alg.lam
            )
            for b in range(G2.shape[0])
        ]
    )


def ogd_bound(raw: RawRun, alg: OnlineGradientDescent, box: Box) -> np.ndarray:
    """Zinkevich (2003) Theorem 1 with ``η_t = η/√t``: ``D²√T/(2η) + (√T - 1/2) η G²`` (B, H).

    The pipeline's control: OGD provably respects it, so a violation would
    mean a bug in the regret or comparator computation, not a finding.
    """
    root = np.sqrt(raw.horizons.astype(np.float64))
    return box.diameter**2 * root / (2.0 * alg.alpha) + (root - 0.5) * alg.alpha * raw.G_sup**2


def bounds_for(raw: RawRun, arm: int, alg: OnlineAlgorithm, box: Box) -> dict[str, np.ndarray]:
    """Every bound that applies to ``alg``, keyed by a short name, each (B, H).

    AdamNorm: ``wacv``, ``arxiv`` (theorem constants), ``wacv-iterates``,
    ``wacv-lemma``, ``arxiv-lemma``. Adam gets the same theorem evaluated with
    γ = 0 (it is AdamNorm whose correction never fires: Kingma & Ba's form).
    AdaRem: ``adarem`` (G₂ as an L2 bound) and ``adarem-inf``. OGD: ``zinkevich``.
    """
    out: dict[str, np.ndarray] = {}
    if isinstance(alg, AdamFamily):
        for version in VERSIONS:
            out[version] = adamnorm_bound(raw, arm, alg, box, version)["total"]
            out[f"{version}-lemma"] = adamnorm_bound(raw, arm, alg, box, version, "lemma")["total"]
        out["wacv-iterates"] = adamnorm_bound(raw, arm, alg, box, "wacv", "iterates")["total"]
    elif isinstance(alg, AdaRem):
        out["adarem"] = adarem_bound(raw, alg, box, "l2")
        out["adarem-inf"] = adarem_bound(raw, alg, box, "inf")
    elif isinstance(alg, OnlineGradientDescent):
        out["zinkevich"] = ogd_bound(raw, alg, box)
    return out


def dominant_term(
    raw: RawRun, arm: int, alg: AdamFamily, box: Box, version: str
) -> dict[str, float]:
    """The three terms of the AdamNorm bound at the last horizon, averaged over instances."""
    terms = adamnorm_bound(raw, arm, alg, box, version)
    return {k: float(np.mean(v[:, -1])) for k, v in terms.items() if k != "total"}


def eta_of(alg: AdamFamily) -> float:
    """``η = β1²/√β2`` of paper 001 Lemma 1."""
    return alg.beta1**2 / math.sqrt(alg.beta2)
