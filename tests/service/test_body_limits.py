"""Nothing is read before it is allowed: a chunked upload (no Content-Length) of 100 MB, sent by
a client in another process to a real uvicorn, is answered within a second and barely read —
without a key (401, not one body byte given to the app), and with one (413 at the limit)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.local_server import Server, running_server

ADMIN = "admin-key-for-body-limit-tests-0123"
TOTAL = 100 * 1024 * 1024
MAX_UPLOAD_MB = 1  # the request limit is two uploads + 1 MB of form: 3 MB
LIMIT = 3 * 1024 * 1024
CLIENT = Path(__file__).with_name("chunked_client.py")
BODY_BYTES = "visavis_http_request_body_bytes_total"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    settings = {"admin_key": ADMIN, "max_upload_mb": str(MAX_UPLOAD_MB)}
    with running_server(tmp_path_factory.mktemp("body_limits"), settings) as running:
        yield running


def upload(server: Server, key: str | None) -> dict[str, object]:
    args = [sys.executable, str(CLIENT), str(server.port), "/v1/characters", str(TOTAL)]
    done = subprocess.run(args + ([key] if key else []), capture_output=True, timeout=60,
                          check=True)  # fmt: skip
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_chunked_upload_without_a_key_is_refused_before_its_body_is_read(server: Server) -> None:
    before = server.metric(BODY_BYTES)
    result = upload(server, None)
    read = server.metric(BODY_BYTES) - before
    print(f"no key: {result['status']} after {result['seconds']:.3f} s; client sent "
          f"{result['sent'] / 2**20:.1f} MB, app read {read / 2**20:.2f} MB")  # fmt: skip
    assert result["status"] == 401, result
    assert result["seconds"] < 1.0
    assert read == 0  # the app was handed no byte of it
    assert result["sent"] < 16 * 2**20  # cut short: what the sockets buffered, not 100 MB


def test_chunked_upload_with_a_key_is_cut_at_the_limit(server: Server) -> None:
    before = server.metric(BODY_BYTES)
    result = upload(server, ADMIN)
    read = server.metric(BODY_BYTES) - before
    print(f"with key: {result['status']} after {result['seconds']:.3f} s; client sent "
          f"{result['sent'] / 2**20:.1f} MB, app read {read / 2**20:.2f} MB")  # fmt: skip
    assert result["status"] == 413, result
    assert result["seconds"] < 1.0
    assert LIMIT < read <= LIMIT + 256 * 1024  # counted as it came, stopped right past the limit
    assert result["sent"] < 16 * 2**20
