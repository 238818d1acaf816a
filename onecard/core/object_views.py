"""Generic management pages: a page declares its model, form, template, permissions and service call.

As NetBox's ObjectListView / ObjectEditView: the list, create-or-edit and on/off pages of the back office
differ only in what they declare, so the steps live here once — sign-in, permission, the user's merchant,
the object looked up within what the user may manage (404 otherwise), the form, the service call in one
transaction, a refusal shown on the form with nothing written, the success message and the redirect.
Views stay thin: every write is the declared `save` calling a service.
"""

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views import View

from .errors import BusinessError
from .flash import call_and_flash
from .forms import show_service_error
from .paging import page_of
from .permissions import require_perms
from .scoping import managed_merchant


class ManagedView(View):
    """Signed in, an allowed method, every permission in `permissions`; then `self.merchant` is set."""

    permissions: tuple = ()
    # Merchant-wide records (products, tiers, rules) belong to the merchant the user manages.
    model = None
    merchant_field = "merchant"
    not_found = _("No such record.")

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if request.method.lower() not in self.http_method_names:
            return self.http_method_not_allowed(request, *args, **kwargs)
        require_perms(request.user, *self.permissions)
        self.user = request.user
        self.merchant = self.get_merchant()
        self.setup_page()
        return super().dispatch(request, *args, **kwargs)

    def setup_page(self):
        """Look up what the page is about, once the permission and the merchant are known."""

    def get_merchant(self):
        """The merchant whose records the page shows (404 when the user has none)."""
        return managed_merchant(self.user)

    def get_queryset(self):
        """The records the user may reach on this page: the merchant's, unless a page narrows it further."""
        return self.model.objects.filter(**{self.merchant_field: self.merchant})

    def object_or_404(self, pk):
        """The record `pk` among get_queryset(), or a 404 that says what is missing."""
        found = self.get_queryset().filter(pk=pk).first()
        if found is None:
            raise Http404(self.not_found)
        return found


class ObjectListView(ManagedView):
    """A read-only list: `get_queryset()` (paginated when `paginate_by`), each record through `row()`."""

    http_method_names = ["get", "head"]
    template_name = None
    context_object_name = "rows"
    paginate_by = None
    extra_context = None

    def row(self, record):
        """What the template shows for one record (the record itself unless a page says more)."""
        return record

    def get_context_data(self):
        """Anything else the page shows next to the list."""
        return {}

    def get(self, request, *args, **kwargs):
        records = self.get_queryset()
        context = dict(self.extra_context or {})
        if self.paginate_by:
            page = page_of(request, records, self.paginate_by)
            context["page"], records = page, page.object_list
        context[self.context_object_name] = [self.row(record) for record in records]
        context.update(self.get_context_data())
        return render(request, self.template_name, context)


class ObjectEditView(ManagedView):
    """Create (no `pk` in the URL) or edit (`pk`) one record through the service call in `save`.

    A page declares `form_class`, `template_name`, `permissions`, `model` (with `not_found`),
    `success_url` (a URL name), `success_message` (may use %(name)s), `object_name` (the template's
    name for the record), optionally the page titles `new_title` and `edit_title` (core/object_form.html
    shows them), and writes `save(form)`. A service refusal (BusinessError) rolls the whole save back and
    is shown on the form: field errors next to their fields, anything else above it.
    """

    http_method_names = ["get", "post"]
    form_class = None
    template_name = None
    object_name = "object"
    success_url = None
    success_message = _("Saved.")
    new_title = None
    edit_title = None
    extra_context = None
    # Edit forms that compare the input with what was shown (form.changed_data) get the initial on POST too.
    initial_on_post = False
    # The status of a form sent back with errors (some pages answer 400; an unbound form is a 200).
    invalid_status = 200

    def setup_page(self):
        self.setup_object()

    def setup_object(self):
        """Look the record up (None when creating)."""
        pk = self.kwargs.get("pk")
        self.object = None if pk is None else self.object_or_404(pk)

    def form_kwargs(self):
        """Extra arguments of the form (the choices it offers: stores, products...)."""
        return {}

    def initial(self):
        """The form's first values: the record's when editing (form_class.initial_for), else the defaults."""
        if self.object is not None and hasattr(self.form_class, "initial_for"):
            return self.form_class.initial_for(self.object)
        return None

    def get_form(self, data=None):
        kwargs = self.form_kwargs()
        if data is None or self.initial_on_post:
            kwargs["initial"] = self.initial()
        return self.form_class(data, **kwargs)

    def save(self, form):
        """Call the service that writes the record; return what was saved (for the message)."""
        raise NotImplementedError

    def get_success_url(self, saved):
        """Where a saved form leads: `success_url` (a URL name or a path) unless the page says more."""
        return self.success_url

    def refused(self, form, exc):
        """Show a service refusal on the form (a page may first map the service's field names to its own)."""
        show_service_error(form, exc)

    def message(self, saved):
        """The success message, with the saved record's name where it says %(name)s."""
        return self.success_message % {"name": getattr(saved, "name", "")}

    def get_context_data(self):
        """Anything else the form page shows."""
        return {}

    def render_form(self, form, status=200):
        context = {"view": self, "form": form, self.object_name: self.object, **(self.extra_context or {})}
        context.update(self.get_context_data())
        return render(self.request, self.template_name, context, status=status)

    def get(self, request, *args, **kwargs):
        return self.render_form(self.get_form())

    def post(self, request, *args, **kwargs):
        form = self.get_form(request.POST)
        if form.is_valid():
            try:
                with transaction.atomic():
                    saved = self.save(form)
            except BusinessError as exc:
                # The service may have changed the record in memory before it refused: show the stored one.
                self.setup_object()
                self.refused(form, exc)
            else:
                messages.success(request, self.message(saved))
                return redirect(self.get_success_url(saved))
        return self.render_form(form, status=self.invalid_status if form.errors else 200)


class ObjectActionView(ManagedView):
    """POST: one service call on one record (deactivate, switch off...), a message, back to `success_url`.

    A refusal is shown as an error message; the record stays as it was.
    """

    http_method_names = ["post"]
    success_url = None
    success_message = _("Updated.")

    def act(self, record):
        """Call the service."""
        raise NotImplementedError

    def post(self, request, *args, **kwargs):
        record = self.object_or_404(kwargs["pk"])
        call_and_flash(request, lambda: self.act(record), self.success_message % {"name": record.name})
        return redirect(self.success_url)


class ObjectToggleView(ObjectActionView):
    """POST active=1/0 switches a record on or off through `switch(record, active)`."""

    def switch(self, record, active):
        """Call the service that switches the record."""
        raise NotImplementedError

    def act(self, record):
        self.switch(record, self.request.POST.get("active") == "1")
