"""Django settings: defaults < environment (ONECARD_*, DATABASE_URL, REDIS_URL) < computed values."""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name, default=None, *, required=False):
    """Read one setting from the environment; a required one that is missing stops start-up clearly."""
    value = os.environ.get(name)
    if value is None or value == "":
        if required:
            raise ImproperlyConfigured(f"Environment variable {name} is required")
        return default
    return value


def env_bool(name, default=False):
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default):
    value = env(name)
    return [item.strip() for item in value.split(",") if item.strip()] if value else default


# ---- where things live -------------------------------------------------------
VAR_DIR = Path(env("ONECARD_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key():
    """The key comes from ONECARD_SECRET_KEY; a laptop install keeps a generated one in var/."""
    key = env("ONECARD_SECRET_KEY")
    if key:
        return key
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("ONECARD_DEBUG", False)
ALLOWED_HOSTS = env_list("ONECARD_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("ONECARD_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # The project package first: its templates (base.html, registration/) win over the admin's, and it
    # holds the commands that wire the apps together (onecard/apps.py).
    "onecard",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "onecard.core",
    "onecard.org",
    "onecard.members",
    "onecard.loyalty",
    "onecard.pos",
    "onecard.catalog",
    "onecard.promotions",
    "onecard.sales",
    "onecard.analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "onecard.core.security_headers.SecurityHeadersMiddleware",  # CSP, Permissions-Policy: on every answer
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "onecard.core.middleware.LanguageMiddleware",  # after auth: the person's own setting decides
    # Inside the language so its problems speak the request's language.
    "onecard.core.middleware.ApiProblemMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After auth and messages: a session past its limits is logged out; one that owes its second step is
    # sent to it (onecard/org/middleware.py, docs/security.md).
    "onecard.org.middleware.SessionLimitMiddleware",
    "onecard.org.middleware.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "onecard.core.middleware.RequestContextMiddleware",
]

ROOT_URLCONF = "onecard.urls"
WSGI_APPLICATION = "onecard.wsgi.application"
AUTH_USER_MODEL = "org.Staff"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],  # onecard/templates is found as the project app's own
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "onecard.core.context_processors.navigation",
            ],
        },
    }
]

# ---- database ----------------------------------------------------------------
SQLITE_PATH = VAR_DIR / "onecard.sqlite3"
SQLITE_OPTIONS = {
    # BEGIN IMMEDIATE takes the write lock at the start of each transaction, so two
    # writers never deadlock on a lock upgrade (ARCHITECTURE.md, Concurrency).
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
    " PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;",
}


def database_from_url(url):
    """One DATABASES entry from a URL, with OneCard's SQLite options added for sqlite URLs."""
    config = dj_database_url.parse(url, conn_max_age=int(env("ONECARD_DB_CONN_MAX_AGE", 60)))
    if config["ENGINE"].endswith("sqlite3"):
        config["OPTIONS"] = dict(SQLITE_OPTIONS)
        config["CONN_MAX_AGE"] = 0
    return config


DATABASES = {"default": database_from_url(env("DATABASE_URL", f"sqlite:///{SQLITE_PATH}"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ---- cache, background work ----------------------------------------------------
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = env("ONECARD_CELERY_BROKER_URL", REDIS_URL)
# Without a broker a single shop needs nothing else: tasks run in the web process.
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = "Asia/Shanghai"

# ---- scheduled jobs (onecard/jobs.py) ---------------------------------------------
# Celery beat runs these when a broker is configured; without one, `onecard jobs loop` reads this
# same table. Times are Asia/Shanghai (CELERY_TIMEZONE). One entry per job of jobs.JOBS, named
# after it, task "onecard.job.<name>" (a test checks that the two agree).
from celery.schedules import crontab  # noqa: E402

CELERY_BEAT_SCHEDULE = {
    "expire_holds": {"task": "onecard.job.expire_holds", "schedule": crontab()},  # every minute
    "expire_points": {"task": "onecard.job.expire_points", "schedule": crontab(hour=3, minute=10)},
    "expire_cards": {"task": "onecard.job.expire_cards", "schedule": crontab(hour=3, minute=20)},
    "evaluate_tiers": {"task": "onecard.job.evaluate_tiers", "schedule": crontab(hour=3, minute=30)},
    "purge_qr_codes": {"task": "onecard.job.purge_qr_codes", "schedule": crontab(minute=5)},  # hourly
    "purge_nonces": {"task": "onecard.job.purge_nonces", "schedule": crontab(minute=15)},
    "purge_idempotency": {"task": "onecard.job.purge_idempotency", "schedule": crontab(minute=25)},
    "purge_sessions": {"task": "onecard.job.purge_sessions", "schedule": crontab(minute=35)},
    "seal_audit_log": {"task": "onecard.job.seal_audit_log", "schedule": crontab()},  # every minute
    "expire_packages": {"task": "onecard.job.expire_packages", "schedule": crontab(hour=3, minute=15)},
    "score_members": {"task": "onecard.job.score_members", "schedule": crontab(hour=4, minute=0)},
    # Just after midnight: yesterday's figures join the dashboards' rollups (a page rolls up itself if late).
    "roll_up_dashboards": {
        "task": "onecard.job.roll_up_dashboards",
        "schedule": crontab(hour=0, minute=30),
    },
    # Weekly, Monday 04:30: a fit reads every sale of the merchant.
    "fit_lifetime_value": {
        "task": "onecard.job.fit_lifetime_value",
        "schedule": crontab(hour=4, minute=30, day_of_week=1),
    },
    "build_daily_statements": {
        "task": "onecard.job.build_daily_statements",
        "schedule": crontab(hour=0, minute=30),
    },
    "build_monthly_statements": {
        "task": "onecard.job.build_monthly_statements",
        "schedule": crontab(hour=0, minute=45, day_of_month=1),
    },
    "issue_birthday_coupons": {
        "task": "onecard.job.issue_birthday_coupons",
        "schedule": crontab(hour=6, minute=0),
    },
    "expire_coupons": {"task": "onecard.job.expire_coupons", "schedule": crontab(hour=3, minute=40)},
}

# ---- auth ----------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# ---- language and time -----------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "onecard" / "locale"]
# Pages follow the person's language setting, never the browser's Accept-Language (LanguageMiddleware).
# Only the test suite turns this on: its older page tests ask for English with the header.
ONECARD_PAGES_FOLLOW_ACCEPT_LANGUAGE = False
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# ---- static files ----------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns on every start when it is missing
STATICFILES_DIRS = [  # onecard/static is found as the project app's own
    ("vendor/echarts", BASE_DIR / "node_modules" / "echarts" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024

# ---- API -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "onecard.core.api.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "onecard.core.problems.problem_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "OneCard API",
    "DESCRIPTION": "会员一卡通 CRM REST API v1. Amounts are integers in fen; ids are strings; "
    "errors are application/problem+json with a stable `code`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1/",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a field called "kind"; name each choice set so the schema stays stable.
    "ENUM_NAME_OVERRIDES": {
        "MemberKindEnum": "onecard.members.choices.MemberKind",
        "NodeKindEnum": "onecard.org.choices.NodeKind",
        "ProductKindEnum": "onecard.catalog.choices.ProductKind",
        "TerminalKindEnum": "onecard.pos.choices.TerminalKind",
    },
}

# ---- security headers (docs/operations.md, Security headers) -------------------------
# Content-Security-Policy, read by onecard.core.security_headers on Django 5.2 in the shape of Django 6.0's
# own SECURE_CSP. Scripts only from our static files: no inline scripts or handlers, no eval. Styles keep
# 'unsafe-inline' (style attributes in templates, Redoc's and ECharts' generated styles); an injected style
# can restyle a page but run nothing. data: images: Swagger UI's icons (its CSS), the Redoc logo's stand-in.
SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
# Browser features no OneCard page uses are switched off for the page and anything it might embed.
ONECARD_PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
}
# Django's defaults, written out because an auditor reads them here: no framing at all, no MIME sniffing,
# the full address only to our own pages.
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# ---- OneCard's own -----------------------------------------------------------------
# A page of a member list; lists bigger than this are paged, exports are not.
ONECARD_PAGE_SIZE = int(env("ONECARD_PAGE_SIZE", 25))
ONECARD_PHONE_REGION = env("ONECARD_PHONE_REGION", "CN")

# ---- second factor and sessions (docs/security.md) -------------------------------------------------
# Staff who hold a permission of org.permissions.SECOND_FACTOR_PERMISSIONS, and superusers, must log in
# with an authenticator code. 0 makes it optional for everyone (not advised: ASVS asks for it).
ONECARD_REQUIRE_SECOND_FACTOR = env_bool("ONECARD_REQUIRE_SECOND_FACTOR", True)
ONECARD_SECOND_FACTOR_ISSUER = env("ONECARD_SECOND_FACTOR_ISSUER", "OneCard")  # the name in the app
# Encrypts the authenticator secrets; empty: derived from SECRET_KEY (changing that then means re-enrolling).
ONECARD_SECOND_FACTOR_KEY = env("ONECARD_SECOND_FACTOR_KEY", "")
# Back office: logged out after this many idle minutes, and after this many hours in any case.
ONECARD_SESSION_IDLE_MINUTES = int(env("ONECARD_SESSION_IDLE_MINUTES", 30))
ONECARD_SESSION_MAX_HOURS = int(env("ONECARD_SESSION_MAX_HOURS", 12))
# Till staff (till.operate and nothing that needs the second factor): shared tills end sooner.
ONECARD_TILL_SESSION_IDLE_MINUTES = int(env("ONECARD_TILL_SESSION_IDLE_MINUTES", 15))
ONECARD_TILL_SESSION_MAX_HOURS = int(env("ONECARD_TILL_SESSION_MAX_HOURS", 12))
# The cookie outlives the longest session by an hour, so that the limit met is OneCard's own, which says
# why and is audited; the cookie does not linger for Django's default two weeks either.
SESSION_COOKIE_AGE = (max(ONECARD_SESSION_MAX_HOURS, ONECARD_TILL_SESSION_MAX_HOURS) + 1) * 3600
# ---- log-in defences (onecard/org/lockout.py, docs/operations.md) -----------------------------------
# The lock-out backend comes first: it refuses a locked account name or address before any password check.
# The till's quick log-in (a PIN or a staff card, org.till_login) comes after the password's.
AUTHENTICATION_BACKENDS = [
    "onecard.org.lockout.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
    "onecard.org.till_login.TillLoginBackend",
]
ONECARD_LOGIN_FAILURE_LIMIT = int(env("ONECARD_LOGIN_FAILURE_LIMIT", 5))  # per account name ...
ONECARD_LOGIN_ADDRESS_FAILURE_LIMIT = int(env("ONECARD_LOGIN_ADDRESS_FAILURE_LIMIT", 5))  # ... per address
ONECARD_LOGIN_FAILURE_WINDOW = int(env("ONECARD_LOGIN_FAILURE_WINDOW", 60))  # seconds the failures count in
ONECARD_LOGIN_COOL_OFF = int(env("ONECARD_LOGIN_COOL_OFF", 15 * 60))  # seconds a lock-out lasts
# Reverse proxies in front of OneCard that append to X-Forwarded-For (0: the socket's address is the client).
ONECARD_TRUSTED_PROXIES = int(env("ONECARD_TRUSTED_PROXIES", 0))
REST_FRAMEWORK["NUM_PROXIES"] = ONECARD_TRUSTED_PROXIES  # the token throttle counts the same address
# The password the README publishes for the demo opens no account set up by hand (onecard/org/passwords.py).
AUTH_PASSWORD_VALIDATORS.append({"NAME": "onecard.org.passwords.NotThePublishedDemoPassword"})

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("ONECARD_LOG_LEVEL", "WARNING")},
}

# ---- HTTPS profile (docs/operations.md, HTTPS deployment) ------------------------------
# One switch for an installation served over HTTPS behind a reverse proxy; `onecard check
# --deploy` is clean under it (tested, and run in CI).
HTTPS = env_bool("ONECARD_HTTPS", False)
if HTTPS:
    if not env("ONECARD_SECRET_KEY"):  # every web process must sign with the same, managed key
        raise ImproperlyConfigured("ONECARD_HTTPS=1 needs ONECARD_SECRET_KEY (50+ random characters)")
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 365 * 24 * 3600
    # The header covers the host that sends it and the names below it, never the parent domain;
    # preload only takes effect once the owner submits the bare domain to the browsers' list.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_PRELOAD = True
    # The proxy terminates TLS and overwrites this header; gunicorn listens on 127.0.0.1 only.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# ---- computed ----------------------------------------------------------------------
if not DEBUG:
    SESSION_COOKIE_HTTPONLY = True
    CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the cookie-less meta tag; kept explicit
