"""Per-member facts."""


def connect():
    """Connect nothing yet."""
