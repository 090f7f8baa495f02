"""Tokens for the avatar participant: kind agent, publishing on behalf of the voice agent, with
the least grants it needs (join that one room, publish, subscribe, data for the audio stream
and RPCs). The secret signs the token and goes nowhere else."""

from __future__ import annotations

import datetime

from livekit import api

ATTRIBUTE_PUBLISH_ON_BEHALF = "lk.publish_on_behalf"
"""livekit-agents' attribute naming the agent whose media the avatar publishes."""
DEFAULT_TTL = datetime.timedelta(hours=6)


def avatar_grants(room: str) -> api.VideoGrants:
    return api.VideoGrants(
        room_join=True,
        room=room,
        can_publish=True,
        can_subscribe=True,
        can_publish_data=True,
        can_publish_sources=["camera", "microphone"],
        can_update_own_metadata=False,
        room_admin=False,
        room_create=False,
        room_list=False,
        room_record=False,
    )


def mint_avatar_token(
    *,
    api_key: str,
    api_secret: str,
    room: str,
    identity: str,
    on_behalf_of: str,
    name: str = "visavis avatar",
    ttl: datetime.timedelta = DEFAULT_TTL,
) -> str:
    """A JWT for the avatar worker to join ``room`` as ``identity`` for agent ``on_behalf_of``."""
    for label, value in (
        ("api_key", api_key),
        ("api_secret", api_secret),
        ("room", room),
        ("identity", identity),
        ("on_behalf_of", on_behalf_of),
    ):
        if not value:
            raise ValueError(f"{label} must not be empty")
    if identity == on_behalf_of:
        raise ValueError(f"the avatar identity {identity!r} must differ from the agent's")
    return (
        api.AccessToken(api_key=api_key, api_secret=api_secret)
        .with_kind("agent")
        .with_identity(identity)
        .with_name(name)
        .with_grants(avatar_grants(room))
        .with_attributes({ATTRIBUTE_PUBLISH_ON_BEHALF: on_behalf_of})
        .with_ttl(ttl)
        .to_jwt()
    )
