"""The demo chain's logins, printed by `onecard serve` and created by `onecard seed-demo`."""

DEMO_PASSWORD = "onecard2026"  # noqa: S105 - the demo's published password, only on demo installs (seed-demo)
# The demo's accounts whose roles need two-step verification share this published authenticator key, as
# they share the published password: only on a demo install (docs/security.md). `onecard demo-code` prints
# its current code for anyone without an authenticator app at hand.
DEMO_TOTP_SECRET = "ONECARDDEMOAUTHENTICATORKEYXXXXX"  # noqa: S105 - published on purpose, demo installs only
# The till PIN of the demo's cashiers (换人 at the till, the quick log-in): published like the password, so
# the quick switch can be tried on a demo install; retired with it when a real merchant is created.
DEMO_TILL_PIN = "246810"  # noqa: S105 - published on purpose, demo installs only

# (username, what the account is)
DEMO_LOGINS = [
    ("admin", "system administrator (all merchants)"),
    ("hq", "HQ administrator"),
    ("east", "region manager, 华东区"),
    ("manager", "store manager, 上海徐汇店"),
    ("cashier", "cashier, 上海徐汇店"),
    ("cashier2", "cashier, 北京朝阳店"),
    ("marketer", "marketer, HQ"),
    ("sales", "sales rep, 上海徐汇店"),
    ("service", "service agent, HQ"),
]
