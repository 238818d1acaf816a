"""Every `sh` and `python` block of docs/pos-api.md, copied out of the file and run as printed against a live
server with a terminal registered by the guide's own `onecard terminal add` line."""

import io
import json
import os
import re
import shlex
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command

from onecard.loyalty.cards.products import issue_batch
from onecard.loyalty.stored_value import services as stored_value
from onecard.loyalty.tiers import services as tiers
from onecard.org import services as org
from onecard.org.choices import NodeKind
from onecard.testing.cards import active_card, make_product
from onecard.testing.stored_value import assert_ledger_clean, balances

DOC = Path(__file__).resolve().parents[3] / "docs" / "pos-api.md"
# The first line of each shell block that talks to a server, and the check of its output.
LIVE_SHELL = ("# check the set-up with curl", "# a signed charge with curl")
OFFLINE_SHELL = ("# openssl recipe",)


def _blocks(language):
    return [
        m.group(1) for m in re.finditer(rf"```{language}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    ]


def _command_block():
    [block] = [b for b in _blocks("sh") if b.startswith("onecard ")]
    return block


def _documented_post_signature():
    return re.search(r"signature \(POST\):\s*`([0-9a-f]{64})`", DOC.read_text(encoding="utf-8")).group(1)


def test_every_runnable_block_of_the_guide_has_a_check_here():
    # given the blocks this module runs
    known = (*LIVE_SHELL, *OFFLINE_SHELL)
    # then every shell block is the command block or one of them, and there are Python blocks to run
    for block in _blocks("sh"):
        assert block.startswith("onecard ") or block.startswith(known), f"no check for:\n{block}"
    assert len(_blocks("python")) == 2


def test_the_openssl_recipe_prints_the_documented_signature():
    [recipe] = [b for b in _blocks("sh") if b.startswith(OFFLINE_SHELL)]
    out = subprocess.run(["bash", "-c", recipe], capture_output=True, text=True, check=True, env={})
    assert out.stdout.split() == [_documented_post_signature()]


@pytest.fixture
def guide_card(chain, member_factory):
    """The guide's world: store SH01, card 8800000013 of 张三, tier 银卡 (5% off), ¥100 on it."""
    store = org.create_node(None, parent=chain.east, kind=NodeKind.STORE, name="徐汇二店", code="SH01")
    batch = issue_batch(None, make_product(chain), store=store, prefix="88", start=1, count=1, serial_width=7)
    card = active_card(batch.cards.get(), member_factory(name="张三"))
    assert card.number == "8800000013"
    tier = tiers.create_tier(None, chain.merchant, name="银卡", rank=1, discount_rate=Decimal("0.95"))
    tiers.set_member_tier(None, card.member, tier, reason="guide")
    stored_value.topup(None, card, 10_000, store=store)
    return card


def _run_commands(block):
    """The guide's `onecard ...` lines, through Django's command runner (the test database, not a shell's)."""
    outputs = []
    for line in block.strip().splitlines():
        out = io.StringIO()
        call_command(*shlex.split(line)[1:], stdout=out)
        outputs.append(out.getvalue())
    return outputs


def _bash(block, env):
    done = subprocess.run(["bash", "-c", block], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.django_db(transaction=True)
def test_the_guides_examples_run_as_printed_against_a_live_server(live_server, guide_card):
    # given the terminal the guide's command line registers
    added, listed = _run_commands(_command_block())
    terminal_id = re.search(r"terminal id: (\S+)", added).group(1)
    secret = re.search(r"secret:\s+(\S+)", added).group(1)
    assert terminal_id == "T-SH01-0001" and terminal_id in listed and secret not in listed
    env = {"PATH": os.environ["PATH"], "BASE": live_server.url, "TERMINAL_ID": terminal_id, "SECRET": secret}
    shell = {start: b for b in _blocks("sh") for start in LIVE_SHELL if b.startswith(start)}

    # when the ping is sent with curl
    ping = json.loads(_bash(shell[LIVE_SHELL[0]], env))
    # then
    assert ping["terminal"]["terminal_id"] == "T-SH01-0001" and ping["store"]["code"] == "SH01"

    # when the charge is sent with curl: the answer of the guide's worked example
    head, _blank, body = _bash(shell[LIVE_SHELL[1]], env).replace("\r\n", "\n").partition("\n\n")
    # then
    assert head.startswith("HTTP/1.1 200") and "Idempotent-Replayed: false" in head, head
    tx = json.loads(body)
    assert (tx["transaction"]["list_amount"], tx["transaction"]["discount"]) == (1_999, 100)
    assert tx["transaction"]["amount"] == 1_899
    assert tx["balances"] == {"principal": 8_101, "bonus": 0, "held": 0, "points": 0}

    # when the Python blocks run, in order, as one script
    script = "\n".join(_blocks("python"))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    # then: the ping, the lookup by a Chinese name, one more charge
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["200 T-SH01-0001", "200 False", "200 false 1899"]
    assert balances(guide_card) == (10_000 - 2 * 1_899, 0, 0)
    assert_ledger_clean()
