"""The service's wire formats that are not JSON: a frame message of the WebSocket stream, the
server-sent events of a session, and what an audio upload is."""

from __future__ import annotations

import json
import mimetypes
import os
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Union

from visavis_client.models import Frame, SessionEvent

SAMPLE_RATE = 16_000
"""The rate of the stream's PCM, and of speech pushed without another ``sample_rate``."""

FileInput = Union[bytes, str, "os.PathLike[str]", BinaryIO]
"""A file to upload: its bytes, a path, or an open binary file."""

_HEAD = struct.Struct("<II")
_MAGIC = ((b"RIFF", "audio/wav"), (b"OggS", "audio/ogg"), (b"fLaC", "audio/flac"),
          (b"ID3", "audio/mpeg"), (b"\x1a\x45\xdf\xa3", "audio/webm"))  # fmt: skip


def parse_frame(message: bytes) -> Frame:
    """One binary WebSocket message: ``<u32 header length><u32 jpeg length>``, the JSON header,
    the JPEG, then the frame's PCM (``service/transports/websocket.py``)."""
    header_len, jpeg_len = _HEAD.unpack_from(message)
    start = _HEAD.size
    header = json.loads(message[start : start + header_len])
    jpeg_at = start + header_len
    return Frame(
        index=header["index"], timestamp=header["timestamp"], speech=header["speech"],
        segment=header["segment"], segment_end=header["segment_end"],
        n_valid=header["n_valid"], offset=header.get("offset", 0), state=header["state"],
        repeat=header.get("repeat", False), jpeg=bytes(message[jpeg_at : jpeg_at + jpeg_len]),
        pcm=bytes(message[jpeg_at + jpeg_len :]),
    )  # fmt: skip


class SseParser:
    """Server-sent events from lines as they arrive (``event:``, ``data:``, a blank line ends
    one; ``:`` lines are keep-alives)."""

    def __init__(self) -> None:
        self._type = "message"
        self._data: list[str] = []

    def feed(self, line: str) -> SessionEvent | None:
        line = line.rstrip("\r\n")
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            self._type = value
        elif name == "data":
            self._data.append(value)
        return None

    def _dispatch(self) -> SessionEvent | None:
        if not self._data:
            self._type = "message"
            return None
        data = json.loads("\n".join(self._data))
        event = SessionEvent(type=self._type, data=data if isinstance(data, dict) else {"value": data})
        self._type, self._data = "message", []
        return event

    def events(self, lines: Iterable[str]) -> Iterator[SessionEvent]:
        for line in lines:
            event = self.feed(line)
            if event is not None:
                yield event


def read_file(source: FileInput, default_name: str) -> tuple[str, bytes]:
    """(file name, bytes) of an upload, read whole so that a retry can send it again."""
    if isinstance(source, bytes):
        return default_name, source
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        return path.name, path.read_bytes()
    name = getattr(source, "name", None)
    return (Path(name).name if isinstance(name, str) else default_name), source.read()


def audio_type(name: str, data: bytes) -> str:
    """A Content-Type the service decodes as an audio file (never one it takes as raw PCM)."""
    guessed, _ = mimetypes.guess_type(name)
    if guessed and guessed.startswith(("audio/", "video/")):
        return guessed
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    return "audio/mpeg" if data[:1] == b"\xff" else "application/octet-stream"


def ws_url(base_url: str, path: str) -> str:
    if base_url.startswith("https://"):
        return "wss://" + base_url[len("https://") :].rstrip("/") + path
    if base_url.startswith("http://"):
        return "ws://" + base_url[len("http://") :].rstrip("/") + path
    raise ValueError(f"base_url {base_url!r} is not an http:// or https:// URL")
