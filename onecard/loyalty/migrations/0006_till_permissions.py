"""Data migration: refresh the built-in roles with the cashier-screen permissions (till.*)."""

from django.db import migrations


def refresh_builtin_roles(apps, schema_editor):
    from onecard.org.permissions import BUILTIN_ROLES

    Role = apps.get_model("org", "Role")
    for code, (name, perms) in BUILTIN_ROLES.items():
        Role.objects.update_or_create(
            code=code,
            merchant=None,
            is_builtin=True,
            defaults={"name": str(name), "permissions": list(perms)},
        )


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0005_points_cap_label"), ("org", "0003_card_permissions")]
    operations = [migrations.RunPython(refresh_builtin_roles, migrations.RunPython.noop)]
