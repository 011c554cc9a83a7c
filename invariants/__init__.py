"""Hypothesis checks of every claim of kind inv or red in ``../shared/CLAIMS.md``.

* :mod:`invariants.strategies` — inputs built to be valid (gradient sequences with
  controlled norm profiles, realistic layer shapes, the papers' hyperparameter domains);
* :mod:`invariants.runners` — one case on torch (float64) or on the NumPy reference,
  with every intermediate quantity recorded (the runs are :mod:`optimizers.harness`'s);
* :mod:`invariants.claims` — one check per claim ID;
* :mod:`invariants.search` — the verdict: holds, holds-under-conditions (with the
  conditions and the counterexample without them) or falsified, on both
  implementations, which must agree;
* :mod:`invariants.stage` — the stage as the report drives it (one profile per mode);
* ``python -m invariants`` writes ``results/invariants.json``;
  ``python -m invariants.replay ID`` replays a stored counterexample.

A verdict is a result about a paper; a verdict mathematics rules out (``Claim.expected``)
is a bug in our implementation and fails the tests.
"""
