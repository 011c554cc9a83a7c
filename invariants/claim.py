"""What a claim check is: the paper's statement as a search for counterexamples.

A :class:`Claim` couples

* ``strategy(imposed)`` — the inputs of the scenario the statement speaks
  about; each name in ``imposed`` restricts the inputs to one of the claim's
  :class:`Condition` s (when the condition is about the inputs);
* ``check(implementation, case)`` — runs the case on one implementation and
  returns the :class:`Violation` s of the statement. A violation lists in
  ``excused_by`` the conditions under which it does not count (when the
  condition is about what happens during the run, e.g. "the gradient is
  nonzero at that step").

:mod:`invariants.search` turns this into a verdict. Conditions come in three
kinds (:data:`MATERIAL`, :data:`CAVEAT`, :data:`STATED`): stated conditions and
caveats are imposed on the statement as the paper means it; no counterexample
there → ``holds`` (a counterexample that needs a caveat's case is listed beside
it); a counterexample, but none once the material conditions are imposed →
``holds-under-conditions``; a counterexample even under them → ``falsified``.
``expected`` holds the verdicts that mathematics allows for
this claim (see each claim's ``reasoning``): a verdict outside it means our
implementation breaks its specification, which is a test failure rather
than a result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from hypothesis import strategies as st

from invariants.cases import Case
from theory.verdicts import CONDITIONAL as CONDITIONAL
from theory.verdicts import FALSIFIED as FALSIFIED
from theory.verdicts import HOLDS as HOLDS
from theory.verdicts import INCONCLUSIVE as INCONCLUSIVE

MUST_HOLD = frozenset({HOLDS})
"""The statement is a theorem for the inputs it speaks about: only ``holds`` is valid."""
HOLDS_WITH_CONDITIONS = frozenset({HOLDS, CONDITIONAL})
"""The statement as written has counterexamples outside the listed conditions, and
is a theorem under them: ``falsified`` would mean our implementation is wrong.
(``holds`` is allowed because a small example budget may miss the edge case.)"""


@dataclass(frozen=True)
class Violation:
    """One way a case breaks the statement.

    ``excused_by``: conditions under which this violation does not count.
    ``error``: the implementation raised or produced NaN/inf, which no claim
    excuses (it is our bug, not the paper's).
    """

    message: str
    excused_by: frozenset[str] = frozenset()
    error: bool = False


MATERIAL = "material"
"""A condition met or broken in ordinary use (float32/bf16 training with the papers'
hyperparameters, the paper's own practice), or one the statement omits that changes its
conclusion: when needed, the verdict is ``holds-under-conditions``."""
CAVEAT = "caveat"
"""A case the paper leaves undefined (a zero norm in a denominator, the angle of a zero
vector) or rounding at magnitudes no training reaches: a counterexample that needs it is a
caveat listed beside ``holds`` (with its replay command), not the verdict."""
STATED = "stated"
"""A condition written in the claim itself (GEN-1's ε = 0): part of the claim's scenario,
imposed in every search, never an extra condition."""
CONDITION_KINDS = (MATERIAL, CAVEAT, STATED)


@dataclass(frozen=True)
class Condition:
    """An assumption under which the claim is a theorem; ``kind`` says how it counts."""

    name: str
    text: str
    kind: str = MATERIAL
    in_practice: str = ""
    """Where a material condition is met, or broken, in ordinary training."""

    def __post_init__(self) -> None:
        if self.kind not in CONDITION_KINDS:
            raise ValueError(f"condition {self.name}: kind must be one of {CONDITION_KINDS}")
        if self.kind == MATERIAL and not self.in_practice:
            raise ValueError(
                f"condition {self.name}: a material condition says where it is met in practice"
            )


@dataclass(frozen=True)
class Witness:
    """An existence part of a claim ("Adam's updates need not ..."): a search for an example."""

    text: str
    strategy: Callable[[], st.SearchStrategy[Case]]
    found: Callable[[str, Case], str | None]
    """Returns a description when ``case`` is a witness on that implementation, else None."""
    required: bool = True
    """False: the witness only documents a remark (the verdict does not depend on it)."""


Strategy = Callable[[frozenset[str]], st.SearchStrategy[Case]]
Check = Callable[[str, Case], list[Violation]]


@dataclass(frozen=True)
class Claim:
    """One claim ID of ``CLAIMS.md`` as an executable check (see the module docstring)."""

    id: str
    slug: str
    statement: str
    source: str
    reasoning: str
    strategy: Strategy
    check: Check
    conditions: tuple[Condition, ...] = ()
    expected: frozenset[str] = MUST_HOLD
    witness: Witness | None = None
    cost: float = 1.0
    """Relative cost of one example; the example budget is divided by it."""
    tolerance: str = ""
    """The tolerance the check uses and where it comes from (recorded in the evidence)."""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def test_name(self) -> str:
        return f"test_{self.id.replace('-', '_')}_{self.slug}"


def guarded(check: Callable[[str, Case], Iterable[Violation]]) -> Check:
    """A :data:`Check` from a function that yields the violations it finds, in order; an
    exception on the way becomes one ``error`` violation (what it found before is dropped:
    a crashed check says nothing about the statement)."""

    def wrapped(implementation: str, case: Case) -> list[Violation]:
        try:
            return list(check(implementation, case))
        except Exception as exc:
            return [Violation(f"{type(exc).__name__}: {exc}", error=True)]

    wrapped.__name__ = getattr(check, "__name__", "check")
    wrapped.__doc__ = check.__doc__
    return wrapped
