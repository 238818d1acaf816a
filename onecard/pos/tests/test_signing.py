"""The canonical string and signature, including the worked example printed in docs/pos-api.md."""

import hashlib
import hmac
import re
import subprocess
from pathlib import Path

import pytest

from onecard.pos import signing

DOC = Path(__file__).resolve().parents[3] / "docs" / "pos-api.md"

# The worked example of docs/pos-api.md, section "Worked example".
EXAMPLE_SECRET = "kq7Vd2xN9pLw4ZtR8mB3sYc6Hj1Fg5Ea0UoIi-_TeXA"
EXAMPLE_TIMESTAMP = 1764028800
EXAMPLE_NONCE = "8f14e45fceea167a5a36dedd4bea2543"
EXAMPLE_PATH = "/api/v1/pos/members/lookup?q=13800138000"
EXAMPLE_POST_PATH = "/api/v1/pos/charges"
EXAMPLE_POST_BODY = b'{"card_no":"8800000013","amount":1999}'


def _documented(name):
    """The value printed in the docs after a `name:` marker line (e.g. "signature (GET):")."""
    text = DOC.read_text(encoding="utf-8")
    match = re.search(re.escape(name) + r"\s*`([0-9a-f]{64})`", text)
    assert match, f"{name} not found in {DOC}"
    return match.group(1)


def test_canonical_string_has_five_lines_without_trailing_newline():
    # when
    canonical = signing.canonical_string("get", "/api/v1/pos/ping", 1700000000, "abcdefgh", b"")
    # then
    assert canonical.split("\n") == [
        "GET",
        "/api/v1/pos/ping",
        "1700000000",
        "abcdefgh",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    ]


def test_signature_is_plain_hmac_sha256_hex():
    # given
    canonical = signing.canonical_string("POST", "/p?a=1", 1, "n0nce-01", b"{}")
    # when
    signature = signing.compute_signature("s3cret", canonical)
    # then
    assert signature == hmac.new(b"s3cret", canonical.encode(), hashlib.sha256).hexdigest()
    assert signing.signatures_match(signature, signature.upper())
    assert not signing.signatures_match(signature, signature[:-1] + "0" if signature[-1] != "0" else "1")


def test_sign_request_returns_the_four_headers():
    headers = signing.sign_request("s", "GET", "/x", b"", timestamp=5, nonce="abcdefgh", terminal_id="T-1")
    assert list(headers) == ["X-Terminal-Id", "X-Timestamp", "X-Nonce", "X-Signature"]
    assert headers["X-Timestamp"] == "5" and headers["X-Nonce"] == "abcdefgh"


@pytest.mark.parametrize(
    ("nonce", "ok"),
    [("abcdefgh", True), ("a" * 64, True), ("abc", False), ("a" * 65, False), ("has space", False)],
)
def test_nonce_shape(nonce, ok):
    assert signing.is_valid_nonce(nonce) is ok


def test_the_documented_get_example_matches_the_code():
    # when
    headers = signing.sign_request(
        EXAMPLE_SECRET, "GET", EXAMPLE_PATH, b"", timestamp=EXAMPLE_TIMESTAMP, nonce=EXAMPLE_NONCE
    )
    # then
    assert headers["X-Signature"] == _documented("signature (GET):")
    canonical = signing.canonical_string("GET", EXAMPLE_PATH, EXAMPLE_TIMESTAMP, EXAMPLE_NONCE, b"")
    assert f"```\n{canonical}\n```" in DOC.read_text(encoding="utf-8")


def test_the_documented_post_example_matches_the_code():
    # when
    headers = signing.sign_request(
        EXAMPLE_SECRET,
        "POST",
        EXAMPLE_POST_PATH,
        EXAMPLE_POST_BODY,
        timestamp=EXAMPLE_TIMESTAMP,
        nonce=EXAMPLE_NONCE,
    )
    # then
    assert signing.body_hash(EXAMPLE_POST_BODY) == _documented("body SHA-256 (POST):")
    assert headers["X-Signature"] == _documented("signature (POST):")
    canonical = signing.canonical_string(
        "POST", EXAMPLE_POST_PATH, EXAMPLE_TIMESTAMP, EXAMPLE_NONCE, EXAMPLE_POST_BODY
    )
    assert f"```\n{canonical}\n```" in DOC.read_text(encoding="utf-8")


def test_the_documented_openssl_recipe_gives_the_same_signature(tmp_path):
    # given the shell recipe of the docs, run as printed
    text = DOC.read_text(encoding="utf-8")
    script = re.search(r"```sh\n(# openssl recipe.*?)```", text, re.S)
    assert script, "openssl recipe not found"
    # when
    out = subprocess.run(["bash", "-c", script.group(1)], capture_output=True, text=True, check=True)
    # then
    assert out.stdout.split()[-1] == _documented("signature (POST):")
