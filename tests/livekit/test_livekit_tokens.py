"""The avatar's token claims (decoded with the secret), as the service mints them and as the
LiveKit plugin mints them on the agent's side: the same least grants."""

from __future__ import annotations

import jwt
import pytest
from livekit import api
from livekit.plugins import visavis

from service.transports.livekit.tokens import mint_avatar_token

KEY, SECRET = "APItestkey", "s3cret-" + "x" * 40


def claims(token: str) -> dict:
    return jwt.decode(token, SECRET, algorithms=["HS256"])


def assert_least_grants(decoded: dict, room: str) -> None:
    video = decoded["video"]
    assert video["roomJoin"] is True and video["room"] == room
    assert video["canPublish"] is True and video["canSubscribe"] is True
    assert video["canPublishData"] is True
    assert sorted(video["canPublishSources"]) == ["camera", "microphone"]
    for power in ("roomAdmin", "roomCreate", "roomList", "roomRecord", "ingressAdmin"):
        assert not video.get(power), f"{power} granted"


def test_service_token_claims():
    token = mint_avatar_token(
        api_key=KEY, api_secret=SECRET, room="sales", identity="face-1", on_behalf_of="agent-9"
    )
    decoded = claims(token)
    assert decoded["iss"] == KEY and decoded["sub"] == "face-1"
    assert decoded["kind"] == "agent"
    assert decoded["attributes"] == {"lk.publish_on_behalf": "agent-9"}
    assert_least_grants(decoded, "sales")
    assert 0 < decoded["exp"] - decoded["nbf"] <= 24 * 3600
    assert api.TokenVerifier(KEY, SECRET).verify(token).identity == "face-1"
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, "another-secret-of-sufficient-length!!", algorithms=["HS256"])
    with pytest.raises(ValueError, match="must differ"):
        mint_avatar_token(api_key=KEY, api_secret=SECRET, room="r", identity="a", on_behalf_of="a")
    with pytest.raises(ValueError, match="room"):
        mint_avatar_token(api_key=KEY, api_secret=SECRET, room="", identity="a", on_behalf_of="b")


def test_plugin_token_claims_match_the_services():
    avatar = visavis.AvatarSession(
        character_id="ch_1", dispatch="livekit", avatar_participant_identity="face-1"
    )
    token = avatar.mint_token(api_key=KEY, api_secret=SECRET, room="sales", agent_identity="agent-9")
    decoded = claims(token)
    assert decoded["iss"] == KEY and decoded["sub"] == "face-1" and decoded["kind"] == "agent"
    assert decoded["attributes"] == {"lk.publish_on_behalf": "agent-9"}
    assert_least_grants(decoded, "sales")
    service = claims(
        mint_avatar_token(
            api_key=KEY, api_secret=SECRET, room="sales", identity="face-1", on_behalf_of="agent-9"
        )
    )
    assert decoded["video"] == service["video"]
    with pytest.raises(ValueError, match=r"ctx\.connect"):
        avatar.mint_token(api_key=KEY, api_secret=SECRET, room="", agent_identity="agent-9")
