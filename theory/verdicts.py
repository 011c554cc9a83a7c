"""One record per checked claim, shared by every stage that issues verdicts.

Each stage (invariants, theory, regret, training) writes ``<out>/<stage>.json``
with the records it produced; the verification report merges those files. A
record names the claim ID from ``../shared/CLAIMS.md``, the verdict, the
evidence behind it and a shell command that reproduces it.

It lives in ``theory``, the lowest layer that issues verdicts (``optimizers`` <
``theory`` < ``invariants`` < ``experiments``), so that every stage imports it
downwards (``tests/test_layers.py``).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HOLDS = "holds"
FALSIFIED = "falsified"
CONDITIONAL = "holds-under-conditions"
INCONCLUSIVE = "inconclusive"
NEEDS_GPU = "needs-gpu"
NEEDS_DATA = "needs-data"

VERDICTS = (HOLDS, FALSIFIED, CONDITIONAL, INCONCLUSIVE, NEEDS_GPU, NEEDS_DATA)
"""The verdict vocabulary of ``CLAIMS.md``; every stage, the merge and the report read it here."""

PRECEDENCE = (FALSIFIED, CONDITIONAL, INCONCLUSIVE, NEEDS_GPU, NEEDS_DATA, HOLDS)
"""Most cautious first: the order in which different *parts* of one claim decide its verdict
(a falsified part falsifies the claim; the claim holds only when every part holds)."""

SUPPORTED = "supported"
NOT_REPRODUCED = "not reproduced"
READINGS = (SUPPORTED, NOT_REPRODUCED, INCONCLUSIVE)
"""What one empirical study says about a claim it cannot decide (a lower rung of the
evidence ladder): the direction of its result at its own scale."""


def most_cautious(verdicts: Iterable[str]) -> str:
    """The verdict of a claim made of different parts: the most cautious part decides."""
    return min(verdicts, key=PRECEDENCE.index)


@dataclass(frozen=True)
class ClaimResult:
    """The outcome of checking one claim.

    ``evidence`` is free-form JSON-serialisable data (example counts, sizes,
    seeds, intervals). A ``falsified`` or ``holds-under-conditions`` verdict
    must carry a ``counterexample`` or ``conditions`` entry respectively.
    """

    claim_id: str
    verdict: str
    summary: str
    reproduce: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")
        if self.verdict == FALSIFIED and "counterexample" not in self.evidence:
            raise ValueError(f"{self.claim_id}: falsified needs evidence['counterexample']")
        if self.verdict == CONDITIONAL and "conditions" not in self.evidence:
            raise ValueError(f"{self.claim_id}: conditional verdict needs evidence['conditions']")


def write_results(stage: str, results: Iterable[ClaimResult], out_dir: str | os.PathLike) -> Path:
    """Write ``<out_dir>/<stage>.json`` atomically (a crash never leaves half a file)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    payload = {
        "stage": stage,
        "generated": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "claims": [asdict(r) for r in results],
    }
    return write_text_atomically(
        out / f"{stage}.json", json.dumps(payload, indent=2, default=float)
    )


def write_text_atomically(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a uniquely named file in the same folder and a
    rename, so a reader (or a crash) never sees half a file, and concurrent writers of
    different files in one folder never share a temporary.

    The file gets the permissions ``open()`` would give it (0666 less the umask, e.g. 0644):
    the temporary is created with mode 0666 and the kernel applies the umask, where
    ``tempfile`` would leave it private (0600).
    """
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def read_results(path: str | os.PathLike) -> list[ClaimResult]:
    """Read the records written by :func:`write_results`."""
    payload = json.loads(Path(path).read_text())
    return [ClaimResult(**record) for record in payload["claims"]]
