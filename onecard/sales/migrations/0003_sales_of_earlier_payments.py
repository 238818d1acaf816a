"""The sales of the payments made before every payment recorded one: plain charges, captures, package uses.

For each charge or capture card transaction that no sale tender points at (a checkout's stored-value
tender does), one sale of its kind: one unitemised line and one stored-value tender, made at the
transaction's time; its refunds become returns of that sale. For each package use that no sale line
points at, one sale with a line for the service, paid by the package at the value the use recognised.
The rows are what sales.services records today. Running it again finds nothing left to do.
The work is sales.backfill's (shared with `onecard seed-demo`), given this migration's models.
"""

from django.db import migrations

from onecard.sales.backfill import record_earlier_payments


def forward(apps, schema_editor):
    """Both kinds of earlier payment, with the models as of this migration."""
    record_earlier_payments(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0012_points_give_back_and_earn_basis"),
        ("sales", "0002_sale_of_every_payment"),
    ]

    # Backwards: the sales stay (they describe payments that happened); nothing to undo in the ledger.
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
