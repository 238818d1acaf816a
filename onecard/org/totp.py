"""Time-based one-time passwords (RFC 6238: HMAC-SHA-1, 30-second steps, 6 digits) and sealing their secrets.

Written out rather than taken from a library: the algorithm is twenty lines of `hmac`, and every
authenticator app (Google, Microsoft, 阿里云, FreeOTP...) reads the `otpauth://` link below.
"""

import base64
import hashlib
import hmac
import secrets
import struct
from urllib.parse import quote, urlencode

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

STEP_SECONDS = 30
DIGITS = 6
# A code of the step before or after the server's also counts: phones and servers drift by a few seconds.
WINDOW = 1


def new_secret() -> str:
    """A fresh secret: 160 random bits (RFC 4226's recommended length) as base32 without padding."""
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def _key_bytes(secret: str) -> bytes:
    padded = secret.upper() + "=" * (-len(secret) % 8)
    return base64.b32decode(padded)


def code_at(secret: str, step: int) -> str:
    """The code of one time step (RFC 4226 HOTP with the step as counter)."""
    digest = hmac.new(_key_bytes(secret), struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**DIGITS).zfill(DIGITS)


def step_of(when) -> int:
    """The time step an aware datetime falls in."""
    return int(when.timestamp()) // STEP_SECONDS


def matching_step(secret: str, code: str, when, *, after_step: int = 0):
    """The step within the window whose code is `code` and which is later than `after_step`, or None.

    `after_step` is the last step already used: a code is accepted once, and an older one never again.
    """
    code = (code or "").strip().replace(" ", "")
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return None
    now = step_of(when)
    for step in range(now - WINDOW, now + WINDOW + 1):
        if step > after_step and hmac.compare_digest(code_at(secret, step), code):
            return step
    return None


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The otpauth:// link an authenticator app reads from the QR code."""
    label = quote(f"{issuer}:{account}")
    query = urlencode(
        {"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS, "period": 30}
    )
    return f"otpauth://totp/{label}?{query}"


# ---- sealing: the secret is stored encrypted ------------------------------------------------------------


def _fernet() -> Fernet:
    # ONECARD_SECOND_FACTOR_KEY when set (so SECRET_KEY can be rotated alone); else derived from SECRET_KEY.
    # Both are high-entropy, so one SHA-256 is a sound derivation to Fernet's 32 bytes.
    material = getattr(settings, "ONECARD_SECOND_FACTOR_KEY", "") or settings.SECRET_KEY
    digest = hashlib.sha256(b"onecard.second-factor:" + material.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(secret: str) -> str:
    """The secret encrypted and authenticated with the installation's key (Fernet: AES-128-CBC + HMAC)."""
    return _fernet().encrypt(secret.encode()).decode()


class SecretUnreadable(Exception):
    """The sealed secret does not open with this installation's key (the key changed): re-enrol."""


def unseal(sealed: str) -> str:
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable() from None
