"""Worker mode: register with a LiveKit server as agent ``visavis-avatar`` and take avatar jobs.

The server dispatches jobs (``AgentDispatchService.create_dispatch(agent_name="visavis-avatar",
room=..., metadata='{"character_id": "...", "agent_identity": "..."}')``) to whichever
registered machine has capacity, so avatars spread over many machines. Each job runs in its own
process (livekit-agents' default on Linux), joins the room, declares whom it publishes for with
``lk.publish_on_behalf`` and runs the same ``AvatarWorker`` as ``POST /v1/livekit/dispatch``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from livekit.agents import AgentServer, AutoSubscribe, JobContext

from service.observe.logs import request_context
from service.realtime.metrics import AVATAR_JOBS
from service.sizes import check_size_name
from service.transports.livekit.tokens import ATTRIBUTE_PUBLISH_ON_BEHALF
from service.transports.livekit.worker import AvatarWorker, AvatarWorkerOptions

log = logging.getLogger(__name__)

AGENT_NAME = "visavis-avatar"


@dataclass(frozen=True)
class AvatarJob:
    """What a dispatch's metadata asks for."""

    character_id: str
    agent_identity: str | None = None
    size: str = "512"
    seed: int | None = None

    def __post_init__(self) -> None:
        if not self.character_id:
            raise ValueError("job metadata needs a character_id")
        check_size_name(self.size)


def parse_job_metadata(metadata: str) -> AvatarJob:
    """``{"character_id": ..., "agent_identity": ..., "size": ..., "seed": ...}`` -> AvatarJob."""
    try:
        fields: Any = json.loads(metadata or "{}")
    except json.JSONDecodeError as exc:
        raise ValueError(f"job metadata is not JSON ({exc})") from None
    if not isinstance(fields, dict):
        raise ValueError("job metadata must be a JSON object")
    unknown = set(fields) - {"character_id", "agent_identity", "size", "seed"}
    if unknown:
        raise ValueError(f"unknown job metadata fields: {', '.join(sorted(unknown))}")
    if not isinstance(fields.get("character_id"), str):
        raise ValueError("job metadata needs a character_id (a string)")
    return AvatarJob(**fields)


def prepare_character(settings: Any, character_id: str) -> str:
    """The character's folder on this machine, fetched from shared storage on first use (as
    every node gets it); a missing or corrupt character raises with its own message."""
    from service.storage import open_storage

    storage = open_storage(settings)  # as service.main opens it
    try:
        storage.characters.load(character_id)
        return str(storage.characters.folder(character_id))
    finally:
        storage.close()


async def avatar_job(ctx: JobContext) -> None:
    """One avatar job: join, publish on behalf of the agent, run until the agent leaves."""
    from fastapi.concurrency import run_in_threadpool

    from service.settings import load_settings

    with request_context(f"lkjob_{ctx.job.id}"):  # the job's log lines, in every process
        job = parse_job_metadata(ctx.job.metadata)
        settings = load_settings()
        AVATAR_JOBS.inc()
        log.info("avatar job character=%s", job.character_id)
        folder = await run_in_threadpool(prepare_character, settings, job.character_id)
        await _run_avatar(ctx, job, folder, settings.device)


async def _run_avatar(ctx: JobContext, job: AvatarJob, folder: str, device: str) -> None:
    from service.realtime.factory import SessionFactory
    from service.realtime.parts import SessionSpec

    # one avatar per job process (livekit-agents' default): its frames on threads here
    factory = SessionFactory(workers=0)
    spec = SessionSpec(folder, size=job.size, seed=job.seed, device=device)
    session = await factory.open(spec)
    await ctx.connect(auto_subscribe=AutoSubscribe.SUBSCRIBE_NONE)
    if job.agent_identity:
        await ctx.room.local_participant.set_attributes(
            {ATTRIBUTE_PUBLISH_ON_BEHALF: job.agent_identity}
        )
    worker = AvatarWorker(
        session=session,
        options=AvatarWorkerOptions(agent_identity=job.agent_identity),
    )
    try:
        reason, _final = await worker.run_in_room(ctx.room)
    finally:
        await session.aclose()
        await factory.aclose()
    ctx.shutdown(reason)


def build_server(
    *,
    url: str | None = None,
    api_key: str | None = None,
    api_secret: str | None = None,
    agent_name: str = AGENT_NAME,
    load_threshold: float = 0.75,
    http_port: int = 8081,
    metrics_port: int | None = None,
    metrics_dir: str | None = None,
) -> AgentServer:
    """An ``AgentServer`` taking avatar jobs for ``agent_name`` (explicit dispatch only), its
    health at ``http_port`` (``/``) and, with ``metrics_port``, the Prometheus metrics of its
    job processes at ``metrics_port`` (``/metrics``; gathered in the folder ``metrics_dir``)."""
    if not 0 < load_threshold <= 1:
        raise ValueError(f"load_threshold must be in (0, 1], got {load_threshold}")
    for name, port in (("http_port", http_port), ("metrics_port", metrics_port)):
        if port is not None and not 0 <= port <= 65535:
            raise ValueError(f"{name} must be 0..65535, got {port}")
    server = AgentServer(
        ws_url=url,
        api_key=api_key,
        api_secret=api_secret,
        load_threshold=load_threshold,
        port=http_port,
        prometheus_port=metrics_port,
        prometheus_multiproc_dir=metrics_dir if metrics_port is not None else None,
    )
    server.rtc_session(avatar_job, agent_name=agent_name)
    return server
