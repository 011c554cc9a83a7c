"""``python -m invariants.replay ID``: re-run a stored counterexample on both implementations.

Reads the record of claim ``ID`` from the results file (``--results``, a file or
the folder holding ``invariants.json``; default ``results/invariants.json``),
rebuilds the exact case (the arrays are stored in full), prints its
hyperparameters and its steps as a table (the quantities the claim speaks of,
the violated steps marked) and the violations each implementation produces on
it, without any of the claim's conditions imposed. The last line compares the
replay with the recorded verdict. Exits 0 when the counterexample reproduces on
the implementation that found it. ``--caveat NAME`` replays the counterexample of one
caveat of a ``holds`` record instead (each caveat's command in the report names it).

The same table and hyperparameter line are what the verification report shows
for the counterexample (:func:`step_table`, :func:`hyper_line`).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from invariants.cases import Case
from invariants.claims import CLAIMS
from invariants.results import load
from invariants.runners import IMPLEMENTATIONS, run
from invariants.search import counted
from invariants.stage import INVARIANTS
from optimizers.registry import REGISTRY

HYPER_NAMES = {
    "lr": "lr",
    "beta": "β",
    "eps": "ε",
    "gamma": "γ",
    "weight_decay": "weight decay",
    "lam": "λ",
    "xi": "ξ",
    "K": "K",
    "eps_mode": "ε placement",
    "lam_tick": "λ ticks per",
    "norm_scope": "norm over",
}
"""How the hyperparameters are written for a reader (the papers' symbols)."""

PROVENANCE_FIELDS = ("plan",)
"""Extras that record how the search drew the case, not what the claim is about."""

QUANTITIES: dict[str, tuple[str, str]] = {
    "s": ("s_t", r"\bs_t\b|‖s"),
    "e": ("e_t", r"\be_t\b"),
    "m": ("m_t", r"\bm_t\b|\bm\b|\bm\^|first moment|momentum"),
    "v": ("v_t", r"\bv_t\b|second moment"),
    "a": ("a_t", r"\ba\b|\ba_t\b|modulation"),
    "xi": ("ξ_t", r"ξ_t|friction"),
    "direction": ("update", r"update|direction|\w step\b|step changes|steps"),
}
"""Trace key -> (column name, pattern that shows the claim speaks of it). ``g_t`` is
always shown: it is the input."""

WINDOW = 6
"""Steps shown either side of the first violated step when a case is long."""


@dataclass(frozen=True)
class StepTable:
    """A counterexample's steps: one row per step, the violated steps marked."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    marked: tuple[int, ...]
    """Indices into ``rows`` of the steps a violation names."""
    series: dict[str, list[float]]
    """Column name -> value per shown step (one-element tensors only), for a plot."""
    steps: tuple[int, ...]
    note: str


def _value(x: Any) -> str:
    return f"{float(x):.4g}"


def hyper_line(case_json: dict[str, Any]) -> str:
    """'AdamNorm: lr = 0.001, β1 = 0.5, β2 = 0, ...; 1 tensor of shape (), 2 steps'."""
    parts = []
    for key, value in case_json["hyper"].items():
        if key == "betas":
            parts += [f"β1 = {value[0]:g}", f"β2 = {value[1]:g}"]
        elif isinstance(value, float):
            parts.append(f"{HYPER_NAMES.get(key, key)} = {value:g}")
        else:
            parts.append(f"{HYPER_NAMES.get(key, key)} = {value}")
    for key, value in case_json.get("extra", {}).items():
        if key in PROVENANCE_FIELDS:
            continue
        if isinstance(value, float):
            parts.append(f"{key} = {value:g}")
        elif isinstance(value, list) and all(isinstance(v, float) for v in value):
            parts.append(f"{key} = [{', '.join(f'{v:.4g}' for v in value)}]")
        elif isinstance(value, list) and all(isinstance(v, list) for v in value):
            parts.append(f"{key} = {np.array(value).round(4).tolist()}")
        else:
            parts.append(f"{key} = {value}")
    shapes = [tuple(s) for s in case_json["shapes"]]
    tensors = f"{len(shapes)} tensor{'s' * (len(shapes) != 1)} of shape " + ", ".join(
        str(s) for s in shapes
    )
    steps = len(case_json["grads"])
    run_length = f", {steps} step{'s' * (steps != 1)}" if steps else ""
    return f"{case_json['optimizer']}: {', '.join(parts)}; {tensors}{run_length}"


def _columns(statement: str, violations: Sequence[str]) -> list[str]:
    text = " ".join([statement, *violations])
    chosen = [key for key, (_, pattern) in QUANTITIES.items() if re.search(pattern, text)]
    return chosen or ["m", "v", "direction"]


def _compared_base(optimizer: str, violations: Sequence[str]) -> str | None:
    """The registry's base optimizer of ``optimizer`` when a violation compares with it."""
    base = REGISTRY[optimizer].base if optimizer in REGISTRY else None
    if base and any(re.search(rf"\b{re.escape(base)}\b", v) for v in violations):
        return base
    return None


def _cell(values: list[Any], i: int) -> tuple[str, float | None]:
    x = values[i] if i < len(values) else None
    if x is None:
        return "–", None
    x = np.asarray(x, dtype=np.float64)
    if x.size == 1:
        return _value(x.reshape(())), float(x.reshape(()))
    return f"‖·‖ {_value(np.linalg.norm(x))}", None


def step_table(
    case_json: dict[str, Any], violations: Sequence[str], statement: str, implementation: str
) -> StepTable | None:
    """The steps of a stored case as ``implementation`` runs them, or None when the case
    is no optimizer run (e.g. a loss function with its own inputs)."""
    case = Case.from_json(case_json)
    if not case.grads:
        return None
    trace = run(implementation, case)
    marked_steps = sorted({int(s) for v in violations for s in re.findall(r"step (\d+)", v)})
    tensors = sorted({int(s) for v in violations for s in re.findall(r"tensor (\d+)", v)})
    tensor = tensors[0] if tensors else 0
    keys = [k for k in _columns(statement, violations) if k in trace[0]]
    traces = {case.optimizer: trace}
    base = _compared_base(case.optimizer, violations)
    if base is not None:
        base_hyper = {k: v for k, v in case.hyper.items() if k in REGISTRY[base].defaults}
        traces[base] = run(implementation, case.with_optimizer(base, **base_hyper))
    header = ["step", "g_t"]
    for key in keys:
        for name in traces:
            header.append(f"{QUANTITIES[key][0]} {name}" if len(traces) > 1 else QUANTITIES[key][0])
    header.append("violated")
    first = marked_steps[0] if marked_steps else 1
    shown = [
        t
        for t in range(1, case.steps + 1)
        if case.steps <= 2 * WINDOW + 1 or abs(t - first) <= WINDOW
    ]
    rows, marked = [], []
    series: dict[str, list[float]] = {}
    for t in shown:
        g_text, g_value = _cell(trace[t - 1]["raw"], tensor)
        row = [str(t), g_text]
        values = {"g_t": g_value}
        for key in keys:
            for tr in traces.values():
                text, value = _cell(tr[t - 1].get(key) or [], tensor)
                row.append(text)
                values[header[len(row) - 1]] = value
        hit = [v for v in violations if re.search(rf"step {t}\b", v)]
        row.append("✗ " + "; ".join(hit) if hit else "")
        if hit:
            marked.append(len(rows))
        rows.append(tuple(row))
        for column, value in values.items():
            if value is not None:
                series.setdefault(column, []).append(value)
    series = {k: v for k, v in series.items() if len(v) == len(shown)}
    note = f"{implementation} run of the stored case"
    if len(case.params) > 1:
        note += f", tensor {tensor} of {len(case.params)}"
    if base is not None:
        note += f"; {base} on the same gradients with the shared hyperparameters"
    if len(shown) < case.steps:
        note += f"; steps {shown[0]}-{shown[-1]} of {case.steps}"
    return StepTable(tuple(header), tuple(rows), tuple(marked), series, tuple(shown), note)


def stored_counterexample(
    evidence: dict[str, Any], caveat: str | None = None
) -> tuple[str, dict[str, Any]] | None:
    """``(what it is, the stored counterexample)`` of a record: the caveat named ``caveat``
    (a case outside the claim's scope that a ``holds`` verdict lists), else the record's
    counterexample, else its first caveat's. Raises ``KeyError`` naming the record's caveats
    when it has none called ``caveat``."""
    caveats = [c for c in evidence.get("caveats", []) if isinstance(c, dict)]
    stored_caveats = [
        c
        for c in caveats
        if isinstance(c.get("counterexample"), dict) and "case" in c["counterexample"]
    ]
    if caveat is not None:
        for c in stored_caveats:
            if c.get("name") == caveat:
                return f"the counterexample of the caveat {caveat!r}", c["counterexample"]
        names = ", ".join(repr(c["name"]) for c in stored_caveats if "name" in c) or "none"
        raise KeyError(f"no caveat {caveat!r} with a counterexample; the record's caveats: {names}")
    if isinstance(evidence.get("counterexample"), dict) and "case" in evidence["counterexample"]:
        return "the counterexample", evidence["counterexample"]
    if stored_caveats:
        return "the caveat's counterexample", stored_caveats[0]["counterexample"]
    return None


def _print_table(table: StepTable) -> None:
    widths = [max(len(h), *(len(r[i]) for r in table.rows)) for i, h in enumerate(table.header)]
    print("  " + "  ".join(h.ljust(w) for h, w in zip(table.header, widths, strict=True)).rstrip())
    for row in table.rows:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    print(f"  ({table.note})")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m invariants.replay", description=__doc__.splitlines()[0]
    )
    parser.add_argument("claim", choices=sorted(CLAIMS))
    parser.add_argument(
        "--results",
        default=None,
        help="results file or its folder (default results/invariants.json)",
    )
    parser.add_argument(
        "--caveat",
        default=None,
        metavar="NAME",
        help="replay the counterexample of this caveat of a holds record (the report names it)",
    )
    args = parser.parse_args(argv)
    try:
        records = load(Path(args.results) if args.results else None)
    except FileNotFoundError as error:
        parser.error(str(error))
    if args.claim not in records:
        parser.error(f"no record for {args.claim}; run: {INVARIANTS.command([args.claim])}")
    verdict = records[args.claim].verdict
    try:
        found = stored_counterexample(records[args.claim].evidence, args.caveat)
    except KeyError as error:
        parser.error(f"{args.claim}: {error.args[0]}")
    if found is None:
        print(f"{args.claim}: verdict {verdict}, no counterexample to replay")
        return 0
    what, stored = found
    case = Case.from_json(stored["case"])
    claim = CLAIMS[args.claim]
    print(f"{args.claim}: {claim.statement}")
    print(f"case: {hyper_line(stored['case'])}")
    table = step_table(
        stored["case"], stored.get("violation", []), claim.statement, stored["found_by"]
    )
    if table is not None:
        _print_table(table)
    reproduced = {}
    for implementation in IMPLEMENTATIONS:
        violations = counted(claim.check(implementation, case), frozenset())
        reproduced[implementation] = bool(violations)
        print(f"  {implementation:<10} {len(violations)} violation(s)")
        for v in violations[:3]:
            print(f"    - {v.message}")
    ok = reproduced[stored["found_by"]]
    print(
        f"{args.claim}: recorded verdict {verdict}; {what} "
        + ("reproduces" if ok else "does NOT reproduce")
        + f" on {stored['found_by']}, the implementation that found it"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
