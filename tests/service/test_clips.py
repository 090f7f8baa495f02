"""Clip jobs over REST: text or audio in, a job with progress, the video and motion out."""

from __future__ import annotations

import io

import av
import numpy as np
from fastapi.testclient import TestClient

FPS = 25


def _wait(client: TestClient, clip_id: str, headers: dict[str, str]) -> dict:
    client.app.state.jobs.wait(clip_id, timeout=120)  # type: ignore[attr-defined]
    return client.get(f"/v1/clips/{clip_id}", headers=headers).json()  # type: ignore[no-any-return]


def test_text_clip_to_completion(client: TestClient, alice, alice_character: str) -> None:
    made = client.post(
        "/v1/clips",
        headers=alice,
        data={"character_id": alice_character, "text": "Hi there.", "seed": "3"},
    )
    assert made.status_code == 202, made.text
    job = made.json()
    assert job["status"] in ("queued", "running", "done")
    assert made.headers["location"].endswith(f"/v1/clips/{job['id']}")
    done = _wait(client, job["id"], alice)
    assert done["status"] == "done" and done["progress"] == 1.0 and done["error"] is None

    video = client.get(done["video_url"], headers=alice)
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    with av.open(io.BytesIO(video.content)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert container.streams.audio[0].codec_context.name == "aac"
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == done["frames"] and abs(done["duration_s"] - frames / FPS) < 1e-6

    motion = client.get(done["motion_url"], headers=alice)
    assert motion.status_code == 200 and motion.text.startswith("Timecode,BlendShapeCount")
    assert len(motion.text.strip().splitlines()) == frames + 1
    assert done["id"] in [c["id"] for c in client.get("/v1/clips", headers=alice).json()["data"]]


def test_audio_clip_as_webm(client: TestClient, alice, alice_character: str, to_wav) -> None:
    speech = (0.3 * np.sin(np.arange(16_000) * 0.08)).astype(np.float32)
    made = client.post(
        "/v1/clips",
        headers=alice,
        data={"character_id": alice_character, "format": "webm"},
        files={"audio": ("tone.wav", to_wav(speech), "audio/wav")},
    )
    assert made.status_code == 202, made.text
    done = _wait(client, made.json()["id"], alice)
    assert done["status"] == "done" and done["frames"] == FPS
    video = client.get(done["video_url"], headers=alice)
    assert video.headers["content-type"] == "video/webm"
    with av.open(io.BytesIO(video.content)) as container:
        assert container.streams.video[0].codec_context.name == "vp8"


def test_other_keys_see_nothing(client: TestClient, alice, bob, alice_character: str) -> None:
    made = client.post(
        "/v1/clips", headers=alice, data={"character_id": alice_character, "text": "Secret."}
    )
    clip_id = made.json()["id"]
    _wait(client, clip_id, alice)
    for method, suffix in (("GET", ""), ("GET", "/video"), ("GET", "/motion.csv"), ("DELETE", "")):
        response = client.request(method, f"/v1/clips/{clip_id}{suffix}", headers=bob)
        assert response.status_code == 404, (method, suffix)
    assert clip_id not in [c["id"] for c in client.get("/v1/clips", headers=bob).json()["data"]]
    # nor can another key speak through alice's character
    stolen = client.post(
        "/v1/clips", headers=bob, data={"character_id": alice_character, "text": "Hello."}
    )
    assert stolen.status_code == 404


def test_bad_requests_are_named(client: TestClient, alice, alice_character: str, to_wav) -> None:
    def post(data: dict, files: dict | None = None):  # type: ignore[no-untyped-def]
        return client.post(
            "/v1/clips", headers=alice, data={"character_id": alice_character, **data}, files=files
        )

    wav = ("a.wav", to_wav(np.zeros(8000, np.float32)), "audio/wav")
    both = post({"text": "hi"}, {"audio": wav})
    assert both.status_code == 422 and "exactly one" in both.json()["error"]["message"]
    assert post({}).status_code == 422
    not_audio = post({}, {"audio": ("notes.txt", b"plain text " * 50, "text/plain")})
    assert not_audio.status_code == 422 and "notes.txt" in not_audio.json()["error"]["message"]
    too_long = post(
        {}, {"audio": ("long.wav", to_wav(np.zeros(6 * 16_000, np.float32)), "audio/wav")}
    )
    assert too_long.status_code == 422 and "limit" in too_long.json()["error"]["message"]
    bad_size = post({"text": "hi", "size": "4k"})
    assert bad_size.status_code == 422 and "size" in bad_size.text
    unknown = client.post(
        "/v1/clips", headers=alice, data={"character_id": "chr_nope", "text": "hi"}
    )
    assert unknown.status_code == 404 and "chr_nope" in unknown.json()["error"]["message"]


def test_unfinished_clip_and_delete(
    client: TestClient, alice, alice_character: str, to_wav
) -> None:
    long_speech = to_wav((0.2 * np.sin(np.arange(2 * 16_000) * 0.05)).astype(np.float32))
    first = client.post(
        "/v1/clips",
        headers=alice,
        data={"character_id": alice_character},
        files={"audio": ("a.wav", long_speech, "audio/wav")},
    ).json()
    second = client.post(
        "/v1/clips", headers=alice, data={"character_id": alice_character, "text": "Wait."}
    ).json()
    early = client.get(f"/v1/clips/{second['id']}/video", headers=alice)
    assert early.status_code == 409 and "poll" in early.json()["error"]["message"]  # one worker: still queued
    assert client.delete(f"/v1/clips/{second['id']}", headers=alice).status_code == 204
    assert client.get(f"/v1/clips/{second['id']}", headers=alice).status_code == 404
    assert _wait(client, first["id"], alice)["status"] == "done"


def test_full_queue_answers_429(tmp_path, astronaut, to_png) -> None:
    from service.main import create_app
    from service.settings import Settings

    app = create_app(Settings(data_dir=tmp_path, max_pending_clips=1))
    with TestClient(app) as client:
        headers = {"X-API-Key": app.state.db.keys.create("erin")}
        made = client.post("/v1/characters", headers=headers,
                           files={"image": ("a.png", to_png(astronaut), "image/png")})  # fmt: skip
        form = {"character_id": made.json()["id"], "text": "One two three four five six."}
        first = client.post("/v1/clips", headers=headers, data=form)
        second = client.post("/v1/clips", headers=headers, data=form)
        assert first.status_code == 202
        assert second.status_code == 429 and "MAX_PENDING" in second.json()["error"]["message"]
        assert second.headers["retry-after"] == "10"
        _wait(client, first.json()["id"], headers)


def test_a_restart_queues_unfinished_clips_again(tmp_path, astronaut, to_png, to_wav) -> None:
    """Closing the service mid-render puts the clip back in the queue (not failed); the next
    start renders it. A clip whose process died while running it is taken up the same way."""
    import time

    from service.clips.render import audio_bytes
    from service.main import create_app
    from service.settings import Settings

    settings = Settings(data_dir=tmp_path)
    with TestClient(create_app(settings)) as client:
        db = client.app.state.db  # type: ignore[attr-defined]
        headers = {"X-API-Key": db.keys.create("frank")}
        made = client.post("/v1/characters", headers=headers,
                           files={"image": ("a.png", to_png(astronaut), "image/png")})  # fmt: skip
        character = made.json()["id"]
        speech = (0.3 * np.sin(np.arange(16_000 * 6) * 0.05)).astype(np.float32)
        clip = client.post("/v1/clips", headers=headers, data={"character_id": character},
                           files={"audio": ("a.wav", to_wav(speech), "audio/wav")}).json()  # fmt: skip
        deadline = time.monotonic() + 120
        while (row := db.clips.find(clip["id"])).progress == 0:
            assert time.monotonic() < deadline and row.status in ("queued", "running")
            time.sleep(0.02)
        # a second clip whose process "died" while rendering it: running, its audio stored
        lost = db.clips.insert(owner="frank", character_id=character, fmt="mp4", size="512")
        client.app.state.blobs.put_bytes(f"jobs/{lost.id}/speech.npy", audio_bytes(speech[:16_000]),  # type: ignore[attr-defined]
                                         scratch=tmp_path / "scratch")  # fmt: skip
    row = db.clips.find(clip["id"])
    assert row.status == "queued" and row.error is None, row  # stopped, not failed
    db.clips.start(lost.id, worker="a process that died")
    legacy = db.clips.insert(owner="frank", character_id=character, fmt="mp4", size="512")

    with TestClient(create_app(settings)) as client:
        jobs = client.app.state.jobs  # type: ignore[attr-defined]
        assert jobs.wait(clip["id"], timeout=120).status == "done"
        again = jobs.wait(lost.id, timeout=120)
        assert again.status == "done" and again.attempts == 2, again
        failed = jobs.wait(legacy.id, timeout=30)  # made before audio was kept with its job
        assert failed.status == "failed" and "audio" in failed.error
        video = client.get(f"/v1/clips/{clip['id']}/video", headers=headers)
        assert video.status_code == 200 and video.content[4:8] == b"ftyp"


def test_finished_clips_expire_after_their_retention(tmp_path) -> None:
    import time

    from service.main import create_app
    from service.persistence import Database
    from service.settings import Settings

    db = Database.sqlite(tmp_path / "visavis.sqlite3")
    key = db.keys.create("gina")
    old = db.clips.insert(owner="gina", character_id="ch_x", fmt="mp4", size="512")
    fresh = db.clips.insert(owner="gina", character_id="ch_x", fmt="mp4", size="512")
    db.clips.update(old.id, status="done", finished=time.time() - 3 * 3600)
    db.clips.update(fresh.id, status="done", finished=time.time() - 60)
    db.close()
    clips = tmp_path / "clips"
    clips.mkdir()
    for row in (old, fresh):
        (clips / f"{row.id}.mp4").write_bytes(b"video")
        (clips / f"{row.id}.motion.csv").write_bytes(b"motion")

    with TestClient(create_app(Settings(data_dir=tmp_path, clip_retention_hours=2))) as client:
        headers = {"X-API-Key": key}
        deadline = time.monotonic() + 10
        while client.get(f"/v1/clips/{old.id}", headers=headers).status_code != 404:
            assert time.monotonic() < deadline, "the expired clip was never deleted"
            time.sleep(0.05)
        assert client.get(f"/v1/clips/{fresh.id}", headers=headers).json()["status"] == "done"
    assert sorted(p.name for p in clips.iterdir()) == [f"{fresh.id}.motion.csv", f"{fresh.id}.mp4"]


def test_retention_zero_keeps_clips(tmp_path) -> None:
    import time

    from service.main import create_app
    from service.persistence import Database
    from service.settings import Settings

    db = Database.sqlite(tmp_path / "visavis.sqlite3")
    key = db.keys.create("hal")
    row = db.clips.insert(owner="hal", character_id="ch_x", fmt="mp4", size="512")
    db.clips.update(row.id, status="failed", error="x", finished=time.time() - 400 * 86400)
    db.close()
    with TestClient(create_app(Settings(data_dir=tmp_path, clip_retention_hours=0))) as client:
        time.sleep(0.2)
        assert client.get(f"/v1/clips/{row.id}", headers={"X-API-Key": key}).status_code == 200
