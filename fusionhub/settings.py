"""FusionHub settings: one module, read from environment variables with local defaults.

Every variable a deployer may set is listed in README.md and `.env.example`.
"""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from fusionhub.cache import options as cache_options

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local `.env` (never committed) may hold a developer's own values.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable "
            "(a long random string) before starting FusionHub with DEBUG off."
        )
    SECRET_KEY = "django-insecure-local-development-only-key-never-used-in-production"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
FUSIONHUB_REGION_NAME = env.str("FUSIONHUB_REGION_NAME", default="FusionHub")
# CAP 1.2: the sender of alerts FusionHub exports, and the largest alert it imports (a signed
# national warning with a detailed polygon runs to about 1 MB).
CAP_SENDER = env.str("CAP_SENDER", default="fusionhub@localhost")
CAP_MAX_BYTES = env.int("CAP_MAX_KB", default=2048) * 1024
# The EOC dashboard's map: a tile server's URL template ("https://tile.example.org/{z}/{x}/{y}.png")
# and its attribution. Empty: no tiles, and the map shows the incidents' markers on a plain ground
# (closed networks often reach no tile server).
MAP_TILE_URL = env.str("MAP_TILE_URL", default="")
MAP_TILE_ATTRIBUTION = env.str("MAP_TILE_ATTRIBUTION", default="")

INSTALLED_APPS = [
    # django.contrib.admin, whose site records every admin change in the audit trail.
    "agencies.admin_apps.AuditedAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "knox",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "agencies",
    "dissemination",
    "sharing",
    "eoc",
    "liaison",
    "fusionhub",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "agencies.middleware.SessionLimitsMiddleware",
    "agencies.middleware.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "fusionhub.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "fusionhub.context_processors.site",
                "fusionhub.context_processors.inbox",
            ],
        },
    },
]

WSGI_APPLICATION = "fusionhub.wsgi.application"
ASGI_APPLICATION = "fusionhub.asgi.application"
# Threads of each web worker process that run pages and API (fusionhub/asgi.py); each keeps a
# database connection, so web processes x WEB_THREADS stays well under PostgreSQL's max_connections.
WEB_THREADS = env.int("WEB_THREADS", default=8)

# --- Data stores -----------------------------------------------------------------------------

DATABASES = {
    "default": env.db_url("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/fusionhub"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# No JIT compilation: at 200,000 products it spent 3 s compiling a search that runs in milliseconds
# (make bench); the site's queries are short, indexed reads that never repay it.
DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
# The reads the site asks again and again (agencies.prepared: feed pages, tokens, search candidates) are
# also prepared in PostgreSQL (SQL PREPARE), once per connection, so that it plans them once. Off behind a
# pooler in transaction mode (PgBouncer's, in any version), which runs each transaction on whichever server
# session is free: a statement prepared on one would be missing on another.
DATABASE_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")

# Copies of what PostgreSQL holds, and counts that can be counted again: when Redis does not answer,
# cache calls fail at once (fusionhub/cache.py) and the site reads PostgreSQL instead.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "fusionhub",
        "OPTIONS": cache_options(),
    }
}

# --- People, sign-in, sessions ---------------------------------------------------------------

AUTH_USER_MODEL = "agencies.User"
AUTHENTICATION_BACKENDS = ["agencies.backends.AgencyUserBackend"]
LOGIN_URL = "sign-in"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "sign-in"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# CJIS Security Policy AC-7: at most 5 consecutive failed sign-ins within 15 minutes, then the
# account stays locked until an administrator releases it.
SIGN_IN_FAILURE_LIMIT = env.int("SIGN_IN_FAILURE_LIMIT", default=5)
SIGN_IN_FAILURE_WINDOW = timedelta(minutes=env.int("SIGN_IN_FAILURE_WINDOW_MINUTES", default=15))
# Failed sign-ins from one address, whatever the username, before that address must wait.
SIGN_IN_ADDRESS_FAILURE_LIMIT = env.int("SIGN_IN_ADDRESS_FAILURE_LIMIT", default=20)
SIGN_IN_ADDRESS_WINDOW = timedelta(minutes=env.int("SIGN_IN_ADDRESS_WINDOW_MINUTES", default=15))
# CJIS AC-11 session lock after 30 minutes idle; IA-11 a new sign-in at least every 12 hours.
SESSION_IDLE_TIMEOUT = timedelta(minutes=env.int("SESSION_IDLE_TIMEOUT_MINUTES", default=30))
SESSION_MAX_AGE = timedelta(hours=env.int("SESSION_MAX_AGE_HOURS", default=12))

# CJIS AU-11: audit entries are kept at least a year; older ones are moved to the archive table
# (never deleted) by a daily beat task.
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=365)
if AUDIT_RETENTION_DAYS < 365:
    raise ImproperlyConfigured(
        f"AUDIT_RETENTION_DAYS must be at least 365 (audit entries are kept a year), not {AUDIT_RETENTION_DAYS}."
    )

# A second factor for everyone (CJIS IA-2): an authenticator app's code (TOTP, RFC 6238) after the
# password, or one of ten single-use recovery codes. No setting turns it off. Wrong codes count
# towards the same lock-out as wrong passwords, so django-otp's own per-device back-off is off: it
# would make a person wait after one typo while the lock-out already bounds guessing.
OTP_TOTP_ISSUER = FUSIONHUB_REGION_NAME
OTP_TOTP_THROTTLE_FACTOR = 0
# Accept the previous, current and next 30-second code, but learn no drift from them: phones keep
# network time, and a learnt drift would carry one early code's offset into every later sign-in.
OTP_TOTP_SYNC = False
OTP_STATIC_THROTTLE_FACTOR = 0
RECOVERY_CODE_COUNT = 10
# A person sets up their authenticator only with an enrolment code an admin issued them (a password
# alone enrols nothing); the code works once, within this many hours.
ENROLMENT_CODE_VALID_HOURS = env.int("ENROLMENT_CODE_VALID_HOURS", default=72)
if ENROLMENT_CODE_VALID_HOURS < 1:
    raise ImproperlyConfigured(
        f"ENROLMENT_CODE_VALID_HOURS must be a number of hours, at least 1, not {ENROLMENT_CODE_VALID_HOURS}."
    )
ENROLMENT_CODE_TTL = timedelta(hours=ENROLMENT_CODE_VALID_HOURS)

# cached_db, going on from PostgreSQL while Redis does not answer (fusionhub/sessions.py).
SESSION_ENGINE = "fusionhub.sessions"
SESSION_COOKIE_AGE = int(SESSION_IDLE_TIMEOUT.total_seconds())
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True

# Only with DEBUG off do these protections apply: the local site runs on plain http.
SECURE = not DEBUG
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=SECURE)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=SECURE)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=SECURE)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if SECURE else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = SECURE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]


def _tile_source(url_template: str) -> list[str]:
    """The map tile server's origin for img-src ("{s}" subdomains become a wildcard)."""
    if not url_template:
        return []
    parts = urlsplit(url_template.replace("{s}", "*"))
    return [f"{parts.scheme}://{parts.netloc}"] if parts.scheme and parts.netloc else []


# Content-Security-Policy: everything comes from the site itself, nothing runs or styles inline
# (the templates carry no <script> body, no on*= handler and no style= attribute), and no one may
# frame a page. data: images are the enrolment QR code and USWDS's inline icons; the map's tile
# server, when one is set, is the only other source.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", *_tile_source(MAP_TILE_URL)],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Internationalisation --------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="America/New_York")
USE_I18N = True
USE_TZ = True

# --- Static files ----------------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Front-end packages come from the npm registry (package.json) and are served by the app itself.
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/uswds", NODE_MODULES / "@uswds" / "uswds" / "dist"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/leaflet", NODE_MODULES / "leaflet" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / ".data" / "media")
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_MB", default=20) * 1024 * 1024

# --- Email -----------------------------------------------------------------------------------

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="127.0.0.1")
EMAIL_PORT = env.int("EMAIL_PORT", default=1025)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=15)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="FusionHub <fusionhub@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Dissemination: webhooks and the daily digest --------------------------------------------

# Webhooks go to public addresses only (checked when saved and at each send). A closed network
# whose partners' systems have private addresses turns this on; so does DEBUG, for a local receiver.
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=DEBUG)
# The hour (TIME_ZONE) at which those who chose a daily digest get it.
DIGEST_HOUR = env.int("DIGEST_HOUR", default=6)
if not 0 <= DIGEST_HOUR <= 23:
    raise ImproperlyConfigured(f"DIGEST_HOUR must be an hour from 0 to 23, not {DIGEST_HOUR}.")

# --- Criminal intelligence (28 CFR Part 23) ----------------------------------------------------

# Days before a criminal-intelligence product's review-by date when its retention review opens in
# the originating center's queue.
RETENTION_REVIEW_LEAD_DAYS = env.int("RETENTION_REVIEW_LEAD_DAYS", default=30)
if not 1 <= RETENTION_REVIEW_LEAD_DAYS <= 365:
    raise ImproperlyConfigured(
        f"RETENTION_REVIEW_LEAD_DAYS must be a number of days from 1 to 365, not {RETENTION_REVIEW_LEAD_DAYS}."
    )

# --- REST API --------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "agencies.api_auth.AgencyTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "fusionhub.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "fusionhub.api.exception_handler",
    # The token endpoint, per address and per account named.
    "DEFAULT_THROTTLE_RATES": {
        "sign-in": env.str("API_SIGN_IN_RATE", default="20/minute"),
        "sign-in-account": env.str("API_SIGN_IN_ACCOUNT_RATE", default="10/minute"),
    },
}
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=env.int("API_TOKEN_TTL_DAYS", default=30)),
    "AUTO_REFRESH": False,
    "TOKEN_LIMIT_PER_USER": 20,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "FusionHub API",
    "DESCRIPTION": "Threat products, incidents, feeds and relays shared between a fusion center and its EOCs.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "fusionhub.api.document_error_responses",
    ],
    # Several models have a "priority", "status" or "state" with different choices: name each.
    "ENUM_NAME_OVERRIDES": {
        "IncidentPriorityEnum": "eoc.models.Incident.Priority",
        "IncidentStatusEnum": "eoc.models.Incident.Status",
        "FeedEntryPriorityEnum": "eoc.models.FeedEntry.Priority",
        "ResourceRequestPriorityEnum": "eoc.models.ResourceRequest.Priority",
        "ResourceRequestStateEnum": "eoc.models.ResourceRequest.State",
        "SituationReportStateEnum": "eoc.models.SituationReport.State",
        "TaskStatusEnum": "eoc.models.Task.Status",
        "ProductStateEnum": "sharing.models.ThreatProduct.State",
        "ProductKindEnum": "sharing.models.ThreatProduct.Kind",
        "AgencyLevelEnum": "agencies.models.Agency.Level",
        "AgencyDisciplineEnum": "agencies.models.Agency.Discipline",
        "RequestForInformationPriorityEnum": "sharing.models.RequestForInformation.Priority",
        "RequestForInformationStateEnum": "sharing.models.RequestForInformation.State",
        "RelayDirectionEnum": "liaison.models.Direction",
        "RelayStateEnum": "liaison.models.Relay.State",
        "RoutingRuleDirectionEnum": "liaison.models.RoutingRule.Direction",
    },
}

# --- Celery ----------------------------------------------------------------------------------

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_RESULT_EXPIRES = 3600
# At least once: a task is acknowledged after it ran, and redelivered if its worker dies.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Longer than the longest task (an email batch's time limit is 30 minutes), so Redis does not
    # hand a running task to a second worker. Sending retries wait in the database; the only
    # countdowns (a digest's retries) are minutes long.
    "visibility_timeout": 3 * 3600,
    # Domain events before the bulk queues (fusionhub/celery.py).
    "queue_order_strategy": "fusionhub.celery:FirstQueuesFirst",
    # A Redis that hangs (it accepts connections, never answers) must not hold a request that queues
    # a task: the publish gives up, and the sweep queues the work once Redis answers.
    "socket_connect_timeout": 1,
    "socket_timeout": 2,
}
# One retry at once: enough for a connection that died with a restarted Redis, not a wait on one away.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "dissemination.fan_out_*": {"queue": "fanout"},
    "dissemination.send_*": {"queue": "sending"},
    "dissemination.handle_*": {"queue": "events"},
    "dissemination.sweep_*": {"queue": "default"},
}
CELERY_WORKER_QUEUES = "default,fanout,sending,events"
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "sweep-events": {"task": "dissemination.sweep_events", "schedule": 60.0},
    "sweep-dispatches": {"task": "dissemination.sweep_dispatches", "schedule": 60.0},
    "sweep-deliveries": {"task": "dissemination.sweep_deliveries", "schedule": 60.0},
    "send-digests": {"task": "dissemination.send_digests", "schedule": crontab(hour=DIGEST_HOUR, minute=0)},
    "archive-audit-entries": {"task": "agencies.archive_audit_entries", "schedule": crontab(hour=3, minute=30)},
    "open-retention-reviews": {"task": "sharing.open_retention_reviews", "schedule": crontab(hour=1, minute=30)},
    "record-worker-heartbeat": {
        "task": "fusionhub.record_worker_heartbeat",
        "schedule": crontab(minute="*"),
        "kwargs": {"token": "beat"},
    },
}

# --- Logging ---------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
