"""API keys: required everywhere but health, stored hashed, revocable; both header styles work."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from service.persistence import Database


def test_requests_without_a_key_are_refused(client: TestClient) -> None:
    for method, path in (
        ("GET", "/v1/characters"),
        ("GET", "/v1/clips"),
        ("POST", "/v1/clips"),
        ("GET", "/v1/clips/clp_x/video"),
    ):
        response = client.request(method, path)
        assert response.status_code == 401, (path, response.text)
        assert "X-API-Key" in response.json()["error"]["message"]
        assert "WWW-Authenticate" in response.headers


def test_wrong_key_is_refused(client: TestClient, admin_key: str) -> None:
    for headers in (
        {"X-API-Key": "vv_abc_def"},
        {"Authorization": "Bearer nonsense"},
        {"X-API-Key": admin_key + "x"},
    ):
        response = client.get("/v1/clips", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["message"] == "invalid or revoked API key"


def test_both_header_styles_and_the_bootstrap_key(
    client: TestClient, alice: dict[str, str], bob: dict[str, str], admin_key: str
) -> None:
    assert client.get("/v1/clips", headers=alice).status_code == 200
    assert client.get("/v1/clips", headers=bob).status_code == 200
    assert client.get("/v1/clips", headers={"X-API-Key": admin_key}).status_code == 200


def test_keys_are_stored_hashed_and_can_be_revoked(tmp_path: Path) -> None:
    db = Database.sqlite(tmp_path / "keys.sqlite3")
    key = db.keys.create("carol")
    assert db.keys.owner_for(key) == "carol"
    db.close()
    raw = (tmp_path / "keys.sqlite3").read_bytes()
    secret = key.split("_")[2].encode()
    assert secret not in raw and key.encode() not in raw
    db = Database.sqlite(tmp_path / "keys.sqlite3")  # survives a restart
    assert db.keys.owner_for(key) == "carol"
    assert db.keys.owner_for(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert db.keys.revoke(key)
    assert db.keys.owner_for(key) is None
    db.close()


def test_bootstrap_key_registration_is_idempotent(tmp_path: Path, admin_key: str) -> None:
    db = Database.sqlite(tmp_path / "k.sqlite3")
    db.keys.register_bootstrap(admin_key)
    db.keys.register_bootstrap(admin_key)
    record = db.keys.find(admin_key)
    assert record is not None and record.owner == "admin" and record.scope == "admin"
    db.close()


def test_admin_issues_keys_others_cannot(client: TestClient, alice, admin_key: str) -> None:
    admin = {"X-API-Key": admin_key}
    made = client.post("/v1/keys", headers=admin, json={"owner": "dave", "label": "laptop"})
    assert made.status_code == 201 and made.json()["owner"] == "dave"
    assert made.json()["scope"] == "secret"
    dave = {"X-API-Key": made.json()["api_key"]}
    assert client.get("/v1/clips", headers=dave).status_code == 200
    refused = client.post("/v1/keys", headers=alice, json={"owner": "mallory"})
    assert refused.status_code == 403 and "secret key" in refused.json()["error"]["message"]
    assert refused.json()["error"]["code"] == "forbidden"
    bad = client.post("/v1/keys", headers=admin, json={"owner": "has space"})
    assert bad.status_code == 422 and "owner" in bad.json()["error"]["message"]


def test_one_key_reader_for_http_and_websocket() -> None:
    """``presented_key`` reads both header styles on either; the subprotocol only on a WebSocket
    (where browsers cannot set headers)."""
    from starlette.requests import HTTPConnection

    from service.auth import presented_key

    def conn(kind: str, headers: dict[str, str], subprotocols: list[str]) -> HTTPConnection:
        raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        return HTTPConnection({"type": kind, "headers": raw, "subprotocols": subprotocols})

    offered = ["visavis", "visavis.key.vv_a_b"]
    for kind in ("http", "websocket"):
        assert presented_key(conn(kind, {"X-API-Key": "k1"}, offered)) == "k1"
        assert presented_key(conn(kind, {"Authorization": "Bearer k2"}, [])) == "k2"
        assert presented_key(conn(kind, {"Authorization": "Basic k3"}, [])) is None
    assert presented_key(conn("websocket", {}, offered)) == "vv_a_b"
    assert presented_key(conn("http", {}, offered)) is None
