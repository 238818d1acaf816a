"""Data migration: the built-in roles gain terminals.manage (HQ admin, region manager, store manager).

Refreshes every built-in role from org.permissions.BUILTIN_ROLES, as org's 0002 does on a fresh database.
"""

from django.db import migrations

from onecard.org.permissions import refresh_builtin_roles


class Migration(migrations.Migration):
    dependencies = [("pos", "0001_terminals_and_nonces"), ("org", "0002_builtin_roles")]
    operations = [migrations.RunPython(refresh_builtin_roles, migrations.RunPython.noop)]
