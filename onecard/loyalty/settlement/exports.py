"""Settlement statements as .xlsx: the filtered list, or one statement with every journal entry it covers.

Amounts appear in yuan (fen ÷ 100 as a Decimal: no rounding) and, where a reconciliation needs
the exact ledger figure, in integer fen too.
"""

from django.utils import timezone
from django.utils.translation import gettext as _

from onecard.core.spreadsheets import XlsxWriter, yuan_cell
from onecard.loyalty.settlement.services import statement_lines


def payer_and_payee(statement):
    """(who pays, who is paid) for the net; (None, None) when the net is zero."""
    if statement.net > 0:
        return statement.party_a_name, statement.party_b_name
    if statement.net < 0:
        return statement.party_b_name, statement.party_a_name
    return None, None


def _statement_row(s):
    payer, payee = payer_and_payee(s)
    return [
        s.pk,
        str(s.get_pair_kind_display()),
        str(s.get_period_kind_display()),
        s.period_label,
        s.part,
        s.party_a_name,
        s.party_b_name,
        yuan_cell(s.gross_a_owes_b),
        yuan_cell(s.gross_b_owes_a),
        yuan_cell(s.net),
        s.net,
        payer or "",
        payee or "",
        s.entry_count,
        str(s.get_status_display()),
        timezone.localtime(s.settled_at).strftime("%Y-%m-%d %H:%M") if s.settled_at else "",
        s.imbalance,
    ]


def _statement_header():
    return [
        _("No."),
        _("Pair"),
        _("Period"),
        _("Period start"),
        _("Part"),
        _("Party A"),
        _("Party B"),
        _("A owes B (¥)"),
        _("B owes A (¥)"),
        _("Net, A pays B (¥)"),
        _("Net (fen)"),
        _("Payer"),
        _("Payee"),
        _("Entries"),
        _("Status"),
        _("Settled at"),
        _("Imbalance (fen)"),
    ]


def statements_xlsx(statements) -> tuple[bytes, int]:
    """The statements of a queryset as .xlsx bytes, and how many rows it holds."""
    workbook = XlsxWriter()
    rows = statements.select_related("node_a", "node_b", "merchant_a", "merchant_b").iterator(chunk_size=2000)
    count = workbook.sheet(_("Settlement statements"), _statement_header()).extend(map(_statement_row, rows))
    return workbook.to_bytes(), count


def statement_xlsx(statement) -> tuple[bytes, int]:
    """One statement: a summary sheet and a sheet with every journal entry it covers; and the line count."""
    workbook = XlsxWriter()
    summary = workbook.sheet(_("Statement"))
    summary.extend(zip(_statement_header(), _statement_row(statement), strict=True))
    lines = workbook.sheet(
        _("Entries"),
        [
            _("Time"),
            _("Entry no."),
            _("Kind"),
            _("Store"),
            _("Card no."),
            _("Amount (¥)"),
            _("Amount (fen)"),
            _("Owed by"),
            _("Owed to"),
        ],
    )
    rows = statement_lines(statement)
    lines.extend(
        [
            [
                timezone.localtime(row.created_at).strftime("%Y-%m-%d %H:%M:%S"),
                row.entry_id,
                row.kind,
                row.store,
                row.card_number,
                yuan_cell(row.amount),
                row.amount,
                row.debtor,
                row.creditor,
            ]
            for row in rows
        ]
    )
    return workbook.to_bytes(), len(rows)
