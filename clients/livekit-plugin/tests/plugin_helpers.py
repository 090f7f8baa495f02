"""What the plugin's tests share: real HTTP servers on 127.0.0.1 that answer from a script,
and a room that never connects. (A module of its own name, so that tests/livekit, which runs the
plugin against the real service, can import it too.)"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

LIVEKIT_KEY, LIVEKIT_SECRET = "APIplugintest", "plugin-secret-" + "z" * 32
SETTINGS = (
    "VISAVIS_CHARACTER_ID",
    "VISAVIS_API_URL",
    "VISAVIS_API_KEY",
    "LIVEKIT_URL",
    "LIVEKIT_API_KEY",
    "LIVEKIT_API_SECRET",
)


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    at: float  # time.monotonic()


class ScriptedServer:
    """Answers the n-th request with the n-th reply (500 once the script runs out)."""

    def __init__(self, replies: list[Reply]) -> None:
        self.replies = list(replies)
        self.received: list[Received] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._answer)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(self._runner, sock).start()
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _answer(self, request: web.Request) -> web.Response:
        raw = await request.read()
        body: Any = raw
        if raw and request.content_type == "application/json":
            body = json.loads(raw)
        self.received.append(
            Received(request.method, request.path, dict(request.headers), body, time.monotonic())
        )
        if len(self.received) > len(self.replies):
            return web.json_response({"detail": "the test's script ran out"}, status=500)
        reply = self.replies[len(self.received) - 1]
        if isinstance(reply.body, (dict, list)):
            return web.json_response(reply.body, status=reply.status, headers=reply.headers)
        return web.Response(status=reply.status, text=reply.body, headers=reply.headers)


def refused_url() -> str:
    """An address where nothing listens: the port was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class _Local:
    identity = "agent-7"


class OfflineRoom:
    """A room before it connects: what the plugin and LiveKit's DataStreamAudioOutput touch."""

    name = "support-42"

    def __init__(self) -> None:
        self.local_participant = _Local()
        self.remote_participants: dict[str, Any] = {}
        self.handlers: dict[str, list[Callable[..., None]]] = {}

    def isconnected(self) -> bool:
        return False

    def on(self, event: str, handler: Callable[..., None] | None = None) -> Any:
        self.handlers.setdefault(event, []).append(handler)  # type: ignore[arg-type]
        return handler

    def off(self, event: str, handler: Callable[..., None]) -> None:
        self.handlers.get(event, []).remove(handler)
