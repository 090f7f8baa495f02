"""Health and metrics need no key and report what a monitor needs."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_healthz_reports_ready(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "ready": {"db": True, "store": True, "jobs": True}}


def test_metrics_count_requests_by_route(client: TestClient) -> None:
    client.get("/v1/clips/clp_secret123")  # 401: counted under the template, not the raw path
    text = client.get("/metrics").text
    assert "visavis_http_requests_total" in text
    assert 'route="/v1/clips/{clip_id}"' in text
    assert "clp_secret123" not in text
    assert "visavis_clip_jobs_running" in text


def test_openapi_lists_the_resources(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/v1/characters",
        "/v1/characters/{character_id}/preview",
        "/v1/clips",
        "/v1/clips/{clip_id}/video",
        "/v1/clips/{clip_id}/motion.csv",
    ):
        assert path in paths


def test_serve_rejects_bad_settings_in_one_line(capsys, monkeypatch) -> None:
    from service.cli import main

    monkeypatch.setenv("VISAVIS_PORT", "eighty")
    assert main(["serve"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("visavis: error: VISAVIS_PORT='eighty'") and "\n" not in err
    monkeypatch.delenv("VISAVIS_PORT")
    assert main(["serve", "--port", "70000"]) == 2
    assert "port=70000" in capsys.readouterr().err
