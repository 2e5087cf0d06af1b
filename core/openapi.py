"""OpenAPI schema post-processing: the error responses DRF itself gives on every operation.

drf-spectacular documents what a view declares. Some answers come from the framework, whatever the
view: any operation that reads a request body answers 400 for a body it cannot parse (invalid JSON,
a broken multipart form), 413 for one over the upload limit (core.exceptions.RequestTooLarge) and 415
for a content type it does not accept; any paginated list answers
404 for a page past the end. Views document their own 400/404 with better descriptions; this hook
only fills in what is missing, so the schema lists every status a client can get
(reliability/tests/test_schema_fuzz.py checks that with schemathesis).
"""

from __future__ import annotations

import copy
from typing import Any

ERROR_COMPONENT = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "description": 'The contract\'s error body, `{"detail": "human sentence", "code": "machine_code"}`.',
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
    "required": ["detail", "code"],
}
ERROR_REF = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}

MALFORMED_BODY = {
    "description": 'Validation errors `{"field": ["message"]}`, or `{"detail", "code": "parse_error"}` '
    "for a body that cannot be parsed.",
    "content": {"application/json": {"schema": {"type": "object", "additionalProperties": {}}}},
}
UNSUPPORTED_MEDIA_TYPE = {
    "description": "`unsupported_media_type`: the body's Content-Type is missing or not accepted here.",
    "content": {"application/json": {"schema": ERROR_REF}},
}
REQUEST_TOO_LARGE = {
    "description": "`request_too_large`: the body is over the upload limit (DATA_UPLOAD_MAX_MEMORY_SIZE) "
    "or has too many form fields or files.",
    "content": {"application/json": {"schema": ERROR_REF}},
}
INVALID_PAGE = {
    "description": "`not_found`: `page` is past the last page or not a page number.",
    "content": {"application/json": {"schema": ERROR_REF}},
}

METHODS = ("get", "put", "post", "patch", "delete")


def _is_paginated(operation: dict[str, Any]) -> bool:
    return any(
        param.get("in") == "query" and param.get("name") == "page"
        for param in operation.get("parameters", [])
    )


def add_framework_error_responses(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """POSTPROCESSING_HOOKS entry: add the framework's 400/413/415 (body) and 404 (page) where missing."""
    for path_item in result.get("paths", {}).values():
        for method in METHODS:
            operation = path_item.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            if "requestBody" in operation:
                responses.setdefault("400", copy.deepcopy(MALFORMED_BODY))
                responses.setdefault("413", copy.deepcopy(REQUEST_TOO_LARGE))
                responses.setdefault("415", copy.deepcopy(UNSUPPORTED_MEDIA_TYPE))
            if _is_paginated(operation):
                responses.setdefault("404", copy.deepcopy(INVALID_PAGE))
    result.setdefault("components", {}).setdefault("schemas", {}).setdefault(
        ERROR_COMPONENT, copy.deepcopy(ERROR_SCHEMA)
    )
    return result
