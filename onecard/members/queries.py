"""Reads of members used by pages, the API and exports; every one is scoped to the viewer."""

import re

from django.db.models import F, Q

from onecard.core.chinese import prefix_range
from onecard.core.ids import parse_id
from onecard.core.scoping import scope, scope_node_ids
from onecard.org.models import OrgNode
from onecard.org.queries import merchant_ids_for

from .choices import MemberStatus
from .models import Member

_DIGITS = re.compile(r"^\d+$")
_LETTERS = re.compile(r"^[A-Za-z]+$")


def visible_members(user, *, include_merged=False, node_ids=None):
    """The members in the user's data scope (their node and everything below it).

    `node_ids`, already limited to the user's scope, narrows the list to those home stores in the same
    single `home_store_id IN (...)` condition: two IN lists on one column make SQLite's planner give up
    the store index (a count then walks every member of the merchant).
    """
    qs = Member.objects.filter(merchant_id__in=merchant_ids_for(user))
    if not include_merged:
        qs = qs.filter(status=MemberStatus.ACTIVE)
    if node_ids is not None:
        return qs.filter(home_store_id__in=node_ids)
    if user.node_id and user.node.parent_id is None:
        # Headquarters sees its whole merchant, which the merchant filter above already says; a list
        # of every store id would only make the database check each row against it.
        return qs
    return scope(qs, user, "home_store")


def search_condition(text, *, merchant_ids=None):
    """The filter for the cashier's one search box.

    11 digits: full phone; 4 digits: last four of the phone; other digits: member number (and phone);
    latin letters: pinyin initials or full pinyin (zs, zhangs); anything else: name prefix.
    Each case is an index range or equality, so it stays fast at a million members.
    With `merchant_ids`, a letters search first probes whether any full pinyin starts with the text
    (one index lookup); most short inputs ("zs") cannot, and a single range lets the database read
    the initials index alone instead of combining two indexes and visiting every matching row.
    """
    text = (text or "").strip().replace(" ", "")
    if not text:
        return Q()
    if text.startswith("+") and text[1:].isdigit():
        return Q(phone=text)
    if _DIGITS.match(text):
        condition = Q(member_no=text) | Q(phone=text)
        if len(text) == 4:
            condition |= Q(phone_last4=text)
        return condition
    if _LETTERS.match(text):
        lo, hi = prefix_range(text.lower())
        initials = Q(name_initials__gte=lo, name_initials__lt=hi)
        pinyin = Q(name_pinyin__gte=lo, name_pinyin__lt=hi)
        if (
            merchant_ids is not None
            and not Member.objects.filter(pinyin, merchant_id__in=merchant_ids).exists()
        ):
            return initials
        return initials | pinyin
    lo, hi = prefix_range(text)
    return Q(name__gte=lo, name__lt=hi)


def filter_members(user, params):
    """The member list: search text plus filters by store, tag, owner, source, consent and type."""
    store = params.get("store")
    if store:
        store_id = parse_id(store)
        node = OrgNode.objects.filter(pk=store_id).first() if store_id else None
        if node is None:
            return visible_members(user).none()
        ids = list(OrgNode.objects.filter(path__startswith=node.path).values_list("id", flat=True))
        visible = scope_node_ids(user)
        if visible is not None:
            ids = [i for i in ids if i in set(visible)]
        qs = visible_members(user, node_ids=ids)
    else:
        qs = visible_members(user)
    q = params.get("q")
    if q:
        qs = qs.filter(search_condition(q, merchant_ids=merchant_ids_for(user)))
    if params.get("tag"):
        tag_id = parse_id(params["tag"])
        qs = qs.filter(tags__id=tag_id) if tag_id else qs.none()
    owner = params.get("owner")
    if owner == "none":
        qs = qs.filter(owner__isnull=True)
    elif owner:
        owner_id = parse_id(owner)
        qs = qs.filter(owner_id=owner_id) if owner_id else qs.none()
    source = params.get("source")
    if source:
        qs = qs.filter(source=source)
    consent = params.get("consent")
    if consent in ("yes", "no"):
        qs = qs.filter(marketing_consent=(consent == "yes"))
    kind = params.get("kind")
    if kind:
        qs = qs.filter(kind=kind)
    if q:
        # Newest first, but as an expression no index can supply: otherwise SQLite walks a store's
        # (home_store, id) index in id order hoping to fill the page early, which is slow when a
        # search matches few rows; the search's own index then finds the matches and they are sorted.
        return qs.order_by((F("id") + 0).desc())
    return qs.order_by("-id")


def find_member(user, pk):
    """One member the user may see (merged ones too, so old links still open), or None."""
    return (
        visible_members(user, include_merged=True)
        .select_related("home_store", "owner", "merchant", "referrer", "merged_into")
        .filter(pk=pk)
        .first()
    )
