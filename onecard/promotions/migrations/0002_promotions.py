"""Promotion rules and their uses (limited stock and per-member caps)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0003_member_search_covering_indexes"),
        ("org", "0003_card_permissions"),
        ("promotions", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="Promotion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("store_ids", models.JSONField(blank=True, default=list, verbose_name="stores")),
                ("name", models.CharField(max_length=80, verbose_name="name")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("member_price", "Member price / tier discount"),
                            ("discount", "Percentage off products"),
                            ("threshold_cash", "Spend threshold, amount off (满减)"),
                            ("threshold_discount", "Spend threshold, percentage off (满折)"),
                            ("threshold_gift", "Spend threshold, gift (满赠)"),
                            ("buy_x_get_y", "Buy X get Y free (买二送一)"),
                            ("nth_discount", "Nth item at a discount (第二件半价)"),
                            ("bundle", "Bundle price"),
                            ("birthday", "Birthday offer"),
                        ],
                        max_length=24,
                        verbose_name="type",
                    ),
                ),
                ("params", models.JSONField(blank=True, default=dict, verbose_name="parameters")),
                ("product_ids", models.JSONField(blank=True, default=list, verbose_name="products")),
                ("category_ids", models.JSONField(blank=True, default=list, verbose_name="categories")),
                ("valid_from", models.DateTimeField(verbose_name="valid from")),
                ("valid_to", models.DateTimeField(verbose_name="valid to")),
                ("weekdays", models.JSONField(blank=True, default=list, verbose_name="weekdays")),
                ("time_from", models.TimeField(blank=True, null=True, verbose_name="daily from")),
                ("time_to", models.TimeField(blank=True, null=True, verbose_name="daily to")),
                ("priority", models.IntegerField(default=0, verbose_name="priority")),
                (
                    "exclusive_group",
                    models.CharField(blank=True, max_length=40, verbose_name="exclusivity group"),
                ),
                (
                    "stacks_with_coupons",
                    models.BooleanField(default=True, verbose_name="stacks with coupons"),
                ),
                (
                    "applies_over_member_price",
                    models.BooleanField(default=True, verbose_name="applies over member price"),
                ),
                (
                    "stock_total",
                    models.PositiveIntegerField(blank=True, null=True, verbose_name="total stock"),
                ),
                (
                    "per_member_limit",
                    models.PositiveIntegerField(blank=True, null=True, verbose_name="limit per member"),
                ),
                ("active", models.BooleanField(default=True, verbose_name="active")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "merchant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="promotions",
                        to="org.merchant",
                        verbose_name="merchant",
                    ),
                ),
                (
                    "node",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="promotions",
                        to="org.orgnode",
                        verbose_name="owner",
                    ),
                ),
            ],
            options={
                "verbose_name": "promotion",
                "verbose_name_plural": "promotions",
                "ordering": ["-priority", "pk"],
            },
        ),
        migrations.CreateModel(
            name="PromotionUse",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("quantity", models.PositiveIntegerField(default=1)),
                ("sale_ref", models.CharField(db_index=True, max_length=64)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("released_at", models.DateTimeField(blank=True, null=True)),
                (
                    "member",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="promotion_uses",
                        to="members.member",
                    ),
                ),
                (
                    "promotion",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="uses",
                        to="promotions.promotion",
                    ),
                ),
            ],
            options={
                "verbose_name": "promotion use",
                "verbose_name_plural": "promotion uses",
            },
        ),
        migrations.AddIndex(
            model_name="promotion",
            index=models.Index(fields=["merchant", "active", "valid_to"], name="promo_merchant_active_idx"),
        ),
        migrations.AddConstraint(
            model_name="promotionuse",
            constraint=models.UniqueConstraint(
                fields=("promotion", "sale_ref"), name="promotion_use_once_per_sale"
            ),
        ),
    ]
