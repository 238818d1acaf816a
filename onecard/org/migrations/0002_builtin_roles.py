"""Data migration: the built-in roles exist from the start, so a fresh database can assign them."""

from django.db import migrations

from onecard.org.permissions import refresh_builtin_roles


class Migration(migrations.Migration):
    dependencies = [("org", "0001_org_tree_staff_and_roles")]
    operations = [migrations.RunPython(refresh_builtin_roles, migrations.RunPython.noop)]
