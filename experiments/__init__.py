"""Experiments: regret studies, training studies and the shared verdict records."""
