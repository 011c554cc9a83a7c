"""``python -m invariants.replay ID``: re-run a stored counterexample on both implementations.

Reads the record of claim ``ID`` from the results file (``--results``, default
``results/invariants.json``), rebuilds the exact case (the arrays are stored in
full) and prints the violations each implementation produces on it, without any
of the claim's conditions imposed. Exits 0 when the counterexample reproduces on
the implementation that found it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from invariants.cases import Case
from invariants.claims import CLAIMS
from invariants.results import load
from invariants.runners import IMPLEMENTATIONS
from invariants.search import counted


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m invariants.replay", description=__doc__.splitlines()[0]
    )
    parser.add_argument("claim", choices=sorted(CLAIMS))
    parser.add_argument(
        "--results", default=None, help="results file (default results/invariants.json)"
    )
    args = parser.parse_args(argv)
    records = load(Path(args.results) if args.results else None)
    if args.claim not in records:
        parser.error(f"no record for {args.claim}; run: python -m invariants --claims {args.claim}")
    evidence = records[args.claim].evidence
    if "counterexample" not in evidence:
        print(f"{args.claim}: verdict {records[args.claim].verdict}, no counterexample to replay")
        return 0
    stored = evidence["counterexample"]
    case = Case.from_json(stored["case"])
    claim = CLAIMS[args.claim]
    print(f"{args.claim}: {claim.statement}")
    print(f"case: {case.describe()}")
    reproduced = {}
    for implementation in IMPLEMENTATIONS:
        violations = counted(claim.check(implementation, case), frozenset())
        reproduced[implementation] = bool(violations)
        print(f"  {implementation:<10} {len(violations)} violation(s)")
        for v in violations[:3]:
            print(f"    - {v.message}")
    return 0 if reproduced[stored["found_by"]] else 1


if __name__ == "__main__":
    sys.exit(main())
