"""Key lifecycle: list (never secrets), revoke (at once, in every process sharing the database),
explicit scopes, rotation of the bootstrap key, publishable keys scoped to origins + characters."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from pydantic import SecretStr

from service.main import create_app
from service.settings import Settings


def test_list_shows_the_owners_keys_without_secrets(client: TestClient, admin_key: str) -> None:
    admin = {"X-API-Key": admin_key}
    made = [client.post("/v1/keys", headers=admin, json={"owner": "lister", "label": f"k{i}"})
            for i in range(3)]  # fmt: skip
    secrets = [m.json()["api_key"] for m in made]
    mine = {"X-API-Key": secrets[0]}
    first = client.get("/v1/keys?limit=2", headers=mine)
    assert first.status_code == 200
    page = first.json()
    assert [k["label"] for k in page["data"]] == ["k2", "k1"]  # newest first
    assert page["next_cursor"]
    rest = client.get(f"/v1/keys?limit=2&cursor={page['next_cursor']}", headers=mine).json()
    assert [k["label"] for k in rest["data"]] == ["k0"] and rest["next_cursor"] is None
    for text in (first.text, str(rest)):
        assert all(secret.split("_")[2] not in text for secret in secrets)
        assert "api_key" not in text
    assert all(k["owner"] == "lister" and k["scope"] == "secret" for k in page["data"])
    assert page["data"][0]["created"].endswith("Z") or "+00:00" in page["data"][0]["created"]
    # only an admin may look at another owner's keys
    assert client.get("/v1/keys?owner=admin", headers=mine).status_code == 403
    assert client.get("/v1/keys?owner=lister", headers=admin).json()["data"]
    too_many = client.get("/v1/keys?limit=101", headers=mine)
    assert too_many.status_code == 422 and "limit" in too_many.json()["error"]["message"]


def test_revoking_holds_at_once_in_every_process(tmp_path: Path, admin_key: str) -> None:
    """Two apps (as two service processes would) on one database: a key revoked through one is
    refused by the other on its very next request."""
    settings = Settings(data_dir=tmp_path, admin_key=SecretStr(admin_key))
    admin = {"X-API-Key": admin_key}
    with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as two:
        made = one.post("/v1/keys", headers=admin, json={"owner": "rita"}).json()
        rita = {"X-API-Key": made["api_key"]}
        assert two.get("/v1/clips", headers=rita).status_code == 200
        # a secret key may revoke its own owner's keys, not others'
        other = one.post("/v1/keys", headers=admin, json={"owner": "sam"}).json()
        assert one.delete(f"/v1/keys/{other['id']}", headers=rita).status_code == 404
        assert one.delete(f"/v1/keys/{made['id']}", headers=rita).status_code == 204
        refused = two.get("/v1/clips", headers=rita)
        assert refused.status_code == 401
        assert refused.json()["error"] == {"code": "unauthorized",
                                           "message": "invalid or revoked API key"}  # fmt: skip
        assert one.delete(f"/v1/keys/{made['id']}", headers=admin).status_code == 404


def test_scope_not_owner_name_decides_who_issues_keys(client: TestClient, admin_key: str) -> None:
    admin = {"X-API-Key": admin_key}
    # a secret key of an owner called "admin" is no admin key
    fake = client.post("/v1/keys", headers=admin, json={"owner": "admin"}).json()
    assert fake["scope"] == "secret"
    refused = client.post("/v1/keys", headers={"X-API-Key": fake["api_key"]},
                          json={"owner": "mallory"})  # fmt: skip
    assert refused.status_code == 403
    # an admin key is issued only by an admin key, with the scope said explicitly
    second_admin = client.post("/v1/keys", headers=admin, json={"owner": "ops", "scope": "admin"})
    assert second_admin.status_code == 201 and second_admin.json()["scope"] == "admin"
    ops = {"X-API-Key": second_admin.json()["api_key"]}
    assert client.post("/v1/keys", headers=ops, json={"owner": "tess"}).status_code == 201
    unknown = client.post("/v1/keys", headers=admin, json={"owner": "x", "scope": "root"})
    assert unknown.status_code == 422 and "scope" in unknown.json()["error"]["message"]


def test_rotating_the_admin_key_revokes_the_old_one(tmp_path: Path) -> None:
    old, new = "old-admin-key-0123456789", "new-admin-key-0123456789"
    with TestClient(create_app(Settings(data_dir=tmp_path, admin_key=SecretStr(old)))) as c:
        assert c.get("/v1/keys", headers={"X-API-Key": old}).status_code == 200
    with TestClient(create_app(Settings(data_dir=tmp_path, admin_key=SecretStr(new)))) as c:
        assert c.get("/v1/keys", headers={"X-API-Key": old}).status_code == 401
        assert c.post("/v1/keys", headers={"X-API-Key": old}, json={"owner": "z"}).status_code == 401
        listed = c.get("/v1/keys", headers={"X-API-Key": new}).json()["data"]
        assert [(k["scope"], k["bootstrap"]) for k in listed] == [("admin", True)]


def test_publishable_keys_are_scoped(
    client: TestClient, alice: dict[str, str], bob: dict[str, str], alice_character: str
) -> None:
    body = {"scope": "publishable", "origins": ["https://Shop.example.com"],
            "character_ids": [alice_character]}  # fmt: skip
    made = client.post("/v1/keys", headers=alice, json=body)
    assert made.status_code == 201, made.text
    pk = made.json()
    assert pk["api_key"].startswith("pk_") and pk["origins"] == ["https://shop.example.com"]
    page = {"X-API-Key": pk["api_key"], "Origin": "https://shop.example.com"}
    assert client.get(f"/v1/characters/{alice_character}", headers=page).status_code == 200
    for method, path in (("GET", "/v1/characters"), ("GET", "/v1/clips"), ("GET", "/v1/keys"),
                         ("DELETE", f"/v1/characters/{alice_character}")):  # fmt: skip
        refused = client.request(method, path, headers=page)
        assert refused.status_code == 403, (method, path, refused.text)
        assert refused.json()["error"]["code"] == "forbidden"
    elsewhere = client.get(f"/v1/characters/{alice_character}",
                           headers={**page, "Origin": "https://evil.example"})  # fmt: skip
    assert elsewhere.status_code == 403 and "access-control-allow-origin" not in elsewhere.headers
    # bob cannot make a key for alice's character; a pk cannot make keys
    assert client.post("/v1/keys", headers=bob, json=body).status_code == 404
    assert client.post("/v1/keys", headers=page, json=body).status_code == 403
    for bad in ({**body, "origins": ["shop.example.com"]}, {**body, "origins": []},
                {**body, "character_ids": []}, {"origins": ["https://a.example"]}):  # fmt: skip
        refused = client.post("/v1/keys", headers=alice, json={"scope": "publishable", **bad})
        assert refused.status_code in (403, 422), (bad, refused.text)
    # revocable like every key
    assert client.delete(f"/v1/keys/{pk['id']}", headers=alice).status_code == 204
    assert client.get(f"/v1/characters/{alice_character}", headers=page).status_code == 401
