"""Data migration: the invoice facts of every package sold (and paid back) before packages had them.

The work is sales.invoicing's (shared with `onecard seed-demo`), given this migration's models, in
batches; running it again finds nothing to do.
"""

from django.db import migrations

from onecard.sales.invoicing import record_missing_package_facts


def forwards(apps, schema_editor):
    record_missing_package_facts(apps)


class Migration(migrations.Migration):
    dependencies = [("sales", "0007_invoice_facts_of_packages")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
