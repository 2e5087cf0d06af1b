"""schemathesis against the live, production-shaped server (.ci/prod-tier), not in process.

The schema is the one the live server serves (`/api/schema/`). Every operation gets
`PROD_TIER_EXAMPLES` generated requests (explicit examples first, then generated ones; deterministic,
no shrinking), once as a signed-in customer; every response must pass the same checks as the
in-process pass (reliability/tests/_schema.py): no 5xx, a documented status code and content type,
and a body matching the documented schema.

Throttle counters are reset in the live Redis before each request, as the in-process pass does:
the fuzzer sends far more requests per minute than the production rates allow, and throttling
itself is tested in users/tests/test_throttling.py.

Environment: NOVACART_LIVE_URL, NOVACART_LIVE_REDIS_URL, PROD_TIER_EXAMPLES (default 10).
"""

from __future__ import annotations

import os
import secrets
import sys

import redis
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

BASE = os.environ["NOVACART_LIVE_URL"].rstrip("/")
EXAMPLES = int(os.environ.get("PROD_TIER_EXAMPLES", "10"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Not fuzzed here: the webhook (its signature makes every generated body a 400; the journey sends
# a correctly signed one), and logout (it would end the session the pass runs with).
SKIP = {("POST", "/api/payments/webhook/"), ("POST", "/api/token/blacklist/"), ("POST", "/api/web/logout/")}

throttle_store = redis.Redis.from_url(os.environ["NOVACART_LIVE_REDIS_URL"])


def reset_throttles() -> None:
    keys = list(throttle_store.scan_iter(match="*throttle_*", count=1000))
    if keys:
        throttle_store.delete(*keys)


def customer_token() -> str:
    email = f"conformance-{secrets.token_hex(4)}@example.com"
    password = f"Zq{secrets.token_hex(8)}!7"  # random: never "too similar" to the email
    created = requests.post(f"{BASE}/api/register/", json={"email": email, "password": password}, timeout=20)
    assert created.status_code == 201, created.text
    tokens = requests.post(f"{BASE}/api/token/", json={"email": email, "password": password}, timeout=20)
    assert tokens.status_code == 200, tokens.text
    return tokens.json()["access"]


def main() -> int:
    config = schemathesis.Config.from_dict(
        {
            "generation": {"deterministic": True, "no-shrink": True, "with-security-parameters": False},
            "phases": {"stateful": {"enabled": False}},
        }
    )
    schema = schemathesis.openapi.from_url(f"{BASE}/api/schema/", config=config)
    reset_throttles()
    headers = {"Authorization": f"Bearer {customer_token()}"}
    session = requests.Session()
    failures: list[str] = []
    operations = 0
    requests_sent = 0

    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIP:
            continue
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case) -> None:
            nonlocal requests_sent
            reset_throttles()
            response = case.call(base_url=BASE, session=session, headers=headers, timeout=20)
            requests_sent += 1
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except Exception as error:  # one line per failing operation, then go on
            first_line = str(error).strip().splitlines()[:12]
            failures.append(f"{operation.method.upper()} {operation.path}:\n    " + "\n    ".join(first_line))

    print(f"conformance: {operations} operations, {requests_sent} requests against {BASE}")
    if failures:
        print(f"conformance: FAILED on {len(failures)} operations:", file=sys.stderr)
        for failure in failures:
            print(f"  {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
