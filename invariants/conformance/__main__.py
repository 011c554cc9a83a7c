"""``python -m invariants.conformance``: does an optimizer implement the paper's method?

    python -m invariants.conformance torch.optim:Adam --method Adam
    python -m invariants.conformance pytorch_optimizer:AdaBelief --method AdaBeliefNorm \\
        --kwargs '{"adanorm": true}'
    python -m invariants.conformance --targets targets.json --out conformance/

Writes ``conformance.json``, ``CONFORMANCE.md`` and plots to ``--out`` (default
``conformance/``). Exit status: 0 every target conforms (possibly under a
documented open choice), 1 a check failed, 2 a target could not be loaded or built.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from invariants.conformance.checks import CHECKS, FAIL, OPEN, SHRINK_SECONDS
from invariants.conformance.runner import check_conformance
from invariants.conformance.target import Target, TargetError
from invariants.conformance.writer import write_reports
from optimizers.registry import REGISTRY


def _targets_from_file(path: Path) -> list[Target]:
    try:
        entries = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise TargetError(f"--targets {path}: {error}") from error
    if not isinstance(entries, list):
        raise TargetError(f"--targets {path}: expected a JSON list of targets")
    targets = []
    for number, entry in enumerate(entries):
        where = f"--targets {path}, entry {number}"
        if not isinstance(entry, dict) or "target" not in entry or "method" not in entry:
            raise TargetError(f"{where}: each entry needs 'target' and 'method': {entry}")
        for key in ("target", "method"):
            if not isinstance(entry[key], str):
                raise TargetError(f"{where}: {key!r} must be a string, got {entry[key]!r}")
        for key in ("kwargs", "reference_kwargs"):
            if not isinstance(entry.get(key) or {}, dict):
                raise TargetError(f"{where}: {key!r} must be a JSON object, got {entry[key]!r}")
        targets.append(
            Target.from_spec(
                entry["target"],
                entry["method"],
                entry.get("kwargs") or {},
                entry.get("reference_kwargs") or {},
            )
        )
    return targets


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m invariants.conformance",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[1:]),
    )
    parser.add_argument("target", nargs="?", help="package.module:Class")
    parser.add_argument("--method", choices=list(REGISTRY), help="the method it implements")
    parser.add_argument("--kwargs", default="", help="JSON object or k=v,k=v for the target")
    parser.add_argument(
        "--reference-kwargs", default="", help="reference hyperparameters the names don't share"
    )
    parser.add_argument("--targets", type=Path, help="JSON list of {target, method, kwargs}")
    parser.add_argument("--steps", type=int, default=60, help="battery length (default 60)")
    parser.add_argument("--no-shrink", action="store_true", help="skip the Hypothesis shrink")
    parser.add_argument(
        "--shrink-seconds",
        type=float,
        default=SHRINK_SECONDS,
        help=f"time budget of each shrink, one per distinct cause (default {SHRINK_SECONDS:g})",
    )
    parser.add_argument("--only", default="", help="comma-separated check names (prefixes)")
    parser.add_argument("--out", type=Path, default=Path("conformance"))
    args = parser.parse_args(argv)
    if (args.target is None) == (args.targets is None):
        parser.error("give either a target (with --method) or --targets FILE")
    if args.target is not None and args.method is None:
        parser.error("--method is required with a target")
    if args.steps < 30:
        parser.error("--steps must be at least 30")
    if not args.shrink_seconds > 0:
        parser.error(f"--shrink-seconds must be positive, got {args.shrink_seconds}")
    prefixes = [p.strip() for p in args.only.split(",") if p.strip()]
    checks = [c for c in CHECKS if not prefixes or any(c.name.startswith(p) for p in prefixes)]
    if not checks:
        parser.error(f"--only {args.only!r} selects no check; checks: {[c.name for c in CHECKS]}")
    blocking = next((a for a in (args.out, *args.out.parents) if a.exists()), None)
    if blocking is not None and not blocking.is_dir():
        parser.error(f"--out {args.out}: {blocking} exists and is not a directory")
    try:
        if args.targets is not None:
            targets = _targets_from_file(args.targets)
        else:
            targets = [
                Target.from_spec(args.target, args.method, args.kwargs, args.reference_kwargs)
            ]
    except TargetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        reports = []
        for target in targets:
            print(f"{target.label} as {target.method} ({REGISTRY[target.method].algorithm})")
            reports.append(
                check_conformance(
                    target,
                    args.steps,
                    not args.no_shrink,
                    checks,
                    progress=_print_result,
                    shrink_seconds=args.shrink_seconds,
                )
            )
            print(f"  -> {reports[-1].verdict} ({reports[-1].seconds:.1f} s)", flush=True)
    except TargetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    written = write_reports(reports, args.out)
    print(f"wrote {', '.join(str(p) for p in written[:2])} and {len(written) - 2} plot(s)")
    return 1 if any(r.failures for r in reports) else 0


def _print_result(result) -> None:
    mark = {FAIL: "FAIL", OPEN: "open"}.get(result.status, result.status)
    print(f"  {result.name:<50}{mark:<16}{result.summary[:160]}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
