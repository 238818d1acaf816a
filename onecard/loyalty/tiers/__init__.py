"""Member tiers (L1): tier definitions, rules and their evaluation."""
