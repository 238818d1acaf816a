"""Models of the loyalty app, one module per sub-domain (the ledger first; cards, holds and points follow)."""

from .ledger import Account, JournalEntry, LedgerWriteRefused, Posting

__all__ = ["Account", "JournalEntry", "LedgerWriteRefused", "Posting"]
