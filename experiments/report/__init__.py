"""The verification report: every claim of ../shared/CLAIMS.md with one verdict, its evidence
and a command that reproduces it (``python -m experiments.report`` / ``nox -s verify``)."""
