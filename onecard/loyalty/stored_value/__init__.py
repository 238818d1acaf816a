"""Stored value (L3, L5): top-ups, charges, refunds, holds, rebates and the prepaid-card rules."""
