"""Foreign keys as the project declares them: PROTECT by default, no reverse accessor unless one is named.

Business records (cards, journal entries, sales, members, stores) are kept for good: they are
closed, merged or deactivated, never deleted while another row names them, so a link PROTECTs its
target unless it says otherwise. `related_name="+"` is the default because most links are read
from the row that holds them; a model names the reverse accessor where one is wanted.

`protected_fk` is that rule for any target (`emptied_fk` the exception: a link set to null when its
target goes); the four owners nearly every row names (a merchant, an org node, a member, a staff
account) have a factory of their own. `optional=True` lets a link be empty (null in the database,
blank in forms). All of them return plain ForeignKeys that deconstruct exactly like hand-written
ones, so migrations see no difference; the targets are named by string, so core imports none of
the apps above it.
"""

from django.conf import settings
from django.db import models


def _link(to, verbose_name, on_delete, related_name, optional, options):
    if optional:
        options = {"null": True, "blank": True, **options}
    return models.ForeignKey(
        to, verbose_name=verbose_name, on_delete=on_delete, related_name=related_name, **options
    )


def protected_fk(to, verbose_name=None, *, related_name="+", optional=False, **options):
    """A link to a record that is never deleted while this row names it."""
    return _link(to, verbose_name, models.PROTECT, related_name, optional, options)


def emptied_fk(to, verbose_name=None, *, related_name="+", **options):
    """An optional link that is emptied (SET_NULL) when its target is deleted."""
    return _link(to, verbose_name, models.SET_NULL, related_name, True, options)


def merchant_field(
    verbose_name=None, *, related_name="+", on_delete=models.PROTECT, optional=False, **options
):
    """The merchant a row belongs to; rows that are only its settings say on_delete=CASCADE."""
    return _link("org.Merchant", verbose_name, on_delete, related_name, optional, options)


def node_field(verbose_name=None, *, related_name="+", on_delete=models.PROTECT, optional=False, **options):
    """A node of the org tree, most often a store; stores are closed (deactivated), not deleted."""
    return _link("org.OrgNode", verbose_name, on_delete, related_name, optional, options)


def member_field(verbose_name=None, *, related_name="+", on_delete=models.PROTECT, optional=False, **options):
    """A member; members are merged, never deleted, so only a member's own details say on_delete=CASCADE."""
    return _link("members.Member", verbose_name, on_delete, related_name, optional, options)


def staff_field(verbose_name=None, *, related_name="+", **options):
    """The staff account that did or owns something; emptied if that account is deleted.

    SET_NULL: deleting a staff account must not erase the rules, batches and history it left.
    """
    return emptied_fk(settings.AUTH_USER_MODEL, verbose_name, related_name=related_name, **options)


def protected_staff_field(verbose_name=None, *, related_name="+", **options):
    """The staff account that moved money or took a commitment (a sale, a journal entry, an agreement).

    PROTECT: such staff are deactivated, not deleted, so the books keep their actors.
    """
    return _link(settings.AUTH_USER_MODEL, verbose_name, models.PROTECT, related_name, True, options)
