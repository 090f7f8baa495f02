"""CORS answers only the origins of unrevoked publishable keys: a preflight from such an origin
gets the headers a browser needs, any other origin none; secret keys never get CORS headers."""

from __future__ import annotations

from fastapi.testclient import TestClient

SITE = "https://cors-site.example"


def _preflight(client: TestClient, origin: str, path: str = "/v1/sessions") -> object:
    return client.options(path, headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-api-key, content-type"})  # fmt: skip


def test_preflight_answers_only_the_keys_origins(client: TestClient, alice, alice_character):
    assert _preflight(client, SITE).status_code == 403  # no key lists it yet
    made = client.post("/v1/keys", headers=alice, json={
        "scope": "publishable", "origins": [SITE], "character_ids": [alice_character]}).json()  # fmt: skip
    allowed = _preflight(client, SITE)
    assert allowed.status_code == 204
    headers = allowed.headers
    assert headers["access-control-allow-origin"] == SITE
    assert "POST" in headers["access-control-allow-methods"]
    assert "x-api-key" in headers["access-control-allow-headers"].lower()
    assert "content-type" in headers["access-control-allow-headers"].lower()
    assert int(headers["access-control-max-age"]) > 0 and "Origin" in headers["vary"]

    other = _preflight(client, "https://elsewhere.example")
    assert other.status_code == 403
    assert not any(h.startswith("access-control-") for h in other.headers)

    # the actual request: CORS headers for the pk from its origin, none for a secret key
    page = {"X-API-Key": made["api_key"], "Origin": SITE}
    got = client.get(f"/v1/characters/{alice_character}", headers=page)
    assert got.headers["access-control-allow-origin"] == SITE
    assert "Retry-After" in got.headers["access-control-expose-headers"]
    secret = client.get(f"/v1/characters/{alice_character}", headers={**alice, "Origin": SITE})
    assert secret.status_code == 200 and "access-control-allow-origin" not in secret.headers

    client.delete(f"/v1/keys/{made['id']}", headers=alice)
    assert _preflight(client, SITE).status_code == 403  # revoked: the origin is no longer served
