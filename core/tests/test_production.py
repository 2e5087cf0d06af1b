"""Production settings, checked the way production runs them: fresh processes with the production
example environment (.env.production.example). `check --deploy` is clean, the app refuses to start
misconfigured, each service switches on with its variable, and the app boots under its web server
(granian, `python -m backend.serve`) with DEBUG off and serves the health check, the schema, the
admin and its hashed static files."""

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
import yaml
from django.conf import settings
from django.db import connection

BASE_DIR = Path(settings.BASE_DIR)
EXAMPLE = BASE_DIR / ".env.production.example"
PYTHON = sys.executable
# Variables a developer's shell or CI may export that must not leak into the production env.
_APP_VARIABLES = {
    line.partition("=")[0].lstrip("# ").strip()
    for example in (BASE_DIR / ".env.example", EXAMPLE)
    for line in example.read_text().splitlines()
    if re.match(r"^#?\s*[A-Z][A-Z0-9_]+=", line)
}


def example_env() -> dict[str, str]:
    """The example's variables as a shell (`set -a; . file`) or systemd's EnvironmentFile reads them."""
    result = subprocess.run(
        ["bash", "-c", 'set -a && . "$1" && set +a && env -0', "-", str(EXAMPLE)],
        env={"PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0 and not result.stderr, result.stderr  # the VPS steps source it
    sourced = dict(item.partition("=")[::2] for item in result.stdout.split("\0") if item)
    names = {
        line.partition("=")[0].strip()
        for line in EXAMPLE.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    }
    assert names <= set(sourced), names - set(sourced)
    return {name: sourced[name] for name in names}


def process_env(**variables: str | None) -> dict[str, str]:
    """The current environment minus every app variable, plus `variables` (None removes one)."""
    env = {key: value for key, value in os.environ.items() if key not in _APP_VARIABLES}
    env["DJANGO_SETTINGS_MODULE"] = "backend.settings"
    env["LOG_LEVEL"] = "WARNING"
    for key, value in variables.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def production_env(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    """The production example with a fresh random SECRET_KEY and this test run's database."""
    values: dict[str, str | None] = dict(example_env())
    values["SECRET_KEY"] = secrets.token_urlsafe(50)
    values["DATABASE_URL"] = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_path / 'prod.sqlite3'}"
    values.update(overrides)
    return process_env(**values)


def run(args: list[str], env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=timeout)


SETTINGS_AS_JSON = """
import json
import django
django.setup()
from django.conf import settings as s
print(json.dumps({name: getattr(s, name, None) for name in %r}, default=str))
"""


def settings_in_process(env: dict[str, str], *names: str) -> dict:
    result = run([PYTHON, "-c", SETTINGS_AS_JSON % (names,)], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- check --deploy -----------------------------------------------------------------------------------
def test_check_deploy_is_clean_with_the_production_example(tmp_path):
    result = run(
        [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env(tmp_path)
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_reports_a_weakened_production_config(tmp_path):
    env = production_env(
        tmp_path,
        SECURE_SSL_REDIRECT="false",
        SECURE_HSTS_SECONDS="0",
        REDIS_URL=None,
        RESEND_API_KEY=None,
        STRIPE_SECRET_KEY=None,
        SECRET_KEY="django-insecure-" + "x" * 40,
    )
    result = run([PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)

    assert result.returncode != 0
    output = result.stdout + result.stderr
    for check_id in (
        "security.W004",  # HSTS
        "security.W008",  # SSL redirect
        "security.W009",  # weak SECRET_KEY
        "novacart.W001",  # no Redis
        "novacart.W002",  # console email
        "novacart.W003",  # Stripe placeholders
    ):
        assert check_id in output


# --- every variable is documented ---------------------------------------------------------------------
def _variables_read_by_the_code() -> set[str]:
    settings_source = (BASE_DIR / "backend" / "settings.py").read_text()
    server_source = (BASE_DIR / "backend" / "serve.py").read_text()
    names = set(
        re.findall(
            r'\benv(?:_[a-z_]+)?\(\s*"([A-Z][A-Z0-9_]+)"',
            settings_source,
        )
    )
    names |= set(
        re.findall(r"(?:_env_int\(environ,|environ\.get\()\s*[\"']([A-Z][A-Z0-9_]+)[\"']", server_source)
    )
    return names | {"DATABASE_URL"}  # read by dj_database_url


def test_every_variable_is_in_env_example_and_the_docs():
    names = _variables_read_by_the_code()
    assert {"SECRET_KEY", "REDIS_URL", "WEB_CONCURRENCY", "WEB_THREADS", "PORT"} <= names  # the scan works
    example = (BASE_DIR / ".env.example").read_text()
    docs = (BASE_DIR / "docs" / "production.md").read_text()
    # A variable may stand commented out (WEB_CONCURRENCY: its default is computed).
    assert sorted(name for name in names if not re.search(rf"^(?:# )?{name}=", example, re.MULTILINE)) == []
    assert sorted(name for name in names if f"`{name}`" not in docs) == []


# --- deployment files ---------------------------------------------------------------------------------
def test_render_blueprint_wires_every_process_and_service():
    blueprint = yaml.safe_load((BASE_DIR / "render.yaml").read_text())
    docs = (BASE_DIR / "docs" / "production.md").read_text()
    services = {service["name"]: service for service in blueprint["services"]}
    web, worker, beat = services["novacart-api"], services["novacart-worker"], services["novacart-beat"]

    assert web["type"] == "web"
    assert (
        web["buildCommand"] == "pip install -r requirements.txt && python manage.py collectstatic --noinput"
    )
    assert web["preDeployCommand"] == "python manage.py migrate --noinput"
    assert web["startCommand"] == "python -m backend.serve"
    assert web["healthCheckPath"] == "/api/health/"
    assert worker["type"] == beat["type"] == "worker"
    assert worker["startCommand"].startswith("celery -A backend worker ")
    assert beat["startCommand"].startswith("celery -A backend beat ")
    assert beat["numInstances"] == 1
    for command in (web["buildCommand"], web["preDeployCommand"], web["startCommand"]):
        assert command in docs
    assert worker["startCommand"] in docs and beat["startCommand"] in docs
    # Cache and queue in two instances: the cache may evict, the queue never (README, Deployment).
    assert services["novacart-kv"]["type"] == services["novacart-broker"]["type"] == "keyvalue"
    assert services["novacart-kv"]["maxmemoryPolicy"] == "allkeys-lru"
    assert services["novacart-broker"]["maxmemoryPolicy"] == "noeviction"
    [database] = blueprint["databases"]
    assert (database["name"], database["postgresMajorVersion"]) == ("novacart-db", "15")

    for service in (web, worker, beat):
        variables = {item["key"]: item for item in service["envVars"] if "key" in item}
        assert {"fromGroup": "novacart-shared"} in service["envVars"]
        assert variables["DATABASE_URL"]["fromDatabase"] == {
            "name": "novacart-db",
            "property": "connectionString",
        }
        assert variables["REDIS_URL"]["fromService"] == {
            "type": "keyvalue",
            "name": "novacart-kv",
            "property": "connectionString",
        }
        assert variables["CELERY_BROKER_URL"]["fromService"] == {
            "type": "keyvalue",
            "name": "novacart-broker",
            "property": "connectionString",
        }
        assert "ALLOWED_HOSTS" in variables  # settings refuse to load without it when DEBUG is off

    [group] = blueprint["envVarGroups"]
    shared = {item["key"]: item for item in group["envVars"]}
    assert shared["SECRET_KEY"] == {"key": "SECRET_KEY", "generateValue": True}
    assert shared["DEBUG"]["value"] == "false"
    all_items = list(group["envVars"]) + [
        item for s in (web, worker, beat) for item in s["envVars"] if "key" in item
    ]
    secret_names = {
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "RESEND_API_KEY",
        "CLOUDINARY_URL",
        "SENTRY_DSN",
    }
    assert secret_names <= {item["key"] for item in all_items}
    for item in all_items:
        if item["key"] in secret_names | {"EMAIL_HOST_PASSWORD", "CLOUDINARY_API_SECRET"}:
            assert item.get("sync") is False and "value" not in item, item  # secrets never in git
    known = _variables_read_by_the_code() | {"PYTHON_VERSION"}
    assert sorted({item["key"] for item in all_items} - known) == []  # no typo'd variable names


def test_ci_workflow_runs_what_ci_run_runs():
    workflow = yaml.safe_load((BASE_DIR / ".github" / "workflows" / "ci.yml").read_text())
    ci_run = (BASE_DIR / ".ci" / "run").read_text()
    job = workflow["jobs"]["test"]

    assert job["services"]["postgres"]["image"] == "postgres:15"
    assert job["services"]["redis"]["image"] == "redis:7"
    assert job["env"]["DATABASE_URL"].startswith("postgres://")
    assert job["env"]["REDIS_URL"].startswith("redis://")
    assert job["env"]["REQUIRE_POSTGRES"] == job["env"]["REQUIRE_REDIS"] == "1"
    setup_python = next(
        step for step in job["steps"] if step.get("uses", "").startswith("actions/setup-python")
    )
    assert setup_python["with"]["python-version"] == "3.11"
    commands = [step["run"] for step in job["steps"] if "run" in step]
    assert any("requirements-dev.txt" in step.get("name", "") for step in job["steps"])
    for command in (
        ".venv/bin/ruff check .",
        ".venv/bin/python manage.py check --fail-level WARNING",
        ".venv/bin/python manage.py makemigrations --check --dry-run",
        "make test",
    ):
        assert command in commands
        assert command in ci_run


# --- refuse to start misconfigured -------------------------------------------------------------------
SETUP = [
    PYTHON,
    "-c",
    "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)",
]


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"DEBUG": "false"}, "SECRET_KEY must be set when DEBUG is off"),
        ({"DEBUG": "false", "ALLOWED_HOSTS": "api.example.com"}, "SECRET_KEY must be set when DEBUG is off"),
        ({"SECRET_KEY": secrets.token_urlsafe(50)}, "ALLOWED_HOSTS must be set when DEBUG is off"),
        (
            {"SECRET_KEY": secrets.token_urlsafe(50), "DEBUG": "false", "ALLOWED_HOSTS": " , "},
            "ALLOWED_HOSTS must be set when DEBUG is off",
        ),
    ],
)
def test_refuses_to_start_without_secret_key_or_allowed_hosts(variables, message):
    result = run(SETUP, process_env(**variables), timeout=60)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


@pytest.mark.parametrize("currency", ["jpy", "KWD", "dollars", ""])
def test_refuses_to_start_with_a_currency_that_has_no_cents(currency):
    # Amounts are rounded to the cent; in yen each refunded share was rounded up on its own and
    # the refunds of an order added up to more than its charge.
    result = run(SETUP, process_env(CURRENCY=currency), timeout=60)

    assert result.returncode != 0
    assert "CURRENCY must be a three-letter ISO 4217 code of a currency with cents" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SECURE_SSL_REDIRECT", "ture"),  # read as false before: the redirect silently off
        ("CACHE_IGNORE_EXCEPTIONS", "maybe"),
        ("DB_CONN_MAX_AGE", "sixty"),
        ("NUM_PROXIES", "1.5"),
        ("THROTTLE_RATE_USER", "1200"),  # passed every check, then every throttled request was a 500
        ("THROTTLE_RATE_AUTH", "ten/min"),
        ("THROTTLE_RATE_ANON", "300 per minute"),
        ("REDIS_URL", "127.0.0.1:6379"),
        ("SHIPPING_FLAT_RATE", "five"),
        ("SHIPPING_FLAT_RATE", "NaN"),  # compared as nothing: the threshold test was a 500
        ("SHIPPING_FLAT_RATE", "-5"),  # a negative shipping line lowered the total
        ("SHIPPING_FLAT_RATE", "1e400"),  # every priced cart a 500 (quantize_money cannot hold it)
        ("FREE_SHIPPING_THRESHOLD", "1e12"),  # more digits than an order column has
        ("SHIPPING_FLAT_RATE", "4.999"),  # not whole cents
        ("SENTRY_TRACES_SAMPLE_RATE", "1.5"),
        ("LOG_LEVEL", "loud"),
        ("DB_PREPARE_THRESHOLD", "often"),
        ("GC_FREEZE_AFTER", "-1"),
    ],
)
def test_refuses_to_start_with_a_value_it_cannot_read_and_names_the_variable(variable, value):
    configured = {
        "SECRET_KEY": "k" * 50,
        "ALLOWED_HOSTS": "api.example.com",
        # read, not connected to
        "DATABASE_URL": "postgres://novacart@db.internal:5432/novacart",
        "REDIS_URL": "redis://redis.internal:6379/0",
    }
    result = run(SETUP, process_env(**{**configured, variable: value}), timeout=60)

    assert result.returncode != 0, result.stdout
    assert "ImproperlyConfigured" in result.stderr
    assert f"{variable} must" in result.stderr
    assert repr(value.strip().lower()) in result.stderr.lower()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("WEB_THREADS", "0"),
        ("WEB_CONCURRENCY", "0"),
        ("WEB_CONCURRENCY", "two"),
        ("PORT", "http"),
        ("WEB_GRACEFUL_TIMEOUT", "0"),
        ("WEB_MAX_RSS_MB", "-1"),
        ("PORT", "70000"),
        ("WEB_THREAD_IDLE_TIMEOUT", "3"),  # granian's bounds: 5 to 600 s
        ("WEB_THREAD_IDLE_TIMEOUT", "601"),
    ],
)
def test_the_server_refuses_a_count_it_cannot_use_and_names_the_variable(variable, value):
    # 0 workers or threads leave nothing to answer requests.
    read_options = [PYTHON, "-c", "from backend.serve import options; print(sorted(options()))"]
    result = run(read_options, process_env(**{variable: value}), timeout=60)

    assert result.returncode != 0, result.stdout
    assert f"{variable} must be a whole number" in result.stderr
    assert repr(value) in result.stderr
    assert run(read_options, process_env(), timeout=60).returncode == 0  # the defaults are fine


def test_the_server_reads_its_variables():
    from backend.serve import options

    chosen = options(
        {
            "PORT": "9000",
            "WEB_BIND_ADDRESS": "127.0.0.1",
            "WEB_CONCURRENCY": "3",
            "WEB_THREADS": "4",
            "WEB_GRACEFUL_TIMEOUT": "20",
            "WEB_MAX_RSS_MB": "512",
            "WEB_THREAD_IDLE_TIMEOUT": "120",
            "LOG_LEVEL": "WARNING",
        }
    )
    assert (chosen["address"], chosen["port"], chosen["workers"]) == ("127.0.0.1", 9000, 3)
    assert (chosen["blocking_threads"], chosen["workers_kill_timeout"], chosen["workers_max_rss"]) == (
        4,
        20,
        512,
    )
    assert chosen["log_level"] == "warning"
    assert chosen["target"] == "backend.wsgi:application"
    assert chosen["interface"] == "wsgi"
    assert chosen["respawn_failed_workers"] is True
    assert chosen["blocking_threads_idle_timeout"] == 120
    # Connections per worker as gunicorn's worker_connections (granian's default is a share of
    # the backlog: ~1,000 per instance whatever the workers), a deeper backlog, 64 KiB of head.
    assert (chosen["backpressure"], chosen["backlog"]) == (1000, 2048)
    assert chosen["http1_settings"].max_buffer_size == 64 * 1024

    defaults = options({})
    assert (defaults["address"], defaults["port"], defaults["blocking_threads"]) == ("0.0.0.0", 8000, 8)
    assert defaults["blocking_threads_idle_timeout"] == 30
    assert options({"WEB_BIND_ADDRESS": "::1"})["address"] == "::1"
    with pytest.raises(SystemExit, match="WEB_BIND_ADDRESS must be an IP address .* not 'localhost'"):
        options({"WEB_BIND_ADDRESS": "localhost"})
    assert 1 <= defaults["workers"] <= 4
    assert defaults["workers_max_rss"] is None  # off: a restart may drop queued connections
    assert defaults["log_level"] == "info"
    with pytest.raises(SystemExit, match="LOG_LEVEL must be one of"):
        options({"LOG_LEVEL": "loud"})


@pytest.mark.parametrize("reuse_port", [False, True])
def test_the_server_refuses_a_port_already_in_use(reuse_port):
    # granian's workers bind with SO_REUSEPORT: beside another such listener (a stale instance)
    # they would start and split its traffic, so the launcher checks with a plain bind first.
    with socket.socket() as taken:
        if reuse_port:
            taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = process_env(PORT=str(port), WEB_BIND_ADDRESS="127.0.0.1", SECRET_KEY="k" * 50)
        result = run([PYTHON, "-m", "backend.serve"], env, timeout=60)

    assert result.returncode != 0
    assert result.stderr.strip() == f"PORT {port} on 127.0.0.1 is not free: Address already in use."


def test_the_server_takes_one_target_or_none():
    result = run([PYTHON, "-m", "backend.serve", "backend.wsgi", "extra"], process_env(), timeout=60)

    assert result.returncode != 0
    assert "usage: python -m backend.serve [module:application]" in result.stderr


def test_log_level_may_be_lower_case():
    result = run(
        [*SETUP[:2], SETUP[2] + "; print(settings.LOG_LEVEL)"], process_env(LOG_LEVEL="info"), timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "INFO"


@pytest.mark.parametrize(
    ("variables", "debug"),
    [
        ({}, "True"),  # local development: no variables at all
        ({"SECRET_KEY": "k" * 50, "ALLOWED_HOSTS": "api.example.com"}, "False"),
        ({"SECRET_KEY": "k" * 50, "RENDER_EXTERNAL_HOSTNAME": "novacart.onrender.com"}, "False"),
    ],
)
def test_starts_when_configured(variables, debug):
    result = run(SETUP, process_env(**variables), timeout=60)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == debug


# --- each part switches on with its variables ---------------------------------------------------------
def test_production_example_settings(tmp_path):
    values = settings_in_process(
        production_env(tmp_path, RENDER_EXTERNAL_HOSTNAME="novacart-api.onrender.com"),
        "DEBUG",
        "ALLOWED_HOSTS",
        "CSRF_TRUSTED_ORIGINS",
        "SECURE_SSL_REDIRECT",
        "SECURE_PROXY_SSL_HEADER",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "CACHES",
        "CELERY_BROKER_URL",
        "CELERY_RESULT_BACKEND",
        "CELERY_TASK_ALWAYS_EAGER",
        "EMAIL_BACKEND",
        "ANYMAIL",
        "STORAGES",
        "INSTALLED_APPS",
        "REST_FRAMEWORK",
        "LOGGING",
    )
    assert values["DEBUG"] is False
    assert values["ALLOWED_HOSTS"] == ["api.novacart.example", "novacart-api.onrender.com"]
    assert values["CSRF_TRUSTED_ORIGINS"] == [
        "https://api.novacart.example",
        "https://novacart-api.onrender.com",
    ]
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["SECURE_HSTS_SECONDS"] == 31536000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SESSION_COOKIE_SECURE"] is True and values["CSRF_COOKIE_SECURE"] is True
    # Redis: cache (throttle counters) and Celery broker/results; tasks go to workers.
    assert values["CACHES"]["default"]["BACKEND"] == "django_redis.cache.RedisCache"
    assert values["CACHES"]["default"]["LOCATION"] == "redis://redis.internal:6379/0"
    assert values["CELERY_BROKER_URL"] == values["CELERY_RESULT_BACKEND"] == "redis://redis.internal:6379/0"
    assert values["CELERY_TASK_ALWAYS_EAGER"] is False
    # Resend through anymail.
    assert values["EMAIL_BACKEND"] == "anymail.backends.resend.EmailBackend"
    assert values["ANYMAIL"] == {"RESEND_API_KEY": "re_change_me"}
    # Cloudinary for media only, after staticfiles; whitenoise's compressed, hashed static files.
    assert values["STORAGES"]["default"]["BACKEND"] == "cloudinary_storage.storage.MediaCloudinaryStorage"
    assert (
        values["STORAGES"]["staticfiles"]["BACKEND"]
        == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    )
    apps = values["INSTALLED_APPS"]
    assert apps.index("cloudinary_storage") == apps.index("django.contrib.staticfiles") + 1
    # No browsable API in production; JSON logs with secrets masked.
    assert values["REST_FRAMEWORK"]["DEFAULT_RENDERER_CLASSES"] == ["rest_framework.renderers.JSONRenderer"]
    assert values["LOGGING"]["formatters"]["json"]["()"] == "core.logging.RedactingJsonFormatter"


def test_local_defaults_need_no_services():
    values = settings_in_process(
        process_env(),
        "DEBUG",
        "DATABASES",
        "CACHES",
        "CELERY_TASK_ALWAYS_EAGER",
        "CELERY_BROKER_URL",
        "EMAIL_BACKEND",
        "STORAGES",
        "INSTALLED_APPS",
    )
    assert values["DEBUG"] is True
    assert values["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert values["CACHES"]["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert values["CELERY_TASK_ALWAYS_EAGER"] is True
    assert values["CELERY_BROKER_URL"] == "memory://"
    assert values["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert values["STORAGES"]["default"]["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    assert "cloudinary_storage" not in values["INSTALLED_APPS"]


def test_smtp_variables_switch_on_the_smtp_backend():
    values = settings_in_process(
        process_env(
            EMAIL_HOST="smtp.resend.com",
            EMAIL_PORT="465",
            EMAIL_USE_TLS="false",
            EMAIL_HOST_USER="resend",
            EMAIL_HOST_PASSWORD="re_smtp_key",
        ),
        "EMAIL_BACKEND",
        "EMAIL_HOST",
        "EMAIL_PORT",
        "EMAIL_USE_TLS",
        "EMAIL_HOST_USER",
        "EMAIL_HOST_PASSWORD",
        "EMAIL_TIMEOUT",
    )
    assert values == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "smtp.resend.com",
        "EMAIL_PORT": 465,
        "EMAIL_USE_TLS": False,
        "EMAIL_HOST_USER": "resend",
        "EMAIL_HOST_PASSWORD": "re_smtp_key",
        "EMAIL_TIMEOUT": 10,
    }


def test_cloudinary_parts_and_postgres_timeouts():
    values = settings_in_process(
        process_env(
            CLOUDINARY_CLOUD_NAME="novacart",
            CLOUDINARY_API_KEY="123",
            CLOUDINARY_API_SECRET="secret",
            DATABASE_URL="postgres://novacart@db.internal:5432/novacart",
            DB_CONNECT_TIMEOUT="4",
        ),
        "STORAGES",
        "DATABASES",
    )
    assert values["STORAGES"]["default"]["BACKEND"] == "cloudinary_storage.storage.MediaCloudinaryStorage"
    assert values["DATABASES"]["default"]["OPTIONS"]["connect_timeout"] == 4
    assert values["DATABASES"]["default"]["CONN_HEALTH_CHECKS"] is True
    # The server-side limits by default: lock waits 15 s, statements 30 s.
    assert values["DATABASES"]["default"]["OPTIONS"]["options"] == (
        "-c lock_timeout=15000 -c statement_timeout=30000"
    )


@pytest.mark.parametrize(
    ("variables", "options"),
    [
        ({"DB_LOCK_TIMEOUT": "2", "DB_STATEMENT_TIMEOUT": "0"}, "-c lock_timeout=2000"),
        ({"DB_LOCK_TIMEOUT": "0", "DB_STATEMENT_TIMEOUT": "0"}, None),  # behind PgBouncer: ALTER ROLE
        (
            {"DATABASE_URL": "postgres://n@db.internal/n?options=-c%20search_path%3Dshop"},
            "-c search_path=shop -c lock_timeout=15000 -c statement_timeout=30000",
        ),
    ],
)
def test_postgres_server_side_limits_follow_their_variables(variables, options):
    values = settings_in_process(
        process_env(**{"DATABASE_URL": "postgres://novacart@db.internal:5432/novacart", **variables}),
        "DATABASES",
    )
    assert values["DATABASES"]["default"]["OPTIONS"].get("options") == options


# --- throttles share Redis ------------------------------------------------------------------------------
@pytest.mark.redis
@pytest.mark.django_db
def test_auth_throttle_counts_in_redis_and_answers_429_with_retry_after(api_client, user):
    from django_redis import get_redis_connection

    assert settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"
    redis_client = get_redis_connection("default")
    limit = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["auth"].split("/")[0])
    bad_login = {"email": user.email, "password": "not-the-password"}

    statuses = [api_client.post("/api/token/", bad_login, format="json").status_code for _ in range(limit)]
    assert statuses == [401] * limit
    keys = redis_client.keys("*throttle_auth_*")
    assert len(keys) == 1  # the counter lives in Redis, where every web process sees it
    assert 0 < redis_client.ttl(keys[0]) <= 60

    throttled = api_client.post("/api/token/", bad_login, format="json")
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "throttled"
    assert 1 <= int(throttled["Retry-After"]) <= 60

    # Another process with the same Redis starts from the same history: clearing it there frees it here.
    redis_client.delete(*keys)
    assert api_client.post("/api/token/", bad_login, format="json").status_code == 401


# --- the app under its web server with DEBUG off ------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_database_url(tmp_path: Path, env: dict[str, str]) -> str:
    """This run's PostgreSQL test database (migrated by pytest-django), or a migrated SQLite file."""
    if connection.vendor == "postgresql":
        parts = urlsplit(os.environ["DATABASE_URL"])
        return urlunsplit(
            (parts.scheme, parts.netloc, f"/{connection.settings_dict['NAME']}", parts.query, "")
        )
    url = f"sqlite:///{tmp_path / 'server.sqlite3'}"
    migrated = run([PYTHON, "manage.py", "migrate", "--noinput"], {**env, "DATABASE_URL": url}, timeout=300)
    assert migrated.returncode == 0, migrated.stderr
    return url


@pytest.mark.django_db
def test_app_boots_under_its_web_server_with_debug_off(tmp_path):
    port = _free_port()
    env = production_env(
        tmp_path,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        CSRF_TRUSTED_ORIGINS="https://127.0.0.1",
        REDIS_URL=os.environ.get("REDIS_URL") or settings.REDIS_URL or None,
        STATIC_ROOT=str(tmp_path / "static"),
        PORT=str(port),
        WEB_CONCURRENCY="2",
        LOG_LEVEL="INFO",
        WEB_BIND_ADDRESS="127.0.0.1",
        GC_FREEZE_AFTER="2",  # seven requests below: one worker serves at least four
    )
    env["DATABASE_URL"] = _server_database_url(tmp_path, env)
    collected = run([PYTHON, "manage.py", "collectstatic", "--noinput"], env, timeout=300)
    assert collected.returncode == 0, collected.stderr  # Django's collectstatic, not cloudinary's

    stdout, stderr = tmp_path / "server.out", tmp_path / "server.err"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        server = subprocess.Popen(
            [PYTHON, "-m", "backend.serve"],
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=err,
        )
    base = f"http://127.0.0.1:{port}"
    https = {"X-Forwarded-Proto": "https"}  # what Render's proxy (or nginx) adds
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                health = requests.get(f"{base}/api/health/", timeout=10, headers={"X-Request-ID": "boot-1"})
                break
            except (requests.ConnectionError, requests.ReadTimeout):  # not listening yet; still booting
                assert server.poll() is None, stderr.read_text()
                assert time.monotonic() < deadline, "the server did not start\n" + stderr.read_text()
                time.sleep(0.3)

        # Health answers over plain HTTP too (platform checks), with database and cache.
        assert health.status_code == 200, health.text
        assert health.json() == {"status": "ok", "database": "ok", "cache": "ok", "version": "1.0.0"}
        assert health.headers["X-Request-ID"] == "boot-1"

        # Everything else is redirected to HTTPS...
        plain = requests.get(f"{base}/api/schema/", timeout=30, allow_redirects=False)
        assert plain.status_code == 301
        assert plain.headers["Location"] == f"https://127.0.0.1:{port}/api/schema/"

        # ...and served with HSTS behind the proxy.
        schema = requests.get(f"{base}/api/schema/?format=json", timeout=60, headers=https)
        assert schema.status_code == 200, schema.text[:2000]
        document = schema.json()
        assert document["openapi"].startswith("3.")
        assert "/api/health/" in document["paths"]
        assert schema.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"

        # A host not in ALLOWED_HOSTS is refused.
        assert (
            requests.get(f"{base}/api/health/", timeout=10, headers={"Host": "evil.example"}).status_code
            == 400
        )

        # The admin renders with whitenoise's hashed static files, served compressed and cached forever.
        login = requests.get(f"{base}/admin/login/", timeout=30, headers=https)
        assert login.status_code == 200
        css_path = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', login.text).group(1)
        css = requests.get(f"{base}{css_path}", timeout=10, headers={**https, "Accept-Encoding": "gzip"})
        assert css.status_code == 200
        assert css.headers["Content-Encoding"] == "gzip"
        assert "immutable" in css.headers["Cache-Control"]
        assert b"{" in css.content  # requests decoded the gzip body
    finally:
        server.send_signal(signal.SIGTERM)  # graceful shutdown
        try:
            exit_code = server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            server.kill()
            raise
    assert exit_code == 0, stderr.read_text()
    assert "Traceback" not in stderr.read_text(), stderr.read_text()

    # Every line is JSON: granian's own (start, workers, shutdown) and the app's.
    lines = [json.loads(line) for line in stdout.read_text().splitlines() if line.strip()]
    own = [line["message"] for line in lines if line["logger"].startswith("_granian")]
    assert any("Listening at" in message for message in own), own
    assert sum("Spawning worker" in message for message in own) == 2, own
    assert any("Shutting down" in message for message in own), own
    # One request line per request from the app, with its id (granian's own access log is off).
    assert [line["logger"] for line in lines if line.get("request_id") == "boot-1"] == ["novacart.request"]
    # A worker froze its objects after two requests (core/gc_freeze.py, wrapped in backend/wsgi.py).
    frozen = [line["message"] for line in lines if line["logger"] == "novacart.server"]
    pattern = re.compile(r"gc: \d+ objects frozen after \d+ requests")
    assert any(pattern.fullmatch(message) for message in frozen), frozen
