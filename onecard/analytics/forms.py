"""The analytics settings form: scoring window and boundaries, ABCD split, life-cycle thresholds."""

from django import forms
from django.utils.translation import gettext_lazy as _

from onecard.analytics.models import AnalyticsSettings


def _four_ascending(value, name):
    if value in (None, "", []):
        return []
    if (
        not isinstance(value, list)
        or len(value) != 4
        or not all(isinstance(v, int) and v >= 0 for v in value)
    ):
        raise forms.ValidationError(_("%(name)s: give four whole numbers, smallest first.") % {"name": name})
    if value != sorted(value) or len(set(value)) != 4:
        raise forms.ValidationError(
            _("%(name)s: give four different numbers, smallest first.") % {"name": name}
        )
    return value


class FourNumbersField(forms.CharField):
    """Four boundaries typed as "30, 60, 90, 180" (empty: the defaults)."""

    def prepare_value(self, value):
        return ", ".join(str(v) for v in value) if isinstance(value, list) else value

    def to_python(self, value):
        text = (value or "").replace("，", ",").strip()
        if not text:
            return []
        try:
            return [int(part) for part in text.split(",")]
        except ValueError:
            raise forms.ValidationError(_("Give whole numbers separated by commas.")) from None


class AnalyticsSettingsForm(forms.ModelForm):
    """A merchant's scoring settings; the day thresholds must grow: new ≤ active ≤ lapsing ≤ dormant."""

    recency_days = FourNumbersField(label=_("Recency boundaries (days, at most)"), required=False)
    frequency_counts = FourNumbersField(label=_("Frequency boundaries (purchases, at least)"), required=False)
    monetary_amounts = FourNumbersField(label=_("Money boundaries (fen, at least)"), required=False)

    class Meta:
        model = AnalyticsSettings
        fields = [
            "window_months", "score_method", "recency_days", "frequency_counts", "monetary_amounts",
            "abcd_method", "abcd_top_percent", "abcd_frequency", "abcd_amount",
            "new_days", "active_days", "warning_days", "dormant_days",
        ]  # fmt: skip

    def clean_window_months(self):
        months = self.cleaned_data["window_months"]
        if not 1 <= months <= 60:
            raise forms.ValidationError(_("The window is 1 to 60 months."))
        return months

    def clean_abcd_top_percent(self):
        percent = self.cleaned_data["abcd_top_percent"]
        if not 1 <= percent <= 99:
            raise forms.ValidationError(_("The top share is 1 to 99 percent."))
        return percent

    def clean(self):
        data = super().clean()
        for name, label in (
            ("recency_days", _("Recency")), ("frequency_counts", _("Frequency")), ("monetary_amounts", _("Money")),
        ):  # fmt: skip
            if name in data:
                try:
                    data[name] = _four_ascending(data[name], label)
                except forms.ValidationError as error:
                    self.add_error(name, error)
        days = [data.get(n) for n in ("new_days", "active_days", "warning_days", "dormant_days")]
        if None not in days and days != sorted(days):
            raise forms.ValidationError(_("The day thresholds must grow: new ≤ active ≤ lapsing ≤ dormant."))
        if data.get("score_method") == "fixed" and not all(
            data.get(n) for n in ("recency_days", "frequency_counts", "monetary_amounts")
        ):
            raise forms.ValidationError(_("Fixed boundaries need all three sets of four numbers."))
        return data
