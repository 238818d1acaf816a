"""The permission catalogue and the built-in roles.

A permission is a code "<area>.<action>"; Django's `user.has_perm("members.view")` and templates'
`perms.members.view` both read it, because Staff.has_perm consults the staff's roles.
"""

from django.utils.translation import gettext_lazy as _

PERMISSIONS = {
    "members.view": _("View members"),
    "members.add": _("Add members"),
    "members.change": _("Change members"),
    "members.merge": _("Merge members"),
    "members.transfer": _("Transfer members between owners"),
    "members.reveal_pii": _("Reveal full phone and ID numbers"),
    "members.import": _("Import members"),
    "members.export": _("Export members"),
    "members.manage_fields": _("Define tags and custom fields"),
    "org.view": _("View the organisation tree"),
    "org.manage": _("Manage the organisation tree"),
    "staff.view": _("View staff"),
    "staff.manage": _("Manage staff"),
    "roles.manage": _("Manage roles"),
    "terminals.manage": _("Manage terminals"),
    "audit.view": _("View the audit log"),
    "cards.view": _("View cards"),
    "cards.issue": _("Issue card batches into stock"),
    "cards.manage": _("Bind, activate, freeze, report lost, replace and merge cards; reset card passwords"),
    "cards.cancel": _("Cancel cards"),
    "products.manage": _("Manage card products, tiers, and top-up, points and rebate rules"),
    "prepaid.manage": _("Manage prepaid-card rules: agreements, tender limits, refund pricing"),
    "points.adjust": _("Adjust members' points by hand (with a reason)"),
    "till.operate": _("Work the cashier screen: top up, charge, refund, redeem points"),
    "till.refund_large": _("Refund above the cashier's limit at the till"),
    "shifts.view": _("See every shift of the stores in scope, close a forgotten one, read the day's report"),
    "invoices.view": _("Read and export the invoice facts of top-ups and sales"),
    "till.void_late": _(
        "Approve voids of top-ups and charges after the cashier's window, or of another cashier's"
    ),
    "settlement.view": _("View settlement statements between stores and merchants"),
    "settlement.settle": _("Mark settlement statements as paid"),
    "catalog.view": _("View the catalogue of products and services"),
    "catalog.manage": _("Manage the catalogue: products, categories, member prices, import"),
    "promotions.view": _("View promotions and coupon templates"),
    "promotions.manage": _("Create and change promotions and coupon templates for the stores in scope"),
    "coupons.issue": _("Issue coupons to members, by hand or in bulk"),
    "analytics.view": _("Read member analytics and dashboards of the stores in scope"),
    "analytics.manage": _("Set the scoring thresholds and recompute members' classes and value"),
    "reports.build": _("Build, save and share reports of the data in scope"),
    "sales.import": _("Import historical sales from another system"),
}

PERMISSION_GROUPS = [
    (_("Members"), [p for p in PERMISSIONS if p.startswith("members.")]),
    (
        _("Organisation and staff"),
        [p for p in PERMISSIONS if p.split(".")[0] in {"org", "staff", "roles", "terminals"}],
    ),
    (_("Cards"), [p for p in PERMISSIONS if p.split(".")[0] in {"cards", "products", "prepaid"}]),
    (_("Points"), ["points.adjust"]),
    (_("Cashier"), [p for p in PERMISSIONS if p.split(".")[0] in {"till", "shifts"}]),
    (_("Invoices"), ["invoices.view"]),
    (_("Settlement"), [p for p in PERMISSIONS if p.startswith("settlement.")]),
    (
        _("Catalogue and promotions"),
        [p for p in PERMISSIONS if p.split(".")[0] in {"catalog", "promotions", "coupons"}],
    ),
    (_("Audit"), ["audit.view"]),
    (_("Analytics"), ["analytics.view", "analytics.manage", "reports.build", "sales.import"]),
]

ALL = list(PERMISSIONS)

# code: (name, permissions). System admin is a superuser and needs no list.
BUILTIN_ROLES = {
    "system_admin": (_("System administrator"), ALL),
    "hq_admin": (_("HQ administrator"), ALL),
    "region_manager": (
        _("Region manager"),
        # Card products, tiers and the catalogue are merchant-wide: set at head office.
        [
            p
            for p in ALL
            if p
            not in {
                "roles.manage",
                "members.manage_fields",
                "products.manage",
                "prepaid.manage",
                "catalog.manage",
            }
        ],
    ),
    "store_manager": (
        _("Store manager"),
        [
            "members.view",
            "members.add",
            "members.change",
            "members.merge",
            "members.transfer",
            "members.reveal_pii",
            "members.import",
            "members.export",
            "org.view",
            "staff.view",
            "audit.view",
            "terminals.manage",
            "cards.view",
            "cards.issue",
            "cards.manage",
            "cards.cancel",
            "points.adjust",
            "till.operate",
            "till.refund_large",
            "shifts.view",
            "invoices.view",
            "till.void_late",
            "settlement.view",
            "catalog.view",
            "promotions.view",
            "coupons.issue",
            "analytics.view",
            "reports.build",
        ],
    ),
    "cashier": (
        _("Cashier"),
        [
            "members.view",
            "members.add",
            "members.change",
            "cards.view",
            "cards.manage",
            "till.operate",
            # Read-only: a cashier looks prices up (the till's product search, the catalogue list).
            "catalog.view",
        ],
    ),
    "marketer": (
        _("Marketer"),
        [
            "members.view",
            "members.export",
            "org.view",
            "cards.view",
            "catalog.view",
            "promotions.view",
            "promotions.manage",
            "coupons.issue",
            "analytics.view",
            "reports.build",
        ],
    ),
    "sales_rep": (
        _("Sales rep"),
        ["members.view", "members.add", "members.change", "members.transfer", "cards.view"],
    ),
    "service_agent": (_("Service agent"), ["members.view", "members.change", "cards.view"]),
}


def label(code):
    return PERMISSIONS.get(code, code)


def refresh_builtin_roles(apps, schema_editor):
    """Data-migration step: create or update every built-in role from BUILTIN_ROLES.

    Each migration that adds permission codes runs this, so existing databases get them too.
    """
    Role = apps.get_model("org", "Role")
    for code, (name, perms) in BUILTIN_ROLES.items():
        Role.objects.update_or_create(
            code=code,
            merchant=None,
            is_builtin=True,
            defaults={"name": str(name), "permissions": list(perms)},
        )


# Holding any of these makes the second factor (an authenticator app's code) compulsory at log-in
# (org.second_factor, docs/security.md). They are the permissions that change rules for many stores
# or for people's access, and those that reveal or carry away personal data. The node does not
# matter: a store manager who reveals ID numbers is as much a PIPL risk as head office.
SECOND_FACTOR_PERMISSIONS = frozenset(
    {
        # rules and access
        "org.manage",
        "staff.manage",
        "roles.manage",
        "terminals.manage",  # a terminal's secret moves money
        "products.manage",
        "prepaid.manage",
        "catalog.manage",
        "promotions.manage",
        "members.manage_fields",
        # personal data
        "members.reveal_pii",
        "members.export",
    }
)
