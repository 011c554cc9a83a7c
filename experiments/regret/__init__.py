"""Online-convex regret experiments for the regret claims (AN-7, AN-8, AR-7).

The papers prove O(√T) regret for AdamNorm (paper 000 §3.2 Theorem 1 and
Corollary 1; paper 001 supplement A, Lemma 1 and Theorem 2) and AdaRem
(paper 002 §3.3 Theorem 1) in Zinkevich's online convex framework. This
package measures regret on adversarial and natural online problems and
holds each bound, evaluated from measured constants with
:mod:`theory.bounds`, against it.

Modules, one job each:

* :mod:`~experiments.regret.scan` — time-vectorised recurrences (EMA, decaying-β1
  moment, running max, projected path);
* :mod:`~experiments.regret.algorithms` — batched AdamNorm, Adam, AMSGrad,
  AdaRem and online gradient descent in the theorems' regime;
* :mod:`~experiments.regret.problems` — the problem families, the box and its
  exact projection, exact comparators;
* :mod:`~experiments.regret.runner` — runs arms × instances, records R(T) and
  the bounds' measured inputs on a log grid of horizons;
* :mod:`~experiments.regret.bounds` — the bounds from measured constants;
* :mod:`~experiments.regret.measure`, :mod:`~experiments.regret.summary` —
  growth exponents with confidence intervals, bound checks, per-problem summaries;
* :mod:`~experiments.regret.claims` — the verdicts; :mod:`~experiments.regret.plots`,
  :mod:`~experiments.regret.store`, :mod:`~experiments.regret.config`, ``__main__``.
"""
