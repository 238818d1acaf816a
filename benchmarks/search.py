"""`onecard bench search`: the cashier's search box and the member list at a million members.

Server-side time of the real read path (members.queries.filter_members with the view's paginator and
page evaluation) for each kind of lookup, the filtered list page, and the whole list view through
Django's test client. Inputs are drawn from real rows; each case runs `warmup` unmeasured times first.
"""

import random
import time

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from . import summarize, timed_case

LOOKUP_TARGET_MS = 20
LIST_TARGET_MS = 200
MEMBER_TABLES = ("members_member", "members_member_tags", "members_consentrecord")


def run(options):
    from onecard.members.models import Member, Tag
    from onecard.org.demo import demo_merchant
    from onecard.org.models import Staff

    out = options["stdout"]
    wanted = options["members"]
    merchant = demo_merchant()
    have = Member.objects.filter(merchant=merchant).count() if merchant else 0
    if have < wanted and not options.get("no_seed"):
        out.write(f"seeding demo members: {have:,} → {wanted:,}")
        started = time.monotonic()
        call_command("seed_demo", members=wanted, stdout=out)
        out.write(f"seeded in {time.monotonic() - started:.1f} s")
        merchant = demo_merchant()
    if merchant is None:
        raise RuntimeError("no demo merchant: run `onecard seed-demo` or drop --no-seed")
    analyze()
    total = Member.objects.filter(merchant=merchant).count()
    rng = random.Random(options["seed"])  # noqa: S311 - seeded sample data, not a secret
    samples, warmup = options["samples"], options["warmup"]
    n = samples + warmup
    hq = Staff.objects.select_related("node").get(username="hq")
    cashier = Staff.objects.select_related("node").get(username="cashier")
    everyone = sample_members(Member.objects.filter(merchant=merchant), n, rng)
    at_till = sample_members(Member.objects.filter(merchant=merchant, home_store=cashier.node), n, rng)
    stores = list(merchant.nodes.filter(kind="store").values_list("id", flat=True))
    tags = list(Tag.objects.filter(merchant=merchant).values_list("id", flat=True))

    def initials(m, k):
        return m.name_initials[:k] if len(m.name_initials) >= k else m.name_initials

    three = [m for m in everyone if len(m.name_initials) >= 3] or everyone
    lookups = [
        ("phone (11 digits)", hq, [m.phone for m in everyone]),
        ("phone last 4", hq, [m.phone[-4:] for m in everyone]),
        ("member no.", hq, [m.member_no for m in everyone]),
        ("pinyin initials, 2 (zs)", hq, [initials(m, 2) for m in everyone]),
        ("pinyin initials, 3 (wxm)", hq, [initials(three[i % len(three)], 3) for i in range(n)]),
        ("name prefix, 2 chars", hq, [m.name[:2] for m in everyone]),
        ("cashier: phone", cashier, [m.phone for m in at_till]),
        ("cashier: phone last 4", cashier, [m.phone[-4:] for m in at_till]),
        ("cashier: pinyin initials, 2", cashier, [initials(m, 2) for m in at_till]),
    ]
    cases, plans = [], {}
    for name, user, inputs in lookups:
        inputs = inputs * (n // max(len(inputs), 1) + 1)
        cases.append(
            timed_case(
                name,
                LOOKUP_TARGET_MS,
                samples,
                lambda i, user=user, inputs=inputs: list_page(user, {"q": inputs[i]}),
                warmup=warmup,
            )
        )
        if options.get("explain"):
            plans[name] = explain(lambda user=user, inputs=inputs: list_page(user, {"q": inputs[0]}))

    filters = [
        {"store": str(rng.choice(stores)), "tag": str(rng.choice(tags)), "consent": "yes"} for _ in range(n)
    ]
    list_cases = [
        ("list: store+tag+consent, page 1", hq, [f for f in filters]),
        ("list: store+tag+consent, page 40", hq, [{**f, "page": "40"} for f in filters]),
        ("list: all members, page 1", hq, [{} for _ in filters]),
        ("list: all members, page 200", hq, [{"page": "200"} for _ in filters]),
        (
            "cashier list: tag+consent, page 1",
            cashier,
            [{"tag": f["tag"], "consent": "yes"} for f in filters],
        ),
    ]
    for name, user, inputs in list_cases:
        cases.append(
            timed_case(
                name,
                LIST_TARGET_MS,
                samples,
                lambda i, user=user, inputs=inputs: list_page(user, inputs[i]),
                warmup=warmup,
            )
        )
        if options.get("explain"):
            plans[name] = explain(lambda user=user, inputs=inputs: list_page(user, inputs[0]))

    cases.extend(client_cases(hq, cashier, everyone, filters, samples, warmup))
    result = {
        "benchmark": "search",
        "database": connection.vendor,
        "members": total,
        "page_size": settings.ONECARD_PAGE_SIZE,
        "samples": samples,
        "warmup": warmup,
        "cases": cases,
    }
    if options.get("explain"):
        result["plans"] = plans
        for name, plan in plans.items():
            out.write(f"\n== {name}\n{plan}")
    return result


def analyze():
    """Planner statistics: PostgreSQL after a bulk load needs them; SQLite only when it has none."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE " + ", ".join(MEMBER_TABLES))
        elif connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
            have = cursor.fetchone()
            if have:
                cursor.execute("SELECT 1 FROM sqlite_stat1 WHERE tbl = 'members_member' LIMIT 1")
                have = cursor.fetchone()
            if not have:
                cursor.execute("PRAGMA analysis_limit=0")
                for table in MEMBER_TABLES:
                    cursor.execute(f"ANALYZE {table}")


def sample_members(queryset, count, rng):
    """About `count` random rows of `queryset` (by random id ranges), as model instances."""
    ids = queryset.order_by("id").values_list("id", flat=True)
    first, last = ids.first(), queryset.order_by("-id").values_list("id", flat=True).first()
    if first is None:
        return []
    picked = []
    for _ in range(count):
        pk = rng.randint(first, last)
        m = queryset.filter(id__gte=pk).order_by("id").first()
        if m is not None:
            picked.append(m)
    return picked


def _paginator_class():
    try:
        from onecard.members.views import CappedPaginator

        return CappedPaginator
    except Exception:  # the pages are not there (yet): the same capped count, here
        from django.core.paginator import Paginator

        class CappedPaginator(Paginator):
            cap = 100_000

            @property
            def count(self):
                return self.object_list.order_by()[: self.cap + 1].count()

        return CappedPaginator


def list_page(user, params):
    """What the member list view does with its data: filter, count (capped), one page, its tags."""
    from onecard.members.queries import filter_members

    user.__dict__.pop("_scope_node_ids", None)  # a request starts with a fresh user
    members = filter_members(user, params).select_related("home_store", "owner").prefetch_related("tags")
    paginator = _paginator_class()(members, settings.ONECARD_PAGE_SIZE)
    page = paginator.get_page(params.get("page"))
    rows = list(page.object_list)
    return paginator.count, rows


def explain(call):
    """EXPLAIN (QUERY PLAN) of every member query one call runs."""
    with CaptureQueriesContext(connection) as ctx:
        call()
    parts = []
    for q in ctx.captured_queries:
        sql = q["sql"]
        if "members_member" not in sql or not sql.lstrip().upper().startswith("SELECT"):
            continue
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute("EXPLAIN QUERY PLAN " + sql)
                plan = "\n".join(f"  {r[-1]}" for r in cursor.fetchall())
            elif connection.vendor == "postgresql":
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS OFF) " + sql)
                plan = "\n".join(f"  {r[0]}" for r in cursor.fetchall())
            else:
                plan = ""
        parts.append(f"{sql[:300]}\n{plan}")
    return "\n".join(parts)


def client_cases(hq, cashier, members, filters, samples, warmup):
    """The whole list request through Django's test client: middleware, session, view, template."""
    from django.test import Client

    cases = []
    try:
        from django.urls import reverse

        url = reverse("members:list")
    except Exception as exc:  # the members pages are not installed
        return [{**summarize("client: GET /members/", LIST_TARGET_MS, []), "note": f"skipped: {exc}"}]
    for name, user, queries in (
        ("client: GET /members/?q=<initials>", hq, [{"q": m.name_initials[:2]} for m in members]),
        ("client: GET /members/?q=<phone>", cashier, [{"q": m.phone} for m in members]),
        ("client: GET /members/?store&tag&consent", hq, filters),
    ):
        client = Client()
        client.force_login(user)
        queries = queries * (samples + warmup)
        status = {}

        def call(i, client=client, queries=queries, status=status):
            response = client.get(url, queries[i])
            status[response.status_code] = status.get(response.status_code, 0) + 1

        case = timed_case(name, LIST_TARGET_MS, samples, call, warmup=warmup)
        if set(status) != {200}:
            case["pass"] = False
            case["note"] = f"status codes {status}"
        cases.append(case)
    return cases
