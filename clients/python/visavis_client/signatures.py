"""Webhook signatures, as the service makes them (``service/webhooks.py``)::

    Visavis-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>

Verify with the raw body as received (not re-serialised JSON), in constant time, and refuse
old timestamps (replays)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from visavis_client.errors import SignatureError

SIGNATURE_HEADER = "Visavis-Signature"
EVENT_HEADER = "Visavis-Event"
DELIVERY_HEADER = "Visavis-Delivery"
DEFAULT_TOLERANCE_S = 300.0


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The header value the service sends for ``body`` at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify_signature(
    secret: str, header: str, body: bytes, *, tolerance_s: float = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> bool:  # fmt: skip
    """True when ``header`` (Visavis-Signature) signs ``body`` with ``secret`` and its
    timestamp is within ``tolerance_s`` of ``now`` (default: the clock)."""
    try:
        fields = dict(part.strip().split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
        given = fields["v1"]
    except (ValueError, KeyError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_s:
        return False
    expected = sign(secret, timestamp, body).rsplit("v1=", 1)[1]
    return hmac.compare_digest(expected, given)


def parse_delivery(
    secret: str, headers: Mapping[str, str], body: bytes, *,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> dict[str, Any]:  # fmt: skip
    """The event of a delivery (``{"id", "type", "created", "data"}``) once its signature holds,
    else ``SignatureError``. ``headers``: the request's (any case)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    header = lowered.get(SIGNATURE_HEADER.lower())
    if header is None:
        raise SignatureError(f"no {SIGNATURE_HEADER} header")
    if not verify_signature(secret, header, body, tolerance_s=tolerance_s):
        raise SignatureError("the signature does not match this body and secret, or is too old")
    event: dict[str, Any] = json.loads(body)
    return event
