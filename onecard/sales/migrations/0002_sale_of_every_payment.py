"""Every way of paying records a sale: its kind, a line without a product (a plain charge) or for a package
use, a package tender, and a reference unique among checkouts only (a terminal's charges share theirs).

One sale per card transaction (the charge, pay or capture of its stored-value tender) is a constraint.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0001_catalogue"),
        ("loyalty", "0012_points_give_back_and_earn_basis"),
        ("members", "0003_member_search_covering_indexes"),
        ("org", "0003_card_permissions"),
        ("sales", "0001_sales_from_pos"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="sale",
            name="pos_sale_ref_unique",
        ),
        migrations.AddField(
            model_name="sale",
            name="kind",
            field=models.CharField(
                choices=[
                    ("checkout", "Checkout"),
                    ("charge", "Charge"),
                    ("capture", "Hold capture"),
                    ("package_use", "Package use"),
                ],
                default="checkout",
                max_length=20,
                verbose_name="kind",
            ),
        ),
        migrations.AddField(
            model_name="saleline",
            name="package_use",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="loyalty.packageuse",
            ),
        ),
        migrations.AlterField(
            model_name="saleline",
            name="product",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="catalog.product",
            ),
        ),
        migrations.AlterField(
            model_name="saletender",
            name="kind",
            field=models.CharField(
                choices=[
                    ("stored_value", "Stored value"),
                    ("points", "Points"),
                    ("package", "Package"),
                    ("cash", "Cash"),
                    ("bank_card", "Bank card"),
                    ("wechat", "WeChat Pay"),
                    ("alipay", "Alipay"),
                ],
                max_length=20,
            ),
        ),
        migrations.AddConstraint(
            model_name="sale",
            constraint=models.UniqueConstraint(
                condition=models.Q(("kind", "checkout")),
                fields=("merchant", "business_ref"),
                name="pos_sale_ref_unique",
            ),
        ),
        migrations.AddConstraint(
            model_name="saletender",
            constraint=models.UniqueConstraint(
                fields=("card_transaction",), name="sales_tender_one_per_card_transaction"
            ),
        ),
    ]
