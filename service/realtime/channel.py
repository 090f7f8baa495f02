"""The parent's end of a frame worker's pipe, on the event loop: whole messages in and out; a
send never blocks the loop and never fails because the worker is busy for a moment.

Why not the ``multiprocessing`` connection itself: the loop watches its socket, and uvloop
(uvicorn's loop) puts a watched socket in non-blocking mode. A socket buffer filled for a moment
(a worker busy rendering while the parent had several sessions' steps for it) then made ``send``
raise BlockingIOError halfway through a message, and a message that had arrived in part made
``recv`` raise it too: the stream was garbled and a healthy worker was declared gone with every
session on it (issue 14). An asyncio transport keeps what the socket cannot take yet and writes
it when the worker reads again; the protocol hands over whole messages only.

The framing is the ``multiprocessing`` connection's (a ``!i`` length, ``-1`` then ``!Q`` for a
huge one, then the pickle), so the worker keeps its plain blocking ``Connection``.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import struct
from collections.abc import Callable
from typing import Any, cast

log = logging.getLogger(__name__)

_SIZE = struct.Struct("!i")
_LONG_SIZE = struct.Struct("!Q")
_LONGEST_SHORT = 0x7FFFFFFF


def frame(payload: bytes) -> bytes:
    """``payload`` with the connection's length header."""
    if len(payload) > _LONGEST_SHORT:
        return _SIZE.pack(-1) + _LONG_SIZE.pack(len(payload)) + payload
    return _SIZE.pack(len(payload)) + payload


class WorkerChannel(asyncio.Protocol):
    """``send(obj)`` pickles and queues; every whole message that arrives goes to
    ``on_message``; ``on_closed(exc)`` once the pipe closed (the worker exited)."""

    def __init__(
        self,
        *,
        on_message: Callable[[Any], None],
        on_closed: Callable[[BaseException | None], None],
    ) -> None:
        self._on_message = on_message
        self._on_closed = on_closed
        self._transport: asyncio.Transport | None = None
        self._early: list[bytes] = []  # sent before the transport was attached
        self._buffer = bytearray()
        self.closed = False

    # ---- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # (uvloop's is not a subclass)
        transport = self._transport
        for data in self._early:
            transport.write(data)
        self._early.clear()

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        start = 0
        while True:
            available = len(buffer) - start
            if available < _SIZE.size:
                break
            (size,) = _SIZE.unpack_from(buffer, start)
            header = _SIZE.size
            if size == -1:
                if available < header + _LONG_SIZE.size:
                    break
                (size,) = _LONG_SIZE.unpack_from(buffer, start + header)
                header += _LONG_SIZE.size
            end = start + header + size
            if len(buffer) < end:
                break
            payload = bytes(buffer[start + header : end])
            start = end
            self._on_message(pickle.loads(payload))
        if start:
            del buffer[:start]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._on_closed(exc)

    # ---- the parent's side -----------------------------------------------------------------

    def send(self, message: Any) -> None:
        """Queue ``message`` for the worker (pickled); never blocks."""
        if self.closed:
            raise ConnectionResetError("the frame worker's pipe is closed")
        data = frame(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
        if self._transport is None:
            self._early.append(data)
        else:
            self._transport.write(data)

    @property
    def queued_bytes(self) -> int:
        """Bytes written but not yet taken by the worker (it is busy, or hung)."""
        if self._transport is None:
            return sum(map(len, self._early))
        return self._transport.get_write_buffer_size()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
        self.closed = True
