"""What sales hangs on members: the member 360 page's Purchases section (members/sections.py).

Imported once by SalesConfig.ready.
"""

from .member_section import register_member_section


def connect():
    """Add the member page's purchases section."""
    register_member_section()
