"""Fixtures of the plugin's tests (the plugin's tests run where only the plugin and
livekit-agents are installed: at the version floor and at the newest release)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from plugin_helpers import SETTINGS, Reply, ScriptedServer


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the settings of the shell that runs it."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)


StartServer = Callable[..., Awaitable[ScriptedServer]]


@pytest.fixture
async def scripted() -> AsyncIterator[StartServer]:
    """``await scripted(Reply(...), ...)``: a started server with that script."""
    servers: list[ScriptedServer] = []

    async def start(*replies: Reply) -> ScriptedServer:
        server = ScriptedServer(list(replies))
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()


@pytest.fixture
async def response_lost() -> AsyncIterator[tuple[str, list[bytes]]]:
    """A server that reads each request and hangs up without answering (the request arrived,
    its response is lost): its URL and the requests it read."""
    received: list[bytes] = []

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (int(line.split(b":")[1]) for line in head.split(b"\r\n")
             if line.lower().startswith(b"content-length:")),
            0,
        )  # fmt: skip
        received.append(head + await reader.readexactly(length))
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", received
    server.close()
    await server.wait_closed()
