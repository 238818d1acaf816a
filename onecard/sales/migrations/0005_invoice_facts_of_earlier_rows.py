"""Data migration: the invoice facts of every earlier sale, return, top-up and top-up payout.

The work is sales.invoicing's (shared with `onecard seed-demo`), given this migration's models, in
batches of 500; running it again finds nothing to do.
"""

from django.db import migrations

from onecard.sales.invoicing import record_missing_facts


def forwards(apps, schema_editor):
    record_missing_facts(apps)


class Migration(migrations.Migration):
    dependencies = [("sales", "0004_invoice_facts")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
