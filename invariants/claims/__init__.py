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

INV_RED_IDS = (
    "AN-1", "AN-2", "AN-3", "AN-4", "AN-5",
    "DG-1", "RA-1", "AB-1", "GEN-1", "GEN-2",
    "AR-1", "AR-2", "AR-3", "AR-4", "AR-5", "AR-6",
    "ND-1", "ND-2", "ND-3", "ND-4",
    "LW-1", "LW-2", "LW-3",
    "AI-1", "AI-2", "AI-3", "AI-4", "AI-7",
)  # fmt: skip
"""The IDs whose kind includes inv or red in CLAIMS.md (checked against the file by a test)."""

__all__ = ["CLAIMS", "INV_RED_IDS"]
