"""The papers' theorems, lemmas and identities as sympy objects, checked symbolically and
numerically.

One module per job:

* :mod:`theory.symbols`, :mod:`theory.statements`, :mod:`theory.dimensions` — shared symbols,
  the statement container, the scaling (dimensional-consistency) analysis;
* :mod:`theory.adanorm_bounds` — AdamNorm Lemma 1, Theorem 1 (arXiv) / 2 (WACV), Corollary 1;
* :mod:`theory.lemma1_numeric` — Lemma 1 on concrete sequences, Hypothesis searches;
* :mod:`theory.adanorm_regret_instance` — an instance on which the regret bound fails;
* :mod:`theory.adarem_bounds`, :mod:`theory.reference_adarem` — AdaRem Theorem 1 and its derivation;
* :mod:`theory.radam`, :mod:`theory.aida_projections`, :mod:`theory.sphere_lr`,
  :mod:`theory.series` — RAdam's rectification, Aida's projections, AdaRem-S's sphere rate,
  the series bounds the proofs use;
* :mod:`theory.reference_adamnorm`, :mod:`theory.online` — small float64 transcriptions
  (independent of ``optimizers/``) and the online convex framework;
* :mod:`theory.bounds` — the regret bounds as plain functions of measured quantities;
* :mod:`theory.checks`, ``python -m theory`` — one verdict per thy claim, ``results/theory.json``.

What every stage shares lives here too, the lowest layer that issues verdicts:

* :mod:`theory.catalogue` — the claims of ``../shared/CLAIMS.md`` with their kinds;
* :mod:`theory.verdicts` — the verdict vocabulary and the record every stage writes;
* :mod:`theory.stage_protocol` — the shape of a stage (its claims, budgets, commands) that
  the report drives, and every command a record stores; :mod:`theory.stage` is this one;
* :mod:`theory.profiles` — the Hypothesis profiles of the theory and invariant searches.
"""
