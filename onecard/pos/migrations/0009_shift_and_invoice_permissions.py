"""Data migration: the built-in roles gain shifts.view and invoices.view (HQ admin, region and store managers).

Refreshes every built-in role from org.permissions.BUILTIN_ROLES, as org's 0002 does on a fresh database.
"""

from django.db import migrations

from onecard.org.permissions import refresh_builtin_roles


class Migration(migrations.Migration):
    dependencies = [("pos", "0008_shifts_and_cash_movements"), ("org", "0003_card_permissions")]
    operations = [migrations.RunPython(refresh_builtin_roles, migrations.RunPython.noop)]
