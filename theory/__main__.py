"""``python -m theory``: run the theory checks and write ``<out>/theory.json``.

Options: ``--out DIR`` (default ``results/``), ``--examples N`` (size of every
Hypothesis search, default 500), ``--claims AN-6,RA-1`` (a subset; default
all). Prints one line per claim. The exit status is 0 whatever the verdicts
(a falsified claim is a result); an exception is a bug in the checks.
"""

from __future__ import annotations

import argparse
import sys
import time

from theory.stage import THEORY


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run the selected checks, write the records and print the table."""
    parser = argparse.ArgumentParser(prog="python -m theory", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", default="results/", help="directory for theory.json (default: results/)"
    )
    parser.add_argument(
        "--examples", type=int, default=500, help="Hypothesis examples per search (default: 500)"
    )
    THEORY.add_claims_option(parser)
    args = parser.parse_args(argv)
    wanted = THEORY.parse_claims(parser, args.claims)
    if args.examples < 1:
        parser.error("--examples must be >= 1")
    checks = THEORY.checks()
    results = []
    rows = []
    for claim in wanted:
        start = time.perf_counter()
        result = checks[claim](args.examples)
        elapsed = time.perf_counter() - start
        result.evidence.setdefault("seconds", round(elapsed, 2))
        results.append(result)
        rows.append((claim, result.verdict, elapsed, result.summary))
    path = THEORY.write(results, args.out)
    width = max(len(r[1]) for r in rows)
    for claim, verdict, elapsed, summary in rows:
        head = summary if len(summary) <= 110 else summary[:107] + "..."
        print(f"{claim:<5} {verdict:<{width}} {elapsed:6.1f}s  {head}")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
