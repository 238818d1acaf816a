"""Models of the loyalty app, one module per sub-domain (the ledger first; cards, holds and points follow)."""

from .cards import Card, CardBatch, CardProduct, MemberTier, Tier, TierChange, TierRule, UsedQrCode
from .ledger import Account, JournalEntry, LedgerWriteRefused, Posting

__all__ = [
    "Account",
    "Card",
    "CardBatch",
    "CardProduct",
    "JournalEntry",
    "LedgerWriteRefused",
    "MemberTier",
    "Posting",
    "Tier",
    "TierChange",
    "TierRule",
    "UsedQrCode",
]
