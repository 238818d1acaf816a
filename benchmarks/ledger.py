"""`onecard bench ledger`: card charges per second against PostgreSQL's own pgbench (issue 3).

On PostgreSQL (the configured database):

1. set-up, created when missing: the demo chain with members (seed-demo), a stored-value card
   product `压测储值卡` without balance cap worries, `--cards` cards bound to demo members, each
   topped up through stored_value.topup so charges do not run dry;
2. service layer: stored_value.charge of a random card, at the store that issued it or — one
   charge in CROSS_STORE_SHARE, as TPC-B's remote-branch share — at another demo store, which
   adds the two clearing legs of a cross-store charge (12 stores: the store revenue rows are
   spread like pgbench's 10 branches), from 1, 4 and 16 worker PROCESSES (each its own
   interpreter, django.setup() and connection) for `--seconds` each;
3. HTTP: POST /api/v1/pos/charges with signed requests and an Idempotency-Key, from a terminal
   of the card's store or (CROSS_STORE_SHARE) of another store, from 4 and 16 client processes (keep-alive http.client) against gunicorn -w 2 --threads 8, when that
   endpoint exists (onecard/pos/api/urls.py); otherwise the part is reported as skipped;
4. pgbench right after: `pgbench -i -s 10` into the database onecard_pgbench, then the default
   TPC-B script with the same client counts and duration, per-transaction logs for p50/p99.

Always (unless --skip-sqlite): SQLite through the service layer in one process, on a temporary
SQLite file (ONECARD_VAR_DIR in a temporary directory, migrated from scratch).

Prints a table with the targets of the issue and, as the last line, one JSON object.
"""

import glob
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from django.urls import Resolver404, resolve

from . import percentile

BASE_DIR = Path(__file__).resolve().parent.parent
PRODUCT_NAME = "压测储值卡"
CARD_PREFIX = "77"
BALANCE_CAP = 10**12
TOPUP_AMOUNT = 10**8  # ¥1,000,000 per card: ~20,000 charges of the sizes below
LOW_BALANCE = 10**7
CHARGE_MIN, CHARGE_MAX = 500, 9_999  # list amount in fen
CROSS_STORE_SHARE = 0.15  # TPC-B: 15% of transactions go to a remote branch
TERMINAL_NAME = "压测终端"
CHARGES_PATH = "/api/v1/pos/charges"
PGBENCH_DB = "onecard_pgbench"
PGBENCH_SCALE = 10
# Targets of issue 3.
SERVICE_RATIO_TARGET = 0.30  # service layer at 4 workers vs pgbench at 4 clients
HTTP_RATIO_TARGET = 0.12  # HTTP API at 16 clients vs pgbench at 16 clients
P99_TARGET_MS = 50.0  # at 4 clients
SQLITE_TPS_TARGET = 400
MARK = "BENCH-LEDGER:"


# ---- set-up (runs in the parent on PostgreSQL, in the SQLite child on its temporary file) ----------


def prepare(cards_wanted, out, *, members_min=1000):
    """The demo chain, the bench product and `cards_wanted` active, topped-up cards; ids for the workers."""
    from django.core.management import call_command

    from onecard.loyalty.cards.choices import CardKind, CardStatus
    from onecard.loyalty.cards.products import create_product, issue_batch
    from onecard.loyalty.cards.services import activate, bind_to_member
    from onecard.loyalty.ledger.choices import AccountKind
    from onecard.loyalty.models import Account, Card, CardBatch, CardProduct
    from onecard.loyalty.stored_value import services as stored_value
    from onecard.members.models import Member
    from onecard.org.demo import demo_merchant

    started = time.monotonic()
    members_wanted = max(cards_wanted, members_min)
    merchant = demo_merchant()
    have = Member.objects.filter(merchant=merchant).count() if merchant else 0
    if merchant is None or have < members_wanted:
        out.write(f"seeding the demo chain and {members_wanted:,} members")
        call_command("seed_demo", members=members_wanted, stdout=out)
        merchant = demo_merchant()
    stores = list(merchant.nodes.filter(kind="store", is_active=True).order_by("id"))
    product = CardProduct.objects.filter(merchant=merchant, name=PRODUCT_NAME).first()
    if product is None:
        product = create_product(
            None, merchant, name=PRODUCT_NAME, kind=CardKind.STORED_VALUE, balance_cap=BALANCE_CAP
        )
    active = Card.objects.filter(product=product, status=CardStatus.ACTIVE, member__isnull=False)
    missing = cards_wanted - active.count()
    if missing > 0:
        out.write(f"issuing, binding and topping up {missing:,} bench cards across {len(stores)} stores")
        start = max((b.start + b.count for b in CardBatch.objects.filter(prefix=CARD_PREFIX)), default=1)
        new_cards = []
        per_store = -(-missing // len(stores))
        for store in stores:
            count = min(per_store, missing - len(new_cards))
            if count <= 0:
                break
            batch = issue_batch(None, product, store=store, prefix=CARD_PREFIX, start=start, count=count)
            start += count
            new_cards += list(Card.objects.filter(batch=batch).order_by("number"))
        holders = list(
            Member.objects.filter(merchant=merchant, merged_into__isnull=True)
            .exclude(pk__in=Card.objects.filter(product=product, member__isnull=False).values("member_id"))
            .order_by("id")[:missing]
        )
        for card, member in zip(new_cards, holders, strict=False):
            bind_to_member(None, card, member)
            activate(None, card)
    ids = list(active.order_by("id").values_list("id", flat=True)[:cards_wanted])
    principal = dict(
        Account.objects.filter(card_id__in=ids, kind=AccountKind.MEMBER_PRINCIPAL).values_list(
            "card_id", "balance"
        )
    )
    homes = dict(Card.objects.filter(pk__in=ids).values_list("id", "issued_store_id"))
    home_of = {pk: next(s for s in stores if s.pk == homes[pk]) for pk in ids}
    low = [pk for pk in ids if principal.get(pk, 0) < LOW_BALANCE]
    if low:
        out.write(f"topping up {len(low):,} cards through stored_value.topup")
        for pk in low:
            stored_value.topup(None, Card(pk=pk), TOPUP_AMOUNT, store=home_of[pk], tender="bank")
    numbers = dict(Card.objects.filter(pk__in=ids).values_list("id", "number"))
    out.write(f"set-up: {len(ids):,} cards, {len(stores)} stores ({time.monotonic() - started:.1f} s)")
    return {
        "cards": ids,
        "numbers": [numbers[pk] for pk in ids],
        "homes": [homes[pk] for pk in ids],
        "stores": [s.pk for s in stores],
        "merchant": merchant.pk,
    }


def queries_of_one_charge(setup):
    """The SQL statements of one stored_value.charge (CaptureQueriesContext), for the report."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from onecard.loyalty.models import Card
    from onecard.loyalty.stored_value import services as stored_value
    from onecard.org.models import OrgNode

    store = OrgNode.objects.get(pk=setup["stores"][0])
    stored_value.charge(None, Card(pk=setup["cards"][0]), 1000, store=store)  # warm caches
    with CaptureQueriesContext(connection) as captured:
        stored_value.charge(None, Card(pk=setup["cards"][1 % len(setup["cards"])]), 1000, store=store)
    return [q["sql"] for q in captured.captured_queries]


# ---- worker processes ------------------------------------------------------------------------------


def worker_main():
    """Entry of a child process: a JSON spec on stdin's first line; `ready`, then `go`, then a JSON result."""
    spec = json.loads(sys.stdin.readline())
    mode = spec["mode"]
    if mode == "sqlite":
        result = sqlite_child(spec)
        print(MARK + json.dumps(result), flush=True)
        return
    run = service_loop if mode == "service" else http_loop
    state = run(spec, prepare_only=True)
    print(MARK + "ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return
    result = run(spec, state=state)
    print(MARK + json.dumps(result), flush=True)


def _django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onecard.settings")
    import django

    django.setup()


def service_loop(spec, *, prepare_only=False, state=None):
    if prepare_only:
        _django()
        from onecard.org.models import OrgNode

        stores = OrgNode.objects.in_bulk(spec["stores"])
        state = {"stores": stores, "rng": random.Random(spec["seed"])}  # noqa: S311 - seeded sample data, not a secret
        for _ in range(3):  # warm-up: connection, imports, caches
            _one_charge(spec, state)
        return state
    return timed_loop(spec, lambda: _one_charge(spec, state))


def _one_charge(spec, state):
    from onecard.core.errors import BusinessError
    from onecard.loyalty.models import Card
    from onecard.loyalty.stored_value import services as stored_value

    rng = state["rng"]
    index = rng.randrange(len(spec["cards"]))
    store = pick_store(rng, spec["homes"][index], spec["stores"])
    try:
        stored_value.charge(
            None,
            Card(pk=spec["cards"][index]),
            rng.randint(CHARGE_MIN, CHARGE_MAX),
            store=state["stores"][store],
        )
    except BusinessError as error:
        return f"{error.code}"
    return None


def pick_store(rng, home, stores):
    """The card's home store, or another one with probability CROSS_STORE_SHARE."""
    if rng.random() >= CROSS_STORE_SHARE or len(stores) < 2:
        return home
    return rng.choice([pk for pk in stores if pk != home])


def timed_loop(spec, call):
    """Call `call()` until `seconds` pass; latencies (ms) of the successful calls, errors by reason."""
    latencies, errors = [], {}
    began = time.perf_counter()
    deadline = began + spec["seconds"]
    while True:
        t0 = time.perf_counter()
        if t0 >= deadline:
            break
        failure = call()
        t1 = time.perf_counter()
        if failure is None:
            latencies.append(round((t1 - t0) * 1000, 4))
        else:
            errors[failure] = errors.get(failure, 0) + 1
    return {"latencies": latencies, "errors": errors, "elapsed": time.perf_counter() - began}


def http_loop(spec, *, prepare_only=False, state=None):
    import http.client

    from onecard.pos.signing import sign_request

    if prepare_only:
        conn = http.client.HTTPConnection(spec["host"], spec["port"], timeout=30)
        return {"conn": conn, "rng": random.Random(spec["seed"]), "sign": sign_request}  # noqa: S311 - seeded sample data, not a secret

    def call():
        rng = state["rng"]
        index = rng.randrange(len(spec["numbers"]))
        store = pick_store(rng, spec["homes"][index], spec["stores"])
        terminal_id, secret = spec["terminals"][str(store)]
        body = json.dumps(
            {"card_no": spec["numbers"][index], "amount": rng.randint(CHARGE_MIN, CHARGE_MAX)},
            separators=(",", ":"),
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": uuid.uuid4().hex,
            **state["sign"](secret, "POST", CHARGES_PATH, body, terminal_id=terminal_id),
        }
        try:
            state["conn"].request("POST", CHARGES_PATH, body=body, headers=headers)
            response = state["conn"].getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as error:
            state["conn"].close()
            state["conn"] = http.client.HTTPConnection(spec["host"], spec["port"], timeout=30)
            return type(error).__name__
        if 200 <= response.status < 300:
            return None
        try:
            code = json.loads(payload).get("code", "")
        except ValueError:
            code = ""
        return f"{response.status} {code}".strip()

    return timed_loop(spec, call)


def sqlite_child(spec):
    """In a child whose settings point at a temporary SQLite file: migrate, set up, charge in one process."""
    import io

    _django()
    from django.core.management import call_command

    started = time.monotonic()
    call_command("migrate", verbosity=0, interactive=False)
    migrated = time.monotonic() - started
    log = io.StringIO()

    class Out:
        def write(self, text):
            log.write(text + "\n")

    setup = prepare(spec["cards"], Out(), members_min=spec["members_min"])
    from onecard.org.models import OrgNode

    state = {"stores": OrgNode.objects.in_bulk(setup["stores"]), "rng": random.Random(spec["seed"])}  # noqa: S311 - seeded sample data, not a secret
    local = {**spec, "cards": setup["cards"], "homes": setup["homes"], "stores": setup["stores"]}
    for _ in range(3):
        _one_charge(local, state)
    result = timed_loop(spec, lambda: _one_charge(local, state))
    result["migrate_s"] = round(migrated, 2)
    result["setup_s"] = round(time.monotonic() - started - migrated, 2)
    result["log"] = log.getvalue()
    return result


def _child_env(extra=None):
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "onecard.settings")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BASE_DIR), env.get("PYTHONPATH")]))
    env.update(extra or {})
    return env


CHILD_CODE = "import benchmarks.ledger as b; b.worker_main()"


def run_workers(specs, env=None, *, code=CHILD_CODE):
    """Start one child per spec (running `code`), wait until all are ready, start them together; their results."""
    logs = [tempfile.TemporaryFile() for _ in specs]  # noqa: SIM115 (closed in the finally below)
    procs = [
        subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
            [sys.executable, "-c", code],
            cwd=BASE_DIR,
            env=env or _child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        for log in logs
    ]
    try:
        for proc, spec in zip(procs, specs, strict=True):
            proc.stdin.write(json.dumps(spec) + "\n")
            proc.stdin.flush()
        for proc, log in zip(procs, logs, strict=True):
            _expect(proc, log, "ready")
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        return [json.loads(_expect(proc, log, None)) for proc, log in zip(procs, logs, strict=True)]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        for log in logs:
            log.close()


def _expect(proc, log, what):
    for line in proc.stdout:
        if line.startswith(MARK):
            value = line[len(MARK) :].strip()
            if what is None or value == what:
                return value
    log.seek(0)
    tail = log.read().decode(errors="replace")[-3000:]
    raise RuntimeError(f"a bench worker stopped (exit {proc.wait()}):\n{tail}")


def summarize_run(mode, clients, results, seconds):
    latencies = sorted(x for r in results for x in r["latencies"])
    errors = {}
    for r in results:
        for reason, n in r["errors"].items():
            errors[reason] = errors.get(reason, 0) + n
    elapsed = max((r["elapsed"] for r in results), default=seconds) or seconds
    return {
        "mode": mode,
        "clients": clients,
        "charges": len(latencies),
        "errors": errors,
        "seconds": round(elapsed, 2),
        "tps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.50), 2),
        "p95_ms": round(percentile(latencies, 0.95), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "mean_ms": round(sum(latencies) / len(latencies), 2) if latencies else 0.0,
    }


# ---- HTTP ------------------------------------------------------------------------------------------


def charges_endpoint_missing():
    """None when POST /api/v1/pos/charges is routed, else why the HTTP part is skipped."""
    try:
        resolve("/api/v1/pos/charges")
    except Resolver404:
        return "POST /api/v1/pos/charges is not routed yet"
    return None


def terminals_for(setup):
    """One active terminal per bench store (registered the first time): {str(store id): (terminal id, secret)}."""
    from onecard.org.models import OrgNode
    from onecard.pos.models import Terminal
    from onecard.pos.services import register_terminal

    pairs = {}
    for store in OrgNode.objects.filter(pk__in=setup["stores"]).order_by("id"):
        terminal = Terminal.objects.filter(store=store, name=TERMINAL_NAME, is_active=True).first()
        if terminal is None:
            terminal = register_terminal(None, store=store, name=TERMINAL_NAME).terminal
        pairs[str(store.pk)] = (terminal.terminal_id, terminal.secret)
    return pairs


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(port, out):
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by http_part)
    proc = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
        [gunicorn, "onecard.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2", "--threads", "8"],
        cwd=BASE_DIR,
        env=_child_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            out.write(f"gunicorn up on 127.0.0.1:{port} (pid {proc.pid})")
            return proc, log
        except OSError:
            time.sleep(0.2)
    proc.kill()
    log.seek(0)
    raise RuntimeError("gunicorn did not start:\n" + log.read().decode(errors="replace")[-3000:])


def signed_ping(port, terminal):
    import http.client

    from onecard.pos.signing import sign_request

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/api/v1/pos/ping", headers=sign_request(terminal[1], "GET", "/api/v1/pos/ping",
                                                                 terminal_id=terminal[0]))  # fmt: skip
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status


# ---- pgbench ---------------------------------------------------------------------------------------


def pgbench_binary():
    return shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench"


def _pg_args_env(db):
    args = []
    if db.get("HOST"):
        args += ["-h", str(db["HOST"])]
    if db.get("PORT"):
        args += ["-p", str(db["PORT"])]
    if db.get("USER"):
        args += ["-U", str(db["USER"])]
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return args, env


def pgbench_init(db, out):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [PGBENCH_DB])
        exists = cursor.fetchone()
    if not exists:
        with connection.cursor() as cursor:  # CREATE DATABASE cannot run in a transaction: autocommit here
            cursor.execute(f'CREATE DATABASE "{PGBENCH_DB}"')
    args, env = _pg_args_env(db)
    started = time.monotonic()
    subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [pgbench_binary(), *args, "-i", "-s", str(PGBENCH_SCALE), "-q", PGBENCH_DB],
        env=env,
        check=True,
        capture_output=True,
    )
    out.write(f"pgbench -i -s {PGBENCH_SCALE} into {PGBENCH_DB}: {time.monotonic() - started:.1f} s")


def pgbench_run(db, clients, seconds):
    args, env = _pg_args_env(db)
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "pgbench")
        done = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            [
                pgbench_binary(),
                *args,
                "-c",
                str(clients),
                "-j",
                str(clients),
                "-T",
                str(max(1, round(seconds))),
                "-r",
                "--log",
                f"--log-prefix={prefix}",
                PGBENCH_DB,
            ],  # fmt: skip
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        latencies = []
        for path in glob.glob(prefix + ".*"):
            with open(path) as f:
                for line in f:
                    fields = line.split()
                    if len(fields) >= 3 and fields[2].isdigit():
                        latencies.append(int(fields[2]) / 1000)
    latencies.sort()
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
    average = re.search(r"latency average = ([\d.]+) ms", done.stdout)
    return {
        "mode": "pgbench",
        "clients": clients,
        "transactions": len(latencies),
        "tps": round(float(tps.group(1)), 1) if tps else 0.0,
        "avg_ms": float(average.group(1)) if average else 0.0,
        "p50_ms": round(percentile(latencies, 0.50), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
    }


# ---- the workload ------------------------------------------------------------------------------------


def run(options):
    from django.conf import settings
    from django.db import connection

    out = options["stdout"]
    seconds = float(options.get("seconds") or 10)
    cards = int(options.get("cards") or 1000)
    clients = sorted({int(c) for c in str(options.get("clients") or "1,4,16").split(",") if c.strip()})
    seed = options.get("seed", 20261125)
    result = {
        "benchmark": "ledger",
        "database": connection.vendor,
        "seconds": seconds,
        "cards": cards,
        "clients": clients,
        "service": [],
        "http": [],
        "pgbench": [],
        "sqlite": None,
        "http_skipped": None,
        "pgbench_skipped": None,
        "queries_per_charge": None,
        "targets": [],
    }
    if connection.vendor == "postgresql":
        db = settings.DATABASES["default"]
        setup = prepare(cards, out)
        connection.close()
        for n in clients:
            out.write(f"service layer: {n} worker process(es) × {seconds:g} s")
            specs = [
                {
                    "mode": "service",
                    "seconds": seconds,
                    "seed": seed + i,
                    "cards": setup["cards"],
                    "homes": setup["homes"],
                    "stores": setup["stores"],
                }  # fmt: skip
                for i in range(n)
            ]
            result["service"].append(summarize_run("service", n, run_workers(specs), seconds))
        statements = queries_of_one_charge(setup)
        result["queries_per_charge"] = len(statements)
        result["charge_sql"] = statements
        if options.get("skip_http"):
            result["http_skipped"] = "--skip-http"
        else:
            result["http_skipped"] = charges_endpoint_missing()
        if result["http_skipped"]:
            out.write(f"HTTP part skipped: {result['http_skipped']}")
        else:
            result["http"] = http_part(setup, [n for n in clients if n > 1], seconds, seed, out)
        connection.close()
        if options.get("skip_pgbench"):
            result["pgbench_skipped"] = "--skip-pgbench"
        else:
            pgbench_init(db, out)
            for n in clients:
                out.write(f"pgbench: {n} client(s) × {seconds:g} s")
                result["pgbench"].append(pgbench_run(db, n, seconds))
    else:
        result["http_skipped"] = result["pgbench_skipped"] = f"the configured database is {connection.vendor}"
        out.write(f"configured database is {connection.vendor}: only the SQLite part runs")
    if not options.get("skip_sqlite"):
        out.write(f"SQLite: one process × {seconds:g} s on a temporary, freshly migrated file")
        result["sqlite"] = sqlite_part(cards, seconds, seed)
    add_ratios_and_targets(result)
    out.write("")
    out.write(format_ledger_table(result))
    for t in result["targets"]:
        out.write(f"target {t['name']}: {t['value']} (want {t['want']}) → {'pass' if t['pass'] else 'FAIL'}")
    if result["queries_per_charge"] is not None:
        out.write(f"SQL statements in one stored_value.charge: {result['queries_per_charge']}")
    result["cases"] = cases_of(result)
    return result


def http_part(setup, counts, seconds, seed, out):
    terminals = terminals_for(setup)
    port = free_port()
    from django.db import connection

    connection.close()
    proc, log = start_gunicorn(port, out)
    runs = []
    try:
        status = signed_ping(port, next(iter(terminals.values())))
        if status != 200:
            raise RuntimeError(f"signed GET /api/v1/pos/ping answered {status}")
        for n in counts:
            out.write(f"HTTP: {n} client process(es) × {seconds:g} s")
            specs = [
                {
                    "mode": "http",
                    "seconds": seconds,
                    "seed": seed + 100 + i,
                    "host": "127.0.0.1",
                    "port": port,
                    "terminals": terminals,
                    "numbers": setup["numbers"],
                    "homes": setup["homes"],
                    "stores": setup["stores"],
                }  # fmt: skip
                for i in range(n)
            ]
            runs.append(summarize_run("http", n, run_workers(specs), seconds))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    return runs


def sqlite_part(cards, seconds, seed):
    with tempfile.TemporaryDirectory() as tmp:
        env = _child_env({"ONECARD_VAR_DIR": tmp, "DATABASE_URL": f"sqlite:///{tmp}/onecard.sqlite3"})
        spec = {"mode": "sqlite", "seconds": seconds, "seed": seed, "cards": min(cards, 1000),
                "members_min": min(cards, 1000)}  # fmt: skip
        done = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            [sys.executable, "-c", CHILD_CODE],
            cwd=BASE_DIR,
            env=env,
            input=json.dumps(spec) + "\n",
            capture_output=True,
            text=True,
        )
        lines = [line for line in done.stdout.splitlines() if line.startswith(MARK)]
        if done.returncode or not lines:
            raise RuntimeError(f"the SQLite bench child failed:\n{done.stderr[-3000:]}")
        raw = json.loads(lines[-1][len(MARK) :])
    summary = summarize_run("sqlite", 1, [raw], seconds)
    summary.update(migrate_s=raw["migrate_s"], setup_s=raw["setup_s"])
    return summary


def add_ratios_and_targets(result):
    pg = {r["clients"]: r["tps"] for r in result["pgbench"]}
    for r in result["service"] + result["http"]:
        base = pg.get(r["clients"])
        r["pgbench_tps"] = base
        r["ratio"] = round(r["tps"] / base, 3) if base else None
    targets = result["targets"]

    def find(rows, n):
        return next((r for r in rows if r["clients"] == n), None)

    service4, http4, http16 = find(result["service"], 4), find(result["http"], 4), find(result["http"], 16)
    if service4 and service4["ratio"] is not None:
        targets.append(_target("service layer, 4 workers / pgbench", service4["ratio"], SERVICE_RATIO_TARGET))
    if http16 and http16["ratio"] is not None:
        targets.append(_target("HTTP API, 16 clients / pgbench", http16["ratio"], HTTP_RATIO_TARGET))
    for name, row in (("service layer", service4), ("HTTP API", http4)):
        if row:
            targets.append(
                {
                    "name": f"{name} p99 at 4 clients (ms)",
                    "value": row["p99_ms"],
                    "want": f"< {P99_TARGET_MS:g}",
                    "pass": row["p99_ms"] < P99_TARGET_MS,
                }  # fmt: skip
            )
    if result["sqlite"]:
        targets.append(_target("SQLite, one process (charges/s)", result["sqlite"]["tps"], SQLITE_TPS_TARGET))


def _target(name, value, at_least):
    return {"name": name, "value": value, "want": f">= {at_least:g}", "pass": value >= at_least}


def format_ledger_table(result):
    headers = ("mode", "clients", "charges", "errors", "TPS", "p50 ms", "p99 ms", "pgbench TPS", "ratio")
    rows = []
    for r in result["service"] + result["http"] + ([result["sqlite"]] if result["sqlite"] else []):
        rows.append(
            (
                {"service": "service layer", "http": "HTTP API", "sqlite": "SQLite service"}[r["mode"]],
                str(r["clients"]),
                str(r["charges"]),
                str(sum(r["errors"].values())),
                f"{r['tps']:.1f}",
                f"{r['p50_ms']:.2f}",
                f"{r['p99_ms']:.2f}",
                f"{r['pgbench_tps']:.1f}" if r.get("pgbench_tps") else "-",
                f"{r['ratio'] * 100:.1f}%" if r.get("ratio") is not None else "-",
            )
        )
    for r in result["pgbench"]:
        rows.append(
            (
                "pgbench TPC-B",
                str(r["clients"]),
                str(r["transactions"]),
                "0",
                f"{r['tps']:.1f}",
                f"{r['p50_ms']:.2f}",
                f"{r['p99_ms']:.2f}",
                f"{r['tps']:.1f}",
                "100%",
            )  # fmt: skip
        )
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(values):
        return "  ".join(
            v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(values, widths, strict=True))
        )

    lines = [line(headers), "  ".join("-" * w for w in widths), *(line(row) for row in rows)]
    for why, part in ((result["http_skipped"], "HTTP"), (result["pgbench_skipped"], "pgbench")):
        if why:
            lines.append(f"({part} skipped: {why})")
    return "\n".join(lines)


def cases_of(result):
    """The runs as `onecard bench` cases (latency columns; `pass` carries the issue's targets)."""
    verdicts = {t["name"]: t["pass"] for t in result["targets"]}
    cases = []
    for r in result["service"] + result["http"] + ([result["sqlite"]] if result["sqlite"] else []):
        related = {
            ("service", 4): ["service layer, 4 workers / pgbench", "service layer p99 at 4 clients (ms)"],
            ("http", 4): ["HTTP API p99 at 4 clients (ms)"],
            ("http", 16): ["HTTP API, 16 clients / pgbench"],
            ("sqlite", 1): ["SQLite, one process (charges/s)"],
        }.get((r["mode"], r["clients"]), [])
        cases.append(
            {
                "case": f"{r['mode']} ×{r['clients']}: {r['tps']:.0f} TPS",
                "samples": r["charges"],
                "median_ms": r["p50_ms"],
                "p95_ms": r["p95_ms"],
                "p99_ms": r["p99_ms"],
                "max_ms": r["p99_ms"],
                "target_ms": P99_TARGET_MS if r["clients"] == 4 and r["mode"] != "sqlite" else None,
                "pass": all(verdicts.get(name, True) for name in related),
                "note": ", ".join(related),
            }
        )
    return cases
