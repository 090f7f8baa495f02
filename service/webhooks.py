"""Webhooks: clip and session events POSTed to the owner's URLs, signed, retried with
exponential backoff, every attempt in the delivery log.

``emit(owner, event, data)`` (blocking, any thread or process with the database) writes one
pending delivery per interested webhook; the ``Deliverer`` task of each API process claims due
deliveries and sends them. A delivery carries::

    POST <url>
    Content-Type: application/json
    Visavis-Event: clip.done
    Visavis-Delivery: dl_...
    Visavis-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>

    {"id": "dl_...", "type": "clip.done", "created": "<ISO-8601>", "data": {...}}

Verify by recomputing the HMAC over the timestamp, a dot and the raw body with the webhook's
secret, comparing in constant time, and refusing old timestamps (replays). Any 2xx is delivered;
anything else (or no answer in ``TIMEOUT_S``) is retried after 1, 2, 4, ... times the base delay,
``MAX_ATTEMPTS`` times in all, then marked failed.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from typing import Any

import httpx
from fastapi.concurrency import run_in_threadpool

from service.persistence import ClipRow, Database
from service.persistence.webhooks import Delivery
from service.times import utc

log = logging.getLogger(__name__)

EVENTS = ("clip.done", "clip.failed", "session.opened", "session.closed", "session.failed")
MAX_ATTEMPTS = 6
TIMEOUT_S = 10.0
POLL_S = 0.5
MAX_DELAY_S = 3600.0
SIGNATURE_HEADER = "Visavis-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify(secret: str, header: str, body: bytes, *, tolerance_s: float = 300.0) -> bool:
    """True when ``header`` is our signature of ``body`` with ``secret``, made recently."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (ValueError, KeyError):
        return False
    if abs(time.time() - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


def emit(db: Database, owner: str, event: str, data: dict[str, Any]) -> None:
    """Queue ``event`` for the owner's webhooks that want it (blocking; never raises: an event
    that cannot be queued is logged, not allowed to fail the clip or session it reports)."""
    if event not in EVENTS:
        raise ValueError(f"event {event!r} is not one of {', '.join(EVENTS)}")
    try:
        db.webhooks.enqueue(owner=owner, event=event, payload={"type": event, "data": data})
    except Exception:
        log.exception("webhook event not queued event=%s", event)


def clip_event(db: Database, row: ClipRow) -> None:
    """A finished clip's event (``clip.done`` or ``clip.failed``), from whichever process
    rendered it."""
    data = {"id": row.id, "character_id": row.character_id, "status": row.status,
            "error": row.error, "frames": row.frames, "duration_s": row.duration_s}  # fmt: skip
    emit(db, row.owner, f"clip.{row.status}", data)


class Deliverer:
    """Sends due deliveries; one task; ``aclose()`` once."""

    def __init__(self, *, db: Database, retry_base_s: float = 2.0) -> None:
        if retry_base_s <= 0:
            raise ValueError(f"retry_base_s {retry_base_s!r} must be > 0")
        self._db = db
        self._retry_base_s = retry_base_s
        self._tasks: set[asyncio.Task[None]] = set()
        self._http = httpx.AsyncClient(timeout=TIMEOUT_S, follow_redirects=False)

    def start(self) -> None:
        task = asyncio.get_running_loop().create_task(self._run(), name="webhook-deliverer")
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("webhook deliverer failed", exc_info=task.exception())

    async def _run(self) -> None:
        while True:
            due = await run_in_threadpool(lambda: self._db.webhooks.claim_due(now=time.time()))
            if due:
                await asyncio.gather(*(self._attempt(d) for d in due))
            else:
                await asyncio.sleep(POLL_S)

    async def _attempt(self, delivery: Delivery) -> None:
        hook = await run_in_threadpool(self._db.webhooks.get, delivery.webhook_id)
        if hook is None:
            return  # deleted meanwhile (its deliveries with it)
        payload = json.loads(delivery.payload)
        body = json.dumps({"id": delivery.id, "type": payload["type"],
                           "created": utc(delivery.created).isoformat().replace("+00:00", "Z"),
                           "data": payload["data"]}).encode()  # fmt: skip
        headers = {"Content-Type": "application/json", "Visavis-Event": delivery.event,
                   "Visavis-Delivery": delivery.id,
                   SIGNATURE_HEADER: sign(hook.secret, int(time.time()), body)}  # fmt: skip
        code: int | None = None
        error: str | None = None
        try:
            response = await self._http.post(hook.url, content=body, headers=headers)
            code = response.status_code
            if not 200 <= code < 300:
                error = f"answered {code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {str(exc)[:200]}"
        attempts = delivery.attempts + 1
        if error is None:
            status, next_attempt = "delivered", None
        elif attempts >= MAX_ATTEMPTS:
            status, next_attempt = "failed", None
        else:
            delay = min(self._retry_base_s * 2 ** (attempts - 1), MAX_DELAY_S)
            status, next_attempt = "pending", time.time() + delay
        log.info("webhook attempt delivery=%s status=%s attempts=%d code=%s", delivery.id,
                 status, attempts, code)  # fmt: skip
        await run_in_threadpool(lambda: self._db.webhooks.attempted(
            delivery.id, status=status, attempts=attempts, next_attempt=next_attempt,
            last_status=code, last_error=error))  # fmt: skip

    async def aclose(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._http.aclose()
