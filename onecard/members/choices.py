from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class MemberKind(models.TextChoices):
    PERSON = "person", _("Person")
    COMPANY = "company", _("Company")


class Gender(models.TextChoices):
    UNKNOWN = "", _("Not stated")
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")


class Source(models.TextChoices):
    STORE = "store", _("Store")
    CAMPAIGN = "campaign", _("Campaign")
    REFERRAL = "referral", _("Referral")
    ONLINE = "online", _("Online")
    IMPORT = "import", _("Import")


class MemberStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    MERGED = "merged", _("Merged into another member")


class FieldType(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    CHOICE = "choice", _("Choice")
    BOOLEAN = "boolean", _("Yes / no")


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded")
    VALIDATED = "validated", _("Checked")
    RUNNING = "running", _("Importing")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


# Why a full phone or ID number is revealed (PIPL: a purpose for each use); the page offers these, and
# "other" with the person's own words. The text chosen is what the audit log records.
REVEAL_PURPOSES = [
    _("Customer service call"),
    _("Delivery or mailing"),
    _("Identity check"),
    _("Invoice"),
]


class AccessKind(models.TextChoices):
    """How someone saw members' personal data (PIPL access trail)."""

    REVEAL = "reveal", _("Full number revealed")
    EXPORT = "export", _("Exported")
    LIST = "list", _("Seen in a member list")
    DETAIL = "detail", _("Member page opened")


# Why members are exported (PIPL: a purpose for each use); "other" with the person's own words.
EXPORT_PURPOSES = [
    _("Marketing campaign"),
    _("Sales analysis"),
    _("Reconciliation"),
    _("Report to an authority"),
]


class AccessChannel(models.TextChoices):
    """Where personal data was looked at."""

    WEB = "web", _("Web pages")
    API = "api", _("API")


# The personal fields an access can show, as the access trail names them.
ACCESS_FIELD_LABELS = {
    "name": pgettext_lazy("person", "Name"),
    "phone": _("Phone (full)"),
    "phone_masked": _("Phone (masked)"),
    "id_number": _("ID number (full)"),
    "id_number_masked": _("ID number (masked)"),
    "gender": _("Gender"),
    "birthday": _("Birthday"),
    "email": _("E-mail"),
    "address": _("Address"),
    "home_store": _("Home store"),
    "tags": _("Tags"),
    "custom_fields": _("Custom fields"),
}
