"""`onecard terminal add|list|rotate|deactivate`: terminal set-up from the shell (docs/pos-api.md).

`add` and `rotate` print the secret this once (`--json` for scripts); nothing else ever prints it.
Every change goes through onecard.pos.services (audited, scope-checked when `--as` names a staff member).
"""

import json

from django.core.management.base import BaseCommand, CommandError

from onecard.core.errors import BusinessError
from onecard.org.choices import NodeKind
from onecard.org.models import OrgNode, Staff
from onecard.pos import services
from onecard.pos.choices import TerminalKind
from onecard.pos.models import Terminal


def _store(text, merchant_code):
    """The store named by its code (or database id); a code two merchants use needs --merchant."""
    stores = OrgNode.objects.filter(kind=NodeKind.STORE).select_related("merchant")
    if merchant_code:
        stores = stores.filter(merchant__code=merchant_code)
    found = list(stores.filter(code=text))
    if not found and text.isascii() and text.isdigit():
        found = list(stores.filter(pk=int(text)))
    if not found:
        raise CommandError(f"No store has the code or id {text!r}.")
    if len(found) > 1:
        merchants = ", ".join(sorted(s.merchant.code for s in found))
        raise CommandError(f"Store code {text!r} is used by several merchants ({merchants}): add --merchant.")
    return found[0]


def _terminal(terminal_id):
    terminal = Terminal.objects.select_related("store").filter(terminal_id=terminal_id).first()
    if terminal is None:
        raise CommandError(f"No terminal has the id {terminal_id!r}.")
    return terminal


def _actor(username):
    if not username:
        return None  # the operator at the shell: audited without a staff member
    actor = Staff.objects.filter(username=username, is_active=True).first()
    if actor is None:
        raise CommandError(f"No active staff member is called {username!r}.")
    return actor


def _row(terminal):
    return {
        "terminal_id": terminal.terminal_id,
        "name": terminal.name,
        "kind": terminal.kind,
        "store": terminal.store.code,
        "store_id": terminal.store_id,
        "is_active": terminal.is_active,
        "last_seen_at": terminal.last_seen_at.isoformat() if terminal.last_seen_at else None,
    }


class Command(BaseCommand):
    help = "Terminals of the POS API: add one (prints its secret once), list, rotate the secret, deactivate."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        add = actions.add_parser("add", help="register a terminal at a store; prints its id and secret once")
        add.add_argument("--store", required=True, help="the store's code (or database id)")
        add.add_argument("--merchant", help="the merchant's code, when two merchants use the store code")
        add.add_argument("--name", required=True, help="e.g. 'Till 1'")
        add.add_argument("--kind", default=TerminalKind.POS, choices=TerminalKind.values)
        listing = actions.add_parser("list", help="the terminals (no secrets)")
        listing.add_argument("--store", help="only this store's (code or database id)")
        listing.add_argument("--merchant", help="the merchant's code")
        for name, text in (("rotate", "issue a new secret; prints it once"), ("deactivate", "for good")):
            actions.add_parser(name, help=text).add_argument("terminal_id", help="e.g. T-SH01-0001")
        for sub in actions.choices.values():
            sub.add_argument("--json", action="store_true", help="answer JSON (for scripts)")
            sub.add_argument("--as", dest="actor", metavar="USERNAME", help="act as this staff member")

    def handle(self, *args, action, **options):
        self.as_json = options["json"]
        actor = _actor(options["actor"])
        try:
            if action == "add":
                store = _store(options["store"], options["merchant"])
                kind, name = options["kind"], options["name"]
                self._issued(services.register_terminal(actor, store=store, name=name, kind=kind))
            elif action == "list":
                self._list(options)
            elif action == "rotate":
                self._issued(services.rotate_secret(actor, _terminal(options["terminal_id"])))
            else:
                terminal = services.deactivate_terminal(actor, _terminal(options["terminal_id"]))
                self._say(_row(terminal), f"Terminal {terminal.terminal_id} is deactivated.")
        except BusinessError as error:
            details = getattr(error, "errors", None) or ""
            raise CommandError(f"{error.message} {details}".strip()) from error

    def _issued(self, issued):
        terminal = issued.terminal
        text = (
            f"Terminal {terminal.terminal_id} ({terminal.name}) at {terminal.store.name} ({terminal.store.code}).\n"
            f"terminal id: {terminal.terminal_id}\n"
            f"secret:      {issued.secret}\n"
            "The secret is shown this once: enter it in the terminal's settings now."
        )
        self._say({**_row(terminal), "secret": issued.secret}, text)

    def _list(self, options):
        terminals = Terminal.objects.select_related("store").order_by("store__path", "terminal_id")
        if options["store"]:
            terminals = terminals.filter(store=_store(options["store"], options["merchant"]))
        rows = [_row(t) for t in terminals]
        if self.as_json:
            self.stdout.write(json.dumps({"results": rows}, ensure_ascii=False))
            return
        for row in rows:
            state = "active" if row["is_active"] else "deactivated"
            self.stdout.write(f"{row['terminal_id']}\t{row['store']}\t{state}\t{row['name']}")

    def _say(self, body, text):
        self.stdout.write(json.dumps(body, ensure_ascii=False) if self.as_json else text)
