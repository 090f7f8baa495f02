"""The FastAPI application: ``create_app(settings)`` wires routers, state and middleware.

``uvicorn service.main:app`` serves it with settings from the environment (``VISAVIS_*``); ``app``
is built on first access.
Stores and runners are built in ``lifespan`` and put on ``app.state``; routes reach them through
``service.deps``.
"""

from __future__ import annotations

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
    from service.storage import open_storage

    storage = open_storage(settings)
    if settings.admin_key is not None:
        storage.db.keys.register(settings.admin_key.get_secret_value(), "admin", label="bootstrap")
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
        from service.realtime.factory import SessionFactory

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
            jobs=app.state.jobs, retention_seconds=settings.clip_retention_hours * 3600
        )
        upkeep.start()
        from service.persistence.urls import redact

        log.info("service ready database=%s storage=%s clip_queue=%s",
                 redact(settings.database), app.state.blobs.description, app.state.jobs.queue.kind)  # fmt: skip
        try:
            yield
        finally:
            await upkeep.aclose()
            factory, app.state.factory = app.state.factory, None
            await factory.aclose()  # after the routers closed their sessions
            await _close_state(app)
            log.info("service stopped")

    from service.limits import BodySizeLimit, request_limit_bytes
    from service.observe.logs import RequestIdMiddleware
    from service.routers import characters, clips, demo, health, keys, livekit, sessions

    app = FastAPI(title="visavis", version="0.1.0", description=API_DESCRIPTION, lifespan=lifespan)
    app.dependency_overrides[get_settings] = lambda: settings
    app.middleware("http")(health.count_requests)
    app.add_middleware(BodySizeLimit, max_bytes=request_limit_bytes(settings.max_upload_bytes))
    app.add_middleware(RequestIdMiddleware)  # outermost: every log line of a request has its id
    app.include_router(health.router)
    app.include_router(keys.router)
    app.include_router(characters.router)
    app.include_router(clips.router)
    app.include_router(sessions.router)
    app.include_router(livekit.router)
    app.include_router(demo.router)
    return app


def __getattr__(name: str) -> object:
    """``service.main:app`` for uvicorn, built on first use so importing this module reads no env."""
    if name == "app":
        app = create_app()
        globals()["app"] = app
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
