"""Per-key limits: pending clips (counted in the database, so across processes) and the request
rate of a publishable key, answered 429 with Retry-After."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from pydantic import SecretStr

from service.main import create_app
from service.settings import Settings
from tests.service.conftest import png_bytes


def test_pending_clip_quota_per_key(tmp_path: Path, astronaut: np.ndarray) -> None:
    settings = Settings(data_dir=tmp_path, max_pending_clips_per_key=2, frame_workers=0,
                        warm_frame_workers=False, admin_key=SecretStr("admin-quota-key-0123"))  # fmt: skip
    with TestClient(create_app(settings)) as client:
        db = client.app.state.db  # type: ignore[attr-defined]
        one, two = (db.keys.issue(name) for name in ("una", "una"))
        heavy, light = {"X-API-Key": one[1]}, {"X-API-Key": two[1]}
        made = client.post("/v1/characters", headers=heavy, data={"name": "u"},
                           files={"image": ("a.png", png_bytes(astronaut), "image/png")})  # fmt: skip
        character_id = made.json()["id"]
        for _ in range(2):  # two clips of the first key still queued (by any process)
            db.clips.insert(owner="una", character_id=character_id, fmt="mp4", size="512",
                            key_id=one[0].id)  # fmt: skip
        form = {"character_id": character_id, "text": "Hello."}
        refused = client.post("/v1/clips", headers=heavy, data=form)
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"]["code"] == "quota_exceeded"
        assert "VISAVIS_MAX_PENDING_CLIPS_PER_KEY=2" in refused.json()["error"]["message"]
        assert int(refused.headers["Retry-After"]) > 0
        accepted = client.post("/v1/clips", headers=light, data=form)  # the other key is free
        assert accepted.status_code == 202, accepted.text


def test_publishable_key_rate_limit(tmp_path: Path, astronaut: np.ndarray) -> None:
    settings = Settings(data_dir=tmp_path, publishable_rate=1, publishable_burst=3,
                        frame_workers=0, warm_frame_workers=False)  # fmt: skip
    with TestClient(create_app(settings)) as client:
        db = client.app.state.db  # type: ignore[attr-defined]
        secret = {"X-API-Key": db.keys.create("vic")}
        made = client.post("/v1/characters", headers=secret, data={"name": "v"},
                           files={"image": ("a.png", png_bytes(astronaut), "image/png")})  # fmt: skip
        character_id = made.json()["id"]
        pk = client.post("/v1/keys", headers=secret, json={
            "scope": "publishable", "origins": ["https://v.example"],
            "character_ids": [character_id]}).json()["api_key"]  # fmt: skip
        page = {"X-API-Key": pk, "Origin": "https://v.example"}
        codes = [client.get(f"/v1/characters/{character_id}", headers=page).status_code
                 for _ in range(5)]  # fmt: skip
        assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
        limited = client.get(f"/v1/characters/{character_id}", headers=page)
        assert limited.headers["Retry-After"] == "1"
        assert limited.headers["access-control-allow-origin"] == "https://v.example"
        # secret keys are not rate-limited this way
        assert all(client.get("/v1/characters", headers=secret).status_code == 200
                   for _ in range(5))  # fmt: skip
