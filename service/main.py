"""The FastAPI application: ``create_app(settings)`` wires routers, state and middleware.

``uvicorn service.main:app`` serves it with settings from the environment (``VISAVIS_*``); ``app``
is built on first access.
Stores and runners are built in ``lifespan`` and put on ``app.state``; routes reach them through
``service.deps``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from service.settings import Settings, get_settings, load_settings

log = logging.getLogger(__name__)

API_DESCRIPTION = (
    "A face for any voice. Authenticate with `X-API-Key: <key>` or `Authorization: Bearer <key>`."
)


def _open_state(app: FastAPI, settings: Settings) -> None:
    """Database, shared storage and characters; runs in a thread (it touches disk and network)."""
    from service.leftovers import sweep_leftovers
    from service.storage import open_storage

    storage = open_storage(settings)
    db = storage.db
    if settings.admin_key is not None:  # a new one revokes the previous bootstrap key
        db.keys.register_bootstrap(settings.admin_key.get_secret_value())
    sweep_leftovers(settings.data_dir, db)
    app.state.settings = settings
    app.state.storage = storage
    app.state.db = storage.db
    app.state.blobs = storage.blobs
    app.state.store = storage.characters


async def _close_state(app: FastAPI) -> None:
    jobs, storage = app.state.jobs, getattr(app.state, "storage", None)
    app.state.jobs = app.state.store = app.state.db = app.state.blobs = app.state.storage = None
    if jobs is not None:
        await jobs.aclose()  # first: running jobs still use the store and the database
    if storage is not None:
        await run_in_threadpool(storage.close)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from service.clips import open_clip_jobs
        from service.housekeeping import Housekeeping
        from service.idempotency import RETENTION_S as IDEMPOTENCY_RETENTION_S
        from service.leftovers import sweep_leftovers
        from service.realtime.factory import SessionFactory
        from service.webhooks import Deliverer

        app.state.jobs = None
        await run_in_threadpool(_open_state, app, settings)
        try:
            app.state.jobs = await open_clip_jobs(settings, app.state.storage)
        except BaseException:
            await _close_state(app)
            raise
        # one factory for every transport's sessions (REST, WebSocket, LiveKit dispatch)
        app.state.factory = SessionFactory(
            workers=settings.frame_workers, warm=settings.warm_frame_workers
        )
        app.state.factory.start()
        upkeep = Housekeeping(
            jobs=app.state.jobs, retention_seconds=settings.clip_retention_hours * 3600,
            chores=[functools.partial(sweep_leftovers, settings.data_dir, app.state.db),
                    functools.partial(app.state.db.idempotency.expire, IDEMPOTENCY_RETENTION_S)],
        )  # fmt: skip
        upkeep.start()
        deliverer = Deliverer(db=app.state.db, retry_base_s=settings.webhook_retry_base_s)
        deliverer.start()
        from service.persistence.urls import redact

        log.info("service ready database=%s storage=%s clip_queue=%s",
                 redact(settings.database), app.state.blobs.description, app.state.jobs.queue.kind)  # fmt: skip
        try:
            yield
        finally:
            await deliverer.aclose()
            await upkeep.aclose()
            factory, app.state.factory = app.state.factory, None
            await factory.aclose()  # after the routers closed their sessions
            await _close_state(app)
            log.info("service stopped")

    from service import errors, openapi
    from service.gate import KeyGate
    from service.idempotency import Idempotency
    from service.limits import BodySizeLimit, request_limit_bytes
    from service.observe.logs import RequestIdMiddleware
    from service.ratelimit import RateLimiter
    from service.routers import (
        characters,
        clips,
        demo,
        health,
        keys,
        livekit,
        session_out,
        sessions,
        webhooks,
        webrtc,
        widget,
    )

    app = FastAPI(title="visavis", version="0.1.0", description=API_DESCRIPTION, lifespan=lifespan)
    # set when a stop begins (``visavis serve``): open event streams end rather than hold it up
    app.state.stopping = asyncio.Event()
    app.dependency_overrides[get_settings] = lambda: settings
    errors.install(app)
    # the last added runs first: give every request its id, count it, check its key, count
    # its body, then answer a repeated Idempotency-Key
    app.add_middleware(Idempotency)
    app.add_middleware(BodySizeLimit, max_bytes=request_limit_bytes(settings.max_upload_bytes))
    limiter = RateLimiter(per_second=settings.publishable_rate, burst=settings.publishable_burst)
    app.add_middleware(KeyGate, limiter=limiter)
    app.add_middleware(health.RequestCounter)
    app.add_middleware(RequestIdMiddleware)  # outermost: every log line of a request has its id
    app.include_router(health.router)
    app.include_router(keys.router)
    app.include_router(characters.router)
    app.include_router(clips.router)
    app.include_router(sessions.router)
    app.include_router(session_out.router)
    app.include_router(webrtc.router)  # after sessions: its peers close before the sessions
    app.include_router(livekit.router)
    app.include_router(webhooks.router)
    app.include_router(widget.router)
    app.include_router(demo.router)
    openapi.install(app)
    return app


def __getattr__(name: str) -> object:
    """``service.main:app`` for uvicorn, built on first use so importing this module reads no env."""
    if name == "app":
        app = create_app()
        globals()["app"] = app
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
