"""The package definitions pages (list, create, edit, take off sale; products.manage) and the member 360 section.

Selling, using and refunding packages at the till are the till's (pos.till.packages).
"""

from django.utils.translation import gettext_lazy

from onecard.core.money import fen_to_yuan_str
from onecard.core.object_views import ObjectActionView, ObjectEditView, ObjectListView
from onecard.loyalty.models import ServicePackage
from onecard.loyalty.packages import services as packages
from onecard.loyalty.packages.forms import (
    PackageDefinitionForm,
)
from onecard.members.sections import add_section
from onecard.org.queries import merchant_for_request, merchant_stores

MEMBER_SECTION = {
    "key": "packages",
    "title": gettext_lazy("次卡/期限卡 Packages"),
    "empty": gettext_lazy("No packages yet."),
    "template": "loyalty/packages/member_section.html",
}


def register_member_section():
    """Add the "Packages" section to the member 360 page, after the transactions (once; from AppConfig.ready)."""
    add_section(MEMBER_SECTION)


def _yuan(fen) -> str:
    return fen_to_yuan_str(fen or 0)


# ---- definitions ----------------------------------------------------------------------------------------


class PackageDefinitionPage:
    """Package definitions of the staff's merchant; a system administrator picks one (?merchant=, the first)."""

    permissions = ("products.manage",)
    model = ServicePackage
    not_found = gettext_lazy("No such package.")

    def get_merchant(self):
        # The menu links here for the system administrator too, who has no node: like every merchant page.
        return merchant_for_request(self.request)


class DefinitionList(PackageDefinitionPage, ObjectListView):
    """The merchant's package definitions, on sale first."""

    template_name = "loyalty/packages/definitions.html"
    context_object_name = "items"

    def get_queryset(self):
        return super().get_queryset().prefetch_related("lines", "stores").order_by("-is_active", "name")

    def row(self, package):
        return {"package": package, "price": _yuan(package.price)}


class DefinitionEdit(PackageDefinitionPage, ObjectEditView):
    """Create (no pk) or edit a package definition; sold packages keep the terms they were sold with."""

    form_class = PackageDefinitionForm
    template_name = "loyalty/packages/definition_form.html"
    object_name = "package"
    success_url = "packages:package_definitions"
    success_message = gettext_lazy("Package %(name)s saved.")
    invalid_status = 400

    def form_kwargs(self):
        return {"stores_queryset": merchant_stores(self.merchant)}

    def initial(self):
        package = self.object
        if package is None:
            return None
        lines = "\n".join(
            f"{line.service} × {line.uses}" if line.uses else line.service for line in package.lines.all()
        )
        return {
            "name": package.name,
            "kind": package.kind,
            "price": _yuan(package.price),
            "lines": lines,
            "validity_days": package.validity_days,
            "daily_cap": package.daily_cap,
            "stores": list(package.stores.all()),
        }

    def save(self, form):
        data = form.cleaned_data
        fields = {name: data[name] for name in ("name", "kind", "price", "validity_days", "daily_cap")}
        terms = {"lines": data["parsed_lines"], "stores": data["stores"], **fields}
        if self.object is None:
            return packages.create_package(self.user, self.merchant, **terms)
        return packages.update_package(self.user, self.object, **terms)


class DefinitionDeactivate(PackageDefinitionPage, ObjectActionView):
    """Take a package off sale; packages already sold keep working."""

    success_url = "packages:package_definitions"
    success_message = gettext_lazy("Package %(name)s is off sale.")

    def act(self, package):
        packages.deactivate_package(self.user, package)


definitions = DefinitionList.as_view()
definition_form = DefinitionEdit.as_view()
definition_deactivate = DefinitionDeactivate.as_view()
