"""CELERY_BROKER_URL puts Celery's queue and results in their own Redis, apart from the cache
(render.yaml: a `noeviction` broker next to an `allkeys-lru` cache); unset, REDIS_URL carries both."""

import json
import os
import subprocess
import sys

from django.conf import settings

SHOW = """
import json, django
django.setup()
from django.conf import settings
from backend.celery import app
print(json.dumps({
    "broker": app.conf.broker_url,
    "results": app.conf.result_backend,
    "eager": app.conf.task_always_eager,
    "cache": settings.CACHES["default"].get("LOCATION"),
}))
"""


def _celery_config(**variables: str) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"REDIS_URL", "CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER"}
    }
    env.update(DJANGO_SETTINGS_MODULE="backend.settings", LOG_LEVEL="ERROR", **variables)
    result = subprocess.run(
        [sys.executable, "-c", SHOW],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_separate_broker_url_carries_the_queue_and_results_not_the_cache():
    config = _celery_config(
        REDIS_URL="redis://cache.internal:6379/0", CELERY_BROKER_URL="redis://queue.internal:6379/0"
    )

    assert config == {
        "broker": "redis://queue.internal:6379/0",
        "results": "redis://queue.internal:6379/0",
        "eager": False,
        "cache": "redis://cache.internal:6379/0",
    }


def test_without_it_redis_url_carries_everything():
    config = _celery_config(REDIS_URL="redis://one.internal:6379/0")

    assert config["broker"] == config["results"] == config["cache"] == "redis://one.internal:6379/0"
    assert config["eager"] is False


def test_a_broker_without_a_cache_redis_still_queues_tasks():
    config = _celery_config(CELERY_BROKER_URL="redis://queue.internal:6379/0")

    assert config["broker"] == "redis://queue.internal:6379/0"
    assert config["eager"] is False
    assert config["cache"] is None  # local-memory cache
