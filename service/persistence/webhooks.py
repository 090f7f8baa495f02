"""Webhooks and their deliveries. A delivery row is written when the event happens (by whichever
process saw it) and claimed by a deliverer before each attempt, so any API process may send it
and none sends it twice at once."""

from __future__ import annotations

import builtins
import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Row, delete, insert, select, update

from service.persistence.pages import After, Page, newest_first, page_of
from service.persistence.schema import webhook_deliveries as deliveries
from service.persistence.schema import webhooks

CLAIM_S = 60.0
"""A claimed delivery is not taken by another deliverer for this long (its attempt's timeout)."""


@dataclass(frozen=True)
class Webhook:
    id: str
    owner: str
    url: str
    events: tuple[str, ...]
    secret: str
    created: float


@dataclass(frozen=True)
class Delivery:
    id: str
    webhook_id: str
    event: str
    payload: str
    status: str
    attempts: int
    next_attempt: float | None
    last_status: int | None
    last_error: str | None
    created: float
    finished: float | None


def _webhook(row: Row[Any]) -> Webhook:
    return Webhook(row.id, row.owner, row.url, tuple(json.loads(row.events)), row.secret,
                   float(row.created))  # fmt: skip


class WebhookRows:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, *, owner: str, url: str, events: Sequence[str]) -> Webhook:
        hook = Webhook("wh_" + secrets.token_hex(8), owner, url, tuple(events),
                       "whsec_" + secrets.token_urlsafe(24), time.time())  # fmt: skip
        with self._engine.begin() as conn:
            conn.execute(insert(webhooks).values(
                id=hook.id, owner=owner, url=url, events=json.dumps(list(events)), secret=hook.secret,
                created=hook.created))  # fmt: skip
        return hook

    def get(self, webhook_id: str, *, owner: str | None = None) -> Webhook | None:
        query = select(webhooks).where(webhooks.c.id == webhook_id)
        if owner is not None:
            query = query.where(webhooks.c.owner == owner)
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else _webhook(row)

    def list(self, *, owner: str, limit: int, after: After | None = None) -> Page[Webhook]:
        query = newest_first(select(webhooks).where(webhooks.c.owner == owner), webhooks.c.created,
                             webhooks.c.id, limit=limit, after=after)  # fmt: skip
        with self._engine.connect() as conn:
            rows = [_webhook(r) for r in conn.execute(query)]
        return page_of(rows, limit, lambda w: (w.created, w.id))

    def delete(self, webhook_id: str, *, owner: str) -> bool:
        with self._engine.begin() as conn:
            gone = conn.execute(delete(webhooks).where(webhooks.c.id == webhook_id,
                                                       webhooks.c.owner == owner)).rowcount  # fmt: skip
            if gone:
                conn.execute(delete(deliveries).where(deliveries.c.webhook_id == webhook_id))
        return bool(gone)

    # ---- deliveries ------------------------------------------------------------------------------

    def enqueue(self, *, owner: str, event: str, payload: dict[str, Any]) -> int:
        """A pending delivery of ``payload`` to each of the owner's webhooks that wants
        ``event``; returns how many."""
        with self._engine.begin() as conn:
            hooks = [_webhook(r) for r in conn.execute(select(webhooks)
                                                       .where(webhooks.c.owner == owner))]  # fmt: skip
            wanted = [h for h in hooks if event in h.events]
            now = time.time()
            for hook in wanted:
                conn.execute(insert(deliveries).values(
                    id="dl_" + secrets.token_hex(8), webhook_id=hook.id, event=event,
                    payload=json.dumps(payload), status="pending", attempts=0, next_attempt=now,
                    created=now))  # fmt: skip
        return len(wanted)

    def claim_due(self, *, now: float, limit: int = 20) -> builtins.list[Delivery]:
        """Pending deliveries whose attempt is due, each claimed for CLAIM_S."""
        query = (select(deliveries).where(deliveries.c.status == "pending",
                                          deliveries.c.next_attempt <= now)
                 .order_by(deliveries.c.next_attempt).limit(limit))  # fmt: skip
        claimed = []
        with self._engine.begin() as conn:
            for row in conn.execute(query).all():
                taken = conn.execute(update(deliveries).where(
                    deliveries.c.id == row.id, deliveries.c.next_attempt == row.next_attempt,
                    deliveries.c.status == "pending").values(next_attempt=now + CLAIM_S)).rowcount  # fmt: skip
                if taken:
                    claimed.append(Delivery(**row._asdict()))
        return claimed

    def attempted(self, delivery_id: str, *, status: str, attempts: int, next_attempt: float | None,
                  last_status: int | None, last_error: str | None) -> None:  # fmt: skip
        finished = time.time() if status != "pending" else None
        with self._engine.begin() as conn:
            conn.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(
                status=status, attempts=attempts, next_attempt=next_attempt,
                last_status=last_status, last_error=last_error, finished=finished))  # fmt: skip

    def deliveries(self, webhook_id: str, *, limit: int, after: After | None = None
                   ) -> Page[Delivery]:  # fmt: skip
        query = newest_first(select(deliveries).where(deliveries.c.webhook_id == webhook_id),
                             deliveries.c.created, deliveries.c.id, limit=limit, after=after)  # fmt: skip
        with self._engine.connect() as conn:
            rows = [Delivery(**r._asdict()) for r in conn.execute(query)]
        return page_of(rows, limit, lambda d: (d.created, d.id))
