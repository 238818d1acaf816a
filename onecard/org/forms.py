"""Forms of the organisation pages: they parse input; the rules live in services."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from onecard.core.errors import ValidationFailed

from .choices import NodeKind
from .permissions import PERMISSION_GROUPS, PERMISSIONS

# Business errors without a field of their own, shown next to the field they concern.
_FIELD_OF_CODE = {
    "permission_denied": "roles",
    "self_deactivation": "is_active",
    "builtin_role": None,
    "role_in_use": None,
}


def apply_service_errors(form, exc, *, permission_field="roles"):
    """Put a service's refusal onto the form: field errors next to their fields, the rest on top."""
    if isinstance(exc, ValidationFailed):
        for name, messages in exc.errors.items():
            field = name if name in form.fields else None
            for message in messages if isinstance(messages, (list, tuple)) else [messages]:
                form.add_error(field, str(message))
        return
    field = exc.field or _FIELD_OF_CODE.get(exc.code)
    if exc.code == "permission_denied":
        field = permission_field
    form.add_error(field if field in form.fields else None, str(exc.message))


class NodeCreateForm(forms.Form):
    """A region or store below a given parent."""

    kind = forms.ChoiceField(label=_("Type"))
    name = forms.CharField(label=_("Name"), max_length=100)
    code = forms.CharField(
        label=_("Code"), max_length=30, help_text=_("Unique within the merchant, e.g. SH01.")
    )
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=30, required=False)

    def __init__(self, *args, parent, **kwargs):
        super().__init__(*args, **kwargs)
        # Regions may nest (any depth); nothing sits below a store.
        allowed = [] if parent.kind == NodeKind.STORE else [NodeKind.REGION, NodeKind.STORE]
        self.fields["kind"].choices = [(k.value, k.label) for k in allowed]


class NodeEditForm(forms.Form):
    """What may change about a node: it is never moved, because its history points at it."""

    name = forms.CharField(label=_("Name"), max_length=100)
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=30, required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False)


class RoleChoiceField(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, obj):
        if obj.merchant_id is None:
            return str(obj.name)
        return f"{obj.name} ({_('custom')})"


class StaffFormBase(forms.Form):
    node = forms.ModelChoiceField(label=_("Org node"), queryset=None, empty_label=None)
    roles = RoleChoiceField(label=_("Roles"), queryset=None, required=False)
    display_name = forms.CharField(label=_("Display name"), max_length=60, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)

    def __init__(self, *args, nodes, roles, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["node"].queryset = nodes
        self.fields["node"].label_from_instance = _node_label
        self.fields["roles"].queryset = roles


def _node_label(node):
    indent = "\u2003" * node.depth
    return f"{indent}{node.name} ({node.code})"


class PasswordTwiceMixin:
    """A form whose password1 and password2 must match (each form labels the two fields its own way)."""

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password2") and data["password1"] != data["password2"]:
            self.add_error("password2", _("The two passwords differ."))
        return data


class StaffCreateForm(PasswordTwiceMixin, StaffFormBase):
    """A new staff account."""

    field_order = ["username", "display_name", "phone", "email", "node", "roles", "password1", "password2"]

    username = forms.CharField(label=_("Username"), max_length=150)
    password1 = forms.CharField(label=_("Password"), widget=forms.PasswordInput(render_value=False))
    password2 = forms.CharField(label=_("Password again"), widget=forms.PasswordInput(render_value=False))


class StaffEditForm(StaffFormBase):
    """Changes to an account; clearing 'active' is how someone leaves (离职)."""

    field_order = ["display_name", "phone", "email", "node", "roles", "is_active"]

    is_active = forms.BooleanField(
        label=_("Active"),
        required=False,
        help_text=_("Clear this when the person leaves; they can no longer log in."),
    )


class PasswordForm(PasswordTwiceMixin, forms.Form):
    """A new password typed twice."""

    password1 = forms.CharField(label=_("New password"), widget=forms.PasswordInput(render_value=False))
    password2 = forms.CharField(label=_("New password again"), widget=forms.PasswordInput(render_value=False))


class RoleForm(forms.Form):
    """A custom role: a name and the permissions it grants, ticked in groups."""

    name = forms.CharField(label=_("Name"), max_length=60)
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    permissions = forms.MultipleChoiceField(
        label=_("Permissions"),
        choices=[(code, label) for code, label in PERMISSIONS.items()],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    def __init__(self, *args, merchants=None, **kwargs):
        super().__init__(*args, **kwargs)
        if merchants is not None:  # a system administrator picks whose role it is
            self.fields["merchant"] = forms.ModelChoiceField(
                label=_("Merchant"), queryset=merchants, empty_label=None
            )

    def permission_groups(self):
        """[(group label, [(code, label, checked)])] in the order of PERMISSION_GROUPS."""
        chosen = set(self["permissions"].value() or [])
        return [
            (group, [(code, PERMISSIONS[code], code in chosen) for code in codes])
            for group, codes in PERMISSION_GROUPS
        ]


class LanguageForm(forms.Form):
    """The language of one's own pages."""

    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        help_text=_("The pages follow this setting, whatever language the browser asks for."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [("", _("Default (Simplified Chinese)")), *settings.LANGUAGES]


class SecondFactorCodeForm(forms.Form):
    """The code of the second step: six digits from the authenticator app, or a recovery code."""

    code = forms.CharField(
        label=_("Verification code"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false", "size": 12}
        ),
    )


def _pin_input(**attrs):
    # Digits on a touch screen's keypad; never filled in by the browser.
    return forms.PasswordInput(
        attrs={"inputmode": "numeric", "autocomplete": "off", "maxlength": 6, "size": 8, **attrs},
        render_value=False,
    )


class TillPinForm(forms.Form):
    """One's own till PIN, typed twice, after the current password."""

    current_password = forms.CharField(
        label=_("Current password"), widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    pin = forms.CharField(
        label=_("New till PIN"),
        widget=_pin_input(),
        help_text=_("Six digits, not easy to guess. With your username it logs you in at the till."),
    )
    pin2 = forms.CharField(label=_("New till PIN again"), widget=_pin_input())

    def clean(self):
        data = super().clean()
        if data.get("pin") and data.get("pin2") and data["pin"] != data["pin2"]:
            self.add_error("pin2", _("The two PINs differ."))
        return data


class StaffCardForm(forms.Form):
    """The number of a staff card (工牌), as its reader types it."""

    number = forms.CharField(
        label=_("Staff card number"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class TillLoginForm(forms.Form):
    """The till's quick log-in: a staff card swipe, or a staff code with the till PIN."""

    entry = forms.CharField(
        label=_("Staff card or staff code"),
        max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off", "spellcheck": "false"}),
    )
    pin = forms.CharField(label=_("Till PIN"), required=False, max_length=6, widget=_pin_input())
