"""Rebate rules; the points and rebates a card transaction produced or took back; alliance acceptance of products."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0007_settlement_and_prepaid_permissions"),
        ("org", "0003_card_permissions"),
    ]

    operations = [
        migrations.AddField(
            model_name="cardproduct",
            name="alliance_accepted",
            field=models.BooleanField(default=False, verbose_name="accepted at alliance merchants"),
        ),
        migrations.AddField(
            model_name="cardtransaction",
            name="points_earned",
            field=models.BigIntegerField(default=0, verbose_name="points earned"),
        ),
        migrations.AddField(
            model_name="cardtransaction",
            name="points_lot",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="loyalty.pointslot",
            ),
        ),
        migrations.AddField(
            model_name="cardtransaction",
            name="points_reversed",
            field=models.BigIntegerField(default=0, verbose_name="points reversed"),
        ),
        migrations.AddField(
            model_name="cardtransaction",
            name="points_shortfall",
            field=models.BigIntegerField(default=0, verbose_name="points already spent"),
        ),
        migrations.AddField(
            model_name="cardtransaction",
            name="rebate_bonus",
            field=models.BigIntegerField(default=0, verbose_name="rebate (fen)"),
        ),
        migrations.AddField(
            model_name="cardtransaction",
            name="rebate_lot",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="loyalty.pointslot",
            ),
        ),
        migrations.AddField(
            model_name="cardtransaction",
            name="rebate_points",
            field=models.BigIntegerField(default=0, verbose_name="rebate (points)"),
        ),
        migrations.CreateModel(
            name="RebateRule",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=60, verbose_name="name")),
                ("percent", models.DecimalField(decimal_places=2, max_digits=5, verbose_name="percent")),
                (
                    "form",
                    models.CharField(
                        choices=[("bonus", "Bonus value"), ("points", "Points")],
                        default="bonus",
                        max_length=10,
                        verbose_name="given as",
                    ),
                ),
                ("min_amount", models.BigIntegerField(default=0, verbose_name="minimum amount due (fen)")),
                ("valid_from", models.DateTimeField(verbose_name="valid from")),
                ("valid_to", models.DateTimeField(blank=True, null=True, verbose_name="valid to")),
                ("is_active", models.BooleanField(default=True, verbose_name="active")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                (
                    "merchant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="rebate_rules",
                        to="org.merchant",
                    ),
                ),
                (
                    "store",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="rebate_rules",
                        to="org.orgnode",
                    ),
                ),
            ],
            options={
                "verbose_name": "rebate rule",
                "verbose_name_plural": "rebate rules",
                "ordering": ["merchant", "-percent", "-id"],
            },
        ),
        migrations.AddField(
            model_name="cardtransaction",
            name="rebate_rule",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="loyalty.rebaterule",
            ),
        ),
        migrations.AddConstraint(
            model_name="cardtransaction",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("points_earned__gte", 0),
                    ("points_reversed__gte", 0),
                    ("points_shortfall__gte", 0),
                    ("rebate_bonus__gte", 0),
                    ("rebate_points__gte", 0),
                ),
                name="loyalty_cardtx_rewards_not_negative",
            ),
        ),
        migrations.AddIndex(
            model_name="rebaterule",
            index=models.Index(
                fields=["merchant", "is_active", "valid_from"], name="loyalty_rebaterule_active"
            ),
        ),
        migrations.AddConstraint(
            model_name="rebaterule",
            constraint=models.CheckConstraint(
                condition=models.Q(("percent__gt", 0), ("percent__lte", 100)),
                name="loyalty_rebaterule_percent_range",
            ),
        ),
        migrations.AddConstraint(
            model_name="rebaterule",
            constraint=models.CheckConstraint(
                condition=models.Q(("min_amount__gte", 0)), name="loyalty_rebaterule_min_not_negative"
            ),
        ),
    ]
