"""Settlement statements between stores and between merchants (L6), with the journal entries they cover."""

import django.db.models.deletion
import django.db.models.expressions
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0008_rebates_points_link_alliance"),
        ("org", "0003_card_permissions"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="SettlementStatement",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "pair_kind",
                    models.CharField(
                        choices=[("stores", "Stores"), ("merchants", "Merchants")],
                        max_length=10,
                        verbose_name="pair",
                    ),
                ),
                (
                    "period_kind",
                    models.CharField(
                        choices=[("day", "Day"), ("month", "Month")], max_length=5, verbose_name="period"
                    ),
                ),
                ("period_start", models.DateField(verbose_name="period start")),
                ("part", models.PositiveSmallIntegerField(default=1, verbose_name="part")),
                ("gross_a_owes_b", models.BigIntegerField(default=0, verbose_name="A owes B (fen)")),
                ("gross_b_owes_a", models.BigIntegerField(default=0, verbose_name="B owes A (fen)")),
                ("net", models.BigIntegerField(default=0, verbose_name="net (fen)")),
                ("entry_count", models.IntegerField(default=0, verbose_name="entries")),
                ("imbalance", models.BigIntegerField(default=0, verbose_name="imbalance (fen)")),
                (
                    "status",
                    models.CharField(
                        choices=[("open", "Open"), ("settled", "Settled")],
                        default="open",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                ("settled_at", models.DateTimeField(blank=True, null=True, verbose_name="settled at")),
                (
                    "generated_at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="generated at"),
                ),
                (
                    "merchant_a",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="org.merchant",
                        verbose_name="merchant A",
                    ),
                ),
                (
                    "merchant_b",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="org.merchant",
                        verbose_name="merchant B",
                    ),
                ),
                (
                    "node_a",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="org.orgnode",
                        verbose_name="store A",
                    ),
                ),
                (
                    "node_b",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="org.orgnode",
                        verbose_name="store B",
                    ),
                ),
                (
                    "settle_entry",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="settlement_statement",
                        to="loyalty.journalentry",
                        verbose_name="settlement entry",
                    ),
                ),
                (
                    "settled_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="settled by",
                    ),
                ),
            ],
            options={
                "verbose_name": "settlement statement",
                "verbose_name_plural": "settlement statements",
                "ordering": [
                    "-period_start",
                    "period_kind",
                    "pair_kind",
                    "merchant_a_id",
                    "node_a_id",
                    "node_b_id",
                    "part",
                ],
            },
        ),
        migrations.CreateModel(
            name="SettlementLine",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("amount", models.BigIntegerField(verbose_name="amount (fen)")),
                (
                    "entry",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="loyalty.journalentry",
                    ),
                ),
                (
                    "statement",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="lines",
                        to="loyalty.settlementstatement",
                    ),
                ),
            ],
            options={
                "verbose_name": "settlement line",
                "verbose_name_plural": "settlement lines",
                "ordering": ["entry_id"],
            },
        ),
        migrations.AddIndex(
            model_name="settlementstatement",
            index=models.Index(fields=["period_kind", "period_start"], name="loyalty_settlement_period"),
        ),
        migrations.AddConstraint(
            model_name="settlementstatement",
            constraint=models.UniqueConstraint(
                condition=models.Q(("pair_kind", "stores")),
                fields=("node_a", "node_b", "period_kind", "period_start", "part"),
                name="loyalty_settlement_store_pair_unique",
            ),
        ),
        migrations.AddConstraint(
            model_name="settlementstatement",
            constraint=models.UniqueConstraint(
                condition=models.Q(("pair_kind", "merchants")),
                fields=("merchant_a", "merchant_b", "period_kind", "period_start", "part"),
                name="loyalty_settlement_merchant_pair_unique",
            ),
        ),
        migrations.AddConstraint(
            model_name="settlementstatement",
            constraint=models.UniqueConstraint(
                condition=models.Q(("pair_kind", "stores"), ("status", "open")),
                fields=("node_a", "node_b", "period_kind", "period_start"),
                name="loyalty_settlement_store_pair_one_open",
            ),
        ),
        migrations.AddConstraint(
            model_name="settlementstatement",
            constraint=models.UniqueConstraint(
                condition=models.Q(("pair_kind", "merchants"), ("status", "open")),
                fields=("merchant_a", "merchant_b", "period_kind", "period_start"),
                name="loyalty_settlement_merchant_pair_one_open",
            ),
        ),
        migrations.AddConstraint(
            model_name="settlementstatement",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("merchant_a", models.F("merchant_b")),
                        ("node_a__isnull", False),
                        ("node_a__lt", models.F("node_b")),
                        ("node_b__isnull", False),
                        ("pair_kind", "stores"),
                    ),
                    models.Q(
                        ("merchant_a__lt", models.F("merchant_b")),
                        ("node_a__isnull", True),
                        ("node_b__isnull", True),
                        ("pair_kind", "merchants"),
                    ),
                    _connector="OR",
                ),
                name="loyalty_settlement_parties_ordered",
            ),
        ),
        migrations.AddConstraint(
            model_name="settlementstatement",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "net",
                        django.db.models.expressions.CombinedExpression(
                            models.F("gross_a_owes_b"), "-", models.F("gross_b_owes_a")
                        ),
                    )
                ),
                name="loyalty_settlement_net_is_difference",
            ),
        ),
        migrations.AddConstraint(
            model_name="settlementstatement",
            constraint=models.CheckConstraint(
                condition=models.Q(("status", "open"), ("settled_at__isnull", False), _connector="OR"),
                name="loyalty_settlement_settled_has_time",
            ),
        ),
        migrations.AddConstraint(
            model_name="settlementline",
            constraint=models.UniqueConstraint(
                fields=("statement", "entry"), name="loyalty_settlement_line_unique"
            ),
        ),
    ]
