"""The promotions app's first migration: the built-in roles get catalog.*, promotions.* and coupons.issue."""

from django.db import migrations

from onecard.org.permissions import refresh_builtin_roles


class Migration(migrations.Migration):
    initial = True
    dependencies = [("org", "0003_card_permissions"), ("loyalty", "0011_prepaid_rules")]
    operations = [migrations.RunPython(refresh_builtin_roles, migrations.RunPython.noop)]
