"""Data migration: refresh the built-in roles with the cashier-screen permissions (till.*)."""

from django.db import migrations

from onecard.org.permissions import refresh_builtin_roles


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0005_points_cap_label"), ("org", "0003_card_permissions")]
    operations = [migrations.RunPython(refresh_builtin_roles, migrations.RunPython.noop)]
