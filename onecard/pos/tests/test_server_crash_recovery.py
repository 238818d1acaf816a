"""Crash test (issue 3): kill -9 the real server in the middle of signed POS load, restart it, check the books.

The server is gunicorn serving onecard.wsgi, as `onecard serve` starts it, in its own process group and
pointed at the pytest-django PostgreSQL test database; the data it reads is committed
(`django_db(transaction=True)`). Client threads send top-ups and charges, each with its own
Idempotency-Key, over real HTTP; a few tills hang up before the answer, so some operations commit
unanswered. Mid-load the whole process group gets SIGKILL (two rounds of load and kill). After a restart:
`onecard ledger verify` exits 0, every answered operation is in the journal exactly once (or not at
all when it was answered with a refusal), every unanswered one is either wholly there or wholly
absent, the card's balance is the journal's sum, and retrying every unanswered request with its key
leaves exactly one effect per key.
"""

import contextlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Sum

from onecard.core.models import IdempotencyKey
from onecard.loyalty.ledger.choices import AccountKind
from onecard.loyalty.models import JournalEntry, Posting
from onecard.loyalty.models.stored_value import CardTransaction, CardTxKind
from onecard.loyalty.stored_value import services as stored_value
from onecard.pos.signing import sign_request
from onecard.testing.stored_value import assert_ledger_clean, balances, sv_card

BASE = "/api/v1/pos"
INITIAL = 250_000  # ¥2,500: far from both zero and the ¥5,000 cap of a registered card
CLIENTS = 8
WORKERS, THREADS = 2, 4
ROUNDS = 2  # load, kill -9, restart: twice
ACKS_BEFORE_KILL = 40  # answered operations per round before the kill; it comes at a random moment after
IMPATIENT_SHARE = 0.1
IMPATIENT_TIMEOUT = 0.005
LOAD_SECONDS_MAX = 15
START_TIMEOUT = 30
REQUEST_TIMEOUT = 10


@dataclass
class Op:
    """One intended money operation: its key and body, and what the client saw (None: no answer)."""

    kind: str  # "topup" or "charge"
    amount: int
    key: str = field(default_factory=lambda: f"crash-{uuid.uuid4().hex}")
    status: int | None = None
    body: object = None
    error: str = ""

    @property
    def path(self):
        return f"{BASE}/topups" if self.kind == "topup" else f"{BASE}/charges"

    def payload(self, card_no):
        if self.kind == "topup":
            return {"card_no": card_no, "amount": self.amount, "tender": "cash"}
        return {"card_no": card_no, "amount": self.amount}


class Terminal:
    """What a client thread needs to sign (plain values: no ORM access from the threads)."""

    def __init__(self, issued):
        self.terminal_id = issued.terminal.terminal_id
        self.secret = issued.secret


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url() -> str:
    db = connection.settings_dict
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


def _request(port, terminal, method, path, body=b"", headers=None, timeout=REQUEST_TIMEOUT):
    """(status, decoded JSON body, headers) of one signed request; raises on any transport failure."""
    signed = sign_request(terminal.secret, method, path, body, terminal_id=terminal.terminal_id)
    all_headers = {"Accept-Language": "en", **signed, **(headers or {})}
    if body:
        all_headers["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=all_headers)
        response = conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None, dict(response.getheaders())
    finally:
        conn.close()


def _send_op(port, terminal, card_no, op, timeout=REQUEST_TIMEOUT):
    body = json.dumps(op.payload(card_no)).encode()
    return _request(port, terminal, "POST", op.path, body, {"Idempotency-Key": op.key}, timeout=timeout)


class Server:
    """gunicorn serving OneCard against the test database, in a process group of its own."""

    def __init__(self, log_dir: Path, database_url: str):
        self.log_dir = log_dir
        self.env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"REDIS_URL", "ONECARD_CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
        }
        self.env.update(
            DJANGO_SETTINGS_MODULE="onecard.settings",
            DATABASE_URL=database_url,
            ONECARD_SECRET_KEY=settings.SECRET_KEY,
            ONECARD_DEBUG="0",
            PYTHONUNBUFFERED="1",
        )
        self.process = None
        self.port = None
        self.starts = 0

    def start(self, terminal):
        gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable)) or shutil.which("gunicorn")
        assert gunicorn, "gunicorn is not installed in the virtualenv"
        self.starts += 1
        self.port = _free_port()
        self.log = self.log_dir / f"gunicorn-{self.starts}.log"
        argv = [
            gunicorn, "onecard.wsgi", "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(WORKERS), "--threads", str(THREADS), "--timeout", "60",
        ]  # fmt: skip
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                argv,
                cwd=settings.BASE_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: kill -9 reaches master and workers
            )
        self._wait_until_answering(terminal)

    def _wait_until_answering(self, terminal):
        deadline = time.monotonic() + START_TIMEOUT
        last = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(
                    f"gunicorn exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}"
                )
            try:
                status, body, _headers = _request(self.port, terminal, "GET", f"{BASE}/ping", timeout=5)
                if status == 200:
                    return
                last = (status, body)
            except OSError as error:
                last = error
            time.sleep(0.2)
        self.kill()
        pytest.fail(
            f"the server did not answer within {START_TIMEOUT} s ({last!r}):\n{self.log.read_text()[-3000:]}"
        )

    def kill(self):
        """SIGKILL to the whole process group, then wait until every member of it is gone."""
        if self.process is None:
            return
        pgid = self.process.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        self.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        self.process = None


def _load(port, terminal, card_no, stop, done_ops, lock, seed):
    """One client: top-ups and charges back to back until `stop`; every op is recorded, answered or not.

    One op in IMPATIENT_SHARE is sent by an impatient till that hangs up after IMPATIENT_TIMEOUT: the
    server usually commits it anyway, so the test always has committed operations nobody saw answered.
    """
    rng = random.Random(seed)
    while not stop.is_set():
        op = Op(kind=rng.choice(["topup", "charge"]), amount=rng.randint(100, 2_000))
        timeout = IMPATIENT_TIMEOUT if rng.random() < IMPATIENT_SHARE else REQUEST_TIMEOUT
        try:
            op.status, op.body, _headers = _send_op(port, terminal, card_no, op, timeout=timeout)
        except (OSError, http.client.HTTPException, json.JSONDecodeError) as error:
            op.error = f"{type(error).__name__}: {error}"
        with lock:
            done_ops.append(op)
        if op.status is None and timeout == REQUEST_TIMEOUT:
            return  # the server is gone: this client's last op is unanswered, stop sending


def _wait_for_sessions_to_end(timeout=15):
    """Until PostgreSQL has dropped every session of the killed server (no late commit can follow)."""
    deadline = time.monotonic() + timeout
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            others = cursor.fetchone()[0]
        if not others:
            return
        assert time.monotonic() < deadline, f"{others} sessions of the killed server still open"
        time.sleep(0.05)


def _effect(op) -> int:
    return op.amount if op.kind == "topup" else -op.amount


def _wait_for_answers_before_the_kill(ops, before, lock):
    """Until ACKS_BEFORE_KILL operations of this round are answered, or LOAD_SECONDS_MAX have passed."""
    deadline = time.monotonic() + LOAD_SECONDS_MAX
    while time.monotonic() < deadline:
        with lock:
            answered = sum(op.status is not None for op in ops[before:])
        if answered >= ACKS_BEFORE_KILL:
            break
        time.sleep(0.02)


def _load_then_kill_the_server(server, signer, card_no, stop, ops, lock, round_no):
    """One round: start the server, load it from CLIENTS threads, kill -9 it mid-load, join the clients."""
    server.start(signer)
    before = len(ops)
    threads = [
        threading.Thread(
            target=_load,
            args=(server.port, signer, card_no, stop, ops, lock, round_no * 100 + n),
            daemon=True,
        )
        for n in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    _wait_for_answers_before_the_kill(ops, before, lock)
    time.sleep(random.uniform(0, 0.3))
    server.kill()
    stop.set()
    _wait_for_sessions_to_end()
    for thread in threads:
        thread.join(timeout=REQUEST_TIMEOUT + 5)
    assert not any(thread.is_alive() for thread in threads), "a client hung after the kill"
    with lock:
        answered = sum(op.status is not None for op in ops[before:])
    assert answered >= ACKS_BEFORE_KILL, f"only {answered} answers before the kill"


def _assert_ledger_verify_exits_0(server):
    """`onecard ledger verify`, run as a command against the server's database, finds the books clean."""
    verify = subprocess.run(
        [str(Path(sys.executable).parent / "onecard"), "ledger", "verify"],
        env=server.env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


def _journal(card, scope_prefix, op):
    """What the database holds for one op: its card transactions, journal entry count and stored status."""
    key = scope_prefix + op.key
    txs = list(CardTransaction.objects.filter(card=card, idempotency_key=key))
    entries = JournalEntry.objects.filter(idempotency_key=key).count()
    stored = IdempotencyKey.objects.filter(key=op.key).values_list("status", flat=True).first()
    return txs, entries, stored


def _assert_answered_ops_journalled_as_answered(card, scope_prefix, answered):
    """Each 200 is journalled once under the id it was answered with; each 422 left only its stored answer."""
    for op in answered:
        txs, entries, stored = _journal(card, scope_prefix, op)
        if op.status == 200:
            assert [str(tx.pk) for tx in txs] == [op.body["transaction"]["id"]], (op, txs)
            assert txs[0].kind == op.kind and txs[0].amount == op.amount, (op, txs[0])
            assert entries == 1 and stored == 200, (op, entries, stored)
        else:
            assert txs == [] and entries == 0 and stored == 422, (op, txs, entries, stored)


def _committed_unanswered_ops(card, scope_prefix, unanswered):
    """The unanswered ops that committed, checking each one is wholly there or wholly absent."""
    committed = []
    for op in unanswered:
        txs, entries, stored = _journal(card, scope_prefix, op)
        state = (len(txs), entries, stored)
        assert state in {(1, 1, 200), (0, 0, None), (0, 0, 422)}, (op, state)
        if txs:
            committed.append(op)
    return committed


def _assert_the_card_holds_start_answered_and_committed(card, answered, committed_unanswered):
    """The card's balance and principal postings: the start + answered successes + committed unanswered."""
    expected = (
        INITIAL
        + sum(_effect(op) for op in answered if op.status == 200)
        + sum(_effect(op) for op in committed_unanswered)
    )
    card_postings = Posting.objects.filter(
        account__card_id=card.pk, account__kind=AccountKind.MEMBER_PRINCIPAL
    ).aggregate(total=Sum("amount"))["total"]
    assert balances(card) == (expected, 0, 0)
    assert card_postings == expected


def _retry_unanswered_ops(port, signer, card, scope_prefix, unanswered, committed_unanswered):
    """Resend each unanswered op with its key: a committed one is replayed, a lost one takes effect now."""
    for op in unanswered:
        status, body, headers = _send_op(port, signer, card.number, op)
        assert status in (200, 422), (op, status, body)
        if op in committed_unanswered:
            assert status == 200 and headers.get("Idempotent-Replayed") == "true", (op, status, headers)
        op.status, op.body = status, body
        txs, entries, stored = _journal(card, scope_prefix, op)
        if status == 200:
            assert [str(tx.pk) for tx in txs] == [body["transaction"]["id"]] and entries == 1, (op, txs)
        else:
            assert txs == [] and entries == 0, (op, txs)


def _assert_one_effect_per_key(card, scope_prefix, ops):
    """One transaction per succeeded key, and the balance is the start plus every success."""
    keys = [scope_prefix + op.key for op in ops]
    per_key = CardTransaction.objects.filter(idempotency_key__in=keys).values_list(
        "idempotency_key", flat=True
    )
    assert len(per_key) == len(set(per_key)) == sum(op.status == 200 for op in ops)
    final = INITIAL + sum(_effect(op) for op in ops if op.status == 200)
    assert balances(card) == (final, 0, 0)
    assert CardTransaction.objects.filter(card=card, kind=CardTxKind.CHARGE).count() == sum(
        op.status == 200 and op.kind == "charge" for op in ops
    )


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_kill_minus_nine_during_load_loses_no_acknowledged_operation_and_keeps_the_books(
    chain, member_factory, terminal, tmp_path
):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: the server runs in another process")
    started = time.monotonic()
    # given a card with ¥2,500 committed, a terminal of its store, and the server running on the test db
    card = sv_card(chain, member_factory())
    stored_value.topup(None, card, INITIAL, store=chain.a1)
    card_no = card.number
    signer = Terminal(terminal)
    scope_prefix = f"terminal:{terminal.terminal.pk}:"
    server = Server(tmp_path, _database_url())
    ops, lock, stop = [], threading.Lock(), threading.Event()
    try:
        # when clients send top-ups and charges and the server is killed -9 in the middle of it (twice)
        for round_no in range(ROUNDS):
            stop = threading.Event()
            _load_then_kill_the_server(server, signer, card_no, stop, ops, lock, round_no)

        answered = [op for op in ops if op.status is not None]
        unanswered = [op for op in ops if op.status is None]
        unexpected = [(op.kind, op.status, op.body) for op in answered if op.status not in (200, 422)]
        assert not unexpected, unexpected

        # then, with the server restarted: the books verify (in process and through the command)
        server.start(signer)
        port = server.port
        connection.close()  # read what the killed server's connections committed, nothing cached
        assert_ledger_clean()
        _assert_ledger_verify_exits_0(server)

        # every operation answered 200 is in the journal exactly once, under the id it was answered with;
        # every refusal (422) left nothing but its stored answer
        _assert_answered_ops_journalled_as_answered(card, scope_prefix, answered)

        # every unanswered operation is wholly there (transaction, entry, stored answer) or wholly absent
        committed_unanswered = _committed_unanswered_ops(card, scope_prefix, unanswered)
        assert committed_unanswered, "no unanswered operation committed: the impatient tills should make some"

        # the card holds exactly the start + what was answered + what committed without an answer
        _assert_the_card_holds_start_answered_and_committed(card, answered, committed_unanswered)

        # when every unanswered request is retried with its key against the restarted server
        # then a committed one is replayed with its first answer; a lost one takes effect now
        _retry_unanswered_ops(port, signer, card, scope_prefix, unanswered, committed_unanswered)

        # and the journal holds exactly one effect per key: the balance is the start plus every success
        _assert_one_effect_per_key(card, scope_prefix, ops)
        assert_ledger_clean()
    finally:
        stop.set()
        server.kill()
    print(
        f"crash test: {len(ops)} ops, {len(unanswered)} unanswered at the kill "
        f"({len(committed_unanswered)} committed), {time.monotonic() - started:.1f} s"
    )
