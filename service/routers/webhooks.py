"""``/v1/webhooks``: register a URL for clip and session events (signed with a secret shown
once), list and delete them, read a webhook's delivery log. Protocol: ``service.webhooks``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, status
from fastapi.concurrency import run_in_threadpool
from pydantic import Field, field_validator

from service.auth import Owner
from service.deps import DbDep
from service.errors import ApiError, documented
from service.pagination import Page, PageQuery, page_out
from service.persistence.webhooks import Delivery, Webhook
from service.strict import RequestModel, ResponseModel, StrictRoute
from service.times import utc, utc_or_none
from service.webhooks import EVENTS

router = APIRouter(
    prefix="/v1/webhooks", tags=["webhooks"], route_class=StrictRoute,
    responses=documented(401, 403, 422, 429, 503),
)  # fmt: skip

Event = Literal["clip.done", "clip.failed", "session.opened", "session.closed", "session.failed"]
assert set(EVENTS) == set(Event.__args__)  # type: ignore[attr-defined]


class WebhookIn(RequestModel):
    url: str = Field(min_length=8, max_length=2000, description="http(s) URL events are POSTed to")
    events: list[Event] = Field(min_length=1, max_length=len(EVENTS))

    @field_validator("url")
    @classmethod
    def _http(cls, url: str) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"url {url!r} is not an http:// or https:// URL")
        return url


class WebhookOut(ResponseModel):
    id: str
    url: str
    events: list[str]
    created: datetime


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(description="signs every delivery (Visavis-Signature); shown once")


class DeliveryOut(ResponseModel):
    id: str
    event: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_status: int | None = Field(description="the HTTP status of the last attempt")
    last_error: str | None
    next_attempt: datetime | None
    created: datetime
    finished: datetime | None
    payload: dict[str, object]


def _out(hook: Webhook) -> WebhookOut:
    return WebhookOut(id=hook.id, url=hook.url, events=list(hook.events), created=utc(hook.created))


def _delivery(d: Delivery) -> DeliveryOut:
    return DeliveryOut(
        id=d.id, event=d.event, status=d.status, attempts=d.attempts,  # type: ignore[arg-type]
        last_status=d.last_status, last_error=d.last_error,
        next_attempt=utc_or_none(d.next_attempt if d.status == "pending" else None),
        created=utc(d.created), finished=utc_or_none(d.finished), payload=json.loads(d.payload),
    )  # fmt: skip


async def _find(db: DbDep, webhook_id: str, owner: str) -> Webhook:
    hook = await run_in_threadpool(lambda: db.webhooks.get(webhook_id, owner=owner))
    if hook is None:
        raise ApiError(404, f"no webhook {webhook_id!r}")
    return hook


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WebhookCreatedOut)
async def create_webhook(body: WebhookIn, owner: Owner, db: DbDep) -> WebhookCreatedOut:
    events = list(dict.fromkeys(body.events))
    hook = await run_in_threadpool(lambda: db.webhooks.create(owner=owner, url=body.url,
                                                               events=events))  # fmt: skip
    return WebhookCreatedOut(**_out(hook).model_dump(), secret=hook.secret)


@router.get("", response_model=Page[WebhookOut])
async def list_webhooks(owner: Owner, db: DbDep, page: PageQuery) -> Page[WebhookOut]:
    rows = await run_in_threadpool(
        lambda: db.webhooks.list(owner=owner, limit=page.limit, after=page.after))
    return page_out(rows, _out)


@router.get("/{webhook_id}", response_model=WebhookOut, responses=documented(404))
async def get_webhook(webhook_id: str, owner: Owner, db: DbDep) -> WebhookOut:
    return _out(await _find(db, webhook_id, owner))


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=documented(404))  # fmt: skip
async def delete_webhook(webhook_id: str, owner: Owner, db: DbDep) -> None:
    if not await run_in_threadpool(lambda: db.webhooks.delete(webhook_id, owner=owner)):
        raise ApiError(404, f"no webhook {webhook_id!r}")


@router.get("/{webhook_id}/deliveries", response_model=Page[DeliveryOut],
            responses=documented(404))  # fmt: skip
async def list_deliveries(
    webhook_id: str, owner: Owner, db: DbDep, page: PageQuery
) -> Page[DeliveryOut]:
    """The delivery log, newest first: each event's status, attempts and last answer."""
    await _find(db, webhook_id, owner)
    rows = await run_in_threadpool(
        lambda: db.webhooks.deliveries(webhook_id, limit=page.limit, after=page.after))
    return page_out(rows, _delivery)


