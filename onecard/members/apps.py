from django.utils.translation import gettext_lazy as _

from onecard.core import app_config


class MembersConfig(app_config.HooksAppConfig):
    """Members and customers: profiles, tags, custom fields, contacts, consent, import and export."""

    name = "onecard.members"
    label = "members"
    verbose_name = _("Members")
