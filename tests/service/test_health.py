"""Health and metrics need no key and report what a monitor needs."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_healthz_reports_ready(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "ready": {"db": True, "store": True, "jobs": True}}


def test_metrics_count_requests_by_route(client: TestClient, alice: dict[str, str]) -> None:
    def count(route: str, status: str) -> float:
        wanted = f'visavis_http_requests_total{{method="GET",route="{route}",status="{status}"}} '
        line = next((x for x in client.get("/metrics").text.splitlines() if x.startswith(wanted)), None)
        return 0.0 if line is None else float(line.rsplit(" ", 1)[1])

    missing_before, refused_before = count("/v1/clips/{clip_id}", "404"), count("unrouted", "401")
    missing = client.get("/v1/clips/clp_secret123", headers=alice)
    assert missing.status_code == 404
    assert client.get("/v1/clips/clp_secret456").status_code == 401  # refused before routing
    assert count("/v1/clips/{clip_id}", "404") == missing_before + 1  # the template, not the path
    assert count("unrouted", "401") == refused_before + 1
    text = client.get("/metrics").text
    assert "clp_secret" not in text
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
