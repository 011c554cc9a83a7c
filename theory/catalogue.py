"""The claim catalogue: the claims to verify, kept in the project as data (``claims.json``).

``claims.json`` is imported from ``../shared/CLAIMS.md`` by
``python -m theory.catalogue PATH``; a test checks that the two still agree
wherever CLAIMS.md is present. Every list of claims (a stage's, the report's) is
read from here: it lives in ``theory``, the lowest layer that issues verdicts, so
that every stage can read it.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).with_name("claims.json")


@dataclass(frozen=True)
class Claim:
    id: str
    paper: str
    statement: str
    where: str
    kinds: tuple[str, ...]


_SECTION = re.compile(r"^## (.+)$")
_ROW = re.compile(r"^\| ([A-Z]{2,3}-\d+) \| (.+) \| (.+?) \| (.+?) \|$")


def parse_claims_markdown(text: str) -> list[Claim]:
    """The claim rows of CLAIMS.md, each with the heading of its section as its paper."""
    claims, paper = [], ""
    for line in text.splitlines():
        heading = _SECTION.match(line)
        if heading:
            paper = heading.group(1).strip()
            continue
        row = _ROW.match(line.strip())
        if row:
            claim_id, statement, where, kinds = (part.strip() for part in row.groups())
            statement = statement.replace("\\|", "|")  # markdown escapes pipes in cells
            claims.append(
                Claim(claim_id, paper, statement, where, tuple(k.strip() for k in kinds.split(",")))
            )
    return claims


@cache
def load_claims() -> tuple[Claim, ...]:
    """Every claim, in CLAIMS.md order."""
    rows = json.loads(DATA.read_text())
    return tuple(Claim(**{**row, "kinds": tuple(row["kinds"])}) for row in rows)


def claim_ids() -> list[str]:
    return [c.id for c in load_claims()]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    source = Path(args[0] if args else "../shared/CLAIMS.md")
    claims = parse_claims_markdown(source.read_text())
    DATA.write_text(json.dumps([asdict(c) for c in claims], indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {len(claims)} claims to {DATA}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
