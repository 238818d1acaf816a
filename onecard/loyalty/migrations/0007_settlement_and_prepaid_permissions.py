"""Data migration: refresh the built-in roles with settlement.* and prepaid.manage."""

from django.db import migrations

from onecard.org.permissions import refresh_builtin_roles


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0006_till_permissions")]
    operations = [migrations.RunPython(refresh_builtin_roles, migrations.RunPython.noop)]
