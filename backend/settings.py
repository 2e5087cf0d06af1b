"""NovaCart settings, read from the environment.

Every variable has a safe local default so `make run` needs no `.env`; production sets
SECRET_KEY (which turns DEBUG off) and the service URLs. Every variable is listed,
commented, in `.env.example`.
"""

import os
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from core.logging import JSON_FORMAT, JSON_RENAME_FIELDS
from core.money import minor_unit_exponent
from core.redis_breaker import connection_class_for

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


# A value these cannot read stops the start-up with the variable's name: a typo must not become a
# silent default (SECURE_SSL_REDIRECT=ture turned the redirect off) or a 500 at the first request.
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in _TRUE | _FALSE:
        return value in _TRUE
    raise ImproperlyConfigured(f"{name} must be true or false (or 1/0, yes/no, on/off), not {value!r}.")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None


def env_money(name: str, default: str) -> Decimal:
    """An amount of money an order column can hold (12 digits, 2 of them cents): whole cents,
    from 0 to 9,999,999,999.99."""
    value = env(name, default).strip()
    try:
        amount = Decimal(value)
    except ArithmeticError:
        amount = None
    if (
        amount is None
        or not amount.is_finite()
        or not 0 <= amount < Decimal("1e10")
        or amount != amount.quantize(Decimal("0.01"))
    ):
        raise ImproperlyConfigured(
            f"{name} must be an amount in whole cents from 0 to 9999999999.99, such as 5.00, not {value!r}."
        )
    return amount


def env_fraction(name: str, default: float) -> float:
    """A number from 0 to 1 (a sample rate)."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        fraction = float(value)
    except ValueError:
        fraction = None
    if fraction is None or not 0 <= fraction <= 1:
        raise ImproperlyConfigured(f"{name} must be a number from 0 to 1, not {value!r}.")
    return fraction


def env_rate(name: str, default: str) -> str:
    """A DRF throttle rate, `<requests>/<s|m|h|d...>` (e.g. `300/min`)."""
    value = env(name, default).strip()
    if not re.fullmatch(r"\d+/[smhd][a-z]*", value):
        raise ImproperlyConfigured(f"{name} must be a rate such as 300/min or 10/s, not {value!r}.")
    return value


def env_prepare_threshold(name: str, default: int) -> int | None:
    """psycopg's prepare_threshold: a whole number of executions, or None for "off"."""
    value = os.environ.get(name, "").strip().lower()
    if value in {"off", "none", "false", "no"}:
        return None
    return env_int(name, default)


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


# --- Core -------------------------------------------------------------------------------
SECRET_KEY = env("SECRET_KEY")
DEBUG = env_bool("DEBUG", default=not SECRET_KEY)
APP_VERSION = env("APP_VERSION", "1.0.0")

if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "django-insecure-local-development-key-not-for-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
# Render sets this to the service's onrender.com host name (also the Host of its health checks).
RENDER_EXTERNAL_HOSTNAME = env("RENDER_EXTERNAL_HOSTNAME")
if RENDER_EXTERNAL_HOSTNAME and RENDER_EXTERNAL_HOSTNAME not in ALLOWED_HOSTS:
    ALLOWED_HOSTS.append(RENDER_EXTERNAL_HOSTNAME)
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc files, served as our own static files
    "corsheaders",
    "anymail",
    "axes",
    "core",
    "users",
    "products",
    "addresses",
    "cart",
    "orders",
    "payments",
    "promotions",
    "web",
]

MIDDLEWARE = [
    "core.middleware.RequestLogMiddleware",
    "core.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # corsheaders', without a dict of every header for requests that carry no Origin.
    "core.middleware.CorsMiddleware",
    # Django's, with a method-keeping 308 for an API path missing its trailing slash.
    "core.middleware.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Everything below serves browsers only (the admin, the API docs pages and their static
    # files): on the JWT API's /api/ paths this one calls the view directly, past all of them
    # (core/middleware.py).
    "core.middleware.SkipBrowserMiddlewareOnTokenApi",
    # Static files, compressed and cached (before the session: a static file needs none).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Last, as django-axes requires: turns an admin lockout into its 429 response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "backend.urls"
WSGI_APPLICATION = "backend.wsgi.application"

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
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
if IS_POSTGRES:
    # Django's backend whose per-request health check skips the `SELECT 1` round trip when the
    # kept connection's socket is quiet (core/postgresql/base.py).
    DATABASES["default"]["ENGINE"] = "core.postgresql"
    # Fail fast when the server is unreachable, so /api/health/ answers 503 within the
    # platform's health-check timeout instead of hanging on a dead host.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env_int("DB_CONNECT_TIMEOUT", 3)
    )
    # Server-side limits, so no request waits without end: on a row lock another session holds
    # (lock_timeout) or on one statement (statement_timeout). The web server does not stop a
    # request that runs long; PostgreSQL cancels the statement, the transaction rolls back and
    # the request answers 503. 0 turns a limit off (behind PgBouncer, which refuses the `options`
    # start-up parameter, set them with ALTER ROLE instead: docs/production.md).
    _server_limits = " ".join(
        f"-c {name}={seconds * 1000}"
        for name, seconds in (
            # Above the Stripe timeout (10 s): a checkout or refund holds its locks (the cart, the
            # idempotency key, the order) across its Stripe call, and a duplicate request waits
            # for them to replay the first answer.
            ("lock_timeout", env_int("DB_LOCK_TIMEOUT", 15)),
            ("statement_timeout", env_int("DB_STATEMENT_TIMEOUT", 30)),
        )
        if seconds > 0
    )
    if _server_limits:
        _options = DATABASES["default"]["OPTIONS"]
        _options["options"] = f"{_options.get('options', '')} {_server_limits}".strip()
    # Behind pgbouncer in transaction mode server-side cursors must be off (and DB_CONN_MAX_AGE=0).
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env_bool("DB_DISABLE_SERVER_SIDE_CURSORS", False)
    # Parameters sent apart from the SQL (psycopg's server-side binding), and a statement run
    # DB_PREPARE_THRESHOLD times on one connection kept prepared there, so PostgreSQL stops
    # parsing and planning the same few queries on every request. "off" turns preparing off
    # (a PgBouncer older than 1.22, or one without max_prepared_statements: docs/production.md).
    DATABASES["default"]["OPTIONS"]["server_side_binding"] = env_bool("DB_SERVER_SIDE_BINDING", True)
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = env_prepare_threshold("DB_PREPARE_THRESHOLD", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "users.User"

# django-axes' lockout check first, then email-or-username sign-in (users/backends.py).
AUTHENTICATION_BACKENDS = [
    "users.backends.LockoutBackend",
    "users.backends.EmailOrUsernameBackend",
]

# --- Admin sign-in lockout (django-axes) ---------------------------------------------------
# Enforced on the admin login only: the API's /api/token/ keeps its contract (401, or 429 from the
# per-IP auth throttle, which the admin login spends too). Failed logins anywhere are recorded, so
# guessing a staff password through the API also locks that account out of the admin.
# A lockout lifts after AXES_COOLOFF_MINUTES; `python manage.py axes_reset` (or axes_reset_username
# / axes_reset_ip) lifts it at once.
AXES_ONLY_ADMIN_SITE = True
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 60))
# Locked when either the account or the client address has too many failures.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_USERNAME_CALLABLE = "users.backends.lockout_username"
AXES_CLIENT_IP_CALLABLE = "users.throttling.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # no row per successful login; failures are still recorded
AXES_VERBOSE = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Cache (Redis when REDIS_URL is set, in-process otherwise) ---------------------------
REDIS_URL = env("REDIS_URL")
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    # Without a scheme redis-py refuses the URL at the first request: every request was a 500.
    raise ImproperlyConfigured(
        f"REDIS_URL must start with redis://, rediss:// or unix://, not {REDIS_URL!r}."
    )
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", "novacart"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
                # After a timeout, operations on that Redis fail at once for 5 s instead of each
                # waiting its 2 s (core/redis_breaker.py).
                "CONNECTION_POOL_KWARGS": {"connection_class": connection_class_for(REDIS_URL)},
                # A Redis outage degrades the cache (throttles fail open, lookups miss) instead of
                # turning every request into a 500; /api/health/ still reports it and answers 503.
                "IGNORE_EXCEPTIONS": env_bool("CACHE_IGNORE_EXCEPTIONS", True),
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Static and media -------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
MEDIA_URL = env("MEDIA_URL", "/media/")
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
CLOUDINARY_URL = env("CLOUDINARY_URL")
CLOUDINARY_STORAGE = {
    "CLOUD_NAME": env("CLOUDINARY_CLOUD_NAME"),
    "API_KEY": env("CLOUDINARY_API_KEY"),
    "API_SECRET": env("CLOUDINARY_API_SECRET"),
}
USE_CLOUDINARY = bool(CLOUDINARY_URL or all(CLOUDINARY_STORAGE.values()))
if USE_CLOUDINARY:
    # Media only; listed after staticfiles because its collectstatic is broken on Django 5.
    INSTALLED_APPS.insert(INSTALLED_APPS.index("django.contrib.staticfiles") + 1, "cloudinary_storage")
    INSTALLED_APPS.append("cloudinary")
    STORAGES["default"] = {"BACKEND": "cloudinary_storage.storage.MediaCloudinaryStorage"}

# --- REST framework, JWT, schema -----------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["users.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    # DRF's defaults, with a JSON parser that answers 400 (not 500) for too deeply nested JSON.
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.StandardPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.exceptions.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_THROTTLE_CLASSES": [
        # DRF's rates and keys, each checked in one atomic Redis round trip (users/throttling.py).
        "users.throttling.AnonRateThrottle",
        "users.throttling.UserRateThrottle",  # signed-in callers only
    ],
    "DEFAULT_THROTTLE_RATES": {
        "auth": env_rate("THROTTLE_RATE_AUTH", "10/min"),
        "anon": env_rate("THROTTLE_RATE_ANON", "300/min"),
        "user": env_rate("THROTTLE_RATE_USER", "1200/min"),
    },
    # X-Forwarded-For is trusted only when a proxy count is configured (render.yaml sets 1). 0: the
    # client IP is REMOTE_ADDR; DRF's None would trust the whole header, which any client can forge.
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "COERCE_DECIMAL_TO_STRING": True,
}
if env_bool("THROTTLE_DISABLED", False):
    REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = []

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("ACCESS_TOKEN_LIFETIME", 60)),
    "REFRESH_TOKEN_LIFETIME": timedelta(minutes=env_int("REFRESH_TOKEN_LIFETIME", 60 * 24 * 7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
    # Access tokens carry a hash of the password hash: a password change or reset revokes them.
    "CHECK_REVOKE_TOKEN": True,
    # simplejwt's AccessToken plus the logout denylist in the shared cache (users/tokens.py).
    "AUTH_TOKEN_CLASSES": ("users.tokens.AccessToken",),
}
# Seconds after a rotation during which the rotated refresh token, sent again, gets the same new
# refresh token back (while that one is unused) instead of a 401: tabs or calls that refresh at
# once, and a mobile retry of a refresh whose answer was lost (users.serializers). 0: off.
REFRESH_TOKEN_REUSE_SECONDS = env_int("REFRESH_TOKEN_REUSE_SECONDS", 30)

SPECTACULAR_SETTINGS = {
    "TITLE": "NovaCart API",
    "DESCRIPTION": "E-commerce REST backend: accounts, catalog, cart, orders, Stripe payments.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/",
    # /api/docs/ and /api/redoc/ load their JavaScript and CSS from our static files, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Also document the 400/415/404 DRF itself gives (unparsable body, content type, page past the end).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.openapi.add_framework_error_responses",
    ],
}

# --- CORS / CSRF ----------------------------------------------------------------------
# The local storefront's dev servers are the default only with DEBUG on. In production nothing is
# allowed until CORS_ALLOWED_ORIGINS names the storefront (`check --deploy` warns: novacart.W004).
CORS_ALLOWED_ORIGINS = env_list(
    "CORS_ALLOWED_ORIGINS", "http://localhost:3000,http://localhost:5173" if DEBUG else ""
)
CORS_ALLOW_HEADERS = (
    "accept",
    "authorization",
    "content-type",
    "idempotency-key",
    "origin",
    "user-agent",
    "x-request-id",
)
CORS_EXPOSE_HEADERS = ["X-Request-ID", "Retry-After"]
# corsheaders' default, spelled out: left unset, every request paid for a settings lookup that
# misses (an exception caught twice, ~1.6 us).
CORS_URLS_REGEX = r"^.*$"
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
if RENDER_EXTERNAL_HOSTNAME:
    CSRF_TRUSTED_ORIGINS.append(f"https://{RENDER_EXTERNAL_HOSTNAME}")

# --- Shop -------------------------------------------------------------------------------
FRONTEND_URL = env("FRONTEND_URL", "http://localhost:5173").rstrip("/")
CURRENCY = env("CURRENCY", "usd").lower()
if not re.fullmatch(r"[a-z]{3}", CURRENCY) or minor_unit_exponent(CURRENCY) != 2:
    # Every amount is rounded to the cent (prices, discount shares, refunds; the contract's
    # decimal strings have two places): in a currency without cents each share would be rounded
    # to Stripe's whole unit on its own, and refunds could add up to more than was charged.
    raise ImproperlyConfigured(
        "CURRENCY must be a three-letter ISO 4217 code of a currency with cents "
        f"(usd, eur, gbp, inr, ...), not {CURRENCY!r}."
    )
SHIPPING_FLAT_RATE = env_money("SHIPPING_FLAT_RATE", "5.00")
FREE_SHIPPING_THRESHOLD = env_money("FREE_SHIPPING_THRESHOLD", "50.00")
ORDER_PENDING_TTL_MINUTES = env_int("ORDER_PENDING_TTL_MINUTES", 30)
DELIVERY_ESTIMATE_DAYS = env_int("DELIVERY_ESTIMATE_DAYS", 5)
CART_MAX_LINE_QUANTITY = 99
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3600)
PINCODE_LOOKUP_URL = env("PINCODE_LOOKUP_URL")
PINCODE_LOOKUP_TIMEOUT = 3
# The storefront profile's product list (/api/web/products/) is a plain array: at most this many.
WEB_PRODUCT_LIST_MAX = env_int("WEB_PRODUCT_LIST_MAX", 500)
# Lifetime of the versioned catalog cache entries (anonymous list/detail responses, COUNT(*)); a memory
# bound: catalog writes bump the version on commit (core/catalog_cache.py). 0 = off (DEBUG default).
CATALOG_CACHE_SECONDS = env_int("CATALOG_CACHE_SECONDS", 0 if DEBUG else 300)
# Web processes: after this many requests, one full garbage collection, then gc.freeze(), so later
# full collections skip what the process keeps (core/gc_freeze.py, backend/wsgi.py). 0 = off.
GC_FREEZE_AFTER = env_int("GC_FREEZE_AFTER", 200)
if GC_FREEZE_AFTER < 0:
    raise ImproperlyConfigured(
        f"GC_FREEZE_AFTER must be 0 (off) or more, not {env('GC_FREEZE_AFTER').strip()!r}."
    )

# --- Stripe -----------------------------------------------------------------------------
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", "sk_test_local")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", "pk_test_local")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", "whsec_local")
STRIPE_API_BASE = env("STRIPE_API_BASE", "https://api.stripe.com")
STRIPE_WEBHOOK_TOLERANCE = env_int("STRIPE_WEBHOOK_TOLERANCE", 300)

# --- Email ------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "NovaCart <no-reply@novacart.local>")
# First retry delay of an email the provider refused for a passing reason, in seconds; each next
# one doubles, up to 10 minutes, with full jitter (core.tasks.send_templated_email).
EMAIL_RETRY_BACKOFF = env_int("EMAIL_RETRY_BACKOFF", 30)
RESEND_API_KEY = env("RESEND_API_KEY")
EMAIL_HOST = env("EMAIL_HOST")
if RESEND_API_KEY:
    EMAIL_BACKEND = "anymail.backends.resend.EmailBackend"
    ANYMAIL = {"RESEND_API_KEY": RESEND_API_KEY}
elif EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
    EMAIL_HOST_USER = env("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
    EMAIL_TIMEOUT = 10
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
# An explicit backend wins, e.g. the file backend (with EMAIL_FILE_PATH) to inspect a worker's mail.
EMAIL_BACKEND = env("EMAIL_BACKEND") or EMAIL_BACKEND
if env("EMAIL_FILE_PATH"):
    EMAIL_FILE_PATH = env("EMAIL_FILE_PATH")

# --- Celery -----------------------------------------------------------------------------
# The broker (and task results) may live in their own Redis, apart from the cache: render.yaml runs
# a `noeviction` instance for the queue and an `allkeys-lru` one for the cache (README, Deployment).
# Unset: the cache's REDIS_URL carries the queue too.
CELERY_BROKER_URL = env("CELERY_BROKER_URL") or REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = env("CELERY_BROKER_URL") or REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not (env("CELERY_BROKER_URL") or REDIS_URL))
CELERY_TASK_EAGER_PROPAGATES = True
# At-least-once: a task is acknowledged after it ran, and re-queued if its worker dies mid-way.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
CELERY_RESULT_EXPIRES = 3600
# Nothing reads a task's result. Storing one made every publish first subscribe to the result in
# Redis, which Celery retries 20 times a second apart: with the broker down, an order answered
# after 19 s. (Tests that watch a real worker ask for results per call: apply_async(ignore_result=False).)
CELERY_TASK_IGNORE_RESULT = True
# A broker that hangs (rather than refuses) must not hold the request that queues a task after
# its commit: each socket operation gives up after 2 s, and a failed publish is retried once.
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_timeout": 2, "socket_connect_timeout": 2}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "expire-pending-orders": {
        "task": "orders.tasks.expire_pending_orders",
        "schedule": 60.0,
        # A run nobody picked up within the minute is dropped: the next one does the same work.
        "options": {"expires": 55},
    },
    # Intents left open by a cancel or expiry that met Stripe down (order_intents_cancel_retry).
    "retry-payment-intent-cancels": {
        "task": "orders.tasks.retry_payment_intent_cancels",
        "schedule": 300.0,
        "options": {"expires": 290},
    },
    # Expired refresh tokens, their blacklist entries and expired reset links (tokens_flush_expired).
    "flush-expired-tokens": {
        "task": "users.tasks.flush_expired_tokens",
        # At a fixed time: an interval of a day would restart with every beat restart (each deploy
        # on Render, where the schedule file lives in /tmp) and might never come round.
        "schedule": crontab(hour=3, minute=30),
        "options": {"expires": 3600},
    },
}

# --- Security (production) ------------------------------------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^api/health/$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"

# --- Logging: one JSON line per record ------------------------------------------------
LOG_LEVEL = env("LOG_LEVEL", "INFO").strip().upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(
        f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {LOG_LEVEL!r}."
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "core.logging.RequestIdFilter"},
        "refused_host": {"()": "core.logging.RefusedHostAsWarning"},
    },
    "formatters": {
        "json": {
            # JSON, with passwords, tokens and Authorization values masked (core/logging.py).
            "()": "core.logging.RedactingJsonFormatter",
            "fmt": JSON_FORMAT,
            "rename_fields": JSON_RENAME_FIELDS,
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json",
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.server": {"handlers": [], "propagate": False},
        "django.request": {"level": "ERROR"},
        # A Host header not in ALLOWED_HOSTS (answered 400): one WARNING line, not an ERROR with a
        # traceback per scanner request.
        "django.security.DisallowedHost": {"filters": ["refused_host"]},
    },
}

SENTRY_DSN = env("SENTRY_DSN")
SENTRY_TRACES_SAMPLE_RATE = env_fraction("SENTRY_TRACES_SAMPLE_RATE", 0.0)  # read (checked) always
if SENTRY_DSN:
    import sentry_sdk

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=env("SENTRY_ENVIRONMENT", "production"),
        release=APP_VERSION,
        send_default_pii=False,
        traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
    )
