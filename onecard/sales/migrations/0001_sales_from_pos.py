"""The sale moves from the pos app to this one: the models change owner, the tables stay as they are.

State only (SeparateDatabaseAndState with no database operation): the five tables keep their names
(pos_sale, pos_saleline, pos_saletender, pos_salereturn, pos_salereturnline), so an existing database
keeps every row and no table is rewritten or locked. pos 0007 drops the models from pos's state.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("pos", "0006_cash_received_for_change"),
        ("catalog", "0001_catalogue"),
        ("loyalty", "0012_points_give_back_and_earn_basis"),
        ("members", "0003_member_search_covering_indexes"),
        ("org", "0003_card_permissions"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="Sale",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("business_ref", models.CharField(max_length=100, verbose_name="reference")),
                        ("list_total", models.BigIntegerField(verbose_name="list total")),
                        ("discount_total", models.BigIntegerField(verbose_name="discount")),
                        ("total_due", models.BigIntegerField(verbose_name="amount due")),
                        ("earn_base", models.BigIntegerField(default=0)),
                        ("points_earned", models.BigIntegerField(default=0, verbose_name="points earned")),
                        ("promotions", models.JSONField(default=list)),
                        ("limited_promotions", models.JSONField(default=list)),
                        ("coupons", models.JSONField(default=list)),
                        ("order_adjustments", models.JSONField(default=list)),
                        ("returned_due", models.BigIntegerField(default=0, verbose_name="returned")),
                        ("cash_received", models.BigIntegerField(default=0, verbose_name="cash received")),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "actor",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "card",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="loyalty.card",
                            ),
                        ),
                        (
                            "member",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="members.member",
                            ),
                        ),
                        (
                            "merchant",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="org.merchant",
                            ),
                        ),
                        (
                            "points_lot",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="loyalty.pointslot",
                            ),
                        ),
                        (
                            "store",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="org.orgnode",
                                verbose_name="store",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "sale",
                        "verbose_name_plural": "sales",
                        "db_table": "pos_sale",
                        "ordering": ["-created_at", "-id"],
                    },
                ),
                migrations.CreateModel(
                    name="SaleLine",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("key", models.CharField(max_length=40)),
                        ("sku", models.CharField(max_length=40)),
                        ("name", models.CharField(max_length=200)),
                        ("quantity", models.PositiveIntegerField()),
                        ("list_total", models.BigIntegerField()),
                        ("adjustments", models.JSONField(default=list)),
                        ("due", models.BigIntegerField()),
                        ("gift", models.BooleanField(default=False)),
                        ("returned_quantity", models.PositiveIntegerField(default=0)),
                        ("returned_due", models.BigIntegerField(default=0)),
                        (
                            "product",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="catalog.product",
                            ),
                        ),
                        (
                            "sale",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="lines",
                                to="sales.sale",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "pos_saleline",
                        "ordering": ["sale", "id"],
                    },
                ),
                migrations.CreateModel(
                    name="SaleReturn",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("reason", models.CharField(max_length=200)),
                        ("amount", models.BigIntegerField()),
                        ("tenders", models.JSONField(default=list)),
                        ("points_given_back", models.BigIntegerField(default=0)),
                        ("points_not_returned", models.BigIntegerField(default=0)),
                        ("points_taken_back", models.BigIntegerField(default=0)),
                        ("points_shortfall", models.BigIntegerField(default=0)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "actor",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "sale",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="returns",
                                to="sales.sale",
                            ),
                        ),
                        (
                            "store",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="org.orgnode",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "pos_salereturn",
                        "ordering": ["sale", "id"],
                    },
                ),
                migrations.CreateModel(
                    name="SaleReturnLine",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("quantity", models.PositiveIntegerField()),
                        ("due", models.BigIntegerField()),
                        (
                            "line",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="sales.saleline",
                            ),
                        ),
                        (
                            "sale_return",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="lines",
                                to="sales.salereturn",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "pos_salereturnline",
                    },
                ),
                migrations.CreateModel(
                    name="SaleTender",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("stored_value", "Stored value"),
                                    ("points", "Points"),
                                    ("cash", "Cash"),
                                    ("bank_card", "Bank card"),
                                    ("wechat", "WeChat Pay"),
                                    ("alipay", "Alipay"),
                                ],
                                max_length=20,
                            ),
                        ),
                        ("amount", models.BigIntegerField()),
                        ("points", models.BigIntegerField(default=0)),
                        ("bonus", models.BigIntegerField(default=0)),
                        ("returned_amount", models.BigIntegerField(default=0)),
                        ("returned_points", models.BigIntegerField(default=0)),
                        (
                            "card_transaction",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="loyalty.cardtransaction",
                            ),
                        ),
                        (
                            "points_entry",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="loyalty.journalentry",
                            ),
                        ),
                        (
                            "sale",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="tenders",
                                to="sales.sale",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "pos_saletender",
                        "ordering": ["sale", "id"],
                    },
                ),
                migrations.AddConstraint(
                    model_name="sale",
                    constraint=models.UniqueConstraint(
                        fields=("merchant", "business_ref"), name="pos_sale_ref_unique"
                    ),
                ),
            ],
        ),
    ]
