"""Seal the audit records written before the hash chain into it, oldest first (core.audit_chain).

They had no protection before; from here on a change to any of them is found by `onecard audit verify`.
The chain's rule is frozen (core.hashchain), so the current sealer is safe to call with this
migration's historical models.
"""

from django.db import migrations

from onecard.core.audit_chain import seal_audit_log


def seal_existing(apps, schema_editor):
    seal_audit_log(
        entry_model=apps.get_model("core", "AuditEntry"), head_model=apps.get_model("core", "AuditChainHead")
    )


class Migration(migrations.Migration):
    dependencies = [("core", "0006_audit_log_hash_chain")]

    operations = [migrations.RunPython(seal_existing, migrations.RunPython.noop)]
