"""The logged-in staff member's own account: changing their password."""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.http import HttpResponseRedirect
from django.utils.translation import gettext as _

from onecard.core.errors import BusinessError

from . import services


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's own-password page, writing through the staff service so that the change is audited."""

    def form_valid(self, form):
        user = self.request.user
        try:
            services.set_staff_password(user, user, form.cleaned_data["new_password1"])
        except BusinessError as exc:
            for message in getattr(exc, "errors", {}).get("password", [exc.message]):
                form.add_error("new_password1", str(message))
            return self.form_invalid(form)
        update_session_auth_hash(self.request, user)  # stay logged in on this device
        messages.success(self.request, _("Your password was changed."))
        return HttpResponseRedirect(self.get_success_url())
