"""Checks for Chinese phone numbers and resident ID numbers, with messages in the user's language."""

import datetime
import re

import phonenumbers
from django.conf import settings
from django.utils.translation import gettext as _

_MAINLAND_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


class InvalidValue(ValueError):
    """A value that fails a format check; str() is the user's message."""


def normalize_phone(raw) -> str:
    """'+86 138-1234-5678' → '13812345678'; raises InvalidValue (手机号格式不正确) otherwise."""
    text = re.sub(r"[\s\-()]", "", str(raw or ""))
    if not text:
        raise InvalidValue(_("Phone number is required."))
    if text.startswith("0086"):
        text = "+86" + text[4:]
    if text.startswith("86") and len(text) == 13:
        text = "+" + text
    if _MAINLAND_MOBILE.match(text):
        return text
    try:
        parsed = phonenumbers.parse(text, settings.ONECARD_PHONE_REGION)
    except phonenumbers.NumberParseException:
        raise InvalidValue(_("The phone number is not in a valid format.")) from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidValue(_("The phone number is not in a valid format."))
    if parsed.country_code == 86:
        national = str(parsed.national_number)
        if _MAINLAND_MOBILE.match(national):
            return national
        raise InvalidValue(_("The phone number is not in a valid format."))
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalize_id_number(raw) -> str:
    """An 18-digit resident ID with a valid birth date and check digit, upper-cased."""
    text = str(raw or "").strip().upper()
    if not re.match(r"^\d{17}[\dX]$", text):
        raise InvalidValue(_("The ID number must have 18 characters: 17 digits and a digit or X."))
    try:
        datetime.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        raise InvalidValue(_("The ID number contains an impossible birth date.")) from None
    total = sum(int(d) * w for d, w in zip(text[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECK[total % 11] != text[17]:
        raise InvalidValue(_("The ID number's check digit is wrong."))
    return text


def id_number_check_digit(first17: str) -> str:
    """The check digit for the first 17 digits of a resident ID (used by demo data and tests)."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]
