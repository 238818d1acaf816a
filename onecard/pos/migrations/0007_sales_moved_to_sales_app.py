"""The sale now belongs to the sales app (sales 0001): pos forgets its models, the tables stay.

State only: the rows and tables are untouched. The content types follow the models, so the
permissions attached to them (add_sale, ...) keep their ids; audit rows keep the label they were
written with (pos.sale), as the trail is never rewritten.
"""

from django.db import migrations

MODELS = ("sale", "saleline", "saletender", "salereturn", "salereturnline")


def content_types_to_sales(apps, schema_editor):
    """Give pos's sale content types to the sales app (unless the sales app already has its own)."""
    content_type = apps.get_model("contenttypes", "ContentType")
    taken = set(
        content_type.objects.filter(app_label="sales", model__in=MODELS).values_list("model", flat=True)
    )
    content_type.objects.filter(app_label="pos", model__in=set(MODELS) - taken).update(app_label="sales")


def content_types_to_pos(apps, schema_editor):
    """The reverse: pos owns the sale content types again."""
    content_type = apps.get_model("contenttypes", "ContentType")
    taken = set(
        content_type.objects.filter(app_label="pos", model__in=MODELS).values_list("model", flat=True)
    )
    content_type.objects.filter(app_label="sales", model__in=set(MODELS) - taken).update(app_label="pos")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("pos", "0006_cash_received_for_change"),
        ("sales", "0001_sales_from_pos"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(name="SaleReturnLine"),
                migrations.DeleteModel(name="SaleReturn"),
                migrations.DeleteModel(name="SaleTender"),
                migrations.DeleteModel(name="SaleLine"),
                migrations.DeleteModel(name="Sale"),
            ],
        ),
        migrations.RunPython(content_types_to_sales, content_types_to_pos),
    ]
