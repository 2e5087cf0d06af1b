"""Settings for the benchmark server: the production settings plus one extra URL.

Everything else comes from the environment exactly as in production (bench/runner.py sets
DEBUG off, SECRET_KEY, ALLOWED_HOSTS, throttles off, LOG_LEVEL=WARNING). The only difference
is ROOT_URLCONF, which adds the no-database `/api/bench/ping/` ceiling endpoint; it is never
part of backend.urls.
"""

from backend.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
