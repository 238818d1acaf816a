"""A throughput probe for ledger.post: two-leg charges from N threads, each on its own connection.

    from onecard.loyalty.ledger.benchmark import measure_charges
    measure_charges(workers=4, seconds=5, shared_store=True)

Each worker charges its own card; `shared_store=True` sends every charge to one store revenue
account (the worst case: that row's lock serialises them), False gives each worker its own
store. Meant for a scratch database; `onecard bench ledger` can build on it.
"""

import statistics
import threading
import time
import uuid

from django.db import connection

from onecard.loyalty.ledger import services as ledger
from onecard.loyalty.ledger.choices import AccountKind, EntryKind
from onecard.org import services
from onecard.org.choices import NodeKind


def _setup(workers, shared_store):
    """A scratch merchant with one store per worker (or one shared) and a funded account per worker."""
    tag = uuid.uuid4().hex[:8]
    merchant = services.create_merchant(None, name=f"bench {tag}", code=f"b{tag}", hq_name="HQ")
    hq = merchant.nodes.get(kind=NodeKind.HQ)
    stores = [
        services.create_node(None, parent=hq, kind=NodeKind.STORE, name=f"S{i}", code=f"S{i}")
        for i in range(1 if shared_store else workers)
    ]
    pairs = []
    for i in range(workers):
        store = stores[0 if shared_store else i]
        card = ledger.open_account(
            AccountKind.MEMBER_PRINCIPAL, merchant, card_id=int(time.time() * 1000) * 100 + i
        )
        cash = ledger.open_account(AccountKind.STORE_CASH, merchant, node=store)
        revenue = ledger.open_account(AccountKind.STORE_REVENUE, merchant, node=store)
        ledger.transfer(cash, card, 10**12, kind=EntryKind.TOPUP, merchant=merchant, node=store)
        pairs.append((merchant.pk, store.pk, card.pk, revenue.pk))
    return pairs


def measure_charges(*, workers=1, seconds=5.0, shared_store=True) -> dict:
    """Run charges for `seconds`; returns {"tps", "p50_ms", "p99_ms", "charges"}."""
    pairs = _setup(workers, shared_store)
    latencies = [[] for _ in range(workers)]
    start_line = threading.Barrier(workers + 1)
    stop = []

    def worker(n):
        merchant, store, card, revenue = pairs[n]
        try:
            start_line.wait()
            while not stop:
                began = time.perf_counter()
                ledger.transfer(card, revenue, 1999, kind=EntryKind.CHARGE, merchant=merchant, node=store)
                latencies[n].append(time.perf_counter() - began)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    start_line.wait()
    began = time.perf_counter()
    time.sleep(seconds)
    stop.append(True)
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    all_latencies = sorted(x for per_worker in latencies for x in per_worker)
    return {
        "workers": workers,
        "shared_store": shared_store,
        "charges": len(all_latencies),
        "tps": round(len(all_latencies) / elapsed),
        "p50_ms": round(statistics.median(all_latencies) * 1000, 2),
        "p99_ms": round(all_latencies[int(len(all_latencies) * 0.99)] * 1000, 2),
    }
