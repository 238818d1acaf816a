"""OpenAPI description of the terminal signature (drf-spectacular): four headers, all required."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension

_LINK = "See docs/pos-api.md."


class TerminalSignatureScheme(OpenApiAuthenticationExtension):
    target_class = "onecard.pos.authentication.TerminalSignatureAuthentication"
    # A list: the security requirement needs all four at once.
    name = ["TerminalId", "TerminalTimestamp", "TerminalNonce", "TerminalSignature"]

    def get_security_definition(self, auto_schema):
        def header(name, description):
            return {"type": "apiKey", "in": "header", "name": name, "description": description}

        return [
            header("X-Terminal-Id", "The terminal's public id, e.g. T-SH01-0001."),
            header("X-Timestamp", "Unix time in seconds; at most 300 s off the server clock."),
            header("X-Nonce", "8-64 characters [A-Za-z0-9-_.~], never reused by this terminal."),
            header(
                "X-Signature",
                "Hex HMAC-SHA256 with the terminal's secret over METHOD\\nTARGET\\nTIMESTAMP\\nNONCE\\n"
                "hex(SHA-256(body)). TARGET is the canonical request target: the path percent-decoded, then every "
                "byte but A-Z a-z 0-9 - _ . ~ / escaped as %XX in upper-case hex; then, with a query, ? and its "
                "name=value pairs in the order sent (empty parts dropped, + read as a space), each side decoded "
                "and escaped the same way with / escaped too, joined by &. " + _LINK,
            ),
        ]
