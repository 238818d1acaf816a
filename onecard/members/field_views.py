"""The merchant's member definitions: tags and custom fields, each a list with a form to add one and delete.

Both need members.manage_fields and belong to the merchant the user works on; the services
(create_tag, define_custom_field, delete_...) check and audit every change.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied as Forbidden
from django.db.models import Count
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from onecard.core.errors import BusinessError
from onecard.core.object_views import ManagedView

from . import labels
from .forms import CustomFieldForm, TagForm
from .models import CustomField, Tag
from .views import merchant_for, show_business_error


class DefinitionListView(ManagedView):
    """A list of the merchant's definitions, a form that adds one (`create`) and a delete button (`delete`).

    A delete POSTs action=delete with the record's id under `key`. Refusals are shown on the form
    (field errors) or as a message; nothing is written.
    """

    http_method_names = ["get", "post"]
    permissions = ("members.manage_fields",)
    form_class = None
    # "tag": the page renders members/tag_list.html with the list as "tags", POST tag=<id> deletes one,
    # and every change leads back to members:tags.
    key = None
    label_field = "name"
    created_message = deleted_message = None

    def get_merchant(self):
        merchant = merchant_for(self.user)
        if merchant is None:
            raise Forbidden("no merchant")
        return merchant

    def create(self, form):
        """Call the service that defines the record; return it."""
        raise NotImplementedError

    def delete(self, record):
        """Call the service that deletes the record."""
        raise NotImplementedError

    def get(self, request, *args, **kwargs):
        return self.render_page(self.form_class())

    def post(self, request, *args, **kwargs):
        form = self.form_class()
        try:
            if request.POST.get("action") == "delete":
                record = self.object_or_404(request.POST.get(self.key) or 0)
                self.delete(record)
                return self.done(self.deleted_message, record)
            form = self.form_class(request.POST)
            if form.is_valid():
                return self.done(self.created_message, self.create(form))
        except BusinessError as exc:
            show_business_error(request, exc, form)
        return self.render_page(form)

    def done(self, message, record):
        label = getattr(record, self.label_field)
        messages.success(self.request, message % {"name": label, "label": label})
        return redirect(f"members:{self.key}s")

    def render_page(self, form):
        context = {f"{self.key}s": self.get_queryset(), "form": form}
        return render(self.request, f"members/{self.key}_list.html", context)


class TagList(DefinitionListView):
    """The merchant's tags with how many members carry each; create and delete."""

    model = Tag
    not_found = _("No such tag.")
    form_class = TagForm
    key = "tag"
    created_message = _("Tag %(name)s created.")
    deleted_message = _("Tag %(name)s deleted.")

    def get_queryset(self):
        return super().get_queryset().annotate(n=Count("members")).order_by("name")

    def create(self, form):
        return labels.create_tag(
            self.user, self.merchant, form.cleaned_data["name"], form.cleaned_data["color"]
        )

    def delete(self, tag):
        labels.delete_tag(self.user, tag)


class CustomFieldList(DefinitionListView):
    """The merchant's custom member fields; create and delete."""

    model = CustomField
    not_found = _("No such field.")
    form_class = CustomFieldForm
    key = "field"
    label_field = "label"
    created_message = _("Field %(label)s created.")
    deleted_message = _("Field %(label)s deleted.")

    def create(self, form):
        data = form.cleaned_data
        return labels.define_custom_field(
            self.user,
            self.merchant,
            key=data["key"] or "",
            label=data["label"] or "",
            field_type=data["field_type"],
            choices=list((data["choices"] or "").splitlines()),
            required=data["required"],
            position=data["position"] or 0,
        )

    def delete(self, field):
        labels.delete_custom_field(self.user, field)


# The URL confs name these views as functions: one view object per page.
tag_list = TagList.as_view()
custom_field_list = CustomFieldList.as_view()
