"""`onecard bench checkout`: the server-side quote and the full checkout at 4 tills (issue 4).

On the configured database (set-up created when missing, kept between runs):

1. ledger.prepare: the demo chain, `--cards` stored-value cards bound to members and topped up;
2. a catalogue of `--products` products (SKU prefix BCK-) in 10 × 6 categories, a quarter with member
   prices for every tier, one in twenty sold in two stores only;
3. `--promotions` active promotions of every kind (names start 压测促销), mostly scoped to categories or
   products, some owned by another region or narrowed to other stores (not in force at the quote's
   store); most spend thresholds in the exclusivity groups 满减 and 满折 (as chains run them: one
   满减 at a time), a quarter of the percentage discounts in 折扣; two limited in stock and per member;
4. the quote member (the first bench card's holder, given a tier) holds `--coupons` coupons of 10
   templates (cash, discount with a cap, gift, count; some for categories); a pool of bearer ¥5-off-¥100
   vouchers for the checkouts.

Measured:
- quote: `sales.checkout.quote` of a `--lines`-line cart (SKUs and barcodes, some quantities 2-3) for the
  card with all its coupons, `--samples` times after `--warmup`, over 50 distinct carts; the issue's
  targets: median under 10 ms, p99 under 30 ms (held to the card's quote, which also reads the points
  and stored value a card may pay with; the member's own quote is reported beside it). The pricing
  engine alone (no database) on the same carts, and the SQL statements of one quote, for the report;
  `--profile` prints where the time goes;
- HTTP: the same quote through POST /api/v1/pos/checkout/quote when that endpoint is routed;
- PostgreSQL only, `--tills` worker processes (ledger.run_workers) for `--seconds` each: first plain
  stored_value.charge (the `onecard bench ledger` service loop), then checkouts (card lookup, quote, then
  checkout with stored value for 30-70 percent and cash for the rest; one sale in four presents a
  voucher); TPS of both and their ratio.

Prints a table and, as the last line, one JSON object.
"""

import cProfile
import datetime
import io
import json
import pstats
import random
import sys
import time
import uuid

from django.urls import Resolver404, resolve

from . import ledger as ledger_bench
from . import summarize

SKU_PREFIX = "BCK-"
CATEGORY_PREFIX = "压测类目"
LEAF_NAMES = ("饮料", "零食", "日化", "生鲜", "家居", "服饰")
ROOTS = 10
PROMOTION_PREFIX = "压测促销"
PLAN_VERSION = "v2"  # bump when promotion_plan changes: the old set is stopped, the new one created
TEMPLATE_PREFIX = "压测券"
BEARER_TEMPLATE = "压测券·满100减5"
BEARER_POOL = 3000
DISTINCT_CARTS = 50
COUPON_SHARE = 0.25
QUOTE_MEDIAN_TARGET_MS = 10.0
QUOTE_P99_TARGET_MS = 30.0
QUOTE_PATH = "/api/v1/pos/checkout/quote"
DEFAULT_SAMPLES = 500
CHILD_CODE = "import benchmarks.checkout as b; b.worker_main()"
# kind → share of the bench promotions (the rest: discounts in force elsewhere only)
MIX = (
    ("discount", 0.24),
    ("member_price", 0.12),
    ("threshold_cash", 0.12),
    ("threshold_discount", 0.08),
    ("threshold_gift", 0.05),
    ("buy_x_get_y", 0.10),
    ("nth_discount", 0.10),
    ("bundle", 0.08),
    ("birthday", 0.03),
)


# ---- set-up --------------------------------------------------------------------------------------------


def ensure_categories(merchant):
    """ROOTS top categories with a leaf per LEAF_NAMES under each: (roots, leaves) by id order."""
    from onecard.catalog import services as catalog
    from onecard.catalog.models import Category

    roots, leaves = [], []
    for r in range(ROOTS):
        name = f"{CATEGORY_PREFIX}{r + 1:02d}"
        root = Category.objects.filter(merchant=merchant, parent=None, name=name).first()
        if root is None:
            root = catalog.create_category(None, merchant, name=name)
        roots.append(root)
        for leaf_name in LEAF_NAMES:
            leaf = Category.objects.filter(merchant=merchant, parent=root, name=leaf_name).first()
            if leaf is None:
                leaf = catalog.create_category(None, merchant, name=leaf_name, parent=root)
            leaves.append(leaf)
    return roots, leaves


def product_spec(i, leaves, tiers, stores):
    """The fields of bench product number `i` (the same on every run)."""
    rng = random.Random(7919 * i + 17)  # noqa: S311 - seeded sample data, not a secret
    price = rng.choice((300, 500, 800, 1200, 1500, 2500, 3900, 5900, 9900, 15900, 29900))
    member_prices = {}
    if i % 4 == 0:
        for n, tier in enumerate(tiers):
            member_prices[tier] = max(1, price * (95 - 3 * n) // 100)
    return {
        "sku": f"{SKU_PREFIX}{i:05d}",
        "barcode": f"69{i:011d}" if i % 3 == 0 else "",
        "name": f"压测商品{i:05d}",
        "category": leaves[i % len(leaves)],
        "list_price": price,
        "member_prices": member_prices,
        "stores": [stores[i % len(stores)], stores[(i + 1) % len(stores)]] if i % 20 == 19 else [],
    }


def ensure_catalogue(merchant, stores, wanted, out):
    """`wanted` bench products, created through catalog.services when missing; (roots, leaves, products)."""
    from onecard.catalog import services as catalog
    from onecard.catalog.models import Product
    from onecard.loyalty.models import Tier

    roots, leaves = ensure_categories(merchant)
    tiers = list(Tier.objects.filter(merchant=merchant).order_by("rank", "pk"))
    have = set(
        Product.objects.filter(merchant=merchant, sku__startswith=SKU_PREFIX).values_list("sku", flat=True)
    )
    missing = [i for i in range(wanted) if f"{SKU_PREFIX}{i:05d}" not in have]
    if missing:
        out.write(f"creating {len(missing):,} bench products through catalog.services")
        started = time.monotonic()
        for i in missing:
            spec = product_spec(i, leaves, tiers, stores)
            catalog.create_product(
                None,
                merchant,
                stores=spec.pop("stores"),
                member_prices=spec.pop("member_prices") or None,
                **spec,
            )
        out.write(f"bench products created in {time.monotonic() - started:.1f} s")
    products = list(
        Product.objects.filter(merchant=merchant, sku__in=[f"{SKU_PREFIX}{i:05d}" for i in range(wanted)])
        .order_by("sku")
        .values("id", "sku", "barcode", "list_price", "category_id")
    )
    return roots, leaves, products


def _kinds(wanted):
    """The kinds of `wanted` promotions in MIX proportions (largest remainders), plus 'elsewhere' ones."""
    elsewhere = max(1, round(wanted * 0.08)) if wanted >= 5 else 0
    share = wanted - elsewhere
    exact = [(kind, share * weight / sum(w for _k, w in MIX)) for kind, weight in MIX]
    counts = {kind: int(x) for kind, x in exact}
    rest = sorted(exact, key=lambda kx: kx[1] - int(kx[1]), reverse=True)
    for kind, _x in rest[: share - sum(counts.values())]:
        counts[kind] += 1
    return [kind for kind, _w in MIX for _ in range(counts[kind])] + ["elsewhere"] * elsewhere


def promotion_plan(wanted, merchant, store, roots, leaves, products, seed):
    """(owner node, data) of each bench promotion: realistic scopes, groups, priorities and limits."""
    from django.utils import timezone

    from onecard.loyalty.models import Tier
    from onecard.org.models import OrgNode

    rng = random.Random(seed)  # noqa: S311 - seeded sample data, not a secret
    now = timezone.now()
    hq = OrgNode.objects.get(merchant=merchant, kind="hq")
    regions = list(OrgNode.objects.filter(merchant=merchant, kind="region").order_by("pk"))
    own_region = next((r for r in regions if store.path.startswith(r.path)), hq)
    other_regions = [r for r in regions if r.pk != own_region.pk] or [hq]
    all_stores = list(OrgNode.objects.filter(merchant=merchant, kind="store").order_by("pk"))
    other_stores = [s for s in all_stores if s.pk != store.pk]
    tier_ids = list(Tier.objects.filter(merchant=merchant).order_by("rank").values_list("pk", flat=True))
    product_ids = [p["id"] for p in cart_pool(products)] or [p["id"] for p in products]
    plan = []
    kinds = _kinds(wanted)
    rng.shuffle(kinds)
    limited_left = 2
    for n, kind in enumerate(kinds, start=1):
        owner = hq if rng.random() < 0.7 else own_region
        store_ids = []
        if kind == "elsewhere":
            kind = "discount"
            if rng.random() < 0.5 or not other_stores:
                owner = rng.choice(other_regions)
            else:
                store_ids = sorted(s.pk for s in rng.sample(other_stores, min(2, len(other_stores))))
                owner = hq
        elif rng.random() < 0.1:
            under = [s for s in all_stores if s.path.startswith(owner.path)]
            store_ids = sorted({store.pk, *(s.pk for s in rng.sample(under, min(2, len(under))))})
        scope = rng.random()
        products_of, categories_of = [], []
        if kind in ("discount", "member_price", "buy_x_get_y", "nth_discount", "birthday"):
            if scope < 0.6:
                categories_of = [rng.choice(leaves if rng.random() < 0.7 else roots).pk]
            elif scope < 0.95 or kind != "discount":
                products_of = sorted(rng.sample(product_ids, min(len(product_ids), rng.randint(1, 6))))
        elif kind.startswith("threshold_") and scope < 0.6:
            categories_of = [rng.choice(roots).pk]
        params = {
            "member_price": lambda: {"rate": rng.choice(("0.88", "0.9", "0.92", "0.95"))}
            | ({"tier_ids": tier_ids[-2:]} if tier_ids and rng.random() < 0.3 else {}),
            "discount": lambda: {"rate": rng.choice(("0.7", "0.8", "0.85", "0.9", "0.95"))},
            "threshold_cash": lambda: rng.choice(
                (
                    {"steps": [{"min": 20000, "off": 2000}, {"min": 50000, "off": 6000}]},
                    {"steps": [{"min": 10000, "off": 1000}], "repeat": True},
                    {"steps": [{"min": 30000, "off": 3000}]},
                )
            ),
            "threshold_discount": lambda: {"min": rng.choice((30000, 50000, 80000)), "rate": "0.9"},
            "threshold_gift": lambda: {"min": rng.choice((20000, 40000)), "gift_product_id": rng.choice(product_ids)},
            "buy_x_get_y": lambda: rng.choice(({"buy": 2, "free": 1}, {"buy": 3, "free": 1})),
            "nth_discount": lambda: {"nth": 2, "rate": rng.choice(("0.5", "0.7"))},
            "bundle": lambda: {"product_ids": sorted(rng.sample(product_ids, 2)), "price": rng.choice((1000, 2000, 5000))},
            "birthday": lambda: rng.choice(({"window": "month", "rate": "0.9"}, {"window": "week", "amount_off": 1000})),
        }[kind]()  # fmt: skip
        group = ""
        if kind == "threshold_cash" and rng.random() < 0.7:
            group = "满减"
        elif kind == "threshold_discount" and rng.random() < 0.7:
            group = "满折"
        elif kind == "discount" and rng.random() < 0.25:
            group = "折扣"
        data = {
            "name": f"{PROMOTION_PREFIX}{PLAN_VERSION} {n:03d} {kind}",
            "kind": kind,
            "params": params,
            "store_ids": store_ids,
            "product_ids": products_of,
            "category_ids": categories_of,
            "valid_from": now - datetime.timedelta(days=1),
            "valid_to": now + datetime.timedelta(days=365),
            "weekdays": [1, 2, 3, 4, 5, 6, 7] if rng.random() < 0.1 else [],
            "priority": rng.randint(0, 10),
            "exclusive_group": group,
            "stacks_with_coupons": rng.random() < 0.85,
            "applies_over_member_price": rng.random() < 0.7,
        }
        if kind == "discount" and products_of and limited_left:
            data.update(stock_total=10**9, per_member_limit=10**6)
            limited_left -= 1
        plan.append((owner, data))
    return plan


def ensure_promotions(merchant, store, wanted, roots, leaves, products, seed, out):
    """`wanted` bench promotions valid for at least another day; otherwise the old set is stopped, a new made."""
    from django.utils import timezone

    from onecard.promotions import rules
    from onecard.promotions.models import Promotion

    bench = Promotion.objects.filter(merchant=merchant, active=True, name__startswith=PROMOTION_PREFIX)
    current = bench.filter(name__startswith=f"{PROMOTION_PREFIX}{PLAN_VERSION} ")
    soon = timezone.now() + datetime.timedelta(days=1)
    if current.count() == bench.count() == wanted and not current.filter(valid_to__lt=soon).exists():
        return
    stale = list(bench)
    if stale:
        out.write(f"stopping {len(stale)} earlier bench promotions")
        for promotion in stale:
            rules.deactivate_promotion(None, promotion)
    out.write(f"creating {wanted} bench promotions through promotions.rules")
    for owner, data in promotion_plan(wanted, merchant, store, roots, leaves, products, seed):
        rules.create_promotion(None, merchant, owner, data)


def template_specs(roots, products):
    """Name and fields of the quote member's coupon templates (cash, discount, gift, count; some scoped)."""
    some = [p["id"] for p in products[:: max(1, len(products) // 8)]][:6]
    gift = products[len(products) // 2]["id"]
    return [
        ("01 满100减10", {"kind": "cash", "value": 1000, "min_spend": 10000}),
        ("02 满200减20", {"kind": "cash", "value": 2000, "min_spend": 20000}),
        ("03 满500减50", {"kind": "cash", "value": 5000, "min_spend": 50000}),
        ("04 类目满30减5", {"kind": "cash", "value": 500, "min_spend": 3000, "category_ids": [roots[0].pk]}),
        ("05 95折封顶30", {"kind": "discount", "value": 950, "cap": 3000}),
        ("06 类目9折封顶20", {"kind": "discount", "value": 900, "cap": 2000, "category_ids": [roots[1].pk]}),
        ("07 满300享88折", {"kind": "discount", "value": 880, "min_spend": 30000, "cap": 5000,
                           "stacks_with_promotions": False}),
        ("08 兑换券", {"kind": "gift", "gift_product_id": gift}),
        ("09 次数券", {"kind": "count", "value": 5, "product_ids": some}),
        ("10 指定商品减3", {"kind": "cash", "value": 300, "product_ids": some}),
    ]  # fmt: skip


def _template(merchant, hq, name, fields):
    from onecard.promotions import coupon_templates
    from onecard.promotions.models import CouponTemplate

    template = CouponTemplate.objects.filter(merchant=merchant, name=name).first()
    if template is None:
        template = coupon_templates.create_template(
            None, merchant, node=hq, name=name, valid_days=365, **fields
        )
    return template


def ensure_coupons(merchant, member, wanted, roots, products, out):
    """The member's `wanted` usable coupons (one per template, issued when missing): their codes."""
    from django.utils import timezone

    from onecard.org.models import OrgNode
    from onecard.promotions import coupons
    from onecard.promotions.coupon_choices import CouponStatus
    from onecard.promotions.models import Coupon

    hq = OrgNode.objects.get(merchant=merchant, kind="hq")
    soon = timezone.now() + datetime.timedelta(days=1)
    codes = []
    specs = template_specs(roots, products)
    for n in range(wanted):
        name, fields = specs[n % len(specs)]
        template = _template(
            merchant,
            hq,
            f"{TEMPLATE_PREFIX}{name}" + (f" #{n // len(specs)}" if n >= len(specs) else ""),
            fields,
        )
        held = Coupon.objects.filter(
            template=template, member=member, status=CouponStatus.ISSUED, valid_until__gt=soon
        ).first()
        if held is None:
            held = coupons.issue_by_hand(None, template, member)
        codes.append(held.code)
    out.write(f"the quote member holds {len(codes)} bench coupons")
    return codes


def ensure_bearer_pool(merchant, wanted, out):
    """At least `wanted` unused bearer ¥5-off-¥100 vouchers: their codes."""
    from django.utils import timezone

    from onecard.org.models import OrgNode
    from onecard.promotions import coupons
    from onecard.promotions.coupon_choices import CouponStatus
    from onecard.promotions.models import Coupon

    hq = OrgNode.objects.get(merchant=merchant, kind="hq")
    template = _template(merchant, hq, BEARER_TEMPLATE, {"kind": "cash", "value": 500, "min_spend": 10000})
    soon = timezone.now() + datetime.timedelta(days=1)
    unused = Coupon.objects.filter(
        template=template, member=None, status=CouponStatus.ISSUED, valid_until__gt=soon
    )
    have = unused.count()
    if have < wanted:
        out.write(f"issuing {wanted - have:,} bearer vouchers")
        coupons.issue_bearer(None, template, wanted - have, note="onecard bench checkout")
    return list(unused.order_by("pk").values_list("code", flat=True)[:wanted])


def prepare(options, out):
    """Everything the bench needs (see the module doc); ids and codes for the measurements and workers."""
    from onecard.loyalty.models import Card, Tier
    from onecard.loyalty.tiers.services import member_tier, set_member_tier
    from onecard.org.models import OrgNode

    cards = options["cards"]
    base = ledger_bench.prepare(cards, out, members_min=cards)
    started = time.monotonic()
    merchant = OrgNode.objects.get(pk=base["stores"][0]).merchant
    stores = list(OrgNode.objects.filter(pk__in=base["stores"]).order_by("pk"))
    roots, leaves, products = ensure_catalogue(merchant, stores, options["products"], out)
    card = Card.objects.select_related("member", "product").get(pk=base["cards"][0])
    store = next(s for s in stores if s.pk == base["homes"][0])
    ensure_promotions(merchant, store, options["promotions"], roots, leaves, products, options["seed"], out)
    tier = Tier.objects.filter(merchant=merchant).order_by("-rank").first()
    if tier is not None and member_tier(card.member) is None:
        set_member_tier(None, card.member, tier, reason="onecard bench checkout")
    codes = ensure_coupons(merchant, card.member, options["coupons"], roots, products, out)
    pool = ensure_bearer_pool(merchant, BEARER_POOL, out) if options["tills"] else []
    analyze()
    out.write(f"checkout set-up ready ({time.monotonic() - started:.1f} s)")
    return {**base, "quote_card": card.pk, "quote_store": store.pk, "codes": codes, "pool": pool,
            "products": products}  # fmt: skip


def analyze():
    """PostgreSQL's planner statistics for the tables the set-up filled (autovacuum may not have run yet)."""
    from django.db import connection

    from onecard.catalog.models import Category, MemberPrice, Product
    from onecard.promotions.models import Coupon, CouponTemplate, Promotion

    if connection.vendor == "postgresql":
        models = (Product, Product.stores.through, Category, MemberPrice, Promotion, Coupon, CouponTemplate)
        with connection.cursor() as cursor:
            cursor.execute(
                "ANALYZE " + ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models)
            )


# ---- carts ----------------------------------------------------------------------------------------------


def make_cart(rng, pool, lines):
    """`lines` distinct products from `pool` as [(SKU or barcode, quantity)]: mostly 1, some 2 or 3."""
    items = []
    for product in rng.sample(pool, min(lines, len(pool))):
        text = product["barcode"] if product["barcode"] and rng.random() < 0.3 else product["sku"]
        items.append((text, rng.choices((1, 2, 3), weights=(70, 20, 10))[0]))
    return items


def cart_pool(products):
    """The bench products sold in every store (no store list): what carts and promotions draw from."""
    from onecard.catalog.models import Product

    through = Product.stores.through
    restricted = set(
        through.objects.filter(product_id__in=[p["id"] for p in products]).values_list(
            "product_id", flat=True
        )
    )
    return [p for p in products if p["id"] not in restricted]


# ---- the quote ------------------------------------------------------------------------------------------


def quote_part(setup, options, out):
    """The quote, the engine alone and the statements of one quote; (cases, figures)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from onecard.loyalty.models import Card
    from onecard.org.models import OrgNode
    from onecard.promotions import coupon_redemption, pricing, rules
    from onecard.sales import checkout

    store = OrgNode.objects.select_related("merchant").get(pk=setup["quote_store"])
    merchant = store.merchant
    card = Card.objects.select_related("member", "product").get(pk=setup["quote_card"])
    rng = random.Random(options["seed"])  # noqa: S311 - seeded sample data, not a secret
    pool = cart_pool(setup["products"])
    carts = [make_cart(rng, pool, options["lines"]) for _ in range(DISTINCT_CARTS)]
    codes = setup["codes"]
    samples, warmup = options["samples"], options["warmup"]

    def one_quote(i):
        return checkout.quote(merchant, store, card, carts[i % len(carts)], codes)

    first = one_quote(0)
    in_force = len(rules.active_promotions(merchant, store))
    with CaptureQueriesContext(connection) as captured:
        one_quote(1)
    statements = [q["sql"] for q in captured.captured_queries]
    name = f"quote: {options['lines']} lines, {len(codes)} coupons, {in_force} promotions"
    quote_case = _quote_case(name, one_quote, samples, warmup)
    member_case = summarize(
        "quote for the member, no card",
        QUOTE_MEDIAN_TARGET_MS,
        _times(
            lambda i: checkout.quote(merchant, store, card.member, carts[i % len(carts)], codes),
            samples,
            warmup,
        ),
        note="no points or stored value to look up",
    )
    profile = None
    if options.get("profile"):
        profile = profile_text(one_quote, samples)
        out.write(profile)

    at = timezone.now()
    member = card.member
    offers, _refused = coupon_redemption.sort_codes(member, store, at, codes)
    promotions = rules.active_promotions(merchant, store, at)
    used = rules.used_counts(promotions, member)
    built = [checkout._build_cart(store, member, items, offers, at) for items in carts]
    engine_case = summarize(
        f"pricing engine alone ({options['lines']} lines)",
        0,
        _times(
            lambda i: pricing.price_cart(built[i % len(built)], promotions, used_counts=used), samples, warmup
        ),
        note="no database: price_cart on the built carts",
    )
    engine_case.update(target_ms=None, **{"pass": True})
    out.write(_case_line(quote_case))
    out.write(_case_line(member_case))
    out.write(_case_line(engine_case))
    figures = {
        "promotions_in_force": in_force,
        "queries_per_quote": len(statements),
        "quote_sql": statements,
        "example_quote": {
            "list_total": first.quote.list_total,
            "total_due": first.total_due,
            "promotions_applied": len(first.quote.promotions_applied),
            "coupons_applied": len(first.quote.coupons_applied),
            "coupons_refused": dict(first.quote.coupons_refused),
            "points_to_earn": first.points_to_earn,
        },
        "profile": profile,
    }
    return [quote_case, member_case, engine_case], figures


def _case_line(case):
    return f"{case['case']}: median {case['median_ms']:.2f} ms, p95 {case['p95_ms']:.2f}, p99 {case['p99_ms']:.2f}"


def _times(call, samples, warmup):
    for i in range(warmup):
        call(i)
    times = []
    for i in range(samples):
        started = time.perf_counter()
        call(warmup + i)
        times.append((time.perf_counter() - started) * 1000)
    return times


def _quote_case(name, call, samples, warmup):
    case = summarize(name, QUOTE_MEDIAN_TARGET_MS, _times(call, samples, warmup),
                     note=f"target: median < {QUOTE_MEDIAN_TARGET_MS:g} ms, p99 < {QUOTE_P99_TARGET_MS:g} ms")  # fmt: skip
    case["pass"] = case["pass"] and case["p99_ms"] < QUOTE_P99_TARGET_MS
    return case


def profile_text(call, samples, top=25):
    """cProfile of `samples` calls: the `top` functions by cumulative time."""
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(samples):
        call(i)
    profiler.disable()
    buffer = io.StringIO()
    pstats.Stats(profiler, stream=buffer).sort_stats("cumulative").print_stats(top)
    return buffer.getvalue()


# ---- the quote over HTTP --------------------------------------------------------------------------------


def quote_endpoint_missing():
    """None when POST /api/v1/pos/checkout/quote is routed, else why the HTTP quote is skipped."""
    try:
        resolve(QUOTE_PATH)
    except Resolver404:
        return f"POST {QUOTE_PATH} is not routed yet"
    return None


def http_quote_case(setup, options, out):
    """The quote through the POS API (gunicorn, signed requests, one keep-alive client)."""
    import http.client

    from django.db import connection

    from onecard.loyalty.models import Card
    from onecard.pos.signing import sign_request

    terminals = ledger_bench.terminals_for({"stores": [setup["quote_store"]]})
    terminal_id, secret = terminals[str(setup["quote_store"])]
    number = Card.objects.get(pk=setup["quote_card"]).number
    rng = random.Random(options["seed"] + 1)  # noqa: S311 - seeded sample data, not a secret
    pool = cart_pool(setup["products"])
    carts = [make_cart(rng, pool, options["lines"]) for _ in range(DISTINCT_CARTS)]
    port = ledger_bench.free_port()
    connection.close()
    proc, log = ledger_bench.start_gunicorn(port, out)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    statuses, first = {}, {}

    def call(i):
        items = [{"sku" if code.startswith(SKU_PREFIX) else "barcode": code, "quantity": quantity}
                 for code, quantity in carts[i % len(carts)]]  # fmt: skip
        body = json.dumps(
            {"card_no": number, "items": items, "coupons": setup["codes"]}, separators=(",", ":")
        ).encode()
        headers = {"Content-Type": "application/json",
                   **sign_request(secret, "POST", QUOTE_PATH, body, terminal_id=terminal_id)}  # fmt: skip
        conn.request("POST", QUOTE_PATH, body=body, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        statuses[response.status] = statuses.get(response.status, 0) + 1
        if i == 0 and response.status == 200:
            first.update(json.loads(payload))

    try:
        case = _quote_case(f"quote over HTTP ({QUOTE_PATH})", call, options["samples"], options["warmup"])
    finally:
        conn.close()
        proc.terminate()
        proc.wait(timeout=15)
        log.close()
    case["note"] += f"; HTTP statuses {statuses}"
    # The API must answer what the service answers for the same cart.
    from onecard.org.models import OrgNode
    from onecard.sales import checkout

    store = OrgNode.objects.select_related("merchant").get(pk=setup["quote_store"])
    card = Card.objects.select_related("member", "product").get(pk=setup["quote_card"])
    same = checkout.quote(store.merchant, store, card, carts[0], setup["codes"])
    if first.get("total_due") != same.total_due or first.get("coupons_applied") != same.quote.coupons_applied:
        case["note"] += f"; the API answered {first.get('total_due')}, the service {same.total_due}"
        case["pass"] = False
    if set(statuses) != {200}:
        case["pass"] = False
    return case


# ---- checkouts at several tills ---------------------------------------------------------------------------


def worker_main():
    """Entry of a checkout worker process (ledger.run_workers protocol: spec, `ready`, `go`, result)."""
    spec = json.loads(sys.stdin.readline())
    state = checkout_loop(spec, prepare_only=True)
    print(ledger_bench.MARK + "ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return
    result = checkout_loop(spec, state=state)
    print(ledger_bench.MARK + json.dumps(result), flush=True)


def checkout_loop(spec, *, prepare_only=False, state=None):
    """Warm up (prepare_only), or check out random carts until spec['seconds'] pass."""
    if prepare_only:
        ledger_bench._django()
        from onecard.org.models import OrgNode

        stores = OrgNode.objects.select_related("merchant").in_bulk(spec["stores"])
        state = {"stores": stores, "rng": random.Random(spec["seed"]), "pool": list(spec["pool"]),  # noqa: S311 - seeded sample data, not a secret
                 "coupons_used": 0, "warm": True}  # fmt: skip
        for _ in range(3):
            one_checkout(spec, state)
        state["warm"] = False
        return state
    result = ledger_bench.timed_loop(spec, lambda: one_checkout(spec, state))
    result["coupons_used"] = state["coupons_used"]
    return result


def one_checkout(spec, state):
    """Look the card up, quote, then check out (stored value + cash, a voucher on some); an error code or None."""
    from onecard.core.errors import BusinessError
    from onecard.loyalty.models import Card
    from onecard.sales import checkout

    rng = state["rng"]
    index = rng.randrange(len(spec["cards"]))
    store = state["stores"][spec["homes"][index]]
    items = make_cart(rng, spec["products"], spec["lines"])
    codes = []
    if state["pool"] and not state["warm"] and rng.random() < COUPON_SHARE:
        codes = [state["pool"].pop()]
    try:
        card = Card.objects.select_related("member", "product").get(pk=spec["cards"][index])
        quoted = checkout.quote(store.merchant, store, card, items, codes)
        due = quoted.total_due
        sv = min(quoted.max_stored_value, due * rng.randint(30, 70) // 100)
        tenders = {kind: amount for kind, amount in (("stored_value", sv), ("cash", due - sv)) if amount}
        used = list(quoted.quote.coupons_applied)
        checkout.checkout(
            None,
            store=store,
            card=card,
            items=items,
            coupon_codes=used,
            tenders=tenders,
            business_ref=f"BCK-{uuid.uuid4().hex[:24]}",
        )
    except BusinessError as error:
        return error.code
    state["coupons_used"] += len(used)
    return None


def tills_part(setup, options, out):
    """Charges, then checkouts, from `tills` worker processes each; the two summaries."""
    from django.db import connection

    tills, seconds, seed = options["tills"], options["seconds"], options["seed"]
    pool = cart_pool(setup["products"])
    connection.close()
    out.write(
        f"plain charges (onecard bench ledger's service loop): {tills} worker process(es) × {seconds:g} s"
    )
    charge_specs = [
        {"mode": "service", "seconds": seconds, "seed": seed + i, "cards": setup["cards"],
         "homes": setup["homes"], "stores": setup["stores"]}
        for i in range(tills)
    ]  # fmt: skip
    charge = ledger_bench.summarize_run("service", tills, ledger_bench.run_workers(charge_specs), seconds)
    out.write(f"checkouts: {tills} worker process(es) × {seconds:g} s")
    share = -(-len(setup["pool"]) // tills)
    checkout_specs = [
        {"seconds": seconds, "seed": seed + 50 + i, "cards": setup["cards"], "homes": setup["homes"],
         "stores": setup["stores"], "lines": options["lines"], "products": pool,
         "pool": setup["pool"][i * share:(i + 1) * share]}
        for i in range(tills)
    ]  # fmt: skip
    raw = ledger_bench.run_workers(checkout_specs, code=CHILD_CODE)
    sales = ledger_bench.summarize_run("checkout", tills, raw, seconds)
    sales["coupons_used"] = sum(r.get("coupons_used", 0) for r in raw)
    return charge, sales


def queries_of_one_checkout(setup, options):
    """The SQL statements of one checkout (20-line cart, stored value + cash) in this process."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from onecard.loyalty.models import Card
    from onecard.org.models import OrgNode
    from onecard.sales import checkout

    store = OrgNode.objects.select_related("merchant").get(pk=setup["quote_store"])
    card = Card.objects.select_related("member", "product").get(pk=setup["quote_card"])
    items = make_cart(random.Random(options["seed"] + 2), cart_pool(setup["products"]), options["lines"])  # noqa: S311 - seeded sample data, not a secret
    quoted = checkout.quote(store.merchant, store, card, items)
    sv = min(quoted.max_stored_value, quoted.total_due // 2)
    tenders = {
        kind: amount for kind, amount in (("stored_value", sv), ("cash", quoted.total_due - sv)) if amount
    }
    with CaptureQueriesContext(connection) as captured:
        checkout.checkout(None, store=store, card=card, items=items, tenders=tenders,
                          business_ref=f"BCK-{uuid.uuid4().hex[:24]}")  # fmt: skip
    return len(captured.captured_queries)


# ---- the workload ----------------------------------------------------------------------------------------


def run(options):
    from django.db import connection

    out = options["stdout"]
    options = {**options, "tills": int(options.get("tills") or 0)}
    for name, default in (("products", 3000), ("promotions", 200), ("lines", 20), ("coupons", 10)):
        options[name] = default if options.get(name) is None else int(options[name])
    result = {
        "benchmark": "checkout",
        "database": connection.vendor,
        "products": options["products"],
        "promotions": options["promotions"],
        "lines": options["lines"],
        "coupons": options["coupons"],
        "samples": options["samples"],
        "tills": options["tills"],
        "seconds": options["seconds"],
        "http_skipped": None,
        "tills_skipped": None,
        "charge": None,
        "checkout": None,
        "ratio": None,
        "targets": [],
    }
    setup = prepare(options, out)
    cases, figures = quote_part(setup, options, out)
    result.update(figures)
    result["queries_per_checkout"] = queries_of_one_checkout(setup, options)
    result["http_skipped"] = "--skip-http" if options.get("skip_http") else quote_endpoint_missing()
    if result["http_skipped"]:
        out.write(f"HTTP quote skipped: {result['http_skipped']}")
    else:
        cases.append(http_quote_case(setup, options, out))
    if not options["tills"]:
        result["tills_skipped"] = "--tills 0"
    elif connection.vendor != "postgresql":
        result["tills_skipped"] = f"the configured database is {connection.vendor}"
    if result["tills_skipped"]:
        out.write(f"checkouts at several tills skipped: {result['tills_skipped']}")
    else:
        charge, sales = tills_part(setup, options, out)
        result["charge"], result["checkout"] = charge, sales
        result["ratio"] = round(sales["tps"] / charge["tps"], 3) if charge["tps"] else None
        for row in (charge, sales):
            cases.append(
                {
                    "case": f"{'charge' if row is charge else 'checkout'} ×{row['clients']}: {row['tps']:.0f} TPS",
                    "samples": row["charges"],
                    "median_ms": row["p50_ms"],
                    "p95_ms": row["p95_ms"],
                    "p99_ms": row["p99_ms"],
                    "max_ms": row["p99_ms"],
                    "target_ms": None,
                    "pass": not row["errors"] or row is sales,
                    "note": f"errors {row['errors']}" if row["errors"] else "",
                }
            )
    quote_case = cases[0]
    result["targets"] = [
        {"name": "quote median (ms)", "value": quote_case["median_ms"], "want": f"< {QUOTE_MEDIAN_TARGET_MS:g}",
         "pass": quote_case["median_ms"] < QUOTE_MEDIAN_TARGET_MS},
        {"name": "quote p99 (ms)", "value": quote_case["p99_ms"], "want": f"< {QUOTE_P99_TARGET_MS:g}",
         "pass": quote_case["p99_ms"] < QUOTE_P99_TARGET_MS},
    ]  # fmt: skip
    out.write("")
    out.write(f"promotions in force at the quote's store: {result['promotions_in_force']}; "
              f"SQL statements in one quote: {result['queries_per_quote']}, in one checkout: "
              f"{result['queries_per_checkout']}")  # fmt: skip
    for t in result["targets"]:
        out.write(f"target {t['name']}: {t['value']} (want {t['want']}) → {'pass' if t['pass'] else 'FAIL'}")
    if result["checkout"]:
        out.write(
            f"checkout TPS at {options['tills']} tills: {result['checkout']['tps']:.1f}; plain charge TPS: "
            f"{result['charge']['tps']:.1f}; ratio {result['ratio']:.3f}; errors {result['checkout']['errors']}; "
            f"vouchers used {result['checkout']['coupons_used']}"
        )
    result["cases"] = cases
    return result
