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
    """Database, character store and clip runner; runs in a thread (it touches disk)."""
    from service.clips import ClipJobs
    from service.storage import open_storage

    storage = open_storage(settings)
    db = storage.db
    if settings.admin_key is not None:
        db.keys.register(settings.admin_key.get_secret_value(), "admin", label="bootstrap")
    stale = db.clips.fail_unfinished("the service restarted before this clip finished")
    if stale:
        log.warning("clips left unfinished by a previous run marked failed count=%d", stale)
    app.state.settings = settings
    app.state.db = db
    app.state.store = storage.characters
    app.state.jobs = ClipJobs(
        clips=db.clips, store=storage.characters, clips_dir=settings.clips_dir,
        workers=settings.clip_workers, max_pending=settings.max_pending_clips,
    )  # fmt: skip


def _close_state(app: FastAPI) -> None:
    jobs, store, db = (getattr(app.state, name, None) for name in ("jobs", "store", "db"))
    app.state.jobs = app.state.store = app.state.db = None
    if jobs is not None:
        jobs.close()  # first: running jobs still use the store and the database
    if store is not None:
        store.close()
    if db is not None:
        db.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from service.housekeeping import Housekeeping
        from service.realtime.factory import SessionFactory

        await run_in_threadpool(_open_state, app, settings)
        # one factory for every transport's sessions (REST, WebSocket, LiveKit dispatch)
        app.state.factory = SessionFactory(
            workers=settings.frame_workers, warm=settings.warm_frame_workers
        )
        app.state.factory.start()
        upkeep = Housekeeping(
            jobs=app.state.jobs, retention_seconds=settings.clip_retention_hours * 3600
        )
        upkeep.start()
        log.info("service ready data_dir=%s", settings.data_dir)
        try:
            yield
        finally:
            await upkeep.aclose()
            factory, app.state.factory = app.state.factory, None
            await factory.aclose()  # after the routers closed their sessions
            await run_in_threadpool(_close_state, app)
            log.info("service stopped")

    from service.limits import BodySizeLimit, request_limit_bytes
    from service.routers import (
        characters,
        clips,
        demo,
        health,
        keys,
        livekit,
        session_out,
        sessions,
    )

    app = FastAPI(title="visavis", version="0.1.0", description=API_DESCRIPTION, lifespan=lifespan)
    app.dependency_overrides[get_settings] = lambda: settings
    app.middleware("http")(health.count_requests)
    app.add_middleware(BodySizeLimit, max_bytes=request_limit_bytes(settings.max_upload_bytes))
    app.include_router(health.router)
    app.include_router(keys.router)
    app.include_router(characters.router)
    app.include_router(clips.router)
    app.include_router(sessions.router)
    app.include_router(session_out.router)
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
