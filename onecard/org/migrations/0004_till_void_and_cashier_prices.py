"""Data migration: refresh the built-in roles: till.void_late for store managers, catalog.view for cashiers."""

from django.db import migrations

from onecard.org.permissions import refresh_builtin_roles


class Migration(migrations.Migration):
    dependencies = [("org", "0003_card_permissions")]
    operations = [migrations.RunPython(refresh_builtin_roles, migrations.RunPython.noop)]
