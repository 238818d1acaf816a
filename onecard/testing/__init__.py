"""What the tests share: plain helper functions (one module per domain) and, in `fixtures/`, the pytest
fixtures the root conftest.py registers once through `pytest_plugins`.

Tests import helpers from here, never from another test module:

    from onecard.testing.stored_value import balances, sv_card

and ask for fixtures by name (`chain`, `member`, `card`, `terminal`, ...) without importing them.
"""
