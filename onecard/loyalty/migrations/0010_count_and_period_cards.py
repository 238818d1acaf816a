"""Count and period cards (L8): package definitions, packages sold, their uses; package ledger kinds."""

import django.db.models.deletion
import django.db.models.expressions
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0009_settlement_statements"),
        ("members", "0003_member_search_covering_indexes"),
        ("org", "0003_card_permissions"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ServicePackage",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=60, verbose_name="name")),
                (
                    "kind",
                    models.CharField(
                        choices=[("count", "Count card (次卡)"), ("period", "Period card (期限卡)")],
                        max_length=10,
                        verbose_name="kind",
                    ),
                ),
                ("price", models.BigIntegerField(verbose_name="price (fen)")),
                (
                    "validity_days",
                    models.PositiveIntegerField(blank=True, null=True, verbose_name="valid for (days)"),
                ),
                (
                    "daily_cap",
                    models.PositiveIntegerField(blank=True, null=True, verbose_name="uses per day at most"),
                ),
                ("is_active", models.BooleanField(default=True, verbose_name="on sale")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
            ],
            options={
                "verbose_name": "service package",
                "verbose_name_plural": "service packages",
                "ordering": ["merchant", "name"],
            },
        ),
        migrations.CreateModel(
            name="ServicePackageLine",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("service", models.CharField(max_length=40, verbose_name="service")),
                ("uses", models.PositiveIntegerField(blank=True, null=True, verbose_name="uses")),
            ],
            options={
                "ordering": ["package", "id"],
            },
        ),
        migrations.AlterField(
            model_name="account",
            name="kind",
            field=models.CharField(
                choices=[
                    ("member_principal", "Member stored value (principal)"),
                    ("member_bonus", "Member stored value (bonus)"),
                    ("member_points", "Member points"),
                    ("hold_reserve", "Funds reserved by a hold"),
                    ("member_package", "Member prepaid packages (count and period cards)"),
                    ("store_cash", "Store cash taken"),
                    ("store_revenue", "Store revenue"),
                    ("bonus_expense", "Bonus value granted"),
                    ("points_expense", "Points granted"),
                    ("points_redeemed", "Points redeemed"),
                    ("points_expired", "Points expired"),
                    ("clearing", "Inter-store / inter-merchant clearing"),
                    ("adjustment", "Manual adjustments"),
                ],
                max_length=20,
                verbose_name="kind",
            ),
        ),
        migrations.AlterField(
            model_name="journalentry",
            name="kind",
            field=models.CharField(
                choices=[
                    ("topup", "Top-up"),
                    ("charge", "Charge"),
                    ("refund", "Refund"),
                    ("hold", "Hold"),
                    ("capture", "Capture"),
                    ("void", "Void"),
                    ("expire", "Expiry"),
                    ("earn", "Points earned"),
                    ("redeem", "Points redeemed"),
                    ("rebate", "Rebate"),
                    ("adjust", "Adjustment"),
                    ("transfer", "Transfer"),
                    ("settle", "Settlement"),
                    ("reversal", "Reversal"),
                    ("package_sale", "Package sold"),
                    ("package_use", "Package used"),
                    ("package_refund", "Package refunded"),
                    ("package_expire", "Package expired"),
                ],
                max_length=20,
                verbose_name="kind",
            ),
        ),
        migrations.CreateModel(
            name="MemberPackage",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=60, verbose_name="name")),
                (
                    "kind",
                    models.CharField(
                        choices=[("count", "Count card (次卡)"), ("period", "Period card (期限卡)")],
                        max_length=10,
                        verbose_name="kind",
                    ),
                ),
                ("price", models.BigIntegerField(verbose_name="price (fen)")),
                ("total_uses", models.PositiveIntegerField(blank=True, null=True, verbose_name="uses")),
                ("uses_done", models.PositiveIntegerField(default=0, verbose_name="uses done")),
                (
                    "daily_cap",
                    models.PositiveIntegerField(blank=True, null=True, verbose_name="uses per day at most"),
                ),
                (
                    "total_days",
                    models.PositiveIntegerField(blank=True, null=True, verbose_name="valid for (days)"),
                ),
                ("valid_from", models.DateTimeField(verbose_name="sold")),
                ("valid_until", models.DateTimeField(blank=True, null=True, verbose_name="valid until")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("active", "Active"),
                            ("used_up", "Used up"),
                            ("refunded", "Refunded"),
                            ("expired", "Expired"),
                        ],
                        default="active",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                ("tender", models.CharField(blank=True, max_length=20, verbose_name="tender")),
                ("recognised", models.BigIntegerField(default=0, verbose_name="recognised (fen)")),
                ("refunded", models.BigIntegerField(default=0, verbose_name="refunded (fen)")),
                ("breakage", models.BigIntegerField(default=0, verbose_name="expired (fen)")),
                ("closed_at", models.DateTimeField(blank=True, null=True)),
                ("refund_method", models.CharField(blank=True, max_length=20)),
                ("reason", models.CharField(blank=True, max_length=200, verbose_name="reason")),
                ("business_ref", models.CharField(blank=True, max_length=100)),
                ("idempotency_key", models.CharField(blank=True, max_length=400)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
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
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="packages",
                        to="loyalty.card",
                        verbose_name="card",
                    ),
                ),
                (
                    "close_entry",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="loyalty.journalentry",
                    ),
                ),
                (
                    "member",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="packages",
                        to="members.member",
                    ),
                ),
                (
                    "merchant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="org.merchant"
                    ),
                ),
                (
                    "sale_entry",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="loyalty.journalentry",
                    ),
                ),
                (
                    "store",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="org.orgnode",
                        verbose_name="sold at",
                    ),
                ),
            ],
            options={
                "verbose_name": "member package",
                "verbose_name_plural": "member packages",
                "ordering": ["-id"],
            },
        ),
        migrations.CreateModel(
            name="MemberPackageLine",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("service", models.CharField(max_length=40, verbose_name="service")),
                ("uses_total", models.PositiveIntegerField(blank=True, null=True)),
                ("uses_left", models.PositiveIntegerField(blank=True, null=True)),
                (
                    "member_package",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="lines",
                        to="loyalty.memberpackage",
                    ),
                ),
            ],
            options={
                "ordering": ["member_package", "id"],
            },
        ),
        migrations.CreateModel(
            name="PackageUse",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("service", models.CharField(max_length=40, verbose_name="service")),
                ("count", models.PositiveIntegerField(default=1, verbose_name="uses")),
                ("value", models.BigIntegerField(default=0, verbose_name="value recognised (fen)")),
                ("business_ref", models.CharField(blank=True, max_length=100)),
                ("idempotency_key", models.CharField(blank=True, max_length=400)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="time")),
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
                    "entry",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="loyalty.journalentry",
                    ),
                ),
                (
                    "line",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="uses",
                        to="loyalty.memberpackageline",
                    ),
                ),
                (
                    "member_package",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="uses",
                        to="loyalty.memberpackage",
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
                "verbose_name": "package use",
                "verbose_name_plural": "package uses",
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.AddField(
            model_name="servicepackage",
            name="merchant",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="service_packages",
                to="org.merchant",
                verbose_name="merchant",
            ),
        ),
        migrations.AddField(
            model_name="servicepackage",
            name="stores",
            field=models.ManyToManyField(
                blank=True, related_name="service_packages", to="org.orgnode", verbose_name="usable at"
            ),
        ),
        migrations.AddField(
            model_name="memberpackage",
            name="package",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="sold", to="loyalty.servicepackage"
            ),
        ),
        migrations.AddField(
            model_name="servicepackageline",
            name="package",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="lines", to="loyalty.servicepackage"
            ),
        ),
        migrations.AddConstraint(
            model_name="memberpackageline",
            constraint=models.UniqueConstraint(
                fields=("member_package", "service"), name="loyalty_mpackageline_service_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="memberpackageline",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("uses_left__isnull", True), ("uses_total__isnull", True)),
                    models.Q(("uses_left__gte", 0), ("uses_left__lte", models.F("uses_total"))),
                    _connector="OR",
                ),
                name="loyalty_mpackageline_left_within_total",
            ),
        ),
        migrations.AddIndex(
            model_name="packageuse",
            index=models.Index(fields=["member_package", "created_at"], name="loyalty_packageuse_package"),
        ),
        migrations.AddConstraint(
            model_name="packageuse",
            constraint=models.CheckConstraint(
                condition=models.Q(("count__gt", 0)), name="loyalty_packageuse_count_positive"
            ),
        ),
        migrations.AddConstraint(
            model_name="packageuse",
            constraint=models.CheckConstraint(
                condition=models.Q(("value__gte", 0)), name="loyalty_packageuse_value_not_negative"
            ),
        ),
        migrations.AddConstraint(
            model_name="packageuse",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("entry__isnull", True), ("value", 0)),
                    models.Q(("entry__isnull", False), ("value__gt", 0)),
                    _connector="OR",
                ),
                name="loyalty_packageuse_entry_iff_value",
            ),
        ),
        migrations.AddConstraint(
            model_name="servicepackage",
            constraint=models.UniqueConstraint(
                fields=("merchant", "name"), name="loyalty_package_name_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="servicepackage",
            constraint=models.CheckConstraint(
                condition=models.Q(("price__gt", 0)), name="loyalty_package_price_positive"
            ),
        ),
        migrations.AddConstraint(
            model_name="servicepackage",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("kind", "period"), _negated=True), ("validity_days__gt", 0), _connector="OR"
                ),
                name="loyalty_package_period_has_validity",
            ),
        ),
        migrations.AddConstraint(
            model_name="servicepackage",
            constraint=models.CheckConstraint(
                condition=models.Q(("daily_cap__isnull", True), ("daily_cap__gt", 0), _connector="OR"),
                name="loyalty_package_cap_positive",
            ),
        ),
        migrations.AddIndex(
            model_name="memberpackage",
            index=models.Index(fields=["card", "status"], name="loyalty_mpackage_card"),
        ),
        migrations.AddIndex(
            model_name="memberpackage",
            index=models.Index(fields=["status", "valid_until"], name="loyalty_mpackage_expiry"),
        ),
        migrations.AddIndex(
            model_name="memberpackage",
            index=models.Index(fields=["member", "created_at"], name="loyalty_mpackage_member"),
        ),
        migrations.AddConstraint(
            model_name="memberpackage",
            constraint=models.CheckConstraint(
                condition=models.Q(("price__gt", 0)), name="loyalty_mpackage_price_positive"
            ),
        ),
        migrations.AddConstraint(
            model_name="memberpackage",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("breakage__gte", 0),
                    ("recognised__gte", 0),
                    ("refunded__gte", 0),
                    (
                        "price__gte",
                        django.db.models.expressions.CombinedExpression(
                            django.db.models.expressions.CombinedExpression(
                                models.F("recognised"), "+", models.F("refunded")
                            ),
                            "+",
                            models.F("breakage"),
                        ),
                    ),
                ),
                name="loyalty_mpackage_parts_within_price",
            ),
        ),
        migrations.AddConstraint(
            model_name="memberpackage",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("total_uses__isnull", True), ("uses_done__lte", models.F("total_uses")), _connector="OR"
                ),
                name="loyalty_mpackage_uses_within_total",
            ),
        ),
        migrations.AddConstraint(
            model_name="servicepackageline",
            constraint=models.UniqueConstraint(
                fields=("package", "service"), name="loyalty_packageline_service_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="servicepackageline",
            constraint=models.CheckConstraint(
                condition=models.Q(("uses__isnull", True), ("uses__gt", 0), _connector="OR"),
                name="loyalty_packageline_uses_positive",
            ),
        ),
    ]
