"""``GET /healthz`` (liveness + readiness) and ``GET /metrics`` (Prometheus text format)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

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


async def count_requests(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Middleware: count requests per route template (never the raw path, which holds ids)."""
    started = time.perf_counter()
    response = await call_next(request)
    route = request.scope.get("route")
    template = getattr(route, "path", "unmatched")
    HTTP_REQUESTS.labels(request.method, template, str(response.status_code)).inc()
    HTTP_SECONDS.labels(template).observe(time.perf_counter() - started)
    return response
