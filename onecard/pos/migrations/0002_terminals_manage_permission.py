"""Data migration: the built-in roles gain terminals.manage (HQ admin, region manager, store manager).

Refreshes every built-in role from org.permissions.BUILTIN_ROLES, as org's 0002 does on a fresh database.
"""

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
    dependencies = [("pos", "0001_terminals_and_nonces"), ("org", "0002_builtin_roles")]
    operations = [migrations.RunPython(refresh_builtin_roles, migrations.RunPython.noop)]
