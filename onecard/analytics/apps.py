from django.utils.translation import gettext_lazy as _

from onecard.core import app_config


class AnalyticsConfig(app_config.HooksAppConfig):
    """Member analytics: per-member facts kept current, RFM/ABC/life cycle, value, cohorts, basket, dashboards."""

    name = "onecard.analytics"
    label = "analytics"
    verbose_name = _("Analytics")
