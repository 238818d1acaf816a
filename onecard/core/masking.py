"""Masking of personal data (PIPL): phone and ID numbers shown as 138****1234 unless revealed."""


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    if len(phone) <= 7:
        return phone[:1] + "*" * (len(phone) - 2) + phone[-1:] if len(phone) > 2 else "*" * len(phone)
    return phone[:3] + "****" + phone[-4:]


def mask_id_number(id_number: str | None) -> str:
    if not id_number:
        return ""
    if len(id_number) <= 8:
        return "*" * len(id_number)
    return id_number[:4] + "*" * (len(id_number) - 8) + id_number[-4:]
