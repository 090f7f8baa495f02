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
