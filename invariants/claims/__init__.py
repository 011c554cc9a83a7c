"""Every claim of kind inv or red in ``../shared/CLAIMS.md``, as an executable check.

:data:`CLAIMS` maps each ID to its :class:`~invariants.claim.Claim`; one module per
paper family holds the checks, each with the paper's statement, the reasoning
that decides which outcome is a verdict and which would be our bug, and the
tolerance it uses.
"""

from invariants.claim import Claim
from invariants.claims import adanorm, adarem, aida, bases, layerwise, ndadam

CLAIMS: dict[str, Claim] = {
    claim.id: claim
    for module in (adanorm, bases, adarem, ndadam, layerwise, aida)
    for claim in module.CLAIMS
}

__all__ = ["CLAIMS"]
