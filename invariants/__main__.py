"""``python -m invariants``: run the claim checks and write ``results/invariants.json``.

Options: ``--profile dev|ci|thorough`` (default: ``HYPOTHESIS_PROFILE``, else dev),
``--claims AN-1,AI-4`` (default: all), ``--out DIR`` (default: results). Prints one
line per claim; exits 1 if an implementation error or a disagreement between torch
and the reference occurred, or if a verdict is one mathematics rules out (our bug).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from invariants.claims import CLAIMS
from invariants.results import merge, record
from invariants.search import check_claim
from invariants.stage import INVARIANTS
from theory import profiles


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m invariants", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--profile", choices=sorted(profiles.BUDGETS), default=None)
    INVARIANTS.add_claims_option(parser)
    parser.add_argument("--out", default=None, help="results directory (default: results)")
    args = parser.parse_args(argv)
    profile = profiles.load(args.profile)
    os.environ[profiles.ENV] = profile
    ids = INVARIANTS.parse_claims(parser, args.claims)
    out = Path(args.out) if args.out else None
    print(f"invariants: {len(ids)} claims, profile {profile}, torch float64 + NumPy reference")
    print(f"{'claim':<7}{'verdict':<24}{'examples':>9}{'seconds':>9}  summary")
    failures = 0
    started = time.perf_counter()
    for claim_id in ids:
        claim = CLAIMS[claim_id]
        run = check_claim(claim, profile)
        run.result.evidence["seconds"] = round(run.seconds, 1)  # the report's expected time
        record(run.result, out)
        bad = bool(run.errors) or not run.agree or run.result.verdict not in claim.expected
        failures += bad
        flag = "  <-- our bug" if bad else ""
        examples = run.result.evidence["examples"]
        print(
            f"{claim_id:<7}{run.result.verdict:<24}{examples:>9}{run.seconds:>9.1f}  "
            f"{run.result.summary[:150]}{flag}",
            flush=True,
        )
    target = merge(out)
    print(f"wrote {target} ({time.perf_counter() - started:.0f} s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
