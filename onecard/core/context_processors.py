"""Template context shared by every page: the navigation the user's permissions allow."""

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

# (label, url name, permission (or a tuple: any of them) or None, icon)
NAVIGATION = [
    (_("Home"), "home", None, "⌂"),
    (_("Cashier desk"), "till:cashier", "till.operate", "¥"),
    (_("New sale"), "till_sale:sale", "till.operate", "+"),
    (_("My shift"), "pos:shift_current", "till.operate", "⏲"),
    (_("Shifts"), "pos:shift_list", "shifts.view", "☷"),
    (_("Members"), "members:list", "members.view", "☺"),
    (_("Import members"), "members:import", "members.import", "⇪"),
    (_("Cards"), "cards:list", "cards.view", "▤"),
    (_("Organisation"), "org:tree", "org.view", "◇"),
    (_("Staff"), "org:staff_list", "staff.view", "☰"),
    (_("Roles"), "org:role_list", "roles.manage", "⚑"),
    (_("Terminals"), "pos:terminal_list", "terminals.manage", "▣"),
    (_("Prepaid liability"), "reports:liability", "cards.view", "Σ"),
    (_("Promotion report"), "promotion_reports:report", "promotions.view", "％"),
    (_("Invoice facts"), "invoice_reports:report", "invoices.view", "票"),
    (_("Settlement"), "settlement:list", "settlement.view", "⇄"),
    (_("Count and period cards"), "packages:package_definitions", "products.manage", "⑩"),
    (_("Catalogue"), "catalog:products", "catalog.view", "▦"),
    (_("Promotions"), "promotions:list", "promotions.view", "◎"),
    (_("Coupons"), "coupons:templates", "promotions.view", "✂"),
    (_("Prepaid-card rules"), "prepaid:settings", "prepaid.manage", "§"),
    (_("Dashboards"), "dashboards:dashboard", ("analytics.view", "till.operate"), "▦"),
    (_("Member classes"), "analytics:overview", "analytics.view", "◔"),
    (_("Lifetime value"), "analytics_value:fit", "analytics.view", "◆"),
    (_("Cohorts and retention"), "cohorts:report", "analytics.view", "▤"),
    (_("Promotion and coupon ROI"), "roi:report", "analytics.view", "₪"),
    (_("Products bought together"), "basket:pairs", "analytics.view", "⇄"),
    (_("Reports"), "report_builder:list", "analytics.view", "▥"),
    (_("Import sales"), "sales_import:start", "sales.import", "⇪"),
    (_("Audit log"), "core:audit_log", "audit.view", "✎"),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    items = []
    current = request.resolver_match.view_name if request.resolver_match else ""
    nav_names = {name for _label, name, _perm, _icon in NAVIGATION}
    area_lit = False
    for label, name, perm, icon in NAVIGATION:
        if perm and not any(user.has_perm(p) for p in ((perm,) if isinstance(perm, str) else perm)):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:  # a page that a later part of OneCard adds
            continue
        # A page without its own entry (members:detail) lights up the first entry of its area (members:list).
        same_area = (
            current not in nav_names
            and not area_lit
            and ":" in name
            and current.split(":")[0] == name.split(":")[0]
        )
        area_lit = area_lit or same_area
        items.append({"label": label, "url": url, "icon": icon, "active": current == name or same_area})
    return {"nav_items": items}
