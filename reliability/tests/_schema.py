"""The project's OpenAPI schema loaded into schemathesis, and the checks every response must pass.

Shared by test_schema_fuzz.py (generated requests) and test_schema_success.py (one hand-made
successful request per operation). Not collected by pytest (no `test_` prefix).
"""

from __future__ import annotations

import json
import os

import schemathesis
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import reset_throttles

FUZZ_EXAMPLES = int(os.environ.get("RELIABILITY_FUZZ_EXAMPLES", "10"))

# No 5xx (the fake Stripe and the fake pincode provider are up, so even a documented 502/503 is a
# failure here), a documented status code and content type, and a body matching its schema.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _load_schema() -> dict:
    """The schema exactly as GET /api/schema/ serves it (same generator, same JSON renderer)."""
    spec = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(spec, renderer_context={}))


CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {
            "max-examples": FUZZ_EXAMPLES,
            "deterministic": True,
            "no-shrink": True,
            # Tokens come from the test (a real one per caller), not from the generator.
            "with-security-parameters": False,
        },
        "phases": {"stateful": {"enabled": False}},
    }
)
SCHEMA_DICT = _load_schema()
SCHEMA = schemathesis.openapi.from_dict(SCHEMA_DICT, config=CONFIG)
METHODS = ("get", "put", "post", "patch", "delete")
OPERATIONS = sorted(
    f"{method.upper()} {path}"
    for path, item in SCHEMA_DICT["paths"].items()
    for method in item
    if method in METHODS
)


def call_and_check(case, wsgi_app, headers: dict[str, str], **kwargs):
    """Send `case` to the in-process app and run CHECKS on the response (raises on a failure)."""
    reset_throttles()
    response = case.call(app=wsgi_app, headers=headers, **kwargs)
    if response.status_code >= 500 and wsgi_app.exceptions:
        # Show the server-side traceback, not just the 500.
        raise wsgi_app.exceptions[-1]
    case.validate_response(response, checks=CHECKS)
    return response
