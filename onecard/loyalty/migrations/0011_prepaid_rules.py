"""Prepaid-card rules: per-merchant settings, store risk flags, top-up agreement versions and acceptances."""

import django.db.models.deletion
import django.utils.timezone
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0010_count_and_period_cards"),
        ("members", "0003_member_search_covering_indexes"),
        ("org", "0003_card_permissions"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AgreementVersion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("version", models.PositiveIntegerField(verbose_name="version")),
                ("text", models.TextField(verbose_name="text")),
                (
                    "published_at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="published"),
                ),
                (
                    "merchant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="prepaid_agreements",
                        to="org.merchant",
                    ),
                ),
                (
                    "published_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "top-up agreement version",
                "verbose_name_plural": "top-up agreement versions",
                "ordering": ["merchant", "-version"],
            },
        ),
        migrations.CreateModel(
            name="AgreementAcceptance",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "accepted_at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="accepted"),
                ),
                (
                    "channel",
                    models.CharField(
                        choices=[
                            ("counter", "At the counter"),
                            ("paper", "Signed on paper"),
                            ("portal", "Member portal"),
                            ("app", "App or mini program"),
                        ],
                        max_length=10,
                        verbose_name="channel",
                    ),
                ),
                (
                    "member",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="agreement_acceptances",
                        to="members.member",
                    ),
                ),
                (
                    "staff",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "version",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="acceptances",
                        to="loyalty.agreementversion",
                    ),
                ),
            ],
            options={
                "verbose_name": "agreement acceptance",
                "verbose_name_plural": "agreement acceptances",
                "ordering": ["-accepted_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="PrepaidSettings",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "cash_limit_organisation",
                    models.BigIntegerField(
                        default=500000, verbose_name="cash refused from (organisation, fen)"
                    ),
                ),
                (
                    "cash_limit_person",
                    models.BigIntegerField(default=5000000, verbose_name="cash refused from (person, fen)"),
                ),
                (
                    "cash_refund_limit",
                    models.BigIntegerField(default=10000, verbose_name="cash refunds up to (fen)"),
                ),
                (
                    "agreement_required",
                    models.BooleanField(default=True, verbose_name="agreement before the first top-up"),
                ),
                (
                    "member_refund_pricing",
                    models.CharField(
                        choices=[
                            ("list_price", "Used value at the price before discount (the rule)"),
                            ("as_charged", "Used value as charged (our agreement favours the member)"),
                        ],
                        default="list_price",
                        max_length=20,
                        verbose_name="member refunds price used value",
                    ),
                ),
                (
                    "cooling_off_enabled",
                    models.BooleanField(default=False, verbose_name="cooling-off period"),
                ),
                (
                    "cooling_off_days",
                    models.PositiveSmallIntegerField(default=7, verbose_name="cooling-off window (days)"),
                ),
                (
                    "cooling_off_payout_days",
                    models.PositiveSmallIntegerField(
                        default=15, verbose_name="cooling-off refund paid within (days)"
                    ),
                ),
                (
                    "custody_ratio",
                    models.DecimalField(
                        decimal_places=3,
                        default=Decimal("0.20"),
                        max_digits=4,
                        verbose_name="custody ratio alert below",
                    ),
                ),
                (
                    "custodied_amount",
                    models.BigIntegerField(default=0, verbose_name="amount in custody (fen)"),
                ),
                (
                    "custodied_as_of",
                    models.DateField(blank=True, null=True, verbose_name="custody amount as of"),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "merchant",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="prepaid_settings",
                        to="org.merchant",
                    ),
                ),
                (
                    "updated_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "prepaid-card settings",
                "verbose_name_plural": "prepaid-card settings",
            },
        ),
        migrations.CreateModel(
            name="PrepaidStoreStatus",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("major_risk", models.BooleanField(default=False, verbose_name="major risk")),
                ("note", models.CharField(blank=True, max_length=200, verbose_name="note")),
                ("closes_on", models.DateField(blank=True, null=True, verbose_name="closes on")),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "merchant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="org.merchant"
                    ),
                ),
                (
                    "store",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="prepaid_status",
                        to="org.orgnode",
                    ),
                ),
                (
                    "updated_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "store prepaid status",
                "verbose_name_plural": "store prepaid statuses",
            },
        ),
        migrations.AddConstraint(
            model_name="agreementversion",
            constraint=models.UniqueConstraint(
                fields=("merchant", "version"), name="loyalty_agreement_version_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="agreementversion",
            constraint=models.CheckConstraint(
                condition=models.Q(("version__gte", 1)), name="loyalty_agreement_version_positive"
            ),
        ),
        migrations.AddConstraint(
            model_name="agreementacceptance",
            constraint=models.UniqueConstraint(
                fields=("member", "version"), name="loyalty_agreement_accepted_once"
            ),
        ),
        migrations.AddConstraint(
            model_name="prepaidsettings",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("cash_limit_organisation__gt", 0),
                    ("cash_limit_person__gt", 0),
                    ("cash_refund_limit__gte", 0),
                ),
                name="loyalty_prepaid_limits_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="prepaidsettings",
            constraint=models.CheckConstraint(
                condition=models.Q(("custody_ratio__gte", 0), ("custody_ratio__lte", 1)),
                name="loyalty_prepaid_custody_ratio",
            ),
        ),
        migrations.AddConstraint(
            model_name="prepaidsettings",
            constraint=models.CheckConstraint(
                condition=models.Q(("custodied_amount__gte", 0)), name="loyalty_prepaid_custody_amount"
            ),
        ),
    ]
