"""Retries as a user meets them: a full service (503 with Retry-After) is retried, honouring
Retry-After up to the policy's bound, and gives the typed error when the retries run out; a
service that cannot be reached is ``ConnectionFailedError`` after the policy's attempts."""

from __future__ import annotations

import threading
import time

import pytest
from visavis_client import ApiError, Client, ConnectionFailedError, RetryPolicy

from tests.realtime.live_server import free_port

pytestmark = pytest.mark.timeout(300)


def test_a_full_service_is_retried_after_retry_after_and_then_refused_typed(
    server, ada_key: str, character_id: str
) -> None:
    with Client(server.url, api_key=ada_key) as ada:
        held = [ada.sessions.create(character_id).id for _ in range(2)]  # every place taken
        try:
            patient = RetryPolicy(max_attempts=3, max_retry_after_s=0.3)
            with Client(server.url, api_key=ada_key, retry=patient) as impatient:
                started = time.monotonic()
                with pytest.raises(ApiError) as full:
                    impatient.sessions.create(character_id)
                waited = time.monotonic() - started
            assert full.value.status in (429, 503) and full.value.retry_after
            assert 0.6 <= waited < 10, "two waits, each Retry-After cut to 0.3 s"

            # a place comes free while the client waits: its retry gets in
            opening = RetryPolicy(max_attempts=20, max_retry_after_s=0.5)
            freed = threading.Timer(1.0, ada.sessions.close, args=(held.pop(),))
            freed.start()
            with Client(server.url, api_key=ada_key, retry=opening) as waiting:
                session = waiting.sessions.create(character_id)
            freed.join()
            assert session.status == "open"
            held.append(session.id)
        finally:
            for session_id in held:
                ada.sessions.close(session_id)


def test_an_unreachable_service_is_a_connection_error_after_the_attempts() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    policy = RetryPolicy(max_attempts=3, backoff_s=0.1)
    with Client(url, api_key="vv_x", retry=policy) as client:
        started = time.monotonic()
        with pytest.raises(ConnectionFailedError) as failed:
            client.characters.list()
    assert time.monotonic() - started >= 0.1, "it backed off between attempts"
    assert failed.value.__cause__ is not None
