"""Training experiments for the empirical claims: protocols, the loop, probes and statistics."""
