"""What analytics keeps per member so that no page scans the sales or the journal to draw one.

The fact tables (`MemberFacts`, `MemberMonth`, `MemberStoreFacts`, `MemberProductFacts`) are kept
current by analytics.facts as sales, returns and top-ups are recorded, in the same transaction, and
can be recomputed from the sales and card transactions at any time (`onecard analytics rebuild`).
The scores on `MemberFacts` (RFM, ABCD, life cycle, predicted value) are written by analytics.scoring
from those facts; `MemberClassSnapshot` keeps each month's classes for the migration matrix.
See docs/analytics.md.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from onecard.analytics.choices import AbcdClass, LifeStage, RfmClass, ScoreMethod
from onecard.core.fields import emptied_fk, merchant_field, node_field


class MemberFacts(models.Model):
    """One member's purchase facts (lifetime, fen) and, as of the last scoring, their classes and predicted value."""

    member = models.OneToOneField(
        "members.Member", primary_key=True, on_delete=models.CASCADE, related_name="facts"
    )
    merchant = merchant_field(on_delete=models.CASCADE)
    first_purchase_at = models.DateTimeField(_("first purchase"), null=True, blank=True)
    last_purchase_at = models.DateTimeField(_("last purchase"), null=True, blank=True)
    last_visit_day = models.DateField(null=True, blank=True)  # local date of the last purchase
    purchases = models.IntegerField(_("purchases"), default=0)
    visits = models.IntegerField(_("visits (days with a purchase)"), default=0)
    spend = models.BigIntegerField(_("spend, net of returns"), default=0)
    returned = models.BigIntegerField(_("returned"), default=0)
    items = models.BigIntegerField(_("units bought"), default=0)
    topups = models.IntegerField(_("top-ups"), default=0)
    topup_amount = models.BigIntegerField(_("principal topped up, net of payouts"), default=0)
    # Written by analytics.scoring (all members of a merchant at once); empty until the first scoring.
    window_purchases = models.IntegerField(default=0)
    window_spend = models.BigIntegerField(default=0)
    recency_score = models.PositiveSmallIntegerField(null=True, blank=True)
    frequency_score = models.PositiveSmallIntegerField(null=True, blank=True)
    monetary_score = models.PositiveSmallIntegerField(null=True, blank=True)
    rfm_class = models.CharField(_("RFM class"), max_length=20, choices=RfmClass.choices, blank=True)
    abcd_class = models.CharField(_("ABCD class"), max_length=1, choices=AbcdClass.choices, blank=True)
    life_stage = models.CharField(_("life-cycle stage"), max_length=20, choices=LifeStage.choices, blank=True)
    favourite_store = emptied_fk("org.OrgNode", _("favourite store"))
    favourite_category = emptied_fk("catalog.Category", _("favourite category"))
    predicted_purchases = models.FloatField(_("predicted purchases, 12 months"), null=True, blank=True)
    predicted_value = models.BigIntegerField(_("predicted value, 12 months"), null=True, blank=True)
    # Set whenever the store or product rows change; the next scoring ranks the favourites of these only.
    favourites_due = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("member facts")
        verbose_name_plural = _("member facts")
        indexes = [
            models.Index(fields=["merchant", "rfm_class"], name="analytics_facts_rfm"),
            models.Index(fields=["merchant", "life_stage"], name="analytics_facts_stage"),
            models.Index(
                fields=["merchant"], condition=models.Q(favourites_due=True), name="analytics_facts_due"
            ),
        ]

    def __str__(self):
        return f"facts of {self.member_id}"

    @property
    def average_basket(self) -> int:
        """Fen spent per purchase, net of returns (0 before the first)."""
        return self.spend // self.purchases if self.purchases else 0


class MemberMonth(models.Model):
    """A member's purchases in one calendar month (local time): the buckets rolling windows and cohorts sum."""

    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="+")
    merchant = merchant_field(on_delete=models.CASCADE)
    month = models.DateField()  # the first day of the month
    purchases = models.IntegerField(default=0)
    visits = models.IntegerField(default=0)
    spend = models.BigIntegerField(default=0)  # net of returns, counted in the month of the sale
    last_visit_day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "month"], name="analytics_membermonth_unique"),
        ]
        indexes = [models.Index(fields=["merchant", "month"], name="analytics_month_merchant")]

    def __str__(self):
        return f"{self.member_id} {self.month:%Y-%m}"


class MemberStoreFacts(models.Model):
    """How often and how much a member bought at one store (their favourite store is the top one)."""

    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="+")
    store = node_field()
    purchases = models.IntegerField(default=0)
    spend = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "store"], name="analytics_memberstore_unique"),
        ]

    def __str__(self):
        return f"{self.member_id} @ {self.store_id}"


class MemberProductFacts(models.Model):
    """Units of one product a member bought and what they paid for them, net of returns."""

    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    quantity = models.BigIntegerField(default=0)
    spend = models.BigIntegerField(default=0)
    last_bought_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "product"], name="analytics_memberproduct_unique"),
        ]

    def __str__(self):
        return f"{self.member_id} × {self.product_id}"


class AnalyticsSettings(models.Model):
    """A merchant's choices for scoring: RFM window and boundaries, ABCD split, life-cycle thresholds."""

    merchant = models.OneToOneField(
        "org.Merchant", on_delete=models.CASCADE, related_name="analytics_settings"
    )
    window_months = models.PositiveSmallIntegerField(_("window (months)"), default=12)
    score_method = models.CharField(
        _("score boundaries"), max_length=10, choices=ScoreMethod.choices, default=ScoreMethod.QUINTILES
    )
    # Fixed boundaries, four each, for scores 2..5: recency in days (at most), frequency and money (at least).
    recency_days = models.JSONField(_("recency boundaries (days)"), default=list, blank=True)
    frequency_counts = models.JSONField(_("frequency boundaries (purchases)"), default=list, blank=True)
    monetary_amounts = models.JSONField(_("money boundaries (fen)"), default=list, blank=True)
    # ABCD: "high" frequency and amount are the top `abcd_top_percent` of buyers, or at least the fixed values.
    abcd_method = models.CharField(
        _("ABCD split"), max_length=10, choices=ScoreMethod.choices, default=ScoreMethod.QUINTILES
    )
    abcd_top_percent = models.PositiveSmallIntegerField(_("high = top percent"), default=20)
    abcd_frequency = models.PositiveIntegerField(_("high frequency (purchases)"), default=4)
    abcd_amount = models.BigIntegerField(_("high amount (fen)"), default=100000)
    new_days = models.PositiveSmallIntegerField(_("new customer for (days)"), default=30)
    active_days = models.PositiveSmallIntegerField(_("active within (days)"), default=90)
    warning_days = models.PositiveSmallIntegerField(_("lapsing within (days)"), default=180)
    dormant_days = models.PositiveSmallIntegerField(_("dormant within (days); lost after"), default=365)
    scored_at = models.DateTimeField(null=True, blank=True)  # the last scoring of the merchant's members

    class Meta:
        verbose_name = _("analytics settings")
        verbose_name_plural = _("analytics settings")

    def __str__(self):
        return f"analytics settings of {self.merchant_id}"


class MemberClassSnapshot(models.Model):
    """A member's classes at the end of a month (the migration matrix compares two months)."""

    merchant = merchant_field(on_delete=models.CASCADE)
    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="+")
    month = models.DateField()  # the first day of the month it closes
    rfm_class = models.CharField(max_length=20, choices=RfmClass.choices, blank=True)
    abcd_class = models.CharField(max_length=1, choices=AbcdClass.choices, blank=True)
    life_stage = models.CharField(max_length=20, choices=LifeStage.choices, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "month"], name="analytics_snapshot_unique"),
        ]
        indexes = [models.Index(fields=["merchant", "month"], name="analytics_snapshot_month")]

    def __str__(self):
        return f"{self.member_id} {self.month:%Y-%m} {self.rfm_class}"


class SavedReport(models.Model):
    """A report built with the report builder: its definition (JSON, analytics.report_builder), owner and sharing.

    `pinned` puts it on the home page of its owner and, when it is shared, of the staff holding one of
    the roles it is shared with. Whoever runs it sees the rows of their own scope.
    """

    audit_node_path = "owner.node"

    merchant = merchant_field(on_delete=models.CASCADE)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="saved_reports",
        verbose_name=_("owner"),
    )
    name = models.CharField(_("name"), max_length=100)
    definition = models.JSONField(_("definition"))
    shared_with_roles = models.ManyToManyField(
        "org.Role", verbose_name=_("shared with roles"), blank=True, related_name="shared_reports"
    )
    pinned = models.BooleanField(_("pinned to the home page"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("saved report")
        verbose_name_plural = _("saved reports")

    def __str__(self):
        return self.name


class ClvFit(models.Model):
    """One fit of the lifetime-value models to a merchant's sales: BG/NBD (purchases) and Gamma-Gamma (spend).

    Written by analytics.value.services.fit_merchant; the latest one per merchant is the one in force. Time in
    weeks, money in fen: α is in weeks, γ in fen.
    """

    merchant = merchant_field(on_delete=models.CASCADE)
    fitted_at = models.DateTimeField(_("fitted at"))
    calibration_end = models.DateField(_("calibration end"))  # sales before this local date were used
    members = models.IntegerField(_("members"))  # members with at least one purchase day
    repeat_buyers = models.IntegerField(_("members with a repeat purchase"), default=0)
    r = models.FloatField()
    alpha = models.FloatField()
    a = models.FloatField()
    b = models.FloatField()
    p = models.FloatField()
    q = models.FloatField()
    gamma = models.FloatField()
    bgnbd_log_likelihood = models.FloatField(_("BG/NBD log-likelihood"))
    gamma_gamma_log_likelihood = models.FloatField(_("Gamma-Gamma log-likelihood"))
    bgnbd_converged = models.BooleanField(_("BG/NBD converged"), default=True)
    gamma_gamma_converged = models.BooleanField(_("Gamma-Gamma converged"), default=True)

    class Meta:
        ordering = ["-fitted_at", "-id"]
        verbose_name = _("lifetime value fit")
        verbose_name_plural = _("lifetime value fits")
        indexes = [models.Index(fields=["merchant", "fitted_at"], name="analytics_clvfit_merchant")]

    def __str__(self):
        return f"CLV fit of {self.merchant_id} to {self.calibration_end}"


class MemberValue(models.Model):
    """What a member brought in (net spend) and what serving them cost: bonus, points, coupons, discounts (fen)."""

    member = models.OneToOneField(
        "members.Member", primary_key=True, on_delete=models.CASCADE, related_name="value"
    )
    merchant = merchant_field(on_delete=models.CASCADE)
    historic_value = models.BigIntegerField(_("spend, net of returns"), default=0)
    cost_bonus = models.BigIntegerField(_("bonus value granted"), default=0)
    cost_points = models.BigIntegerField(_("points earned, at their cash value"), default=0)
    cost_coupons = models.BigIntegerField(_("coupon face value used"), default=0)
    cost_discounts = models.BigIntegerField(_("sale discounts"), default=0)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("member value")
        verbose_name_plural = _("member values")

    def __str__(self):
        return f"value of {self.member_id}"

    @property
    def cost_to_serve(self) -> int:
        """Everything given to the member, fen: bonus, points and discounts (coupons are part of the discounts)."""
        return self.cost_bonus + self.cost_points + self.cost_discounts


# ---- the dashboards' daily rollups (analytics.dashboards.rollup) -----------------------------------------------


class StoreDay(models.Model):
    """One store's figures of one closed local day: sales, takings, stored value spent, top-ups, members joined."""

    merchant = merchant_field(on_delete=models.CASCADE)
    store = node_field(on_delete=models.CASCADE)
    day = models.DateField()  # the local (settings.TIME_ZONE) calendar day
    sales = models.IntegerField(default=0)  # money sales (dashboards.MONEY_KINDS)
    takings = models.BigIntegerField(default=0)  # their amount due less returned
    stored_value_spent = models.BigIntegerField(default=0)  # their stored-value tenders less returned
    topups = models.BigIntegerField(default=0)  # principal of the top-ups made at the store
    joined = models.IntegerField(default=0)  # active members with this home store who joined that day

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "day"], name="analytics_storeday_unique")]
        indexes = [models.Index(fields=["merchant", "day"], name="analytics_storeday_merchant")]

    def __str__(self):
        return f"{self.store_id} {self.day}"


class StoreDayTender(models.Model):
    """What one tender took at one store on one closed day, less what it gave back."""

    merchant = merchant_field(on_delete=models.CASCADE)
    store = node_field(on_delete=models.CASCADE)
    day = models.DateField()
    kind = models.CharField(max_length=20)  # sales.TenderKind
    amount = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "day", "kind"], name="analytics_storedaytender_unique")
        ]
        indexes = [models.Index(fields=["merchant", "day"], name="analytics_sdtender_day")]

    def __str__(self):
        return f"{self.store_id} {self.day} {self.kind}"


class StoreDayProduct(models.Model):
    """One product's takings and units kept at one store on one closed day (lines less returned)."""

    merchant = merchant_field(on_delete=models.CASCADE)
    store = node_field(on_delete=models.CASCADE)
    day = models.DateField()
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    takings = models.BigIntegerField(default=0)
    units = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store", "day", "product"], name="analytics_storedayproduct_unique"
            )
        ]
        indexes = [models.Index(fields=["merchant", "day"], name="analytics_sdproduct_day")]

    def __str__(self):
        return f"{self.store_id} {self.day} {self.product_id}"


class StoreMonthProduct(models.Model):
    """StoreDayProduct summed per month (the rolled days of it): what the 12-month product charts read."""

    merchant = merchant_field(on_delete=models.CASCADE)
    store = node_field(on_delete=models.CASCADE)
    month = models.DateField()  # the first day of the month
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    takings = models.BigIntegerField(default=0)
    units = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store", "month", "product"], name="analytics_storemonthproduct_unique"
            )
        ]
        indexes = [models.Index(fields=["merchant", "month"], name="analytics_smproduct_month")]

    def __str__(self):
        return f"{self.store_id} {self.month:%Y-%m} {self.product_id}"


class LiabilityKind(models.TextChoices):
    """Which liability a StoreDayLiability row moves."""

    STORED_VALUE = "stored_value", _("Stored value")
    POINTS = "points", _("Points")


class StoreDayLiability(models.Model):
    """The movements of one closed day on the stored-value or points accounts of the cards issued at a store."""

    merchant = merchant_field(on_delete=models.CASCADE)
    store = node_field(on_delete=models.CASCADE)  # the cards' issuing store
    day = models.DateField()
    kind = models.CharField(max_length=20, choices=LiabilityKind.choices)
    amount = models.BigIntegerField(default=0)  # the postings' amounts, summed

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store", "day", "kind"], name="analytics_storedayliability_unique"
            )
        ]
        indexes = [models.Index(fields=["merchant", "day"], name="analytics_sdliability_day")]

    def __str__(self):
        return f"{self.store_id} {self.day} {self.kind}"


class RollupState(models.Model):
    """How far a merchant's dashboard rollups reach: every local day up to `through_day` is in them."""

    merchant = models.OneToOneField(
        "org.Merchant", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    through_day = models.DateField()
    rolled_at = models.DateTimeField()

    def __str__(self):
        return f"{self.merchant_id} through {self.through_day}"


# ---- the pages' counts, kept per home store (analytics.page_counts) --------------------------------------------
# Derived rows, rebuilt whole by page_counts.refresh after every scoring: a page sums the rows of the stores in
# the viewer's scope instead of counting a million members. `store` is the members' home store (null: none).


def _counted_store():
    return node_field(optional=True, on_delete=models.CASCADE)


class ClassCell(models.Model):
    """How many active members of a home store hold one combination of RFM class, ABCD class and life stage."""

    merchant = merchant_field(on_delete=models.CASCADE)
    store = _counted_store()
    rfm_class = models.CharField(max_length=20, blank=True)
    abcd_class = models.CharField(max_length=1, blank=True)
    life_stage = models.CharField(max_length=20, blank=True)
    members = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["merchant", "store"], name="analytics_classcell_store")]

    def __str__(self):
        return f"{self.store_id} {self.rfm_class}/{self.abcd_class}/{self.life_stage}: {self.members}"


class ClassMoveCell(models.Model):
    """How many active members of a home store were in class `was` the month before `month` and in `now` at it.

    `was` is "" for a member with no snapshot the month before (or an empty class then).
    """

    merchant = merchant_field(on_delete=models.CASCADE)
    store = _counted_store()
    month = models.DateField()
    field = models.CharField(max_length=20)  # rfm_class, abcd_class or life_stage
    was = models.CharField(max_length=20, blank=True)
    now = models.CharField(max_length=20, blank=True)
    members = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["merchant", "month", "field"], name="analytics_movecell_month")]

    def __str__(self):
        return f"{self.store_id} {self.month:%Y-%m} {self.field} {self.was}→{self.now}: {self.members}"


class CohortCell(models.Model):
    """How many active members of a home store who joined in `cohort_month` bought in `month`.

    `month` null: the cohort's size (every member who joined then). Months 0..11 after joining are kept.
    """

    merchant = merchant_field(on_delete=models.CASCADE)
    store = _counted_store()
    cohort_month = models.DateField()
    month = models.DateField(null=True, blank=True)
    members = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["merchant", "cohort_month"], name="analytics_cohortcell_month")]

    def __str__(self):
        return f"{self.store_id} {self.cohort_month:%Y-%m} → {self.month}: {self.members}"


class FlowCell(models.Model):
    """One month's buyers among the active members of a home store: new, returning, and the members lost in it."""

    merchant = merchant_field(on_delete=models.CASCADE)
    store = _counted_store()
    month = models.DateField()
    buyers = models.IntegerField(default=0)
    new = models.IntegerField(default=0)
    returning = models.IntegerField(default=0)
    lost = models.IntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["merchant", "month"], name="analytics_flowcell_month")]

    def __str__(self):
        return f"{self.store_id} {self.month:%Y-%m}: +{self.new} ↺{self.returning} −{self.lost}"


class StoreLiabilityBalance(models.Model):
    """What the cards issued at a store owed (stored value, or points) at the end of the last rolled-up day.

    Written with each roll-up from the accounts' balances less the postings made since that day ended,
    so a liability chart starts from it instead of summing every account of the scope on each view.
    """

    merchant = merchant_field(on_delete=models.CASCADE)
    store = node_field(on_delete=models.CASCADE)  # the cards' issuing store
    kind = models.CharField(max_length=20, choices=LiabilityKind.choices)
    balance = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "kind"], name="analytics_svbalance_unique")]
        indexes = [models.Index(fields=["merchant", "kind"], name="analytics_svbalance_kind")]

    def __str__(self):
        return f"{self.store_id} {self.kind}: {self.balance}"


class TierCell(models.Model):
    """How many active members of a home store hold a tier (the dashboards' tier chart adds these up)."""

    merchant = merchant_field(on_delete=models.CASCADE)
    store = _counted_store()
    tier = models.ForeignKey("loyalty.Tier", on_delete=models.CASCADE, related_name="+")
    members = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["merchant", "store"], name="analytics_tiercell_store")]

    def __str__(self):
        return f"{self.store_id} tier {self.tier_id}: {self.members}"


class CountsState(models.Model):
    """When a merchant's page counts were last rebuilt, the months that had a class snapshot then, and the N of
    "lost after N months" the flow cells were counted with."""

    merchant = models.OneToOneField("org.Merchant", on_delete=models.CASCADE, related_name="+")
    refreshed_at = models.DateTimeField()
    snapshot_months = models.JSONField(default=list)  # "YYYY-MM-01", newest first
    lost_after_months = models.PositiveSmallIntegerField(default=12)

    def __str__(self):
        return f"counts of {self.merchant_id} as of {self.refreshed_at}"
