"""The parent's end of a frame worker's pipe on the event loop: whole messages in and out; a
send never fails because the worker is busy for a moment.

The loop watches the connection's socket for messages (``add_reader``), and uvloop (uvicorn's
loop) puts a watched socket in non-blocking mode. A socket buffer filled for a moment (a worker
busy rendering while the parent had several sessions' steps for it) then made ``send`` raise
BlockingIOError halfway through a message, and a message that had arrived in part made ``recv``
raise it too: the stream was garbled and a healthy worker was declared gone with every session
on it (issue 14). So the socket is put back in blocking mode once it is watched: a send to a
worker that is busy waits until it reads (at most the render it is drawing, a few ms), and a
read that the loop was told is ready takes the whole message.

(An asyncio transport, which buffers instead of waiting, was tried and measured: through the
real service three sessions missed 60-95% of their frames against 0-45% this way on the same
machine in the same minutes; why was not found in the time there was.)
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

log = logging.getLogger(__name__)


def _blocking(fd: int) -> None:
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    if flags & os.O_NONBLOCK:
        fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)


class WorkerChannel:
    """``send(obj)`` to the worker; every message that arrives goes to ``on_message``;
    ``on_closed(exc)`` once the pipe closed (the worker exited)."""

    def __init__(
        self,
        conn: Connection,
        *,
        on_message: Callable[[Any], None],
        on_closed: Callable[[BaseException | None], None],
    ) -> None:
        self._conn = conn
        self._on_message = on_message
        self._on_closed = on_closed
        self._loop = asyncio.get_running_loop()
        self._fd = conn.fileno()
        self._loop.add_reader(self._fd, self._readable)
        _blocking(self._fd)  # after add_reader: uvloop made it non-blocking there
        self.closed = False

    def _readable(self) -> None:
        try:
            while not self.closed and self._conn.poll():
                self._on_message(self._conn.recv())
        except (EOFError, OSError) as exc:
            self._lost(exc)

    def _lost(self, exc: BaseException | None) -> None:
        if self.closed:
            return
        self.close()
        self._on_closed(exc)

    def send(self, message: Any) -> None:
        """Send ``message`` (pickled); waits while the worker's end is full."""
        if self.closed:
            raise ConnectionResetError("the frame worker's pipe is closed")
        try:
            self._conn.send(message)
        except BlockingIOError:  # must not happen (the socket blocks); say so if it does
            log.error("frame worker pipe was non-blocking: a message may be cut")
            raise
        except OSError as exc:  # a broken pipe: the worker is gone
            self._lost(exc)
            raise ConnectionResetError(f"the frame worker's pipe is closed ({exc})") from exc

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if not self._loop.is_closed():
            self._loop.remove_reader(self._fd)
        self._conn.close()
