"""``GET /healthz`` (liveness + readiness) and ``GET /metrics`` (Prometheus text format)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

router = APIRouter(tags=["health"])

HTTP_REQUESTS = Counter(
    "visavis_http_requests_total", "HTTP requests by route and status",
    ["method", "route", "status"],
)
HTTP_SECONDS = Histogram("visavis_http_request_seconds", "HTTP request wall time", ["route"])


@router.get("/healthz")
def healthz(request: Request) -> dict[str, object]:
    """Ready when the database, the character store and the clip runner are loaded."""
    parts = {name: getattr(request.app.state, name, None) is not None
             for name in ("db", "store", "jobs")}  # fmt: skip
    return {"status": "ok" if all(parts.values()) else "starting", "ready": parts}


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class RequestCounter:
    """ASGI middleware: count HTTP requests per route template (never the raw path, which holds
    ids) and time them. Plain ASGI rather than ``@app.middleware("http")``, whose
    BaseHTTPMiddleware runs every request through an extra task and a streamed copy of its
    response: the live sessions' audio arrives as 10 small POSTs a second each."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before it answers

        async def send_seeing_status(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_seeing_status)
        finally:
            # the router writes the matched route into this same scope; a request refused
            # before routing (no key: 401) has none
            template = getattr(scope.get("route"), "path", "unrouted")
            HTTP_REQUESTS.labels(scope["method"], template, str(status)).inc()
            HTTP_SECONDS.labels(template).observe(time.perf_counter() - started)
