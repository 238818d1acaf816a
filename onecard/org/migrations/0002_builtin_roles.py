"""Data migration: the built-in roles exist from the start, so a fresh database can assign them."""

from django.db import migrations


def create_builtin_roles(apps, schema_editor):
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
    dependencies = [("org", "0001_org_tree_staff_and_roles")]
    operations = [migrations.RunPython(create_builtin_roles, migrations.RunPython.noop)]
