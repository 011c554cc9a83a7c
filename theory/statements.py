"""A container for one theorem, lemma or identity as a sympy object.

Every statement keeps its two sides, the named additive terms of its right
side (so each term can be checked on its own for dimensional consistency and
lambdified into a bound function), its symbols and the assumptions the paper
states, written as sympy relations where they are relations and as text where
they are not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp


@dataclass(frozen=True)
class Statement:
    """One paper statement ``lhs <relation> rhs``.

    ``rhs_terms`` lists the additive terms of ``rhs`` by name, in the paper's
    order; ``rhs`` is their sum. ``relation`` is ``"<="`` or ``"=="``.
    """

    name: str
    source: str
    lhs: sp.Expr
    rhs_terms: tuple[tuple[str, sp.Expr], ...]
    relation: str = "<="
    assumptions: tuple[sp.Basic | str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def rhs(self) -> sp.Expr:
        """The right side: the sum of the named terms."""
        return sp.Add(*(term for _, term in self.rhs_terms))

    @property
    def symbols(self) -> set[sp.Symbol]:
        """Every free symbol of either side."""
        return set(self.lhs.free_symbols) | set(self.rhs.free_symbols)

    def as_relational(self) -> sp.Basic:
        """``lhs <= rhs`` or ``Eq(lhs, rhs)`` as a sympy relational."""
        if self.relation == "==":
            return sp.Eq(self.lhs, self.rhs, evaluate=False)
        return sp.Le(self.lhs, self.rhs, evaluate=False)

    def term(self, name: str) -> sp.Expr:
        """The right-side term called ``name``."""
        for key, expr in self.rhs_terms:
            if key == name:
                return expr
        raise KeyError(name)

    def describe(self) -> str:
        """One line: name, source and the relation in sympy's string form."""
        return f"{self.name} ({self.source}): {sp.sstr(self.as_relational())}"
