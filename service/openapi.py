"""The OpenAPI schema as a client generator needs it: every error a route can answer, in the one
error shape, with Retry-After where it is sent; ``Idempotency-Key`` on the creating POSTs; the
WebSocket stream and the webhooks described (OpenAPI cannot describe a WebSocket as an
operation: its protocol is in the ``sessions`` tag)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from service.errors import DESCRIPTIONS, ErrorOut
from service.gate import needs_key
from service.idempotency import CREATE_PATHS, PARAMETER

STREAM_PROTOCOL = """\
**WebSocket** `GET /v1/sessions/{session_id}/stream`: the session's frames as they leave, 25 per
second. Authenticate with `X-API-Key` / `Authorization: Bearer`, or from a browser by offering the
subprotocols `visavis` and `visavis.key.<key>` (the server accepts `visavis`). Each binary message
is one frame: `<u32 LE header length><u32 LE JPEG length>`, a JSON header (`index`, `timestamp`,
`speech`, `segment`, `segment_end`, `n_valid`, `state`), the JPEG picture, then the frame's audio
as 16-bit little-endian mono PCM at 16 kHz (640 samples). One viewer at a time; refusals close the
socket with 4401 (no valid key), 4404 (no such session) or 4409 (a viewer is attached)."""

TAGS = [
    {"name": "keys", "description": "API keys: admin, secret and publishable (pk_...) scopes."},
    {"name": "characters", "description": "A face picture, made once into a character (ch_...)."},
    {"name": "clips", "description": "Speech + a character -> an MP4/WebM job (clp_...)."},
    {"name": "sessions", "description": "Real-time sessions (ses_...).\n\n" + STREAM_PROTOCOL},
    {"name": "livekit", "description": "An avatar worker joins a LiveKit room."},
    {"name": "webhooks", "description": "Clip and session events POSTed to your URL, signed."},
    {"name": "health", "description": "Liveness, readiness and metrics; no key."},
]

ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before retrying",
                               "schema": {"type": "integer"}}}  # fmt: skip


def _error(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": DESCRIPTIONS.get(status, "error"),
        "content": {"application/json": {"schema": ERROR_REF}},
    }
    if status in (429, 503):
        response["headers"] = RETRY_AFTER
    return response


BINARY = {"type": "string", "format": "binary"}


def _binary_files(components: dict[str, Any]) -> None:
    """Uploads as ``format: binary`` (what generators know as a file), an optional one without
    the ``anyOf`` with null that FastAPI writes for ``UploadFile | None``."""
    for name, component in components.items():
        if not name.startswith("Body_"):
            continue
        for prop, field in component.get("properties", {}).items():
            options = field.get("anyOf", [field])
            files = [o for o in options if o.get("contentMediaType") or o.get("format") == "binary"]
            if files:
                keep = {k: v for k, v in field.items() if k in ("title", "description")}
                component["properties"][prop] = {**BINARY, **keep}


def _binary_responses(operation: dict[str, Any]) -> None:
    """Media responses (PNG, video, CSV, event streams) described as binary strings."""
    for response in operation.get("responses", {}).values():
        for kind, media in response.get("content", {}).items():
            if kind != "application/json" and not media.get("schema"):
                media["schema"] = dict(BINARY)


def _plain_optional(operation: dict[str, Any]) -> None:
    """An optional parameter is absent or a value: FastAPI's ``anyOf [X, null]`` for
    ``X | None`` would say it may also be a null, which a query string cannot carry."""
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        options = [o for o in schema.get("anyOf", []) if o.get("type") != "null"]
        if not parameter.get("required") and len(options) == 1 and len(schema["anyOf"]) == 2:
            rest = {k: v for k, v in schema.items() if k != "anyOf"}
            parameter["schema"] = {**options[0], **rest}


def _complete(path: str, method: str, operation: dict[str, Any]) -> None:
    """Add the errors the middlewares answer for this operation, and its headers."""
    responses = operation.setdefault("responses", {})
    statuses: set[int] = set()
    if needs_key(path):
        statuses |= {401, 403, 422, 429, 503}  # the gate; 422: path and query parameters
    if "requestBody" in operation:
        statuses |= {413, 422}  # the body limit, counted as it arrives
    if method == "post" and path in CREATE_PATHS:
        statuses.add(409)  # an Idempotency-Key reused with another body
        operation.setdefault("parameters", []).append(PARAMETER)
    for status in statuses:
        responses.setdefault(str(status), _error(status))
    for status, response in responses.items():
        if status in ("429", "503"):
            response.setdefault("headers", RETRY_AFTER)


def install(app: FastAPI) -> None:
    def schema() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = get_openapi(
            title=app.title, version=app.version, description=app.description,
            routes=app.routes, tags=TAGS, webhooks=app.webhooks.routes,
        )  # fmt: skip
        components = document.setdefault("components", {}).setdefault("schemas", {})
        components.setdefault("ErrorOut", ErrorOut.model_json_schema(
            ref_template="#/components/schemas/{model}"))  # fmt: skip
        for name, definition in ErrorOut.model_json_schema(
            ref_template="#/components/schemas/{model}").get("$defs", {}).items():  # fmt: skip
            components.setdefault(name, definition)
        components["ErrorOut"].pop("$defs", None)
        _binary_files(components)
        for path, operations in document.get("paths", {}).items():
            for method, operation in operations.items():
                _complete(path, method, operation)
                _binary_responses(operation)
                _plain_optional(operation)
        app.openapi_schema = document
        return document

    app.openapi = schema  # type: ignore[method-assign]
