"""What members adds to org's pages: members per org node on the tree, members a staff member looks after.

Imported once by MembersConfig.ready (registering needs the models loaded); see org/counts.py.
"""

from django.db.models import Count

from onecard.org import counts

from .choices import MemberStatus
from .models import Member
from .queries import visible_members


def members_per_node(user):
    """{home store id: active members} within the user's scope, in one grouped query."""
    return dict(
        visible_members(user)
        .order_by()
        .values("home_store_id")
        .annotate(n=Count("id"))
        .values_list("home_store_id", "n")
    )


def owned_members(staff):
    """How many active members `staff` looks after (their owner)."""
    return Member.objects.filter(owner=staff, status=MemberStatus.ACTIVE).count()


def connect():
    """Register the counters with org."""
    counts.register_node_counter("members", members_per_node)
    counts.register_staff_counter("owned_members", owned_members)
