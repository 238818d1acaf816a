"""Data migration: refresh the built-in roles with the card permissions (cards.*, products.manage)."""

from django.db import migrations

from onecard.org.permissions import refresh_builtin_roles


class Migration(migrations.Migration):
    dependencies = [("org", "0002_builtin_roles")]
    operations = [migrations.RunPython(refresh_builtin_roles, migrations.RunPython.noop)]
