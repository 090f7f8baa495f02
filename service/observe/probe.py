"""``/metrics`` (Prometheus) and ``/healthz`` for processes that serve no API of their own (clip
workers): a small Starlette app on uvicorn, in the process's own event loop, on
``VISAVIS_METRICS_PORT``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

log = logging.getLogger(__name__)

Health = Callable[[], dict[str, Any]]
"""Returns the process's state; ``{"status": "ok", ...}`` when healthy (HTTP 200, else 503)."""


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the process that runs this server owns its signals, not uvicorn


class ProbeServer:
    """``start()`` in a running loop; ``aclose()`` once. ``port`` 0 picks a free one."""

    def __init__(self, *, host: str, port: int, health: Health) -> None:
        def healthz(_request: Request) -> Response:
            state = health()
            return JSONResponse(state, status_code=200 if state.get("status") == "ok" else 503)

        def metrics(_request: Request) -> Response:
            return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

        app = Starlette(routes=[Route("/healthz", healthz), Route("/metrics", metrics)])
        config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False,
                                lifespan="off")  # fmt: skip
        self._server = _Server(config)
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        """Serve in the background; returns the port it listens on."""
        task = asyncio.get_running_loop().create_task(self._server.serve(), name="probe-server")
        self._tasks.add(task)
        task.add_done_callback(self._done)
        while not self._server.started:
            if task.done():
                task.result()  # raises why it could not start (port in use, ...)
            await asyncio.sleep(0.02)
        port = int(self._server.servers[0].sockets[0].getsockname()[1])
        log.info("metrics and health served port=%d", port)
        return port

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("probe server failed", exc_info=task.exception())

    async def aclose(self) -> None:
        self._server.should_exit = True
        tasks = list(self._tasks)
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):
                raise result
