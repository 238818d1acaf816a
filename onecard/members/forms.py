"""Forms of the members pages. They only collect input: every rule is checked by `services`."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from onecard.core.masking import mask_id_number, mask_phone
from onecard.org.models import OrgNode, Staff

from .choices import FieldType, Gender, MemberKind, Source
from .models import CustomField, Tag

CUSTOM_PREFIX = "cf_"


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        node = f" · {obj.node.name}" if obj.node_id else ""
        return f"{obj}{node}"


class MemberForm(forms.Form):
    """Create or edit a member; option lists are limited to the viewer's merchant and scope."""

    kind = forms.ChoiceField(label=_("Type"), choices=MemberKind.choices, initial=MemberKind.PERSON)
    name = forms.CharField(label=pgettext_lazy("person", "Name"), max_length=100, required=False)
    phone = forms.CharField(
        label=_("Phone"), max_length=30, required=False, widget=forms.TextInput(attrs={"type": "tel"})
    )
    gender = forms.ChoiceField(label=_("Gender"), choices=Gender.choices, required=False)
    birthday = forms.CharField(
        label=_("Birthday"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    id_number = forms.CharField(label=_("ID number"), max_length=30, required=False)
    email = forms.CharField(
        label=_("E-mail"), max_length=254, required=False, widget=forms.TextInput(attrs={"type": "email"})
    )
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    home_store = forms.ModelChoiceField(label=_("Home store"), queryset=OrgNode.objects.none())
    owner = StaffChoiceField(
        label=_("Owner"), queryset=Staff.objects.none(), required=False, empty_label=_("No owner")
    )
    source = forms.ChoiceField(label=_("Source"), choices=Source.choices, initial=Source.STORE)
    source_detail = forms.CharField(label=_("Source detail"), max_length=100, required=False)
    tags = forms.ModelMultipleChoiceField(
        label=_("Tags"), queryset=Tag.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    marketing_consent = forms.BooleanField(label=_("Agrees to receive marketing"), required=False)

    def __init__(self, *args, merchant, stores, owners, member=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.member = member
        self.fields["home_store"].queryset = stores
        self.fields["owner"].queryset = owners
        self.fields["tags"].queryset = Tag.objects.filter(merchant=merchant)
        self.definitions = list(CustomField.objects.filter(merchant=merchant))
        for definition in self.definitions:
            self.fields[CUSTOM_PREFIX + definition.key] = _custom_form_field(definition)
        if member is not None:
            # Phone and ID number are never sent to the browser in full: an empty field keeps the value.
            del self.fields["marketing_consent"]
            masks = (("phone", mask_phone(member.phone)), ("id_number", mask_id_number(member.id_number)))
            for name, masked in masks:
                self.fields[name].widget.attrs["placeholder"] = masked
                self.fields[name].help_text = _("Leave empty to keep the current number.")

    @property
    def custom_fields(self):
        return [self[CUSTOM_PREFIX + d.key] for d in self.definitions]

    @property
    def standard_fields(self):
        return [self[name] for name in self.fields if not name.startswith(CUSTOM_PREFIX)]

    def service_data(self):
        """The cleaned input in the shape `create_member` / `update_member` take."""
        data = dict(self.cleaned_data)
        custom = {d.key: data.pop(CUSTOM_PREFIX + d.key, "") for d in self.definitions}
        data["custom_fields"] = {k: v for k, v in custom.items() if v not in (None, "")}
        data["tags"] = list(data.get("tags") or [])
        if self.member is not None:
            for name in ("phone", "id_number"):
                if not data.get(name):
                    data.pop(name, None)
            data.pop("marketing_consent", None)
        return data

    def add_service_errors(self, errors):
        """Put a ValidationFailed's {field: message} next to the fields of this form."""
        for key, message in errors.items():
            messages = message if isinstance(message, (list, tuple)) else [message]
            name = key.replace("custom_fields.", CUSTOM_PREFIX) if key.startswith("custom_fields.") else key
            for text in messages:
                self.add_error(name if name in self.fields else None, str(text))


def _custom_form_field(definition):
    label = definition.label
    if definition.field_type == FieldType.NUMBER:
        return forms.CharField(label=label, required=False, widget=forms.NumberInput(attrs={"step": "any"}))
    if definition.field_type == FieldType.DATE:
        return forms.CharField(label=label, required=False, widget=forms.DateInput(attrs={"type": "date"}))
    if definition.field_type == FieldType.CHOICE:
        choices = [("", "—")] + [(c, c) for c in definition.choices]
        return forms.ChoiceField(label=label, choices=choices, required=False)
    if definition.field_type == FieldType.BOOLEAN:
        return forms.ChoiceField(
            label=label, choices=[("", "—"), ("yes", _("Yes")), ("no", _("No"))], required=False
        )
    return forms.CharField(label=label, max_length=200, required=False)


def custom_initial(member, definitions):
    """Initial form values for a member's custom fields."""
    initial = {}
    for definition in definitions:
        value = (member.custom_fields or {}).get(definition.key)
        if value is True:
            value = "yes"
        elif value is False:
            value = "no"
        initial[CUSTOM_PREFIX + definition.key] = "" if value is None else value
    return initial


class ContactForm(forms.Form):
    """A contact person of a (usually company) member."""

    name = forms.CharField(label=pgettext_lazy("person", "Name"), max_length=60, required=False)
    title = forms.CharField(label=_("Title"), max_length=60, required=False)
    phone = forms.CharField(
        label=_("Phone"), max_length=30, required=False, widget=forms.TextInput(attrs={"type": "tel"})
    )
    email = forms.CharField(
        label=_("E-mail"), max_length=254, required=False, widget=forms.TextInput(attrs={"type": "email"})
    )
    is_primary = forms.BooleanField(label=_("Primary contact"), required=False)
    notes = forms.CharField(label=_("Notes"), max_length=200, required=False)

    def add_service_errors(self, errors):
        for key, message in errors.items():
            for text in message if isinstance(message, (list, tuple)) else [message]:
                self.add_error(key if key in self.fields else None, str(text))


class TagForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=30, required=False)
    color = forms.CharField(
        label=_("Colour"), max_length=7, initial="#3b82f6", widget=forms.TextInput(attrs={"type": "color"})
    )

    add_service_errors = ContactForm.add_service_errors


class CustomFieldForm(forms.Form):
    label = forms.CharField(label=_("Label"), max_length=40, required=False)
    key = forms.CharField(
        label=_("Key"), max_length=40, required=False, help_text=_("Letters, digits and _, e.g. shoe_size.")
    )
    field_type = forms.ChoiceField(label=_("Type"), choices=FieldType.choices, initial=FieldType.TEXT)
    choices = forms.CharField(
        label=_("Choices"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For a choice field: one choice per line."),
    )
    required = forms.BooleanField(label=_("Required"), required=False)
    position = forms.IntegerField(label=_("Position"), min_value=0, max_value=999, initial=0)

    add_service_errors = ContactForm.add_service_errors


class TransferAllForm(forms.Form):
    """离职继承: every member of one staff member goes to another."""

    from_owner = StaffChoiceField(label=_("From staff"), queryset=Staff.objects.none())
    to_owner = StaffChoiceField(label=_("To staff"), queryset=Staff.objects.none())
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)

    def __init__(self, *args, from_owners, to_owners, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["from_owner"].queryset = from_owners
        self.fields["to_owner"].queryset = to_owners

    add_service_errors = ContactForm.add_service_errors
