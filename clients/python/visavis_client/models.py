"""What the API answers, as frozen dataclasses (``from_json`` reads the service's JSON)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

T = TypeVar("T")

Fit = Literal["cover", "contain", "face"]
ClipStatus = Literal["queued", "running", "done", "failed"]
SessionStatus = Literal["open", "closed", "failed"]
Scope = Literal["admin", "secret", "publishable"]
WebhookEvent = Literal[
    "clip.done", "clip.failed", "session.opened", "session.closed", "session.failed"
]


def parse_time(value: str) -> datetime:
    """ISO-8601 UTC as the service writes it (``Z`` or ``+00:00``)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _time_or_none(value: str | None) -> datetime | None:
    return parse_time(value) if value is not None else None


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, newest first; pass ``next_cursor`` as ``cursor`` for the next."""

    data: tuple[T, ...]
    next_cursor: str | None

    @classmethod
    def from_json(cls, body: Mapping[str, Any], item: Callable[[Any], T]) -> Page[T]:
        return cls(data=tuple(item(x) for x in body["data"]), next_cursor=body["next_cursor"])


@dataclass(frozen=True)
class Framing:
    """How the photo fills one output size."""

    fit: Fit
    size: str
    scale: float
    face_fraction: float
    own_pixel_share: float
    extended: tuple[str, ...]
    zoom_limited: bool

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Framing:
        return cls(
            fit=body["fit"], size=body["size"], scale=body["scale"],
            face_fraction=body["face_fraction"], own_pixel_share=body["own_pixel_share"],
            extended=tuple(body["extended"]), zoom_limited=body["zoom_limited"],
        )  # fmt: skip


@dataclass(frozen=True)
class PhotoFacts:
    """What was measured on the uploaded photo (angles in degrees)."""

    photo_size: tuple[int, int]
    face_height_px: float
    face_box: tuple[int, int, int, int]
    yaw: float
    pitch: float
    roll: float
    faces_found: int
    expression: Mapping[str, float]
    head_range: Mapping[str, tuple[float, float]]

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> PhotoFacts:
        w, h = body["photo_size"]
        x, y, bw, bh = body["face_box"]
        return cls(
            photo_size=(w, h), face_height_px=body["face_height_px"], face_box=(x, y, bw, bh),
            yaw=body["yaw"], pitch=body["pitch"], roll=body["roll"],
            faces_found=body["faces_found"], expression=dict(body["expression"]),
            head_range={k: (v[0], v[1]) for k, v in body["head_range"].items()},
        )  # fmt: skip


@dataclass(frozen=True)
class CharacterReport:
    """What character creation found in the photo and decided (``resting``: how the photo was
    relaxed into the resting state, as the service's JSON)."""

    found: PhotoFacts | None
    framing: Mapping[str, Framing]
    resting: Mapping[str, Any] | None
    warnings: tuple[str, ...]

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> CharacterReport:
        found = body.get("found")
        return cls(
            found=PhotoFacts.from_json(found) if found is not None else None,
            framing={k: Framing.from_json(v) for k, v in body["framing"].items()},
            resting=body.get("resting"), warnings=tuple(body["warnings"]),
        )  # fmt: skip


@dataclass(frozen=True)
class Character:
    id: str
    name: str
    created: datetime
    width: int
    height: int
    notes: tuple[str, ...]
    fit: Fit
    preview_url: str
    report: CharacterReport | None = None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Character:
        report = body.get("report")
        return cls(
            id=body["id"], name=body["name"], created=parse_time(body["created"]),
            width=body["width"], height=body["height"], notes=tuple(body["notes"]),
            fit=body["fit"], preview_url=body["preview_url"],
            report=CharacterReport.from_json(report) if report is not None else None,
        )  # fmt: skip


@dataclass(frozen=True)
class Clip:
    id: str
    character_id: str
    status: ClipStatus
    progress: float
    error: str | None
    format: str
    size: str
    frames: int | None
    duration_s: float | None
    created: datetime
    finished: datetime | None
    video_url: str | None
    motion_url: str | None

    @property
    def finished_running(self) -> bool:
        """Done or failed: its status will not change again."""
        return self.status in ("done", "failed")

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Clip:
        return cls(
            id=body["id"], character_id=body["character_id"], status=body["status"],
            progress=body["progress"], error=body["error"], format=body["format"],
            size=body["size"], frames=body["frames"], duration_s=body["duration_s"],
            created=parse_time(body["created"]), finished=_time_or_none(body["finished"]),
            video_url=body["video_url"], motion_url=body["motion_url"],
        )  # fmt: skip


@dataclass(frozen=True)
class Key:
    """An API key as listed (never its secret)."""

    id: str
    owner: str
    scope: Scope
    label: str
    created: datetime
    bootstrap: bool
    origins: tuple[str, ...]
    character_ids: tuple[str, ...]

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Key:
        return cls(
            id=body["id"], owner=body["owner"], scope=body["scope"], label=body["label"],
            created=parse_time(body["created"]), bootstrap=body["bootstrap"],
            origins=tuple(body["origins"]), character_ids=tuple(body["character_ids"]),
        )  # fmt: skip


@dataclass(frozen=True)
class CreatedKey:
    """A new key and its secret, which the service shows this once."""

    key: Key
    api_key: str = field(repr=False)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> CreatedKey:
        return cls(key=Key.from_json(body), api_key=body["api_key"])


@dataclass(frozen=True)
class Webhook:
    id: str
    url: str
    events: tuple[str, ...]
    created: datetime

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Webhook:
        return cls(id=body["id"], url=body["url"], events=tuple(body["events"]),
                   created=parse_time(body["created"]))  # fmt: skip


@dataclass(frozen=True)
class CreatedWebhook:
    """A new webhook and the secret that signs its deliveries, shown this once."""

    webhook: Webhook
    secret: str = field(repr=False)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> CreatedWebhook:
        return cls(webhook=Webhook.from_json(body), secret=body["secret"])


@dataclass(frozen=True)
class Delivery:
    """One event's delivery to a webhook: its status, attempts and last answer."""

    id: str
    event: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_status: int | None
    last_error: str | None
    next_attempt: datetime | None
    created: datetime
    finished: datetime | None
    payload: Mapping[str, Any]

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Delivery:
        return cls(
            id=body["id"], event=body["event"], status=body["status"],
            attempts=body["attempts"], last_status=body["last_status"],
            last_error=body["last_error"], next_attempt=_time_or_none(body["next_attempt"]),
            created=parse_time(body["created"]), finished=_time_or_none(body["finished"]),
            payload=body["payload"],
        )  # fmt: skip


@dataclass(frozen=True)
class Session:
    """A live session (``stats`` and ``state`` while it is open)."""

    id: str
    character_id: str
    status: SessionStatus
    error: str | None
    options: Mapping[str, Any]
    created: datetime
    state: str | None
    stats: Mapping[str, Any] | None
    events_url: str

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Session:
        return cls(
            id=body["id"], character_id=body["character_id"], status=body["status"],
            error=body.get("error"), options=body["options"],
            created=parse_time(body["created"]), state=body.get("state"),
            stats=body.get("stats"), events_url=body["events_url"],
        )  # fmt: skip


@dataclass(frozen=True)
class SessionEvent:
    """One server-sent event of a session: ``type`` (state, playback_started,
    playback_finished, missed_frames, error, service_stopping: the service is stopping, open the
    stream again, e.g. on another node) and its data (``data["state"]`` for a state)."""

    type: str
    data: Mapping[str, Any]


@dataclass(frozen=True)
class Frame:
    """One frame of a session's stream: its picture (JPEG) and its 40 ms of audio (16-bit mono
    PCM at 16 kHz; the first ``n_valid`` samples are speech when ``speech``)."""

    index: int
    timestamp: float
    speech: bool
    segment: int
    segment_end: bool
    n_valid: int
    offset: int
    state: str
    repeat: bool
    jpeg: bytes = field(repr=False)
    pcm: bytes = field(repr=False)

