"""Watching processes: request ids in and out of the API and into clip jobs, JSON logs, the
probe server of processes without an API, settings errors that hide passwords, and
``visavis migrate``."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from service.observe.logs import JsonFormatter, _RequestIdFilter, request_context
from service.observe.probe import ProbeServer


def test_request_ids_come_in_go_out_and_follow_the_clip_job(client: TestClient, alice,
                                                            alice_character: str) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    given = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.1"})
    assert given.headers["x-request-id"] == "lb-7f3a.1"
    made = client.get("/healthz").headers["x-request-id"]
    assert made.startswith("req_") and made != client.get("/healthz").headers["x-request-id"]
    for hostile in ("x" * 65, "a b", "id\r\nSet-Cookie: x"):
        echoed = client.get("/healthz", headers={"X-Request-ID": hostile.replace("\r\n", "")})
        assert echoed.headers["x-request-id"].startswith("req_")  # replaced, never echoed

    clip = client.post("/v1/clips", headers={**alice, "X-Request-ID": "order-42"},
                       data={"character_id": alice_character, "text": "Hi."})  # fmt: skip
    assert clip.status_code == 202 and clip.headers["x-request-id"] == "order-42"
    row = client.app.state.jobs.wait(clip.json()["id"], timeout=120)  # type: ignore[attr-defined]
    assert row.request_id == "order-42" and row.status == "done"


def test_json_logs_carry_the_request_id_and_library_fields() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(_RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("visavis.test.json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with request_context("req_abc"):
            logger.warning("clip failed clip=%s", "clp_1", extra={"job_id": 7})
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("outside")
    finally:
        logger.removeHandler(handler)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{"))
    assert first["message"] == "clip failed clip=clp_1" and first["level"] == "warning"
    assert first["request_id"] == "req_abc" and first["job_id"] == 7
    assert "request_id" not in second and "ValueError: boom" in second["exception"]


def test_the_probe_server_serves_health_and_metrics() -> None:
    state = {"status": "ok", "rendering": 0}

    async def scenario() -> None:
        probe = ProbeServer(host="127.0.0.1", port=0, health=lambda: dict(state))
        port = await probe.start()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                assert (await http.get("/healthz")).json() == state
                state["status"] = "failing"
                assert (await http.get("/healthz")).status_code == 503
                metrics = (await http.get("/metrics")).text
                assert "visavis_clip_jobs_running" in metrics
        finally:
            await probe.aclose()

    import service.clips.render  # noqa: F401 - registers the clip metrics

    asyncio.run(scenario())


def test_settings_errors_name_the_variable_without_the_password(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from service.settings import SettingsError, load_settings

    monkeypatch.setenv("VISAVIS_DATABASE_URL", "mysql://root:hunter2@db/visavis")
    with pytest.raises(SettingsError, match="VISAVIS_DATABASE_URL") as caught:
        load_settings()
    assert "hunter2" not in str(caught.value) and "***" in str(caught.value)
    monkeypatch.setenv("VISAVIS_DATABASE_URL", "")
    monkeypatch.setenv("VISAVIS_QUEUE_URL", "sqlite:///q.db")
    with pytest.raises(SettingsError, match=r"VISAVIS_QUEUE_URL.*'local' or a postgresql"):
        load_settings()


def test_visavis_migrate_brings_the_database_up_and_check_says_when_due(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from service.cli import main

    monkeypatch.setenv("VISAVIS_DATA_DIR", str(tmp_path))
    assert main(["migrate", "--check"]) == 1 and "no schema" in capsys.readouterr().out
    assert main(["migrate"]) == 0 and "was empty" in capsys.readouterr().out
    assert main(["migrate", "--check"]) == 0
