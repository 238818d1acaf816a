"""The package definitions pages (list, create, edit, take off sale; products.manage) and the member 360 section.

Selling, using and refunding packages at the till are the till's (pos.till.packages).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as Forbidden
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from onecard.core.errors import BusinessError, ValidationFailed
from onecard.core.money import fen_to_yuan_str
from onecard.loyalty.models import ServicePackage
from onecard.loyalty.packages import services as packages
from onecard.loyalty.packages.forms import (
    PackageDefinitionForm,
)
from onecard.org.choices import NodeKind
from onecard.org.models import OrgNode

MEMBER_SECTION = {
    "key": "packages",
    "title": gettext_lazy("次卡/期限卡 Packages"),
    "empty": gettext_lazy("No packages yet."),
    "template": "loyalty/packages/member_section.html",
}


def register_member_section():
    """Add the "Packages" section to the member 360 page, after the transactions (once; from AppConfig.ready)."""
    from onecard.members.views import MEMBER_SECTIONS

    if any(section["key"] == MEMBER_SECTION["key"] for section in MEMBER_SECTIONS):
        return
    keys = [section["key"] for section in MEMBER_SECTIONS]
    at = keys.index("transactions") + 1 if "transactions" in keys else len(keys)
    MEMBER_SECTIONS.insert(at, dict(MEMBER_SECTION))


def _require(user, perm):
    if not user.has_perm(perm):
        raise Forbidden(perm)


def _yuan(fen) -> str:
    return fen_to_yuan_str(fen or 0)


# ---- definitions ----------------------------------------------------------------------------------------


def _merchant(request):
    _require(request.user, "products.manage")
    node = request.user.node
    if node is None:
        raise Http404(_("Package definitions belong to a merchant; sign in as its staff."))
    return node.merchant


def _store_choices(merchant):
    return OrgNode.objects.filter(merchant=merchant, kind=NodeKind.STORE, is_active=True).order_by("path")


@login_required
@require_GET
def definitions(request):
    """The merchant's package definitions, on sale first."""
    merchant = _merchant(request)
    rows = ServicePackage.objects.filter(merchant=merchant).prefetch_related("lines", "stores")
    items = [{"package": p, "price": _yuan(p.price)} for p in rows.order_by("-is_active", "name")]
    return render(request, "loyalty/packages/definitions.html", {"items": items})


def _initial(package) -> dict:
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


@login_required
@require_http_methods(["GET", "POST"])
def definition_form(request, pk=None):
    """Create (no pk) or edit a package definition; sold packages keep the terms they were sold with."""
    merchant = _merchant(request)
    package = None
    if pk is not None:
        package = ServicePackage.objects.filter(pk=pk, merchant=merchant).first()
        if package is None:
            raise Http404(_("No such package."))
    stores = _store_choices(merchant)
    if request.method == "GET":
        form = PackageDefinitionForm(initial=_initial(package) if package else {}, stores_queryset=stores)
        return render(request, "loyalty/packages/definition_form.html", {"form": form, "package": package})
    form = PackageDefinitionForm(request.POST, stores_queryset=stores)
    if form.is_valid():
        data = form.cleaned_data
        fields = {
            "name": data["name"],
            "kind": data["kind"],
            "price": data["price"],
            "validity_days": data["validity_days"],
            "daily_cap": data["daily_cap"],
        }
        try:
            if package is None:
                packages.create_package(
                    request.user, merchant, lines=data["parsed_lines"], stores=data["stores"], **fields
                )
            else:
                packages.update_package(
                    request.user, package, lines=data["parsed_lines"], stores=data["stores"], **fields
                )
        except ValidationFailed as exc:
            for field, errors in exc.errors.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, str(error))
        except BusinessError as exc:
            form.add_error(None, str(exc.message))
        else:
            messages.success(request, _("Package %(name)s saved.") % {"name": fields["name"]})
            return redirect("packages:package_definitions")
    return render(
        request, "loyalty/packages/definition_form.html", {"form": form, "package": package}, status=400
    )


@login_required
@require_POST
def definition_deactivate(request, pk):
    """Take a package off sale; packages already sold keep working."""
    merchant = _merchant(request)
    package = ServicePackage.objects.filter(pk=pk, merchant=merchant).first()
    if package is None:
        raise Http404(_("No such package."))
    try:
        packages.deactivate_package(request.user, package)
    except BusinessError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Package %(name)s is off sale.") % {"name": package.name})
    return redirect("packages:package_definitions")
