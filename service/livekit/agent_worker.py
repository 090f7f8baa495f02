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
import sys
from dataclasses import dataclass
from typing import Any

from livekit.agents import AgentServer, AutoSubscribe, JobContext

from service.livekit.tokens import ATTRIBUTE_PUBLISH_ON_BEHALF
from service.livekit.worker import AvatarWorker, AvatarWorkerOptions

log = logging.getLogger(__name__)

AGENT_NAME = "visavis-avatar"
SIZES = ("512", "720p")


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
        if self.size not in SIZES:
            raise ValueError(f"size {self.size!r} is not one of {', '.join(SIZES)}")


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


async def avatar_job(ctx: JobContext) -> None:
    """One avatar job: join, publish on behalf of the agent, run until the agent leaves."""
    from fastapi.concurrency import run_in_threadpool

    from service.realtime.factory import build_session
    from service.settings import load_settings
    from service.storage import open_storage

    job = parse_job_metadata(ctx.job.metadata)
    storage = await run_in_threadpool(open_storage, load_settings())  # as service.main opens it
    try:
        character = await run_in_threadpool(storage.characters.load, job.character_id)
    finally:
        storage.close()
    session, size = await run_in_threadpool(
        lambda: build_session(character, size=job.size, seed=job.seed)
    )
    if "torch" in sys.modules:  # one avatar per job process: one thread each, no contention
        sys.modules["torch"].set_num_threads(1)
    await ctx.connect(auto_subscribe=AutoSubscribe.SUBSCRIBE_NONE)
    if job.agent_identity:
        await ctx.room.local_participant.set_attributes(
            {ATTRIBUTE_PUBLISH_ON_BEHALF: job.agent_identity}
        )
    worker = AvatarWorker(
        session=session,
        video_size=size,
        options=AvatarWorkerOptions(agent_identity=job.agent_identity),
    )
    try:
        reason, _final = await worker.run_in_room(ctx.room)
    finally:
        await session.aclose()
    ctx.shutdown(reason)


def build_server(
    *,
    url: str | None = None,
    api_key: str | None = None,
    api_secret: str | None = None,
    agent_name: str = AGENT_NAME,
    load_threshold: float = 0.75,
    http_port: int = 8081,
) -> AgentServer:
    """An ``AgentServer`` taking avatar jobs for ``agent_name`` (explicit dispatch only)."""
    if not 0 < load_threshold <= 1:
        raise ValueError(f"load_threshold must be in (0, 1], got {load_threshold}")
    if not 0 <= http_port <= 65535:
        raise ValueError(f"http_port must be 0..65535, got {http_port}")
    server = AgentServer(
        ws_url=url,
        api_key=api_key,
        api_secret=api_secret,
        load_threshold=load_threshold,
        port=http_port,
    )
    server.rtc_session(avatar_job, agent_name=agent_name)
    return server
