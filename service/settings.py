"""Service configuration from the environment (prefix ``VISAVIS_``), validated once at start-up."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SESSIONS_PER_CORE = 3


class IceServer(BaseModel):
    """A STUN or TURN server for WebRTC's ICE, as a browser's ``RTCIceServer`` spells it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    urls: tuple[str, ...] = Field(min_length=1, description="e.g. stun:stun.example.org:3478")
    username: str | None = None
    credential: SecretStr | None = None

    @field_validator("urls", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value

    @field_validator("urls")
    @classmethod
    def _ice_schemes(cls, urls: tuple[str, ...]) -> tuple[str, ...]:
        for url in urls:
            if not url.startswith(("stun:", "stuns:", "turn:", "turns:")):
                raise ValueError(f"ICE server URL {url!r}: expected stun:, stuns:, turn: or turns:")
        return urls


class Settings(BaseSettings):
    """Everything the service reads from its environment; ``VISAVIS_DATA_DIR=/srv/visavis`` etc."""

    model_config = SettingsConfigDict(env_prefix="VISAVIS_", frozen=True, extra="ignore")

    data_dir: Path = Field(
        default=Path("data"),
        description="this node's folder: the SQLite database, characters and clips by default, "
        "the local cache of shared storage",
    )
    database_url: str | None = Field(
        default=None,
        description="sqlite:///file or postgresql://user:password@host:port/db "
        "(default: SQLite in the data folder)",
    )
    storage_url: str | None = Field(
        default=None,
        description="where character files and clips are kept: a folder, postgresql://... or "
        "s3://bucket?endpoint=... (default: the data folder)",
    )
    queue_url: str | None = Field(
        default=None,
        description="clip jobs: postgresql://... (procrastinate) or 'local' (this process's "
        "threads); default: the database's own queue on PostgreSQL, local on SQLite",
    )
    migrate: bool = Field(
        default=True, description="bring the database schema up to date at start-up"
    )
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    metrics_port: int | None = Field(
        default=None, ge=0, le=65535,
        description="clip and LiveKit workers: port of /metrics and /healthz (0: a free one)",
    )  # fmt: skip
    clip_stall_seconds: float = Field(
        default=30.0, ge=1.0,
        description="a clip worker silent this long is taken for dead; its job goes to another",
    )  # fmt: skip
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_audio_seconds: float = Field(default=600.0, gt=0, description="longest speech accepted")
    max_upload_mb: float = Field(default=50.0, gt=0, description="largest upload (image, audio)")
    max_text_chars: int = Field(default=5000, gt=0, description="longest text accepted for TTS")
    admin_key: SecretStr | None = Field(
        default=None, description="bootstrap API key registered at start-up for the owner 'admin'"
    )
    clip_workers: int = Field(
        default=1, ge=0, le=64,
        description="clip jobs this process renders at once (an API node with 0 leaves them to "
        "`visavis clip-worker` processes; needs a queue shared with them)",
    )  # fmt: skip
    max_pending_clips: int = Field(default=32, ge=1, description="queued + running clip jobs")
    max_pending_clips_per_key: int = Field(
        default=8, ge=1, description="queued + running clip jobs of one API key"
    )
    max_live_sessions_per_key: int | None = Field(
        default=None, ge=1,
        description="live sessions of one API key here (default: half of the server's capacity)",
    )  # fmt: skip
    webhook_retry_base_s: float = Field(
        default=2.0, gt=0, le=3600, description="first retry delay of a webhook (then doubled)"
    )
    publishable_rate: float = Field(
        default=20.0, gt=0, le=10_000, description="requests per second of one publishable key"
    )
    publishable_burst: int = Field(
        default=60, ge=1, le=100_000, description="requests a publishable key may send at once"
    )
    clip_retention_hours: float = Field(
        default=24.0, ge=0, description="finished clips are deleted this long after; 0 keeps them"
    )
    device: str = Field(
        default="cpu", description="where the world model and the renderer run (a torch device)"
    )
    default_size: str = Field(default="512", description="a renderer.framing.SIZES name")
    frame_workers: int | None = Field(
        default=None, ge=0, le=64,
        description="processes that render live sessions (default one per core; 0: in-process)",
    )  # fmt: skip
    max_sessions: int | None = Field(
        default=None, ge=1, le=256,
        description="live sessions this server admits (default 3 per core; more: 503)",
    )  # fmt: skip
    admission_missed_percent: float = Field(
        default=5.0, gt=0, le=100,
        description="no new session while the live ones missed more of their frames (last 5 s)",
    )  # fmt: skip
    viewer_stall_seconds: float = Field(
        default=10.0, gt=0, le=600,
        description="a WebSocket viewer that reads no frame for this long is closed (4408)",
    )  # fmt: skip
    warm_frame_workers: bool = Field(
        default=True, description="start the frame workers with the service, not the 1st session"
    )

    webrtc_ice_servers: tuple[IceServer, ...] = Field(
        default=(),
        description="STUN/TURN servers for WebRTC, a JSON list such as "
        '[{"urls": "stun:stun.example.org:3478"}]; none needed on one machine or a LAN '
        "(host candidates); the widget hands them to browsers, so give TURN a restricted user",
    )

    @field_validator("default_size")
    @classmethod
    def _known_size(cls, value: str) -> str:
        from service.sizes import check_size_name

        return check_size_name(value)

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str | None) -> str | None:
        from service.persistence.urls import engine_url

        if value:
            engine_url(value)
        return value or None

    @field_validator("queue_url")
    @classmethod
    def _queue(cls, value: str | None) -> str | None:
        from service.persistence.urls import is_postgresql

        if value and value != "local" and not is_postgresql(value):
            raise ValueError("the clip queue is 'local' or a postgresql://... database")
        return value or None

    @field_validator("storage_url")
    @classmethod
    def _storage(cls, value: str | None) -> str | None:
        from service.blobs import scheme

        scheme(value)
        return value or None

    @field_validator("admin_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("admin_key must be at least 16 characters")
        return value

    @property
    def sessions_capacity(self) -> int:
        """``max_sessions``, or 3 per core: a 2-core machine held 8 sessions at 512x512 through
        the real service with 0% missed on 12-05 evening, 5 on a slower day (its speed drifts
        about 2x; ``make bench``: tools.session_bench); past the cap, and on a slow or busy
        machine below it, the missed-frames rule refuses."""
        if self.max_sessions is not None:
            return self.max_sessions
        return SESSIONS_PER_CORE * (os.cpu_count() or 1)

    @property
    def sessions_per_key(self) -> int:
        """``max_live_sessions_per_key``, or half of ``sessions_capacity`` (at least one): one
        key never takes every place on a server, whatever its capacity."""
        if self.max_live_sessions_per_key is not None:
            return self.max_live_sessions_per_key
        return max(1, self.sessions_capacity // 2)

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "visavis.sqlite3"

    @property
    def database(self) -> str:
        """The URL of the database of keys, characters, clips and sessions."""
        from service.persistence import sqlite_url

        return self.database_url or sqlite_url(self.db_path)

    @property
    def node_name(self) -> str:
        """This API node among others (host name and port: the same after a restart)."""
        import socket

        return f"{socket.gethostname()}:{self.port}"

    @property
    def cache_dir(self) -> Path:
        """Local copies of what shared storage holds (characters), when it is not this folder."""
        return self.data_dir / "cache"


def _shown(name: str, value: object) -> str:
    """A rejected value as an error may show it: never a key, never a URL's password."""
    if name == "admin_key":
        return "***"
    if name.endswith("_url") and isinstance(value, str):
        from service.persistence.urls import redact

        return repr(redact(value) if "://" in value else value)
    return repr(value)


class SettingsError(ValueError):
    """A setting (environment variable or option) with a value that is not accepted."""


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with ``overrides`` (None values ignored) on top.

    Raises SettingsError naming the variable, the bad value and what is accepted.
    """
    given = {name: value for name, value in overrides.items() if value is not None}
    try:
        return Settings(**given)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "settings"
            where = name if name in given else f"VISAVIS_{name.upper()}"
            secret = "credential" in map(str, error["loc"])  # an ICE server's
            shown = "***" if secret else _shown(name, error.get("input"))
            problems.append(f"{where}={shown}: {error['msg']}")
        raise SettingsError("; ".join(problems)) from None


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (tests override this dependency or pass theirs to create_app)."""
    return load_settings()
