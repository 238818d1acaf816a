from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MembersConfig(AppConfig):
    """Members and customers: profiles, tags, custom fields, contacts, consent, import and export."""

    name = "onecard.members"
    label = "members"
    verbose_name = _("Members")

    def ready(self):
        # Django's rule: a module that imports models is imported once the app registry is ready.
        from . import hooks

        hooks.connect()
