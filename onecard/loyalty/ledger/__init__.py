"""The double-entry ledger: posting (the only writer of balances), verification and clearing."""
