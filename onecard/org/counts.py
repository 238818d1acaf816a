"""Counts that apps above org show on org's pages (members per node, members a staff member looks after).

Org sits below those apps, so it cannot ask them: each registers its counter from its AppConfig.ready
(members/hooks.py) and the org pages read whatever is registered; with nothing registered a count is 0.
"""

# name -> counter(user) -> {node id: count}, counting only what the user may see
NODE_COUNTERS = {}
# name -> counter(staff) -> int
STAFF_COUNTERS = {}


def register_node_counter(name, counter):
    """Make `counter(user)` the source of the per-node count `name` on the org tree."""
    NODE_COUNTERS[name] = counter


def register_staff_counter(name, counter):
    """Make `counter(staff)` the source of the count `name` on a staff member's page."""
    STAFF_COUNTERS[name] = counter


def node_counts(user, name) -> dict:
    """{node id: count} of `name` within the user's scope ({} when no app counts it)."""
    counter = NODE_COUNTERS.get(name)
    return counter(user) if counter else {}


def staff_count(staff, name) -> int:
    """The count `name` of one staff member (0 when no app counts it)."""
    counter = STAFF_COUNTERS.get(name)
    return counter(staff) if counter else 0
