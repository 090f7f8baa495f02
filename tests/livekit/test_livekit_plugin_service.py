"""The LiveKit plugin against the real service on a real port: what the plugin sends is what
``POST /v1/livekit/dispatch`` accepts (no LiveKit server: the worker's joins fail and are
retried until the plugin stops it), the service's refusals reach the agent as LiveKit's errors,
and the plugin's names for sizes, worker and job metadata are the service's."""

from __future__ import annotations

import io
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import httpx
import numpy as np
import pytest
from livekit.agents import AgentSession, APIStatusError
from livekit.plugins import visavis

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "clients/livekit-plugin/tests"))
from plugin_helpers import OfflineRoom

KEY, SECRET = "APIpluginservice", "plugin-service-secret-" + "w" * 32
NOWHERE = "ws://127.0.0.1:9"  # nothing listens here: joins fail fast


@dataclass(frozen=True)
class Live:
    url: str
    app: Any
    key: str
    character_id: str


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, astronaut: np.ndarray) -> Iterator[Live]:
    import uvicorn
    from PIL import Image

    from service.main import create_app
    from service.settings import Settings

    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("plugin_data"), frame_workers=0))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.1)
    url = f"http://127.0.0.1:{port}"
    key = app.state.db.keys.create("alice")
    image = io.BytesIO()
    Image.fromarray(astronaut).save(image, format="PNG")
    created = httpx.post(
        f"{url}/v1/characters",
        headers={"X-API-Key": key},
        data={"name": "astro"},
        files={"image": ("astronaut.png", image.getvalue(), "image/png")},
        timeout=120,
    )
    assert created.status_code == 201, created.text
    yield Live(url, app, key, created.json()["id"])
    server.should_exit = True
    thread.join(timeout=30)


def start_options() -> dict[str, str]:
    return {"livekit_url": NOWHERE, "livekit_api_key": KEY, "livekit_api_secret": SECRET}


async def test_the_service_accepts_the_plugins_dispatch_and_stops_it(live: Live):
    avatar = visavis.AvatarSession(
        character_id=live.character_id,
        api_url=live.url,
        api_key=live.key,
        avatar_participant_identity="face-of-agent-7",
        size="720p",
    )
    await avatar.start(AgentSession(), room=OfflineRoom(), **start_options())  # type: ignore[arg-type]
    dispatch_id = avatar.dispatch_id
    assert dispatch_id is not None

    async with httpx.AsyncClient(base_url=live.url, headers={"X-API-Key": live.key}) as http:
        shown = (await http.get(f"/v1/livekit/dispatch/{dispatch_id}")).json()
        assert (shown["room"], shown["character_id"]) == ("support-42", live.character_id)
        assert shown["avatar_identity"] == "face-of-agent-7" and shown["state"] != "ended"
        worker = live.app.state.livekit.get(dispatch_id, owner="alice")
        assert worker.identity == "face-of-agent-7"

        await avatar.aclose()
        assert avatar.dispatch_id is None
        ended = (await http.get(f"/v1/livekit/dispatch/{dispatch_id}")).json()
        assert ended["state"] == "ended" and ended["end_reason"]


async def test_the_services_refusals_are_livekit_status_errors(live: Live):
    stranger = visavis.AvatarSession(
        character_id=live.character_id, api_url=live.url, api_key="vv_not_a_key"
    )
    with pytest.raises(APIStatusError) as refused:
        await stranger.start(AgentSession(), room=OfflineRoom(), **start_options())  # type: ignore[arg-type]
    assert refused.value.status_code == 401 and refused.value.retryable is False
    assert "attempt 1 of" in str(refused.value)

    unknown = visavis.AvatarSession(character_id="ch_nobody", api_url=live.url, api_key=live.key)
    with pytest.raises(APIStatusError, match="ch_nobody") as missing:
        await unknown.start(AgentSession(), room=OfflineRoom(), **start_options())  # type: ignore[arg-type]
    assert missing.value.status_code == 404 and missing.value.body


def test_the_plugins_names_are_the_services():
    from renderer.framing import SIZES
    from service.transports.livekit.agent_worker import AGENT_NAME, parse_job_metadata

    assert get_args(visavis.avatar.Size) == tuple(SIZES)
    assert visavis.avatar.WORKER_AGENT_NAME == AGENT_NAME
    avatar = visavis.AvatarSession(character_id="ch_abc", dispatch="livekit", size="720p")
    job = parse_job_metadata(avatar.job_metadata("agent-7"))  # what `visavis worker` reads
    assert (job.character_id, job.agent_identity, job.size) == ("ch_abc", "agent-7", "720p")
